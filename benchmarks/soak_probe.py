"""A debug-only Home Assistant component for the soak: heap figures from inside hass.

The soak copies this module into the config dir of its throwaway Home Assistant as the
component `soak_probe` (never into a user's installation). It registers one action,
`soak_probe.snapshot`, that writes the allocators' figures to `<path>.malloc.json`: Python's own
small-object allocator (pymalloc), whose 1 MiB arenas go back to the system only once every
block in them is free, and glibc's malloc (in use, and free but kept). Configured with
`tracemalloc: true` it also traces Python allocations from start-up and writes a tracemalloc
snapshot to the path itself; pymalloc's figures are unreadable while tracing (tracemalloc's
hooks stand in front of pymalloc), so they are empty then.
"""

from collections.abc import Callable
import ctypes
import functools
import json
import os
from pathlib import Path
import re
import sys
import tempfile
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
# "# arenas allocated current = 37" and the like, in sys._debugmallocstats()'s report.
_PYMALLOC_LINE = re.compile(
    r"^#? ?(?P<name>[a-z ]+?|\d+ unused pools \* \d+ bytes)\s+=\s+(?P<value>[\d,]+)$",
    re.MULTILINE,
)
_PYMALLOC_FIGURES = {
    "arenas allocated current": "arenas",
    "bytes in allocated blocks": "allocated_blocks_mb",  # live objects
    "bytes in available blocks": "available_blocks_mb",  # free, in pools still in use
}


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


async def async_setup(hass: HomeAssistant, config: dict[str, object]) -> bool:
    """Start tracing allocations if asked to, and offer the snapshot action."""
    options = config.get(DOMAIN) or {}
    if isinstance(options, dict) and options.get("tracemalloc") and not tracemalloc.is_tracing():
        tracemalloc.start(TRACE_FRAMES)

    async def snapshot(call: ServiceCall) -> None:
        path = Path(str(call.data["path"]))
        await hass.async_add_executor_job(_dump, path)

    hass.services.async_register(
        DOMAIN, "snapshot", snapshot, schema=probatio.Schema({probatio.Required("path"): str})
    )
    return True


def _dump(path: Path) -> None:
    """Write the allocators' figures, and a snapshot of the traced Python heap when tracing."""
    if tracemalloc.is_tracing():
        tracemalloc.take_snapshot().dump(str(path))
    figures = {**malloc_figures(), "pymalloc": pymalloc_figures()}
    path.with_name(f"{path.name}.malloc.json").write_text(json.dumps(figures))


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


def pymalloc_figures() -> dict[str, float]:
    """Python's small-object allocator: arenas held, and MB in used and free blocks and pools."""
    # The report goes to the C library's stderr only: catch descriptor 2 for the moment.
    with tempfile.TemporaryFile() as report:
        saved = os.dup(2)
        os.dup2(report.fileno(), 2)
        try:
            sys._debugmallocstats()  # noqa: SLF001 - the only way to read pymalloc's arenas
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        report.seek(0)
        text = report.read().decode(errors="replace")
    figures: dict[str, float] = {}
    for line in _PYMALLOC_LINE.finditer(text):
        name = line["name"]
        key = "unused_pools_mb" if "unused pools" in name else _PYMALLOC_FIGURES.get(name)
        if key is not None:
            value = int(line["value"].replace(",", ""))
            figures[key] = value if key == "arenas" else round(value / 2**20, 1)
    return figures
