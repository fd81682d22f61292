"""Free heap memory goes back to the system after a session."""

import numpy as np

from benchmarks.common import rss_mb
from custom_components.hearthcam.engine.native_memory import release_free_memory

BLOCK_BYTES = 64 * 1024  # below glibc's mmap threshold: served from the heap
BLOCKS = 1600  # 100 MiB


def test_free_memory_inside_the_heap_is_returned() -> None:
    """Blocks freed between kept ones stay resident until released, then most are returned."""
    blocks = [np.ones(BLOCK_BYTES, np.uint8) for _ in range(BLOCKS)]
    kept = blocks[::16]  # every 16th stays: the heap cannot shrink from its top
    del blocks
    freed_kib = (BLOCKS - len(kept)) * BLOCK_BYTES // 1024
    before = rss_mb()
    assert release_free_memory()  # the tests run on glibc
    returned = 1024 * (before - rss_mb())
    assert returned > freed_kib / 2, f"{returned:.0f} KiB returned of {freed_kib} KiB freed"
    assert all(int(block.sum()) == BLOCK_BYTES for block in kept)  # what is used stays intact
