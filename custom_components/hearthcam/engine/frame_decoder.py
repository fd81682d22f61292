"""The analysed stream's decoder: cheaper frames for detection, full quality for what users see.

Detection needs no deblocking: without H.264's loop filter a decode costs about 0.8x, and the
detector averages blocks of pixels anyway. Users do see decoded frames (camera stills, clip
thumbnails), so those are decoded again with the filter from the packets of their GOP, and a
still request switches decoding to full quality for a while (someone is looking). In the
optional low-power mode a quiet scene is decoded from keyframes only; the first keyframe that
shows a change switches back to decoding every frame.
"""

from collections.abc import Callable
from dataclasses import dataclass
import math
import threading
import time
from typing import Any, Final

from av.codec.context import CodecContext
from av.packet import Packet
from av.video.codeccontext import VideoCodecContext
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

# A still request keeps full-quality decoding this long: a dashboard refreshes every 10 s.
WATCH_S: Final = 30.0
# Low power: stream seconds without any change before decoding falls back to keyframes only.
QUIET_S: Final = 10.0


@dataclass(frozen=True, slots=True)
class DecodeOptions:
    """How the analysed stream is decoded."""

    skip_loop_filter: bool = True  # while nobody watches: frames serve detection only
    low_power: bool = False  # decode keyframes only while the scene stays quiet


@dataclass(frozen=True, slots=True)
class DecodedFrame:
    """A decoded frame, and what it takes to decode it again at full quality."""

    frame: VideoFrame
    filtered: bool  # decoded with the loop filter: already full quality
    codec: str
    extradata: bytes | None
    gop: list[Packet[Any]]  # the packets of its GOP (appended to while the GOP lasts)
    count: int  # how many of them lead up to this frame

    def full_quality(self) -> VideoFrame:
        """Return the frame as a normal decode shows it (decoded again from its GOP if needed)."""
        if self.filtered:
            return self.frame
        decoder = _decoder(self.codec, self.extradata, skip_loop_filter=False)
        best: VideoFrame | None = None
        for packet in [*self.gop[: self.count], None]:
            for frame in decoder.decode(packet):
                if frame.pts == self.frame.pts:
                    return frame
                best = frame
        return best or self.frame

    def keyframe(self) -> VideoFrame:
        """Return the keyframe that starts its GOP at full quality (one frame to decode)."""
        if self.filtered or not self.gop:
            return self.frame
        decoder = _decoder(self.codec, self.extradata, skip_loop_filter=False)
        frames = [*decoder.decode(self.gop[0]), *decoder.decode(None)]
        return frames[0] if frames else self.frame


def _decoder(codec: str, extradata: bytes | None, *, skip_loop_filter: bool) -> VideoCodecContext:
    """Make a single-threaded decoder of its own (options apply only before it opens)."""
    decoder = CodecContext.create(codec, "r")
    if not isinstance(decoder, VideoCodecContext):
        msg = f"{codec} is not a video codec"
        raise TypeError(msg)
    if extradata:
        decoder.extradata = extradata
    # One decoding thread per camera: across cameras this parallelises better, and on one
    # camera frame threading costs 5-15% more CPU for no gain in throughput we need.
    decoder.thread_count = 1
    if skip_loop_filter:
        decoder.options = {"skip_loop_filter": "all"}
    return decoder


class FrameDecoder:
    """Decodes one session's video packets; switches decoders only at keyframes."""

    def __init__(
        self,
        stream: VideoStream,
        options: DecodeOptions,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        context = stream.codec_context
        self._codec = context.codec.name
        self._extradata = context.extradata
        self._options = options
        self._clock = clock
        self._decoder: VideoCodecContext | None = None
        self._filtered = True
        self._gop: list[Packet[Any]] = []
        self._watch_until = -math.inf
        self._quiet_since: float | None = None
        self._sleeping = False
        self._lock = threading.Lock()

    @property
    def sleeping(self) -> bool:
        """Whether only keyframes are decoded (low power, quiet scene)."""
        return self._sleeping

    def watch(self) -> None:
        """Someone looks at the picture: decode at full quality, every frame, for a while."""
        with self._lock:
            self._watch_until = self._clock() + WATCH_S

    def _watched(self) -> bool:
        with self._lock:
            return self._clock() < self._watch_until

    def decode(self, packet: Packet[Any]) -> list[DecodedFrame]:
        """Decode one packet (an empty one flushes); may raise av.FFmpegError."""
        if packet.is_keyframe:
            self._at_keyframe()
        if packet.size:
            self._gop.append(packet)
            if self._sleeping and not packet.is_keyframe:
                return []
        decoder = self._decoder
        if decoder is None:
            decoder = self._decoder = self._open(filtered=not self._options.skip_loop_filter)
        return [self._decoded(frame) for frame in decoder.decode(packet)]

    def note(self, changed: bool, timestamp_s: float) -> None:  # noqa: FBT001 - a verdict
        """Learn from the detector whether the scene changed (low power falls asleep if not)."""
        if changed or not self._options.low_power:
            self._quiet_since = None
            self._sleeping = False
            return
        if self._quiet_since is None or timestamp_s < self._quiet_since:
            self._quiet_since = timestamp_s
        elif timestamp_s - self._quiet_since >= QUIET_S and not self._watched():
            self._sleeping = True

    def _at_keyframe(self) -> None:
        """Start a new GOP, and a new decoder if the wanted quality changed."""
        watched = self._watched()
        if watched:
            self._sleeping = False
            self._quiet_since = None
        self._gop = []
        filtered = watched or not self._options.skip_loop_filter
        if self._decoder is None or filtered != self._filtered:
            # A keyframe needs no earlier picture: the new decoder starts cleanly here.
            self._decoder = self._open(filtered=filtered)

    def _open(self, *, filtered: bool) -> VideoCodecContext:
        self._filtered = filtered
        return _decoder(self._codec, self._extradata, skip_loop_filter=not filtered)

    def _decoded(self, frame: VideoFrame) -> DecodedFrame:
        gop = self._gop
        return DecodedFrame(frame, self._filtered, self._codec, self._extradata, gop, len(gop))
