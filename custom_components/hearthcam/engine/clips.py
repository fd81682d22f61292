"""ClipStore: on-disk layout, sidecars, an in-memory index, retention and crash recovery.

Layout, with every date and time in UTC:
`<root>/<camera_key>/<YYYY-MM-DD>/<HHMMSS>-<n>.mp4`, a `.jpg` thumbnail and a `.json` sidecar
beside it, and `.mp4.part` while the clip is being recorded (ids and names: clip_info.py).

Nothing below the root is reached through a symlink: every file operation goes through
directory descriptors opened with O_NOFOLLOW (safe_fs.py), so a link planted in the store is
never followed.
"""

import bisect
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
import errno
import heapq
import io
import logging
import os
from pathlib import Path
import shutil
import stat
import threading
from typing import Final

from .clip_info import (
    CAMERA_RE,
    DAY_RE,
    MAX_N,
    PART,
    ClipFile,
    ClipInfo,
    ClipName,
    check_camera_key,
    check_day,
    finite,
    is_newer_sidecar,
    match_clip_file,
    read_sidecar,
    sidecar_bytes,
    utc,
    valid_day,
)
from .errors import (
    ClipInUseError,
    ClipNotFoundError,
    EngineError,
    InvalidClipIdError,
    StorageError,
    StorageFullError,
)
from .model import ClipTrigger, RecordedClip
from .safe_fs import (
    SYMLINK_ERRNOS,
    TEMP_RE,
    exists,
    fsync_dir_or_log,
    fsync_file,
    open_dir,
    plain_files,
    remove_empty_dirs,
    subdirectories,
    temp_name,
    unlink,
    unlink_logged,
    write_atomic,
    write_or_log,
)
from .salvage import MediaFacts, probe, salvage

_LOGGER = logging.getLogger(__name__)

RECOVERED_NOTE: Final = "recovered after an interrupted recording"
REBUILT_NOTE: Final = "details rebuilt from the video file"


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
    name: ClipName
    size_bytes: int  # sum of file sizes: what usage and max_total_bytes count
    disk_bytes: int  # allocated blocks: what deleting the clip frees


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
        self._active: dict[Path, ClipName] = {}  # parts being written or recovered
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
        name_start = utc(start)
        camera = check_camera_key(camera_key)
        day, time = name_start.strftime("%Y-%m-%d"), name_start.strftime("%H%M%S")
        with self._lock:
            if not self._loaded or self._loading:
                msg = "the clip store is not loaded yet"
                raise StorageError(msg)
            try:
                with self._open_day(camera, day, create=True) as day_fd:
                    name = self._free_name(day_fd, camera, day, time)
            except OSError as err:
                msg = f"cannot create the directory for {camera}/{day}"
                raise _storage_error(msg, err) from err
            part = self._path(name, PART)
            self._active[part] = name
        return name.clip_id, part

    def _free_name(self, day_fd: int, camera: str, day: str, time: str) -> ClipName:
        """First n in this second with no clip, reservation or file (lock held)."""
        reserved = set(self._active.values())
        for n in range(1, MAX_N + 1):
            name = ClipName(camera, day, time, n)
            if name.clip_id in self._entries or name in reserved:
                continue
            if not any(exists(day_fd, name.stem + ext) for ext in (".mp4", PART, ".json")):
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
        timeline = tuple((finite(offset), finite(score)) for offset, score in motion_timeline)
        peak = finite(peak_score)
        start = utc(recorded.start)
        if finite(recorded.duration_s) < 0:
            msg = f"negative duration {recorded.duration_s}"
            raise ValueError(msg)
        if recorded.motion_offset_s is not None:
            finite(recorded.motion_offset_s)
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
        name: ClipName,
        recorded: RecordedClip,
        start: datetime,
        peak: float,
        timeline: tuple[tuple[float, float], ...],
    ) -> _Entry:
        """Rename the part (the commit point), then write thumbnail and sidecar beside it."""
        mp4 = name.stem + ".mp4"
        try:
            with self._open_day(name.camera, name.day) as day_fd:
                size = fsync_file(day_fd, name.stem + PART)  # durable before it is named
                os.replace(name.stem + PART, mp4, src_dir_fd=day_fd, dst_dir_fd=day_fd)
                # From here on the clip exists; metadata problems are logged, not raised, so a
                # full disk still leaves a playable, indexed clip that retention can remove.
                has_thumbnail = recorded.thumbnail_jpeg is not None and write_or_log(
                    day_fd, name.stem + ".jpg", recorded.thumbnail_jpeg
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
                write_or_log(day_fd, name.stem + ".json", sidecar_bytes(info))
                fsync_dir_or_log(day_fd)
                return _entry(day_fd, name, info)
        except OSError as err:
            msg = f"cannot finish clip {name.clip_id}"
            raise _storage_error(msg, err) from err

    def abandon(self, part_path: Path) -> None:
        """Remove a part the recorder gave up on (or that a failed finalize left behind)."""
        name = self._part_name(part_path)
        try:
            with self._open_day(name.camera, name.day) as day_fd:
                unlink(day_fd, name.stem + PART)
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

    def _part_name(self, part_path: Path) -> ClipName:
        """Return the clip name of a part path inside this store, or raise StorageError."""
        path = Path(part_path)
        match = match_clip_file(path.name)
        if path.parent.parent.parent != self._root or match is None or match["ext"] != PART:
            msg = f"{part_path} is not a part file of this clip store"
            raise StorageError(msg)
        clip_id = f"{path.parent.parent.name}/{path.parent.name}/{match['stem']}"
        try:
            return ClipName.parse(clip_id)
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
        camera = check_camera_key(camera_key)
        with self._lock:
            return sorted(self._days.get(camera, {}), reverse=True)

    def clips(
        self, camera_key: str, day: str, offset: int = 0, limit: int | None = None
    ) -> list[ClipInfo]:
        """Return a page of one camera's clips of one day, newest first."""
        camera, day = check_camera_key(camera_key), check_day(day)
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
        camera, day = check_camera_key(camera_key), check_day(day)
        with self._lock:
            return len(self._days.get(camera, {}).get(day, ()))

    def clips_between(
        self,
        camera_key: str,
        start: datetime,
        end: datetime,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[ClipInfo]:
        """Return a page of one camera's clips that began in [start, end), newest first.

        Times count to the second the clip id names, so a range can span UTC days (a local
        day, say) and still be answered from the index by bisection.
        """
        camera = check_camera_key(camera_key)
        if offset < 0 or (limit is not None and limit < 0):
            msg = "offset and limit must not be negative"
            raise ValueError(msg)
        page: list[ClipInfo] = []
        with self._lock:
            for keys, low, high in self._ranges(camera, start, end):
                if offset >= high - low:
                    offset -= high - low
                    continue
                stop = high - offset
                offset = 0
                first = low if limit is None else max(low, stop - (limit - len(page)))
                page += [self._entries[key[2]].info for key in reversed(keys[first:stop])]
                if limit is not None and len(page) >= limit:
                    break
        return page

    def count_between(self, camera_key: str, start: datetime, end: datetime) -> int:
        """Count one camera's clips that began in [start, end) (to the second of the id)."""
        camera = check_camera_key(camera_key)
        with self._lock:
            return sum(high - low for _, low, high in self._ranges(camera, start, end))

    def _ranges(
        self, camera: str, start: datetime, end: datetime
    ) -> list[tuple[list[tuple[str, int, str]], int, int]]:
        """(sort keys of a day, low, high) covering [start, end), newest day first (lock held)."""
        first, last = utc(start), utc(end)
        first_day, last_day = first.strftime("%Y-%m-%d"), last.strftime("%Y-%m-%d")
        # n >= 1 in every key, so (time, 0, "") sorts before every clip of that second.
        first_key = (first.strftime("%H%M%S"), 0, "")
        last_key = (last.strftime("%H%M%S"), 0, "")
        days = self._days.get(camera, {})
        ranges = []
        for day in sorted((d for d in days if first_day <= d <= last_day), reverse=True):
            keys = days[day]
            low = bisect.bisect_left(keys, first_key) if day == first_day else 0
            high = bisect.bisect_left(keys, last_key) if day == last_day else len(keys)
            if high > low:
                ranges.append((keys, low, high))
        return ranges

    def get(self, clip_id: str) -> ClipInfo:
        """Return the clip with this id."""
        name = ClipName.parse(clip_id)
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
        name = ClipName.parse(clip_id)
        filename = name.stem + ClipFile(kind).suffix
        try:
            with self._open_day(name.camera, name.day) as day_fd:
                mode = os.stat(filename, dir_fd=day_fd, follow_symlinks=False).st_mode
        except OSError as err:
            raise _lookup_error(clip_id, err) from err
        if not stat.S_ISREG(mode):
            msg = f"{clip_id!r} {kind} is not a regular file"
            raise InvalidClipIdError(msg)
        with self._lock:
            self._entry(name.clip_id)
        return self._root / name.camera / name.day / filename

    def open_file(self, clip_id: str, kind: ClipFile | str = ClipFile.VIDEO) -> io.BufferedReader:
        """Open one file of a clip for reading; the caller closes it.

        Unlike a path from resolve(), nothing can swap the file for a symlink between the check
        and the open: the file is opened with O_NOFOLLOW through the day's directory descriptor.
        """
        name = ClipName.parse(clip_id)
        filename = name.stem + ClipFile(kind).suffix
        with self._lock:
            self._entry(name.clip_id)
        # O_NONBLOCK: a FIFO planted under a clip's name must not block the reader.
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
        try:
            with self._open_day(name.camera, name.day) as day_fd:
                fd = os.open(filename, flags, dir_fd=day_fd)
        except OSError as err:
            raise _lookup_error(clip_id, err) from err
        try:
            regular = stat.S_ISREG(os.fstat(fd).st_mode)
        except OSError as err:
            os.close(fd)
            raise _lookup_error(clip_id, err) from err
        if not regular:
            os.close(fd)
            msg = f"{clip_id!r} {kind} is not a regular file"
            raise InvalidClipIdError(msg)
        return os.fdopen(fd, "rb")

    # --- changes to finished clips -------------------------------------------------------

    @contextmanager
    def hold(self, clip_id: str) -> Iterator[ClipInfo]:
        """Keep a clip from being deleted (by delete or retention) while the block runs."""
        name = ClipName.parse(clip_id)
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
        name = ClipName.parse(clip_id)
        with self._mutate_lock:
            with self._lock:
                info = self._entry(name.clip_id).info
            if info.kept == keep:
                return info
            info = replace(info, kept=keep)
            try:
                with self._open_day(name.camera, name.day) as day_fd:
                    write_atomic(day_fd, name.stem + ".json", sidecar_bytes(info))
                    os.fsync(day_fd)
                    entry = _entry(day_fd, name, info)
            except OSError as err:
                msg = f"cannot update the sidecar of {clip_id}"
                raise _storage_error(msg, err) from err
            with self._lock:
                self._index_remove(name.clip_id)
                self._index_add(entry)
            return info

    def delete(self, clip_id: str) -> None:
        """Remove a clip's files (and its day and camera directories once empty)."""
        name = ClipName.parse(clip_id)
        with self._mutate_lock:
            self._delete(name)

    def _delete(self, name: ClipName) -> None:
        """Delete one clip (mutate lock held, so its kept flag cannot change meanwhile)."""
        with self._lock:
            if self._holds[name.clip_id] or name in self._active.values():
                msg = f"clip {name.clip_id} is in use"
                raise ClipInUseError(msg)
            # Out of the index first: nobody lists or serves a clip that is half gone.
            self._entry(name.clip_id)
            entry = self._index_remove(name.clip_id)
        try:
            with self._open_day(name.camera, name.day) as day_fd:
                # The MP4 goes first: a crash then leaves an orphan sidecar, which load()
                # removes, rather than a video that would come back without its sidecar.
                try:
                    unlink(day_fd, name.stem + ".mp4")
                except OSError:
                    with self._lock:
                        self._index_add(entry)
                    raise
                for ext in (".jpg", ".json"):
                    try:
                        unlink(day_fd, name.stem + ext)
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
        self,
        policy: RetentionPolicy,
        now: datetime | None = None,
        *,
        camera_key: str | None = None,
    ) -> RetentionResult:
        """Delete the oldest clips beyond the limits: age, then total size, then free space.

        Kept, held and recording clips are never deleted; they count towards the limits, and
        what they leave unreachable is reported in the result. With camera_key, only that
        camera's clips are candidates and max_total_bytes counts only their size (free space
        is the disk's either way).
        """
        camera = None if camera_key is None else check_camera_key(camera_key)
        moment = datetime.now(UTC) if now is None else utc(now)
        cutoff = (
            None if policy.max_age_days is None else moment - timedelta(days=policy.max_age_days)
        )
        deleted: list[str] = []
        with self._mutate_lock:
            with self._lock:
                excess = self._over_bytes(policy, camera)
                short = self._short_bytes(policy)
                victims = self._retention_victims(cutoff, excess, short, camera)
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
                    tuple(deleted), self._short_bytes(policy), self._over_bytes(policy, camera)
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

    def _over_bytes(self, policy: RetentionPolicy, camera: str | None) -> int:
        if policy.max_total_bytes is None:
            return 0
        usages = self._usage.values() if camera is None else [self._usage.get(camera, Usage())]
        return max(0, sum(u.size_bytes for u in usages) - policy.max_total_bytes)

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
        self, cutoff: datetime | None, excess: int, short: int, camera: str | None
    ) -> list[ClipName]:
        """Oldest-first clips to delete (lock held); deletions are estimated to free disk_bytes."""
        victims = []
        for clip_id in self._oldest_first(camera):
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

    def _oldest_first(self, camera: str | None = None) -> Iterator[str]:
        """Clip ids (of all cameras, or of one), oldest first (lock held while iterating)."""
        cameras = self._days.values() if camera is None else [self._days.get(camera, {})]
        per_camera = [_camera_in_order(days) for days in cameras]
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
                with self._open_day(camera, day) as day_fd:
                    self._scan_day(day_fd, camera, day, scan)
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
        for camera in subdirectories(self._root, CAMERA_RE):
            for day in subdirectories(self._root / camera, DAY_RE):
                if valid_day(day):
                    yield camera, day

    def _scan_day(self, day_fd: int, camera: str, day: str, scan: _Scan) -> None:
        """Index one day directory's clips; remove orphans and stale temporary files."""
        directory = self._root / camera / day
        stems: dict[str, set[str]] = {}
        for filename in plain_files(day_fd, directory):
            match = match_clip_file(filename)
            if match is not None:
                stems.setdefault(match["stem"], set()).add(match["ext"])
            elif TEMP_RE.fullmatch(filename):
                unlink_logged(day_fd, directory / filename, scan.removed)
        for stem, exts in sorted(stems.items()):
            name = ClipName.parse(f"{camera}/{day}/{stem}")
            if PART in exts:
                scan.parts.append(directory / (stem + PART))
            if ".mp4" not in exts:
                # Sidecars and thumbnails are only worth keeping beside their video.
                for ext in sorted(exts & {".json", ".jpg"}):
                    unlink_logged(day_fd, directory / (stem + ext), scan.removed)
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

    def _load_clip(self, day_fd: int, name: ClipName, *, has_jpg: bool) -> tuple[_Entry, bool]:
        """Read a clip from its sidecar, or rebuild it by probing its MP4 (then True)."""
        data: object = None
        info = None
        try:
            data = read_sidecar(day_fd, name.stem + ".json")
            info = ClipInfo.from_json(data, name.clip_id)
        except FileNotFoundError:
            _LOGGER.info("Clip %s has no sidecar, probing its video", name.clip_id)
        except (OSError, ValueError) as err:
            _LOGGER.warning("Unusable sidecar of %s, probing its video: %s", name.clip_id, err)
        if info is not None:
            # The files are the truth for what a sidecar could get wrong.
            return _entry(day_fd, name, replace(info, has_thumbnail=has_jpg)), False
        mp4_size = os.stat(name.stem + ".mp4", dir_fd=day_fd, follow_symlinks=False).st_size
        facts = probe(self._path(name, ".mp4"))
        if not has_jpg and facts.thumbnail is not None:
            has_jpg = write_or_log(day_fd, name.stem + ".jpg", facts.thumbnail)
        info = _info_from_facts(name, facts, mp4_size, has_thumbnail=has_jpg, note=REBUILT_NOTE)
        # A kept mark survives a damaged or newer sidecar: losing it would let retention
        # delete exactly what the user asked to keep.
        info = replace(info, kept=isinstance(data, dict) and data.get("kept") is True)
        if not is_newer_sidecar(data):  # a newer release's sidecar is left for that release
            write_or_log(day_fd, name.stem + ".json", sidecar_bytes(info))
        return _entry(day_fd, name, info), True

    def recover_partials(self) -> RecoveryReport:
        """Make clips of leftover `.mp4.part` files (never active ones); remove unreadable ones."""
        with self._mutate_lock:
            parts: list[Path] = []
            for camera, day in self._walk_days():
                directory = self._root / camera / day
                try:
                    with self._open_day(camera, day) as day_fd:
                        parts += [
                            directory / filename
                            for filename in plain_files(day_fd, directory)
                            if filename.endswith(PART) and match_clip_file(filename) is not None
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

    def _recover_part(self, name: ClipName) -> _Entry | None:
        """Remux the readable prefix of a part into the clip's MP4; None if the part was removed."""
        part, mp4 = name.stem + PART, name.stem + ".mp4"
        temp = temp_name(name.stem)  # removed by load() if we crash
        with self._open_day(name.camera, name.day) as day_fd:
            if exists(day_fd, mp4):
                _LOGGER.warning("Removing %s: its clip exists already", self._path(name, PART))
                unlink(day_fd, part)
                return None
            try:
                facts = salvage(self._path(name, PART), self._path(name, PART).with_name(temp))
                if facts is None:
                    _LOGGER.warning("Removing unplayable %s", self._path(name, PART))
                    unlink(day_fd, part)
                    return None
                size = fsync_file(day_fd, temp)
                os.replace(temp, mp4, src_dir_fd=day_fd, dst_dir_fd=day_fd)
            finally:
                unlink(day_fd, temp)
            unlink(day_fd, part)
            has_jpg = facts.thumbnail is not None and write_or_log(
                day_fd, name.stem + ".jpg", facts.thumbnail
            )
            info = _info_from_facts(name, facts, size, has_thumbnail=has_jpg, note=RECOVERED_NOTE)
            write_or_log(day_fd, name.stem + ".json", sidecar_bytes(info))
            fsync_dir_or_log(day_fd)
            _LOGGER.warning(
                "Recovered %s (%.1f s) from an interrupted recording",
                name.clip_id,
                facts.duration_s,
            )
            return _entry(day_fd, name, info)

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
        remove_empty_dirs(self._root, camera, day)

    # --- paths ---------------------------------------------------------------------------

    def _path(self, name: ClipName, suffix: str) -> Path:
        return self._root / name.camera / name.day / (name.stem + suffix)

    def _open_day(
        self, camera: str, day: str, *, create: bool = False
    ) -> AbstractContextManager[int]:
        """Open a day directory from the root without following symlinks; yield its descriptor."""
        return open_dir(self._root, camera, day, create=create)


def _camera_in_order(
    days: dict[str, list[tuple[str, int, str]]],
) -> Iterator[tuple[str, str, int, str]]:
    """(day, time, n, clip id) of one camera's clips, oldest first."""
    for day in sorted(days):
        for time, n, clip_id in days[day]:
            yield day, time, n, clip_id


def _entry(day_fd: int, name: ClipName, info: ClipInfo) -> _Entry:
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
    name: ClipName,
    facts: MediaFacts,
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


def _lookup_error(clip_id: str, err: OSError) -> EngineError:
    """Classify a failed lookup of a clip's file: missing, through a symlink, or storage."""
    if isinstance(err, FileNotFoundError):
        return ClipNotFoundError(clip_id)
    if err.errno in SYMLINK_ERRNOS:
        return InvalidClipIdError(f"{clip_id!r} leads through a symlink or non-directory")
    return _storage_error(f"cannot look up {clip_id}", err)


def _storage_error(message: str, err: OSError) -> StorageError:
    if err.errno in {errno.ENOSPC, errno.EDQUOT}:
        return StorageFullError(f"{message}: {err}")
    return StorageError(f"{message}: {err}")
