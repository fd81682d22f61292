"""The recorder on real footage: pre-roll, post-roll, splits, codecs, failures."""

from collections.abc import Callable
import contextlib
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
import os
from pathlib import Path
import signal
import subprocess
import sys
from typing import Any

import av
from av.packet import Packet
import numpy as np
import pytest

from custom_components.hearthcam.engine.errors import (
    StorageError,
    StorageFullError,
    StreamError,
    StreamErrorKind,
)
from custom_components.hearthcam.engine.model import ClipTrigger, RecordedClip
from custom_components.hearthcam.engine.packet_ring import PacketRing
from custom_components.hearthcam.engine.recorder import MIB, Recorder, RecorderOptions
from devkit.footage import MovingObject, Scene
from devkit.http_server import HttpStreamServer
from devkit.live555 import Live555Server
from devkit.pytest_plugin import MakeFootage
from tests.engine.recorder_helpers import (
    BASE,
    Sink,
    SourceVideo,
    StreamClock,
    decode_jpeg,
    demux,
    encode_scene,
    make_recorder,
    packet_time,
    play,
    read_clip,
    recording,
    source_video,
)

_SMALL = Scene(width=320, height=240, fps=15)  # quick to encode, keyframe every second
RED = (200, 40, 40)


def _small(duration_s: float, **changes: Any) -> Scene:
    return replace(_SMALL, duration_s=duration_s, **changes)


def test_motion_clip_starts_at_the_pre_roll_keyframe_and_copies_packets_exactly(
    make_footage: MakeFootage, tmp_path: Path
) -> None:
    """Acceptance: 5 s pre-roll from a keyframe, motion, 1 s post-roll, stream copy."""
    mover = MovingObject(10.0, 14.0, (0.2, 0.5), (0.8, 0.5), color=RED)
    footage = make_footage(_small(14.0, objects=(mover,)))
    sink, clock = Sink(tmp_path), StreamClock()
    with av.open(str(footage)) as container:
        recorder = make_recorder(container, sink, clock, pre_roll_s=5.0, post_roll_s=1.0)
        events = [(10.0, lambda: recorder.motion(True)), (12.0, lambda: recorder.motion(False))]
        play(recorder, demux(container), events, clock)
        assert not recorder.is_recording  # ended by the post-roll, not by close()
        recorder.close()

    assert sink.errors == []
    [clip] = sink.clips
    source = source_video(footage)
    contents = read_clip(clip.part_path)
    # Stream copy: the clip's packets are the source's, byte for byte, in one run.
    first = source.index_of(contents.video[0])
    assert source.data[first : first + len(contents.video)] == contents.video
    first_time = source.times[first]
    last_time = source.times[first + len(contents.video) - 1]
    # It starts at a keyframe at or before 10 - 5 s, within one GOP, and covers the motion.
    assert source.keys[first]
    assert contents.keys[0]
    assert 4.0 < first_time <= 5.0
    assert 12.9 <= last_time < 13.0 + 1e-6  # ends post_roll_s after motion stopped
    assert clip.duration_s == pytest.approx(13.0 - first_time, abs=1.0)
    # The MP4 decodes end to end: one frame per packet.
    assert len(contents.frames) == len(contents.video)
    assert (contents.video_codec, contents.width, contents.height) == ("h264", 320, 240)
    assert clip.trigger is ClipTrigger.MOTION
    assert clip.motion_offset_s == pytest.approx(10.0 - first_time, abs=1e-3)
    assert clip.start == BASE + timedelta(seconds=first_time)  # wall clock of the first frame
    assert (clip.video_codec, clip.width, clip.height, clip.audio_codec) == ("h264", 320, 240, None)
    assert clip.size_bytes == clip.part_path.stat().st_size
    assert clip.part_path.read_bytes().count(b"moof") >= 8  # a fragment per keyframe
    # The thumbnail is a JPEG of the frame at motion onset: the red box is in it.
    assert clip.thumbnail_jpeg is not None
    assert clip.thumbnail_jpeg.startswith(b"\xff\xd8")
    image = decode_jpeg(clip.thumbnail_jpeg).astype(int)
    assert image.shape == (240, 320, 3)
    red = (np.abs(image - RED) < 40).all(axis=2)
    assert red.mean() > 0.02


type Action = Callable[[Recorder], object]


def _record(
    footage: Path, tmp_path: Path, events: list[tuple[float, Action]], **options: Any
) -> tuple[Sink, SourceVideo]:
    """Play footage through a recorder with events; return the sink and the source video."""
    sink, clock = Sink(tmp_path), StreamClock()
    with av.open(str(footage)) as container:
        recorder = make_recorder(container, sink, clock, **options)
        timed = [(time, partial(action, recorder)) for time, action in events]
        play(recorder, demux(container), timed, clock)
        recorder.close()
        recorder.close()  # idempotent
    return sink, source_video(footage)


def _motion(active: bool) -> Action:  # noqa: FBT001 - reads like the call it makes
    return lambda recorder: recorder.motion(active)


def _manual(duration_s: float) -> Action:
    return lambda recorder: recorder.record(duration_s)


def _clip_span(clip_path: Path, footage: Path) -> tuple[float, float]:
    """Source times of a clip's first and last video packet (checking it is an exact copy)."""
    source = source_video(footage)
    video = read_clip(clip_path).video
    first = source.index_of(video[0])
    assert source.data[first : first + len(video)] == video
    return source.times[first], source.times[first + len(video) - 1]


def test_motion_before_the_post_roll_ends_extends_the_clip(
    make_footage: MakeFootage, tmp_path: Path
) -> None:
    """Motion again within post_roll_s continues the clip; later motion makes a new one."""
    footage = make_footage(_small(12.0))
    events = [
        (2.0, _motion(True)),
        (3.0, _motion(False)),  # would end at 4.0 ...
        (3.5, _motion(True)),  # ... but motion is back before then
        (5.0, _motion(False)),  # ends at 6.0
        (9.0, _motion(True)),
        (9.5, _motion(False)),
    ]
    sink, _ = _record(footage, tmp_path, events, pre_roll_s=1.0, post_roll_s=1.0)
    assert sink.errors == []
    first, second = sink.clips
    start, end = _clip_span(first.part_path, footage)
    assert (start, round(end, 2)) == (1.0, 5.93)
    start, end = _clip_span(second.part_path, footage)
    assert (start, round(end, 2)) == (8.0, 10.47)
    assert first.motion_offset_s == pytest.approx(1.0)
    assert second.motion_offset_s == pytest.approx(1.0)


def test_max_length_splits_into_consecutive_clips_without_gap_or_overlap(
    make_footage: MakeFootage, tmp_path: Path
) -> None:
    """Clips reaching max_clip_s end at the next keyframe, and the next clip starts there."""
    footage = make_footage(_small(12.0))
    events = [(2.0, _motion(True)), (10.0, _motion(False))]
    sink, source = _record(
        footage, tmp_path, events, pre_roll_s=1.0, post_roll_s=0.5, max_clip_s=3.0
    )
    assert sink.errors == []
    assert len(sink.clips) == 4  # 1..4, 4..7, 7..10, 10..10.5
    joined: list[bytes] = []
    for clip in sink.clips:
        contents = read_clip(clip.part_path)
        assert contents.keys[0]
        assert len(contents.frames) == len(contents.video)
        assert clip.duration_s <= 3.0 + 1.0
        joined += contents.video
    first = source.index_of(joined[0])
    assert source.times[first] == 1.0
    assert joined == source.data[first : first + len(joined)]  # nothing missing or repeated
    assert source.times[first + len(joined) - 1] == pytest.approx(10.467, abs=0.01)
    notes = [clip.notes for clip in sink.clips]
    assert notes[0] == ("split at max length",)
    assert notes[1] == notes[2] == ("continues the previous clip", "split at max length")
    assert notes[3] == ("continues the previous clip",)
    # Wall-clock starts follow each other exactly; motion is under way from their start.
    for before, after in zip(sink.clips, sink.clips[1:], strict=False):
        assert after.start == before.start + timedelta(seconds=3.0)
        assert after.motion_offset_s == 0.0
    assert sink.clips[0].motion_offset_s == pytest.approx(1.0)


@pytest.mark.parametrize("trigger", [ClipTrigger.MOTION, ClipTrigger.MANUAL])
def test_triggers_before_the_first_keyframe_start_the_clip_at_it(
    make_footage: MakeFootage, tmp_path: Path, trigger: ClipTrigger
) -> None:
    """motion() or record() before any video (just connected) record from the first keyframe."""
    footage = make_footage(_small(6.0))
    sink, clock = Sink(tmp_path), StreamClock()
    with av.open(str(footage)) as container:
        recorder = make_recorder(container, sink, clock, pre_roll_s=3.0, post_roll_s=1.0)
        if trigger is ClipTrigger.MOTION:
            recorder.motion(True)
            events = [(1.4, lambda: recorder.motion(False))]  # ends at 2.4
        else:
            recorder.record(2.4)
            events = []
        assert not recording(recorder)
        assert recorder.clip_start is None
        packets = demux(container)
        play(recorder, [next(packets)], clock=clock)
        assert recording(recorder)
        assert recorder.clip_start == BASE
        play(recorder, packets, events, clock)
        recorder.close()
    [clip] = sink.clips
    assert clip.trigger is trigger
    start, end = _clip_span(clip.part_path, footage)
    assert (start, round(end, 2)) == (0.0, 2.33)
    assert clip.motion_offset_s == (0.0 if trigger is ClipTrigger.MOTION else None)


def test_manual_recording_lasts_its_duration_including_the_pre_roll(
    make_footage: MakeFootage, tmp_path: Path
) -> None:
    """record(4) with 2 s pre-roll gives 2 s before the call and 2 s after."""
    footage = make_footage(_small(10.0))
    events = [(6.0, _manual(4.0))]
    sink, _ = _record(footage, tmp_path, events, pre_roll_s=2.0)
    [clip] = sink.clips
    start, end = _clip_span(clip.part_path, footage)
    assert (start, round(end, 2)) == (4.0, 7.93)
    assert clip.duration_s == pytest.approx(4.0, abs=0.01)
    assert clip.trigger is ClipTrigger.MANUAL
    assert clip.motion_offset_s is None
    assert clip.thumbnail_jpeg is not None


def test_motion_during_a_manual_clip_sets_its_offset_and_thumbnail(
    make_footage: MakeFootage, tmp_path: Path
) -> None:
    """A manual clip in which motion starts reports when, and shows it in the thumbnail."""
    mover = MovingObject(4.0, 6.0, (0.3, 0.5), (0.7, 0.5), color=RED)
    footage = make_footage(_small(8.0, objects=(mover,)))
    events = [(2.0, _manual(6.0)), (4.0, _motion(True)), (4.5, _motion(False))]
    sink, _ = _record(footage, tmp_path, events, pre_roll_s=1.0, post_roll_s=1.0)
    [clip] = sink.clips
    assert clip.trigger is ClipTrigger.MANUAL
    assert clip.motion_offset_s == pytest.approx(3.0)
    start, end = _clip_span(clip.part_path, footage)
    assert (start, round(end, 2)) == (1.0, 6.93)  # 6 s from its start, past the post-roll
    assert clip.thumbnail_jpeg is not None
    image = decode_jpeg(clip.thumbnail_jpeg).astype(int)
    assert (np.abs(image - RED) < 40).all(axis=2).mean() > 0.02  # the frame at 4 s


@pytest.mark.parametrize(
    ("record_at", "duration", "expected_end"),
    [
        (4.0, 1.0, 5.93),  # shorter than the motion clip: it is not cut short
        (5.0, 6.0, 8.93),  # longer: 5 - 2 + 6 = 9, past the post-roll end at 6
    ],
)
def test_manual_recording_extends_but_never_truncates_a_motion_clip(
    make_footage: MakeFootage,
    tmp_path: Path,
    record_at: float,
    duration: float,
    expected_end: float,
) -> None:
    """record() during a motion clip only ever moves its end later."""
    footage = make_footage(_small(10.0))
    events = [
        (3.0, _motion(True)),
        (record_at, _manual(duration)),
        (5.0, _motion(False)),
    ]
    sink, _ = _record(footage, tmp_path, events, pre_roll_s=2.0, post_roll_s=1.0)
    [clip] = sink.clips
    start, end = _clip_span(clip.part_path, footage)
    assert (start, round(end, 2)) == (1.0, expected_end)
    assert clip.trigger is ClipTrigger.MOTION


@pytest.mark.parametrize("suffix", [".mkv", ".ts"])
def test_aac_audio_is_copied_along(make_footage: MakeFootage, tmp_path: Path, suffix: str) -> None:
    """AAC is copied: raw from Matroska, and from MPEG-TS with its ADTS headers stripped."""
    footage = make_footage(_small(6.0, audio=True), suffix)
    events = [(3.0, _motion(True)), (4.0, _motion(False))]
    sink, _ = _record(footage, tmp_path, events, pre_roll_s=1.0, post_roll_s=1.0)
    [clip] = sink.clips
    contents = read_clip(clip.part_path)
    assert clip.audio_codec == contents.audio_codec == "aac"
    # 3 s of 16 kHz audio in 1024-sample frames, all decodable.
    assert contents.audio_frames == pytest.approx(3 * 16000 / 1024, abs=2)
    with av.open(str(footage)) as container:
        source = [bytes(p) for p in container.demux(audio=0) if p.size]
    if suffix == ".mkv":
        first = source.index(contents.audio[0])
        assert source[first : first + len(contents.audio)] == contents.audio
    else:  # each MP4 packet is the source's ADTS packet without its 7-byte header
        bodies = [packet[7:] for packet in source]
        first = bodies.index(contents.audio[0])
        assert bodies[first : first + len(contents.audio)] == contents.audio


def test_audio_that_mp4_cannot_take_is_left_out_with_a_note(
    make_footage: MakeFootage, tmp_path: Path
) -> None:
    """G.711 (common on cameras) is not AAC: the clip has video only and says why."""
    video_only = make_footage(_small(3.0))
    footage = tmp_path / "g711.mov"  # Matroska cannot hold G.711
    with av.open(str(video_only)) as source, av.open(str(footage), "w") as target:
        video = target.add_stream_from_template(source.streams.video[0])
        audio = target.add_stream("pcm_mulaw", rate=8000, layout="mono")
        silence = av.AudioFrame.from_ndarray(
            np.zeros((1, 8000 * 3), np.int16), format="s16", layout="mono"
        )
        silence.sample_rate, silence.pts = 8000, 0
        target.mux(audio.encode(silence) + audio.encode(None))
        for packet in source.demux(video=0):
            if packet.dts is not None:
                packet.stream = video
                target.mux(packet)
    sink, _ = _record(footage, tmp_path, [(1.0, _motion(True))], pre_roll_s=1.0)
    [clip] = sink.clips
    assert clip.audio_codec is None
    assert "audio not recorded: pcm_mulaw is not AAC" in clip.notes
    contents = read_clip(clip.part_path)
    assert contents.audio_codec is None
    assert len(contents.frames) == 45


def test_hevc_is_copied_and_tagged_hvc1(tmp_path: Path) -> None:
    """HEVC (with B-frames, so Matroska gives no dts at first) is copied, tagged for browsers."""
    footage = encode_scene(_small(3.0), tmp_path / "hevc.mkv", "libx265")
    # Motion right away: the clip starts at the file's first packet, which has no dts.
    with av.open(str(footage)) as container:
        assert next(container.demux(video=0)).dts is None
    sink, source = _record(footage, tmp_path, [(0.0, _motion(True))], pre_roll_s=1.0)
    [clip] = sink.clips
    contents = read_clip(clip.part_path)
    assert clip.video_codec == contents.video_codec == "hevc"
    assert contents.codec_tag == "hvc1"
    assert contents.video == source.data  # every packet, byte for byte
    assert len(contents.frames) == 45
    assert contents.frames == sorted(set(contents.frames))  # 45 distinct presentation times
    assert clip.thumbnail_jpeg is not None


def test_h264_with_b_frames_and_missing_dts_records_every_frame(tmp_path: Path) -> None:
    """Matroska leaves dts unset on the first B-frame packets; the clip still has every frame."""
    scene = _small(3.0)
    footage = encode_scene(scene, tmp_path / "bframes.mkv", "libx264", params="bframes=2")
    sink, source = _record(footage, tmp_path, [(0.0, _motion(True))], pre_roll_s=1.0)
    [clip] = sink.clips
    contents = read_clip(clip.part_path)
    assert contents.video == source.data
    assert len(contents.frames) == 45
    # Frames are shown at the source's times (1/15 s apart), not shuffled by the dts repair.
    steps = np.diff(contents.frames)
    assert steps == pytest.approx(np.full(44, 1 / 15), abs=2e-3)


def test_broken_timestamps_are_repaired(make_footage: MakeFootage, tmp_path: Path) -> None:
    """Repeated, backward and missing dts (as some cameras send) still make a playable clip."""
    footage = make_footage(_small(4.0))
    sink, clock = Sink(tmp_path), StreamClock()
    with av.open(str(footage)) as container:
        recorder = make_recorder(container, sink, clock, pre_roll_s=1.0)
        recorder.motion(True)
        packets = [p for p in container.demux(video=0) if p.size]
        for index, packet in enumerate(packets):
            if index % 7 == 3:
                packet.dts = packets[index - 1].dts  # repeated
            elif index % 7 == 5 and packet.dts is not None:
                packet.dts -= 200  # 0.2 s backwards
            elif index % 7 == 6:
                packet.pts = packet.dts = None  # no time at all
        play(recorder, packets, clock=clock)
        recorder.close()
    [clip] = sink.clips
    contents = read_clip(clip.part_path)
    assert len(contents.video) == len(contents.frames) == 60
    assert contents.video == [bytes(p) for p in packets]
    assert "25 packet timestamps repaired" in clip.notes


def test_a_clip_still_finishes_after_its_source_closed(
    make_footage: MakeFootage, tmp_path: Path
) -> None:
    """close() after the input container is gone (a lost connection) still delivers the clip."""
    footage = make_footage(_small(3.0))
    sink = Sink(tmp_path)
    with av.open(str(footage)) as container:
        recorder = make_recorder(container, sink, pre_roll_s=1.0)
        play(recorder, demux(container), [(1.0, lambda: recorder.motion(True))])
    recorder.close()
    [clip] = sink.clips
    assert clip.thumbnail_jpeg is not None
    assert len(read_clip(clip.part_path).frames) == 45


def test_unsupported_video_codec_is_refused_up_front(tmp_path: Path) -> None:
    """MPEG-4 part 2 can neither be copied for browsers nor is it re-encoded: a clear error."""
    footage = encode_scene(_small(1.0), tmp_path / "m4v.mkv", "mpeg4")
    with av.open(str(footage)) as container, pytest.raises(StreamError) as caught:
        make_recorder(container, Sink(tmp_path))
    assert caught.value.kind is StreamErrorKind.UNSUPPORTED_CODEC
    assert "mpeg4" in caught.value.detail


def _check_reencoded(clip: RecordedClip, frames: int) -> None:
    contents = read_clip(clip.part_path)
    assert clip.video_codec == contents.video_codec == "h264"
    assert "re-encoded from mjpeg to h264" in clip.notes
    assert (contents.width, contents.height) == (320, 240)
    assert len(contents.frames) == frames
    assert contents.keys[0]
    assert clip.thumbnail_jpeg is not None


def test_mjpeg_is_reencoded_to_h264(tmp_path: Path) -> None:
    """MJPEG, which browsers cannot play in MP4, becomes H.264 with every frame kept."""
    scene = _small(4.0)
    footage = encode_scene(scene, tmp_path / "mjpeg.mkv", "mjpeg", pix_fmt="yuvj420p")
    events = [(2.0, _motion(True)), (3.0, _motion(False))]
    sink, _ = _record(footage, tmp_path, events, pre_roll_s=1.0, post_roll_s=0.5)
    [clip] = sink.clips
    _check_reencoded(clip, frames=38)  # 1.0 s to 3.467 s, at the source's 1/15 s steps
    assert clip.duration_s == pytest.approx(2.533, abs=0.01)
    assert read_clip(clip.part_path).frame_span_s == pytest.approx(37 / 15, abs=0.01)


def test_a_damaged_mjpeg_frame_is_left_out(tmp_path: Path) -> None:
    """A JPEG that does not decode costs that frame only, and the clip says so."""
    scene = _small(2.0)
    footage = encode_scene(scene, tmp_path / "mjpeg.mkv", "mjpeg", pix_fmt="yuvj420p")
    sink = Sink(tmp_path)
    with av.open(str(footage)) as container:
        recorder = make_recorder(container, sink, pre_roll_s=1.0)
        recorder.motion(True)
        for index, packet in enumerate(container.demux(video=0)):
            if index == 10:
                damaged: Packet[Any] = av.Packet(bytes(packet)[:40])  # a JPEG cut off in its header
                damaged.pts, damaged.dts, damaged.time_base = (
                    packet.pts,
                    packet.dts,
                    packet.time_base,
                )
                damaged.is_keyframe = True
                damaged.stream = packet.stream
                packet = damaged  # noqa: PLW2901 - the camera sent this instead
            recorder.feed(packet)
        recorder.close()
    [clip] = sink.clips
    assert "1 damaged frames left out" in clip.notes
    assert len(read_clip(clip.part_path).frames) == 29


def test_mjpeg_from_an_http_camera_is_reencoded(
    make_footage: MakeFootage, http_stream_server: HttpStreamServer, tmp_path: Path
) -> None:
    """A multipart MJPEG camera stream (no container timing of its own) records to H.264."""
    footage = make_footage(_small(2.0))
    url = http_stream_server.url(f"mjpeg/{footage.name}?loop=0")
    sink = Sink(tmp_path)
    with av.open(url, timeout=10) as container:
        recorder = make_recorder(container, sink, pre_roll_s=1.0)
        packets = container.demux(video=0)
        play(recorder, packets, [(0.0, lambda: recorder.motion(True))])
        recorder.close()
    [clip] = sink.clips
    _check_reencoded(clip, frames=30)


@pytest.mark.parametrize("restart", ["announced", "seen in the times"])
def test_discontinuity_finishes_a_playable_clip_and_motion_records_on(
    make_footage: MakeFootage, tmp_path: Path, restart: str
) -> None:
    """A reconnect (timestamps restart) ends the clip; it is announced, or seen in the times."""
    footage = make_footage(_small(4.0))
    sink, clock = Sink(tmp_path), StreamClock()
    with av.open(str(footage)) as first, av.open(str(footage)) as second:
        recorder = make_recorder(first, sink, clock, pre_roll_s=1.0)
        play(recorder, demux(first), [(2.0, lambda: recorder.motion(True))], clock)
        assert recorder.is_recording
        if restart == "announced":
            recorder.discontinuity(second.streams.video[0], None)
            assert not recording(recorder)
            assert len(recorder.ring) == 0
        # The "reconnected" stream starts again at 0; motion goes on through it.
        play(recorder, demux(second), [(1.5, lambda: recorder.motion(False))])
        recorder.close()
    assert sink.errors == []
    before, after = sink.clips
    reason = "ended by a stream discontinuity" if restart == "announced" else "clock jumped"
    assert any(reason in note for note in before.notes)
    assert len(read_clip(before.part_path).frames) == 45  # 1.0 s to the end at 4.0 s
    assert len(read_clip(after.part_path).frames) == 60  # all of the new stream, 0 to 4 s
    assert after.motion_offset_s == 0.0  # motion was going on when it began


def _packets(path: Path) -> list[Packet[Any]]:
    with av.open(str(path)) as container:
        return [p for p in container.demux(video=0) if p.size]


def test_ring_keeps_pre_roll_from_a_keyframe(make_footage: MakeFootage) -> None:
    """The ring starts at the newest keyframe at or before latest - pre_roll_s."""
    footage = make_footage(_small(6.0))
    ring = PacketRing(pre_roll_s=2.5, max_bytes=64 * MIB)
    assert ring.snapshot() == []
    # In a list, so the type checker does not carry "None" into the loop that fills the ring.
    assert [ring.start_time] == [None]
    for packet in _packets(footage):
        ring.add(packet, packet_time(packet))
        latest = packet_time(packet) or 0.0
        kept = ring.snapshot()
        assert kept[0].is_keyframe
        start = ring.start_time
        assert start is not None
        assert latest - 3.5 < start <= max(0.0, latest - 2.5)
        assert len(ring) == len(kept)
        assert ring.nbytes == sum(p.size for p in kept)
    assert ring.start_time == 3.0  # latest 5.933: keyframe at or before 3.433
    assert packet_time(ring.snapshot(since=4.5)[0]) == 4.0
    assert packet_time(ring.snapshot(since=0.0)[0]) == 3.0  # nothing earlier is kept
    # The clock starting again (a reconnect) drops the old timeline at the first keyframe.
    first = _packets(footage)[0]
    ring.add(first, packet_time(first))
    assert ring.snapshot() == [first]
    ring.clear()
    assert (len(ring), ring.nbytes) == (0, 0)
    assert ring.start_time is None


def test_ring_memory_cap_drops_whole_gops(make_footage: MakeFootage) -> None:
    """Over max_bytes the oldest GOPs go; a GOP larger than the cap is dropped whole."""
    footage = make_footage(_small(8.0, audio=True))
    with av.open(str(footage)) as container:
        video = container.streams.video[0].index
        packets = [p for p in container.demux(video=0, audio=0) if p.size]
    cap = 30_000  # about 1.5 GOPs of this footage
    ring = PacketRing(pre_roll_s=60.0, max_bytes=cap)
    for packet in packets:
        ring.add(packet, packet_time(packet) if packet.stream_index == video else None)
        assert ring.nbytes <= cap
        kept = ring.snapshot()
        assert not kept or (kept[0].stream_index == video and kept[0].is_keyframe)
    assert 0 < ring.nbytes <= cap
    kept_video = [p for p in ring.snapshot() if p.stream_index == video]
    assert len(kept_video) in {15, 30}  # whole GOPs only
    tiny = PacketRing(pre_roll_s=60.0, max_bytes=1000)  # less than one keyframe
    for packet in packets:
        tiny.add(packet, packet_time(packet) if packet.stream_index == video else None)
        assert (len(tiny), tiny.nbytes) == (0, 0)
    tiny.clear()


def test_rtsp_camera_clip_end_to_end(
    make_footage: MakeFootage, rtsp_server: Live555Server, tmp_path: Path
) -> None:
    """H.264 demuxed by PyAV from live555 over RTSP/TCP records a playable clip."""
    footage = make_footage(_small(6.0), ".264")
    sink = Sink(tmp_path)
    options = {"rtsp_transport": "tcp"}
    with av.open(rtsp_server.url(footage.name), options=options, timeout=10) as container:
        recorder = make_recorder(container, sink, pre_roll_s=1.0, post_roll_s=0.5)
        events = [(2.0, lambda: recorder.motion(True)), (3.0, lambda: recorder.motion(False))]
        packets = (p for p in container.demux(video=0) if not sink.clips)
        play(recorder, packets, events)
        recorder.close()
    assert sink.errors == []
    [clip] = sink.clips
    contents = read_clip(clip.part_path)
    assert clip.video_codec == contents.video_codec == "h264"
    assert contents.keys[0]
    # RTP times are not exact multiples of 1/15 s (89999 for 1 s at 90 kHz): a frame either way.
    assert len(contents.frames) == len(contents.video)
    assert abs(len(contents.frames) - 2.5 * 15) <= 2
    assert clip.duration_s == pytest.approx(2.5, abs=0.15)
    assert clip.motion_offset_s == pytest.approx(1.0, abs=0.1)
    assert clip.thumbnail_jpeg is not None


def test_options_are_validated() -> None:
    """Impossible settings are refused when made, not when recording."""
    for bad in (
        {"pre_roll_s": -1.0},
        {"post_roll_s": float("nan")},
        {"max_clip_s": 4.0, "pre_roll_s": 5.0},
        {"max_clip_s": float("inf")},
        {"max_buffer_bytes": 0},
    ):
        with pytest.raises(ValueError, match="must be"):
            RecorderOptions(**bad)
    assert RecorderOptions().max_buffer_bytes == 64 * MIB


def test_record_rejects_a_non_positive_duration(make_footage: MakeFootage, tmp_path: Path) -> None:
    """record(0) is a caller's mistake."""
    footage = make_footage(_small(1.0))
    with av.open(str(footage)) as container:
        recorder = make_recorder(container, Sink(tmp_path))
        with pytest.raises(ValueError, match="positive"):
            recorder.record(0.0)
        recorder.close()


_CRASH_CHILD = """
import sys, time
from pathlib import Path
import av
from custom_components.hearthcam.engine.recorder import Recorder, RecorderOptions

footage, part, stop_s = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])
container = av.open(footage)
recorder = Recorder(
    container.streams.video[0], None, RecorderOptions(pre_roll_s=1.0),
    allocate=lambda start: part, on_clip=print, on_error=print,
)
recorder.motion(True)
for packet in container.demux(video=0):
    recorder.feed(packet)
    if packet.pts is not None and packet.pts * packet.time_base >= stop_s:
        break
print("recording", flush=True)
time.sleep(60)
"""


def _decodable_frames(path: Path) -> int:
    """Frames PyAV decodes from a file before it hits anything broken."""
    count = 0
    with av.open(str(path)) as container, contextlib.suppress(av.FFmpegError):
        for _ in container.decode(video=0):
            count += 1
    return count


def test_a_killed_recorder_leaves_a_part_file_that_plays_to_its_last_fragment(
    make_footage: MakeFootage, tmp_path: Path
) -> None:
    """SIGKILL mid-clip: the fragmented .part decodes up to its last complete fragment."""
    footage = make_footage(_small(10.0))
    part = tmp_path / "crash.mp4.part"
    repo = Path(__file__).resolve().parents[2]
    child = subprocess.Popen(
        [sys.executable, "-c", _CRASH_CHILD, str(footage), str(part), "8.0"],
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "recording"
    finally:
        child.kill()  # SIGKILL: no close(), no trailer
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    assert b"mfra" not in part.read_bytes()  # never finished
    # Fed 0 s to the keyframe at 8 s: every fragment before it is on disk and decodes.
    assert _decodable_frames(part) == 8 * 15


@pytest.fixture
def small_disk(tmpfs: Callable[[str], Path]) -> Path:
    """A 1 MiB tmpfs."""
    return tmpfs("1m")


def test_disk_full_mid_clip_keeps_what_plays_and_recording_resumes(
    make_footage: MakeFootage, small_disk: Path
) -> None:
    """ENOSPC: StorageFullError, what is whole is kept playable, recording resumes later."""
    footage = make_footage(_small(20.0))
    filler = small_disk / "filler"
    filler.write_bytes(bytes(1024 * 1024 - 150 * 1024))  # leaves ~150 KiB: about 7 s
    sink, clock = Sink(small_disk), StreamClock()
    with av.open(str(footage)) as container:
        recorder = make_recorder(container, sink, clock, pre_roll_s=1.0, post_roll_s=1.0)
        events = [
            (2.0, lambda: recorder.motion(True)),
            (12.0, lambda: recorder.motion(False)),
            (14.0, filler.unlink),  # space comes back
            (15.0, lambda: recorder.motion(True)),
            (17.0, lambda: recorder.motion(False)),
        ]
        play(recorder, demux(container), events, clock)  # never raises
        recorder.close()

    [error] = sink.errors
    assert isinstance(error, StorageFullError)
    assert "no space left" in str(error)
    cut, later = sink.clips
    assert cut.cut_short
    assert any(note.startswith("cut short: no space left") for note in cut.notes)
    # What was kept is whole fragments only: every packet decodes, and the duration is true.
    contents = read_clip(cut.part_path)
    assert len(contents.frames) == len(contents.video) >= 3 * 15
    assert cut.duration_s == pytest.approx(contents.frame_span_s + 1 / 15, abs=1e-3)
    assert cut.size_bytes == cut.part_path.stat().st_size
    start, _ = _clip_span(cut.part_path, footage)
    assert start == 1.0
    # Recording resumed: the second clip is complete (14 s to 18 s).
    start, end = _clip_span(later.part_path, footage)
    assert (start, round(end, 2)) == (14.0, 17.93)
    assert not later.cut_short
    assert not any("cut short" in note for note in later.notes)
    # Nothing else was left behind.
    assert sorted(small_disk.iterdir()) == sorted([cut.part_path, later.part_path])
    assert sink.abandoned == []


def test_disk_full_during_long_motion_retries_later(
    make_footage: MakeFootage, small_disk: Path
) -> None:
    """With motion going on, recording tries again on its own some seconds after a failure."""
    footage = make_footage(_small(20.0))
    filler = small_disk / "filler"
    filler.write_bytes(bytes(1024 * 1024 - 100 * 1024))
    sink, clock = Sink(small_disk), StreamClock()
    with av.open(str(footage)) as container:
        recorder = make_recorder(container, sink, clock, pre_roll_s=1.0)
        events = [(2.0, lambda: recorder.motion(True)), (10.0, filler.unlink)]
        play(recorder, demux(container), events, clock)
        assert recorder.is_recording
        recorder.close()
    assert [type(error) for error in sink.errors] == [StorageFullError]
    cut, resumed = sink.clips
    _, cut_end = _clip_span(cut.part_path, footage)
    start, end = _clip_span(resumed.part_path, footage)
    # Not a file per keyframe while the disk is full: one retry, ten seconds on.
    assert cut_end + 8.0 < start < cut_end + 13.0
    assert round(end, 2) == 19.93
    assert resumed.motion_offset_s == 0.0


def test_disk_full_before_a_whole_fragment_leaves_nothing(
    make_footage: MakeFootage, small_disk: Path
) -> None:
    """A clip that fails before any fragment is complete is deleted and given back."""
    footage = make_footage(_small(4.0))
    filler = small_disk / "filler"
    filler.write_bytes(bytes(1024 * 1024 - 8 * 1024))  # less than one fragment
    sink = Sink(small_disk)
    with av.open(str(footage)) as container:
        recorder = make_recorder(container, sink, pre_roll_s=1.0)
        play(recorder, demux(container), [(2.0, lambda: recorder.motion(True))])
        assert not recorder.is_recording
        recorder.close()
    assert sink.clips == []
    assert [type(error) for error in sink.errors] == [StorageFullError]
    assert list(small_disk.iterdir()) == [filler]
    assert sink.abandoned == sink.allocated


def test_read_only_disk_reports_an_error_and_leaves_nothing(
    make_footage: MakeFootage, small_disk: Path
) -> None:
    """EROFS when the clip file is created: a StorageError, no file, feed() goes on."""
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    footage = make_footage(_small(4.0))
    sink = Sink(small_disk)
    with av.open(str(footage)) as container:
        recorder = make_recorder(container, sink, pre_roll_s=1.0)
        play(recorder, demux(container), [(1.0, lambda: recorder.motion(True))])
        recorder.close()
    assert sink.clips == []
    [error] = sink.errors
    assert type(error) is StorageError
    assert "Read-only file system" in str(error)
    assert list(small_disk.iterdir()) == []
    assert sink.abandoned == sink.allocated  # the store may release the reservation


def test_store_refusals_are_reported_and_recording_retries(
    make_footage: MakeFootage, tmp_path: Path
) -> None:
    """allocate() and on_clip() may raise StorageError (the store's own free-space minimum)."""
    footage = make_footage(_small(6.0))
    sink = Sink(tmp_path)
    refusals = [StorageFullError("below the minimum free space")]
    refusal = "cannot rename"

    def allocate(start: datetime) -> Path:
        if refusals:
            raise refusals.pop()
        return sink.allocate(start)

    def on_clip(clip: RecordedClip) -> None:
        sink.on_clip(clip)
        raise StorageError(refusal)

    with av.open(str(footage)) as container:
        recorder = Recorder(
            container.streams.video[0],
            None,
            RecorderOptions(pre_roll_s=1.0, post_roll_s=0.5),
            allocate=allocate,
            on_clip=on_clip,
            on_error=sink.on_error,
        )
        events = [
            (1.0, lambda: recorder.motion(True)),  # refused by the store
            (2.0, lambda: recorder.motion(False)),
            (3.0, lambda: recorder.motion(True)),  # a new trigger: tried again, recorded
            (4.0, lambda: recorder.motion(False)),
        ]
        play(recorder, demux(container), events)
        recorder.close()
    assert [str(error) for error in sink.errors] == [
        "below the minimum free space",
        "cannot rename",
    ]
    [clip] = sink.clips
    assert len(read_clip(clip.part_path).frames) == round(2.5 * 15)


def test_a_thumbnail_provider_replaces_the_recorders_own_decode(
    make_footage: MakeFootage, tmp_path: Path
) -> None:
    """With a provider (the worker's analysed frame), its JPEG is used and called once a clip."""
    footage = make_footage(_small(6.0))
    calls: list[int] = []

    def provider() -> bytes:
        calls.append(1)
        return b"\xff\xd8provided\xff\xd9"

    sink = Sink(tmp_path)
    with av.open(str(footage)) as container:
        recorder = make_recorder(container, sink, pre_roll_s=1.0, thumbnail=provider)
        play(recorder, demux(container), [(3.0, lambda: recorder.record(2.0))])
        recorder.close()
    [clip] = sink.clips
    assert clip.thumbnail_jpeg == b"\xff\xd8provided\xff\xd9"
    assert calls == [1]
