"""Waiting for events from a WebSocket subscription, with a deadline and a clear failure."""

import asyncio
from collections.abc import Callable

from e2e.ha_rest import Json


class EventTimeoutError(AssertionError):
    """The awaited event did not arrive in time."""


async def wait_for_event(
    queue: asyncio.Queue[Json],
    matches: Callable[[Json], bool],
    timeout_s: float,
    what: str,
    *,
    alive: Callable[[], None] | None = None,
) -> Json:
    """Return the first queued event that matches; alive() may raise if the stack died."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while (remaining := deadline - loop.time()) > 0:
        if alive is not None:
            alive()
        try:
            event = await asyncio.wait_for(queue.get(), min(remaining, 2.0))
        except TimeoutError:
            continue
        if matches(event):
            return event
    msg = f"timed out after {timeout_s:.0f} s waiting for {what}"
    raise EventTimeoutError(msg)


def state_is(entity_id: str, state: str) -> Callable[[Json], bool]:
    """Match a state_changed event that moves entity_id to state."""

    def matches(event: Json) -> bool:
        data = event.get("data", {})
        new_state = data.get("new_state") or {}
        return bool(data.get("entity_id") == entity_id and new_state.get("state") == state)

    return matches
