"""Fragmented MP4: stream-copy and re-encoded clip output, ADTS to MP4 AAC, fragment scan."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
import struct
from types import MappingProxyType
from typing import Final

import av
from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.video.stream import VideoStream

# A fragment per keyframe, and the moov box first: a file cut short (crash, power loss) stays
# playable up to its last complete fragment, and browsers can play it while it grows.
FRAGMENTED_MOVFLAGS: Final = "frag_keyframe+empty_moov+default_base_moof"
# flush_packets hands each finished fragment to the OS at once. Without it up to 32 KiB (the
# moov box and, at low bitrates, whole fragments) wait in FFmpeg's buffer, and a killed process
# leaves a file that cannot even be opened.
FRAGMENTED_MP4_OPTIONS: Final[Mapping[str, str]] = MappingProxyType(
    {"movflags": FRAGMENTED_MOVFLAGS, "flush_packets": "1"}
)
COPYABLE_VIDEO_CODECS: Final = frozenset({"h264", "hevc"})
COPYABLE_AUDIO_CODECS: Final = frozenset({"aac"})
_BOX_HEADER: Final = struct.Struct(">I4s")
_LARGE_BOX_SIZE: Final = struct.Struct(">Q")


@dataclass(slots=True)
class Mp4Output:
    """An open fragmented MP4 with its video and optional audio stream."""

    container: OutputContainer
    video: VideoStream
    audio: AudioStream | None

    def close(self) -> None:
        """Write the last fragment and close the file."""
        self.container.close()


@contextmanager
def _fragmented_container(path: Path) -> Iterator[OutputContainer]:
    """Open `path` as fragmented MP4 for adding streams; closed again if adding them fails."""
    container = av.open(str(path), mode="w", format="mp4", options=dict(FRAGMENTED_MP4_OPTIONS))
    try:
        yield container
    except BaseException:
        container.close()
        raise


def _add_audio(container: OutputContainer, template: AudioStream | None) -> AudioStream | None:
    """Add a stream-copy audio stream for an AAC template; None for no or other audio."""
    if template is None or template.codec_context.name not in COPYABLE_AUDIO_CODECS:
        return None
    return container.add_stream_from_template(template)


def open_fragmented_mp4(
    path: Path, video_template: VideoStream, audio_template: AudioStream | None = None
) -> Mp4Output:
    """Open `path` for stream copy of the template streams (H.264/HEVC video, AAC audio)."""
    video_codec = video_template.codec_context.name
    if video_codec not in COPYABLE_VIDEO_CODECS:
        msg = f"cannot stream-copy {video_codec} into MP4"
        raise ValueError(msg)
    with _fragmented_container(path) as container:
        video = container.add_stream_from_template(video_template)
        if video_codec == "hevc":
            # Safari and Chrome only play HEVC in MP4 when it is tagged hvc1 (not hev1).
            video.codec_tag = "hvc1"
        audio = _add_audio(container, audio_template)
    return Mp4Output(container=container, video=video, audio=audio)


def open_h264_mp4(
    path: Path,
    *,
    width: int,
    height: int,
    rate: Fraction,
    time_base: Fraction,
    audio_template: AudioStream | None = None,
) -> Mp4Output:
    """Open `path` with a libx264 encoder (even width and height), for re-encoded sources."""
    with _fragmented_container(path) as container:
        # A keyframe a second: each starts a fragment, which is what survives a crash.
        gop = max(1, round(rate))
        # zerolatency: frames come out as they go in, so x264 holds no queue of raw frames.
        x264 = {"preset": "fast", "tune": "zerolatency", "x264-params": f"keyint={gop}"}
        video = container.add_stream("libx264", rate=rate, options=x264)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.time_base = time_base
        audio = _add_audio(container, audio_template)
    return Mp4Output(container=container, video=video, audio=audio)


def _adts_header_size(data: memoryview) -> int:
    """Length of the ADTS header at the start of data, or 0 if there is none."""
    if len(data) < 9 or data[0] != 0xFF or data[1] & 0xF0 != 0xF0:  # no ADTS sync word
        return 0
    return 7 if data[1] & 1 else 9  # 9 when a CRC follows (protection_absent = 0)


def adts_payload(data: memoryview) -> memoryview | None:
    """Return the raw AAC frame of an ADTS packet (MP4 has no ADTS headers), or None."""
    header = _adts_header_size(data)
    return data[header:] if header else None


def adts_audio_config(data: memoryview) -> bytes | None:
    """Return the MP4 AudioSpecificConfig that an ADTS header describes (ISO 14496-3)."""
    if not _adts_header_size(data):
        return None
    profile, rate_index = data[2] >> 6, (data[2] >> 2) & 0x0F
    channels = (data[2] & 1) << 2 | data[3] >> 6
    if channels == 0:
        return None  # channel layout in a PCE inside the stream: not handled
    return ((profile + 1) << 11 | rate_index << 7 | channels << 3).to_bytes(2, "big")


def complete_fragments(path: Path) -> tuple[int, int]:
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
