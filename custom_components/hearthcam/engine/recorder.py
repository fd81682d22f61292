"""Pre-roll packet ring and clip recorder: camera packets into fragmented MP4 clips."""

from collections import deque
from collections.abc import Callable
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import errno
from fractions import Fraction
import math
from pathlib import Path
import struct
from typing import Any, Final

import av
from av.audio.stream import AudioStream
from av.codec.context import CodecContext
from av.packet import Packet
from av.rational import AVRational
from av.video.codeccontext import VideoCodecContext
from av.video.reformatter import VideoReformatter
from av.video.stream import VideoStream

from .errors import StorageError, StorageFullError, StreamError, StreamErrorKind
from .imaging import encode_jpeg
from .model import ClipTrigger, RecordedClip
from .mp4 import (
    COPYABLE_AUDIO_CODECS,
    COPYABLE_VIDEO_CODECS,
    FRAGMENTED_MOVFLAGS,
    Mp4Output,
    open_fragmented_mp4,
)

MIB: Final = 1024 * 1024
THUMBNAIL_MAX_WIDTH: Final = 480
# Browsers cannot play MJPEG in MP4, so it is the one input that is re-encoded (to H.264).
TRANSCODED_VIDEO_CODECS: Final = frozenset({"mjpeg"})

# MP4 track timescales are at least 8 kHz (video >= 10 kHz, audio = sample rate), so a
# corrected dts that is 1/8000 s past the previous one stays distinct after the muxer rescales.
_MIN_DTS_STEP_HZ: Final = 8000
# A first packet without dts gets one this many steps before its pts: H.264 and HEVC reorder
# at most 16 frames, so the real dts that follow are always later.
_MISSING_DTS_LEAD: Final = 16
# Larger jumps of the video clock are a new timeline (camera restarted its clock, or a
# reconnect nobody reported), not a stall or B-frame reordering.
_MAX_BACKWARD_JUMP_S: Final = 2.0
_MAX_FORWARD_JUMP_S: Final = 60.0
# After a storage failure, an ongoing recording retries this much stream time later (a new
# trigger retries at once); a full disk must not cost a file and an error per keyframe.
_RETRY_AFTER_ERROR_S: Final = 10.0
_FULL_ERRNOS: Final = frozenset({errno.ENOSPC, errno.EDQUOT})
_FALLBACK_FPS: Final = 15
# Times are ticks times a float time base: a frame exactly at a deadline may come out a hair
# early or late, and must count as at it.
_EPSILON_S: Final = 1e-6
# Errors of writing a clip: OSError for files, FFmpegError for what the muxer reports.
_WRITE_ERRORS: Final = (OSError, av.FFmpegError)
_BOX_HEADER = struct.Struct(">I4s")
_LARGE_BOX_SIZE = struct.Struct(">Q")


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class RecorderOptions:
    """How much to record around motion, and limits."""

    pre_roll_s: float = 5.0
    post_roll_s: float = 5.0
    max_clip_s: float = 300.0
    max_buffer_bytes: int = 64 * MIB  # memory cap of the pre-roll ring

    def __post_init__(self) -> None:
        """Reject negative, infinite or contradictory settings."""
        for name in ("pre_roll_s", "post_roll_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                msg = f"{name} must be a finite number >= 0, got {value!r}"
                raise ValueError(msg)
        if not (math.isfinite(self.max_clip_s) and self.max_clip_s > self.pre_roll_s):
            msg = f"max_clip_s must be finite and longer than pre_roll_s, got {self.max_clip_s!r}"
            raise ValueError(msg)
        if self.max_buffer_bytes < 1:
            msg = f"max_buffer_bytes must be positive, got {self.max_buffer_bytes!r}"
            raise ValueError(msg)


class _Gop:
    """A video keyframe and every packet after it up to the next keyframe."""

    __slots__ = ("nbytes", "packets", "time")

    def __init__(self, time: float) -> None:
        self.time = time
        self.packets: list[Packet[Any]] = []
        self.nbytes = 0


class PacketRing:
    """The last pre_roll_s of demuxed packets, always from a video keyframe, capped in bytes.

    It keeps everything from the newest video keyframe at or before (latest time - pre_roll_s),
    so a clip can start there; when over max_bytes it drops the oldest whole GOPs (even the
    only one, then it waits for the next keyframe). Packets are kept, never modified.
    """

    def __init__(self, pre_roll_s: float, max_bytes: int) -> None:
        self._pre_roll_s = pre_roll_s
        self._max_bytes = max_bytes
        self._gops: deque[_Gop] = deque()
        self._nbytes = 0
        self._count = 0
        self._latest = -math.inf

    def add(self, packet: Packet[Any], video_time: float | None) -> None:
        """Append a packet; video_time is its time in seconds for video, None for audio."""
        gops = self._gops
        if video_time is not None:
            if packet.is_keyframe:
                if video_time < self._latest - _MAX_BACKWARD_JUMP_S:
                    self.clear()  # The clock restarted: the old packets are another timeline.
                gops.append(_Gop(video_time))
            self._latest = max(self._latest, video_time)
        if not gops:
            return  # Nothing before the first keyframe can start a clip.
        size = packet.size
        gop = gops[-1]
        gop.packets.append(packet)
        gop.nbytes += size
        self._nbytes += size
        self._count += 1
        cutoff = self._latest - self._pre_roll_s + _EPSILON_S
        while len(gops) > 1 and gops[1].time <= cutoff:
            self._drop_oldest()
        while self._nbytes > self._max_bytes:
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        gop = self._gops.popleft()
        self._nbytes -= gop.nbytes
        self._count -= len(gop.packets)

    def snapshot(self, since: float | None = None) -> list[Packet[Any]]:
        """Packets from the newest keyframe at or before `since` (default: all kept) on."""
        gops = self._gops
        first = 0
        if since is not None:
            while first + 1 < len(gops) and gops[first + 1].time <= since + _EPSILON_S:
                first += 1
        return [
            packet for index, gop in enumerate(gops) if index >= first for packet in gop.packets
        ]

    def clear(self) -> None:
        """Forget everything (the stream restarted)."""
        self._gops.clear()
        self._nbytes = 0
        self._count = 0
        self._latest = -math.inf

    @property
    def nbytes(self) -> int:
        """Bytes of packet data held."""
        return self._nbytes

    @property
    def start_time(self) -> float | None:
        """Time of the oldest keyframe held, if any."""
        return self._gops[0].time if self._gops else None

    def __len__(self) -> int:
        return self._count


class _Track:
    """Timestamps of one stream in a clip: dts filled in and made strictly increasing."""

    __slots__ = ("last", "origin", "repaired", "step")

    def __init__(self, time_base: Fraction) -> None:
        # The smallest dts increment that survives the muxer's rescaling, in input ticks.
        self.step = max(
            1, math.ceil(time_base.denominator / (time_base.numerator * _MIN_DTS_STEP_HZ))
        )
        self.origin: int | None = None  # input dts that becomes 0 in the clip
        self.last: int | None = None
        self.repaired = 0  # packets whose dts was missing or out of order

    def stamp(self, pts: int | None, dts: int | None) -> tuple[int, int] | None:
        """Return corrected absolute (pts, dts), or None for a packet to leave out."""
        last = self.last
        if dts is None or (last is not None and dts < last + self.step):
            self.repaired += 1
        if dts is None:
            # Demuxers leave dts unset on the first packets of B-frame streams (Matroska) and
            # on packets without any time; put them just after the previous one.
            if last is not None:
                dts = last + self.step
            elif pts is not None:
                dts = pts - _MISSING_DTS_LEAD * self.step
            else:
                return None
        elif last is not None and dts < last + self.step:
            dts = last + self.step  # FFmpeg refuses dts that do not increase.
        if self.origin is None:
            self.origin = dts
        elif dts < self.origin:
            return None  # Audio from before the clip's first video frame.
        if pts is None or pts < dts:
            pts = dts
        self.last = dts
        return pts, dts


def _fraction(value: AVRational | Fraction | None) -> Fraction | None:
    """PyAV's rationals as Fraction; None for unknown (0/0 or missing) ones."""
    if not value or not value.denominator:
        return None
    return Fraction(value.numerator, value.denominator)


@dataclass(slots=True)
class _Input:
    """What the recorder knows about the input streams it records."""

    video: VideoStream
    audio: AudioStream | None  # None when there is no audio or it cannot be recorded
    # Kept apart from the stream, which cannot be read once its container is closed.
    codec: str
    extradata: bytes | None
    video_index: int
    audio_index: int  # -1 when audio is not recorded
    video_time_base: Fraction
    video_tick: float  # seconds per video time base unit
    audio_time_base: Fraction
    frame_rate: Fraction
    frame_s: float  # one frame's duration, for packets that do not say
    transcode: bool
    width: int
    height: int
    notes: tuple[str, ...]
    adts: bool  # AAC with ADTS headers (MPEG-TS): they are stripped for MP4
    audio_config: bytes | None = None  # AudioSpecificConfig of ADTS audio, once learned

    @classmethod
    def of(cls, video: VideoStream, audio: AudioStream | None) -> _Input:
        """Check the streams and derive what recording them needs."""
        codec = video.codec_context.name
        if codec not in COPYABLE_VIDEO_CODECS | TRANSCODED_VIDEO_CODECS:
            detail = f"cannot record {codec} video: only H.264, HEVC and MJPEG are supported"
            raise StreamError(StreamErrorKind.UNSUPPORTED_CODEC, detail)
        video_time_base = _fraction(video.time_base)
        width, height = video.codec_context.width, video.codec_context.height
        if video_time_base is None or not width or not height:
            raise StreamError(StreamErrorKind.INVALID_DATA, "the video has no time base or size")
        transcode = codec in TRANSCODED_VIDEO_CODECS
        notes = [f"re-encoded from {codec} to h264"] if transcode else []
        if transcode:  # libx264 with yuv420p needs even sizes
            width, height = width // 2 * 2, height // 2 * 2
        audio_time_base = None if audio is None else _fraction(audio.time_base)
        if audio is not None and (
            audio.codec_context.name not in COPYABLE_AUDIO_CODECS or audio_time_base is None
        ):
            notes.append(f"audio not recorded: {audio.codec_context.name} is not AAC")
            audio = None
        rate = _fraction(video.guessed_rate) or _fraction(video.average_rate)
        return cls(
            video=video,
            audio=audio,
            codec=codec,
            extradata=video.codec_context.extradata,
            video_index=video.index,
            audio_index=-1 if audio is None else audio.index,
            video_time_base=video_time_base,
            video_tick=float(video_time_base),
            audio_time_base=audio_time_base or Fraction(1),
            frame_rate=rate or Fraction(_FALLBACK_FPS),
            frame_s=1 / float(rate or _FALLBACK_FPS),
            transcode=transcode,
            width=width,
            height=height,
            notes=tuple(notes),
            adts=audio is not None and not audio.codec_context.extradata,
        )


def _share(data: Packet[Any] | memoryview) -> Packet[Any]:
    """Return a new packet over the same bytes (no copy), for its own stream and times."""
    return av.Packet(data)  # type: ignore[arg-type] # PyAV takes any buffer; stubs say bytes


def _adts_header_size(data: memoryview) -> int:
    """Length of the ADTS header at the start of data, or 0 if there is none."""
    if len(data) < 9 or data[0] != 0xFF or data[1] & 0xF0 != 0xF0:  # noqa: PLR2004 - ADTS
        return 0
    return 7 if data[1] & 1 else 9  # 9 when a CRC follows (protection_absent = 0)


def _adts_audio_config(data: memoryview) -> bytes | None:
    """Return the MP4 AudioSpecificConfig that an ADTS header describes (ISO 14496-3)."""
    if not _adts_header_size(data):
        return None
    profile, rate_index = data[2] >> 6, (data[2] >> 2) & 0x0F
    channels = (data[2] & 1) << 2 | data[3] >> 6
    if channels == 0:
        return None  # channel layout in a PCE inside the stream: not handled
    return ((profile + 1) << 11 | rate_index << 7 | channels << 3).to_bytes(2, "big")


def _decoder(source: _Input) -> VideoCodecContext:
    """Return a decoder of the input video of its own (the worker's is busy with detection)."""
    decoder = CodecContext.create(source.codec, "r")
    if not isinstance(decoder, VideoCodecContext):
        msg = f"{source.codec} is not a video codec"
        raise TypeError(msg)
    if source.extradata:
        decoder.extradata = source.extradata
    return decoder


class _Reencoder:
    """MJPEG frames in, H.264 packets out: browsers cannot play MJPEG."""

    def __init__(self, source: _Input, video: VideoStream) -> None:
        self._decoder = _decoder(source)
        self.damaged = 0  # frames left out because they did not decode
        self._reformatter = VideoReformatter()  # keeps its scaler between frames
        self._source = source
        self._video = video

    def encode(self, packet: Packet[Any], pts: int) -> list[Packet[VideoStream]]:
        """Decode a packet and encode its frame at pts (clip time); [] for a damaged one."""
        try:
            frames = self._decoder.decode(packet)
        except av.FFmpegError:
            self.damaged += 1  # A damaged JPEG: leave it out, the next one is whole again.
            return []
        source = self._source
        packets: list[Packet[VideoStream]] = []
        for frame in frames:
            image = self._reformatter.reformat(
                frame, width=source.width, height=source.height, format="yuv420p"
            )
            image.pts, image.time_base = pts, source.video_time_base
            packets += self._video.encode(image)
        return packets

    def flush(self) -> list[Packet[VideoStream]]:
        """Packets the encoder still holds."""
        return self._video.encode(None)


def _open_h264_mp4(path: Path, source: _Input, audio: AudioStream | None) -> Mp4Output:
    """Open a fragmented MP4 with a libx264 video encoder, for re-encoded sources."""
    # flush_packets: each finished fragment goes to the OS at once, for crash safety.
    options = {"movflags": FRAGMENTED_MOVFLAGS, "flush_packets": "1"}
    container = av.open(str(path), mode="w", format="mp4", options=options)
    try:
        rate = source.frame_rate
        # A keyframe a second: each starts a fragment, which is what survives a crash.
        gop = max(1, round(rate))
        # zerolatency: frames come out as they go in, so x264 holds no queue of raw frames.
        x264 = {"preset": "fast", "tune": "zerolatency", "x264-params": f"keyint={gop}"}
        video = container.add_stream("libx264", rate=rate, options=x264)
        video.width, video.height, video.pix_fmt = source.width, source.height, "yuv420p"
        video.codec_context.time_base = source.video_time_base
        audio_out = container.add_stream_from_template(audio) if audio is not None else None
    except BaseException:
        container.close()
        raise
    return Mp4Output(container=container, video=video, audio=audio_out)


def _open_output(path: Path, source: _Input) -> tuple[Mp4Output, _Reencoder | None, list[str]]:
    """Open a clip file for the input streams; also return notes about what is left out."""
    audio, notes = source.audio, []
    if audio is not None and source.adts and source.audio_config is None:
        notes.append("audio not recorded: its format was not known yet")
        audio = None
    if not source.transcode:
        output, reencoder = open_fragmented_mp4(path, source.video, audio), None
    else:
        output = _open_h264_mp4(path, source, audio)
        reencoder = _Reencoder(source, output.video)
    if output.audio is not None and source.adts:
        # ADTS headers are stripped per packet; MP4 wants their content once, as extradata.
        output.audio.codec_context.extradata = source.audio_config
    return output, reencoder, notes


class _Clip:
    """One clip being written: its file, timestamps, and what its RecordedClip will say."""

    def __init__(
        self,
        path: Path,
        opened: tuple[Mp4Output, _Reencoder | None, list[str]],
        *,
        source: _Input,
        trigger: ClipTrigger,
        first_time: float,
        start: datetime,
        onset: float | None,
    ) -> None:
        self.path = path
        self.output, self._reencoder, notes = opened
        self.source = source
        self.trigger = trigger
        self.first_time = first_time  # stream time of the first video packet
        self.end_time = first_time
        self.start = start
        self.onset = onset
        self.notes = [*source.notes, *notes]
        self.video = _Track(source.video_time_base)
        self.audio = _Track(source.audio_time_base)
        self._adts = self.output.audio is not None and source.adts
        self.fragment_times: list[float] = []  # each output keyframe starts an MP4 fragment
        self.thumbnail_packet: Packet[Any] | None = None
        self._thumbnail_time = first_time if onset is None else onset
        self._thumbnail_found = False

    def mark_motion(self, onset: float) -> None:
        """Motion began during this clip: the thumbnail moves to it."""
        if self.onset is None:
            self.onset = self._thumbnail_time = onset
            self._thumbnail_found = False

    def write_video(self, packet: Packet[Any]) -> None:
        """Write a video packet (may raise OSError or av.FFmpegError)."""
        track = self.video
        stamped = track.stamp(packet.pts, packet.dts)
        if stamped is None:
            return
        pts, dts = stamped
        origin = track.origin or 0
        tick = self.source.video_tick
        time = pts * tick
        duration = packet.duration
        self.end_time = max(
            self.end_time, time + (duration * tick if duration else self.source.frame_s)
        )
        keyframe = packet.is_keyframe
        if keyframe and not self._thumbnail_found:
            # The first keyframe at or after motion onset; until there is one, the latest.
            self.thumbnail_packet = packet
            self._thumbnail_found = time >= self._thumbnail_time
        if self._reencoder is not None:
            for out in self._reencoder.encode(packet, pts - origin):
                self._mux_encoded(out)
            return
        if keyframe:
            self.fragment_times.append(time)
        # A new packet sharing the data: the ring's packet keeps its own stream and times.
        out = _share(packet)
        out.pts, out.dts, out.duration = pts - origin, dts - origin, duration
        out.is_keyframe = keyframe
        out.time_base = self.source.video_time_base
        out.stream = self.output.video
        self.output.container.mux_one(out)

    def _mux_encoded(self, packet: Packet[VideoStream]) -> None:
        if packet.is_keyframe and packet.pts is not None:
            self.fragment_times.append(
                (packet.pts + (self.video.origin or 0)) * self.source.video_tick
            )
        self.output.container.mux_one(packet)

    def write_audio(self, packet: Packet[Any]) -> None:
        """Write an audio packet (may raise OSError or av.FFmpegError)."""
        output = self.output
        if output.audio is None or self.video.origin is None:
            return
        track = self.audio
        if track.origin is None:
            # The clip starts with video: audio time 0 is the first video dts.
            scale = self.source.video_time_base / self.source.audio_time_base
            track.origin = math.floor(self.video.origin * scale)
        stamped = track.stamp(packet.pts, packet.dts)
        if stamped is None:
            return
        pts, dts = stamped
        if self._adts:
            data = memoryview(packet)
            header = _adts_header_size(data)
            if not header:
                return
            out = _share(data[header:])
        else:
            out = _share(packet)
        out.pts, out.dts, out.duration = pts - track.origin, dts - track.origin, packet.duration
        out.is_keyframe = packet.is_keyframe
        out.time_base = self.source.audio_time_base
        out.stream = output.audio
        output.container.mux_one(out)

    def close(self) -> None:
        """Flush the encoder, if any, and finish the file (may raise like the writes)."""
        if self._reencoder is not None:
            for packet in self._reencoder.flush():
                self._mux_encoded(packet)
        self.output.close()

    def abort(self) -> tuple[int, float] | None:
        """After a failure: cut the file to its complete fragments, if it has any.

        Returns the size and duration of what was kept, or None when nothing playable is left.
        """
        # The trailer is lost; the complete fragments before it are not.
        with contextlib.suppress(*_WRITE_ERRORS):
            self.output.close()
        try:
            end, fragments = _complete_fragments(self.path)
            if fragments:
                with self.path.open("r+b") as file:
                    file.truncate(end)
                times = self.fragment_times
                last = times[fragments] if fragments < len(times) else self.end_time
                return end, last - self.first_time
        except OSError:
            pass
        return None

    def result(self, size: int, duration_s: float, thumbnail: bytes | None) -> RecordedClip:
        """Describe the finished clip for the clip store."""
        source = self.source
        audio = self.output.audio
        repaired = self.video.repaired + self.audio.repaired
        if repaired:
            self.notes.append(f"{repaired} packet timestamps repaired")
        if self._reencoder is not None and self._reencoder.damaged:
            self.notes.append(f"{self._reencoder.damaged} damaged frames left out")
        return RecordedClip(
            part_path=self.path,
            start=self.start,
            duration_s=max(0.0, duration_s),
            video_codec="h264" if source.transcode else source.codec,
            width=source.width,
            height=source.height,
            audio_codec=None if audio is None else "aac",
            trigger=self.trigger,
            size_bytes=size,
            thumbnail_jpeg=thumbnail,
            motion_offset_s=None if self.onset is None else max(0.0, self.onset - self.first_time),
            notes=tuple(self.notes),
        )


def _complete_fragments(path: Path) -> tuple[int, int]:
    """End offset and count of the complete moof+mdat pairs after a complete moov."""
    with path.open("rb") as file:
        size = file.seek(0, 2)
        position = end = fragments = 0
        have_moov = in_fragment = False
        while position + _BOX_HEADER.size <= size:
            file.seek(position)
            box_size, kind = _BOX_HEADER.unpack(file.read(_BOX_HEADER.size))
            header = _BOX_HEADER.size
            if box_size == 1:  # a 64-bit size follows the type
                (box_size,) = _LARGE_BOX_SIZE.unpack(file.read(_LARGE_BOX_SIZE.size))
                header += _LARGE_BOX_SIZE.size
            if box_size < header or position + box_size > size:
                break  # cut off (or "to end of file", size 0): incomplete
            if kind == b"moov":
                have_moov = True
            elif kind == b"moof":
                in_fragment = True
            elif kind == b"mdat" and in_fragment:
                in_fragment = False
                fragments += 1
                end = position + box_size
            position += box_size
    return (end, fragments) if have_moov else (0, 0)


def _remove(path: Path) -> None:
    """Delete a file if it is there; on a read-only disk nothing could be written anyway."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def _storage_error(err: BaseException, path: Path | None) -> StorageError:
    """Classify a write failure; the message names the clip file, never a camera URL."""
    if isinstance(err, StorageError):
        return err
    code = getattr(err, "errno", None)
    reason = getattr(err, "strerror", None) or str(err) or type(err).__name__
    what = f"clip {path.name}" if path is not None else "a clip file"
    if code in _FULL_ERRNOS:
        return StorageFullError(f"no space left to write {what}: {reason}")
    return StorageError(f"could not write {what}: {reason}")


class Recorder:
    """Records one camera's clips: pre-roll from a PacketRing, then live packets, as MP4.

    H.264 and HEVC are stream-copied (HEVC tagged hvc1), AAC audio too; MJPEG is re-encoded
    to H.264. Times are stream times (seconds of the video's pts), so clips are cut by the
    camera's clock, not by when packets happen to arrive. Storage failures never raise out of
    feed(): they go to on_error, and the ring keeps running so recording can resume.

    allocate(start) gives the `.mp4.part` path of a new clip; each part ends either in
    on_clip (possibly cut short, then also on_error) or, deleted, in abandon(path), so a clip
    store can release what it reserved.

    Not thread-safe, by design: the camera's worker thread makes every call and receives every
    callback, so nothing here takes a lock.
    """

    def __init__(
        self,
        video_stream: VideoStream,
        audio_stream: AudioStream | None,
        options: RecorderOptions,
        *,
        allocate: Callable[[datetime], Path],
        on_clip: Callable[[RecordedClip], None],
        on_error: Callable[[StorageError], None],
        abandon: Callable[[Path], None] | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._options = options
        self._allocate = allocate
        self._on_clip = on_clip
        self._on_error = on_error
        self._abandon = abandon
        self._clock = clock
        self._ring = PacketRing(options.pre_roll_s, options.max_buffer_bytes)
        self._use_streams(video_stream, audio_stream)
        self._clip: _Clip | None = None
        self._closed = False
        self._now: float | None = None  # stream time of the latest video packet
        # The recording wanted: until _until (stream time, +inf while motion lasts).
        self._motion = False
        self._motion_until = -math.inf
        self._manual_until = -math.inf
        self._manual_pending: float | None = None  # a record() duration, until a clip starts
        self._until = -math.inf
        self._trigger = ClipTrigger.MOTION
        self._onset: float | None = None  # motion onset of the recording (stream time)
        self._retry_at = -math.inf

    def _use_streams(self, video: VideoStream, audio: AudioStream | None) -> None:
        self._input = source = _Input.of(video, audio)
        # Copied out of _input: feed() reads them for every packet.
        self._video_index = source.video_index
        self._audio_index = source.audio_index
        self._video_tick = float(source.video_time_base)
        self._max_clip_s = self._options.max_clip_s - _EPSILON_S

    @property
    def ring(self) -> PacketRing:
        """The pre-roll ring (for statistics)."""
        return self._ring

    @property
    def is_recording(self) -> bool:
        """Whether a clip file is open."""
        return self._clip is not None

    @property
    def clip_start(self) -> datetime | None:
        """Wall-clock start of the clip being recorded, if any."""
        return None if self._clip is None else self._clip.start

    def feed(self, packet: Packet[Any]) -> None:
        """Take a demuxed packet of the record stream: into the ring, and the clip if recording."""
        index = packet.stream_index
        if index == self._video_index:
            if packet.size and not self._closed:
                self._feed_video(packet)
        elif index == self._audio_index and packet.size and not self._closed:
            self._feed_audio(packet)

    def _feed_video(self, packet: Packet[Any]) -> None:
        time = self._advance(packet)
        if time is None:
            return
        now = self._now
        assert now is not None  # noqa: S101 - _advance set it
        self._ring.add(packet, time)
        clip = self._clip
        if clip is not None:
            if now >= self._until - _EPSILON_S:
                self._finish_recording()
            elif packet.is_keyframe and time - clip.first_time >= self._max_clip_s:
                self._split(packet, time)
            else:
                try:
                    clip.write_video(packet)
                except _WRITE_ERRORS as err:
                    self._fail(err)
        elif packet.is_keyframe and self._retry_at <= now < self._until - _EPSILON_S:
            self._start(self._ring.snapshot())

    def _advance(self, packet: Packet[Any]) -> float | None:
        """Return a video packet's stream time and move the clock; None if it has no time."""
        pts = packet.pts
        if pts is None:
            pts = packet.dts
        now = self._now
        if pts is None:
            return now  # borrowed from the previous packet (None: nothing to borrow)
        time = pts * self._video_tick
        if now is not None and not now - _MAX_BACKWARD_JUMP_S < time < now + _MAX_FORWARD_JUMP_S:
            self._new_timeline("ended because the stream's clock jumped")
            now = None
        if now is None or time > now:
            self._now = time
        return time

    def _feed_audio(self, packet: Packet[Any]) -> None:
        source = self._input
        if source.adts and source.audio_config is None:
            source.audio_config = _adts_audio_config(memoryview(packet))
        self._ring.add(packet, None)
        clip = self._clip
        if clip is not None:
            try:
                clip.write_audio(packet)
            except _WRITE_ERRORS as err:
                self._fail(err)

    def motion(self, active: bool) -> None:  # noqa: FBT001 - the detector's state
        """Motion began (start or extend a clip) or ended (end it post_roll_s later)."""
        if self._closed or active == self._motion:
            return
        now = self._now
        if not active:
            self._motion = False
            self._motion_until = (-math.inf if now is None else now) + self._options.post_roll_s
            self._update_until()
            return
        if not self._recording_wanted():
            self._trigger, self._onset = ClipTrigger.MOTION, None
        if self._onset is None:
            self._onset = -math.inf if now is None else now
        self._motion, self._motion_until = True, math.inf
        self._update_until()
        if self._clip is not None:
            if now is not None:
                self._clip.mark_motion(now)
            return
        self._retry_at = -math.inf  # a new trigger tries storage again at once
        self._start(self._ring.snapshot())

    def record(self, duration_s: float) -> None:
        """Record about duration_s seconds, pre-roll included; extends a clip being recorded."""
        if not (math.isfinite(duration_s) and duration_s > 0):
            msg = f"duration_s must be a positive number, got {duration_s!r}"
            raise ValueError(msg)
        if self._closed:
            return
        now = self._now
        # Shorter than the pre-roll: the last duration_s seconds.
        lead = min(self._options.pre_roll_s, duration_s)
        if self._clip is not None and now is not None:
            self._manual_until = max(self._manual_until, now - lead + duration_s)
            self._update_until()
            return
        if not self._recording_wanted():
            self._trigger, self._onset = ClipTrigger.MANUAL, None
        # The deadline counts from the clip's first packet, known when it starts.
        self._manual_pending = max(duration_s, self._manual_pending or 0.0)
        self._retry_at = -math.inf
        self._update_until()
        if now is not None:
            self._start(self._ring.snapshot(since=now - lead))

    def discontinuity(
        self, video_stream: VideoStream | None = None, audio_stream: AudioStream | None = None
    ) -> None:
        """Start over after the source restarted: finish the clip, clear the ring.

        Given a video_stream, both templates are replaced (audio_stream None: no audio).
        Ongoing motion carries over and records on from the next keyframe.
        """
        if self._closed:
            return
        self._new_timeline("ended by a stream discontinuity")
        if video_stream is not None:
            self._use_streams(video_stream, audio_stream)

    def close(self) -> None:
        """Finish any clip and stop (shutdown); later calls do nothing."""
        if self._closed:
            return
        self._finish()
        self._ring.clear()
        self._closed = True

    def _update_until(self) -> None:
        wanted = self._motion or self._manual_pending is not None
        self._until = math.inf if wanted else max(self._motion_until, self._manual_until)

    def _recording_wanted(self) -> bool:
        """Whether a recording is under way (a clip open, pending or waiting to retry)."""
        now = self._now
        return self._until == math.inf if now is None else now < self._until - _EPSILON_S

    def _new_timeline(self, note: str) -> None:
        """Old stream times mean nothing any more: end the clip, forget times and deadlines."""
        self._finish(note)
        self._ring.clear()
        self._now = None
        self._manual_until = -math.inf
        self._manual_pending = None
        self._motion_until = math.inf if self._motion else -math.inf
        # Motion that goes on is "since before the clip": offset 0 in the next one.
        self._onset = -math.inf if self._motion else None
        self._retry_at = -math.inf
        self._update_until()

    def _packet_time(self, packet: Packet[Any]) -> float:
        pts = packet.pts if packet.pts is not None else packet.dts
        if pts is not None:
            return pts * self._video_tick
        return self._now if self._now is not None else 0.0

    def _start(self, packets: list[Packet[Any]], note: str | None = None) -> None:
        """Open a clip that begins with packets (a keyframe first); nothing if there are none."""
        now = self._now
        if not packets or now is None:
            return  # No keyframe yet: feed() starts the clip at the first one.
        first_time = self._packet_time(packets[0])
        if self._manual_pending is not None:
            # A manual recording lasts duration_s from its first packet.
            self._manual_until = max(self._manual_until, first_time + self._manual_pending)
            self._manual_pending = None
            self._update_until()
        start = self._clock() - timedelta(seconds=max(0.0, now - first_time))
        path: Path | None = None
        try:
            path = self._allocate(start)
            opened = _open_output(path, self._input)
        except (*_WRITE_ERRORS, StorageError) as err:
            if path is not None:
                self._give_up(path)
            self._on_error(_storage_error(err, path))
            self._retry_at = now + _RETRY_AFTER_ERROR_S
            return
        onset = None if self._onset is None else max(self._onset, first_time)
        clip = _Clip(
            path,
            opened,
            source=self._input,
            trigger=self._trigger,
            first_time=first_time,
            start=start,
            onset=onset,
        )
        if note is not None:
            clip.notes.append(note)
        self._clip = clip
        video_index = self._video_index
        try:
            for packet in packets:
                if packet.stream_index == video_index:
                    clip.write_video(packet)
                else:
                    clip.write_audio(packet)
        except _WRITE_ERRORS as err:
            self._fail(err)

    def _split(self, keyframe: Packet[Any], time: float) -> None:
        """Max length reached at a keyframe: finish the clip and go on in a new one from it."""
        if not self._finish("split at max length"):
            return  # A storage failure: the retry starts a fresh clip later.
        # Motion going on is there from the start of the continuation.
        self._onset = time if self._motion else None
        self._start([keyframe], note="continues the previous clip")

    def _finish_recording(self) -> None:
        """Finish the clip at the recording's deadline and forget the trigger."""
        self._finish()
        self._manual_until = self._motion_until = -math.inf
        self._onset = None
        self._update_until()

    def _finish(self, note: str | None = None) -> bool:
        """Close the clip and hand it to on_clip; False if that failed on storage."""
        clip = self._clip
        if clip is None:
            return True
        self._clip = None
        if note is not None:
            clip.notes.append(note)
        try:
            clip.close()
            size = clip.path.stat().st_size
        except _WRITE_ERRORS as err:
            self._fail_clip(clip, err)
            return False
        self._emit(clip.result(size, clip.end_time - clip.first_time, self._thumbnail(clip)))
        return True

    def _fail(self, err: BaseException) -> None:
        clip = self._clip
        assert clip is not None  # noqa: S101 - only called while recording
        self._clip = None
        self._fail_clip(clip, err)

    def _fail_clip(self, clip: _Clip, err: BaseException) -> None:
        """Stop a clip that could not be written: salvage or delete it, report, retry later."""
        error = _storage_error(err, clip.path)
        kept = clip.abort()
        if kept is None:
            self._give_up(clip.path)
        else:
            size, duration = kept
            clip.notes.append(f"cut short: {error}")
            self._emit(clip.result(size, duration, self._thumbnail(clip)))
        self._on_error(error)
        self._retry_at = (self._now or 0.0) + _RETRY_AFTER_ERROR_S

    def _give_up(self, path: Path) -> None:
        """Delete a part that holds nothing playable, and tell the store it is free."""
        _remove(path)
        if self._abandon is not None:
            try:
                self._abandon(path)
            except StorageError as err:
                self._on_error(err)

    def _emit(self, clip: RecordedClip) -> None:
        try:
            self._on_clip(clip)
        except StorageError as err:  # the store could not take it: still a storage problem
            self._on_error(err)

    def _thumbnail(self, clip: _Clip) -> bytes | None:
        """JPEG of the chosen keyframe, decoded on its own (once per clip)."""
        packet = clip.thumbnail_packet
        if packet is None:
            return None
        try:
            decoder = _decoder(clip.source)
            frames = decoder.decode(packet) + decoder.decode(None)
            return encode_jpeg(frames[0], max_width=THUMBNAIL_MAX_WIDTH) if frames else None
        except av.FFmpegError, ValueError:
            return None  # A clip without a thumbnail is still a clip.
