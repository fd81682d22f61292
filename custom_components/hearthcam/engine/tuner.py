"""The tuner: replay flagged false alarms and the other clips with candidate settings.

Every clip is decoded once (engine/scan.py, the worker's own decode and pacing path) and its
analysed frames go to several real detectors in lockstep: the camera's current settings and
each candidate. A candidate is an area to ignore where the false alarms began (from the boxes
each clip keeps), a lower sensitivity, or both. The winner avoids the most false alarms while
every other clip that fires today still fires; without such a candidate there is no suggestion.
"""

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
import time
from typing import Final

import av
import numpy as np

from .motion import SENSITIVITY_MIN, Box, Detector, MotionDetector, MotionResult, MotionSettings
from .motion_place import WHOLE_PICTURE, area_of, union
from .regions import Polygon
from .scan import DEFAULT_FPS, DEFAULT_WIDTH, scan_video_with

# A suggestion needs at least this many flagged clips it would have avoided.
MIN_AVOIDED: Final = 2
# An area to ignore grows by this margin on each side (the source sways beyond its boxes).
ZONE_MARGIN: Final = 0.03
# An area larger than this share of the picture is no longer "an area": it is never proposed.
MAX_ZONE_AREA: Final = 0.4
# Sensitivity steps tried below the current one.
SENSITIVITY_STEPS: Final = 3


@dataclass(frozen=True, slots=True)
class ReplayClip:
    """One clip to replay: its file, whether a person flagged it, and where its motion was."""

    clip_id: str
    path: Path
    false_alarm: bool
    boxes: tuple[Box, ...] = ()  # the box that started it first, then the boxes over time


@dataclass(frozen=True, slots=True)
class Candidate:
    """Settings to try: an area to ignore, a sensitivity, or both."""

    ignore: Box | None
    sensitivity: int

    def settings(self, base: MotionSettings) -> MotionSettings:
        """Return the camera's detector settings changed by this candidate."""
        level = MotionSettings.for_sensitivity(self.sensitivity)
        regions = base.regions
        if self.ignore is not None:
            regions = replace(regions, ignored=(*regions.ignored, rectangle(self.ignore)))
        return replace(
            base,
            min_area=level.min_area,
            min_pixel_delta=level.min_pixel_delta,
            instant_area=max(base.instant_area, level.min_area),
            regions=regions,
        )

    def cost(self, current_sensitivity: int) -> tuple[int, float]:
        """How much it changes: sensitivity steps first, then the ignored share of the picture."""
        return current_sensitivity - self.sensitivity, 0.0 if self.ignore is None else size(
            self.ignore
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one candidate did to the replayed clips."""

    candidate: Candidate
    avoided: int  # flagged clips that fire today and would not have
    lost: int  # other clips that fire today and would not have


@dataclass(frozen=True, slots=True)
class Suggestion:
    """The change the tuner proposes, and the evidence for it."""

    ignore_zone: Box | None
    sensitivity: int  # the proposed sensitivity (the current one when it stays)
    current_sensitivity: int
    area: str | None  # the 3 x 3 area the ignored zone lies in (motion_place.AREAS)
    flagged: int  # flagged clips replayed
    reproduced: int  # of them, those the current settings still fire on
    from_area: int  # flagged clips whose motion began in that area
    avoided: int
    others: int  # other clips the current settings fire on
    kept: int  # of them, those that would still fire

    @property
    def key(self) -> str:
        """Stable name of the change, so a declined one is not proposed again."""
        zone = "-" if self.ignore_zone is None else ",".join(f"{v:.2f}" for v in self.ignore_zone)
        return f"ignore={zone};sensitivity={self.sensitivity}"

    def resembles(self, zone: Box | None, sensitivity: int) -> bool:
        """Whether this is much the same change: the same sensitivity, about the same zone.

        A person who declined ignoring the top right declined it too when one more false
        alarm there widens the zone a little.
        """
        if sensitivity != self.sensitivity or (zone is None) != (self.ignore_zone is None):
            return False
        return zone is None or self.ignore_zone is None or overlap(zone, self.ignore_zone) >= 0.5

    @property
    def ignore_polygon(self) -> Polygon | None:
        """The ignored zone as a polygon, as the camera's options write it."""
        return None if self.ignore_zone is None else rectangle(self.ignore_zone)

    def to_json(self) -> dict[str, object]:
        """Plain data for a log or a repair issue's data."""
        return {
            "ignore_zone": None if self.ignore_zone is None else list(self.ignore_zone),
            "sensitivity": self.sensitivity,
            "current_sensitivity": self.current_sensitivity,
            "area": self.area,
            "flagged": self.flagged,
            "reproduced": self.reproduced,
            "from_area": self.from_area,
            "avoided": self.avoided,
            "others": self.others,
            "kept": self.kept,
        }


@dataclass(frozen=True, slots=True)
class TuningReport:
    """A tuning run: its suggestion (or None), every candidate's outcome, and its cost."""

    suggestion: Suggestion | None
    outcomes: tuple[Outcome, ...]
    clips: int
    analysed_frames: int
    cpu_s: float  # CPU time of the thread that replayed
    wall_s: float
    skipped: tuple[str, ...] = field(default=())  # clips that could not be replayed


class _BoxWatcher:
    """Passes frames to a detector and keeps the boxes of the frames it reports motion in."""

    def __init__(self, detector: Detector) -> None:
        self.detector = detector
        self.boxes: list[Box] = []

    def analyse(self, frame: np.ndarray, timestamp_s: float) -> MotionResult:
        """Analyse; keep the box while motion is on."""
        result = self.detector.analyse(frame, timestamp_s)
        if result.motion and result.box is not None:
            self.boxes.append(result.box)
        return result

    def reset(self) -> None:
        """Reset the detector."""
        self.detector.reset()


def rectangle(box: Box) -> Polygon:
    """Return the box as a four-point polygon, rounded as the options text keeps it."""
    x0, y0, x1, y1 = (round(value, 3) for value in box)
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


def size(box: Box) -> float:
    """Share of the picture a box covers."""
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def overlap(first: Box, second: Box) -> float:
    """Intersection over union of two boxes, 0..1."""
    inner = (
        max(first[0], second[0]),
        max(first[1], second[1]),
        min(first[2], second[2]),
        min(first[3], second[3]),
    )
    shared = size(inner) if inner[0] < inner[2] and inner[1] < inner[3] else 0.0
    total = size(first) + size(second) - shared
    return shared / total if total > 0 else 0.0


def _padded(box: Box) -> Box:
    """Grow the box by the margin, inside the picture, rounded as the options keep it."""
    x0, y0, x1, y1 = (float(value) for value in box)
    return (
        round(max(0.0, x0 - ZONE_MARGIN), 3),
        round(max(0.0, y0 - ZONE_MARGIN), 3),
        round(min(1.0, x1 + ZONE_MARGIN), 3),
        round(min(1.0, y1 + ZONE_MARGIN), 3),
    )


def hot_area(clips: Iterable[ReplayClip]) -> tuple[str | None, list[ReplayClip]]:
    """Return the 3 x 3 area where most flagged clips' motion began, and those clips."""
    by_area: dict[str, list[ReplayClip]] = {}
    for clip in clips:
        if clip.false_alarm and clip.boxes and (area := area_of(clip.boxes[0])) != WHOLE_PICTURE:
            by_area.setdefault(area, []).append(clip)
    if not by_area:
        return None, []
    counts = Counter({area: len(members) for area, members in by_area.items()})
    area = counts.most_common(1)[0][0]
    return area, by_area[area]


def candidates(clips: Sequence[ReplayClip], sensitivity: int) -> list[Candidate]:
    """Areas to ignore where the flagged clips' motion began, lower sensitivities, and both."""
    _, hot = hot_area(clips)
    zones: list[Box] = []
    if hot:
        flagged = [clip for clip in clips if clip.false_alarm and clip.boxes]
        # All the boxes of those clips (the source sways), just where each one began, or all
        # the flagged clips' boxes (a source that moves across areas, as car lights do).
        choices = (
            [b for c in hot for b in c.boxes],
            [c.boxes[0] for c in hot],
            [b for c in flagged for b in c.boxes],
        )
        for boxes in choices:
            zone = _padded(union(boxes))
            if size(zone) <= MAX_ZONE_AREA and zone not in zones:
                zones.append(zone)
    lower = [
        level
        for level in range(sensitivity - 1, sensitivity - SENSITIVITY_STEPS - 1, -1)
        if level >= SENSITIVITY_MIN
    ]
    found = [Candidate(zone, sensitivity) for zone in zones]
    found += [Candidate(None, level) for level in lower]
    if zones and lower:
        found.append(Candidate(zones[0], lower[0]))
    return found


def replay(
    clips: Sequence[ReplayClip],
    base: MotionSettings,
    sensitivity: int,
    *,
    fps: float = DEFAULT_FPS,
    width: int = DEFAULT_WIDTH,
    should_stop: Callable[[], bool] = lambda: False,
) -> TuningReport:
    """Replay every clip with the current settings and each candidate; suggest the best.

    Clips without boxes get those of the current settings' replay. StopRequestedError (from
    scan) ends a run early when should_stop says so.
    """
    started_cpu, started_wall = time.thread_time(), time.monotonic()
    skipped: list[str] = []
    frames = 0
    # Boxes first: clips recorded before boxes were kept learn them from a replay.
    prepared: list[ReplayClip] = []
    for clip in clips:
        if clip.boxes:
            prepared.append(clip)
            continue
        watcher = _BoxWatcher(MotionDetector(base))
        try:
            (report,) = scan_video_with(clip.path, (watcher,), fps, width, should_stop=should_stop)
        except (av.error.FFmpegError, OSError, ValueError, IndexError) as err:
            skipped.append(f"{clip.clip_id}: {err}")
            continue
        frames += report.analysed_frames
        prepared.append(replace(clip, boxes=tuple(watcher.boxes)))
    tried = candidates(prepared, sensitivity)
    fired: dict[str, list[bool]] = {}
    for clip in prepared:
        settings = [base, *(candidate.settings(base) for candidate in tried)]
        try:
            reports = scan_video_with(
                clip.path,
                [MotionDetector(s) for s in settings],
                fps,
                width,
                should_stop=should_stop,
            )
        except (av.error.FFmpegError, OSError, ValueError, IndexError) as err:
            skipped.append(f"{clip.clip_id}: {err}")
            continue
        frames += reports[0].analysed_frames
        fired[clip.clip_id] = [bool(report.events) for report in reports]
    outcomes = tuple(
        _outcome(prepared, fired, index, candidate)
        for index, candidate in enumerate(tried, start=1)
    )
    suggestion = _suggest(prepared, fired, outcomes, sensitivity)
    return TuningReport(
        suggestion=suggestion,
        outcomes=outcomes,
        clips=len(fired),
        analysed_frames=frames,
        cpu_s=round(time.thread_time() - started_cpu, 3),
        wall_s=round(time.monotonic() - started_wall, 3),
        skipped=tuple(skipped),
    )


def _outcome(
    clips: Sequence[ReplayClip], fired: dict[str, list[bool]], index: int, candidate: Candidate
) -> Outcome:
    """Count what candidate number `index` avoided and lost among the clips that fire today."""
    avoided = lost = 0
    for clip in clips:
        result = fired.get(clip.clip_id)
        if result is None or not result[0] or result[index]:
            continue
        if clip.false_alarm:
            avoided += 1
        else:
            lost += 1
    return Outcome(candidate, avoided, lost)


def _suggest(
    clips: Sequence[ReplayClip],
    fired: dict[str, list[bool]],
    outcomes: Sequence[Outcome],
    sensitivity: int,
) -> Suggestion | None:
    """Pick what avoids most (at least half) of the flagged clips and loses no other clip."""
    replayed = [clip for clip in clips if clip.clip_id in fired]
    flagged = [clip for clip in replayed if clip.false_alarm]
    reproduced = sum(fired[clip.clip_id][0] for clip in flagged)
    others = sum(fired[clip.clip_id][0] for clip in replayed if not clip.false_alarm)
    fit = [
        outcome
        for outcome in outcomes
        if outcome.lost == 0
        and outcome.avoided >= MIN_AVOIDED
        and 2 * outcome.avoided >= reproduced
    ]
    if not fit:
        return None
    best = min(fit, key=lambda o: (-o.avoided, o.candidate.cost(sensitivity)))
    zone = best.candidate.ignore
    area, hot = hot_area(replayed)
    return Suggestion(
        ignore_zone=zone,
        sensitivity=best.candidate.sensitivity,
        current_sensitivity=sensitivity,
        area=area if zone is not None else None,
        flagged=len(flagged),
        reproduced=reproduced,
        from_area=len(hot) if zone is not None else 0,
        avoided=best.avoided,
        others=others,
        kept=others - best.lost,
    )
