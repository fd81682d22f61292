"""Live view CPU: one camera on a real-time RTSP stream while one viewer watches vs nobody.

A worker streams from live555 as it would from a camera (real time, detection on, recording
off so that clips do not weigh on one side). Phases alternate, nobody watching then one viewer,
so that a busy machine's drift weighs on both sides; each phase's figure is process CPU (every
thread, native ones included) per second of wall time, and the ratio divides the medians.

The viewer does what the camera entity's MJPEG view does for a browser: wait for the feed's
next frame, then take its JPEG (encoded once per frame, privacy masks painted). Only the HTTP
write of those bytes is left out.
"""

from dataclasses import dataclass
from pathlib import Path
import statistics
import tempfile
import threading
import time
from typing import Self

from benchmarks.common import CACHE, footage, spread, suite_main
from custom_components.hearthcam.engine.clips import ClipStore
from custom_components.hearthcam.engine.live import LIVE_VIEW_FPS, LiveFeed
from custom_components.hearthcam.engine.regions import parse_polygons
from custom_components.hearthcam.engine.worker import CameraWorker, WorkerSettings
from devkit.footage import MovingObject, Scene
from devkit.live555 import Live555Server

# The least a live view must show; the CPU ratio is reported, not bounded.
TARGET_MIN_FPS = 5.0
WALKER = MovingObject(5.0, 15.0, (0.1, 0.6), (0.9, 0.5), size=(0.08, 0.25), color=(230, 230, 230))
MASK = parse_polygons("0,0 0.3,0 0.3,0.4 0,0.4")  # a neighbour's window, top left
CONNECT_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class Config:
    """The stream, and how long and how often each phase runs."""

    scene: Scene
    phase_s: float
    rounds: int
    warm_up_s: float


FULL = Config(
    scene=Scene(
        width=1280,
        height=720,
        fps=15,
        duration_s=75.0,
        seed=3,
        objects=(WALKER,),
        keyframe_interval_s=2.0,
    ),
    phase_s=8.0,
    rounds=4,
    warm_up_s=3.0,
)
QUICK = Config(
    scene=Scene(width=640, height=360, fps=15, duration_s=20.0, seed=3, objects=(WALKER,)),
    phase_s=3.0,
    rounds=2,
    warm_up_s=1.0,
)


class Viewer:
    """One viewer on its own thread, taking every live frame's JPEG as the MJPEG view does."""

    def __init__(self, live: LiveFeed) -> None:
        self.frames = 0
        self.jpeg_bytes = 0
        self._live = live
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-viewer")

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        wake = threading.Event()
        stop_watching = self._live.watch(wake.set)
        shown = 0
        try:
            while not self._done.is_set():
                if not wake.wait(0.2):
                    continue
                wake.clear()
                latest = self._live.latest_jpeg()
                if latest is None or latest[0] == shown:
                    continue
                shown = latest[0]
                self.frames += 1
                self.jpeg_bytes += len(latest[1])
        finally:
            stop_watching()


def _cores_over(seconds: float) -> float:
    """Process CPU per wall second over the next `seconds` (every thread counts)."""
    cpu, wall = time.process_time(), time.monotonic()
    time.sleep(seconds)
    return (time.process_time() - cpu) / (time.monotonic() - wall)


def _measure(config: Config, url: str, store_dir: Path) -> dict[str, object]:
    store = ClipStore(store_dir)
    store.load()
    settings = WorkerSettings(
        camera_key="bench", stream_url=url, recording_enabled=False, privacy_masks=MASK
    )
    worker = CameraWorker(settings, store)
    worker.start()
    try:
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while worker.stats.analysed_frames == 0:
            if time.monotonic() > deadline:
                msg = f"no frame from {url} within {CONNECT_TIMEOUT_S} s"
                raise RuntimeError(msg)
            time.sleep(0.1)
        time.sleep(config.warm_up_s)
        idle: list[float] = []
        watched: list[float] = []
        frames = jpeg_bytes = 0
        for _ in range(config.rounds):
            idle.append(_cores_over(config.phase_s))
            with Viewer(worker.live) as viewer:
                watched.append(_cores_over(config.phase_s))
            frames += viewer.frames
            jpeg_bytes += viewer.jpeg_bytes
        reconnects = worker.stats.reconnects
    finally:
        worker.stop()
    idle_cores, watched_cores = statistics.median(idle), statistics.median(watched)
    watched_s = config.rounds * config.phase_s
    fps = frames / watched_s
    return {
        "input": f"{config.scene.width}x{config.scene.height}@{config.scene.fps:g} RTSP",
        "live_view_max_fps": LIVE_VIEW_FPS,
        "phase_s": config.phase_s,
        "rounds": config.rounds,
        "cpu_cores_nobody_watching": round(idle_cores, 4),
        "cpu_cores_one_viewer": round(watched_cores, 4),
        "live_view_cpu_ratio": round(watched_cores / idle_cores, 3),
        "live_view_cpu_spread": {
            "nobody_watching": round(spread(idle), 3),
            "one_viewer": round(spread(watched), 3),
        },
        "live_view_fps": round(fps, 2),
        "live_view_ms_cpu_per_frame": (
            round((watched_cores - idle_cores) * 1000 / fps, 2) if fps else None
        ),
        "live_view_kb_per_frame": round(jpeg_bytes / frames / 1024, 1) if frames else None,
        "reconnects": reconnects,
        "targets": {"live_view_fps_min": TARGET_MIN_FPS},
        "meets_targets": {"live_view_fps_min": fps >= TARGET_MIN_FPS},
    }


def run(config: Config) -> dict[str, object]:
    """Serve the footage over RTSP, run one camera, and compare watched with unwatched."""
    path = footage(config.scene, ".mkv")
    with (
        Live555Server(CACHE) as server,
        tempfile.TemporaryDirectory(prefix="hearthcam-live-") as store_dir,
    ):
        return _measure(config, server.url(path.name), Path(store_dir))


def _table(figures: dict[str, object]) -> str:
    """Format the figures for people."""
    return "\n".join(
        [
            (
                f"Live view of one camera ({figures['input']}, {figures['rounds']} x "
                f"{figures['phase_s']} s per side, alternating)"
            ),
            f"  nobody watching: {figures['cpu_cores_nobody_watching']} cores (process CPU)",
            f"  one viewer:      {figures['cpu_cores_one_viewer']} cores",
            f"  ratio:           {figures['live_view_cpu_ratio']}x",
            (
                f"  frames:          {figures['live_view_fps']} fps (target >= "
                f"{TARGET_MIN_FPS:g}), {figures['live_view_ms_cpu_per_frame']} ms CPU and "
                f"{figures['live_view_kb_per_frame']} KiB each"
            ),
        ]
    )


def main(argv: list[str]) -> int:
    """Run the live view benchmark and print a table, or one JSON object with --json."""
    return suite_main(argv, "live_view", run, _table, (FULL, QUICK))
