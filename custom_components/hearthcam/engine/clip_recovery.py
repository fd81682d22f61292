"""Recovery at load: index what is on disk, rebuild lost sidecars, salvage interrupted recordings.

Every function here works on files only; the clip store decides when they run and holds its
locks and reservations around them.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
import logging
import os
from pathlib import Path
from typing import Final

from .clip_index import IndexEntry, measure
from .clip_info import (
    CAMERA_RE,
    DAY_RE,
    PART,
    ClipInfo,
    ClipName,
    is_newer_sidecar,
    match_clip_file,
    read_sidecar,
    sidecar_bytes,
    valid_day,
)
from .model import ClipTrigger
from .safe_fs import (
    TEMP_RE,
    create_private,
    exists,
    fsync_dir_or_log,
    fsync_file,
    make_file_private,
    open_dir,
    plain_files,
    subdirectories,
    temp_name,
    unlink,
    unlink_logged,
    write_or_log,
)
from .salvage import MediaFacts, probe, salvage

_LOGGER = logging.getLogger(__name__)

RECOVERED_NOTE: Final = "recovered after an interrupted recording"
REBUILT_NOTE: Final = "details rebuilt from the video file"


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
    made_private: tuple[Path, ...]  # files and directories others could read, now owner-only
    unreadable: tuple[Path, ...]  # MP4s without a usable sidecar that PyAV could not read
    recovery: RecoveryReport


@dataclass(slots=True)
class StoreScan:
    """What a walk over the store found, gathered day by day."""

    entries: list[IndexEntry] = field(default_factory=list)
    rebuilt: list[str] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    made_private: list[Path] = field(default_factory=list)
    unreadable: list[Path] = field(default_factory=list)
    parts: list[Path] = field(default_factory=list)


def walk_days(root: Path) -> Iterator[tuple[str, str]]:
    """(camera, day) of every well-formed, real (not symlinked) day directory."""
    for camera in subdirectories(root, CAMERA_RE):
        for day in subdirectories(root / camera, DAY_RE):
            if valid_day(day):
                yield camera, day


def scan_day(root: Path, day_fd: int, camera: str, day: str, scan: StoreScan) -> None:
    """Index one day directory's clips; remove orphans and stale temporary files."""
    directory = root / camera / day
    stems: dict[str, set[str]] = {}
    for filename in plain_files(day_fd, directory):
        match = match_clip_file(filename)
        if match is not None:
            stems.setdefault(match["stem"], set()).add(match["ext"])
            _make_file_private(day_fd, directory / filename, scan.made_private)
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
            entry, rebuilt = _load_clip(root, day_fd, name, has_jpg=".jpg" in exts)
        except Exception as err:  # noqa: BLE001 - one bad file must not stop the load
            _LOGGER.warning("Cannot read clip %s, leaving it alone: %s", name.clip_id, err)
            scan.unreadable.append(directory / (stem + ".mp4"))
            continue
        scan.entries.append(entry)
        if rebuilt:
            scan.rebuilt.append(name.clip_id)


def _make_file_private(dir_fd: int, path: Path, made_private: list[Path]) -> None:
    """Take group and other permissions off a clip's file, logging rather than raising."""
    try:
        if make_file_private(dir_fd, path.name):
            made_private.append(path)
    except OSError as err:
        _LOGGER.warning("Could not make %s private: %s", path, err)


def _load_clip(
    root: Path, day_fd: int, name: ClipName, *, has_jpg: bool
) -> tuple[IndexEntry, bool]:
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
        return measure(day_fd, name, replace(info, has_thumbnail=has_jpg)), False
    mp4_size = os.stat(name.stem + ".mp4", dir_fd=day_fd, follow_symlinks=False).st_size
    facts = probe(name.path(root, ".mp4"))
    if not has_jpg and facts.thumbnail is not None:
        has_jpg = write_or_log(day_fd, name.stem + ".jpg", facts.thumbnail)
    info = _info_from_facts(name, facts, mp4_size, has_thumbnail=has_jpg, note=REBUILT_NOTE)
    # A kept mark survives a damaged or newer sidecar: losing it would let retention
    # delete exactly what the user asked to keep.
    if isinstance(data, dict) and data.get("kept") is True:
        keeper = data.get("kept_by")
        info = replace(
            info,
            kept=True,
            kept_by=keeper if isinstance(keeper, str) else None,
            kept_by_admin=data.get("kept_by_admin") is not False,
        )
    if not is_newer_sidecar(data):  # a newer release's sidecar is left for that release
        write_or_log(day_fd, name.stem + ".json", sidecar_bytes(info))
    return measure(day_fd, name, info), True


def find_parts(root: Path) -> list[Path]:
    """Every `.mp4.part` file in the store, active or not."""
    parts: list[Path] = []
    for camera, day in walk_days(root):
        directory = root / camera / day
        try:
            with open_dir(root, camera, day) as day_fd:
                parts += [
                    directory / filename
                    for filename in plain_files(day_fd, directory)
                    if filename.endswith(PART) and match_clip_file(filename) is not None
                ]
        except OSError as err:
            _LOGGER.warning("Skipping clip directory %s: %s", directory, err)
    return parts


def recover_part(root: Path, name: ClipName) -> IndexEntry | None:
    """Remux the readable prefix of a part into the clip's MP4; None if the part was removed."""
    part, mp4 = name.stem + PART, name.stem + ".mp4"
    part_path = name.path(root, PART)
    temp = temp_name(name.stem)  # removed by load() if we crash
    with open_dir(root, name.camera, name.day) as day_fd:
        if exists(day_fd, mp4):
            _LOGGER.warning("Removing %s: its clip exists already", part_path)
            unlink(day_fd, part)
            return None
        try:
            create_private(day_fd, temp)  # FFmpeg would create it readable by everyone
            facts = salvage(part_path, part_path.with_name(temp))
            if facts is None:
                _LOGGER.warning("Removing unplayable %s", part_path)
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
        return measure(day_fd, name, info)


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
