"""Reconnects are not motion: streams that end and come back over real RTSP (live555).

live555 ends the stream at the end of the file and serves it from the start to the next
connection, so every session here is one reconnect of a camera that kept filming the same yard.
"""

from dataclasses import replace
import gc
from pathlib import Path
import threading
import types

import av

from custom_components.hearthcam.engine.errors import StreamError
from custom_components.hearthcam.engine.frame_decoder import FrameDecoder
from custom_components.hearthcam.engine.probe import probe
from custom_components.hearthcam.engine.recorder import Recorder
from custom_components.hearthcam.engine.source import SourceOptions, StreamSource
from devkit.footage import Scene
from devkit.live555 import Live555Server
from devkit.pytest_plugin import MakeFootage

from .workerkit import Events, running_worker, settings, walker

# Small and short, so each session (file, stall timeout, backoff) takes a few seconds.
SMALL = Scene(width=320, height=240, fps=15, keyframe_interval_s=1.0)
SESSIONS = 3


def _connects(events: Events) -> int:
    return sum(1 for up, _ in events.connection if up)


def test_reconnects_on_a_static_noisy_yard_start_no_motion(
    make_footage: MakeFootage, rtsp_server: Live555Server, tmp_path: Path
) -> None:
    """A probe, then the worker at once, then stream ends and reconnects: never any motion."""
    scene = replace(SMALL, duration_s=5.0, seed=31, noise_sigma=4.0)
    url = rtsp_server.url(make_footage(scene).name)
    # The config flow opens the stream just before the worker's first connection.
    probe(url, SourceOptions(open_timeout_s=5.0))
    events = Events()
    with running_worker(settings(url), tmp_path, events) as worker:
        events.wait(lambda: _connects(events) > SESSIONS, f"{SESSIONS} reconnects")
        stats = worker.stats

    assert stats.reconnects >= SESSIONS
    assert stats.analysed_frames > SESSIONS * 20
    assert events.motion == []
    assert events.clips == []


def test_motion_at_the_end_of_a_session_does_not_record_the_next_one(
    make_footage: MakeFootage, rtsp_server: Live555Server, tmp_path: Path
) -> None:
    """Someone still walking when the stream ends: one clip per session, each showing them.

    The stream that ends takes its motion with it; the next connection starts with a fresh
    background and finds the walker again, instead of recording the empty yard first.
    """
    scene = replace(SMALL, duration_s=6.0, seed=32, noise_sigma=3.0, objects=(walker(2.0, 9.0),))
    url = rtsp_server.url(make_footage(scene).name)
    events = Events()
    with running_worker(settings(url), tmp_path, events):
        events.wait(lambda: _connects(events) > SESSIONS, f"{SESSIONS} reconnects")
        events.wait(lambda: len(events.clips) >= SESSIONS, "a clip per session")

    starts = [result for active, result in events.motion if active]
    # Every session finds the walker (the last one may still be running at the stop).
    assert len(starts) >= SESSIONS
    assert all(result.score > 0 for result in starts)
    # Motion ends with each session, and no clip holds only the background.
    assert [active for active, _ in events.motion][: 2 * SESSIONS] == [True, False] * SESSIONS
    assert len(events.clips) == len(starts)
    assert all(clip.peak_score > 0.002 for clip in events.clips), events.clips
    assert all(clip.motion_offset_s and clip.motion_offset_s > 0 for clip in events.clips)


def test_ended_sessions_leave_no_cyclic_garbage(
    make_footage: MakeFootage, rtsp_server: Live555Server, tmp_path: Path
) -> None:
    """Sessions that end (with a clip each) are freed by reference counting, not the GC.

    Only PyAV's own stream <-> index-entries cycle is left: closed containers with their
    streams and the streams' unopened codec contexts; never a source, recorder or decoder.
    """
    scene = replace(SMALL, duration_s=4.0, seed=33, noise_sigma=3.0, objects=(walker(1.0, 6.0),))
    url = rtsp_server.url(make_footage(scene).name)
    events = Events()
    gc.collect()
    gc.disable()
    try:
        with running_worker(settings(url), tmp_path, events):
            events.wait(lambda: _connects(events) > SESSIONS, f"{SESSIONS} reconnects")
            connects = _connects(events)
            # The integration keeps only an error's detail, not the error.
            events.connection.clear()
            # While the worker runs: what it holds for its whole life is not a session's.
            gc.set_debug(gc.DEBUG_SAVEALL)
            gc.collect()
            garbage = list(gc.garbage)
    finally:
        gc.garbage.clear()
        gc.set_debug(0)
        gc.enable()

    assert connects > SESSIONS
    assert len(events.clips) >= SESSIONS - 1  # the last may still be recording
    kinds = {type(obj) for obj in garbage}
    assert not kinds & {StreamSource, Recorder, FrameDecoder, StreamError, threading.Thread}
    assert not kinds & {types.FrameType, types.TracebackType}
    containers = [obj for obj in garbage if isinstance(obj, av.container.Container)]
    assert all(len(container.streams) == 0 for container in containers), "a container open"
    stream_contexts = {
        id(obj.codec_context) for obj in garbage if isinstance(obj, av.stream.Stream)
    }
    decoders = [
        obj
        for obj in garbage
        if isinstance(obj, av.CodecContext) and id(obj) not in stream_contexts
    ]
    assert decoders == []
