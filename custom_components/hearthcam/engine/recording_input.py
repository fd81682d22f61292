"""What recording needs to know about the record stream: codecs, times, size, what is left out."""

from dataclasses import dataclass
from fractions import Fraction
from typing import Final

from av.audio.stream import AudioStream
from av.codec.context import CodecContext
from av.video.codeccontext import VideoCodecContext
from av.video.stream import VideoStream

from .errors import StreamError, StreamErrorKind
from .mp4 import COPYABLE_AUDIO_CODECS, COPYABLE_VIDEO_CODECS
from .timestamps import fraction

# Browsers cannot play MJPEG in MP4, so it is the one input that is re-encoded (to H.264).
TRANSCODED_VIDEO_CODECS: Final = frozenset({"mjpeg"})
_FALLBACK_FPS: Final = 15


@dataclass(slots=True)
class RecordingInput:
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
    def of(cls, video: VideoStream, audio: AudioStream | None) -> RecordingInput:
        """Check the streams and derive what recording them needs."""
        codec = video.codec_context.name
        if codec not in COPYABLE_VIDEO_CODECS | TRANSCODED_VIDEO_CODECS:
            detail = f"cannot record {codec} video: only H.264, HEVC and MJPEG are supported"
            raise StreamError(StreamErrorKind.UNSUPPORTED_CODEC, detail)
        video_time_base = fraction(video.time_base)
        width, height = video.codec_context.width, video.codec_context.height
        if video_time_base is None or not width or not height:
            raise StreamError(StreamErrorKind.INVALID_DATA, "the video has no time base or size")
        transcode = codec in TRANSCODED_VIDEO_CODECS
        notes = [f"re-encoded from {codec} to h264"] if transcode else []
        if transcode:  # libx264 with yuv420p needs even sizes
            width, height = width // 2 * 2, height // 2 * 2
        audio_time_base = None if audio is None else fraction(audio.time_base)
        if audio is not None and (
            audio.codec_context.name not in COPYABLE_AUDIO_CODECS or audio_time_base is None
        ):
            notes.append(f"audio not recorded: {audio.codec_context.name} is not AAC")
            audio = None
        rate = fraction(video.guessed_rate) or fraction(video.average_rate)
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

    def decoder(self) -> VideoCodecContext:
        """Return a decoder of the input video of its own (the worker's is busy with detection)."""
        decoder = CodecContext.create(self.codec, "r")
        if not isinstance(decoder, VideoCodecContext):
            msg = f"{self.codec} is not a video codec"
            raise TypeError(msg)
        if self.extradata:
            decoder.extradata = self.extradata
        return decoder
