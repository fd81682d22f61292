"""A debug-only Home Assistant component for the soak: heap figures from inside hass.

The soak copies this module into the config dir of its throwaway Home Assistant as the
component `soak_probe` (never into a user's installation). It starts tracemalloc when loaded and
registers one action, `soak_probe.snapshot`, that writes a tracemalloc snapshot to the given
file and glibc's malloc figures beside it (`<path>.malloc.json`): with them the soak tells
memory Python holds from memory the C allocator holds, in use or free but kept.
"""

from collections.abc import Callable
import ctypes
import functools
import json
from pathlib import Path
import tracemalloc
from typing import cast

from homeassistant.core import HomeAssistant, ServiceCall
import probatio

DOMAIN = "soak_probe"
MANIFEST = {
    "domain": DOMAIN,
    "name": "Soak probe",
    "version": "0.0.0",
    "documentation": "https://example.invalid/soak-probe",
    "codeowners": [],
    "requirements": [],
    "iot_class": "local_push",
}
TRACE_FRAMES = 12


class MallInfo2(ctypes.Structure):
    """glibc's struct mallinfo2 (every field a size_t)."""

    _fields_ = [
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


async def async_setup(hass: HomeAssistant, _config: dict[str, object]) -> bool:
    """Start tracing allocations and offer the snapshot action."""
    if not tracemalloc.is_tracing():
        tracemalloc.start(TRACE_FRAMES)

    async def snapshot(call: ServiceCall) -> None:
        path = Path(str(call.data["path"]))
        await hass.async_add_executor_job(_dump, path)

    hass.services.async_register(
        DOMAIN, "snapshot", snapshot, schema=probatio.Schema({probatio.Required("path"): str})
    )
    return True


def _dump(path: Path) -> None:
    """Write a snapshot of the traced Python heap, and the C allocator's figures beside it."""
    tracemalloc.take_snapshot().dump(str(path))
    path.with_name(f"{path.name}.malloc.json").write_text(json.dumps(malloc_figures()))


@functools.cache
def _mallinfo2_function() -> Callable[[], MallInfo2]:
    """Return glibc's mallinfo2, loaded once: each load would leave cyclic garbage."""
    function = ctypes.CDLL(None).mallinfo2
    function.restype = MallInfo2
    return cast("Callable[[], MallInfo2]", function)


def mallinfo2() -> MallInfo2:
    """Return glibc's malloc figures for this process."""
    return _mallinfo2_function()()


def malloc_figures() -> dict[str, float]:
    """Glibc malloc: MB in use, free but kept by the arenas, and in mmapped chunks."""
    info = mallinfo2()
    mb = 1 / 2**20
    return {
        "arena_mb": round(info.arena * mb, 1),  # obtained from the system by sbrk/heaps
        "in_use_mb": round(info.uordblks * mb, 1),
        "free_kept_mb": round(info.fordblks * mb, 1),
        "mmapped_mb": round(info.hblkhd * mb, 1),
        "mmapped_chunks": info.hblks,
    }
