"""Move a folder tree to another place file by file, so that a crash at any point loses nothing.

Each file is renamed when both places share a filesystem (atomic: it is in exactly one place at
any time). Across filesystems it is copied to a hidden `.<name>.moving` file beside its target,
flushed, compared byte for byte with its source, renamed into place and only then is the
source removed. Run again after an interruption, the move finishes: a half-copied file is
copied again, a source whose identical copy is already in place is removed, and a target that
differs from its source is never overwritten and its source never removed. Symlinks and other
special files are neither followed nor moved.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
import errno
import hashlib
import os
from pathlib import Path
import re
import shutil
import stat
import time
from typing import Final

from .errors import StorageError

MOVING_RE: Final = re.compile(r"\..+\.moving")
_CHUNK: Final = 1 << 20

# Called after each durable step (`copied`, `placed`, `removed`) with the file's relative path.
type StepHook = Callable[[str, str], None]


@dataclass(slots=True)
class MoveReport:
    """What one run of a move did."""

    files: int = 0  # files now in the target that came from the source in this run
    bytes: int = 0
    copied: int = 0  # of those, how many were copied (across filesystems) rather than renamed
    conflicts: list[str] = field(default_factory=list)  # kept in both places: they differ
    skipped: list[str] = field(default_factory=list)  # symlinks and special files, left alone
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        """True when nothing but empty folders was left behind."""
        return not self.conflicts and not self.skipped


def move_tree(source: Path, target: Path, on_step: StepHook | None = None) -> MoveReport:
    """Move every regular file below source to the same relative path below target.

    The source folder itself must not be a symlink (it is left alone if it is). Raises
    StorageError when a file cannot be moved; whatever was moved stays moved and a later run
    resumes.
    """
    started = time.monotonic()
    report = MoveReport()
    if source.is_symlink() or not source.is_dir():
        return report
    if target.resolve().is_relative_to(source.resolve()):
        msg = f"cannot move {source} into itself ({target})"
        raise StorageError(msg)
    try:
        _make_dir(target)
        for folder, dirs, files in os.walk(source, followlinks=False):
            here = Path(folder)
            relative_dir = here.relative_to(source)
            dirs.sort()
            for name in sorted(files):
                relative = relative_dir / name
                _move_one(source, target, relative, report, on_step)
            if files:
                # Renames are made durable once per folder: one lost in a crash leaves the
                # file in its old place, where the next run finds it.
                _fsync_dir(here)
                if (target / relative_dir).is_dir():
                    _fsync_dir(target / relative_dir)
            for name in dirs:
                if (here / name).is_symlink():
                    report.skipped.append(str(relative_dir / name))
        _remove_empty_dirs(source)
    except OSError as err:
        msg = f"cannot move {source} to {target}: {err}"
        raise StorageError(msg) from err
    report.seconds = time.monotonic() - started
    return report


def _move_one(
    source: Path, target: Path, relative: Path, report: MoveReport, on_step: StepHook | None
) -> None:
    """Move one file; a leftover of an interrupted copy is dropped and redone."""
    src = source / relative
    info = src.lstat()
    if not stat.S_ISREG(info.st_mode):
        report.skipped.append(str(relative))
        return
    if MOVING_RE.fullmatch(relative.name):
        return  # a copy of ours left in a folder that is now a source: never user data
    dst = target / relative
    _make_dir(dst.parent)
    moving = dst.parent / f".{dst.name}.moving"
    moving.unlink(missing_ok=True)
    if dst.is_symlink() or dst.exists():
        if not dst.is_symlink() and dst.is_file() and _same_content(src, dst):
            _remove_source(src, relative, on_step)
            _count(report, info.st_size, copied=False)
        else:
            report.conflicts.append(str(relative))
        return
    try:
        src.rename(dst)
    except OSError as err:
        if err.errno != errno.EXDEV:
            raise
    else:
        _step(on_step, "placed", relative)
        _count(report, info.st_size, copied=False)
        return
    _copy(src, moving)
    _step(on_step, "copied", relative)
    if not _same_content(src, moving):
        moving.unlink(missing_ok=True)
        msg = f"the copy of {relative} differs from its source; the source is kept"
        raise StorageError(msg)
    moving.rename(dst)
    _fsync_dir(dst.parent)
    _step(on_step, "placed", relative)
    _remove_source(src, relative, on_step)
    _count(report, info.st_size, copied=True)


def _count(report: MoveReport, size: int, *, copied: bool) -> None:
    report.files += 1
    report.bytes += size
    report.copied += copied


def _remove_source(src: Path, relative: Path, on_step: StepHook | None) -> None:
    src.unlink()
    _fsync_dir(src.parent)
    _step(on_step, "removed", relative)


def _step(on_step: StepHook | None, what: str, relative: Path) -> None:
    if on_step is not None:
        on_step(what, str(relative))


def _copy(src: Path, dst: Path) -> None:
    """Copy src's bytes and times to dst (created private), flushed to disk."""
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as out, src.open("rb") as into:
        shutil.copyfileobj(into, out, _CHUNK)
        out.flush()
        os.fsync(out.fileno())
    shutil.copystat(src, dst, follow_symlinks=False)


def _same_content(a: Path, b: Path) -> bool:
    """Return True if both files hold the same bytes (sizes first, then SHA-256 of each)."""
    if a.stat().st_size != b.stat().st_size:
        return False
    return _digest(a) == _digest(b)


def _digest(path: Path) -> bytes:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.digest()


def _make_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.is_symlink() or not path.is_dir():
        msg = f"{path} is not a directory"
        raise StorageError(msg)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_empty_dirs(root: Path) -> None:
    """Remove the empty folders below root, deepest first, and root itself if it is empty."""
    for folder, _dirs, _files in os.walk(root, topdown=False, followlinks=False):
        try:
            Path(folder).rmdir()
        except OSError as err:
            if err.errno not in {errno.ENOTEMPTY, errno.EEXIST}:
                raise
