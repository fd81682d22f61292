"""CameraWorker: one camera's stream, detection and recording on its own named thread."""

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
import logging
from pathlib import Path
import queue
import threading
import time
from typing import Final, Protocol

import av
from av.audio.stream import AudioStream
from av.packet import Packet
from av.stream import Stream
from av.video.stream import VideoStream

from .analysis import FramePacer, grey_thumbnail
from .backoff import Backoff
from .clip_info import ClipInfo
from .clips import ClipStore
from .errors import RecordingInProgressError, StopRequestedError, StorageError, StreamError
from .frame_decoder import DecodedFrame, DecodeOptions, FrameDecoder
from .imaging import THUMBNAIL_MAX_WIDTH, encode_jpeg
from .live import LiveFeed
from .model import RecordedClip
from .motion import Box, Detector, MotionDetector, MotionResult
from .motion_place import compact_boxes, union
from .native_memory import release_free_memory
from .recorder import Recorder, RecorderOptions
from .regions import Polygon
from .source import SourceOptions, SourceStats, StreamInfo, StreamSource
from .urls import redact_text

_LOGGER = logging.getLogger(__name__)
STOP_TIMEOUT_S: Final = 5.0
# Motion timeline kept per clip: at most this many samples a second (peak of each bucket).
TIMELINE_RATE_HZ: Final = 2.0


def _noop(*_args: object) -> None:
    """Do nothing; the default for callbacks nobody listens to."""


class PacketSource(Protocol):
    """What a session reads from: a StreamSource, or a file in the benchmarks."""

    @property
    def video_stream(self) -> VideoStream:
        """The video stream (decoder and recorder template)."""
        ...

    @property
    def audio_stream(self) -> AudioStream | None:
        """The audio stream, if any (recorder template)."""
        ...

    def packets(self) -> Iterator[Packet[Stream]]:
        """Demuxed packets of both streams, until the end of the session."""
        ...


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """Everything a worker needs to know about its camera."""

    camera_key: str
    stream_url: str
    detect_stream_url: str | None = None
    source: SourceOptions = field(default_factory=SourceOptions)
    recorder: RecorderOptions = field(default_factory=RecorderOptions)
    analysis_fps: float = 5.0
    analysis_width: int = 320
    detection_enabled: bool = True
    recording_enabled: bool = True
    privacy_masks: tuple[Polygon, ...] = ()  # blacked out in stills and clip thumbnails
    outline_motion: bool = True  # clip thumbnails outline the box that started the clip
    low_power: bool = False  # quiet scenes: decode keyframes only until something changes

    def __repr__(self) -> str:
        # The URLs carry credentials; a repr must never show them.
        return redact_text(
            f"WorkerSettings(camera_key={self.camera_key!r}, stream_url={self.stream_url!r}, "
            f"detect_stream_url={self.detect_stream_url!r})",
            self.stream_url,
            self.detect_stream_url or "",
        )


@dataclass(frozen=True, slots=True)
class WorkerCallbacks:
    """Called on the worker's threads; implementations must return quickly."""

    on_connection: Callable[[bool, StreamError | None], None] = _noop
    on_motion: Callable[[bool, MotionResult], None] = _noop
    on_clip: Callable[[ClipInfo], None] = _noop
    on_storage_error: Callable[[StorageError], None] = _noop


@dataclass(frozen=True, slots=True)
class WorkerStats:
    """A snapshot of a worker's health, safe to read from any thread."""

    running: bool
    connected: bool
    reconnects: int
    source: SourceStats | None
    stream: StreamInfo | None  # what the main stream carried when last connected
    analysed_frames: int
    decode_errors: int
    motion: bool
    last_score: float
    clips_saved: int
    recording: bool
    last_error: str | None


class MotionTimeline:
    """Recent (wall time, score, box) samples: each saved clip's peak, timeline and boxes."""

    def __init__(self, horizon_s: float) -> None:
        self._horizon_s = horizon_s
        self._samples: deque[tuple[float, float, Box | None]] = deque()
        self._lock = threading.Lock()

    def add(self, when: float, score: float, box: Box | None = None) -> None:
        """Record a score (and where it moved) at wall time `when` (seconds since the epoch)."""
        with self._lock:
            self._samples.append((when, score, box))
            while self._samples and self._samples[0][0] < when - self._horizon_s:
                self._samples.popleft()

    def between(self, start: float, end: float) -> tuple[float, tuple[tuple[float, float], ...]]:
        """Peak score and a timeline of (offset from start, peak of bucket) in [start, end]."""
        bucket_s = 1.0 / TIMELINE_RATE_HZ
        buckets: dict[int, float] = {}
        with self._lock:
            for when, score, _ in self._samples:
                if start <= when <= end:
                    index = int((when - start) / bucket_s)
                    buckets[index] = max(score, buckets.get(index, 0.0))
        timeline = tuple((round(i * bucket_s, 3), round(s, 5)) for i, s in sorted(buckets.items()))
        return max(buckets.values(), default=0.0), timeline

    def boxes_between(self, start: float, end: float) -> tuple[tuple[float, Box], ...]:
        """Where it moved in [start, end]: the union box of each timeline bucket, compacted."""
        bucket_s = 1.0 / TIMELINE_RATE_HZ
        buckets: dict[int, list[Box]] = {}
        with self._lock:
            for when, _, box in self._samples:
                if box is not None and start <= when <= end:
                    buckets.setdefault(int((when - start) / bucket_s), []).append(box)
        return compact_boxes((round(i * bucket_s, 3), union(b)) for i, b in buckets.items())


class FrameAnalyser:
    """Decode one video stream, pace it, downscale to grey and run the detector."""

    def __init__(
        self,
        detector: Detector,
        fps: float,
        width: int,
        on_result: Callable[[MotionResult], None],
        *,
        live: LiveFeed | None = None,
        decoding: DecodeOptions | None = None,
    ) -> None:
        self.detector = detector
        self.live = live or LiveFeed()
        self.enabled = True
        self.analysed_frames = 0
        self.decode_errors = 0
        self._pacer = FramePacer(fps)
        self._width = width
        self._on_result = on_result
        self._decoding = decoding or DecodeOptions()
        self._decoder: FrameDecoder | None = None
        self._latest: DecodedFrame | None = None

    @property
    def decoder(self) -> FrameDecoder | None:
        """The current session's decoder (None before the first packet)."""
        return self._decoder

    def start(self, stream: VideoStream) -> FrameDecoder:
        """Begin a session on stream: a fresh decoder, timing and background."""
        decoder = self._decoder = FrameDecoder(stream, self._decoding)
        self._pacer.reset()
        self.detector.reset()
        return decoder

    def process(self, packet: Packet[Stream]) -> None:
        """Decode a packet of the analysed stream and analyse the frames that are due."""
        decoder = self._decoder
        if decoder is None:
            stream = packet.stream
            if not isinstance(stream, VideoStream):
                return
            decoder = self.start(stream)
        try:
            frames = decoder.decode(packet)
        except av.error.FFmpegError:
            # A damaged packet costs a few frames until the next keyframe; keep going.
            self.decode_errors += 1
            return
        for decoded in frames:
            frame = decoded.frame
            self.live.offer(frame)
            if self.live.watched:
                decoder.watch()  # a live viewer sees every frame at full quality
            if frame.time is None or not self._pacer.due(frame.time):
                continue
            self._latest = decoded
            if self.enabled:
                result = self.detector.analyse(grey_thumbnail(frame, self._width), frame.time)
                self.analysed_frames += 1
                decoder.note(result.score > 0 or result.motion, frame.time)
                self._on_result(result)

    def latest(self) -> DecodedFrame | None:
        """Return the latest frame due for analysis (what the camera shows as a still)."""
        return self._latest

    def watch(self) -> None:
        """Someone looks at the picture: keep decoding at full quality for a while."""
        decoder = self._decoder
        if decoder is not None:
            decoder.watch()


type RecorderCommand = Callable[[Recorder], None]


class CameraWorker:
    """Runs one camera: demux, pre-roll buffer, detection, clips; reports through callbacks.

    The main thread (named `hearthcam-<camera_key>`) owns the record stream and the recorder;
    with a detection sub-stream a second thread (`...-detect`) decodes that one. Requests from
    other threads (manual recording, motion from the sub-stream) reach the recorder through a
    queue, so only the main thread ever touches it.
    """

    def __init__(
        self,
        settings: WorkerSettings,
        store: ClipStore,
        callbacks: WorkerCallbacks | None = None,
        detector: Detector | None = None,
    ) -> None:
        self.settings = settings
        self._store = store
        self._callbacks = callbacks or WorkerCallbacks()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._commands: queue.SimpleQueue[RecorderCommand] = queue.SimpleQueue()
        # Guards _manual_queued: a record() request the main thread has not run yet.
        self._manual_lock = threading.Lock()
        self._manual_queued = False
        self._recording_enabled = settings.recording_enabled
        self._analyser = FrameAnalyser(
            detector or MotionDetector(),
            settings.analysis_fps,
            settings.analysis_width,
            self._on_result,
            live=LiveFeed(settings.privacy_masks),
            decoding=DecodeOptions(low_power=settings.low_power),
        )
        self._analyser.enabled = settings.detection_enabled
        recorder = settings.recorder
        self._timeline = MotionTimeline(recorder.max_clip_s + recorder.pre_roll_s + 60.0)
        self._source: StreamSource | None = None
        self._stream_info: StreamInfo | None = None
        # Sources whose demux thread may still be running (see stop()); both threads add here.
        self._open_sources: set[StreamSource] = set()
        self._sources_lock = threading.Lock()
        self._recorder: Recorder | None = None
        self._connected: bool | None = None
        self._reconnects = 0
        self._motion = False
        self._last_score = 0.0
        self._clips_saved = 0
        self._last_error: str | None = None
        # The analysed frame where motion began and where in it: the clip's thumbnail, encoded
        # only when a clip is saved (encoding at every motion start cost more than the detector
        # itself). One tuple, so the detect thread replaces frame and box together.
        self._onset: tuple[DecodedFrame | None, Box | None] = (None, None)
        self._thumbnail_box: Box | None = None  # the onset box of the clip being saved

    # -- control, from any thread ------------------------------------------------------------

    def start(self) -> None:
        """Start the worker's thread(s)."""
        if self._threads:
            msg = "worker already started"
            raise RuntimeError(msg)
        name = f"hearthcam-{self.settings.camera_key}"
        self._threads.append(threading.Thread(target=self._run_main, name=name, daemon=True))
        if self.settings.detect_stream_url:
            self._threads.append(
                threading.Thread(target=self._run_detect, name=f"{name}-detect", daemon=True)
            )
        for thread in self._threads:
            thread.start()

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> bool:
        """Stop and join the threads; a clip in progress is finished. True if all stopped."""
        self._stop.set()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        # A read blocked inside FFmpeg cannot be interrupted: its demux thread ends by itself
        # within the stall timeout. Wait for it as long as the deadline allows.
        with self._sources_lock:
            sources = list(self._open_sources)
        for source in sources:
            source.wait_closed(max(0.0, deadline - time.monotonic()))
        stopped = not any(thread.is_alive() for thread in self._threads)
        if not stopped:
            _LOGGER.warning(
                "worker %s did not stop within %.1f s", self.settings.camera_key, timeout_s
            )
        return stopped

    def record(self, duration_s: float) -> None:
        """Record a clip of about duration_s seconds, pre-roll included.

        One recording on request at a time: RecordingInProgressError (nothing asked of the
        recorder) while an earlier one is under way.
        """
        with self._manual_lock:
            if self.manual_recording:
                msg = f"{self.settings.camera_key} is recording on request already"
                raise RecordingInProgressError(msg)
            self._manual_queued = True
            self._commands.put(lambda recorder: self._record_now(recorder, duration_s))

    @property
    def manual_recording(self) -> bool:
        """Whether a recording asked for by record() is under way (or queued)."""
        recorder = self._recorder
        return self._manual_queued or (recorder is not None and recorder.manual_recording)

    def _record_now(self, recorder: Recorder, duration_s: float) -> None:
        """Run a record() request on the main thread."""
        try:
            recorder.record(duration_s)
        finally:
            # Only now: from here on the recorder itself says the recording is under way.
            with self._manual_lock:
                self._manual_queued = False

    def set_recording(self, *, enabled: bool) -> None:
        """Allow or forbid motion to start clips (manual recording stays possible)."""
        self._recording_enabled = enabled

    def set_detection(self, *, enabled: bool) -> None:
        """Turn motion detection on or off; turning it off ends motion in progress."""
        self._analyser.enabled = enabled
        if not enabled and self._motion:
            self._on_result(MotionResult(0.0, False, None))

    def snapshot_jpeg(self, max_width: int | None = None) -> bytes | None:
        """JPEG of the latest analysed frame with privacy masks applied; None before a frame.

        The frame is shown at full quality, and decoding stays at full quality for a while.
        """
        self._analyser.watch()
        latest = self._analyser.latest()
        if latest is None:
            return None
        return encode_jpeg(latest.full_quality(), max_width, self.settings.privacy_masks)

    @property
    def live(self) -> LiveFeed:
        """The live view of the analysed stream (the sub-stream when there is one)."""
        return self._analyser.live

    @property
    def stats(self) -> WorkerStats:
        """A snapshot of the worker's state."""
        source = self._source
        recorder = self._recorder
        return WorkerStats(
            running=any(thread.is_alive() for thread in self._threads),
            connected=bool(self._connected),
            reconnects=self._reconnects,
            source=source.stats if source is not None else None,
            stream=self._stream_info,
            analysed_frames=self._analyser.analysed_frames,
            decode_errors=self._analyser.decode_errors,
            motion=self._motion,
            last_score=self._last_score,
            clips_saved=self._clips_saved,
            recording=recorder is not None and recorder.is_recording,
            last_error=self._last_error,
        )

    # -- the main thread ---------------------------------------------------------------------

    def _run_main(self) -> None:
        """Connect, stream and reconnect with backoff until stopped."""
        self._reconnect_loop(self.settings.stream_url, self.run_session, main=True)

    def _run_detect(self) -> None:
        """Run the same loop for the detection sub-stream."""
        url = self.settings.detect_stream_url
        if url:
            self._reconnect_loop(url, self._detect_session, main=False)

    def _reconnect_loop(
        self, url: str, session: Callable[[PacketSource], None], *, main: bool
    ) -> None:
        """Run sessions on url until stopped, waiting with backoff between failures."""
        backoff = Backoff()
        thread_name = f"{threading.current_thread().name}-demux"
        while not self._stop.is_set():
            source = StreamSource(url, self.settings.source, self._stop, thread_name=thread_name)
            with self._sources_lock:
                self._open_sources = {s for s in self._open_sources if not s.wait_closed(0)}
                self._open_sources.add(source)
            ended = self._run_session(source, session, backoff, main=main)
            # The session's buffers are free now: give them back rather than let them pile up.
            release_free_memory()
            if not ended:
                break
            if self._stop.wait(backoff.next_delay()):
                break
        if main and self._motion:
            self._on_result(MotionResult(0.0, False, None))

    def _run_session(
        self,
        source: StreamSource,
        session: Callable[[PacketSource], None],
        backoff: Backoff,
        *,
        main: bool,
    ) -> bool:
        """Open the source and run one session on it; False when a stop interrupted the open."""
        try:
            with source:
                source.open()
                backoff.reset()
                if main:
                    self._source = source
                    self._stream_info = source.info
                    self._set_connected(connected=True, error=None)
                session(source)
        except StopRequestedError:
            return False
        except StreamError as err:
            self._last_error = err.detail
            stream = "main" if main else "detect"
            _LOGGER.debug("%s stream of %s: %s", stream, self.settings.camera_key, err)
            if main:
                # Without its traceback: that holds the session's frames (source, recorder,
                # streams) for as long as a callback keeps the error.
                self._set_connected(connected=False, error=err.with_traceback(None))
        except Exception:
            # Never let one unexpected failure end the camera for good; log and retry.
            _LOGGER.exception("Unexpected error in worker %s", self.settings.camera_key)
            if main:
                self._set_connected(connected=False, error=None)
        finally:
            if main:
                self._source = None
        return True

    def run_session(self, source: PacketSource) -> None:
        """Feed one connection's packets to the recorder, and to the analyser if no sub-stream.

        Runs on the worker's thread; the benchmarks also call it directly with a file source.
        """
        video = source.video_stream
        analyse_here = not self.settings.detect_stream_url
        if analyse_here:
            self._analyser.start(video)
        recorder = Recorder(
            video,
            source.audio_stream,
            self.settings.recorder,
            allocate=self._allocate,
            on_clip=self._save_clip,
            on_error=self._storage_error,
            abandon=self._store.abandon,
            thumbnail=self._clip_thumbnail,
        )
        self._recorder = recorder
        # Requests queued while disconnected are stale (a manual recording is refused by the
        # caller then); motion that is still going on restarts recording on the new connection.
        self._drain_commands(None)
        if self._motion and self._recording_enabled:
            recorder.motion(True)
        try:
            for packet in source.packets():
                self._drain_commands(recorder)
                recorder.feed(packet)
                if analyse_here and packet.stream is video:
                    self._analyser.process(packet)
        finally:
            if analyse_here:
                self._end_analysed_motion()
            # Whatever ended the session (stop, stall, loss), the clip so far stays playable.
            self._recorder = None
            recorder.close()

    def _end_analysed_motion(self) -> None:
        """End motion when the analysed stream ends: the next session starts a new detector.

        Motion carried over a reconnect would restart recording on the new connection, and the
        fresh detector would then end it at its first frame: a clip of the empty background.
        """
        if self._motion:
            self._on_result(MotionResult(0.0, False, None))

    def _detect_session(self, source: PacketSource) -> None:
        """Decode and analyse the detection sub-stream."""
        video = source.video_stream
        self._analyser.start(video)
        try:
            for packet in source.packets():
                if packet.stream is video:
                    self._analyser.process(packet)
        finally:
            self._end_analysed_motion()

    def _drain_commands(self, recorder: Recorder | None) -> None:
        """Run queued requests against the recorder, or drop them when recorder is None."""
        if recorder is not None and self._commands.empty():
            return  # the usual case, checked for every packet: no exception raised and caught
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                break
            if recorder is not None:
                command(recorder)
        if recorder is None:
            with self._manual_lock:
                if self._commands.empty():  # a record() request was dropped, not queued since
                    self._manual_queued = False

    # -- results, on the worker's threads ----------------------------------------------------

    def _on_result(self, result: MotionResult) -> None:
        self._last_score = result.score
        self._timeline.add(time.time(), result.score, result.box)
        if result.motion == self._motion:
            return
        self._motion = result.motion
        if result.motion:
            self._onset = (self._analyser.latest(), result.box)
        if self._recording_enabled or not result.motion:
            self._commands.put(lambda recorder: recorder.motion(result.motion))
        self._callbacks.on_motion(result.motion, result)

    def _set_connected(self, *, connected: bool, error: StreamError | None) -> None:
        if connected and self._connected is False:
            self._reconnects += 1
        if connected != self._connected:
            self._connected = connected
            self._callbacks.on_connection(connected, error)

    def _allocate(self, start: datetime) -> Path:
        return self._store.allocate(self.settings.camera_key, start)[1]

    def _clip_thumbnail(self) -> bytes | None:
        """Return the frame where motion began as JPEG, else the latest GOP's keyframe.

        The box that started the clip is outlined (if the camera's option says so) and kept
        for the sidecar; the recorder saves the clip right after asking for its thumbnail.
        """
        (onset, box), self._onset = self._onset, (None, None)
        self._thumbnail_box = box if onset is not None else None
        if onset is not None:
            frame = onset.full_quality()
        elif (latest := self._analyser.latest()) is not None:
            # No motion onset (a manual recording): the latest GOP's keyframe, one frame to decode.
            frame = latest.frame if latest.filtered else latest.keyframe()
        else:
            return None
        outline = box if self.settings.outline_motion else None
        return encode_jpeg(frame, THUMBNAIL_MAX_WIDTH, self.settings.privacy_masks, outline)

    def _save_clip(self, recorded: RecordedClip) -> None:
        start = recorded.start.timestamp()
        peak, timeline = self._timeline.between(start, start + recorded.duration_s)
        boxes = self._timeline.boxes_between(start, start + recorded.duration_s)
        onset_box, self._thumbnail_box = self._thumbnail_box, None
        try:
            info = self._store.finalize(
                recorded,
                peak_score=peak,
                motion_timeline=timeline,
                motion_boxes=boxes,
                onset_box=onset_box,
            )
        except StorageError as err:
            self._storage_error(err)
            return
        self._clips_saved += 1
        self._callbacks.on_clip(info)

    def _storage_error(self, error: StorageError) -> None:
        self._last_error = str(error)
        self._callbacks.on_storage_error(error)
