"""Exports run on threads of their own, and stop when Home Assistant does.

Re-encoding a long 1080p clip takes seconds: too long for the shared executor, which must stay
free for short jobs. Each export gets a named thread and a cancel flag that the engine
checks between packets; on shutdown every flag is set and the threads are joined within the
stop budget, and a cancelled export leaves nothing behind (the engine removes its temporary
files; a bundle appears only by its final rename).
"""

import asyncio
from collections.abc import Callable
import logging
import threading
import time

from homeassistant.core import HomeAssistant

from ..const import STOP_TIMEOUT_S

_LOGGER = logging.getLogger(__name__)


class ExportJobs:
    """Runs blocking export work on named threads; cancels and joins them on stop."""

    def __init__(self, hass: HomeAssistant) -> None:
        self._hass = hass
        self._running: dict[threading.Thread, threading.Event] = {}
        self.stopping = False

    async def async_run[T](self, name: str, work: Callable[[threading.Event], T]) -> T:
        """Run work(cancel) on a thread named hearthcam-export-<name>; return its result."""
        loop = self._hass.loop
        done: asyncio.Future[T] = loop.create_future()
        cancel = threading.Event()

        def target() -> None:
            try:
                result = work(cancel)
            except BaseException as err:  # noqa: BLE001 - handed to the awaiting task
                self._post(_fail, done, err)
            else:
                self._post(_succeed, done, result)

        thread = threading.Thread(target=target, name=f"hearthcam-export-{name}", daemon=True)
        self._running[thread] = cancel
        thread.start()
        try:
            result = await done
        except asyncio.CancelledError:
            cancel.set()  # nobody waits for the result any more: stop building it
            raise
        except BaseException:
            await self._async_join(thread)
            raise
        finally:
            self._running.pop(thread, None)
        await self._async_join(thread)
        return result

    async def _async_join(self, thread: threading.Thread) -> None:
        """Wait for a thread that has handed over its outcome to end (it is returning).

        So no export thread outlives its export: one still alive would be counted as a
        running export by whoever looks at the threads.
        """
        await self._hass.async_add_executor_job(thread.join, STOP_TIMEOUT_S)

    async def async_stop(self) -> None:
        """Cancel every running export and wait (bounded) for its thread to end."""
        self.stopping = True
        running = list(self._running.items())
        for _, cancel in running:
            cancel.set()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for thread, _ in running:
            timeout = max(0.0, deadline - time.monotonic())
            await self._hass.async_add_executor_job(thread.join, timeout)
            if thread.is_alive():
                _LOGGER.warning("Export thread %s did not stop in time", thread.name)

    def _post(self, job: Callable[..., None], *args: object) -> None:
        """Hand job(*args) to the event loop from an export thread."""
        try:
            self._hass.loop.call_soon_threadsafe(job, *args)
        except RuntimeError:
            _LOGGER.debug("Dropped an export result after shutdown")


def _succeed[T](future: asyncio.Future[T], result: T) -> None:
    if not future.done():  # a cancelled wait has nobody to tell
        future.set_result(result)


def _fail(future: asyncio.Future[object], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
