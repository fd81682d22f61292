"""CameraWorker end to end: real footage from real RTSP and HTTP servers, real clips on disk."""

from collections.abc import Callable
from dataclasses import replace
import io
from pathlib import Path
import signal
import subprocess
import sys
import threading
import time

import av
import numpy as np
import pytest

from custom_components.hearthcam.engine.clip_info import ClipFile
from custom_components.hearthcam.engine.clips import ClipStore
from custom_components.hearthcam.engine.errors import (
    RecordingInProgressError,
    StorageFullError,
    StreamErrorKind,
)
from custom_components.hearthcam.engine.imaging import OUTLINE_RGB
from custom_components.hearthcam.engine.model import ClipTrigger
from custom_components.hearthcam.engine.motion_place import clip_area
from custom_components.hearthcam.engine.source import SourceOptions
from custom_components.hearthcam.engine.worker import CameraWorker
from devkit.footage import Scene
from devkit.http_server import HttpStreamServer
from devkit.live555 import Live555Server
from devkit.pytest_plugin import Live555Factory, MakeFootage
from tests.waiting import wait_until

from .workerkit import Events, running_worker, settings, walker

SMALL = Scene(width=320, height=240, fps=15, keyframe_interval_s=1.0)


def _packets(worker: CameraWorker) -> int:
    """Packets the worker's current source has read (0 while it has none)."""
    source = worker.stats.source
    return 0 if source is None else source.packets


def _quiet_for(worker: CameraWorker, seconds: float) -> bool:
    """Whether the worker's source has read nothing for that long."""
    source = worker.stats.source
    last = None if source is None else source.last_packet_at
    return last is not None and time.monotonic() - last > seconds


def _frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def _assert_outlined(thumbnail: Path, box: tuple[float, float, float, float]) -> None:
    """The thumbnail shows the motion outline along the box's top edge."""
    with av.open(str(thumbnail)) as container:
        image = next(container.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    height, width = image.shape[:2]
    x0, y0, x1, _ = box
    row = min(height - 1, round(y0 * height) + 1)
    edge = image[row, round(x0 * width) + 4 : round(x1 * width) - 4]
    assert np.abs(edge - OUTLINE_RGB).max(axis=1).mean() < 80  # chroma is subsampled


def test_motion_over_rtsp_becomes_a_playable_clip(
    make_footage: MakeFootage, rtsp_server: Live555Server, tmp_path: Path
) -> None:
    """Motion on, off, and a clip with pre-roll, thumbnail and timeline, over RTSP/TCP."""
    scene = replace(SMALL, duration_s=12.0, seed=11, objects=(walker(3.0, 5.0),))
    url = rtsp_server.url(make_footage(scene).name)
    events = Events()
    with running_worker(settings(url), tmp_path, events) as worker:
        events.wait(lambda: events.connection[:1] == [(True, None)], "connection")
        events.wait(lambda: len(events.motion) >= 2, "motion on and off")
        events.wait(lambda: bool(events.clips), "a saved clip")
        snapshot = worker.snapshot_jpeg(max_width=160)
        stats = worker.stats

    assert [active for active, _ in events.motion[:2]] == [True, False]
    clip = events.clips[0]
    assert clip.trigger is ClipTrigger.MOTION
    assert clip.video_codec == "h264"
    assert (clip.width, clip.height) == (320, 240)
    # Pre-roll 2 s + 2 s walk + 2 s off delay + 1 s post-roll, give or take a GOP.
    assert 5.5 <= clip.duration_s <= 8.5
    assert clip.peak_score > 0.002
    assert clip.motion_timeline
    assert clip.has_thumbnail
    # The walker enters on the left, mid-height, and crosses to the right.
    assert clip.onset_box is not None
    assert clip_area(clip) == "left"
    assert clip.motion_boxes[0][1][0] < 0.3 < clip.motion_boxes[-1][1][2]
    store = ClipStore(tmp_path)
    store.load()
    _assert_outlined(store.resolve(clip.clip_id, ClipFile.THUMBNAIL), clip.onset_box)
    assert abs(_frames(store.resolve(clip.clip_id)) - clip.duration_s * 15) <= 2
    assert snapshot is not None
    assert snapshot.startswith(b"\xff\xd8")
    assert stats.analysed_frames > 20
    assert stats.clips_saved == 1
    # Callbacks come from the worker's own named thread.
    assert events.threads == {"hearthcam-testcam"}


def test_server_killed_mid_clip_finishes_the_clip_and_reconnects(
    make_footage: MakeFootage, live555_factory: Live555Factory, tmp_path: Path
) -> None:
    """Losing the stream mid-clip keeps a playable clip; the worker reconnects when it returns."""
    scene = replace(SMALL, duration_s=30.0, seed=12, objects=(walker(1.0, 30.0),))
    server = live555_factory()
    url = server.url(make_footage(scene).name)
    events = Events()
    with running_worker(settings(url), tmp_path, events) as worker:
        wait_until(lambda: worker.stats.recording, "recording to start")
        recording_from = _packets(worker)
        # Over 2 s of the clip (15 fps) is written before the server goes away.
        wait_until(lambda: _packets(worker) >= recording_from + 40, "2 s of recording")
        server.kill()
        events.wait(lambda: any(not up for up, _ in events.connection), "disconnect")
        events.wait(lambda: bool(events.clips), "the interrupted clip")
        server.restart()
        events.wait(lambda: events.connection[-1][0], "reconnect")
        stats = worker.stats

    lost = next(err for up, err in events.connection if not up)
    assert lost is not None
    assert lost.kind in {StreamErrorKind.ENDED, StreamErrorKind.STALLED}
    assert stats.reconnects == 1
    clip = events.clips[0]
    assert clip.duration_s >= 2.0
    store = ClipStore(tmp_path)
    store.load()
    assert _frames(store.resolve(clip.clip_id)) >= 30


def test_manual_recording_includes_the_pre_roll(
    make_footage: MakeFootage, http_stream_server: HttpStreamServer, tmp_path: Path
) -> None:
    """record(3) on a quiet scene saves a ~3 s manual clip that starts before the request."""
    scene = replace(SMALL, duration_s=10.0, seed=13)
    url = http_stream_server.url(f"ts/{make_footage(scene, '.ts').name}")
    events = Events()
    with running_worker(settings(url), tmp_path, events) as worker:
        events.wait(lambda: bool(events.connection), "connection")
        # 3 s of stream (15 fps) fill the 2 s pre-roll.
        wait_until(lambda: _packets(worker) >= 45, "the pre-roll to fill")
        requested = time.time()
        worker.record(3.0)

        def recording() -> bool:  # read afresh each time: the worker's thread changes it
            return worker.manual_recording

        assert recording()
        with pytest.raises(RecordingInProgressError):
            worker.record(30.0)  # one at a time: refused, and the clip stays ~3 s
        events.wait(lambda: bool(events.clips), "the manual clip")
        assert not recording()

    clip = events.clips[0]
    assert clip.trigger is ClipTrigger.MANUAL
    assert 2.0 <= clip.duration_s <= 4.0
    assert clip.start.timestamp() < requested - 1.0
    assert not events.motion


def test_stall_is_detected(
    http_stream_server: HttpStreamServer, make_footage: MakeFootage, tmp_path: Path
) -> None:
    """A server that stops sending (connection open) is reported as stalled."""
    scene = replace(SMALL, duration_s=4.0, seed=14)
    url = http_stream_server.url(f"stall/{make_footage(scene, '.ts').name}")
    events = Events()
    options = SourceOptions(open_timeout_s=5.0, stall_timeout_s=1.5)
    with running_worker(settings(url, source=options), tmp_path, events):
        events.wait(lambda: any(not up for up, _ in events.connection), "stall")
    error = next(err for up, err in events.connection if not up)
    assert error is not None
    assert error.kind is StreamErrorKind.STALLED


def test_stop_interrupts_a_blocked_read_quickly(
    http_stream_server: HttpStreamServer, make_footage: MakeFootage, tmp_path: Path
) -> None:
    """stop() ends every thread within its budget while the read waits on a silent server.

    FFmpeg cannot interrupt a blocked read, so the demux thread ends at the stall timeout (3 s);
    stop() waits for it within its own 5 s budget, and says whether everything ended in it.
    """
    scene = replace(SMALL, duration_s=4.0, seed=14)
    url = http_stream_server.url(f"stall/{make_footage(scene, '.ts').name}")
    events = Events()
    options = SourceOptions(open_timeout_s=5.0, stall_timeout_s=3.0)
    store = ClipStore(tmp_path)
    store.load()
    worker = CameraWorker(settings(url, source=options), store, events.callbacks())
    worker.start()
    events.wait(lambda: bool(events.connection), "connection")
    wait_until(lambda: _quiet_for(worker, 0.5), "the server to go silent (the read blocks)")
    assert worker.stop()
    assert not [t for t in threading.enumerate() if t.name.startswith("hearthcam-")]


def test_garbage_on_the_stream_is_counted_and_survived(
    http_stream_server: HttpStreamServer, make_footage: MakeFootage, tmp_path: Path
) -> None:
    """Corrupt bytes cost errors and frames, not the connection or the worker."""
    scene = replace(SMALL, duration_s=8.0, seed=15, objects=(walker(1.0, 7.0),))
    url = http_stream_server.url(f"garbage/{make_footage(scene, '.ts').name}?every=4096")
    events = Events()
    with running_worker(settings(url), tmp_path, events) as worker:
        events.wait(lambda: bool(events.connection), "connection")
        # 5 s of analysis at 5 fps, with garbage every 4 KiB all along.
        wait_until(lambda: worker.stats.analysed_frames >= 25, "5 s of analysed frames")
        stats = worker.stats
    assert stats.connected
    assert stats.source is not None
    assert stats.source.corrupt_packets + stats.decode_errors > 0
    assert stats.analysed_frames > 10
    assert events.connection == [(True, None)]


def test_disk_full_stops_recording_but_not_detection(
    http_stream_server: HttpStreamServer,
    make_footage: MakeFootage,
    tmpfs: Callable[[str], Path],
) -> None:
    """On a full disk the clip fails with StorageFullError; motion is still reported."""
    store_root = tmpfs("64k")
    scene = replace(SMALL, duration_s=9.0, seed=16, objects=(walker(1.0, 3.0),))
    url = http_stream_server.url(f"ts/{make_footage(scene, '.ts').name}")
    events = Events()
    with running_worker(settings(url), store_root, events):
        events.wait(lambda: bool(events.storage_errors), "a storage error")
        events.wait(lambda: len(events.motion) >= 2, "motion to end")
    assert isinstance(events.storage_errors[0], StorageFullError)
    assert [active for active, _ in events.motion[:2]] == [True, False]
    leftovers = [p.name for p in store_root.rglob("*") if p.is_file()]
    assert not [name for name in leftovers if name.endswith(".part")]


# Starts a worker, waits until over 2 s (15 fps) of a clip are written, says so, and waits to
# be killed.
_KILLED_WORKER = """
import sys, threading
from pathlib import Path
from custom_components.hearthcam.engine.clip_info import ClipFile
from custom_components.hearthcam.engine.clips import ClipStore
from custom_components.hearthcam.engine.worker import CameraWorker
from tests.engine.workerkit import settings
from tests.waiting import wait_until

def packets():
    source = worker.stats.source
    return 0 if source is None else source.packets

store = ClipStore(Path(sys.argv[2])); store.load()
worker = CameraWorker(settings(sys.argv[1]), store)
worker.start()
wait_until(lambda: worker.stats.recording, "recording to start")
recording_from = packets()
wait_until(lambda: packets() >= recording_from + 35, "2 s of recording")
print("RECORDING" if worker.stats.recording else "NOT RECORDING", flush=True)
threading.Event().wait()
"""


def test_process_killed_mid_clip_is_recovered_at_next_start(
    http_stream_server: HttpStreamServer, make_footage: MakeFootage, tmp_path: Path
) -> None:
    """SIGKILL while recording leaves a .part that the next start turns into a playable clip."""
    scene = replace(SMALL, duration_s=20.0, seed=17, objects=(walker(1.0, 20.0),))
    url = http_stream_server.url(f"ts/{make_footage(scene, '.ts').name}")
    with subprocess.Popen(
        [sys.executable, "-c", _KILLED_WORKER, url, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    ) as child:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "RECORDING"
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert list(tmp_path.rglob("*.mp4.part"))

    store = ClipStore(tmp_path)
    report = store.load()
    assert len(report.recovery.recovered) == 1
    clip = store.get(report.recovery.recovered[0])
    assert _frames(store.resolve(clip.clip_id)) >= 15
    assert not list(tmp_path.rglob("*.mp4.part"))


def test_detection_sub_stream(
    http_stream_server: HttpStreamServer, make_footage: MakeFootage, tmp_path: Path
) -> None:
    """With a sub-stream, detection reads it on its own thread; clips come from the main stream."""
    objects = (walker(2.0, 4.0),)
    main = Scene(width=640, height=360, fps=15, duration_s=9.0, seed=18, objects=objects)
    sub = Scene(width=320, height=180, fps=15, duration_s=9.0, seed=18, objects=objects)
    main_url = http_stream_server.url(f"ts/{make_footage(main, '.ts').name}")
    sub_url = http_stream_server.url(f"ts/{make_footage(sub, '.ts').name}")
    events = Events()
    with running_worker(settings(main_url, detect_stream_url=sub_url), tmp_path, events) as w:
        events.wait(lambda: bool(events.clips), "a clip")
        snapshot = w.snapshot_jpeg()
    assert "hearthcam-testcam-detect" in events.threads
    assert (events.clips[0].width, events.clips[0].height) == (640, 360)
    assert snapshot is not None
    with av.open(io.BytesIO(snapshot)) as still:
        assert still.streams.video[0].codec_context.width == 320


def test_credentials_never_reach_logs_or_errors(
    http_stream_server: HttpStreamServer,
    make_footage: MakeFootage,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A wrong password is reported as unauthorized, without the password anywhere."""
    scene = replace(SMALL, duration_s=4.0, seed=19)
    name = make_footage(scene, ".ts").name
    url = http_stream_server.url(f"auth/ts/{name}", credentials=("user", "hunter2-wrong"))
    caplog.set_level("DEBUG")
    events = Events()
    worker_settings = settings(url)
    with running_worker(worker_settings, tmp_path, events):
        events.wait(lambda: bool(events.connection), "the failure")
    up, error = events.connection[0]
    assert not up
    assert error is not None
    assert error.kind is StreamErrorKind.UNAUTHORIZED
    assert "hunter2" not in str(error)
    assert "hunter2" not in repr(worker_settings)
    assert "hunter2" not in caplog.text
