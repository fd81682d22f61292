"""The live view: decoded frames handed to viewers, JPEG-encoded only while someone watches.

The decoding thread offers every decoded frame; with nobody watching that is one attribute
check and nothing else. While someone watches, a frame is kept at most `fps` times a second of
stream time and the viewers are told; each viewer then asks for the latest JPEG, which is
encoded once per frame (privacy masks painted as in stills) however many viewers share it.
"""

from collections.abc import Callable
import threading
from typing import Final

from av.video.frame import VideoFrame

from .analysis import FramePacer
from .imaging import encode_jpeg
from .regions import Polygon

# Smooth enough to follow a person walking; twice the least a live view should show.
LIVE_VIEW_FPS: Final = 10.0
# Wider frames are scaled down: a dashboard or dialog shows no more, and encoding costs less.
LIVE_VIEW_MAX_WIDTH: Final = 1280
# FFmpeg's MJPEG quantiser for live frames: smaller than stills' (many a second), still sharp.
LIVE_VIEW_QSCALE: Final = 6

type FrameListener = Callable[[], None]


class LiveFeed:
    """Latest frames for live viewers; thread-safe, cheap while nobody watches."""

    def __init__(
        self,
        masks: tuple[Polygon, ...] = (),
        *,
        fps: float = LIVE_VIEW_FPS,
        max_width: int = LIVE_VIEW_MAX_WIDTH,
    ) -> None:
        self._masks = masks
        self._max_width = max_width
        self._pacer = FramePacer(fps)
        self._lock = threading.Lock()
        self._listeners: tuple[FrameListener, ...] = ()
        self._frame: VideoFrame | None = None
        self._sequence = 0
        # One encode per frame, shared by every viewer; held while encoding so none repeats it.
        self._encode_lock = threading.Lock()
        self._encoded: tuple[int, bytes] | None = None

    @property
    def watched(self) -> bool:
        """Whether anyone watches (decoder shortcuts must then keep frames at full quality)."""
        return bool(self._listeners)

    def watch(self, on_frame: FrameListener) -> Callable[[], None]:
        """Call on_frame (on the decoding thread; return quickly) for each new live frame.

        Returns the function that stops watching.
        """
        with self._lock:
            if not self._listeners:
                self._pacer.reset()
            self._listeners = (*self._listeners, on_frame)

        def stop() -> None:
            with self._lock:
                self._listeners = tuple(f for f in self._listeners if f is not on_frame)
                if not self._listeners:
                    # Nobody watches: let the decoder's frame go.
                    self._frame = None
                    self._encoded = None

        return stop

    def offer(self, frame: VideoFrame) -> None:
        """Take a decoded frame if someone watches and one is due (the decoding thread)."""
        if not self._listeners or frame.time is None:
            return
        with self._lock:
            listeners = self._listeners
            if not listeners or not self._pacer.due(frame.time):
                return
            self._frame = frame
            self._sequence += 1
        for on_frame in listeners:
            on_frame()

    def latest_jpeg(self) -> tuple[int, bytes] | None:
        """Return (sequence number, JPEG) of the latest live frame; None before one came."""
        with self._lock:
            frame, sequence = self._frame, self._sequence
        if frame is None:
            return None
        with self._encode_lock:
            if self._encoded is None or self._encoded[0] != sequence:
                jpeg = encode_jpeg(frame, self._max_width, self._masks, qscale=LIVE_VIEW_QSCALE)
                self._encoded = (sequence, jpeg)
            return self._encoded
