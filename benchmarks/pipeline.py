"""CPU, memory and real-time figures of the camera worker against PyAV decoding alone.

Every CPU figure is the process CPU (all threads) of one session in a fresh child process,
divided by a decode floor measured the same way in the same run on the same file, so a busy or
slow machine moves both sides. Each sample is checked: the threads doing the work must account
for the process's CPU less its idle baseline ("cpu_accounted"). The targets and the latest
figures are in docs/engine.md, "Performance targets".
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
import statistics
import tempfile
import threading
import time

import av

from benchmarks import live, low_power
from benchmarks.common import (
    FileSource,
    decode_cpu_s,
    decode_file,
    footage,
    media_duration_s,
    open_decoder,
    rss_mb,
    spread,
    suite_main,
    warm_up,
)
from benchmarks.process_cpu import (
    UNACCOUNTED_LIMIT,
    CpuSample,
    Meter,
    idle_cpu_per_s,
    in_child,
    measure_here,
)
from custom_components.hearthcam.engine.analysis import grey_thumbnail
from custom_components.hearthcam.engine.clips import ClipStore
from custom_components.hearthcam.engine.frame_decoder import QUIET_S
from custom_components.hearthcam.engine.motion import MotionDetector
from custom_components.hearthcam.engine.recorder import RecorderOptions
from custom_components.hearthcam.engine.scan import DEFAULT_FPS, DEFAULT_WIDTH, scan_video
from custom_components.hearthcam.engine.worker import CameraWorker, WorkerSettings
from devkit.footage import MovingObject, Scene

TARGETS = {
    "pipeline_cpu_ratio_1080p": 1.05,
    "pipeline_cpu_ratio_360p": 1.25,
    "pipeline_cpu_ratio_1080p_vs_default_decode": 0.90,
    "record_overhead_ratio": 0.03,
    "rss_mb_per_camera": 40.0,
    "realtime_factor_8_cameras": 0.40,
    "detector_ms_per_frame": 0.5,
    "live_cpu_ratio_720p": 1.15,
    "low_power_cpu_ratio_static_1080p": 0.35,
}
WALKER = MovingObject(3.0, 9.0, (0.1, 0.6), (0.9, 0.5), size=(0.08, 0.25), color=(230, 230, 230))


@dataclass(frozen=True)
class Config:
    """What to run: full figures, or a quick smoke run on small footage."""

    big: Scene
    small: Scene
    static: Scene  # nothing moves: the low-power mode's case
    repeats: int
    cameras_rss: int
    cameras_realtime: int
    rss_pause_s: float  # video time at which RSS is read: the pre-roll must be full by then
    small_passes: int  # runs over the small file per measurement (it decodes ~8x faster)
    realtime_runs: int  # the wall-time figures take the best of these (others share the CPU)
    live: live.LiveConfig
    onset: low_power.OnsetConfig


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
    static=Scene(width=1920, height=1080, fps=15, duration_s=30.0, seed=2, keyframe_interval_s=2.0),
    repeats=5,
    cameras_rss=4,
    cameras_realtime=8,
    rss_pause_s=8.0,
    small_passes=6,
    realtime_runs=2,
    live=live.FULL,
    onset=low_power.FULL,
)
QUICK = Config(
    big=Scene(width=640, height=360, fps=15, duration_s=4.0, seed=1, objects=(WALKER,)),
    small=Scene(width=320, height=180, fps=15, duration_s=4.0, seed=1, objects=(WALKER,)),
    static=Scene(width=640, height=360, fps=15, duration_s=QUIET_S + 4.0, seed=2),
    repeats=1,
    cameras_rss=2,
    cameras_realtime=2,
    rss_pause_s=3.0,
    small_passes=1,
    realtime_runs=1,
    live=live.QUICK,
    onset=low_power.QUICK,
)


def _worker(store_dir: Path, *, recording: bool = False, low_power: bool = False) -> CameraWorker:
    """Make a worker as Home Assistant configures it by default (5 s pre-roll, 5 fps).

    Motion-triggered recording is off unless asked for, so the detection figures measure
    decode + detect + pre-roll buffering only, whatever the footage shows. Nobody asks for a
    still, so the worker decodes as it does while nobody watches.
    """
    store = ClipStore(store_dir)
    store.load()
    # The URL is never opened: the benchmarks drive run_session() with a file source.
    settings = WorkerSettings(
        camera_key="bench",
        stream_url="rtsp://bench.invalid/stream",
        recorder=RecorderOptions(),
        recording_enabled=recording,
        low_power=low_power,
    )
    return CameraWorker(settings, store)


def run_pipeline(
    path: Path,
    *,
    record: bool = False,
    low_power: bool = False,
    on_packet: Callable[[float], None] | None = None,
) -> None:
    """One worker session over the file (decode, detect, pre-roll, and recording if asked)."""
    with tempfile.TemporaryDirectory() as store_dir:
        worker = _worker(Path(store_dir), recording=record, low_power=low_power)
        requested = False

        def hook(video_s: float) -> None:
            nonlocal requested
            if record and not requested:
                requested = True
                worker.record(3600.0)  # a manual clip covering the whole file
            if on_packet is not None:
                on_packet(video_s)

        # The hook costs a little per packet: only sessions that need it pay.
        source = FileSource(path, hook if record or on_packet is not None else None)
        try:
            worker.run_session(source)
        finally:
            source.close()
        if record and worker.stats.clips_saved != 1:
            msg = "the recording benchmark did not save its clip"
            raise RuntimeError(msg)


def _pipeline_child(path: Path, record: bool, passes: int) -> CpuSample:  # noqa: FBT001
    warm_up(path)

    def sessions() -> None:
        for _ in range(passes):
            run_pipeline(path, record=record)

    return measure_here(sessions)


def _decode_passes_child(path: Path, skip_loop_filter: bool, passes: int) -> CpuSample:  # noqa: FBT001
    warm_up(path)
    return measure_here(
        lambda: [decode_file(path, skip_loop_filter=skip_loop_filter) for _ in range(passes)]
    )


def _scan_child(path: Path, passes: int) -> CpuSample:
    warm_up(path)
    return measure_here(lambda: [scan_video(path) for _ in range(passes)])


def scan_cpu(path: Path, passes: int = 1) -> CpuSample:
    """Process CPU of `passes` runs of engine.scan over the file, in a fresh child process.

    A cross-check of the pipeline figure by another path through the engine: scan_video
    opens, decodes, paces and detects by itself, with no worker, recorder or pre-roll.
    """
    return in_child(_scan_child, path, passes)


def pipeline_cpu(path: Path, *, record: bool, passes: int = 1) -> CpuSample:
    """Process CPU of `passes` worker sessions over the file, in a fresh child process."""
    return in_child(_pipeline_child, path, record, passes)


def floor_cpu(path: Path, *, skip_loop_filter: bool, passes: int = 1) -> CpuSample:
    """Process CPU of `passes` plain PyAV decodes of the file, in a fresh child process."""
    if passes == 1:
        return decode_cpu_s(path, skip_loop_filter=skip_loop_filter)
    return in_child(_decode_passes_child, path, skip_loop_filter, passes)


@dataclass
class Samples:
    """Every CPU sample of a run, to check that each one is fully accounted for."""

    all: list[CpuSample]

    def add(self, sample: CpuSample) -> float:
        """Keep the sample; return its process CPU."""
        self.all.append(sample)
        return sample.process_s


def cpu_ratios(path: Path, repeats: int, passes: int, samples: Samples) -> dict[str, list[float]]:
    """Floors and ratios, interleaved so that drift hits all alike.

    Each measurement covers `passes` runs over the file, so a cheap (small) input still adds
    up to enough CPU time to measure above the scheduler's noise.
    """
    series: dict[str, list[float]] = {
        "floor": [],
        "floor_default": [],
        "ratio": [],
        "ratio_default": [],
        "overhead": [],
        "scan": [],
    }
    for _ in range(repeats):
        default = samples.add(floor_cpu(path, skip_loop_filter=False, passes=passes))
        floor = samples.add(floor_cpu(path, skip_loop_filter=True, passes=passes))
        plain = samples.add(pipeline_cpu(path, record=False, passes=passes))
        recorded = samples.add(pipeline_cpu(path, record=True, passes=passes))
        scanned = samples.add(scan_cpu(path, passes))
        series["floor"].append(floor)
        series["floor_default"].append(default)
        series["ratio"].append(plain / floor)
        series["ratio_default"].append(plain / default)
        series["overhead"].append((recorded - plain) / floor)
        series["scan"].append(scanned / floor)
    return series


def _steady_child(path: Path, from_s: float, low_power: bool) -> CpuSample:  # noqa: FBT001
    """Process CPU of one session from video time from_s on (low power asleep by then)."""
    warm_up(path)
    meter = Meter(idle_cpu_per_s())
    worker = threading.get_native_id()

    def on_packet(video_s: float) -> None:
        if video_s >= from_s and not started:
            started.append(True)
            meter.start()

    started: list[bool] = []
    if low_power:
        run_pipeline(path, low_power=True, on_packet=on_packet)
    else:
        _decode_from(path, from_s, meter)
    return meter.stop({worker})


def _decode_from(path: Path, from_s: float, meter: Meter) -> None:
    """Decode the file by default, measuring from from_s on: the floor of that stretch."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        decoder = open_decoder(video, skip_loop_filter=False)
        started = False
        for packet in container.demux(video):
            decoder.decode(packet)
            if not started and packet.pts is not None and packet.pts * packet.time_base >= from_s:
                started = True
                meter.start()


def low_power_ratios(path: Path, repeats: int, samples: Samples) -> list[float]:
    """Low power on a static scene once asleep, over the default decode of the same stretch."""
    from_s = QUIET_S + 2.0
    ratios = []
    for _ in range(repeats):
        floor = samples.add(in_child(_steady_child, path, from_s, False))
        asleep = samples.add(in_child(_steady_child, path, from_s, True))
        ratios.append(asleep / floor)
    return ratios


def _detector_child(path: Path) -> tuple[float, CpuSample]:
    """Process CPU per analysed frame of the detector alone, on the file's analysed frames."""
    frames = []
    with av.open(str(path)) as container:
        step = max(1, round(float(container.streams.video[0].average_rate or 15) / DEFAULT_FPS))
        for index, frame in enumerate(container.decode(video=0)):
            if index % step == 0 and frame.time is not None:
                # A copy: the thumbnail is a view that would keep every decoded frame alive.
                frames.append((grey_thumbnail(frame, DEFAULT_WIDTH).copy(), frame.time))
    detector = MotionDetector()
    passes = 5

    def analyse() -> None:
        for _ in range(passes):
            detector.reset()
            for grey, when in frames:
                detector.analyse(grey, when)

    sample = measure_here(analyse)
    return 1000 * sample.process_s / (passes * len(frames)), sample


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


def _rss_child(path: Path, cameras: int, pause_at_s: float) -> float:
    with tempfile.TemporaryDirectory() as root:
        _run_workers(path, 1, Path(root) / "warm", None)  # load codecs and libraries first
        baseline = rss_mb()
        _, loaded = _run_workers(path, cameras, Path(root) / "run", pause_at_s)
    return (loaded - baseline) / cameras


def rss_per_camera_mb(path: Path, cameras: int, pause_at_s: float) -> float:
    """RSS growth per camera with a full 5 s pre-roll buffered and the decoder running."""
    return in_child(_rss_child, path, cameras, pause_at_s)


def _realtime_child(path: Path, cameras: int, decode_only: bool) -> float:  # noqa: FBT001
    warm_up(path)
    with tempfile.TemporaryDirectory() as root:
        if decode_only:
            wall = _run_decoders(path, cameras)
        else:
            wall, _ = _run_workers(path, cameras, Path(root), None)
    return wall / media_duration_s(path)


def _run_decoders(path: Path, count: int) -> float:
    """Wall seconds for count threads to decode the file as the workers do (the floor)."""
    threads = [
        threading.Thread(target=decode_file, args=(path,), kwargs={"skip_loop_filter": True})
        for _ in range(count)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started


def realtime_factor(path: Path, cameras: int, *, decode_only: bool = False) -> float:
    """Wall time for `cameras` concurrent workers (or decoders) on the file, over its length."""
    return in_child(_realtime_child, path, cameras, decode_only)


def run(config: Config) -> dict[str, object]:
    """Measure everything; return the figures and how they compare with the targets."""
    big, small, static = footage(config.big), footage(config.small), footage(config.static)
    samples = Samples([])
    large = cpu_ratios(big, config.repeats, 1, samples)
    little = cpu_ratios(small, config.repeats, config.small_passes, samples)
    asleep = low_power_ratios(static, config.repeats, samples)
    onset = low_power.run(config.onset)
    detector = [in_child(_detector_child, big) for _ in range(config.repeats)]
    samples.all.extend(sample for _, sample in detector)
    live_figures = live.run(config.live)
    samples.all.extend(live_figures.samples)
    runs = range(config.realtime_runs)
    realtime = [realtime_factor(big, config.cameras_realtime) for _ in runs]
    decoders = [realtime_factor(big, config.cameras_realtime, decode_only=True) for _ in runs]
    figures: dict[str, float] = {
        "decode_floor_cpu_s": round(min(large["floor"]), 3),
        "decode_floor_default_cpu_s": round(min(large["floor_default"]), 3),
        "pipeline_cpu_ratio_1080p": round(statistics.median(large["ratio"]), 3),
        "pipeline_cpu_ratio_360p": round(statistics.median(little["ratio"]), 3),
        "pipeline_cpu_ratio_1080p_vs_default_decode": round(
            statistics.median(large["ratio_default"]), 3
        ),
        "pipeline_cpu_ratio_360p_vs_default_decode": round(
            statistics.median(little["ratio_default"]), 3
        ),
        "record_overhead_ratio": round(statistics.median(large["overhead"]), 4),
        # The same ratios by engine.scan: they must agree with the two above.
        "scan_cpu_ratio_1080p": round(statistics.median(large["scan"]), 3),
        "scan_cpu_ratio_360p": round(statistics.median(little["scan"]), 3),
        "rss_mb_per_camera": round(
            rss_per_camera_mb(big, config.cameras_rss, config.rss_pause_s), 1
        ),
        "realtime_factor_8_cameras": round(min(realtime), 3),
        "realtime_factor_8_decoders": round(min(decoders), 3),
        "detector_ms_per_frame": round(statistics.median(ms for ms, _ in detector), 3),
        "low_power_cpu_ratio_static_1080p": round(statistics.median(asleep), 3),
        **live_figures.figures,
    }
    unaccounted = max(sample.unaccounted for sample in samples.all)
    return {
        **figures,
        "media_s": round(media_duration_s(big), 2),
        "input_1080p": f"{config.big.width}x{config.big.height}@{config.big.fps}",
        "input_360p": f"{config.small.width}x{config.small.height}@{config.small.fps}",
        "input_live": live_figures.input,
        "repeats": config.repeats,
        "cpu": "process CPU (all threads) of each session in a fresh child process",
        **onset,
        "cpu_unaccounted_max": round(unaccounted, 4),
        "cpu_accounted": unaccounted <= UNACCOUNTED_LIMIT,
        "noise": {
            "decode_floor_spread": round(spread(large["floor"]), 3),
            "pipeline_ratio_spread_1080p": round(spread(large["ratio"]), 3),
            "pipeline_ratio_spread_360p": round(spread(little["ratio"]), 3),
            "ratio_1080p_min_max": [round(min(large["ratio"]), 3), round(max(large["ratio"]), 3)],
            "ratio_360p_min_max": [round(min(little["ratio"]), 3), round(max(little["ratio"]), 3)],
            "realtime_factor_8_cameras_runs": [round(value, 3) for value in realtime],
            **live_figures.noise,
        },
        "targets": TARGETS,
        "meets_targets": {key: figures[key] <= limit for key, limit in TARGETS.items()},
    }


def _table(result: dict[str, object]) -> str:
    meets = result["meets_targets"]
    if not isinstance(meets, dict):
        msg = "meets_targets must be a mapping"
        raise TypeError(msg)
    width = 44
    lines = [f"{'figure':<{width}}{'value':>10}{'target':>10}  ok"]
    for key, limit in TARGETS.items():
        lines.append(
            f"{key:<{width}}{result[key]!s:>10}{'<= ' + str(limit):>10}  "
            f"{'yes' if meets[key] else 'NO'}"
        )
    lines.extend(
        f"{key:<{width}}{result[key]!s:>10}"
        for key in (
            "decode_floor_cpu_s",
            "decode_floor_default_cpu_s",
            "pipeline_cpu_ratio_360p_vs_default_decode",
            "realtime_factor_8_decoders",
            "live_cores_per_camera_720p",
            "live_cpu_ratio_720p_vs_default_decode",
        )
    )
    accounted = "yes" if result["cpu_accounted"] else "NO: threads outside the work used CPU"
    lines.append(
        f"process CPU accounted for by the working threads: {accounted} "
        f"(largest unaccounted share {result['cpu_unaccounted_max']})"
    )
    lines.append(
        f"inputs: {result['input_1080p']} and {result['input_360p']}, "
        f"{result['media_s']} s each, live {result['input_live']}, "
        f"{result['repeats']} repeats, noise {result['noise']}"
    )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Run the pipeline benchmark and print a table, or one JSON object with --json."""
    return suite_main(argv, "pipeline", run, _table, (FULL, QUICK))
