"""ClipStore: on-disk layout, sidecars, an in-memory index, retention and crash recovery.

Layout, with every date and time in UTC:
`<root>/<camera_key>/<YYYY-MM-DD>/<HHMMSS>-<n>.mp4`, a `.jpg` thumbnail and a `.json` sidecar
beside it, and `.mp4.part` while the clip is being recorded. The clip id is
`<camera_key>/<YYYY-MM-DD>/<HHMMSS>-<n>`, where `n` (1, 2, ...) keeps ids unique within a second.

Nothing below the root is reached through a symlink: every file operation goes through
directory descriptors opened with O_NOFOLLOW, so a link planted in the store is never followed.
"""

import bisect
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
import errno
import heapq
import json
import logging
import math
import os
from pathlib import Path
import re
import secrets
import shutil
import stat
import threading
from typing import Final, NamedTuple

import av
from av.container import InputContainer
from av.packet import Packet
from av.stream import Stream
from av.video.stream import VideoStream

from .errors import (
    ClipNotFoundError,
    EngineError,
    InvalidClipIdError,
    StorageError,
    StorageFullError,
)
from .imaging import encode_jpeg
from .model import ClipTrigger, RecordedClip
from .mp4 import Mp4Output, open_fragmented_mp4

_LOGGER = logging.getLogger(__name__)

SIDECAR_SCHEMA: Final = 1
THUMBNAIL_MAX_WIDTH: Final = 640
CAMERA_KEY_PATTERN: Final = r"[a-z0-9_-]{1,64}"
RECOVERED_NOTE: Final = "recovered after an interrupted recording"
REBUILT_NOTE: Final = "details rebuilt from the video file"

_CAMERA_RE: Final = re.compile(CAMERA_KEY_PATTERN)
_DAY_RE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_STEM = r"(?P<time>[0-9]{6})-(?P<n>[1-9][0-9]{0,5})"
_ID_RE: Final = re.compile(
    rf"(?P<camera>{CAMERA_KEY_PATTERN})/(?P<day>[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}})/{_STEM}"
)
_FILE_RE: Final = re.compile(rf"(?P<stem>{_STEM})(?P<ext>\.mp4|\.jpg|\.json|\.mp4\.part)")
_TEMP_RE: Final = re.compile(r"\..+\.tmp")  # what _write_atomic and recovery leave after a crash
_MAX_N: Final = 999_999
_MAX_SIDECAR_BYTES: Final = 8 * 1024 * 1024
_PART: Final = ".mp4.part"
_DIR_FLAGS: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_SYMLINK_ERRNOS: Final = frozenset({errno.ELOOP, errno.ENOTDIR})


class ClipInUseError(EngineError):
    """The clip is being recorded or is held (e.g. an export is being built from it)."""


class ClipFile(StrEnum):
    """The files of a clip that resolve() can return."""

    VIDEO = "video"
    THUMBNAIL = "thumbnail"
    SIDECAR = "sidecar"


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
    motion_timeline: tuple[tuple[float, float], ...]  # (seconds from start, score)
    kept: bool
    has_thumbnail: bool
    notes: tuple[str, ...]
    motion_offset_s: float | None = None  # where motion began, i.e. the pre-roll length

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
        name = _ClipName.parse(_str(data, "clip_id"), error=ValueError)
        if clip_id is not None and name.clip_id != clip_id:
            msg = f"sidecar describes {name.clip_id}, not {clip_id}"
            raise ValueError(msg)
        if _str(data, "camera_key") != name.camera:
            msg = "camera_key does not match clip_id"
            raise ValueError(msg)
        timeline = data.get("motion_timeline")
        if not isinstance(timeline, list) or not all(
            isinstance(point, list) and len(point) == 2  # noqa: PLR2004 - (offset, score) pairs
            for point in timeline
        ):
            msg = "motion_timeline must be a list of [offset_s, score] pairs"
            raise ValueError(msg)
        notes = data.get("notes")
        if not isinstance(notes, list) or not all(isinstance(note, str) for note in notes):
            msg = "notes must be a list of strings"
            raise ValueError(msg)
        offset = data.get("motion_offset_s")
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
            motion_timeline=tuple((_finite(o), _finite(s)) for o, s in timeline),
            kept=_bool(data, "kept"),
            has_thumbnail=_bool(data, "has_thumbnail"),
            notes=tuple(notes),
            motion_offset_s=None if offset is None else _number(data, "motion_offset_s"),
        )


def _field(data: Mapping[str, object], key: str) -> object:
    if key not in data:
        msg = f"missing {key!r}"
        raise ValueError(msg)
    return data[key]


def _str(data: Mapping[str, object], key: str) -> str:
    value = _field(data, key)
    if not isinstance(value, str):
        msg = f"{key!r} must be a string"
        raise ValueError(msg)  # noqa: TRY004 - one error type for every invalid sidecar
    return value


def _bool(data: Mapping[str, object], key: str) -> bool:
    value = _field(data, key)
    if not isinstance(value, bool):
        msg = f"{key!r} must be true or false"
        raise ValueError(msg)  # noqa: TRY004 - one error type for every invalid sidecar
    return value


def _count(data: Mapping[str, object], key: str) -> int:
    value = _field(data, key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        msg = f"{key!r} must be a non-negative integer"
        raise ValueError(msg)
    return value


def _finite(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        msg = f"expected a finite number, got {value!r}"
        raise ValueError(msg)
    return float(value)


def _number(data: Mapping[str, object], key: str) -> float:
    value = _finite(_field(data, key))
    if value < 0:
        msg = f"{key!r} must not be negative"
        raise ValueError(msg)
    return value


def _timestamp(data: Mapping[str, object], key: str) -> datetime:
    return _utc(datetime.fromisoformat(_str(data, key)))


def _utc(moment: datetime) -> datetime:
    """Convert to UTC, refusing naive datetimes rather than guessing their zone."""
    if moment.utcoffset() is None:
        msg = f"expected a timezone-aware datetime, got {moment!r}"
        raise ValueError(msg)
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class _ClipName:
    """The parts of a well-formed clip id."""

    camera: str
    day: str
    time: str  # HHMMSS
    n: int

    @classmethod
    def parse(cls, clip_id: object, error: type[Exception] = InvalidClipIdError) -> _ClipName:
        """Split a clip id, refusing anything but the exact canonical shape."""
        match = _ID_RE.fullmatch(clip_id) if isinstance(clip_id, str) else None
        if match is None or not _valid_day(match["day"]) or not _valid_time(match["time"]):
            msg = f"malformed clip id {clip_id!r}"
            raise error(msg)
        return cls(match["camera"], match["day"], match["time"], int(match["n"]))

    @property
    def stem(self) -> str:
        """File name without suffix."""
        return f"{self.time}-{self.n}"

    @property
    def clip_id(self) -> str:
        """The id this name stands for."""
        return f"{self.camera}/{self.day}/{self.stem}"

    @property
    def sort_key(self) -> tuple[str, int, str]:
        """Chronological order within a day (n is allocation order within a second)."""
        return self.time, self.n, self.clip_id

    @property
    def start(self) -> datetime:
        """Start of the clip to the second, as encoded in the id."""
        return datetime.strptime(self.day + self.time, "%Y-%m-%d%H%M%S").replace(tzinfo=UTC)


def _valid_day(day: str) -> bool:
    try:
        date.fromisoformat(day)
    except ValueError:
        return False
    return True


def _valid_time(hhmmss: str) -> bool:
    return int(hhmmss[:2]) < 24 and int(hhmmss[2:4]) < 60 and int(hhmmss[4:]) < 60  # noqa: PLR2004


def _check_camera_key(camera_key: object) -> str:
    if not isinstance(camera_key, str) or not _CAMERA_RE.fullmatch(camera_key):
        msg = f"malformed camera key {camera_key!r}"
        raise InvalidClipIdError(msg)
    return camera_key


def _check_day(day: object) -> str:
    if not isinstance(day, str) or not _DAY_RE.fullmatch(day) or not _valid_day(day):
        msg = f"malformed day {day!r}"
        raise InvalidClipIdError(msg)
    return day


@dataclass(frozen=True, slots=True)
class Usage:
    """Bytes on disk (MP4, thumbnail and sidecar) and number of finished clips."""

    size_bytes: int = 0
    clip_count: int = 0


@dataclass(frozen=True, slots=True)
class StoreUsage:
    """Usage of the whole store and of each camera."""

    total: Usage
    cameras: Mapping[str, Usage]


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


@dataclass(frozen=True, slots=True)
class RetentionResult:
    """What apply_retention deleted and how far it stayed from the limits it could not reach."""

    deleted: tuple[str, ...]
    still_short_bytes: int = 0  # free space still missing (kept, held or recording clips)
    still_over_bytes: int = 0  # total size still above max_total_bytes


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    """Leftover `.mp4.part` files: made into clips, or removed as unreadable."""

    recovered: tuple[str, ...] = ()
    removed: tuple[Path, ...] = ()


@dataclass(frozen=True, slots=True)
class LoadReport:
    """What load() found on disk."""

    clips: int
    rebuilt: tuple[str, ...]  # ids whose details came from probing the MP4, not the sidecar
    removed: tuple[Path, ...]  # orphan sidecars and thumbnails, stale temporary files
    unreadable: tuple[Path, ...]  # MP4s without a usable sidecar that PyAV could not read
    recovery: RecoveryReport


@dataclass(slots=True)
class _Scan:
    """What load() found, gathered while walking the store."""

    entries: list[_Entry] = field(default_factory=list)
    rebuilt: list[str] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    unreadable: list[Path] = field(default_factory=list)
    parts: list[Path] = field(default_factory=list)


@dataclass(slots=True)
class _Entry:
    """A clip in the index, with what its files occupy."""

    info: ClipInfo
    name: _ClipName
    size_bytes: int  # sum of file sizes: what usage and max_total_bytes count
    disk_bytes: int  # allocated blocks: what deleting the clip frees


class _Dirs(NamedTuple):
    root: int
    camera: int
    day: int


@dataclass(frozen=True, slots=True)
class _MediaFacts:
    """What probing or salvaging an MP4 found out."""

    video_codec: str
    width: int
    height: int
    audio_codec: str | None
    duration_s: float
    thumbnail: bytes | None


class ClipStore:
    """Clips of all cameras under one root: thread-safe, indexed in memory, never scanned per call.

    Locking: `_lock` guards the index and bookkeeping and is held only briefly (never across
    PyAV work; an fsync only when allocate creates a day's directory), so listing stays fast
    while clips are written. `_mutate_lock` serialises what changes or removes existing
    clips' files (load, recovery, set_kept, delete, retention), so sidecars and index agree.
    """

    def __init__(self, root: Path) -> None:
        # The root itself may be reached through a symlink (e.g. a mounted media disk).
        self._root = Path(root).resolve()
        self._lock = threading.Lock()
        self._mutate_lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        # camera -> day -> sort keys ascending; a day lists newest first by reading backwards.
        self._days: dict[str, dict[str, list[tuple[str, int, str]]]] = {}
        self._usage: dict[str, Usage] = {}
        self._active: dict[Path, _ClipName] = {}  # parts being written or recovered
        self._holds: Counter[str] = Counter()
        self._loaded = False
        self._loading = False

    @property
    def root(self) -> Path:
        """Directory holding all clips."""
        return self._root

    @property
    def active(self) -> frozenset[Path]:
        """The `.mp4.part` paths currently being written (or recovered)."""
        with self._lock:
            return frozenset(self._active)

    # --- recording -----------------------------------------------------------------------

    def allocate(self, camera_key: str, start: datetime) -> tuple[str, Path]:
        """Reserve a clip id for a recording starting at `start`; return it and its part path."""
        name_start = _utc(start)
        camera = _check_camera_key(camera_key)
        day, time = name_start.strftime("%Y-%m-%d"), name_start.strftime("%H%M%S")
        with self._lock:
            if not self._loaded or self._loading:
                msg = "the clip store is not loaded yet"
                raise StorageError(msg)
            try:
                with self._open_dirs(camera, day, create=True) as dirs:
                    name = self._free_name(dirs.day, camera, day, time)
            except OSError as err:
                msg = f"cannot create the directory for {camera}/{day}"
                raise _storage_error(msg, err) from err
            part = self._path(name, _PART)
            self._active[part] = name
        return name.clip_id, part

    def _free_name(self, day_fd: int, camera: str, day: str, time: str) -> _ClipName:
        """First n in this second with no clip, reservation or file (lock held)."""
        reserved = set(self._active.values())
        for n in range(1, _MAX_N + 1):
            name = _ClipName(camera, day, time, n)
            if name.clip_id in self._entries or name in reserved:
                continue
            if not any(_exists(day_fd, name.stem + ext) for ext in (".mp4", _PART, ".json")):
                return name
        msg = f"no free clip id left in {camera}/{day} {time}"
        raise StorageError(msg)

    def finalize(
        self,
        recorded: RecordedClip,
        *,
        peak_score: float = 0.0,
        motion_timeline: Iterable[tuple[float, float]] = (),
    ) -> ClipInfo:
        """Turn a finished part into a clip: rename it, write thumbnail and sidecar, index it.

        ValueError (nothing changed, the part stays active) for NaN numbers or a naive start;
        StorageError if the part cannot be renamed: it is then no longer active and stays on
        disk, for recovery at the next load() unless the caller abandons it.
        """
        # Checked before anything changes: a sidecar must never hold NaN or a naive time.
        timeline = tuple((_finite(offset), _finite(score)) for offset, score in motion_timeline)
        peak = _finite(peak_score)
        start = _utc(recorded.start)
        if _finite(recorded.duration_s) < 0:
            msg = f"negative duration {recorded.duration_s}"
            raise ValueError(msg)
        if recorded.motion_offset_s is not None:
            _finite(recorded.motion_offset_s)
        with self._lock:
            name = self._active.get(recorded.part_path)
        if name is None:
            msg = f"{recorded.part_path} is not a part this store allocated, or was finished"
            raise StorageError(msg)
        try:
            entry = self._commit(name, recorded, start, peak, timeline)
        except BaseException:
            with self._lock:
                del self._active[recorded.part_path]
            raise
        with self._lock:  # one step, so the id is never free between reserved and indexed
            del self._active[recorded.part_path]
            self._index_add(entry)
        return entry.info

    def _commit(
        self,
        name: _ClipName,
        recorded: RecordedClip,
        start: datetime,
        peak: float,
        timeline: tuple[tuple[float, float], ...],
    ) -> _Entry:
        """Rename the part (the commit point), then write thumbnail and sidecar beside it."""
        mp4 = name.stem + ".mp4"
        try:
            with self._open_dirs(name.camera, name.day) as dirs:
                size = _fsync_file(dirs.day, name.stem + _PART)  # durable before it is named
                os.replace(name.stem + _PART, mp4, src_dir_fd=dirs.day, dst_dir_fd=dirs.day)
                # From here on the clip exists; metadata problems are logged, not raised, so a
                # full disk still leaves a playable, indexed clip that retention can remove.
                has_thumbnail = recorded.thumbnail_jpeg is not None and _write_or_log(
                    dirs.day, name.stem + ".jpg", recorded.thumbnail_jpeg
                )
                info = ClipInfo(
                    clip_id=name.clip_id,
                    camera_key=name.camera,
                    start=start,
                    end=start + timedelta(seconds=recorded.duration_s),
                    duration_s=recorded.duration_s,
                    video_codec=recorded.video_codec,
                    audio_codec=recorded.audio_codec,
                    width=recorded.width,
                    height=recorded.height,
                    size_bytes=size,
                    trigger=recorded.trigger,
                    peak_score=peak,
                    motion_timeline=timeline,
                    kept=False,
                    has_thumbnail=has_thumbnail,
                    notes=recorded.notes,
                    motion_offset_s=recorded.motion_offset_s,
                )
                _write_or_log(dirs.day, name.stem + ".json", _sidecar_bytes(info))
                _fsync_dir_or_log(dirs.day)
                return _entry(dirs.day, name, info)
        except OSError as err:
            msg = f"cannot finish clip {name.clip_id}"
            raise _storage_error(msg, err) from err

    def abandon(self, part_path: Path) -> None:
        """Remove a part the recorder gave up on (or that a failed finalize left behind)."""
        name = self._part_name(part_path)
        try:
            with self._open_dirs(name.camera, name.day) as dirs:
                _unlink(dirs.day, name.stem + _PART)
        except FileNotFoundError:
            pass
        except OSError as err:
            msg = f"cannot remove {part_path}"
            raise _storage_error(msg, err) from err
        finally:
            # Forgotten only once the file is gone: a new part with this name is not ours.
            with self._lock:
                self._active.pop(part_path, None)
                self._tidy_dirs(name.camera, name.day)

    def _part_name(self, part_path: Path) -> _ClipName:
        """Return the clip name of a part path inside this store, or raise StorageError."""
        path = Path(part_path)
        match = _FILE_RE.fullmatch(path.name)
        if path.parent.parent.parent != self._root or match is None or match["ext"] != _PART:
            msg = f"{part_path} is not a part file of this clip store"
            raise StorageError(msg)
        clip_id = f"{path.parent.parent.name}/{path.parent.name}/{match['stem']}"
        try:
            return _ClipName.parse(clip_id)
        except InvalidClipIdError as err:
            msg = f"{part_path} is not a part file of this clip store"
            raise StorageError(msg) from err

    # --- queries -------------------------------------------------------------------------

    def cameras(self) -> list[str]:
        """Camera keys that have clips, sorted."""
        with self._lock:
            return sorted(self._days)

    def days(self, camera_key: str) -> list[str]:
        """Days (YYYY-MM-DD, UTC) with clips of this camera, newest first."""
        camera = _check_camera_key(camera_key)
        with self._lock:
            return sorted(self._days.get(camera, {}), reverse=True)

    def clips(
        self, camera_key: str, day: str, offset: int = 0, limit: int | None = None
    ) -> list[ClipInfo]:
        """Return a page of one camera's clips of one day, newest first."""
        camera, day = _check_camera_key(camera_key), _check_day(day)
        if offset < 0 or (limit is not None and limit < 0):
            msg = "offset and limit must not be negative"
            raise ValueError(msg)
        with self._lock:
            keys = self._days.get(camera, {}).get(day, [])
            # Keys ascend, so newest-first item i is keys[len - 1 - i].
            stop = len(keys) - offset
            first = 0 if limit is None else max(0, stop - limit)
            return [self._entries[key[2]].info for key in reversed(keys[first : max(0, stop)])]

    def count(self, camera_key: str, day: str) -> int:
        """Count one camera's clips of one day."""
        camera, day = _check_camera_key(camera_key), _check_day(day)
        with self._lock:
            return len(self._days.get(camera, {}).get(day, ()))

    def get(self, clip_id: str) -> ClipInfo:
        """Return the clip with this id."""
        name = _ClipName.parse(clip_id)
        with self._lock:
            return self._entry(name.clip_id).info

    def usage(self) -> StoreUsage:
        """Bytes and clip counts, in total and per camera."""
        with self._lock:
            cameras = dict(self._usage)
        total = Usage(
            sum(u.size_bytes for u in cameras.values()), sum(u.clip_count for u in cameras.values())
        )
        return StoreUsage(total=total, cameras=cameras)

    def resolve(self, clip_id: str, kind: ClipFile | str = ClipFile.VIDEO) -> Path:
        """Path of one file of a clip, refusing anything that is not a plain file in the store.

        The path is built from the validated parts of the id, never from the raw string, so it
        lies inside the root; symlinks anywhere below the root make it InvalidClipIdError.
        """
        name = _ClipName.parse(clip_id)
        filename = name.stem + _SUFFIXES[ClipFile(kind)]
        try:
            with self._open_dirs(name.camera, name.day) as dirs:
                mode = os.stat(filename, dir_fd=dirs.day, follow_symlinks=False).st_mode
        except FileNotFoundError as err:
            raise ClipNotFoundError(clip_id) from err
        except OSError as err:
            if err.errno in _SYMLINK_ERRNOS:
                msg = f"{clip_id!r} leads through a symlink or non-directory"
                raise InvalidClipIdError(msg) from err
            msg = f"cannot look up {clip_id}"
            raise _storage_error(msg, err) from err
        if not stat.S_ISREG(mode):
            msg = f"{clip_id!r} {kind} is not a regular file"
            raise InvalidClipIdError(msg)
        with self._lock:
            self._entry(name.clip_id)
        return self._root / name.camera / name.day / filename

    # --- changes to finished clips -------------------------------------------------------

    @contextmanager
    def hold(self, clip_id: str) -> Iterator[ClipInfo]:
        """Keep a clip from being deleted (by delete or retention) while the block runs."""
        name = _ClipName.parse(clip_id)
        with self._lock:
            info = self._entry(name.clip_id).info
            self._holds[name.clip_id] += 1
        try:
            yield info
        finally:
            with self._lock:
                self._holds[name.clip_id] -= 1
                if self._holds[name.clip_id] <= 0:
                    del self._holds[name.clip_id]

    def set_kept(self, clip_id: str, keep: bool) -> ClipInfo:  # noqa: FBT001 - reads naturally
        """Mark a clip as kept (exempt from retention) or not; persisted in its sidecar."""
        name = _ClipName.parse(clip_id)
        with self._mutate_lock:
            with self._lock:
                info = self._entry(name.clip_id).info
            if info.kept == keep:
                return info
            info = replace(info, kept=keep)
            try:
                with self._open_dirs(name.camera, name.day) as dirs:
                    _write_atomic(dirs.day, name.stem + ".json", _sidecar_bytes(info))
                    os.fsync(dirs.day)
                    entry = _entry(dirs.day, name, info)
            except OSError as err:
                msg = f"cannot update the sidecar of {clip_id}"
                raise _storage_error(msg, err) from err
            with self._lock:
                self._index_remove(name.clip_id)
                self._index_add(entry)
            return info

    def delete(self, clip_id: str) -> None:
        """Remove a clip's files (and its day and camera directories once empty)."""
        name = _ClipName.parse(clip_id)
        with self._mutate_lock:
            self._delete(name)

    def _delete(self, name: _ClipName) -> None:
        """Delete one clip (mutate lock held, so its kept flag cannot change meanwhile)."""
        with self._lock:
            if self._holds[name.clip_id] or name in self._active.values():
                msg = f"clip {name.clip_id} is in use"
                raise ClipInUseError(msg)
            # Out of the index first: nobody lists or serves a clip that is half gone.
            self._entry(name.clip_id)
            entry = self._index_remove(name.clip_id)
        try:
            with self._open_dirs(name.camera, name.day) as dirs:
                # The MP4 goes first: a crash then leaves an orphan sidecar, which load()
                # removes, rather than a video that would come back without its sidecar.
                try:
                    _unlink(dirs.day, name.stem + ".mp4")
                except OSError:
                    with self._lock:
                        self._index_add(entry)
                    raise
                for ext in (".jpg", ".json"):
                    try:
                        _unlink(dirs.day, name.stem + ext)
                    except OSError as err:
                        _LOGGER.warning("Could not remove %s%s: %s", name.clip_id, ext, err)
        except FileNotFoundError:
            pass  # the directory is gone already, and the files with it
        except OSError as err:
            msg = f"cannot delete clip {name.clip_id}"
            raise _storage_error(msg, err) from err
        finally:
            with self._lock:
                self._tidy_dirs(name.camera, name.day)

    def apply_retention(
        self, policy: RetentionPolicy, now: datetime | None = None
    ) -> RetentionResult:
        """Delete the oldest clips beyond the limits: age, then total size, then free space.

        Kept, held and recording clips are never deleted; they count towards the limits, and
        what they leave unreachable is reported in the result.
        """
        moment = datetime.now(UTC) if now is None else _utc(now)
        cutoff = (
            None if policy.max_age_days is None else moment - timedelta(days=policy.max_age_days)
        )
        deleted: list[str] = []
        with self._mutate_lock:
            with self._lock:
                excess = self._over_bytes(policy)
                short = self._short_bytes(policy)
                victims = self._retention_victims(cutoff, excess, short)
            for name in victims:
                try:
                    self._delete(name)
                except ClipInUseError, ClipNotFoundError:
                    continue  # held or deleted since it was chosen
                except StorageError as err:
                    _LOGGER.warning("Retention could not delete %s: %s", name.clip_id, err)
                    continue
                deleted.append(name.clip_id)
            with self._lock:
                result = RetentionResult(
                    tuple(deleted), self._short_bytes(policy), self._over_bytes(policy)
                )
        if deleted:
            _LOGGER.info("Retention deleted %d clip(s)", len(deleted))
        if result.still_short_bytes or result.still_over_bytes:
            _LOGGER.warning(
                "After retention, %d bytes of free space are still missing and the clips are "
                "%d bytes over their size limit (kept, held or recording clips stay)",
                result.still_short_bytes,
                result.still_over_bytes,
            )
        return result

    def _over_bytes(self, policy: RetentionPolicy) -> int:
        if policy.max_total_bytes is None:
            return 0
        return max(0, sum(u.size_bytes for u in self._usage.values()) - policy.max_total_bytes)

    def _short_bytes(self, policy: RetentionPolicy) -> int:
        if policy.min_free_bytes is None:
            return 0
        try:
            free = shutil.disk_usage(self._root).free
        except OSError as err:
            msg = "cannot measure free disk space"
            raise _storage_error(msg, err) from err
        return max(0, policy.min_free_bytes - free)

    def _retention_victims(
        self, cutoff: datetime | None, excess: int, short: int
    ) -> list[_ClipName]:
        """Oldest-first clips to delete (lock held); deletions are estimated to free disk_bytes."""
        victims = []
        for clip_id in self._oldest_first():
            entry = self._entries[clip_id]
            expired = cutoff is not None and entry.info.start < cutoff
            if not (expired or excess > 0 or short > 0):
                break  # every later clip is younger, and the size limits are met
            if entry.info.kept or self._holds[clip_id]:
                continue
            victims.append(entry.name)
            excess -= entry.size_bytes
            short -= entry.disk_bytes
        return victims

    def _oldest_first(self) -> Iterator[str]:
        """All clip ids, oldest first across cameras (lock held while iterating)."""
        per_camera = [_camera_in_order(days) for days in self._days.values()]
        for *_, clip_id in heapq.merge(*per_camera):
            yield clip_id

    # --- load and crash recovery ---------------------------------------------------------

    def load(self) -> LoadReport:
        """Rebuild the index from disk, then recover leftover parts; call before recording.

        Queries keep answering from the previous index until the new one is complete.
        """
        with self._mutate_lock:
            with self._lock:
                if self._active:
                    msg = "cannot reload the clip store while clips are being recorded"
                    raise StorageError(msg)
                self._loading = True
            try:
                report = self._load()
            finally:
                with self._lock:
                    self._loading = False
        _LOGGER.info(
            "Clip store %s: %d clip(s), %d rebuilt, %d recovered, %d file(s) removed",
            self._root,
            report.clips,
            len(report.rebuilt),
            len(report.recovery.recovered),
            len(report.removed) + len(report.recovery.removed),
        )
        return report

    def _load(self) -> LoadReport:
        try:
            self._root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            msg = f"cannot create the clip store {self._root}"
            raise _storage_error(msg, err) from err
        scan = _Scan()
        for camera, day in self._walk_days():
            try:
                with self._open_dirs(camera, day) as dirs:
                    self._scan_day(dirs.day, camera, day, scan)
            except OSError as err:
                _LOGGER.warning("Skipping unreadable clip directory %s/%s: %s", camera, day, err)
            with self._lock:
                self._tidy_dirs(camera, day)  # e.g. a day that held only orphans
        with self._lock:
            self._install(scan.entries)
            self._loaded = True
        return LoadReport(
            clips=len(scan.entries),
            rebuilt=tuple(scan.rebuilt),
            removed=tuple(scan.removed),
            unreadable=tuple(scan.unreadable),
            recovery=self._recover(scan.parts),
        )

    def _walk_days(self) -> Iterator[tuple[str, str]]:
        """(camera, day) of every well-formed, real (not symlinked) day directory."""
        for camera in _subdirectories(self._root, _CAMERA_RE):
            for day in _subdirectories(self._root / camera, _DAY_RE):
                if _valid_day(day):
                    yield camera, day

    def _scan_day(self, day_fd: int, camera: str, day: str, scan: _Scan) -> None:
        """Index one day directory's clips; remove orphans and stale temporary files."""
        directory = self._root / camera / day
        stems: dict[str, set[str]] = {}
        for filename, match in _listing(day_fd, directory):
            if match is not None:
                stems.setdefault(match["stem"], set()).add(match["ext"])
            elif _TEMP_RE.fullmatch(filename):
                _unlink_logged(day_fd, directory / filename, scan.removed)
        for stem, exts in sorted(stems.items()):
            name = _ClipName.parse(f"{camera}/{day}/{stem}")
            if _PART in exts:
                scan.parts.append(directory / (stem + _PART))
            if ".mp4" not in exts:
                # Sidecars and thumbnails are only worth keeping beside their video.
                for ext in sorted(exts & {".json", ".jpg"}):
                    _unlink_logged(day_fd, directory / (stem + ext), scan.removed)
                continue
            try:
                entry, rebuilt = self._load_clip(day_fd, name, has_jpg=".jpg" in exts)
            except Exception as err:  # noqa: BLE001 - one bad file must not stop the load
                _LOGGER.warning("Cannot read clip %s, leaving it alone: %s", name.clip_id, err)
                scan.unreadable.append(directory / (stem + ".mp4"))
                continue
            scan.entries.append(entry)
            if rebuilt:
                scan.rebuilt.append(name.clip_id)

    def _load_clip(self, day_fd: int, name: _ClipName, *, has_jpg: bool) -> tuple[_Entry, bool]:
        """Read a clip from its sidecar, or rebuild it by probing its MP4 (then True)."""
        data: object = None
        info = None
        try:
            data = _read_json(day_fd, name.stem + ".json")
            info = ClipInfo.from_json(data, name.clip_id)
        except FileNotFoundError:
            _LOGGER.info("Clip %s has no sidecar, probing its video", name.clip_id)
        except (OSError, ValueError) as err:
            _LOGGER.warning("Unusable sidecar of %s, probing its video: %s", name.clip_id, err)
        if info is not None:
            # The files are the truth for what a sidecar could get wrong.
            return _entry(day_fd, name, replace(info, has_thumbnail=has_jpg)), False
        mp4_size = os.stat(name.stem + ".mp4", dir_fd=day_fd, follow_symlinks=False).st_size
        facts = _probe(self._path(name, ".mp4"))
        if not has_jpg and facts.thumbnail is not None:
            has_jpg = _write_or_log(day_fd, name.stem + ".jpg", facts.thumbnail)
        info = _info_from_facts(name, facts, mp4_size, has_thumbnail=has_jpg, note=REBUILT_NOTE)
        # A kept mark survives a damaged or newer sidecar: losing it would let retention
        # delete exactly what the user asked to keep.
        info = replace(info, kept=isinstance(data, dict) and data.get("kept") is True)
        if not _is_newer_sidecar(data):  # a newer release's sidecar is left for that release
            _write_or_log(day_fd, name.stem + ".json", _sidecar_bytes(info))
        return _entry(day_fd, name, info), True

    def recover_partials(self) -> RecoveryReport:
        """Make clips of leftover `.mp4.part` files (never active ones); remove unreadable ones."""
        with self._mutate_lock:
            parts: list[Path] = []
            for camera, day in self._walk_days():
                directory = self._root / camera / day
                try:
                    with self._open_dirs(camera, day) as dirs:
                        parts += [
                            directory / filename
                            for filename, match in _listing(dirs.day, directory)
                            if match is not None and match["ext"] == _PART
                        ]
                except OSError as err:
                    _LOGGER.warning("Skipping clip directory %s: %s", directory, err)
            return self._recover(parts)

    def _recover(self, parts: list[Path]) -> RecoveryReport:
        """Salvage each part (mutate lock held), skipping the ones being written."""
        recovered: list[str] = []
        removed: list[Path] = []
        for part in sorted(parts):
            name = self._part_name(part)
            with self._lock:
                if part in self._active:
                    continue
                self._active[part] = name  # reserved: allocate and tidying leave it alone
            try:
                entry = self._recover_part(name)
            except Exception:  # one bad file must not stop the others
                # Most likely a full or failing disk: keep the part for another attempt.
                _LOGGER.exception("Could not recover %s; leaving it for a later attempt", part)
                with self._lock:
                    del self._active[part]
                continue
            with self._lock:
                del self._active[part]
                if entry is None:
                    self._tidy_dirs(name.camera, name.day)
                else:
                    self._index_add(entry)
            if entry is None:
                removed.append(part)
            else:
                recovered.append(name.clip_id)
        return RecoveryReport(tuple(recovered), tuple(removed))

    def _recover_part(self, name: _ClipName) -> _Entry | None:
        """Remux the readable prefix of a part into the clip's MP4; None if the part was removed."""
        part, mp4 = name.stem + _PART, name.stem + ".mp4"
        temp = f".{name.stem}.{secrets.token_hex(4)}.tmp"  # removed by load() if we crash
        with self._open_dirs(name.camera, name.day) as dirs:
            if _exists(dirs.day, mp4):
                _LOGGER.warning("Removing %s: its clip exists already", self._path(name, _PART))
                _unlink(dirs.day, part)
                return None
            try:
                facts = _salvage(self._path(name, _PART), self._path(name, _PART).with_name(temp))
                if facts is None:
                    _LOGGER.warning("Removing unplayable %s", self._path(name, _PART))
                    _unlink(dirs.day, part)
                    return None
                size = _fsync_file(dirs.day, temp)
                os.replace(temp, mp4, src_dir_fd=dirs.day, dst_dir_fd=dirs.day)
            finally:
                _unlink(dirs.day, temp)
            _unlink(dirs.day, part)
            has_jpg = facts.thumbnail is not None and _write_or_log(
                dirs.day, name.stem + ".jpg", facts.thumbnail
            )
            info = _info_from_facts(name, facts, size, has_thumbnail=has_jpg, note=RECOVERED_NOTE)
            _write_or_log(dirs.day, name.stem + ".json", _sidecar_bytes(info))
            _fsync_dir_or_log(dirs.day)
            _LOGGER.warning(
                "Recovered %s (%.1f s) from an interrupted recording",
                name.clip_id,
                facts.duration_s,
            )
            return _entry(dirs.day, name, info)

    # --- index (lock held) ---------------------------------------------------------------

    def _entry(self, clip_id: str) -> _Entry:
        try:
            return self._entries[clip_id]
        except KeyError:
            raise ClipNotFoundError(clip_id) from None

    def _index_add(self, entry: _Entry) -> None:
        name = entry.name
        self._entries[name.clip_id] = entry
        bisect.insort(
            self._days.setdefault(name.camera, {}).setdefault(name.day, []), name.sort_key
        )
        self._count(name.camera, entry.size_bytes, 1)

    def _index_remove(self, clip_id: str) -> _Entry:
        entry = self._entries.pop(clip_id)
        name = entry.name
        days = self._days[name.camera]
        keys = days[name.day]
        del keys[bisect.bisect_left(keys, name.sort_key)]
        if not keys:
            del days[name.day]
            if not days:
                del self._days[name.camera]
        self._count(name.camera, -entry.size_bytes, -1)
        return entry

    def _count(self, camera: str, size_bytes: int, clips: int) -> None:
        old = self._usage.get(camera, Usage())
        new = Usage(old.size_bytes + size_bytes, old.clip_count + clips)
        if new.clip_count:
            self._usage[camera] = new
        else:
            self._usage.pop(camera, None)

    def _install(self, entries: list[_Entry]) -> None:
        """Replace the whole index at once, so readers never see a partly loaded one."""
        self._entries = {}
        self._days = {}
        self._usage = {}
        for entry in entries:
            name = entry.name
            self._entries[name.clip_id] = entry
            self._days.setdefault(name.camera, {}).setdefault(name.day, []).append(name.sort_key)
            self._count(name.camera, entry.size_bytes, 1)
        for days in self._days.values():
            for keys in days.values():
                keys.sort()

    def _tidy_dirs(self, camera: str, day: str) -> None:
        """Remove the day and camera directories if empty (lock held, so allocate cannot race)."""
        if any(n.camera == camera for n in self._active.values()):
            return  # a part may be about to be created there
        try:
            root = os.open(self._root, _DIR_FLAGS)
        except OSError:
            return
        try:
            camera_fd = os.open(camera, _DIR_FLAGS, dir_fd=root)
            try:
                os.rmdir(day, dir_fd=camera_fd)
            finally:
                os.close(camera_fd)
            os.rmdir(camera, dir_fd=root)
        except OSError:
            pass  # not empty, or gone already
        finally:
            os.close(root)

    # --- paths ---------------------------------------------------------------------------

    def _path(self, name: _ClipName, suffix: str) -> Path:
        return self._root / name.camera / name.day / (name.stem + suffix)

    @contextmanager
    def _open_dirs(self, camera: str, day: str, *, create: bool = False) -> Iterator[_Dirs]:
        """Descriptors of root, camera and day directory, opened without following symlinks."""
        if create:
            self._root.mkdir(parents=True, exist_ok=True)
        fds: list[int] = []
        try:
            fds.append(os.open(self._root, _DIR_FLAGS))
            for component in (camera, day):
                if create:
                    _make_dir(component, fds[-1])
                fds.append(os.open(component, _DIR_FLAGS, dir_fd=fds[-1]))
            yield _Dirs(*fds)
        finally:
            for fd in reversed(fds):
                os.close(fd)


def _camera_in_order(
    days: dict[str, list[tuple[str, int, str]]],
) -> Iterator[tuple[str, str, int, str]]:
    """(day, time, n, clip id) of one camera's clips, oldest first."""
    for day in sorted(days):
        for time, n, clip_id in days[day]:
            yield day, time, n, clip_id


def _subdirectories(path: Path, pattern: re.Pattern[str]) -> list[str]:
    """Names of real subdirectories matching pattern; anything else is logged and skipped."""
    try:
        with os.scandir(path) as listing:
            items = list(listing)
    except OSError as err:
        _LOGGER.warning("Cannot list %s: %s", path, err)
        return []
    names = []
    for item in items:
        if pattern.fullmatch(item.name) and item.is_dir(follow_symlinks=False):
            names.append(item.name)
        else:
            _LOGGER.warning("Ignoring %s: not a clip store directory", item.path)
    return sorted(names)


def _make_dir(name: str, parent_fd: int) -> None:
    try:
        os.mkdir(name, 0o755, dir_fd=parent_fd)
    except FileExistsError:
        return
    os.fsync(parent_fd)  # the new directory entry survives a power loss


def _exists(dir_fd: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _unlink(dir_fd: int, name: str) -> None:
    with suppress(FileNotFoundError):
        os.unlink(name, dir_fd=dir_fd)


def _unlink_logged(dir_fd: int, path: Path, removed: list[Path]) -> None:
    try:
        _unlink(dir_fd, path.name)
    except OSError as err:
        _LOGGER.warning("Could not remove %s: %s", path, err)
        return
    _LOGGER.info("Removed leftover %s", path)
    removed.append(path)


def _listing(dir_fd: int, directory: Path) -> list[tuple[str, re.Match[str] | None]]:
    """Plain files of a day directory, each with its clip file match if it is one."""
    files = []
    with os.scandir(dir_fd) as items:
        for item in items:
            if not item.is_file(follow_symlinks=False):
                _LOGGER.warning("Ignoring %s: not a plain file", directory / item.name)
                continue
            match = _FILE_RE.fullmatch(item.name)
            files.append((item.name, match if match and _valid_time(match["time"]) else None))
    return files


def _fsync_file(dir_fd: int, name: str) -> int:
    """Flush a file's data to disk; return its size."""
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        os.fsync(fd)
        return os.fstat(fd).st_size
    finally:
        os.close(fd)


def _fsync_dir_or_log(dir_fd: int) -> None:
    try:
        os.fsync(dir_fd)
    except OSError as err:
        _LOGGER.warning("Could not flush a clip directory: %s", err)


def _write_atomic(dir_fd: int, name: str, data: bytes) -> None:
    """Replace name with data via a synced temporary file: readers see old or new, never half."""
    temp = f".{name}.{secrets.token_hex(4)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(temp, flags, 0o644, dir_fd=dir_fd)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with suppress(OSError):
            os.unlink(temp, dir_fd=dir_fd)
        raise


def _write_or_log(dir_fd: int, name: str, data: bytes) -> bool:
    """_write_atomic for metadata a clip can live without; True if written."""
    try:
        _write_atomic(dir_fd, name, data)
    except OSError as err:
        _LOGGER.warning("Could not write %s: %s", name, err)
        return False
    return True


def _read_json(dir_fd: int, name: str) -> object:
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    with os.fdopen(fd, "rb") as file:
        if os.fstat(fd).st_size > _MAX_SIDECAR_BYTES:
            msg = "sidecar is too large"
            raise ValueError(msg)
        return json.loads(file.read())


def _sidecar_bytes(info: ClipInfo) -> bytes:
    return json.dumps(info.to_json(), separators=(",", ":"), allow_nan=False).encode() + b"\n"


def _is_newer_sidecar(data: object) -> bool:
    schema = data.get("schema") if isinstance(data, dict) else None
    return isinstance(schema, int) and not isinstance(schema, bool) and schema > SIDECAR_SCHEMA


def _entry(day_fd: int, name: _ClipName, info: ClipInfo) -> _Entry:
    """Index entry for a clip, measuring its files; the MP4 is the truth for size_bytes."""
    size = disk = 0
    for ext in (".mp4", ".jpg", ".json"):
        try:
            st = os.stat(name.stem + ext, dir_fd=day_fd, follow_symlinks=False)
        except FileNotFoundError:
            continue
        if ext == ".mp4" and st.st_size != info.size_bytes:
            info = replace(info, size_bytes=st.st_size)
        size += st.st_size
        disk += st.st_blocks * 512  # st_blocks counts 512-byte units on every platform
    return _Entry(info=info, name=name, size_bytes=size, disk_bytes=disk)


def _info_from_facts(
    name: _ClipName,
    facts: _MediaFacts,
    size_bytes: int,
    *,
    has_thumbnail: bool,
    note: str,
) -> ClipInfo:
    """ClipInfo for a clip known only from its file: start from the id, trigger assumed motion."""
    start = name.start
    return ClipInfo(
        clip_id=name.clip_id,
        camera_key=name.camera,
        start=start,
        end=start + timedelta(seconds=facts.duration_s),
        duration_s=facts.duration_s,
        video_codec=facts.video_codec,
        audio_codec=facts.audio_codec,
        width=facts.width,
        height=facts.height,
        size_bytes=size_bytes,
        trigger=ClipTrigger.MOTION,
        peak_score=0.0,
        motion_timeline=(),
        kept=False,
        has_thumbnail=has_thumbnail,
        notes=(note,),
    )


def _storage_error(message: str, err: OSError) -> StorageError:
    if err.errno in {errno.ENOSPC, errno.EDQUOT}:
        return StorageFullError(f"{message}: {err}")
    return StorageError(f"{message}: {err}")


# --- PyAV ----------------------------------------------------------------------------------


def _probe(path: Path) -> _MediaFacts:
    """Codecs, size, duration and first-frame thumbnail of a complete MP4."""
    with av.open(str(path)) as container:
        if not container.streams.video:
            msg = "no video stream"
            raise ValueError(msg)
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        duration = (container.duration or 0) / av.time_base
        thumbnail = None
        with suppress(av.error.FFmpegError, StopIteration):
            thumbnail = encode_jpeg(next(container.decode(video)), THUMBNAIL_MAX_WIDTH)
        return _MediaFacts(
            video_codec=video.codec_context.name,
            width=video.width,
            height=video.height,
            audio_codec=audio.codec_context.name if audio is not None else None,
            duration_s=max(0.0, duration),
            thumbnail=thumbnail,
        )


def _salvage(part: Path, target: Path) -> _MediaFacts | None:
    """Stream-copy the readable prefix of a cut-short MP4 into target; None if none is playable.

    OSError (e.g. a full disk) propagates, so the part is kept for another attempt.
    """
    try:
        source = av.open(str(part))
    except av.error.FFmpegError as err:
        if isinstance(err, OSError):
            raise
        _LOGGER.debug("%s is not readable: %s", part, err)
        return None
    with source:
        if not source.streams.video:
            return None
        video = source.streams.video[0]
        audio = source.streams.audio[0] if source.streams.audio else None
        try:
            output = open_fragmented_mp4(target, video, audio)
        except ValueError:  # a codec MP4 cannot carry: the recorder never wrote this
            return None
        try:
            duration, thumbnail = _copy_prefix(source, video, audio, output)
        finally:
            output.close()
        if thumbnail is None:
            return None
        return _MediaFacts(
            video_codec=video.codec_context.name,
            width=video.width,
            height=video.height,
            audio_codec=audio.codec_context.name if output.audio and audio else None,
            duration_s=duration,
            thumbnail=thumbnail,
        )


def _copy_prefix(
    source: InputContainer, video: VideoStream, audio: Stream | None, output: Mp4Output
) -> tuple[float, bytes | None]:
    """Copy packets from the first keyframe up to the first damaged one: (duration, thumbnail)."""
    streams: dict[Stream, Stream] = {video: output.video}
    if audio is not None and output.audio is not None:
        streams[audio] = output.audio
    first_pts: int | None = None
    end_pts = 0
    thumbnail: bytes | None = None
    for packet in _intact_packets(source, streams):
        if packet.stream is video:
            pts = packet.pts if packet.pts is not None else packet.dts or 0
            if first_pts is None and not packet.is_keyframe:
                continue
            first_pts = pts if first_pts is None else first_pts
            thumbnail = thumbnail or _thumbnail(video, packet)
            end_pts = max(end_pts, pts + (packet.duration or 0))
        elif first_pts is None:
            continue  # audio before the first picture would only delay the start
        packet.stream = streams[packet.stream]
        output.container.mux(packet)
    if first_pts is None:
        return 0.0, None
    # A decoder may hold frames back until drained.
    thumbnail = thumbnail or _thumbnail(video, None)
    return float((end_pts - first_pts) * video.time_base), thumbnail


def _intact_packets(
    source: InputContainer, streams: Mapping[Stream, Stream]
) -> Iterator[Packet[Stream]]:
    """Packets of these streams up to the first damaged or unreadable one."""
    packets = source.demux(*streams)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.error.FFmpegError as err:
            if isinstance(err, OSError):
                raise
            _LOGGER.debug("Stopping at unreadable data: %s", err)
            return
        if packet.is_corrupt:
            return  # cut off inside this sample: it and everything after are lost
        if packet.dts is not None:  # None marks the demuxer's end of stream
            yield packet


def _thumbnail(video: VideoStream, packet: Packet[Stream] | None) -> bytes | None:
    """JPEG of the first frame decoding this packet yields, if any yet."""
    try:
        frames = video.decode(packet)
    except av.error.FFmpegError:
        return None
    return encode_jpeg(frames[0], THUMBNAIL_MAX_WIDTH) if frames else None
