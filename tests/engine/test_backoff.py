"""Backoff: exponential reconnection delays with a cap and seeded jitter."""

import random

import pytest

from custom_components.hearthcam.engine.backoff import Backoff


def test_doubles_up_to_the_cap_without_jitter() -> None:
    """1, 2, 4 ... seconds, then the 60 s maximum for good."""
    backoff = Backoff(jitter=0.0)
    delays = [backoff.next_delay() for _ in range(9)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]
    assert backoff.attempts == 9


def test_jitter_stays_within_its_fraction_and_under_the_cap() -> None:
    """Each delay is its nominal value +/- 20 %, and never above the maximum."""
    backoff = Backoff(rng=random.Random(1))  # noqa: S311 - seeded on purpose
    nominal = [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]
    delays = [backoff.next_delay() for _ in nominal]
    for delay, expected in zip(delays, nominal, strict=True):
        assert 0.8 * expected <= delay <= min(1.2 * expected, 60.0)
    # Jittered, also at the cap, where clamping would make many delays exactly 60 s.
    assert len(set(delays)) == len(delays)


def test_seeded_rng_makes_it_deterministic() -> None:
    """The same seed gives the same delays; another seed gives others."""

    def run(seed: int) -> list[float]:
        backoff = Backoff(rng=random.Random(seed))  # noqa: S311 - seeded on purpose
        return [backoff.next_delay() for _ in range(8)]

    assert run(42) == run(42)
    assert run(42) != run(43)


def test_reset_starts_over() -> None:
    """After a reset (a successful connection) the next delay is the initial one again."""
    backoff = Backoff(initial_s=0.5, maximum_s=10.0, factor=3.0, jitter=0.0)
    assert [backoff.next_delay() for _ in range(4)] == [0.5, 1.5, 4.5, 10.0]
    backoff.reset()
    assert backoff.attempts == 0
    assert backoff.next_delay() == 0.5
    assert backoff.attempts == 1


def test_endless_failures_never_overflow() -> None:
    """A camera that is down for days keeps getting the maximum delay."""
    backoff = Backoff(jitter=0.0)
    for _ in range(5000):
        delay = backoff.next_delay()
    assert delay == 60.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial_s": 0.0},
        {"initial_s": 5.0, "maximum_s": 1.0},
        {"factor": 0.5},
        {"jitter": -0.1},
        {"jitter": 1.0},
    ],
)
def test_nonsense_is_rejected(kwargs: dict[str, float]) -> None:
    """Settings that would give zero, shrinking or negative delays are refused."""
    with pytest.raises(ValueError, match="need"):
        Backoff(**kwargs)  # type: ignore[arg-type]
