"""What a clip is: its id and file names, validated by pattern, and its details in a sidecar.

The clip id is `<camera_key>/<YYYY-MM-DD>/<HHMMSS>-<n>` (UTC), where `n` (1, 2, ...) keeps ids
unique within a second; the files are `<HHMMSS>-<n>.mp4`, `.jpg`, `.json` and `.mp4.part`.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
import json
import math
import os
from pathlib import Path
import re
from typing import Final

from .errors import InvalidClipIdError
from .model import ClipTrigger, Verdict
from .motion import Box
from .packed_series import BoxSample, PackedBoxes, PackedScores, ScoreSample

SIDECAR_SCHEMA: Final = 1
CAMERA_KEY_PATTERN: Final = r"[a-z0-9_-]{1,64}"
DAY_PATTERN: Final = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
# A clip's file name without suffix: HHMMSS-n (groups time and n).
CLIP_STEM_PATTERN: Final = r"(?P<time>[0-9]{6})-(?P<n>[1-9][0-9]{0,5})"
CAMERA_RE: Final = re.compile(CAMERA_KEY_PATTERN)
DAY_RE: Final = re.compile(DAY_PATTERN)
_ID_RE: Final = re.compile(
    rf"(?P<camera>{CAMERA_KEY_PATTERN})/(?P<day>{DAY_PATTERN})/{CLIP_STEM_PATTERN}"
)
_FILE_RE: Final = re.compile(
    rf"(?P<stem>{CLIP_STEM_PATTERN})(?P<ext>\.mp4|\.jpg|\.json|\.mp4\.part)"
)
MAX_N: Final = 999_999  # the largest n the id pattern allows
PART: Final = ".mp4.part"
_MAX_SIDECAR_BYTES: Final = 8 * 1024 * 1024
# Box coordinates are kept to 3 decimals: a thousandth of the picture is finer than a cell.
BOX_DECIMALS: Final = 3


class ClipFile(StrEnum):
    """The files of a clip that resolve() can return."""

    VIDEO = "video"
    THUMBNAIL = "thumbnail"
    SIDECAR = "sidecar"

    @property
    def suffix(self) -> str:
        """File name suffix of this kind of file."""
        return _SUFFIXES[self]


_SUFFIXES: Final = {ClipFile.VIDEO: ".mp4", ClipFile.THUMBNAIL: ".jpg", ClipFile.SIDECAR: ".json"}


@dataclass(frozen=True, slots=True)
class ClipInfo:
    """Everything known about a finished clip; start and end are aware UTC datetimes."""

    clip_id: str
    camera_key: str
    start: datetime
    end: datetime
    duration_s: float
    video_codec: str
    audio_codec: str | None
    width: int
    height: int
    size_bytes: int  # of the MP4
    trigger: ClipTrigger
    peak_score: float
    # (seconds from start, score) every half second; packed on construction (packed_series)
    motion_timeline: Sequence[ScoreSample]
    kept: bool
    has_thumbnail: bool
    notes: tuple[str, ...]
    motion_offset_s: float | None = None  # where motion began, i.e. the pre-roll length
    cut_short: bool = False  # writing failed part-way; the clip holds what was written before
    # Where motion was: (seconds from start, bounding box in 0..1) samples, and the box that
    # started the clip; both empty for clips recorded before they were kept.
    motion_boxes: Sequence[BoxSample] = ()
    onset_box: Box | None = None
    verdict: Verdict | None = None  # what a person said about the clip
    verdict_at: datetime | None = None  # when they said it (aware UTC)
    kept_by: str | None = None  # the user who kept it (None: an automation, or not kept)
    # Whether whoever kept it was an administrator: then only an administrator releases it.
    kept_by_admin: bool = False

    def __post_init__(self) -> None:
        """Pack the series: a clip's record stays in memory for as long as the clip is kept."""
        object.__setattr__(self, "motion_timeline", PackedScores.of(self.motion_timeline))
        object.__setattr__(self, "motion_boxes", PackedBoxes.of(self.motion_boxes))

    def to_json(self) -> dict[str, object]:
        """Sidecar content, tagged with the schema version."""
        return {
            "schema": SIDECAR_SCHEMA,
            "clip_id": self.clip_id,
            "camera_key": self.camera_key,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "duration_s": self.duration_s,
            "video_codec": self.video_codec,
            "audio_codec": self.audio_codec,
            "width": self.width,
            "height": self.height,
            "size_bytes": self.size_bytes,
            "trigger": self.trigger.value,
            "peak_score": self.peak_score,
            "motion_offset_s": self.motion_offset_s,
            "motion_timeline": [list(point) for point in self.motion_timeline],
            "kept": self.kept,
            "has_thumbnail": self.has_thumbnail,
            "notes": list(self.notes),
            "cut_short": self.cut_short,
            "motion_boxes": [[offset, *box] for offset, box in self.motion_boxes],
            "onset_box": None if self.onset_box is None else list(self.onset_box),
            "verdict": None if self.verdict is None else self.verdict.value,
            "verdict_at": None if self.verdict_at is None else self.verdict_at.isoformat(),
            "kept_by": self.kept_by,
            "kept_by_admin": self.kept_by_admin,
        }

    @classmethod
    def from_json(cls, data: object, clip_id: str | None = None) -> ClipInfo:
        """Parse sidecar content (of clip_id, if given); ValueError if it is not valid."""
        if not isinstance(data, dict):
            msg = "sidecar is not a JSON object"
            raise ValueError(msg)  # noqa: TRY004 - one error type for every invalid sidecar
        schema = data.get("schema")
        if isinstance(schema, bool) or schema != SIDECAR_SCHEMA:
            msg = f"unsupported sidecar schema {schema!r}"
            raise ValueError(msg)
        name = ClipName.parse(_str(data, "clip_id"))  # InvalidClipIdError is a ValueError
        if clip_id is not None and name.clip_id != clip_id:
            msg = f"sidecar describes {name.clip_id}, not {clip_id}"
            raise ValueError(msg)
        if _str(data, "camera_key") != name.camera:
            msg = "camera_key does not match clip_id"
            raise ValueError(msg)
        timeline = data.get("motion_timeline")
        if not isinstance(timeline, list) or not all(
            isinstance(point, list) and len(point) == 2 for point in timeline
        ):
            msg = "motion_timeline must be a list of [offset_s, score] pairs"
            raise ValueError(msg)
        notes = data.get("notes")
        if not isinstance(notes, list) or not all(isinstance(note, str) for note in notes):
            msg = "notes must be a list of strings"
            raise ValueError(msg)
        offset = data.get("motion_offset_s")
        verdict = data.get("verdict")
        verdict_at = data.get("verdict_at")
        return cls(
            clip_id=name.clip_id,
            camera_key=name.camera,
            start=_timestamp(data, "start"),
            end=_timestamp(data, "end"),
            duration_s=_number(data, "duration_s"),
            video_codec=_str(data, "video_codec"),
            audio_codec=None if data.get("audio_codec") is None else _str(data, "audio_codec"),
            width=_count(data, "width"),
            height=_count(data, "height"),
            size_bytes=_count(data, "size_bytes"),
            trigger=ClipTrigger(_str(data, "trigger")),
            peak_score=_number(data, "peak_score"),
            motion_timeline=tuple((finite(o), finite(s)) for o, s in timeline),
            kept=_bool(data, "kept"),
            has_thumbnail=_bool(data, "has_thumbnail"),
            notes=tuple(notes),
            motion_offset_s=None if offset is None else _number(data, "motion_offset_s"),
            # Sidecars written before the field existed have no such key.
            cut_short="cut_short" in data and _bool(data, "cut_short"),
            # Sidecars written before where and verdicts were kept lack these keys.
            motion_boxes=_boxes(data.get("motion_boxes", [])),
            onset_box=None if data.get("onset_box") is None else box_of(data["onset_box"]),
            verdict=None if verdict is None else Verdict(_str(data, "verdict")),
            verdict_at=None if verdict_at is None else _timestamp(data, "verdict_at"),
            kept_by=None if data.get("kept_by") is None else _str(data, "kept_by"),
            kept_by_admin=kept_by_admin(data),
        )


def box_of(value: object) -> Box:
    """Return a normalised box from 4 numbers x0, y0, x1, y1 in 0..1; ValueError otherwise."""
    if not isinstance(value, list | tuple) or len(value) != 4:
        msg = f"a box is 4 numbers, not {value!r}"
        raise ValueError(msg)
    x0, y0, x1, y1 = (finite(v) for v in value)
    if not (0 <= x0 <= x1 <= 1 and 0 <= y0 <= y1 <= 1):
        msg = f"a box lies within 0..1 with x0 <= x1 and y0 <= y1, not {value!r}"
        raise ValueError(msg)
    return x0, y0, x1, y1


def round_box(box: Box) -> Box:
    """Return the box as stored: each coordinate rounded to BOX_DECIMALS."""
    x0, y0, x1, y1 = (round(v, BOX_DECIMALS) for v in box)
    return x0, y0, x1, y1


def _boxes(value: object) -> tuple[tuple[float, Box], ...]:
    if not isinstance(value, list) or not all(
        isinstance(sample, list) and len(sample) == 5 for sample in value
    ):
        msg = "motion_boxes must be a list of [offset_s, x0, y0, x1, y1]"
        raise ValueError(msg)
    return tuple((finite(sample[0]), box_of(sample[1:])) for sample in value)


def kept_by_admin(data: Mapping[str, object]) -> bool:
    """Whether sidecar content says an administrator kept the clip.

    A sidecar written before keepers were recorded cannot say who kept its clip: it counts as
    an administrator's keep, so evidence never loses its protection by an upgrade.
    """
    if data.get("kept") is not True:
        return False
    return "kept_by_admin" not in data or _bool(data, "kept_by_admin")


def sidecar_bytes(info: ClipInfo) -> bytes:
    """Sidecar file content: compact JSON, refusing NaN."""
    return json.dumps(info.to_json(), separators=(",", ":"), allow_nan=False).encode() + b"\n"


def read_sidecar(dir_fd: int, name: str) -> object:
    """Parse the JSON of a sidecar file in that directory, never through a symlink."""
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    with os.fdopen(fd, "rb") as file:
        if os.fstat(fd).st_size > _MAX_SIDECAR_BYTES:
            msg = "sidecar is too large"
            raise ValueError(msg)
        return json.loads(file.read())


def is_newer_sidecar(data: object) -> bool:
    """Whether this sidecar content comes from a newer release (a higher schema)."""
    schema = data.get("schema") if isinstance(data, dict) else None
    return isinstance(schema, int) and not isinstance(schema, bool) and schema > SIDECAR_SCHEMA


def _field(data: Mapping[str, object], key: str) -> object:
    if key not in data:
        msg = f"missing {key!r}"
        raise ValueError(msg)
    return data[key]


def _typed[T](data: Mapping[str, object], key: str, kind: type[T], expected: str) -> T:
    value = _field(data, key)
    if not isinstance(value, kind):
        msg = f"{key!r} must be {expected}"
        raise ValueError(msg)  # noqa: TRY004 - one error type for every invalid sidecar
    return value


def _str(data: Mapping[str, object], key: str) -> str:
    return _typed(data, key, str, "a string")


def _bool(data: Mapping[str, object], key: str) -> bool:
    return _typed(data, key, bool, "true or false")


def _count(data: Mapping[str, object], key: str) -> int:
    value = _field(data, key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        msg = f"{key!r} must be a non-negative integer"
        raise ValueError(msg)
    return value


def finite(value: object) -> float:
    """Return the value as a float, refusing anything but a finite int or float."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        msg = f"expected a finite number, got {value!r}"
        raise ValueError(msg)
    return float(value)


def _number(data: Mapping[str, object], key: str) -> float:
    value = finite(_field(data, key))
    if value < 0:
        msg = f"{key!r} must not be negative"
        raise ValueError(msg)
    return value


def _timestamp(data: Mapping[str, object], key: str) -> datetime:
    return utc(datetime.fromisoformat(_str(data, key)))


def utc(moment: datetime) -> datetime:
    """Convert to UTC, refusing naive datetimes rather than guessing their zone."""
    if moment.utcoffset() is None:
        msg = f"expected a timezone-aware datetime, got {moment!r}"
        raise ValueError(msg)
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class ClipName:
    """The parts of a well-formed clip id."""

    camera: str
    day: str
    time: str  # HHMMSS
    n: int

    @classmethod
    def parse(cls, clip_id: object) -> ClipName:
        """Split a clip id, refusing anything but the exact canonical shape."""
        match = _ID_RE.fullmatch(clip_id) if isinstance(clip_id, str) else None
        if match is None or not valid_day(match["day"]) or not _valid_time(match["time"]):
            msg = f"malformed clip id {clip_id!r}"
            raise InvalidClipIdError(msg)
        return cls(match["camera"], match["day"], match["time"], int(match["n"]))

    @property
    def stem(self) -> str:
        """File name without suffix."""
        return f"{self.time}-{self.n}"

    @property
    def clip_id(self) -> str:
        """The id this name stands for."""
        return f"{self.camera}/{self.day}/{self.stem}"

    def path(self, root: Path, suffix: str) -> Path:
        """Where this clip's file with that suffix lies in a store rooted at root."""
        return root / self.camera / self.day / (self.stem + suffix)

    @property
    def sort_key(self) -> tuple[str, int, str]:
        """Chronological order within a day (n is allocation order within a second)."""
        return self.time, self.n, self.clip_id

    @property
    def start(self) -> datetime:
        """Start of the clip to the second, as encoded in the id."""
        return datetime.strptime(self.day + self.time, "%Y-%m-%d%H%M%S").replace(tzinfo=UTC)


def match_clip_file(filename: str) -> re.Match[str] | None:
    """Match a clip's file name (groups stem, time, n, ext); None if it is not one."""
    match = _FILE_RE.fullmatch(filename)
    return match if match and _valid_time(match["time"]) else None


def valid_day(day: str) -> bool:
    """Whether a YYYY-MM-DD string is a real date."""
    try:
        date.fromisoformat(day)
    except ValueError:
        return False
    return True


def _valid_time(hhmmss: str) -> bool:
    return int(hhmmss[:2]) < 24 and int(hhmmss[2:4]) < 60 and int(hhmmss[4:]) < 60


def check_camera_key(camera_key: object) -> str:
    """Return a well-formed camera key, or raise InvalidClipIdError."""
    if not isinstance(camera_key, str) or not CAMERA_RE.fullmatch(camera_key):
        msg = f"malformed camera key {camera_key!r}"
        raise InvalidClipIdError(msg)
    return camera_key


def check_day(day: object) -> str:
    """Return a well-formed, real day (YYYY-MM-DD), or raise InvalidClipIdError."""
    if not isinstance(day, str) or not DAY_RE.fullmatch(day) or not valid_day(day):
        msg = f"malformed day {day!r}"
        raise InvalidClipIdError(msg)
    return day
