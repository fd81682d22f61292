"""ClipStore: the one object callers hold for clips; it owns the locking and the on-disk layout.

Layout, with every date and time in UTC:
`<root>/<camera_key>/<YYYY-MM-DD>/<HHMMSS>-<n>.mp4`, a `.jpg` thumbnail and a `.json` sidecar
beside it, and `.mp4.part` while the clip is being recorded (ids and names: clip_info.py).
The index and its queries live in clip_index.py, recovery at load in clip_recovery.py and the
choice of what retention deletes in clip_retention.py; this module ties them together.

Nothing below the root is reached through a symlink: every file operation goes through
directory descriptors opened with O_NOFOLLOW (safe_fs.py), so a link planted in the store is
never followed.
"""

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
import errno
import io
import logging
import os
from pathlib import Path
import stat
import threading

from .clip_index import ClipIndex, IndexEntry, StoreUsage, measure
from .clip_info import (
    MAX_N,
    PART,
    ClipFile,
    ClipInfo,
    ClipName,
    box_of,
    check_camera_key,
    check_day,
    finite,
    match_clip_file,
    sidecar_bytes,
    utc,
)
from .clip_recovery import (
    LoadReport,
    RecoveryReport,
    StoreScan,
    find_parts,
    recover_part,
    scan_day,
    walk_days,
)
from .clip_retention import (
    RetentionPolicy,
    RetentionResult,
    held_for_feedback,
    over_bytes,
    short_bytes,
    victims,
)
from .errors import (
    ClipInUseError,
    ClipNotFoundError,
    EngineError,
    InvalidClipIdError,
    KeptByAdministratorError,
    StorageError,
    StorageFullError,
)
from .model import RecordedClip, Verdict
from .motion import Box
from .safe_fs import (
    SYMLINK_ERRNOS,
    create_private,
    exists,
    fsync_dir_or_log,
    fsync_file,
    make_private,
    make_root,
    open_dir,
    remove_empty_dirs,
    unlink,
    write_atomic,
    write_or_log,
)

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Where:
    """Where motion was in a clip being finalised (checked before anything changes)."""

    boxes: tuple[tuple[float, Box], ...]
    onset_box: Box | None


class ClipStore:
    """Clips of all cameras under one root: thread-safe, indexed in memory, never scanned per call.

    Locking: `_lock` guards the index and bookkeeping and is held only briefly, never across
    PyAV work, an fsync or a directory being created, so listing stays fast while clips are
    written; usage() takes no lock at all. `_mutate_lock` serialises what changes or removes
    existing clips' files (load, recovery, set_kept, delete, retention), so sidecars and index
    agree.
    """

    def __init__(self, root: Path) -> None:
        # The root itself may be reached through a symlink (e.g. a mounted media disk).
        self._root = Path(root).resolve()
        self._lock = threading.Lock()
        self._mutate_lock = threading.Lock()
        self._index = ClipIndex()
        # Replaced (never changed) whenever the index changes, so reading it needs no lock.
        self._usage = self._index.usage()
        self._active: dict[Path, ClipName] = {}  # parts being written or recovered
        self._allocating: Counter[str] = Counter()  # cameras whose day directory is being made
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
            self._allocating[camera] += 1  # keeps tidying from removing the new directory
        try:
            # Creating the day's directory syncs its parent: done without the lock.
            with self._open_day(camera, day, create=True) as day_fd:
                name = self._reserve_free_name(day_fd, camera, day, time)
        except OSError as err:
            msg = f"cannot create the directory for {camera}/{day}"
            raise _storage_error(msg, err) from err
        finally:
            with self._lock:
                self._allocating[camera] -= 1
                if not self._allocating[camera]:
                    del self._allocating[camera]
        return name.clip_id, self._path(name, PART)

    def _reserve_free_name(self, day_fd: int, camera: str, day: str, time: str) -> ClipName:
        """Reserve the first n in this second with no clip, reservation or file."""
        for n in range(1, MAX_N + 1):
            name = ClipName(camera, day, time, n)
            part = self._path(name, PART)
            with self._lock:  # reserved before the disk is asked, so no one else takes it
                if name.clip_id in self._index or part in self._active:
                    continue
                self._active[part] = name
            try:
                taken = any(
                    exists(day_fd, name.stem + ext) for ext in (".mp4", PART, ".json")
                ) or not _create_part(day_fd, name.stem + PART)
            except BaseException:
                with self._lock:
                    del self._active[part]
                raise
            if not taken:
                return name
            with self._lock:
                del self._active[part]
        msg = f"no free clip id left in {camera}/{day} {time}"
        raise StorageError(msg)

    def finalize(
        self,
        recorded: RecordedClip,
        *,
        peak_score: float = 0.0,
        motion_timeline: Iterable[tuple[float, float]] = (),
        motion_boxes: Iterable[tuple[float, Box]] = (),
        onset_box: Box | None = None,
    ) -> ClipInfo:
        """Turn a finished part into a clip: rename it, write thumbnail and sidecar, index it.

        ValueError (nothing changed, the part stays active) for NaN numbers or a naive start;
        StorageError if the part cannot be renamed: it is then no longer active and stays on
        disk, for recovery at the next load() unless the caller abandons it.
        """
        # Checked before anything changes: a sidecar must never hold NaN or a naive time.
        timeline = tuple((finite(offset), finite(score)) for offset, score in motion_timeline)
        where = Where(
            tuple((finite(offset), box_of(box)) for offset, box in motion_boxes),
            None if onset_box is None else box_of(onset_box),
        )
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
            entry = self._commit(name, recorded, start, (peak, timeline), where)
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
        motion: tuple[float, tuple[tuple[float, float], ...]],
        where: Where,
    ) -> IndexEntry:
        """Rename the part (the commit point), then write thumbnail and sidecar beside it."""
        mp4 = name.stem + ".mp4"
        peak, timeline = motion
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
                    cut_short=recorded.cut_short,
                    motion_boxes=where.boxes,
                    onset_box=where.onset_box,
                )
                write_or_log(day_fd, name.stem + ".json", sidecar_bytes(info))
                fsync_dir_or_log(day_fd)
                return measure(day_fd, name, info)
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

    # --- queries (answered from the index in memory) -------------------------------------

    def cameras(self) -> list[str]:
        """Camera keys that have clips, sorted."""
        with self._lock:
            return self._index.cameras()

    def days(self, camera_key: str) -> list[str]:
        """Days (YYYY-MM-DD, UTC) with clips of this camera, newest first."""
        camera = check_camera_key(camera_key)
        with self._lock:
            return self._index.days(camera)

    def clips(
        self, camera_key: str, day: str, offset: int = 0, limit: int | None = None
    ) -> list[ClipInfo]:
        """Return a page of one camera's clips of one day, newest first."""
        camera, day = check_camera_key(camera_key), check_day(day)
        _check_page(offset, limit)
        with self._lock:
            return self._index.page(camera, day, offset, limit)

    def count(self, camera_key: str, day: str) -> int:
        """Count one camera's clips of one day."""
        camera, day = check_camera_key(camera_key), check_day(day)
        with self._lock:
            return self._index.count(camera, day)

    def verdicts_between(
        self,
        camera_key: str,
        start: datetime,
        end: datetime,
        verdict: Verdict | None = None,
    ) -> list[ClipInfo]:
        """Return one camera's clips begun in [start, end) with a verdict (or this one)."""
        camera = check_camera_key(camera_key)
        with self._lock:
            return self._index.with_verdict(camera, start, end, verdict)

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
        _check_page(offset, limit)
        with self._lock:
            return self._index.page_between(camera, start, end, offset, limit)

    def count_between(self, camera_key: str, start: datetime, end: datetime) -> int:
        """Count one camera's clips that began in [start, end) (to the second of the id)."""
        camera = check_camera_key(camera_key)
        with self._lock:
            return self._index.count_between(camera, start, end)

    def newest(self, camera_key: str) -> ClipInfo | None:
        """Return the most recent clip of this camera, or None."""
        camera = check_camera_key(camera_key)
        with self._lock:
            days = self._index.days(camera)
            return self._index.page(camera, days[0], 0, 1)[0] if days else None

    def get(self, clip_id: str) -> ClipInfo:
        """Return the clip with this id."""
        name = ClipName.parse(clip_id)
        with self._lock:
            return self._index.entry(name.clip_id).info

    def usage(self) -> StoreUsage:
        """Bytes and clip counts, in total and per camera; never waits (no lock, no disk)."""
        return self._usage

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
            self._index.entry(name.clip_id)
        return self._root / name.camera / name.day / filename

    def open_file(self, clip_id: str, kind: ClipFile | str = ClipFile.VIDEO) -> io.BufferedReader:
        """Open one file of a clip for reading; the caller closes it.

        Unlike a path from resolve(), nothing can swap the file for a symlink between the check
        and the open: the file is opened with O_NOFOLLOW through the day's directory descriptor.
        """
        name = ClipName.parse(clip_id)
        filename = name.stem + ClipFile(kind).suffix
        with self._lock:
            self._index.entry(name.clip_id)
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
            info = self._index.entry(name.clip_id).info
            self._holds[name.clip_id] += 1
        try:
            yield info
        finally:
            with self._lock:
                self._holds[name.clip_id] -= 1
                if self._holds[name.clip_id] <= 0:
                    del self._holds[name.clip_id]

    def set_kept(
        self,
        clip_id: str,
        keep: bool,  # noqa: FBT001 - reads naturally
        *,
        user_id: str | None = None,
        admin: bool = True,
    ) -> ClipInfo:
        """Mark a clip as kept (exempt from retention) or not; persisted in its sidecar.

        The sidecar records who kept it (user_id) and whether they were an administrator; an
        administrator's keep is released only by an administrator (KeptByAdministratorError,
        nothing changed). An administrator keeping a clip someone else kept takes it over.
        """

        def change(info: ClipInfo) -> ClipInfo:
            if keep:
                if info.kept and (info.kept_by_admin or not admin):
                    return info
                return replace(info, kept=True, kept_by=user_id, kept_by_admin=admin)
            if not info.kept:
                return info
            if info.kept_by_admin and not admin:
                msg = f"clip {info.clip_id} was kept by an administrator"
                raise KeptByAdministratorError(msg)
            return replace(info, kept=False, kept_by=None, kept_by_admin=False)

        return self._rewrite(clip_id, change)

    def set_verdict(
        self, clip_id: str, verdict: Verdict | None, now: datetime | None = None
    ) -> ClipInfo:
        """Record what a person said about a clip (None clears it); persisted in its sidecar.

        Setting the verdict a clip already has changes nothing (not even when it was said).
        """
        at = utc(datetime.now(UTC) if now is None else now)

        def change(info: ClipInfo) -> ClipInfo:
            if info.verdict is verdict:
                return info
            return replace(info, verdict=verdict, verdict_at=None if verdict is None else at)

        return self._rewrite(clip_id, change)

    def _rewrite(self, clip_id: str, change: Callable[[ClipInfo], ClipInfo]) -> ClipInfo:
        """Change a clip's details: its sidecar is replaced atomically, then its index entry."""
        name = ClipName.parse(clip_id)
        with self._mutate_lock:
            with self._lock:
                old = self._index.entry(name.clip_id).info
            info = change(old)
            if info == old:
                return info
            try:
                with self._open_day(name.camera, name.day) as day_fd:
                    write_atomic(day_fd, name.stem + ".json", sidecar_bytes(info))
                    os.fsync(day_fd)
                    entry = measure(day_fd, name, info)
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
        now_utc = datetime.now(UTC) if now is None else utc(now)
        cutoff = policy.cutoff(now_utc)
        deleted: list[str] = []
        with self._mutate_lock:
            short = short_bytes(self._root, policy)  # asks the disk: outside the lock
            with self._lock:
                chosen = victims(
                    self._index,
                    cutoff=cutoff,
                    excess=over_bytes(self._index, policy, camera),
                    short=short,
                    camera=camera,
                    exempt=self._holds.__contains__,
                    held=lambda info: held_for_feedback(info, policy, now=now_utc),
                )
            for name in chosen:
                try:
                    self._delete(name)
                except ClipInUseError, ClipNotFoundError:
                    continue  # held or deleted since it was chosen
                except StorageError as err:
                    _LOGGER.warning("Retention could not delete %s: %s", name.clip_id, err)
                    continue
                deleted.append(name.clip_id)
            still_short = short_bytes(self._root, policy)
            with self._lock:
                still_over = over_bytes(self._index, policy, camera)
        result = RetentionResult(tuple(deleted), still_short, still_over)
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

    # --- load and crash recovery ---------------------------------------------------------

    def load(self) -> LoadReport:
        """Rebuild the index from disk, then recover leftover parts; call before recording.

        Queries keep answering from the previous index until the new one is complete.
        """
        with self._mutate_lock:
            with self._lock:
                if self._active or self._allocating:
                    msg = "cannot reload the clip store while clips are being recorded"
                    raise StorageError(msg)
                self._loading = True
            try:
                report = self._load()
            finally:
                with self._lock:
                    self._loading = False
        _LOGGER.info(
            "Clip store %s: %d clip(s), %d rebuilt, %d recovered, %d file(s) removed, "
            "%d made private",
            self._root,
            report.clips,
            len(report.rebuilt),
            len(report.recovery.recovered),
            len(report.removed) + len(report.recovery.removed),
            len(report.made_private),
        )
        return report

    def _load(self) -> LoadReport:
        try:
            make_root(self._root)
        except OSError as err:
            msg = f"cannot create the clip store {self._root}"
            raise _storage_error(msg, err) from err
        scan = StoreScan()
        # Stores written before footage was private: directories fixed here, files by scan_day.
        _make_dir_private(self._root, (), scan.made_private)
        cameras: set[str] = set()
        for camera, day in walk_days(self._root):
            if camera not in cameras:
                cameras.add(camera)
                _make_dir_private(self._root, (camera,), scan.made_private)
            _make_dir_private(self._root, (camera, day), scan.made_private)
            try:
                with self._open_day(camera, day) as day_fd:
                    scan_day(self._root, day_fd, camera, day, scan)
            except OSError as err:
                _LOGGER.warning("Skipping unreadable clip directory %s/%s: %s", camera, day, err)
            with self._lock:
                self._tidy_dirs(camera, day)  # e.g. a day that held only orphans
        index = ClipIndex(scan.entries)
        with self._lock:  # the whole index at once, so readers never see a partly loaded one
            self._index = index
            self._usage = index.usage()
            self._loaded = True
        return LoadReport(
            clips=len(scan.entries),
            rebuilt=tuple(scan.rebuilt),
            removed=tuple(scan.removed),
            made_private=tuple(scan.made_private),
            unreadable=tuple(scan.unreadable),
            recovery=self._recover(scan.parts),
        )

    def recover_partials(self) -> RecoveryReport:
        """Make clips of leftover `.mp4.part` files (never active ones); remove unreadable ones."""
        with self._mutate_lock:
            return self._recover(find_parts(self._root))

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
                entry = recover_part(self._root, name)
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

    # --- bookkeeping (lock held) ---------------------------------------------------------

    def _index_add(self, entry: IndexEntry) -> None:
        self._index.add(entry)
        self._usage = self._index.usage()

    def _index_remove(self, clip_id: str) -> IndexEntry:
        entry = self._index.remove(clip_id)
        self._usage = self._index.usage()
        return entry

    def _tidy_dirs(self, camera: str, day: str) -> None:
        """Remove the day and camera directories if empty (lock held, so allocate cannot race)."""
        if self._allocating[camera] or any(n.camera == camera for n in self._active.values()):
            return  # a part may be about to be created there
        remove_empty_dirs(self._root, camera, day)

    # --- paths ---------------------------------------------------------------------------

    def _path(self, name: ClipName, suffix: str) -> Path:
        return name.path(self._root, suffix)

    def _open_day(
        self, camera: str, day: str, *, create: bool = False
    ) -> AbstractContextManager[int]:
        """Open a day directory from the root without following symlinks; yield its descriptor."""
        return open_dir(self._root, camera, day, create=create)


def _create_part(day_fd: int, name: str) -> bool:
    """Create a reserved clip's part file, owner only; False if the name is taken after all."""
    try:
        create_private(day_fd, name)
    except FileExistsError:
        return False
    return True


def _make_dir_private(root: Path, names: tuple[str, ...], made_private: list[Path]) -> None:
    """Take group and other permissions off root/names..., logging rather than raising."""
    path = root.joinpath(*names)
    try:
        with open_dir(root, *names) as fd:
            if make_private(fd):
                made_private.append(path)
    except OSError as err:
        _LOGGER.warning("Could not make %s private: %s", path, err)


def _check_page(offset: int, limit: int | None) -> None:
    if offset < 0 or (limit is not None and limit < 0):
        msg = "offset and limit must not be negative"
        raise ValueError(msg)


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
