"""What PyAV can tell from a clip file: probing a complete MP4, salvaging a cut-short one."""

from collections.abc import Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
import logging
from pathlib import Path

import av
from av.container import InputContainer
from av.packet import Packet
from av.stream import Stream
from av.video.stream import VideoStream

from .imaging import THUMBNAIL_MAX_WIDTH, encode_jpeg
from .mp4 import Mp4Output, open_fragmented_mp4

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MediaFacts:
    """What probing or salvaging an MP4 found out."""

    video_codec: str
    width: int
    height: int
    audio_codec: str | None
    duration_s: float
    thumbnail: bytes | None


def probe(path: Path) -> MediaFacts:
    """Codecs, size, duration and first-frame thumbnail of a complete MP4."""
    with av.open(str(path)) as container:
        if not container.streams.video:
            msg = "no video stream"
            raise ValueError(msg)
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        duration = (container.duration or 0) / av.time_base
        thumbnail = None
        with suppress(av.error.FFmpegError, StopIteration):
            thumbnail = encode_jpeg(next(container.decode(video)), THUMBNAIL_MAX_WIDTH)
        return MediaFacts(
            video_codec=video.codec_context.name,
            width=video.width,
            height=video.height,
            audio_codec=audio.codec_context.name if audio is not None else None,
            duration_s=max(0.0, duration),
            thumbnail=thumbnail,
        )


def salvage(part: Path, target: Path) -> MediaFacts | None:
    """Stream-copy the readable prefix of a cut-short MP4 into target; None if none is playable.

    OSError (e.g. a full disk) propagates, so the part is kept for another attempt.
    """
    try:
        source = av.open(str(part))
    except av.error.FFmpegError as err:
        if isinstance(err, OSError):
            raise
        _LOGGER.debug("%s is not readable: %s", part, err)
        return None
    with source:
        if not source.streams.video:
            return None
        video = source.streams.video[0]
        audio = source.streams.audio[0] if source.streams.audio else None
        try:
            output = open_fragmented_mp4(target, video, audio)
        except ValueError:  # a codec MP4 cannot carry: the recorder never wrote this
            return None
        try:
            duration, thumbnail = _copy_prefix(source, video, audio, output)
        finally:
            output.close()
        if thumbnail is None:
            return None
        return MediaFacts(
            video_codec=video.codec_context.name,
            width=video.width,
            height=video.height,
            audio_codec=audio.codec_context.name if output.audio and audio else None,
            duration_s=duration,
            thumbnail=thumbnail,
        )


def _copy_prefix(
    source: InputContainer, video: VideoStream, audio: Stream | None, output: Mp4Output
) -> tuple[float, bytes | None]:
    """Copy packets from the first keyframe up to the first damaged one: (duration, thumbnail)."""
    streams: dict[Stream, Stream] = {video: output.video}
    if audio is not None and output.audio is not None:
        streams[audio] = output.audio
    first_pts: int | None = None
    end_pts = 0
    thumbnail: bytes | None = None
    for packet in _intact_packets(source, streams):
        if packet.stream is video:
            pts = packet.pts if packet.pts is not None else packet.dts or 0
            if first_pts is None and not packet.is_keyframe:
                continue
            first_pts = pts if first_pts is None else first_pts
            thumbnail = thumbnail or _thumbnail(video, packet)
            end_pts = max(end_pts, pts + (packet.duration or 0))
        elif first_pts is None:
            continue  # audio before the first picture would only delay the start
        packet.stream = streams[packet.stream]
        output.container.mux(packet)
    if first_pts is None:
        return 0.0, None
    # A decoder may hold frames back until drained.
    thumbnail = thumbnail or _thumbnail(video, None)
    return float((end_pts - first_pts) * video.time_base), thumbnail


def _intact_packets(
    source: InputContainer, streams: Mapping[Stream, Stream]
) -> Iterator[Packet[Stream]]:
    """Packets of these streams up to the first damaged or unreadable one."""
    packets = source.demux(*streams)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.error.FFmpegError as err:
            if isinstance(err, OSError):
                raise
            _LOGGER.debug("Stopping at unreadable data: %s", err)
            return
        if packet.is_corrupt:
            return  # cut off inside this sample: it and everything after are lost
        if packet.dts is not None:  # None marks the demuxer's end of stream
            yield packet


def _thumbnail(video: VideoStream, packet: Packet[Stream] | None) -> bytes | None:
    """JPEG of the first frame decoding this packet yields, if any yet."""
    try:
        frames = video.decode(packet)
    except av.error.FFmpegError:
        return None
    return encode_jpeg(frames[0], THUMBNAIL_MAX_WIDTH) if frames else None
