"""Scan a video file with the real detector, exactly as a camera worker analyses its stream.

The file is decoded with PyAV and fed packet by packet to the worker's FrameAnalyser (frame
pacing, grey thumbnail, detector); an event is a run of frames the detector reports as motion,
so its own hysteresis (start frames, off delay) decides where events begin and end. Command
line: `python -m custom_components.hearthcam.engine.scan VIDEO [--sensitivity N] [--json]`
(scripts/scan wraps it).
"""

import argparse
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields, replace
import json
from pathlib import Path
import sys
import time
from typing import cast

import av
from av.packet import Packet
from av.stream import Stream
import numpy as np

from .errors import StopRequestedError
from .frame_decoder import DecodeOptions
from .motion import (
    SENSITIVITY_DEFAULT,
    SENSITIVITY_MAX,
    SENSITIVITY_MIN,
    Box,
    Detector,
    MotionDetector,
    MotionResult,
    MotionSettings,
)
from .worker import FrameAnalyser, WorkerSettings

# The worker's defaults, so a scan sees what a camera with default options sees.
_WORKER_DEFAULTS = {f.name: f.default for f in fields(WorkerSettings)}
DEFAULT_FPS = float(cast("float", _WORKER_DEFAULTS["analysis_fps"]))
DEFAULT_WIDTH = int(cast("int", _WORKER_DEFAULTS["analysis_width"]))


def build_detector(sensitivity: int = SENSITIVITY_DEFAULT) -> Detector:
    """Return the detector a camera with this sensitivity (1..10) runs."""
    return MotionDetector(MotionSettings.for_sensitivity(sensitivity))


@dataclass(frozen=True, slots=True)
class ScanEvent:
    """One motion event: from the frame motion turned on to the frame it turned off."""

    start_s: float
    end_s: float
    peak_score: float
    peak_s: float
    peak_box: Box | None
    ongoing: bool  # motion was still on at the end of the file

    @property
    def duration_s(self) -> float:
        """Length of the event in seconds."""
        return self.end_s - self.start_s


@dataclass(frozen=True, slots=True)
class ScanReport:
    """What a scan found, and what it analysed."""

    path: str
    events: tuple[ScanEvent, ...]
    sensitivity: int | None  # None when the caller supplied its own detector
    analysis_fps: float
    analysed_frames: int
    analysed_shape: tuple[int, int] | None  # grey frame height and width the detector saw
    decode_errors: int
    media_s: float  # time of the last decoded frame
    detector_ms_per_frame: float  # mean wall time of the detector's analyse call

    def to_json(self) -> dict[str, object]:
        """Plain data for json.dumps; each event also carries its duration."""
        data = asdict(self)
        for event, item in zip(self.events, data["events"], strict=True):
            item["duration_s"] = round(event.duration_s, 4)
        return data


class _Recorder:
    """Wraps a detector: passes every call through, remembering times, results and cost."""

    def __init__(self, detector: Detector) -> None:
        self.detector = detector
        self.results: list[tuple[float, MotionResult]] = []
        self.shape: tuple[int, int] | None = None
        self.elapsed_s = 0.0

    def analyse(self, frame: np.ndarray, timestamp_s: float) -> MotionResult:
        """Analyse with the wrapped detector and record the outcome."""
        started = time.perf_counter()
        result = self.detector.analyse(frame, timestamp_s)
        self.elapsed_s += time.perf_counter() - started
        self.shape = (frame.shape[0], frame.shape[1])
        self.results.append((timestamp_s, result))
        return result

    def reset(self) -> None:
        """Reset the wrapped detector."""
        self.detector.reset()


def events_from(results: Sequence[tuple[float, MotionResult]]) -> tuple[ScanEvent, ...]:
    """Turn per-frame (time, result) pairs into events: the runs of motion == True."""
    events: list[ScanEvent] = []
    start: float | None = None
    peak: tuple[float, float, Box | None] = (0.0, 0.0, None)
    for t, result in results:
        if result.motion and start is None:
            start, peak = t, (-1.0, t, None)
        if start is not None and result.motion and result.score > peak[0]:
            peak = (result.score, t, result.box)
        if start is not None and not result.motion:
            events.append(ScanEvent(start, t, max(peak[0], 0.0), peak[1], peak[2], ongoing=False))
            start = None
    if start is not None:
        end = results[-1][0]
        events.append(ScanEvent(start, end, max(peak[0], 0.0), peak[1], peak[2], ongoing=True))
    return tuple(events)


def scan_video(
    path: Path | str,
    *,
    sensitivity: int = SENSITIVITY_DEFAULT,
    fps: float = DEFAULT_FPS,
    width: int = DEFAULT_WIDTH,
    detector: Detector | None = None,
    decoding: DecodeOptions | None = None,
) -> ScanReport:
    """Run the detector over the first video stream of a file; report its motion events.

    detector replaces the one built from sensitivity (the benchmarks pass instrumented ones);
    decoding defaults to the worker's (low power off).
    """
    (report,) = scan_video_with(
        path, (detector or build_detector(sensitivity),), fps, width, decoding=decoding
    )
    return replace(report, sensitivity=None if detector is not None else sensitivity)


class _Lockstep:
    """Feeds every analysed frame to several recorders; the first one's result is returned."""

    def __init__(self, recorders: Sequence[_Recorder]) -> None:
        self.recorders = recorders

    def analyse(self, frame: np.ndarray, timestamp_s: float) -> MotionResult:
        """Analyse with every detector; return the first one's result."""
        results = [recorder.analyse(frame, timestamp_s) for recorder in self.recorders]
        return results[0]

    def reset(self) -> None:
        """Reset every detector."""
        for recorder in self.recorders:
            recorder.reset()


def scan_video_with(
    path: Path | str,
    detectors: Sequence[Detector],
    fps: float = DEFAULT_FPS,
    width: int = DEFAULT_WIDTH,
    *,
    should_stop: Callable[[], bool] = lambda: False,
    decoding: DecodeOptions | None = None,
) -> tuple[ScanReport, ...]:
    """Decode a file once and run several detectors over the same frames, one report each.

    should_stop is asked before every packet; when it says so, StopRequestedError is raised.
    decoding defaults to the worker's (low power off).
    """
    recorders = [_Recorder(detector) for detector in detectors]
    analyser = FrameAnalyser(
        _Lockstep(recorders), fps, width, lambda _result: None, decoding=decoding
    )
    last_time = 0.0
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        analyser.start(video)  # decodes as the worker does
        for packet in container.demux(video):
            if should_stop():
                msg = f"scan of {Path(path).name} stopped"
                raise StopRequestedError(msg)
            # The final empty packet flushes the decoder, so the last frames are analysed too.
            analyser.process(cast("Packet[Stream]", packet))
            if packet.pts is not None and packet.time_base is not None:
                last_time = max(last_time, float(packet.pts * packet.time_base))
    return tuple(
        ScanReport(
            path=str(path),
            events=events_from(recorder.results),
            sensitivity=None,
            analysis_fps=fps,
            analysed_frames=len(recorder.results),
            analysed_shape=recorder.shape,
            decode_errors=analyser.decode_errors,
            media_s=round(last_time, 4),
            detector_ms_per_frame=(
                round(1000 * recorder.elapsed_s / len(recorder.results), 4)
                if recorder.results
                else 0.0
            ),
        )
        for recorder in recorders
    )


def _timecode(seconds: float) -> str:
    """Format seconds as HH:MM:SS.mmm."""
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def format_report(report: ScanReport) -> str:
    """Render a report as a human-readable table of events."""
    shape = report.analysed_shape
    size = f"{shape[1]}x{shape[0]}" if shape else "-"
    heading = (
        f"{report.path}: {report.media_s:.1f} s, {report.analysed_frames} frames analysed at "
        f"{report.analysis_fps:g} fps ({size} grey), sensitivity {report.sensitivity}, "
        f"detector {report.detector_ms_per_frame:.3f} ms/frame"
    )
    lines = [
        heading,
        f"{'#':>3}  {'start':<12}  {'end':<12}  {'duration':>9}  {'peak score':>10}  peak at",
    ]
    for number, event in enumerate(report.events, 1):
        ongoing = " (ongoing)" if event.ongoing else ""
        lines.append(
            f"{number:>3}  {_timecode(event.start_s)}  {_timecode(event.end_s)}  "
            f"{event.duration_s:>8.2f}s  {event.peak_score:>10.4f}  "
            f"{_timecode(event.peak_s)}{ongoing}"
        )
    count = len(report.events)
    lines.append(f"{count} motion event{'s' if count != 1 else ''}")
    if report.decode_errors:
        lines.append(f"{report.decode_errors} packets could not be decoded")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Scan one video file and print its motion events (a table, or JSON with --json)."""
    parser = argparse.ArgumentParser(
        prog="scripts/scan", description="Print the motion events HearthCam finds in a video."
    )
    parser.add_argument("video", type=Path)
    parser.add_argument(
        "--sensitivity",
        type=int,
        default=SENSITIVITY_DEFAULT,
        choices=range(SENSITIVITY_MIN, SENSITIVITY_MAX + 1),
        metavar=f"{SENSITIVITY_MIN}..{SENSITIVITY_MAX}",
        help=f"as in the camera's options (default {SENSITIVITY_DEFAULT})",
    )
    parser.add_argument(
        "--fps", type=float, default=DEFAULT_FPS, help=f"frames analysed a second ({DEFAULT_FPS:g})"
    )
    parser.add_argument(
        "--width", type=int, default=DEFAULT_WIDTH, help=f"analysis width in px ({DEFAULT_WIDTH})"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    # scripts/scan may scan a staged copy; this is the name the user gave.
    parser.add_argument("--display-name", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.video.is_file():
        parser.error(f"no such file: {args.video}")
    if args.fps <= 0 or args.width < 16:
        parser.error("--fps must be positive and --width at least 16")
    try:
        report = scan_video(
            args.video, sensitivity=args.sensitivity, fps=args.fps, width=args.width
        )
    except (av.error.FFmpegError, IndexError) as err:
        sys.stderr.write(f"cannot scan {args.video}: {err}\n")
        return 1
    if args.display_name:
        report = replace(report, path=args.display_name)
    output = json.dumps(report.to_json(), indent=2) if args.json else format_report(report)
    sys.stdout.write(output + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
