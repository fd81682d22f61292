"""Give the C allocator's idle memory back: video buffers otherwise pin it in glibc's arenas.

Each camera demuxes packets (tens of kB, keyframes far more) on a demux thread that is new after
every reconnect, keeps seconds of them for the pre-roll and frees them on its worker thread.
Measured in a real Home Assistant with four cameras reconnecting every minute, the process grew
by about 0.9 GB per hour while Python's own heap grew by about 1 MB per minute, all of it
transient: the growth was glibc's, in two parts. Each freed block of mmap size raises glibc's
mmap threshold (up to 32 MB), so later big blocks land in the arenas, which kept growing in use;
a fixed threshold stops that. The rest was free memory that the arenas keep below their tops,
where glibc only ever trims the top; malloc_trim hands those pages back, so it runs every half
minute. Both are no-ops without glibc (musl, other systems).
"""

import ctypes
import ctypes.util
from datetime import datetime, timedelta
import logging
from typing import Final

from homeassistant.core import CALLBACK_TYPE, HomeAssistant
from homeassistant.helpers.event import async_track_time_interval

_LOGGER = logging.getLogger(__name__)

_M_MMAP_THRESHOLD: Final = -3  # mallopt parameter number in glibc's malloc.h
# glibc's own starting value: blocks this large are mapped, and unmapped as soon as freed.
MMAP_THRESHOLD_BYTES: Final = 128 * 1024
TRIM_INTERVAL: Final = timedelta(seconds=30)


def _glibc() -> ctypes.CDLL | None:
    """Load the C library if it is glibc (it has mallopt and malloc_trim), else None."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        libc.malloc_trim.argtypes = (ctypes.c_size_t,)
    except OSError, AttributeError, TypeError:
        return None
    return libc


def fix_mmap_threshold() -> bool:
    """Pin glibc's mmap threshold, so big blocks always go back to the system when freed."""
    libc = _glibc()
    return libc is not None and bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


def trim() -> bool:
    """Return the arenas' free pages to the system; True if glibc released any."""
    libc = _glibc()
    return libc is not None and bool(libc.malloc_trim(0))


def async_keep_memory_returned(hass: HomeAssistant) -> CALLBACK_TYPE | None:
    """Pin the mmap threshold and trim the arenas every TRIM_INTERVAL (off the event loop)."""
    if not fix_mmap_threshold():
        _LOGGER.debug("Not glibc: the allocator is left as it is")
        return None

    async def _trim(_now: datetime) -> None:
        await hass.async_add_executor_job(trim)

    return async_track_time_interval(hass, _trim, TRIM_INTERVAL, cancel_on_shutdown=True)
