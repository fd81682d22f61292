"""Worker test helpers: collect callbacks across threads and wait for them."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
import threading
from typing import Any

from custom_components.hearthcam.engine.clip_info import ClipInfo
from custom_components.hearthcam.engine.clips import ClipStore
from custom_components.hearthcam.engine.errors import StorageError, StreamError
from custom_components.hearthcam.engine.motion import MotionDetector, MotionResult, MotionSettings
from custom_components.hearthcam.engine.recorder import RecorderOptions
from custom_components.hearthcam.engine.source import SourceOptions
from custom_components.hearthcam.engine.worker import CameraWorker, WorkerCallbacks, WorkerSettings
from devkit.footage import MovingObject
from tests.waiting import HANG_S

# Bright enough to stand out from the mid-grey background in luma.
WALKER_COLOR = (235, 235, 235)


def walker(start_s: float, end_s: float) -> MovingObject:
    """A bright box crossing the frame from left to right between start_s and end_s."""
    return MovingObject(start_s, end_s, (0.1, 0.5), (0.9, 0.5), color=WALKER_COLOR)


@dataclass
class Events:
    """Everything a worker reported, in order, with a way to wait for what is expected."""

    connection: list[tuple[bool, StreamError | None]] = field(default_factory=list)
    motion: list[tuple[bool, MotionResult]] = field(default_factory=list)
    clips: list[ClipInfo] = field(default_factory=list)
    storage_errors: list[StorageError] = field(default_factory=list)
    threads: set[str] = field(default_factory=set)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def callbacks(self) -> WorkerCallbacks:
        """Callbacks that record into this object."""
        return WorkerCallbacks(
            on_connection=lambda up, err: self._add(self.connection, (up, err)),
            on_motion=lambda active, result: self._add(self.motion, (active, result)),
            on_clip=lambda clip: self._add(self.clips, clip),
            on_storage_error=lambda err: self._add(self.storage_errors, err),
        )

    def _add[T](self, target: list[T], item: T) -> None:
        with self._changed:
            self.threads.add(threading.current_thread().name)
            target.append(item)
            self._changed.notify_all()

    def wait(self, predicate: Callable[[], bool], what: str, timeout_s: float = HANG_S) -> None:
        """Wait until predicate() holds, or fail the test saying what did not happen."""
        with self._changed:
            if not self._changed.wait_for(predicate, timeout_s):
                msg = f"timed out after {timeout_s} s waiting for {what}: {self!r}"
                raise AssertionError(msg)


def settings(url: str, **overrides: Any) -> WorkerSettings:
    """Worker settings for tests: short pre/post-roll and timeouts so scenes stay short."""
    base = WorkerSettings(
        camera_key="testcam",
        stream_url=url,
        source=SourceOptions(open_timeout_s=5.0, stall_timeout_s=3.0),
        recorder=RecorderOptions(pre_roll_s=2.0, post_roll_s=1.0, max_clip_s=60.0),
        analysis_fps=5.0,
    )
    return dataclasses.replace(base, **overrides)


@contextmanager
def running_worker(
    worker_settings: WorkerSettings, store_root: Path, events: Events
) -> Iterator[CameraWorker]:
    """Start a worker on a freshly loaded store; always stop it and check it stopped fast."""
    store = ClipStore(store_root)
    store.load()
    # A short off delay keeps the scenes (and clips) of worker tests short.
    detector = MotionDetector(MotionSettings(off_delay_s=2.0))
    worker = CameraWorker(worker_settings, store, events.callbacks(), detector)
    worker.start()
    try:
        yield worker
    finally:
        # stop() waits at most its timeout and says whether every thread ended within it.
        assert worker.stop(), "worker threads still alive after stop()"
