"""The analysed stream's decoder: detection frames skip the loop filter, users see full quality.

Every check compares pixels with a plain PyAV decode (loop filter on) of the same real H.264.
"""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import av
from av.packet import Packet
from av.video.frame import VideoFrame
from av.video.stream import VideoStream
import numpy as np

from custom_components.hearthcam.engine.clips import ClipStore
from custom_components.hearthcam.engine.frame_decoder import (
    QUIET_S,
    WATCH_S,
    DecodedFrame,
    DecodeOptions,
    FrameDecoder,
)
from custom_components.hearthcam.engine.imaging import encode_jpeg
from custom_components.hearthcam.engine.worker import CameraWorker, WorkerSettings
from devkit.footage import MovingObject, Scene

type MakeFootage = Callable[..., Path]

BUSY = Scene(
    width=320,
    height=180,
    duration_s=6.0,
    seed=3,
    noise_sigma=4.0,
    keyframe_interval_s=1.0,
    objects=(MovingObject(0.5, 5.5, (0.1, 0.5), (0.9, 0.5), size=(0.2, 0.4)),),
)
# Still for longer than the quiet time, then something crosses.
QUIET_THEN_WALKER = Scene(
    width=320,
    height=180,
    duration_s=QUIET_S + 8.0,
    seed=5,
    keyframe_interval_s=1.0,
    objects=(MovingObject(QUIET_S + 4.2, QUIET_S + 7.5, (0.1, 0.5), (0.9, 0.5), size=(0.2, 0.5)),),
)


def _reference(path: Path) -> dict[int | None, np.ndarray]:
    """Luma of every frame by pts, from a plain PyAV decode with default settings."""
    with av.open(str(path)) as container:
        return {
            frame.pts: frame.to_ndarray(format="gray")
            for frame in container.decode(video=0)
            if frame.pts is not None
        }


def _packets(path: Path) -> tuple[Any, list[Packet[Any]]]:
    container = av.open(str(path))
    video = container.streams.video[0]
    return container, [packet for packet in container.demux(video) if packet.size]


def _luma(frame: VideoFrame) -> np.ndarray:
    return frame.to_ndarray(format="gray")


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_detection_frames_skip_the_filter_and_stills_are_decoded_again_in_full(
    make_footage: MakeFootage,
) -> None:
    """Unwatched frames differ from a normal decode; full_quality() gives its exact pixels."""
    path = make_footage(BUSY)
    reference = _reference(path)
    container, packets = _packets(path)
    with container:
        decoder = FrameDecoder(container.streams.video[0], DecodeOptions())
        decoded = [frame for packet in packets for frame in decoder.decode(packet)]
    assert len(decoded) == len(reference)
    assert not any(frame.filtered for frame in decoded)
    differing = [
        frame
        for frame in decoded
        if not np.array_equal(_luma(frame.frame), reference[frame.frame.pts])
    ]
    assert len(differing) > len(decoded) // 2  # without the filter the pixels do differ
    for frame in decoded[:: len(decoded) // 7]:
        full = frame.full_quality()
        assert full.pts == frame.frame.pts
        np.testing.assert_array_equal(_luma(full), reference[frame.frame.pts])


def test_watching_switches_to_full_quality_at_the_next_keyframe_and_back_later(
    make_footage: MakeFootage,
) -> None:
    """A still request decodes everything in full from the next keyframe, for WATCH_S."""
    path = make_footage(BUSY)
    reference = _reference(path)
    clock = _Clock()
    container, packets = _packets(path)
    with container:
        decoder = FrameDecoder(container.streams.video[0], DecodeOptions(), clock)
        decoded: list[tuple[bool, DecodedFrame]] = []
        for index, packet in enumerate(packets):
            if index == 20:
                decoder.watch()
            if index == 60:
                clock.now += WATCH_S  # nobody asked for a still since
            decoded.extend((packet.is_keyframe, frame) for frame in decoder.decode(packet))
    flags = [frame.filtered for _, frame in decoded]
    # GOPs of 15 frames: watched from the keyframe at 30 until the keyframe at 60.
    assert flags == [False] * 30 + [True] * 30 + [False] * (len(flags) - 60)
    for _, frame in decoded[30:60]:
        np.testing.assert_array_equal(_luma(frame.frame), reference[frame.frame.pts])


def test_low_power_decodes_keyframes_only_while_quiet_and_wakes_on_change(
    make_footage: MakeFootage,
) -> None:
    """Quiet for QUIET_S: keyframes only; a change at a keyframe: every frame again, cleanly."""
    path = make_footage(QUIET_THEN_WALKER)
    reference = _reference(path)
    container, packets = _packets(path)
    with container:
        video = container.streams.video[0]
        decoder = FrameDecoder(video, DecodeOptions(low_power=True))
        times: list[float] = []
        for packet in packets:
            for decoded in decoder.decode(packet):
                frame = decoded.frame
                assert frame.time is not None
                times.append(frame.time)
                # The walker is there from QUIET_S + 4.2 s on: the detector's verdict stands in.
                decoder.note(frame.time >= QUIET_S + 4.2, frame.time)
                np.testing.assert_array_equal(_luma(decoded.full_quality()), reference[frame.pts])
    asleep = [t for t in times if QUIET_S + 1.0 <= t < QUIET_S + 4.2]
    assert asleep == [QUIET_S + 1.0, QUIET_S + 2.0, QUIET_S + 3.0, QUIET_S + 4.0]
    awake = [t for t in times if t >= QUIET_S + 5.0]
    assert len(awake) == round((QUIET_THEN_WALKER.duration_s - QUIET_S - 5.0) * 15)
    assert len([t for t in times if t < QUIET_S]) == QUIET_S * 15  # awake while learning


class _FileSource:
    """A worker PacketSource over a file, as fast as the worker takes packets."""

    def __init__(self, path: Path) -> None:
        self._container = av.open(str(path))

    @property
    def video_stream(self) -> VideoStream:
        return self._container.streams.video[0]

    @property
    def audio_stream(self) -> None:
        return None

    def packets(self) -> Iterator[Packet[Any]]:
        yield from (p for p in self._container.demux(self.video_stream) if p.dts is not None)


def test_a_workers_still_is_the_normally_decoded_frame(
    make_footage: MakeFootage, tmp_path: Path
) -> None:
    """snapshot_jpeg() after an unwatched session encodes exactly what a normal decode shows."""
    path = make_footage(BUSY)
    store = ClipStore(tmp_path)
    store.load()
    worker = CameraWorker(
        WorkerSettings(camera_key="still", stream_url="rtsp://still.invalid/s"), store
    )
    source = _FileSource(path)
    worker.run_session(source)
    snapshot = worker.snapshot_jpeg()
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    # 5 of 15 fps are analysed: frames 0, 3, 6, ...; the still is the last of them.
    last_analysed = frames[(len(frames) - 1) // 3 * 3]
    assert snapshot == encode_jpeg(last_analysed)


def test_keyframe_is_the_gops_first_frame_decoded_in_full(make_footage: MakeFootage) -> None:
    """keyframe() decodes one frame: the GOP's keyframe, exactly as a normal decode shows it."""
    path = make_footage(BUSY)
    reference = _reference(path)
    container, packets = _packets(path)
    with container:
        decoder = FrameDecoder(container.streams.video[0], DecodeOptions())
        decoded = [frame for packet in packets[:25] for frame in decoder.decode(packet)]
    keyframe = decoded[-1].keyframe()
    assert keyframe.pts == packets[15].pts
    np.testing.assert_array_equal(_luma(keyframe), reference[packets[15].pts])
