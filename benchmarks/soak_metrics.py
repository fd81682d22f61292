"""What the soak measures: a process's RSS, CPU, threads and descriptors; saved clips' contents."""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
import os
from pathlib import Path
import time

import av
import numpy as np

_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
# A frame shows something beyond the backdrop when this fraction of its blocks differs from the
# clip's median frame by more than _BLOCK_DELTA grey levels (a walker covers about 4 %; noise and
# compression stay far below both).
_MOVING_FRACTION = 0.005
_BLOCK_DELTA = 25.0
_BLOCK_PX = 8


@dataclass(frozen=True, slots=True)
class ProcessSample:
    """One reading of a process."""

    at_s: float  # time.monotonic()
    rss_mb: float
    cpu_s: float  # user + system time of every thread so far
    threads: int
    fds: int


def sample(pid: int) -> ProcessSample:
    """Read a process's RSS, CPU time, threads and open descriptors from /proc."""
    proc = Path(f"/proc/{pid}")
    # Fields after the command name (which may hold spaces) start at the state, field 3.
    fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
    cpu_ticks = int(fields[11]) + int(fields[12])  # utime, stime
    rss_pages = int((proc / "statm").read_text().split()[1])
    return ProcessSample(
        at_s=time.monotonic(),
        rss_mb=rss_pages * _PAGE_KB / 1024,
        cpu_s=cpu_ticks / _TICKS_PER_S,
        threads=int(fields[17]),
        fds=sum(1 for _ in (proc / "fd").iterdir()),
    )


def slope_per_hour(samples: Iterable[ProcessSample]) -> float | None:
    """Least-squares RSS growth in MB per hour, or None with fewer than three samples."""
    points = [(s.at_s, s.rss_mb) for s in samples]
    if len(points) < 3:
        return None
    times = np.array([p[0] for p in points])
    rss = np.array([p[1] for p in points])
    slope_per_s = float(np.polyfit(times - times[0], rss, 1)[0])
    return slope_per_s * 3600


def floor_slope_per_hour(samples: Sequence[ProcessSample], window_s: float) -> float | None:
    """RSS growth in MB per hour of the lowest reading in each window (None for fewer than 3).

    RSS saw-tooths while sessions come and go; the lowest reading of each window is what stays
    held between them, so its slope tells a leak from a wide saw-tooth.
    """
    if not samples:
        return None
    start = samples[0].at_s
    lowest: dict[int, ProcessSample] = {}
    for reading in samples:
        window = int((reading.at_s - start) // window_s)
        if window not in lowest or reading.rss_mb < lowest[window].rss_mb:
            lowest[window] = reading
    return slope_per_hour(lowest[w] for w in sorted(lowest))


def grew(samples: Sequence[ProcessSample], count: Callable[[ProcessSample], int]) -> bool:
    """Whether the least seen in the last quarter exceeds the least seen in the first half.

    Minima, not the first and last readings nor the maxima: a thread or descriptor that lives
    for a moment (an executor's job, a request) is not growth, one that stays raises the floor.
    """
    quarter = len(samples) // 4
    if quarter == 0:
        return False
    return min(map(count, samples[-quarter:])) > min(map(count, samples[: 2 * quarter]))


def cpu_cores(first: ProcessSample, last: ProcessSample) -> float | None:
    """Average CPU between two samples, in cores."""
    elapsed = last.at_s - first.at_s
    return (last.cpu_s - first.cpu_s) / elapsed if elapsed > 0 else None


@dataclass(frozen=True, slots=True)
class ClipCheck:
    """What decoding one saved clip found."""

    playable: bool
    frames: int
    duration_s: float
    shows_motion: bool  # some frame shows more than the static backdrop


def check_clip(path: Path) -> ClipCheck:
    """Decode a clip; tell whether any frame shows something moving over the backdrop."""
    blocks: list[np.ndarray] = []
    last_time = 0.0
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            for frame in container.decode(stream):
                if frame.time is not None:
                    last_time = max(last_time, frame.time)
                blocks.append(_block_means(frame.to_ndarray(format="gray")))
    except av.FFmpegError:
        return ClipCheck(
            playable=False, frames=len(blocks), duration_s=last_time, shows_motion=False
        )
    if not blocks:
        return ClipCheck(playable=False, frames=0, duration_s=0.0, shows_motion=False)
    stack = np.stack(blocks)
    backdrop = np.median(stack, axis=0)
    moving = (np.abs(stack - backdrop) > _BLOCK_DELTA).mean(axis=(1, 2))
    return ClipCheck(
        playable=True,
        frames=len(blocks),
        duration_s=last_time,
        shows_motion=bool((moving > _MOVING_FRACTION).any()),
    )


def _block_means(grey: np.ndarray) -> np.ndarray:
    """Mean of each _BLOCK_PX square: sensor noise averages out, an object does not."""
    rows, cols = grey.shape[0] // _BLOCK_PX, grey.shape[1] // _BLOCK_PX
    cropped = grey[: rows * _BLOCK_PX, : cols * _BLOCK_PX].astype(np.float32)
    means: np.ndarray = cropped.reshape(rows, _BLOCK_PX, cols, _BLOCK_PX).mean(axis=(1, 3))
    return means
