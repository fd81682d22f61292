"""A job that runs once at a time: asking while it runs runs it once more, not once per ask."""

from collections.abc import Awaitable, Callable

from homeassistant.core import HomeAssistant, callback


class CoalescedJob:
    """Runs an async job in a task of its own; asks made meanwhile coalesce into one more run."""

    def __init__(self, hass: HomeAssistant, name: str, job: Callable[[], Awaitable[None]]) -> None:
        self._hass = hass
        self._name = name
        self._job = job
        self._running = False
        self._again = False

    @callback
    def async_schedule(self) -> None:
        """Ask for a run; one already going runs once more instead."""
        if self._running:
            self._again = True
            return
        self._running = True
        self._hass.async_create_task(self._async_run(), self._name, eager_start=True)

    async def _async_run(self) -> None:
        try:
            while True:
                self._again = False
                await self._job()
                if not self._again:
                    return
        finally:
            self._running = False
