"""The clip store's file operations: no symlink below its root is followed, writes are durable.

Every operation goes through directory descriptors opened with O_NOFOLLOW, so a link planted
in the store is never followed; files are replaced through a synced temporary file. Footage is
for the owner of the process only: files are created 0600 and directories 0700.
"""

from collections.abc import Iterator
from contextlib import contextmanager, suppress
import errno
import logging
import os
from pathlib import Path
import re
import secrets
import stat
from typing import Final

_LOGGER = logging.getLogger(__name__)

_DIR_FLAGS: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
SYMLINK_ERRNOS: Final = frozenset({errno.ELOOP, errno.ENOTDIR})
TEMP_RE: Final = re.compile(r"\..+\.tmp")  # what temp_name gives: left behind by a crash
FILE_MODE: Final = 0o600
DIR_MODE: Final = 0o700


def temp_name(name: str) -> str:
    """Return a fresh hidden name (matching TEMP_RE) to write name through."""
    return f".{name}.{secrets.token_hex(4)}.tmp"


@contextmanager
def open_dir(root: Path, *names: str, create: bool = False) -> Iterator[int]:
    """Descriptor of the directory root/names..., each below root opened without following."""
    if create:
        make_root(root)
    fds: list[int] = []
    try:
        fds.append(os.open(root, _DIR_FLAGS))
        for name in names:
            if create:
                _make_dir(name, fds[-1])
            fds.append(os.open(name, _DIR_FLAGS, dir_fd=fds[-1]))
        yield fds[-1]
    finally:
        for fd in reversed(fds):
            os.close(fd)


def make_root(root: Path) -> None:
    """Create the store's root (owner only) if it is missing; missing parents get the default."""
    root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)


def _make_dir(name: str, parent_fd: int) -> None:
    try:
        os.mkdir(name, DIR_MODE, dir_fd=parent_fd)
    except FileExistsError:
        return
    os.fsync(parent_fd)  # the new directory entry survives a power loss


def remove_empty_dirs(root: Path, parent: str, child: str) -> None:
    """Remove root/parent/child, then root/parent, where empty; quietly keep the others."""
    try:
        root_fd = os.open(root, _DIR_FLAGS)
    except OSError:
        return
    try:
        parent_fd = os.open(parent, _DIR_FLAGS, dir_fd=root_fd)
        try:
            os.rmdir(child, dir_fd=parent_fd)
        finally:
            os.close(parent_fd)
        os.rmdir(parent, dir_fd=root_fd)
    except OSError:
        pass  # not empty, or gone already
    finally:
        os.close(root_fd)


def subdirectories(path: Path, pattern: re.Pattern[str]) -> list[str]:
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


def plain_files(dir_fd: int, directory: Path) -> list[str]:
    """Names of the plain files in a directory; anything else is logged and skipped."""
    names = []
    with os.scandir(dir_fd) as items:
        for item in items:
            if not item.is_file(follow_symlinks=False):
                _LOGGER.warning("Ignoring %s: not a plain file", directory / item.name)
                continue
            names.append(item.name)
    return names


def exists(dir_fd: int, name: str) -> bool:
    """Whether name exists in the directory (a symlink counts, unfollowed)."""
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def unlink(dir_fd: int, name: str) -> None:
    """Remove name from the directory if it is there."""
    with suppress(FileNotFoundError):
        os.unlink(name, dir_fd=dir_fd)


def unlink_logged(dir_fd: int, path: Path, removed: list[Path]) -> None:
    """Remove a leftover file (path names it in dir_fd), appending it to removed; log failures."""
    try:
        unlink(dir_fd, path.name)
    except OSError as err:
        _LOGGER.warning("Could not remove %s: %s", path, err)
        return
    _LOGGER.info("Removed leftover %s", path)
    removed.append(path)


def create_private(dir_fd: int, name: str) -> None:
    """Create an empty file (0600) that a writer then opens by path and truncates.

    FFmpeg creates the files it writes world-readable; a file that exists keeps its mode.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    os.close(os.open(name, flags, FILE_MODE, dir_fd=dir_fd))


def make_private(fd: int) -> bool:
    """Take group and other permissions off an open file or directory; True if they had any."""
    mode = os.fstat(fd).st_mode
    if not mode & 0o077:
        return False
    os.fchmod(fd, stat.S_IMODE(mode) & ~0o077)
    return True


def make_file_private(dir_fd: int, name: str) -> bool:
    """make_private for a plain file in the directory, opened without following or blocking."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    fd = os.open(name, flags, dir_fd=dir_fd)
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode) and make_private(fd)
    finally:
        os.close(fd)


def fsync_file(dir_fd: int, name: str) -> int:
    """Flush a file's data to disk, for the owner only; return its size."""
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        make_private(fd)  # a file FFmpeg wrote (a salvaged clip) is world-readable
        os.fsync(fd)
        return os.fstat(fd).st_size
    finally:
        os.close(fd)


def fsync_dir_or_log(dir_fd: int) -> None:
    """Flush a directory's entries to disk, logging rather than raising a failure."""
    try:
        os.fsync(dir_fd)
    except OSError as err:
        _LOGGER.warning("Could not flush a clip directory: %s", err)


def write_atomic(dir_fd: int, name: str, data: bytes) -> None:
    """Replace name with data via a synced temporary file: readers see old or new, never half."""
    temp = temp_name(name)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(temp, flags, FILE_MODE, dir_fd=dir_fd)
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


def write_or_log(dir_fd: int, name: str, data: bytes) -> bool:
    """write_atomic for metadata a clip can live without; True if written."""
    try:
        write_atomic(dir_fd, name, data)
    except OSError as err:
        _LOGGER.warning("Could not write %s: %s", name, err)
        return False
    return True
