"""Waiting on conditions in tests: poll a predicate; fail only when it never holds (a hang)."""

from collections.abc import Callable
import time

# Far beyond what a busy machine delays anything: reaching it means something hangs.
HANG_S = 60.0
_POLL_S = 0.02


def wait_until(predicate: Callable[[], bool], what: str, timeout_s: float = HANG_S) -> None:
    """Return once predicate() holds; fail the test, saying what, if it never does."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            msg = f"timed out after {timeout_s:g} s waiting for {what}"
            raise AssertionError(msg)
        time.sleep(_POLL_S)
