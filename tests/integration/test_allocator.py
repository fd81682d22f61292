"""The allocator keeps handing idle memory back to the system (glibc, as Home Assistant runs on)."""

import ctypes
import ctypes.util
from datetime import timedelta

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.hearthcam import allocator


def _arena_free_bytes() -> int:
    """Bytes glibc's arenas hold free (mallinfo2's fordblks)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    fields = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]
    info_type = type("MallInfo2", (ctypes.Structure,), {"_fields_": fields})
    libc.mallinfo2.restype = info_type
    return int(libc.mallinfo2().fordblks)


def test_trim_returns_free_arena_pages() -> None:
    """Small blocks freed in the middle of the heap stay with glibc until trimmed."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = (ctypes.c_void_p,)
    # Every other 64 kB block freed: free space interleaved with live blocks, as the packet
    # ring leaves it; glibc's own trimming of the heap's top cannot reach it.
    blocks = [libc.malloc(64 * 1024) for _ in range(400)]
    for block in blocks[::2]:
        libc.free(block)
    assert _arena_free_bytes() >= 200 * 64 * 1024
    assert allocator.trim()  # some pages went back
    for block in blocks[1::2]:
        libc.free(block)


async def test_setup_pins_the_threshold_and_trims_on_a_timer(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On glibc the threshold is pinned and a trim runs every interval, off the event loop."""
    trims: list[bool] = []
    real_trim = allocator.trim

    def counted_trim() -> bool:
        trims.append(real_trim())
        return trims[-1]

    monkeypatch.setattr(allocator, "trim", counted_trim)
    cancel = allocator.async_keep_memory_returned(hass)
    assert cancel is not None
    async_fire_time_changed(hass, dt_util.utcnow() + allocator.TRIM_INTERVAL + timedelta(1))
    await hass.async_block_till_done()
    assert len(trims) == 1
    cancel()
