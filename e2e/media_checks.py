"""Checks on what Home Assistant hands out: a playable clip, a JPEG still."""

from dataclasses import dataclass
from pathlib import Path

import av


class MediaCheckError(AssertionError):
    """A file is not what it claims to be."""


@dataclass(frozen=True, slots=True)
class ClipFacts:
    """What decoding a clip found."""

    frames: int
    duration_s: float
    width: int
    height: int
    codec: str


def check_clip(path: Path, min_duration_s: float) -> ClipFacts:
    """Decode every frame of an MP4 clip with PyAV; it must be H.264 video of min_duration_s."""
    try:
        with av.open(path) as container:
            if container.format.name.split(",")[0] not in {"mov", "mp4"}:
                msg = f"{path.name}: container {container.format.name}, not MP4"
                raise MediaCheckError(msg)
            stream = container.streams.video[0]
            frames = 0
            last_time = 0.0
            for frame in container.decode(stream):
                frames += 1
                if frame.time is not None:
                    last_time = max(last_time, frame.time)
            codec = stream.codec_context.name
            width, height = stream.codec_context.width, stream.codec_context.height
            start_pts = stream.start_time or 0
            start = float(start_pts * stream.time_base) if stream.time_base else 0.0
    except av.FFmpegError as err:
        msg = f"{path.name} does not decode: {err}"
        raise MediaCheckError(msg) from err
    facts = ClipFacts(frames, last_time - start, width, height, codec)
    if codec != "h264" or frames == 0 or facts.duration_s < min_duration_s:
        msg = f"{path.name}: expected H.264 of at least {min_duration_s} s, decoded {facts}"
        raise MediaCheckError(msg)
    return facts


def check_jpeg(content_type: str, body: bytes) -> None:
    """Check for a JPEG image: its content type, SOI and EOI markers."""
    if content_type != "image/jpeg" or body[:2] != b"\xff\xd8" or b"\xff\xd9" not in body[-16:]:
        msg = f"not a JPEG: {content_type}, {len(body)} bytes starting {body[:8]!r}"
        raise MediaCheckError(msg)
