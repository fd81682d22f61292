"""Hand the memory a stream session left free back to the system (glibc's malloc only).

A session allocates FFmpeg's demuxer and decoder buffers, packets and decoded frames, and frees
them when it ends. glibc keeps freed memory in its heaps for reuse, one heap per arena, and a
long-running process with many threads, as Home Assistant is, holds more and more of it: with
four cameras reconnecting about once a minute, the memory glibc kept free grew by 24 MB in
10 minutes while the memory in use grew by 1 MB. malloc_trim returns the free pages of every
heap to the system. Where the C library has no malloc_trim (musl) this does nothing; with
another allocator preloaded (jemalloc) it trims glibc's heaps, which that allocator leaves
empty anyway.
"""

from collections.abc import Callable
import ctypes
from functools import cache
import logging
import time

_LOGGER = logging.getLogger(__name__)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """Return glibc's malloc_trim, looked up once; None where the C library has none."""
    try:
        # The process's own symbols: no library search (find_library would run ldconfig).
        function = ctypes.CDLL(None).malloc_trim
    except AttributeError:
        return None
    function.argtypes = [ctypes.c_size_t]
    function.restype = ctypes.c_int
    trim: Callable[[int], int] = function
    return trim


def release_free_memory() -> bool:
    """Return free heap memory to the system; True if the C library could be asked to."""
    trim = _malloc_trim()
    if trim is None:
        return False
    started = time.perf_counter()
    trim(0)
    _LOGGER.debug("malloc_trim took %.1f ms", 1000 * (time.perf_counter() - started))
    return True
