"""Probe a camera stream: open it and decode one video frame, within the open timeout."""

import threading
import time

import av

from .errors import StopRequestedError
from .source import SourceOptions, StreamInfo, StreamSource


def probe(
    url: str,
    options: SourceOptions | None = None,
    stop_event: threading.Event | None = None,
) -> StreamInfo:
    """Open the stream and decode one video frame, all within open_timeout_s; describe it."""
    options = options or SourceOptions()
    deadline = time.monotonic() + options.open_timeout_s
    with StreamSource(url, options, stop_event) as source:
        info = source.open()
        video = source.video_stream
        for packet in source.packets(deadline=deadline):
            if packet.stream.index != video.index:
                continue
            try:
                frames = video.decode(packet)
            except av.error.FFmpegError:
                continue  # E.g. a frame that refers to a keyframe sent before we joined.
            if frames:
                return info
    msg = "stopped while probing the stream"
    raise StopRequestedError(msg)
