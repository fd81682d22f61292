"""Cyclic garbage and RSS growth per RTSP session of a camera worker, with the GC off.

Runs one CameraWorker against live555 serving a short clip with motion, so every session
ends (end of file) and reconnects, and records a clip. The cyclic GC is disabled for the
run: whatever only the GC could free piles up, and is counted by type at the end, while the
worker still runs (what it holds for its whole life is not a session's). RSS is read after
every connection; its growth per session is measured from the end of the first session.

`python -m benchmarks.session_garbage [--sessions N] [--json]`
"""

import argparse
from collections import Counter
from dataclasses import replace
import gc
import json
from pathlib import Path
import tempfile
import threading
from typing import cast

from benchmarks.soak_probe import mallinfo2
from custom_components.hearthcam.engine.clips import ClipStore
from custom_components.hearthcam.engine.motion import MotionDetector, MotionSettings
from custom_components.hearthcam.engine.recorder import RecorderOptions
from custom_components.hearthcam.engine.source import SourceOptions
from custom_components.hearthcam.engine.worker import CameraWorker, WorkerCallbacks, WorkerSettings
from devkit.footage import MovingObject, Scene, footage_path
from devkit.live555 import Live555Server

SCENE = Scene(
    width=320,
    height=240,
    fps=15,
    keyframe_interval_s=1.0,
    duration_s=4.0,
    seed=41,
    noise_sigma=3.0,
    objects=(MovingObject(1.0, 6.0, (0.1, 0.5), (0.9, 0.5), color=(235, 235, 235)),),
)
WAIT_S = 60.0  # for one session: far longer than a session takes


def _settings(url: str) -> WorkerSettings:
    """Short timeouts and pre/post-roll, so sessions and their clips stay short."""
    return WorkerSettings(
        camera_key="bench",
        stream_url=url,
        source=SourceOptions(open_timeout_s=5.0, stall_timeout_s=3.0),
        recorder=RecorderOptions(pre_roll_s=2.0, post_roll_s=1.0, max_clip_s=60.0),
        analysis_fps=5.0,
    )


def _heap_in_use_kb() -> int:
    """Return the bytes glibc's malloc has handed out and not had back, in KiB."""
    info = mallinfo2()
    return int(info.uordblks + info.hblkhd) // 1024


def _rss_kb() -> int:
    """Return the current resident set size in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    msg = "no VmRSS in /proc/self/status"
    raise RuntimeError(msg)


class _Connections:
    """Counts connections; keeps no error, as the integration keeps only its detail."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = threading.Condition()

    def callbacks(self) -> WorkerCallbacks:
        """Worker callbacks that count connections and drop everything else."""
        return WorkerCallbacks(on_connection=lambda up, _err: self._connected(up=up))

    def _connected(self, *, up: bool) -> None:
        with self._changed:
            self.count += up
            self._changed.notify_all()

    def wait(self, count: int) -> None:
        """Wait until the worker has connected count times."""
        with self._changed:
            if not self._changed.wait_for(lambda: self.count >= count, WAIT_S):
                msg = f"no connection {count} within {WAIT_S} s"
                raise AssertionError(msg)


def run(sessions: int) -> dict[str, object]:
    """Run the worker for `sessions` sessions with the GC off; return the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        media = Path(tmp, "media")
        media.mkdir()
        name = footage_path(replace(SCENE), media).name
        with Live555Server(media) as server:
            url = server.url(name)
            connections = _Connections()
            gc.collect()
            gc.disable()
            rss: list[int] = []
            heap: list[int] = []
            try:
                store = ClipStore(Path(tmp, "store"))
                store.load()
                detector = MotionDetector(MotionSettings(off_delay_s=2.0))
                worker = CameraWorker(_settings(url), store, connections.callbacks(), detector)
                worker.start()
                try:
                    for session in range(1, sessions + 2):
                        connections.wait(session)
                        rss.append(_rss_kb())
                        heap.append(_heap_in_use_kb())
                    # While the worker runs: what it holds for its whole life is not a session's.
                    gc.set_debug(gc.DEBUG_SAVEALL)
                    found = gc.collect()
                    kinds = Counter(
                        f"{type(obj).__module__}.{type(obj).__qualname__}" for obj in gc.garbage
                    )
                    gc.garbage.clear()
                    gc.set_debug(0)
                    gc.collect()  # now frees what it found
                    heap_after_collect = _heap_in_use_kb()
                finally:
                    worker.stop()
            finally:
                gc.set_debug(0)
                gc.enable()
    # The first session warms up caches and code: growth is measured from its end.
    sessions_measured = max(1, len(rss) - 2)
    return {
        "sessions": sessions,
        "garbage_objects": found,
        "garbage_by_type": dict(kinds.most_common()),
        "rss_kb": rss,
        "rss_growth_kb_per_session": round((rss[-1] - rss[1]) / sessions_measured, 1),
        "heap_in_use_kb": heap,
        "heap_growth_kb_per_session": round((heap[-1] - heap[1]) / sessions_measured, 1),
        "heap_freed_by_collect_kb": heap[-1] - heap_after_collect,
    }


def main(argv: list[str] | None = None) -> int:
    """Print the figures (a table, or JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.sessions < 2:
        parser.error("--sessions must be at least 2")
    figures = run(args.sessions)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"sessions: {figures['sessions']}")
    print(f"objects only the GC could free: {figures['garbage_objects']}")
    kinds = cast("dict[str, int]", figures["garbage_by_type"])
    for kind, count in list(kinds.items())[:40]:
        print(f"  {count:6d}  {kind}")
    print(f"RSS after each session (KiB): {figures['rss_kb']}")
    print(f"RSS growth per session: {figures['rss_growth_kb_per_session']} KiB")
    print(f"malloc in use after each session (KiB): {figures['heap_in_use_kb']}")
    print(f"malloc in-use growth per session: {figures['heap_growth_kb_per_session']} KiB")
    print(f"malloc in use freed by the final collect: {figures['heap_freed_by_collect_kb']} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
