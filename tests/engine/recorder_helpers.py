"""Recorder test helpers: feed real footage, collect what the recorder reports, read clips."""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
import io
from pathlib import Path
from typing import Any

import av
from av.container import InputContainer
from av.packet import Packet
from av.video.frame import VideoFrame
from av.video.stream import VideoStream
import numpy as np

from custom_components.hearthcam.engine.errors import StorageError
from custom_components.hearthcam.engine.model import RecordedClip
from custom_components.hearthcam.engine.recorder import Recorder, RecorderOptions
from devkit.footage import Scene, render_frames

BASE = datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)
type Event = tuple[float, Callable[[], object]]


@dataclass
class Sink:
    """The caller's side of the recorder: allocates paths, collects clips and errors."""

    directory: Path
    clips: list[RecordedClip] = field(default_factory=list)
    errors: list[StorageError] = field(default_factory=list)
    allocated: list[Path] = field(default_factory=list)
    abandoned: list[Path] = field(default_factory=list)

    def allocate(self, start: datetime) -> Path:
        """Return a fresh .mp4.part path in directory."""
        path = self.directory / f"{start:%H%M%S}-{len(self.allocated)}.mp4.part"
        self.allocated.append(path)
        return path

    def on_clip(self, clip: RecordedClip) -> None:
        """Collect a finished clip."""
        self.clips.append(clip)

    def on_error(self, error: StorageError) -> None:
        """Collect a storage error."""
        self.errors.append(error)

    def abandon(self, path: Path) -> None:
        """Collect a part the recorder gave up on."""
        self.abandoned.append(path)


class StreamClock:
    """A wall clock that follows the footage: BASE plus the latest video time fed."""

    def __init__(self) -> None:
        self.now_s = 0.0

    def __call__(self) -> datetime:
        """Return the wall-clock time of the latest packet."""
        return BASE + timedelta(seconds=self.now_s)


def make_recorder(
    container: InputContainer,
    sink: Sink,
    clock: StreamClock | None = None,
    thumbnail: Callable[[], bytes | None] | None = None,
    **options: Any,
) -> Recorder:
    """Recorder on the container's first video (and audio) stream."""
    video = container.streams.video[0]
    audio = container.streams.audio[0] if container.streams.audio else None
    return Recorder(
        video,
        audio,
        RecorderOptions(**options),
        allocate=sink.allocate,
        on_clip=sink.on_clip,
        on_error=sink.on_error,
        abandon=sink.abandon,
        clock=clock or StreamClock(),
        thumbnail=thumbnail,
    )


def packet_time(packet: Packet[Any]) -> float | None:
    """Seconds of a packet's pts (dts if there is none)."""
    ts = packet.pts if packet.pts is not None else packet.dts
    if ts is None or packet.time_base is None:
        return None
    return float(ts * packet.time_base)


def play(
    recorder: Recorder,
    packets: Iterable[Packet[Any]],
    events: Iterable[Event] = (),
    clock: StreamClock | None = None,
    video_index: int = 0,
) -> None:
    """Feed packets; each event runs once the first video packet at or after its time is fed."""
    pending = sorted(events, key=lambda event: event[0])
    for packet in packets:
        time = packet_time(packet) if packet.stream_index == video_index else None
        if clock is not None and time is not None:
            clock.now_s = max(clock.now_s, time)  # the packet "arrives" now
        recorder.feed(packet)
        if time is None:
            continue
        while pending and time >= pending[0][0] - 1e-6:
            pending.pop(0)[1]()


def demux(container: InputContainer) -> Iterator[Packet[Any]]:
    """The container's video and audio packets, in file order."""
    streams = [*container.streams.video[:1], *container.streams.audio[:1]]
    return container.demux(*streams)


@dataclass(frozen=True)
class SourceVideo:
    """The video packets of a file: time, bytes and keyframe flag, in decode order."""

    times: list[float]
    data: list[bytes]
    keys: list[bool]

    def index_of(self, data: bytes) -> int:
        """Position of the packet with exactly these bytes."""
        return self.data.index(data)


def source_video(path: Path) -> SourceVideo:
    """Read every video packet of a file."""
    times, data, keys = [], [], []
    with av.open(str(path)) as container:
        for packet in container.demux(video=0):
            if packet.size:
                times.append(packet_time(packet) or 0.0)
                data.append(bytes(packet))
                keys.append(packet.is_keyframe)
    return SourceVideo(times, data, keys)


def source_audio(path: Path) -> list[bytes]:
    """Every audio packet's bytes."""
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(audio=0) if p.size]


@dataclass(frozen=True)
class ClipContents:
    """What PyAV reads back from a clip file."""

    video_codec: str
    codec_tag: str
    width: int
    height: int
    video: list[bytes]
    keys: list[bool]
    frames: list[float]  # presentation time of every decoded frame
    audio_codec: str | None
    audio: list[bytes]
    audio_frames: int

    @property
    def frame_span_s(self) -> float:
        """From the first to the last decoded frame."""
        return self.frames[-1] - self.frames[0] if self.frames else 0.0


def recording(recorder: Recorder) -> bool:
    """Whether the recorder is writing a clip, read afresh.

    A call rather than the property: type checkers keep what an earlier assert on the
    property narrowed it to, although feeding packets changes it.
    """
    return recorder.is_recording


def read_clip(path: Path) -> ClipContents:
    """Demux and decode a whole clip (video and audio), failing on any decoding error."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        video, keys, frames, audio_data, audio_frames = [], [], [], [], 0
        for packet in container.demux(*container.streams):
            if packet.stream is stream:
                if packet.size:
                    video.append(bytes(packet))
                    keys.append(packet.is_keyframe)
                frames += [float(f.time or 0.0) for f in stream.decode(packet)]
            else:
                if packet.size:
                    audio_data.append(bytes(packet))
                audio_frames += len(packet.decode())
        return ClipContents(
            video_codec=stream.codec_context.name,
            codec_tag=stream.codec_tag,
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            video=video,
            keys=keys,
            frames=sorted(frames),
            audio_codec=audio.codec_context.name if audio else None,
            audio=audio_data,
            audio_frames=audio_frames,
        )


def decode_jpeg(jpeg: bytes) -> np.ndarray:
    """An RGB array of a JPEG."""
    with av.open(io.BytesIO(jpeg), "r") as container:
        frame = next(container.decode(video=0))
    return frame.to_ndarray(format="rgb24")


def encode_scene(
    scene: Scene, path: Path, codec: str, *, pix_fmt: str = "yuv420p", params: str = ""
) -> Path:
    """Encode a devkit scene with another encoder than the devkit's (HEVC, B-frames, MJPEG)."""
    if path.exists():
        return path
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=scene.fps)
        assert isinstance(stream, VideoStream)
        stream.width, stream.height, stream.pix_fmt = scene.width, scene.height, pix_fmt
        stream.gop_size = scene.gop_size
        if codec == "libx265":
            stream.options = {"x265-params": f"log-level=error:keyint={scene.gop_size}:{params}"}
        elif codec == "libx264":
            stream.options = {"x264-params": f"keyint={scene.gop_size}:scenecut=0:{params}"}
        time_base = Fraction(1, scene.fps)
        stream.codec_context.time_base = time_base
        for index, pixels in enumerate(render_frames(scene)):
            frame = VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts, frame.time_base = index, time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path
