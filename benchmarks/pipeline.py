"""CPU, memory and real-time figures of the camera worker against PyAV decoding alone.

Every ratio divides by the decode floor measured in the same run on the same file with the same
decoder settings, so a busy or slow machine moves both sides. Targets are DESIGN section 4.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
import statistics
import tempfile
import threading
import time

from benchmarks.common import (
    FileSource,
    decode_cpu_s,
    footage,
    media_duration_s,
    rss_mb,
    spread,
    suite_main,
)
from custom_components.hearthcam.engine.clips import ClipStore
from custom_components.hearthcam.engine.recorder import RecorderOptions
from custom_components.hearthcam.engine.worker import CameraWorker, WorkerSettings
from devkit.footage import MovingObject, Scene

TARGETS = {
    "pipeline_cpu_ratio_1080p": 1.10,
    "pipeline_cpu_ratio_360p": 1.25,
    "record_overhead_ratio": 0.03,
    "rss_mb_per_camera": 40.0,
    "realtime_factor_8_cameras": 1.0,
}
WALKER = MovingObject(3.0, 9.0, (0.1, 0.6), (0.9, 0.5), size=(0.08, 0.25), color=(230, 230, 230))


@dataclass(frozen=True)
class Config:
    """What to run: full figures, or a quick smoke run on small footage."""

    big: Scene
    small: Scene
    repeats: int
    cameras_rss: int
    cameras_realtime: int
    rss_pause_s: float  # video time at which RSS is read: the pre-roll must be full by then
    small_passes: int  # runs over the small file per measurement (it decodes ~8x faster)


FULL = Config(
    # 30 s: about the length of a typical motion clip, so the recording figure weighs a clip's
    # fixed costs (open, thumbnail, sidecar) as a real one does.
    big=Scene(
        width=1920,
        height=1080,
        fps=15,
        duration_s=30.0,
        seed=1,
        objects=(WALKER,),
        keyframe_interval_s=2.0,
    ),
    small=Scene(
        width=640,
        height=360,
        fps=15,
        duration_s=12.0,
        seed=1,
        objects=(WALKER,),
        keyframe_interval_s=2.0,
    ),
    repeats=5,
    cameras_rss=4,
    cameras_realtime=8,
    rss_pause_s=8.0,
    small_passes=6,
)
QUICK = Config(
    big=Scene(width=640, height=360, fps=15, duration_s=4.0, seed=1, objects=(WALKER,)),
    small=Scene(width=320, height=180, fps=15, duration_s=4.0, seed=1, objects=(WALKER,)),
    repeats=1,
    cameras_rss=2,
    cameras_realtime=2,
    rss_pause_s=3.0,
    small_passes=1,
)


def _worker(store_dir: Path, *, recording: bool = False) -> CameraWorker:
    """Make a worker as Home Assistant configures it by default (5 s pre-roll, 5 fps).

    Motion-triggered recording is off unless asked for, so the detection figures measure
    decode + detect + pre-roll buffering only, whatever the footage shows.
    """
    store = ClipStore(store_dir)
    store.load()
    # The URL is never opened: the benchmarks drive run_session() with a file source.
    settings = WorkerSettings(
        camera_key="bench",
        stream_url="rtsp://bench.invalid/stream",
        recorder=RecorderOptions(),
        recording_enabled=recording,
    )
    return CameraWorker(settings, store)


def pipeline_cpu_s(path: Path, *, record: bool) -> float:
    """CPU seconds of one worker session over the file (decode, detect, pre-roll, recording)."""
    with tempfile.TemporaryDirectory() as store_dir:
        worker = _worker(Path(store_dir), recording=record)
        requested = False

        def on_packet(_: float) -> None:
            nonlocal requested
            if record and not requested:
                requested = True
                worker.record(3600.0)  # a manual clip covering the whole file

        source = FileSource(path, on_packet)
        started = time.thread_time()
        worker.run_session(source)
        elapsed = time.thread_time() - started
        source.close()
        if record and worker.stats.clips_saved != 1:
            msg = "the recording benchmark did not save its clip"
            raise RuntimeError(msg)
        return elapsed


def cpu_ratios(
    path: Path, repeats: int, passes: int
) -> tuple[list[float], list[float], list[float]]:
    """Floors, pipeline ratios and recording overheads, interleaved so drift hits all alike.

    Each measurement covers `passes` runs over the file, so a cheap (small) input still adds
    up to enough CPU time to measure above the scheduler's noise.
    """
    floors, ratios, overheads = [], [], []
    decode_cpu_s(path)  # warm caches and libraries once
    for _ in range(repeats):
        floor = sum(decode_cpu_s(path) for _ in range(passes))
        plain = sum(pipeline_cpu_s(path, record=False) for _ in range(passes))
        recorded = sum(pipeline_cpu_s(path, record=True) for _ in range(passes))
        floors.append(floor)
        ratios.append(plain / floor)
        overheads.append((recorded - plain) / floor)
    return floors, ratios, overheads


class PauseGate:
    """Holds every worker at the same point of its file, so memory is read with all loaded."""

    def __init__(self, count: int, at_s: float | None) -> None:
        self.at_s = float("inf") if at_s is None else at_s
        self._released = threading.Event()
        if at_s is None:
            self._released.set()  # nobody waits: workers pass straight through
        self._arrived = threading.Semaphore(0)
        self._count = count

    def hook(self) -> Callable[[float], None]:
        """Return a FileSource on_packet hook that stops its worker once at at_s."""
        done = False

        def on_packet(video_s: float) -> None:
            nonlocal done
            if not done and video_s >= self.at_s:
                done = True
                self._arrived.release()
                self._released.wait()

        return on_packet

    def wait_all(self) -> None:
        """Wait until every worker has arrived."""
        for _ in range(self._count):
            self._arrived.acquire()

    def release(self) -> None:
        """Let every worker go on."""
        self._released.set()


def _run_workers(
    path: Path, count: int, store_root: Path, pause_at_s: float | None
) -> tuple[float, float]:
    """Run count workers on the file in parallel; return (wall seconds, RSS MiB at the pause)."""
    gate = PauseGate(count, pause_at_s)

    def run(index: int) -> None:
        on_packet = gate.hook()
        source = FileSource(path, on_packet)
        try:
            _worker(store_root / str(index)).run_session(source)
        finally:
            on_packet(float("inf"))  # a file shorter than the pause must not hang the others
            source.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    rss_at_pause = 0.0
    if pause_at_s is not None:
        gate.wait_all()
        rss_at_pause = rss_mb()
        gate.release()
    for thread in threads:
        thread.join()
    return time.monotonic() - started, rss_at_pause


def rss_per_camera_mb(path: Path, cameras: int, pause_at_s: float) -> float:
    """RSS growth per camera with a full 5 s pre-roll buffered and the decoder running."""
    with tempfile.TemporaryDirectory() as root:
        _run_workers(path, 1, Path(root) / "warm", None)  # load codecs and libraries first
        baseline = rss_mb()
        _, loaded = _run_workers(path, cameras, Path(root) / "run", pause_at_s)
    return (loaded - baseline) / cameras


def realtime_factor(path: Path, cameras: int) -> float:
    """Wall time for `cameras` concurrent workers to process the file, over its duration."""
    with tempfile.TemporaryDirectory() as root:
        wall, _ = _run_workers(path, cameras, Path(root), None)
    return wall / media_duration_s(path)


def run(config: Config) -> dict[str, object]:
    """Measure everything; return the figures and how they compare with the targets."""
    big, small = footage(config.big), footage(config.small)
    floors, ratios_big, overheads = cpu_ratios(big, config.repeats, passes=1)
    _, ratios_small, _ = cpu_ratios(small, config.repeats, passes=config.small_passes)
    figures: dict[str, float] = {
        "decode_floor_cpu_s": round(min(floors), 3),
        "pipeline_cpu_ratio_1080p": round(statistics.median(ratios_big), 3),
        "pipeline_cpu_ratio_360p": round(statistics.median(ratios_small), 3),
        "record_overhead_ratio": round(statistics.median(overheads), 4),
        "rss_mb_per_camera": round(
            rss_per_camera_mb(big, config.cameras_rss, config.rss_pause_s), 1
        ),
        "realtime_factor_8_cameras": round(realtime_factor(big, config.cameras_realtime), 3),
    }
    return {
        **figures,
        "media_s": round(media_duration_s(big), 2),
        "input_1080p": f"{config.big.width}x{config.big.height}@{config.big.fps}",
        "input_360p": f"{config.small.width}x{config.small.height}@{config.small.fps}",
        "repeats": config.repeats,
        "noise": {
            "decode_floor_spread": round(spread(floors), 3),
            "pipeline_ratio_spread_1080p": round(spread(ratios_big), 3),
        },
        "targets": TARGETS,
        "meets_targets": {key: figures[key] <= limit for key, limit in TARGETS.items()},
    }


def _table(result: dict[str, object]) -> str:
    meets = result["meets_targets"]
    if not isinstance(meets, dict):
        msg = "meets_targets must be a mapping"
        raise TypeError(msg)
    lines = [f"{'figure':<28}{'value':>10}{'target':>10}  ok"]
    for key, limit in TARGETS.items():
        lines.append(
            f"{key:<28}{result[key]!s:>10}{'<= ' + str(limit):>10}  {'yes' if meets[key] else 'NO'}"
        )
    lines.append(f"{'decode_floor_cpu_s':<28}{result['decode_floor_cpu_s']!s:>10}")
    lines.append(
        f"inputs: {result['input_1080p']} and {result['input_360p']}, "
        f"{result['media_s']} s each, {result['repeats']} repeats, noise {result['noise']}"
    )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Run the pipeline benchmark and print a table, or one JSON object with --json."""
    return suite_main(argv, "pipeline", run, _table, (FULL, QUICK))
