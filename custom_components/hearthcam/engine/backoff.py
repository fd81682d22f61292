"""Delays between reconnection attempts."""

import random


class Backoff:
    """Delays between reconnection attempts: exponential, capped at maximum_s, jittered."""

    def __init__(
        self,
        initial_s: float = 1.0,
        maximum_s: float = 60.0,
        factor: float = 2.0,
        jitter: float = 0.2,
        rng: random.Random | None = None,
    ) -> None:
        """Jitter is a fraction: a delay is uniform in nominal * (1 +/- jitter), up to maximum_s."""
        if not 0 < initial_s <= maximum_s or factor < 1 or not 0 <= jitter < 1:
            msg = "need 0 < initial_s <= maximum_s, factor >= 1 and 0 <= jitter < 1"
            raise ValueError(msg)
        self.initial_s = initial_s
        self.maximum_s = maximum_s
        self.factor = factor
        self.jitter = jitter
        # Jitter spreads reconnecting cameras apart; it needs no cryptographic quality.
        self._rng = rng or random.Random()  # noqa: S311
        self._nominal_s = initial_s
        self._attempts = 0

    @property
    def attempts(self) -> int:
        """Delays handed out since the last reset."""
        return self._attempts

    def next_delay(self) -> float:
        """Return the next delay in seconds, never more than maximum_s."""
        nominal = self._nominal_s
        # Grow the nominal delay rather than computing factor ** attempts: no overflow.
        self._nominal_s = min(self.maximum_s, nominal * self.factor)
        self._attempts += 1
        # Uniform in nominal +/- jitter, cut at the maximum rather than clamped to it, so that
        # cameras that stay down keep spreading out instead of bunching up at the maximum.
        upper = min(self.maximum_s, nominal * (1 + self.jitter))
        return self._rng.uniform(nominal * (1 - self.jitter), upper)

    def reset(self) -> None:
        """Start again from initial_s, e.g. after a successful connection."""
        self._nominal_s = self.initial_s
        self._attempts = 0
