"""Cameras as they really run: workers on real-time RTSP streams (live555), in process CPU.

Real-time pacing leaves gaps between frames, in which a library thread pool can keep spinning
where a file benchmark (frames back to back) would hide it. Each measurement starts a fresh
child process that opens the streams, waits out the warm-up, and measures a window of its
process CPU: once with camera workers (defaults, as Home Assistant runs them), once with plain
PyAV decoders of the same streams with the workers' decoder settings (the floor), once with
default decoder settings.
"""

from dataclasses import dataclass
from pathlib import Path
import statistics
import tempfile
import threading
import time

from benchmarks.common import CACHE, footage, open_decoder
from benchmarks.process_cpu import CpuSample, Meter, idle_cpu_per_s, in_child, threads_named
from custom_components.hearthcam.engine.clips import ClipStore
from custom_components.hearthcam.engine.source import SourceOptions, open_input
from custom_components.hearthcam.engine.worker import CameraWorker, WorkerSettings
from devkit.footage import MovingObject, Scene
from devkit.live555 import Live555Server

_DECODER_THREAD = "floor-decoder"
_WORKER_THREAD = "hearthcam-"


@dataclass(frozen=True)
class LiveConfig:
    """Streams and timing of the live measurement."""

    scene: Scene
    cameras: int
    warm_s: float  # after connecting: past the detector's warm-up and the first keyframes
    window_s: float
    repeats: int


_PASSER = MovingObject(12.0, 18.0, (0.1, 0.6), (0.9, 0.5), size=(0.08, 0.25), color=(230,) * 3)
FULL = LiveConfig(
    scene=Scene(
        width=1280,
        height=720,
        fps=15,
        duration_s=30.0,
        seed=4,
        objects=(_PASSER,),
        keyframe_interval_s=2.0,
    ),
    cameras=3,
    warm_s=4.0,
    window_s=20.0,
    repeats=2,
)
QUICK = LiveConfig(
    scene=Scene(width=320, height=180, fps=15, duration_s=8.0, seed=4, keyframe_interval_s=1.0),
    cameras=2,
    warm_s=1.5,
    window_s=2.0,
    repeats=1,
)


def _decode_stream(url: str, stop: threading.Event, skip_loop_filter: bool) -> None:  # noqa: FBT001
    """Decode a stream as it arrives until stopped or ended: the floor of one camera."""
    # Opened exactly as the workers open it: the same protocol options and timeouts.
    with open_input(url, SourceOptions()) as container:
        video = container.streams.video[0]
        decoder = open_decoder(video, skip_loop_filter=skip_loop_filter)
        for packet in container.demux(video):
            decoder.decode(packet)
            if stop.is_set():
                return


def _floor_child(urls: list[str], warm_s: float, window_s: float, skip: bool) -> CpuSample:  # noqa: FBT001
    idle = idle_cpu_per_s()
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=_decode_stream, args=(url, stop, skip), name=f"{_DECODER_THREAD}-{index}"
        )
        for index, url in enumerate(urls)
    ]
    for thread in threads:
        thread.start()
    return _window(idle, warm_s, window_s, _DECODER_THREAD, stop=stop, threads=tuple(threads))


def decode_floor_cores(urls: list[str], warm_s: float, window_s: float) -> float:
    """Process CPU, in cores, of only decoding these live streams in a fresh child process."""
    sample = in_child(_floor_child, urls, warm_s, window_s, True)
    return sample.process_s / sample.wall_s


def _workers_child(urls: list[str], warm_s: float, window_s: float) -> CpuSample:
    idle = idle_cpu_per_s()
    with tempfile.TemporaryDirectory() as root:
        store = ClipStore(Path(root))
        store.load()
        workers = [
            CameraWorker(WorkerSettings(camera_key=f"live{index}", stream_url=url), store)
            for index, url in enumerate(urls)
        ]
        for worker in workers:
            worker.start()
        try:
            return _window(idle, warm_s, window_s, _WORKER_THREAD)
        finally:
            for worker in workers:
                worker.stop()


def _window(
    idle: float,
    warm_s: float,
    window_s: float,
    prefix: str,
    *,
    stop: threading.Event | None = None,
    threads: tuple[threading.Thread, ...] = (),
) -> CpuSample:
    """Wait out the warm-up, then measure window_s of this process; stop the threads after."""
    time.sleep(warm_s)
    meter = Meter(idle)
    meter.start()
    time.sleep(window_s)
    sample = meter.stop(threads_named(prefix))
    if stop is not None:
        stop.set()
    for thread in threads:
        thread.join()
    return sample


@dataclass(frozen=True, kw_only=True)
class LiveResult:
    """The live figures, their run-to-run spread, the input, and every sample taken."""

    figures: dict[str, float]
    noise: dict[str, list[float]]
    input: str
    samples: list[CpuSample]


def run(config: LiveConfig) -> LiveResult:
    """Measure the workers and both floors on live streams; figures are per camera."""
    path = footage(config.scene)
    names = []
    with tempfile.TemporaryDirectory(dir=CACHE) as media:  # beside the footage: hard links
        for index in range(config.cameras):
            # One file per camera, so live555 runs an independent session for each.
            name = f"camera{index}{path.suffix}"
            (Path(media) / name).hardlink_to(path)
            names.append(name)
        with Live555Server(media) as server:
            urls = [server.url(name) for name in names]
            timing = (config.warm_s, config.window_s)
            series: dict[str, list[CpuSample]] = {"workers": [], "floor": [], "default": []}
            for _ in range(config.repeats):
                series["default"].append(in_child(_floor_child, urls, *timing, False))
                series["floor"].append(in_child(_floor_child, urls, *timing, True))
                series["workers"].append(in_child(_workers_child, urls, *timing))
    per_camera = {
        key: [sample.process_s / sample.wall_s / config.cameras for sample in samples]
        for key, samples in series.items()
    }
    ratios = [w / f for w, f in zip(per_camera["workers"], per_camera["floor"], strict=True)]
    ratios_default = [
        w / f for w, f in zip(per_camera["workers"], per_camera["default"], strict=True)
    ]
    scene = config.scene
    return LiveResult(
        figures={
            "live_cpu_ratio_720p": round(statistics.median(ratios), 3),
            "live_cpu_ratio_720p_vs_default_decode": round(statistics.median(ratios_default), 3),
            "live_cores_per_camera_720p": round(statistics.median(per_camera["workers"]), 4),
            "live_floor_cores_per_camera_720p": round(statistics.median(per_camera["floor"]), 4),
        },
        noise={"live_ratio_runs": [round(ratio, 3) for ratio in ratios]},
        input=f"{config.cameras} x {scene.width}x{scene.height}@{scene.fps} RTSP",
        samples=[sample for samples in series.values() for sample in samples],
    )
