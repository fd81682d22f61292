"""Clip recorder: camera packets, with pre-roll from a PacketRing, into fragmented MP4 clips."""

from collections.abc import Callable
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import errno
import math
from pathlib import Path
from typing import Any, Final

import av
from av.audio.stream import AudioStream
from av.packet import Packet
from av.video.stream import VideoStream

from .clip_writer import WRITE_ERRORS, ClipWriter, open_output
from .errors import StorageError, StorageFullError
from .imaging import THUMBNAIL_MAX_WIDTH, encode_jpeg
from .model import ClipTrigger, RecordedClip
from .mp4 import adts_audio_config
from .packet_ring import PacketRing
from .recording_input import RecordingInput
from .timestamps import EPSILON_S, MAX_BACKWARD_JUMP_S, MAX_FORWARD_JUMP_S

MIB: Final = 1024 * 1024
# After a storage failure, an ongoing recording retries this much stream time later (a new
# trigger retries at once); a full disk must not cost a file and an error per keyframe.
_RETRY_AFTER_ERROR_S: Final = 10.0
_FULL_ERRNOS: Final = frozenset({errno.ENOSPC, errno.EDQUOT})


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
        thumbnail: Callable[[], bytes | None] | None = None,
    ) -> None:
        self._options = options
        self._allocate = allocate
        self._on_clip = on_clip
        self._on_error = on_error
        self._abandon = abandon
        self._clock = clock
        # A caller that already decodes the stream (the worker) can hand over a thumbnail and
        # spare the recorder decoding a keyframe of its own per clip (~1.5% of 1080p decode).
        self._thumbnail_provider = thumbnail
        self._ring = PacketRing(options.pre_roll_s, options.max_buffer_bytes)
        self._use_streams(video_stream, audio_stream)
        self._clip: ClipWriter | None = None
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
        self._input = source = RecordingInput.of(video, audio)
        # Copied out of _input: feed() reads them for every packet.
        self._video_index = source.video_index
        self._audio_index = source.audio_index
        self._video_tick = float(source.video_time_base)
        self._max_clip_s = self._options.max_clip_s - EPSILON_S

    @property
    def ring(self) -> PacketRing:
        """The pre-roll ring (for statistics)."""
        return self._ring

    @property
    def is_recording(self) -> bool:
        """Whether a clip file is open."""
        return self._clip is not None

    @property
    def manual_recording(self) -> bool:
        """Whether a recording asked for by record() is still under way or about to start."""
        if self._closed:
            return False
        if self._manual_pending is not None:
            return True
        now = self._now
        return now is not None and now < self._manual_until - EPSILON_S

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
            if now >= self._until - EPSILON_S:
                self._finish_recording()
            elif packet.is_keyframe and time - clip.first_time >= self._max_clip_s:
                self._split(packet, time)
            else:
                try:
                    clip.write_video(packet)
                except WRITE_ERRORS as err:
                    self._fail(err)
        elif packet.is_keyframe and self._retry_at <= now < self._until - EPSILON_S:
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
        if now is not None and not now - MAX_BACKWARD_JUMP_S < time < now + MAX_FORWARD_JUMP_S:
            self._new_timeline("ended because the stream's clock jumped")
            now = None
        if now is None or time > now:
            self._now = time
        return time

    def _feed_audio(self, packet: Packet[Any]) -> None:
        source = self._input
        if source.adts and source.audio_config is None:
            source.audio_config = adts_audio_config(memoryview(packet))
        self._ring.add(packet, None)
        clip = self._clip
        if clip is not None:
            try:
                clip.write_audio(packet)
            except WRITE_ERRORS as err:
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
        return self._until == math.inf if now is None else now < self._until - EPSILON_S

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
            opened = open_output(path, self._input)
        except (*WRITE_ERRORS, StorageError) as err:
            if path is not None:
                self._give_up(path)
            self._on_error(_storage_error(err, path))
            self._retry_at = now + _RETRY_AFTER_ERROR_S
            return
        onset = None if self._onset is None else max(self._onset, first_time)
        clip = ClipWriter(
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
        except WRITE_ERRORS as err:
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
        except WRITE_ERRORS as err:
            self._fail_clip(clip, err)
            return False
        self._emit(clip.result(size, clip.end_time - clip.first_time, self._thumbnail(clip)))
        return True

    def _fail(self, err: BaseException) -> None:
        clip = self._clip
        assert clip is not None  # noqa: S101 - only called while recording
        self._clip = None
        self._fail_clip(clip, err)

    def _fail_clip(self, clip: ClipWriter, err: BaseException) -> None:
        """Stop a clip that could not be written: salvage or delete it, report, retry later."""
        error = _storage_error(err, clip.path)
        kept = clip.abort()
        if kept is None:
            self._give_up(clip.path)
        else:
            size, duration = kept
            clip.cut_short = True
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

    def _thumbnail(self, clip: ClipWriter) -> bytes | None:
        """JPEG from the caller's provider, else of the chosen keyframe, decoded on its own."""
        if self._thumbnail_provider is not None:
            return self._thumbnail_provider()
        packet = clip.thumbnail_packet
        if packet is None:
            return None
        try:
            decoder = clip.source.decoder()
            frames = decoder.decode(packet) + decoder.decode(None)
            return encode_jpeg(frames[0], max_width=THUMBNAIL_MAX_WIDTH) if frames else None
        except av.FFmpegError, ValueError:
            return None  # A clip without a thumbnail is still a clip.
