"""A clip made fit to leave home: trimmed, audio left out, privacy masks blacked out, no metadata.

Stream copy when the pictures need no change (no masks and no trim); otherwise every frame is
decoded, masked and encoded again with libx264, so a trim cuts exactly where it was asked to
rather than at the keyframe before it. Either way only the video (and, if asked, the AAC audio)
packets are written, into a plain MP4 without container or stream metadata tags, and a copied
H.264/HEVC stream loses its SEI messages, where cameras put their own text.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
import math
from pathlib import Path
import threading
from typing import IO, Any, Final

import av
from av.audio.stream import AudioStream
from av.container import InputContainer, OutputContainer
from av.packet import Packet
from av.rational import AVRational
from av.video.frame import PictureType, VideoFrame
from av.video.stream import VideoStream
import numpy as np

from .errors import ExportCancelledError, UnreadableClipError
from .mp4 import COPYABLE_AUDIO_CODECS, COPYABLE_VIDEO_CODECS
from .regions import Polygon, fill_polygons

type TimeBase = Fraction | AVRational

# Bundles are downloaded once and watched by a person: x264's veryfast preset at CRF 20 keeps
# small detail legible at about a third of the CPU of the default preset.
X264_OPTIONS: Final = {"preset": "veryfast", "crf": "20"}
# Plain MP4 with the index first (plays while it downloads); bitexact keeps FFmpeg from writing
# its version into the file.
MP4_OPTIONS: Final = {"movflags": "+faststart", "fflags": "+bitexact"}
# SEI NAL unit types: H.264 type 6; HEVC prefix (39) and suffix (40) SEI.
_SEI_FILTERS: Final = {
    "h264": "filter_units=remove_types=6",
    "hevc": "filter_units=remove_types=39|40",
}
# Limited-range black in YUV: what the masked areas become.
_BLACK_Y: Final = 16
_NEUTRAL_UV: Final = 128


class RedactMethod(StrEnum):
    """How the exported video was made."""

    STREAM_COPY = "stream_copy"
    RE_ENCODED = "re_encoded"


@dataclass(frozen=True, slots=True)
class RedactOptions:
    """What to leave out of an exported clip; offsets are seconds from the clip's first frame."""

    masks: tuple[Polygon, ...] = ()
    include_audio: bool = False
    start_s: float | None = None
    end_s: float | None = None

    def __post_init__(self) -> None:
        """Reject a window that is empty or negative."""
        start = 0.0 if self.start_s is None else self.start_s
        if not math.isfinite(start) or start < 0:
            msg = f"start_s must be a non-negative number, got {self.start_s}"
            raise ValueError(msg)
        if self.end_s is not None and not (math.isfinite(self.end_s) and self.end_s > start):
            msg = f"end_s must be after start_s, got {self.start_s}..{self.end_s}"
            raise ValueError(msg)

    @property
    def trimmed(self) -> bool:
        """Whether only part of the clip is exported."""
        return bool(self.start_s) or self.end_s is not None

    @property
    def method(self) -> RedactMethod:
        """Stream copy unless the pictures change (masks) or the cut must be exact (trim)."""
        return RedactMethod.RE_ENCODED if self.masks or self.trimmed else RedactMethod.STREAM_COPY


@dataclass(frozen=True, slots=True)
class RedactedVideo:
    """What was written: the exported window of the clip and its streams."""

    method: RedactMethod
    video_codec: str
    width: int
    height: int
    start_s: float  # where the export begins, in seconds from the clip's first frame
    duration_s: float
    frames: int
    audio_codec: str | None  # of the export's audio; None without audio
    audio_removed: bool  # the clip had audio that the export leaves out
    damaged_frames: int = 0  # frames that did not decode and are missing from a re-encode


def redact_clip(
    source: IO[bytes] | Path,
    target: Path,
    options: RedactOptions,
    cancel: threading.Event,
) -> RedactedVideo:
    """Write the exported MP4 of the clip in source to target (blocking; checks cancel often).

    Raises ExportCancelledError once cancel is set, UnreadableClipError for a clip that cannot
    be read; target may then hold a partial file, which the caller removes.
    """
    try:
        container = av.open(str(source) if isinstance(source, Path) else source, "r")
    except av.FFmpegError as err:
        msg = f"cannot open the clip: {err}"
        raise UnreadableClipError(msg) from err
    with container:
        if not container.streams.video:
            msg = "the clip has no video"
            raise UnreadableClipError(msg)
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        keep_audio = (
            audio
            if options.include_audio
            and audio is not None
            and audio.codec_context.name in COPYABLE_AUDIO_CODECS
            else None
        )
        try:
            with _output(target) as output:  # closing writes the index: it can fail too
                if options.method is RedactMethod.STREAM_COPY:
                    result = _copy(container, output, video, keep_audio, cancel)
                else:
                    result = _reencode(
                        container, output, video, keep_audio, options=options, cancel=cancel
                    )
        except av.FFmpegError as err:
            msg = f"cannot read the clip: {err}"
            raise UnreadableClipError(msg) from err
    if result.frames == 0:
        msg = "the clip has no video in the chosen window"
        raise UnreadableClipError(msg)
    return RedactedVideo(
        method=options.method,
        video_codec=result.codec,
        width=result.width,
        height=result.height,
        start_s=options.start_s or 0.0,
        duration_s=result.duration_s,
        frames=result.frames,
        audio_codec=keep_audio.codec_context.name if keep_audio is not None else None,
        audio_removed=audio is not None and keep_audio is None,
        damaged_frames=result.damaged,
    )


@dataclass(slots=True)
class _Written:
    """Counters of the video written."""

    codec: str
    width: int
    height: int
    frames: int = 0
    damaged: int = 0
    first_s: float | None = None
    last_s: float = 0.0
    frame_s: float = 0.0  # one frame's duration, for the length of the last frame

    def count(self, seconds: float) -> None:
        """Count a frame shown at seconds (export time)."""
        self.frames += 1
        if self.first_s is None:
            self.first_s = seconds
        self.last_s = max(self.last_s, seconds)

    @property
    def duration_s(self) -> float:
        """From the first frame to the end of the last."""
        return 0.0 if self.first_s is None else self.last_s - self.first_s + self.frame_s


@contextmanager
def _output(target: Path) -> Iterator[OutputContainer]:
    """Open target as a plain MP4 without metadata; closed (trailer written) on the way out."""
    container = av.open(str(target), "w", format="mp4", options=dict(MP4_OPTIONS))
    try:
        yield container
    finally:
        container.close()


def _check(cancel: threading.Event) -> None:
    if cancel.is_set():
        msg = "the export was cancelled"
        raise ExportCancelledError(msg)


def _frame_seconds(video: VideoStream) -> float:
    rate = video.guessed_rate or video.average_rate
    return float(1 / rate) if rate else 0.0


def _packets(
    container: InputContainer, streams: list[Any], cancel: threading.Event
) -> Iterator[Packet[Any]]:
    """Every packet of streams with a timestamp (not the demuxer's flush packets)."""
    for packet in container.demux(*streams):
        _check(cancel)
        if packet.dts is not None:
            yield packet


def _copy(
    container: InputContainer,
    output: OutputContainer,
    video: VideoStream,
    audio: AudioStream | None,
    cancel: threading.Event,
) -> _Written:
    """Stream-copy the whole clip (video without SEI, and audio if kept)."""
    codec = video.codec_context.name
    if codec not in COPYABLE_VIDEO_CODECS:
        msg = f"cannot copy {codec} video into MP4"
        raise UnreadableClipError(msg)
    out_video = output.add_stream_from_template(video)
    if codec == "hevc":
        out_video.codec_tag = "hvc1"  # what browsers play HEVC in MP4 as
    sei = av.bitstream.BitStreamFilterContext(_SEI_FILTERS[codec], video, out_video)
    out_audio = output.add_stream_from_template(audio) if audio is not None else None
    written = _Written(codec, video.width, video.height, frame_s=_frame_seconds(video))
    for packet in _packets(container, [video] if audio is None else [video, audio], cancel):
        if packet.stream.index == video.index:
            for filtered in sei.filter(packet):
                _mux_video(output, out_video, filtered, written)
        else:
            packet.stream = out_audio
            output.mux(packet)
    for filtered in sei.filter(None):
        _mux_video(output, out_video, filtered, written)
    return written


def _mux_video(
    output: OutputContainer, stream: VideoStream, packet: Packet[Any], written: _Written
) -> None:
    packet.stream = stream
    if packet.pts is not None and packet.time_base is not None:
        written.count(float(packet.pts * packet.time_base))
    output.mux(packet)


@dataclass(frozen=True, slots=True)
class _Window:
    """The exported part of the clip, in seconds from its first frame, and where that lies."""

    origin_s: float  # timestamp of the clip's first frame
    start_s: float
    end_s: float

    def contains(self, pts: int, time_base: TimeBase) -> bool:
        """Whether a timestamp lies in the window."""
        return self.start_s <= self.clip_seconds(pts, time_base) < self.end_s

    def clip_seconds(self, pts: int, time_base: TimeBase) -> float:
        """Seconds from the clip's first frame."""
        return pts * float(time_base) - self.origin_s

    def shift(self, time_base: TimeBase) -> int:
        """Return what every timestamp loses: the export starts at zero, video and audio in step."""
        return round((self.origin_s + self.start_s) / float(time_base))


def _reencode(
    container: InputContainer,
    output: OutputContainer,
    video: VideoStream,
    audio: AudioStream | None,
    *,
    options: RedactOptions,
    cancel: threading.Event,
) -> _Written:
    """Decode the window's frames, black out the masks, encode them as H.264 (audio copied)."""
    time_base = video.time_base or Fraction(1, 90000)
    window = _Window(
        origin_s=float(video.start_time * time_base) if video.start_time is not None else 0.0,
        start_s=options.start_s or 0.0,
        end_s=math.inf if options.end_s is None else options.end_s,
    )
    width, height = _even(video.width), _even(video.height)
    rate = video.guessed_rate or video.average_rate or Fraction(15)
    encoder = output.add_stream("libx264", rate=rate, options=dict(X264_OPTIONS))
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
    encoder.codec_context.time_base = time_base
    out_audio = output.add_stream_from_template(audio) if audio is not None else None
    written = _Written("h264", width, height, frame_s=_frame_seconds(video))
    writer = _FrameWriter(output, encoder, _Blackout(options.masks, width, height), window, written)
    decoder = video.codec_context
    for packet in _packets(container, [video] if audio is None else [video, audio], cancel):
        if packet.stream.index == video.index:
            try:
                frames = decoder.decode(packet)
            except av.FFmpegError:
                written.damaged += 1  # a damaged packet: the next keyframe is whole again
                continue
            for frame in frames:
                writer.write(frame)
        elif (
            out_audio is not None
            and packet.pts is not None
            and packet.time_base is not None
            and window.contains(packet.pts, packet.time_base)
        ):
            packet.pts -= window.shift(packet.time_base)
            packet.dts = packet.pts  # AAC frames decode in order
            packet.stream = out_audio
            output.mux(packet)
    _check(cancel)
    for frame in decoder.decode(None):
        writer.write(frame)
    output.mux(encoder.encode(None))
    return written


@dataclass(slots=True)
class _FrameWriter:
    """Encodes the decoded frames that lie in the window, masked."""

    output: OutputContainer
    encoder: VideoStream
    blackout: _Blackout
    window: _Window
    written: _Written

    def write(self, frame: VideoFrame) -> None:
        """Encode one decoded frame if it lies in the window."""
        if frame.pts is None or frame.time_base is None:
            return
        if not self.window.contains(frame.pts, frame.time_base):
            return
        pts, time_base = frame.pts, frame.time_base
        image = self.blackout.apply(frame)  # often the very same frame object
        image.pts, image.time_base = pts - self.window.shift(time_base), time_base
        # The decoder's I/P/B would be taken as orders: x264 chooses its own frame types.
        image.pict_type = PictureType.NONE
        self.output.mux(self.encoder.encode(image))
        self.written.count(self.window.clip_seconds(pts, time_base) - self.window.start_s)


class _Blackout:
    """Paints the privacy masks black on yuv420p frames of one size."""

    def __init__(self, masks: tuple[Polygon, ...], width: int, height: int) -> None:
        self._width, self._height = width, height
        self._luma = fill_polygons(masks, height, width) if masks else None
        # A chroma sample covers 2 x 2 luma pixels: it turns neutral if any of them is masked,
        # so no colour from a masked area bleeds into the picture.
        self._chroma = (
            None
            if self._luma is None
            else self._luma.reshape(height // 2, 2, width // 2, 2).any(axis=(1, 3))
        )

    def apply(self, frame: VideoFrame) -> VideoFrame:
        """Return the frame as yuv420p with the masks painted black in place."""
        image = frame.reformat(width=self._width, height=self._height, format="yuv420p")
        if self._luma is None or self._chroma is None:
            return image
        # The decoder may still refer to this picture (a reference frame): make_writable copies
        # it then, so only the export's copy is painted. Painting the planes where they lie
        # costs about a millisecond a 1080p frame; a round trip through to_ndarray and
        # from_ndarray costs six.
        image.make_writable()
        masks = (self._luma, self._chroma, self._chroma)
        values = (_BLACK_Y, _NEUTRAL_UV, _NEUTRAL_UV)
        for plane, mask, value in zip(image.planes, masks, values, strict=True):
            rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
            np.copyto(rows[:, : plane.width], value, where=mask)
        return image


def _even(value: int) -> int:
    """Return the largest even number not above value (yuv420p needs even sizes), at least 2."""
    return max(2, value // 2 * 2)
