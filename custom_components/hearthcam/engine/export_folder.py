"""The folder of export bundles: ids mapped to `<id>.zip` by pattern, private, never via a symlink.

Bundles are written to a hidden temporary file beside their final name and renamed when complete,
so a bundle either exists whole or not at all; leftovers of an interrupted export are removed by
prepare(). Nothing but a well-formed export id ever becomes a path, and files are opened with
O_NOFOLLOW, so a link planted in the folder is never followed.
"""

from contextlib import AbstractContextManager, suppress
from datetime import datetime
import io
import os
from pathlib import Path
import re
import secrets
import stat
from typing import Final

from .clip_info import utc
from .errors import InvalidExportIdError, StorageError
from .safe_fs import TEMP_RE, open_dir, temp_name

EXPORT_ID_RE: Final = re.compile(r"[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}")
BUNDLE_SUFFIX: Final = ".zip"
_READ_FLAGS: Final = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


def new_export_id(now: datetime) -> str:
    """Return a fresh id: the export's UTC time and 32 random bits (20260314T120501Z-1f2e3d4c)."""
    return f"{utc(now):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def check_export_id(export_id: object) -> str:
    """Return a well-formed export id, or raise InvalidExportIdError."""
    if not isinstance(export_id, str) or not EXPORT_ID_RE.fullmatch(export_id):
        msg = f"malformed export id {str(export_id)[:60]!r}"
        raise InvalidExportIdError(msg)
    return export_id


class ExportFolder:
    """Export bundles in one folder, readable and writable by Home Assistant's user only."""

    def __init__(self, path: Path) -> None:
        self._path = Path(path)

    @property
    def path(self) -> Path:
        """The folder."""
        return self._path

    def create(self) -> None:
        """Create the folder (mode 0700) if needed; refuse one reached through a symlink."""
        try:
            self._path.mkdir(mode=0o700, parents=True, exist_ok=True)
            if self._path.is_symlink() or not self._path.is_dir():
                msg = f"{self._path} is not a directory"
                raise StorageError(msg)
            self._path.chmod(0o700)
        except OSError as err:
            msg = f"cannot create the export folder {self._path}: {err}"
            raise StorageError(msg) from err

    def prepare(self) -> list[str]:
        """Create the folder and remove temporary files; return their names (at start-up only).

        Only while no export runs: the temporary files of one being built would go too.
        """
        self.create()
        removed = []
        try:
            for name in self._names():
                if TEMP_RE.fullmatch(name):
                    self._unlink(name)
                    removed.append(name)
        except OSError as err:
            msg = f"cannot tidy the export folder {self._path}: {err}"
            raise StorageError(msg) from err
        return removed

    def bundle_ids(self) -> list[str]:
        """Ids of the bundles in the folder, sorted."""
        ids = []
        for name in self._names():
            export_id = name.removesuffix(BUNDLE_SUFFIX)
            if name.endswith(BUNDLE_SUFFIX) and EXPORT_ID_RE.fullmatch(export_id):
                ids.append(export_id)
        return sorted(ids)

    def temp_path(self, export_id: str) -> Path:
        """Return a fresh hidden path to build part of a bundle in (prepare removes it)."""
        return self._path / temp_name(check_export_id(export_id))

    def commit(self, temp: Path, export_id: str) -> int:
        """Make the complete temporary file the bundle of export_id, durably; return its size."""
        name = check_export_id(export_id) + BUNDLE_SUFFIX
        if temp.parent != self._path or not TEMP_RE.fullmatch(temp.name):
            msg = f"{temp} is not a temporary file of the export folder"
            raise StorageError(msg)
        try:
            with self._dir() as dir_fd:
                fd = os.open(temp.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
                try:
                    os.fsync(fd)
                    size = os.fstat(fd).st_size
                finally:
                    os.close(fd)
                os.replace(temp.name, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
                os.fsync(dir_fd)
        except OSError as err:
            msg = f"cannot store export {export_id}: {err}"
            raise StorageError(msg) from err
        return size

    def open(self, export_id: str) -> io.BufferedReader:
        """Open a bundle for reading; FileNotFoundError if there is none (or not a plain file)."""
        name = check_export_id(export_id) + BUNDLE_SUFFIX
        with self._dir() as dir_fd:
            fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise FileNotFoundError(name)
        return os.fdopen(fd, "rb")

    def remove(self, export_id: str) -> bool:
        """Remove a bundle; False if it was not there."""
        name = check_export_id(export_id) + BUNDLE_SUFFIX
        try:
            with self._dir() as dir_fd:
                try:
                    os.unlink(name, dir_fd=dir_fd)
                except FileNotFoundError:
                    return False
                os.fsync(dir_fd)
        except OSError as err:
            msg = f"cannot remove export {export_id}: {err}"
            raise StorageError(msg) from err
        return True

    def discard(self, temp: Path) -> None:
        """Remove a temporary file of an export that did not complete, if it is there."""
        if temp.parent == self._path and TEMP_RE.fullmatch(temp.name):
            with suppress(OSError):
                self._unlink(temp.name)

    def _names(self) -> list[str]:
        with self._dir() as dir_fd, os.scandir(dir_fd) as entries:
            return [entry.name for entry in entries if entry.is_file(follow_symlinks=False)]

    def _unlink(self, name: str) -> None:
        with self._dir() as dir_fd, suppress(FileNotFoundError):
            os.unlink(name, dir_fd=dir_fd)

    def _dir(self) -> AbstractContextManager[int]:
        """Open the folder's descriptor (the folder itself is never reached through a symlink)."""
        return open_dir(self._path)
