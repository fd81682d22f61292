"""Camera stream sources: open and demux with timeouts, stall detection and a prompt stop.

FFmpeg's blocking calls (open, then every read) run on the source's own demux thread, which
queues packets for the consumer; the consumer waits in slices of `_POLL_S`, so packets()
returns within about that of a stop even while FFmpeg is blocked waiting for the network.
PyAV has no external interrupt, and a short read timeout is no substitute: an interrupted
read leaves an HTTP input with a sticky error (every later read fails at once) and can
desynchronise RTSP-over-TCP interleaving. So reads only time out at the stall timeout, when the
stream is given up anyway, and a demux thread that is blocked when the source is closed is left
to end by itself: within stall_timeout_s (within twice open_timeout_s while opening). That read
timeout is FFmpeg's own (AVIO's rw_timeout, RTSP's socket timeout): PyAV's would run a Python
callback under the GIL for every read, on every camera's demux thread. wait_closed() waits
for the thread. Every packet's timestamps are made usable by a muxer on the way
(stream_timeline.py).
"""

from collections import deque
from collections.abc import Generator, Iterator
from dataclasses import dataclass
import errno
from fractions import Fraction
import logging
import queue
import threading
import time
from types import TracebackType
from typing import Final, Literal, Self, cast

import av
from av.audio.stream import AudioStream
from av.codec.context import CodecContext
from av.container import InputContainer
from av.format import Flags as FormatFlags
from av.packet import Packet
from av.stream import Stream
from av.video.stream import VideoStream

from .errors import StopRequestedError, StreamError, StreamErrorKind
from .stream_timeline import PacketTimeline
from .urls import parse_stream_url, redact_text, redact_url

_LOGGER = logging.getLogger(__name__)

SUPPORTED_VIDEO_CODECS: Final = frozenset({"h264", "hevc", "mjpeg"})
RTSP_TRANSPORTS: Final = frozenset({"tcp", "udp"})

_POLL_S = 0.1  # How often waits re-check the stop event: the stop latency.
_JOIN_S = 1.0  # How long close() waits for the demux thread before leaving it to finish.
QUEUE_PACKETS = 256  # Packets buffered between the demux thread and the consumer.
_FULL_WAIT_S = 0.01  # How often a demux thread whose consumer lags looks for room again.
_RATE_WINDOW_S = 5.0  # Window of the measured fps and bitrate.
_MAX_CONSECUTIVE_DEMUX_ERRORS = 100  # Recoverable errors in a row before giving up.
_SYNTHETIC_TIME_BASE = Fraction(1, 90000)  # For streams stamped from arrival time.
_NO_TIMESTAMPS: Final = cast("int", FormatFlags.no_timestamps.value)  # AVFMT_NOTIMESTAMPS


@dataclass(frozen=True, slots=True)
class SourceOptions:
    """How a stream is opened and watched."""

    open_timeout_s: float = 10.0
    stall_timeout_s: float = 10.0  # No packet for this long while open means stalled.
    rtsp_transport: Literal["tcp", "udp"] = "tcp"

    def __post_init__(self) -> None:
        """Reject timeouts and transports FFmpeg cannot honour."""
        if not (self.open_timeout_s > 0 and self.stall_timeout_s > 0):
            msg = "open_timeout_s and stall_timeout_s must be positive"
            raise ValueError(msg)
        if self.rtsp_transport not in RTSP_TRANSPORTS:
            msg = f"rtsp_transport must be one of {sorted(RTSP_TRANSPORTS)}"
            raise ValueError(msg)

    def ffmpeg_options(self, url: str) -> dict[str, str]:
        """FFmpeg options for opening url (format and protocol options, as strings)."""
        # Don't wait for frame-rate estimation (about 2 s on a paced live stream) nor for a
        # first timestamp (RTSP's first packet has none; missing ones are filled in here).
        # FFmpeg still reads until every stream's codec, width and height are known.
        options = {"fpsprobesize": "0", "max_ts_probe": "0"}
        # Reads time out in FFmpeg's own I/O (see the module docstring).
        read_timeout_us = str(round(self.stall_timeout_s * 1_000_000))
        options["rw_timeout"] = read_timeout_us
        scheme = url.split(":", 1)[0].lower()
        if scheme in {"rtsp", "rtsps"}:
            options["timeout"] = read_timeout_us  # RTSP's own socket I/O timeout
            # "udp+tcp" tries UDP first and falls back to TCP when the server refuses UDP
            # (RTSP 461). RTSP over TLS can only interleave in its TCP connection.
            udp = self.rtsp_transport == "udp" and scheme == "rtsp"
            options["rtsp_transport"] = "udp+tcp" if udp else "tcp"
            # No ONVIF metadata or other data streams: nothing here would use them.
            options["allowed_media_types"] = "video+audio"
        return options


def open_input(url: str, options: SourceOptions) -> InputContainer:
    """Open a stream for reading with PyAV, as every HearthCam stream is opened."""
    return av.open(
        url,
        options=options.ffmpeg_options(url),
        # PyAV's timeout bounds the open only; reads time out in FFmpeg (see ffmpeg_options).
        timeout=(options.open_timeout_s, None),
    )


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """What an opened stream carries."""

    video_codec: str
    width: int
    height: int
    fps: float | None
    audio_codec: str | None
    container_format: str


@dataclass(frozen=True, slots=True)
class SourceStats:
    """A snapshot of a source's counters; times are time.monotonic() values."""

    packets: int
    bytes: int
    fps: float | None  # Video packets per second over the recent window.
    bitrate_bps: float | None  # Over the recent window, all selected streams.
    corrupt_packets: int
    demux_errors: int  # Errors FFmpeg recovered from by reading on.
    last_packet_at: float | None
    opened_at: float | None


class _RateMeter:
    """Packets and bytes over a sliding window, for fps and bitrate."""

    def __init__(self) -> None:
        self._entries: deque[tuple[float, int, bool]] = deque()
        self._first: float | None = None

    def add(self, at: float, size: int, *, video: bool) -> None:
        """Record one packet."""
        if self._first is None:
            self._first = at
        self._entries.append((at, size, video))
        self._evict(at)

    def _evict(self, now: float) -> None:
        while self._entries and self._entries[0][0] <= now - _RATE_WINDOW_S:
            self._entries.popleft()

    def rates(self, now: float) -> tuple[float | None, float | None]:
        """Video packets per second and bits per second up to now; None before any packet."""
        if self._first is None:
            return None, None
        self._evict(now)
        # Until a whole window has passed, divide by the time since the first packet.
        span = min(_RATE_WINDOW_S, now - self._first)
        if span <= 0:
            return None, None
        frames = sum(1 for _, _, video in self._entries if video)
        bits = 8 * sum(size for _, size, _ in self._entries)
        return frames / span, bits / span


@dataclass(frozen=True, slots=True)
class _Opened:
    """What the demux thread hands over once the container is open and acceptable."""

    container: InputContainer
    video: VideoStream
    audio: AudioStream | None
    info: StreamInfo


def _codec_name(stream: Stream) -> str:
    """Return the codec's canonical name ("hevc", not a decoder's name), or "unknown"."""
    context: CodecContext | None = stream.codec_context
    return "unknown" if context is None else context.codec.canonical_name


def _frame_rate(stream: VideoStream) -> float | None:
    """Return the nominal frame rate if FFmpeg knows a plausible one."""
    # average_rate needs frame-rate probing, which is skipped; the codec's own timing
    # (H.264/HEVC VUI) usually still gives it. Some cameras write nonsense there.
    for rate in (stream.average_rate, stream.codec_context.framerate):
        if rate and 0 < float(rate) <= 240:  # no camera sends faster
            return float(rate)
    return None


def _reason(err: BaseException) -> str:
    """Return the error's own words, without its filename (which is the URL)."""
    if isinstance(err, av.error.FFmpegError) and err.strerror:
        return err.strerror
    return str(err) or type(err).__name__


def _open_error_kind(err: BaseException) -> StreamErrorKind:
    """Classify an exception raised while opening a stream."""
    match err:
        case av.error.HTTPUnauthorizedError() | av.error.HTTPForbiddenError():
            return StreamErrorKind.UNAUTHORIZED
        case av.error.HTTPNotFoundError():
            return StreamErrorKind.NOT_FOUND
        case av.error.ExitError():  # PyAV's open timeout interrupted FFmpeg.
            return StreamErrorKind.TIMEOUT
        case OSError() if err.errno == errno.ETIMEDOUT:
            return StreamErrorKind.TIMEOUT
        case av.error.HTTPError() | av.error.HTTPClientError() | OSError():
            # Refused, unreachable, other HTTP/RTSP statuses; FFmpeg reports DNS failures,
            # TLS failures and dropped connections alike as EIO.
            return StreamErrorKind.CONNECTION
        case _:
            return StreamErrorKind.INVALID_DATA


def _read_error_kind(err: BaseException) -> StreamErrorKind:
    """Classify a fatal exception raised while reading an open stream."""
    if isinstance(err, av.error.ExitError) or (
        isinstance(err, OSError) and err.errno == errno.ETIMEDOUT
    ):
        return StreamErrorKind.STALLED  # The stall timeout interrupted a blocked read.
    return StreamErrorKind.ENDED  # Connection reset or dropped: the input is gone.


class StreamSource:
    """One camera stream: open() it, iterate packets(), close() it (or use `with`).

    The consumer (one thread) calls open, packets and close; stats may be read from any
    thread. video_stream and audio_stream are valid until close().
    """

    def __init__(
        self,
        url: str,
        options: SourceOptions | None = None,
        stop_event: threading.Event | None = None,
        *,
        thread_name: str = "hearthcam-source",
    ) -> None:
        """Prepare; nothing is opened yet. Raises InvalidStreamURLError for a bad URL."""
        self.url = parse_stream_url(url)
        self._thread_name = thread_name
        self.options = options or SourceOptions()
        self._stop = stop_event or threading.Event()
        self._lock = threading.Lock()
        # A SimpleQueue hands a packet over for a fraction of what queue.Queue's conditions
        # cost; the demux thread bounds it itself (see _put).
        self._queue: queue.SimpleQueue[Packet[Stream] | StreamError] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()  # The demux thread opened the stream or failed.
        self._opened: _Opened | None = None
        self._open_error: StreamError | None = None
        self._failure: StreamError | None = None  # Terminal error seen by packets().
        self._closed = False
        self._users = 2  # The consumer and the demux thread; see _leave().
        # Counters, written by the demux thread under _lock.
        self._packets = 0
        self._bytes = 0
        self._corrupt = 0
        self._demux_errors = 0
        self._last_packet_at: float | None = None
        self._opened_at: float | None = None
        self._rates = _RateMeter()

    # --- consumer side -------------------------------------------------------------------

    def open(self) -> StreamInfo:
        """Open the stream within open_timeout_s; StreamError or StopRequestedError if not."""
        if self._thread is not None or self._closed:
            msg = "a StreamSource can be opened only once"
            raise RuntimeError(msg)
        if self._stop.is_set():
            msg = "stopped before opening the stream"
            raise StopRequestedError(msg)
        _LOGGER.debug("Opening %s", redact_url(self.url))
        deadline = time.monotonic() + self.options.open_timeout_s
        self._thread = threading.Thread(target=self._run, name=self._thread_name, daemon=True)
        self._thread.start()
        while not self._ready.wait(_POLL_S):
            if self._stop.is_set():
                # Most opens finish within a second: then nothing is left running.
                self.close()
                msg = "stopped while opening the stream"
                raise StopRequestedError(msg)
            if time.monotonic() >= deadline:
                self._close()  # FFmpeg's own open timeout ends the demux thread soon.
                raise self._error(
                    StreamErrorKind.TIMEOUT,
                    f"no answer within {self.options.open_timeout_s:g} s",
                )
        if (error := self._open_error) is not None:
            self.close()
            _LOGGER.debug("Could not open %s: %s", redact_url(self.url), error)
            raise error
        info = self.info
        _LOGGER.debug("Opened %s: %s", redact_url(self.url), info)
        return info

    @property
    def info(self) -> StreamInfo:
        """What the open stream carries."""
        return self._require_open().info

    @property
    def video_stream(self) -> VideoStream:
        """The video stream being read (a template for recorders)."""
        return self._require_open().video

    @property
    def audio_stream(self) -> AudioStream | None:
        """The audio stream being read, if any."""
        return self._require_open().audio

    def packets(self, *, deadline: float | None = None) -> Iterator[Packet[Stream]]:
        """Yield video and audio packets; return when stopped, raise StreamError on failure.

        With a deadline (a time.monotonic() value), raise StreamError(TIMEOUT) once it passes.
        """
        self._require_open()
        while not self._stop.is_set():
            if self._failure is not None:
                raise self._failure
            if deadline is not None and time.monotonic() >= deadline:
                raise self._error(StreamErrorKind.TIMEOUT, "no usable video in time")
            try:
                item = self._queue.get(timeout=_POLL_S)
            except queue.Empty:
                self._check_stall()
                continue
            if isinstance(item, StreamError):
                self._failure = item
                raise item
            yield item

    def _check_stall(self) -> None:
        """Backstop for the demux thread's read timeout, e.g. if only other streams flow."""
        with self._lock:
            last = self._last_packet_at or self._opened_at
        if last is not None and time.monotonic() - last > self.options.stall_timeout_s:
            self._failure = self._error(
                StreamErrorKind.STALLED,
                f"no packet for {self.options.stall_timeout_s:g} s",
            )
            raise self._failure

    @property
    def stats(self) -> SourceStats:
        """A consistent snapshot of the counters; safe to call from any thread."""
        with self._lock:
            fps, bitrate = self._rates.rates(time.monotonic())
            return SourceStats(
                packets=self._packets,
                bytes=self._bytes,
                fps=fps,
                bitrate_bps=bitrate,
                corrupt_packets=self._corrupt,
                demux_errors=self._demux_errors,
                last_packet_at=self._last_packet_at,
                opened_at=self._opened_at,
            )

    def close(self) -> None:
        """Stop reading and let go of the stream; idempotent, returns within about _JOIN_S.

        A demux thread blocked in FFmpeg is left to finish by itself, within the stall
        timeout (or twice the open timeout while opening); see wait_closed().
        """
        self._close()
        self.wait_closed(_JOIN_S)

    def wait_closed(self, timeout_s: float | None = None) -> bool:
        """Wait until the demux thread has ended (after close or a stop); True if it has."""
        thread = self._thread
        if thread is None:
            return True
        if thread.ident is None:
            return False  # open() on another thread is just starting it
        if thread is not threading.current_thread():
            thread.join(timeout_s)
        return not thread.is_alive()

    def _close(self) -> None:
        """Mark the source closed and let go of the container (once)."""
        with self._lock:
            # A raised error's traceback holds this source's frames: keeping the error would
            # make a reference cycle that only the cyclic GC frees, with the native objects
            # every frame on that traceback refers to (streams, decoders, recorder, clip).
            self._open_error = self._failure = None
            if self._closed:
                return
            self._closed = True
        self._leave()

    def _leave(self) -> None:
        """Let go of the container: once by the consumer (close), once by the demux thread.

        The last one closes the container: the demux thread may still be blocked in FFmpeg,
        and a container must not be closed under a running read.
        """
        with self._lock:
            self._users -= 1
            last = self._users == 0
            opened = self._opened
        if last and opened is not None:
            opened.container.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _require_open(self) -> _Opened:
        opened = self._opened
        if opened is None or not self._ready.is_set() or self._closed:
            msg = "the stream is not open"
            raise RuntimeError(msg)
        return opened

    def _error(self, kind: StreamErrorKind, reason: str) -> StreamError:
        """Build a StreamError whose detail is free of this source's credentials."""
        return StreamError(kind, redact_text(reason, self.url))

    # --- demux thread --------------------------------------------------------------------

    def _stopping(self) -> bool:
        return self._closed or self._stop.is_set()

    def _run(self) -> None:
        """Body of the demux thread: open, hand over, read until stopped or failed."""
        opened: _Opened | None = None
        try:
            opened = self._open_container()
        except StreamError as err:
            # Raised "from None", but the FFmpeg error (its text has the URL, credentials and
            # all) would still hang on as context, for anyone logging the traceback to print.
            err.__context__ = None
            # Its traceback holds this thread's frames, and so this source: a cycle.
            self._open_error = err.with_traceback(None)
        except Exception as err:  # noqa: BLE001 - the consumer must hear of anything
            self._open_error = self._error(StreamErrorKind.INVALID_DATA, _reason(err))
        with self._lock:
            self._opened = opened
        self._ready.set()
        try:
            if opened is not None and not self._stopping():
                self._read(opened)
        finally:
            self._leave()

    def _open_container(self) -> _Opened:
        """Open with PyAV and check the streams; raise a classified StreamError."""
        options = self.options
        started = time.monotonic()
        try:
            container = open_input(self.url, options)
        except Exception as err:  # noqa: BLE001 - classified, FFmpeg raises many kinds
            # A timed-out RTSP open surfaces as InvalidDataError, so judge by the clock too:
            # FFmpeg's timer starts after `started`, so its timeouts always count as ours.
            timed_out = time.monotonic() - started >= options.open_timeout_s
            if timed_out or isinstance(err, av.error.ExitError):
                kind, reason = (
                    StreamErrorKind.TIMEOUT,
                    f"no answer within {options.open_timeout_s:g} s",
                )
            else:
                kind, reason = _open_error_kind(err), _reason(err)
            raise self._error(kind, reason) from None
        try:
            return self._inspect(container)
        except BaseException:
            container.close()
            raise

    def _inspect(self, container: InputContainer) -> _Opened:
        """Pick the video and audio streams and describe them, or raise."""
        videos = container.streams.video
        if not videos:
            raise self._error(StreamErrorKind.NO_VIDEO, "the stream has no video")
        video = next((v for v in videos if _codec_name(v) in SUPPORTED_VIDEO_CODECS), None)
        if video is None:
            names = ", ".join(sorted({_codec_name(v) for v in videos}))
            raise self._error(
                StreamErrorKind.UNSUPPORTED_CODEC,
                f"video codec {names} is not one of {', '.join(sorted(SUPPORTED_VIDEO_CODECS))}",
            )
        if not (video.width > 0 and video.height > 0):
            raise self._error(StreamErrorKind.INVALID_DATA, "the video size is unknown")
        audio = next(iter(container.streams.audio), None)
        if container.format.flags & _NO_TIMESTAMPS:
            # These are stamped from arrival time; 1/25 s (mpjpeg) is too coarse for that.
            for stream in (video, audio):
                if stream is not None and stream.time_base > _SYNTHETIC_TIME_BASE * 90:
                    stream.time_base = _SYNTHETIC_TIME_BASE
        info = StreamInfo(
            video_codec=_codec_name(video),
            width=video.width,
            height=video.height,
            fps=_frame_rate(video),
            audio_codec=None if audio is None else _codec_name(audio),
            container_format=container.format.name,
        )
        return _Opened(container, video, audio, info)

    def _read(self, opened: _Opened) -> None:
        """Demux into the queue until stopped, or until a terminal error is queued."""
        with self._lock:
            self._opened_at = time.monotonic()
        wanted = [s for s in (opened.video, opened.audio) if s is not None]
        from_arrival = bool(opened.container.format.flags & _NO_TIMESTAMPS)
        timelines = {
            s.index: PacketTimeline(
                Fraction(s.time_base.numerator, s.time_base.denominator),
                from_arrival=from_arrival,
            )
            for s in wanted
        }
        consecutive_errors = 0
        while not self._stopping():
            # Closed explicitly, so PyAV's cleanup runs here and not later on another thread.
            demuxed = cast("Generator[Packet[Stream]]", opened.container.demux(wanted))
            try:
                for packet in demuxed:
                    if packet.size == 0:
                        continue  # PyAV's flush packets at the end of input.
                    arrival = time.monotonic()
                    consecutive_errors = 0
                    timelines[packet.stream.index].stamp(packet, arrival)
                    self._count(packet, arrival, video=packet.stream is opened.video)
                    if not self._put(packet) or self._stopping():
                        return
            except av.error.InvalidDataError as err:
                # The demuxer skipped damaged data; reading on resynchronises.
                with self._lock:
                    self._demux_errors += 1
                consecutive_errors += 1
                if consecutive_errors < _MAX_CONSECUTIVE_DEMUX_ERRORS:
                    continue
                self._finish(self._error(StreamErrorKind.INVALID_DATA, _reason(err)))
                return
            except Exception as err:  # noqa: BLE001 - classified and handed to the consumer
                kind = _read_error_kind(err)
                reason = (
                    f"no packet for {self.options.stall_timeout_s:g} s"
                    if kind is StreamErrorKind.STALLED
                    else f"connection lost: {_reason(err)}"
                )
                self._finish(self._error(kind, reason))
                return
            else:
                self._finish(self._error(StreamErrorKind.ENDED, "the stream ended"))
                return
            finally:
                demuxed.close()

    def _count(self, packet: Packet[Stream], arrival: float, *, video: bool) -> None:
        with self._lock:
            self._packets += 1
            self._bytes += packet.size
            self._corrupt += packet.is_corrupt
            self._last_packet_at = arrival
            self._rates.add(arrival, packet.size, video=video)

    def _put(self, item: Packet[Stream] | StreamError) -> bool:
        """Queue an item, waiting while the consumer catches up; False if stopping."""
        # Only a consumer that lags 256 packets behind makes this wait: a rare overload, for
        # which polling is cheaper than waking the consumer's side for every packet.
        while not self._stopping():
            if self._queue.qsize() < QUEUE_PACKETS:
                self._queue.put(item)
                return True
            time.sleep(_FULL_WAIT_S)
        return False

    def _finish(self, error: StreamError) -> None:
        _LOGGER.debug("Stream %s: %s", redact_url(self.url), error)
        self._put(error)
