"""Retention of the clip store: which clips go when age, total size or free space is over limit."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
import shutil
from typing import Final

from .clip_index import ClipIndex
from .clip_info import ClipInfo, ClipName
from .errors import StorageError
from .model import Verdict

# A clip flagged as a false alarm is what local tuning learns from: retention leaves it this
# long past the later of its own expiry and the moment it was flagged.
FEEDBACK_HOLD: Final = timedelta(days=14)


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """Limits retention enforces; None switches a limit off."""

    max_age_days: float | None = None
    max_total_bytes: int | None = None
    min_free_bytes: int | None = None

    def __post_init__(self) -> None:
        """Reject negative limits."""
        limits = (self.max_age_days, self.max_total_bytes, self.min_free_bytes)
        if any(limit is not None and limit < 0 for limit in limits):
            msg = f"retention limits must not be negative: {self}"
            raise ValueError(msg)

    def cutoff(self, now: datetime) -> datetime | None:
        """Clips that began before this are too old; None without an age limit."""
        return None if self.max_age_days is None else now - timedelta(days=self.max_age_days)


@dataclass(frozen=True, slots=True)
class RetentionResult:
    """What apply_retention deleted and how far it stayed from the limits it could not reach."""

    deleted: tuple[str, ...]
    still_short_bytes: int = 0  # free space still missing (kept, held or recording clips)
    still_over_bytes: int = 0  # total size still above max_total_bytes


def over_bytes(index: ClipIndex, policy: RetentionPolicy, camera: str | None) -> int:
    """How far the clips (of all cameras, or of one) are above max_total_bytes."""
    if policy.max_total_bytes is None:
        return 0
    return max(0, index.size_bytes(camera) - policy.max_total_bytes)


def short_bytes(root: Path, policy: RetentionPolicy) -> int:
    """How much free space the disk holding root lacks to reach min_free_bytes."""
    if policy.min_free_bytes is None:
        return 0
    try:
        free = shutil.disk_usage(root).free
    except OSError as err:
        msg = f"cannot measure free disk space: {err}"
        raise StorageError(msg) from err
    return max(0, policy.min_free_bytes - free)


def feedback_hold_until(info: ClipInfo, policy: RetentionPolicy) -> datetime | None:
    """Until when retention leaves a flagged false alarm alone; None for any other clip."""
    if info.verdict is not Verdict.FALSE_ALARM or info.verdict_at is None:
        return None
    expiry = info.verdict_at
    if policy.max_age_days is not None:
        expiry = max(expiry, info.start + timedelta(days=policy.max_age_days))
    return expiry + FEEDBACK_HOLD


def held_for_feedback(info: ClipInfo, policy: RetentionPolicy, *, now: datetime) -> bool:
    """Whether retention must leave this clip alone for now, as a flagged false alarm."""
    until = feedback_hold_until(info, policy)
    return until is not None and now < until


def _never(_info: ClipInfo) -> bool:
    return False


def victims(
    index: ClipIndex,
    *,
    cutoff: datetime | None,
    excess: int,
    short: int,
    camera: str | None,
    exempt: Callable[[str], bool],
    held: Callable[[ClipInfo], bool] = _never,
) -> list[ClipName]:
    """Oldest-first clips to delete; deleting one is estimated to free its disk_bytes.

    Exempt clips (kept, held by id, or held by their details) are skipped but count towards
    the limits.
    """
    chosen = []
    for entry in index.oldest_first(camera):
        expired = cutoff is not None and entry.info.start < cutoff
        if not (expired or excess > 0 or short > 0):
            break  # every later clip is younger, and the size limits are met
        if entry.info.kept or exempt(entry.name.clip_id) or held(entry.info):
            continue
        chosen.append(entry.name)
        excess -= entry.size_bytes
        short -= entry.disk_bytes
    return chosen
