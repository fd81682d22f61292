"""Plain data passed between the engine's parts (recorder, clip store, worker)."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path


class ClipTrigger(StrEnum):
    """What started a clip."""

    MOTION = "motion"
    MANUAL = "manual"


class Verdict(StrEnum):
    """What a person said about a clip: the detector was wrong, or right, to record it."""

    FALSE_ALARM = "false_alarm"
    CORRECT = "correct"


@dataclass(frozen=True, slots=True)
class RecordedClip:
    """A clip the recorder has finished writing (still at its `.mp4.part` path)."""

    part_path: Path
    start: datetime  # wall clock (UTC) of the first packet
    duration_s: float
    video_codec: str
    width: int
    height: int
    audio_codec: str | None
    trigger: ClipTrigger
    size_bytes: int
    thumbnail_jpeg: bytes | None = None
    # Seconds from the clip start at which motion began (pre-roll length, in effect).
    motion_offset_s: float | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)  # e.g. "split at max length"
    # Writing failed (a full disk, say) and what was written before is kept, playable.
    cut_short: bool = False
