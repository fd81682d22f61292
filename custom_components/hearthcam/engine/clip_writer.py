"""One clip being written: its MP4 file, repaired timestamps, and what its RecordedClip says."""

import contextlib
from datetime import datetime
import math
from pathlib import Path
from typing import Any, Final

import av
from av.packet import Packet
from av.video.stream import VideoStream

from .model import ClipTrigger, RecordedClip
from .mp4 import Mp4Output, adts_payload, complete_fragments, open_fragmented_mp4, open_h264_mp4
from .recording_input import RecordingInput
from .reencode import Reencoder
from .timestamps import TrackTimestamps

# Errors of writing a clip: OSError for files, FFmpegError for what the muxer reports.
WRITE_ERRORS: Final = (OSError, av.FFmpegError)


def _share(data: Packet[Any] | memoryview) -> Packet[Any]:
    """Return a new packet over the same bytes (no copy), for its own stream and times."""
    return av.Packet(data)  # type: ignore[arg-type] # PyAV takes any buffer; stubs say bytes


# A clip's file, its re-encoder for a re-encoded source, and notes on what it leaves out.
type OpenedOutput = tuple[Mp4Output, Reencoder | None, list[str]]


def open_output(path: Path, source: RecordingInput) -> OpenedOutput:
    """Open a clip file for the input streams; also return notes about what is left out."""
    audio, notes = source.audio, []
    if audio is not None and source.adts and source.audio_config is None:
        notes.append("audio not recorded: its format was not known yet")
        audio = None
    if not source.transcode:
        output, reencoder = open_fragmented_mp4(path, source.video, audio), None
    else:
        output = open_h264_mp4(
            path,
            width=source.width,
            height=source.height,
            rate=source.frame_rate,
            time_base=source.video_time_base,
            audio_template=audio,
        )
        reencoder = Reencoder(source, output.video)
    if output.audio is not None and source.adts:
        # ADTS headers are stripped per packet; MP4 wants their content once, as extradata.
        output.audio.codec_context.extradata = source.audio_config
    return output, reencoder, notes


class ClipWriter:
    """One clip being written: its file, timestamps, and what its RecordedClip will say."""

    def __init__(
        self,
        path: Path,
        opened: OpenedOutput,
        *,
        source: RecordingInput,
        trigger: ClipTrigger,
        first_time: float,
        start: datetime,
        onset: float | None,
    ) -> None:
        self.path = path
        self.output, self._reencoder, notes = opened
        self.source = source
        self.trigger = trigger
        self.first_time = first_time  # stream time of the first video packet
        self.end_time = first_time
        self.start = start
        self.onset = onset
        self.notes = [*source.notes, *notes]
        self.cut_short = False  # writing failed; what was written before is kept
        self.video = TrackTimestamps(source.video_time_base)
        self.audio = TrackTimestamps(source.audio_time_base)
        self._adts = self.output.audio is not None and source.adts
        self.fragment_times: list[float] = []  # each output keyframe starts an MP4 fragment
        self.thumbnail_packet: Packet[Any] | None = None
        self._thumbnail_time = first_time if onset is None else onset
        self._thumbnail_found = False

    def mark_motion(self, onset: float) -> None:
        """Motion began during this clip: the thumbnail moves to it."""
        if self.onset is None:
            self.onset = self._thumbnail_time = onset
            self._thumbnail_found = False

    def write_video(self, packet: Packet[Any]) -> None:
        """Write a video packet (may raise OSError or av.FFmpegError)."""
        track = self.video
        stamped = track.stamp(packet.pts, packet.dts)
        if stamped is None:
            return
        pts, dts = stamped
        origin = track.origin or 0
        tick = self.source.video_tick
        time = pts * tick
        duration = packet.duration
        self.end_time = max(
            self.end_time, time + (duration * tick if duration else self.source.frame_s)
        )
        keyframe = packet.is_keyframe
        if keyframe and not self._thumbnail_found:
            # The first keyframe at or after motion onset; until there is one, the latest.
            self.thumbnail_packet = packet
            self._thumbnail_found = time >= self._thumbnail_time
        if self._reencoder is not None:
            for out in self._reencoder.encode(packet, pts - origin):
                self._mux_encoded(out)
            return
        if keyframe:
            self.fragment_times.append(time)
        # A new packet sharing the data: the ring's packet keeps its own stream and times.
        out = _share(packet)
        out.pts, out.dts, out.duration = pts - origin, dts - origin, duration
        out.is_keyframe = keyframe
        out.time_base = self.source.video_time_base
        out.stream = self.output.video
        self.output.container.mux_one(out)

    def _mux_encoded(self, packet: Packet[VideoStream]) -> None:
        if packet.is_keyframe and packet.pts is not None:
            self.fragment_times.append(
                (packet.pts + (self.video.origin or 0)) * self.source.video_tick
            )
        self.output.container.mux_one(packet)

    def write_audio(self, packet: Packet[Any]) -> None:
        """Write an audio packet (may raise OSError or av.FFmpegError)."""
        output = self.output
        if output.audio is None or self.video.origin is None:
            return
        track = self.audio
        if track.origin is None:
            # The clip starts with video: audio time 0 is the first video dts.
            scale = self.source.video_time_base / self.source.audio_time_base
            track.origin = math.floor(self.video.origin * scale)
        stamped = track.stamp(packet.pts, packet.dts)
        if stamped is None:
            return
        pts, dts = stamped
        if self._adts:
            payload = adts_payload(memoryview(packet))
            if payload is None:
                return
            out = _share(payload)
        else:
            out = _share(packet)
        out.pts, out.dts, out.duration = pts - track.origin, dts - track.origin, packet.duration
        out.is_keyframe = packet.is_keyframe
        out.time_base = self.source.audio_time_base
        out.stream = output.audio
        output.container.mux_one(out)

    def close(self) -> None:
        """Flush the encoder, if any, and finish the file (may raise like the writes)."""
        if self._reencoder is not None:
            for packet in self._reencoder.flush():
                self._mux_encoded(packet)
        self.output.close()

    def abort(self) -> tuple[int, float] | None:
        """After a failure: cut the file to its complete fragments, if it has any.

        Returns the size and duration of what was kept, or None when nothing playable is left.
        """
        # The trailer is lost; the complete fragments before it are not.
        with contextlib.suppress(*WRITE_ERRORS):
            self.output.close()
        try:
            end, fragments = complete_fragments(self.path)
            if fragments:
                with self.path.open("r+b") as file:
                    file.truncate(end)
                times = self.fragment_times
                last = times[fragments] if fragments < len(times) else self.end_time
                return end, last - self.first_time
        except OSError:
            pass
        return None

    def result(self, size: int, duration_s: float, thumbnail: bytes | None) -> RecordedClip:
        """Describe the finished clip for the clip store."""
        source = self.source
        audio = self.output.audio
        repaired = self.video.repaired + self.audio.repaired
        if repaired:
            self.notes.append(f"{repaired} packet timestamps repaired")
        if self._reencoder is not None and self._reencoder.damaged:
            self.notes.append(f"{self._reencoder.damaged} damaged frames left out")
        return RecordedClip(
            part_path=self.path,
            start=self.start,
            duration_s=max(0.0, duration_s),
            video_codec="h264" if source.transcode else source.codec,
            width=source.width,
            height=source.height,
            audio_codec=None if audio is None else "aac",
            trigger=self.trigger,
            size_bytes=size,
            thumbnail_jpeg=thumbnail,
            motion_offset_s=None if self.onset is None else max(0.0, self.onset - self.first_time),
            notes=tuple(self.notes),
            cut_short=self.cut_short,
        )
