"""The clip store's in-memory index: clips by camera and day in time order, and their usage.

Not thread-safe on its own: the clip store holds its lock around every call.
"""

import bisect
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
import heapq
import os

from .clip_info import ClipInfo, ClipName, utc
from .errors import ClipNotFoundError
from .model import Verdict

type SortKey = tuple[str, int, str]  # (HHMMSS, n, clip id): chronological within a day


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
class IndexEntry:
    """A clip in the index, with what its files occupy."""

    info: ClipInfo
    name: ClipName
    size_bytes: int  # sum of file sizes: what usage and max_total_bytes count
    disk_bytes: int  # allocated blocks: what deleting the clip frees


def measure(day_fd: int, name: ClipName, info: ClipInfo) -> IndexEntry:
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
    return IndexEntry(info=info, name=name, size_bytes=size, disk_bytes=disk)


class ClipIndex:
    """Clips by id, and by camera and day as sort keys ascending; usage counted per camera."""

    def __init__(self, entries: Iterable[IndexEntry] = ()) -> None:
        self._entries: dict[str, IndexEntry] = {}
        # camera -> day -> sort keys ascending; a day lists newest first by reading backwards.
        self._days: dict[str, dict[str, list[SortKey]]] = {}
        self._usage: dict[str, Usage] = {}
        for entry in entries:
            name = entry.name
            self._entries[name.clip_id] = entry
            self._days.setdefault(name.camera, {}).setdefault(name.day, []).append(name.sort_key)
            self._count(name.camera, entry.size_bytes, 1)
        for days in self._days.values():
            for keys in days.values():
                keys.sort()

    def __contains__(self, clip_id: str) -> bool:
        return clip_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def entry(self, clip_id: str) -> IndexEntry:
        """Return the entry of this clip, or raise ClipNotFoundError."""
        try:
            return self._entries[clip_id]
        except KeyError:
            raise ClipNotFoundError(clip_id) from None

    def add(self, entry: IndexEntry) -> None:
        """Index a clip (its id must not be indexed yet)."""
        name = entry.name
        self._entries[name.clip_id] = entry
        bisect.insort(
            self._days.setdefault(name.camera, {}).setdefault(name.day, []), name.sort_key
        )
        self._count(name.camera, entry.size_bytes, 1)

    def remove(self, clip_id: str) -> IndexEntry:
        """Take a clip out of the index; return its entry (ClipNotFoundError if not indexed)."""
        entry = self.entry(clip_id)
        del self._entries[clip_id]
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

    # --- queries -------------------------------------------------------------------------

    def cameras(self) -> list[str]:
        """Camera keys that have clips, sorted."""
        return sorted(self._days)

    def days(self, camera: str) -> list[str]:
        """Days with clips of this camera, newest first."""
        return sorted(self._days.get(camera, {}), reverse=True)

    def page(self, camera: str, day: str, offset: int, limit: int | None) -> list[ClipInfo]:
        """Return a page of one camera's clips of one day, newest first."""
        keys = self._days.get(camera, {}).get(day, [])
        # Keys ascend, so newest-first item i is keys[len - 1 - i].
        stop = len(keys) - offset
        first = 0 if limit is None else max(0, stop - limit)
        return [self._entries[key[2]].info for key in reversed(keys[first : max(0, stop)])]

    def count(self, camera: str, day: str) -> int:
        """Count one camera's clips of one day."""
        return len(self._days.get(camera, {}).get(day, ()))

    def page_between(
        self, camera: str, start: datetime, end: datetime, offset: int, limit: int | None
    ) -> list[ClipInfo]:
        """Return a page of one camera's clips that began in [start, end), newest first."""
        page: list[ClipInfo] = []
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

    def count_between(self, camera: str, start: datetime, end: datetime) -> int:
        """Count one camera's clips that began in [start, end)."""
        return sum(high - low for _, low, high in self._ranges(camera, start, end))

    def with_verdict(
        self, camera: str, start: datetime, end: datetime, verdict: Verdict | None
    ) -> list[ClipInfo]:
        """Return one camera's clips begun in [start, end) with a verdict (or this one)."""
        found = []
        for keys, low, high in self._ranges(camera, start, end):
            for key in reversed(keys[low:high]):
                info = self._entries[key[2]].info
                if info.verdict is not None and verdict in (None, info.verdict):
                    found.append(info)
        return found

    def _ranges(
        self, camera: str, start: datetime, end: datetime
    ) -> list[tuple[list[SortKey], int, int]]:
        """(sort keys of a day, low, high) covering [start, end), newest day first."""
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

    def usage(self) -> StoreUsage:
        """Bytes and clip counts, in total and per camera (an immutable snapshot)."""
        cameras = dict(self._usage)
        total = Usage(
            sum(u.size_bytes for u in cameras.values()), sum(u.clip_count for u in cameras.values())
        )
        return StoreUsage(total=total, cameras=cameras)

    def size_bytes(self, camera: str | None = None) -> int:
        """Bytes of the clips of all cameras, or of one."""
        usages = self._usage.values() if camera is None else [self._usage.get(camera, Usage())]
        return sum(u.size_bytes for u in usages)

    def oldest_first(self, camera: str | None = None) -> Iterator[IndexEntry]:
        """Entries of the clips of all cameras, or of one, oldest first."""
        cameras = self._days.values() if camera is None else [self._days.get(camera, {})]
        per_camera = [_camera_in_order(days) for days in cameras]
        for *_, clip_id in heapq.merge(*per_camera):
            yield self._entries[clip_id]


def _camera_in_order(days: dict[str, list[SortKey]]) -> Iterator[tuple[str, str, int, str]]:
    """(day, time, n, clip id) of one camera's clips, oldest first."""
    for day in sorted(days):
        for time, n, clip_id in days[day]:
            yield day, time, n, clip_id
