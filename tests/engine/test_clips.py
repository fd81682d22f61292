"""The clip store, on real files: layout, index, paths that cannot escape, retention, recovery."""

from collections.abc import Callable
import contextlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
import functools
import json
import os
from pathlib import Path
import shutil
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest

from custom_components.hearthcam.engine.clip_index import StoreUsage, Usage
from custom_components.hearthcam.engine.clip_info import SIDECAR_SCHEMA, ClipFile, ClipInfo
from custom_components.hearthcam.engine.clip_recovery import REBUILT_NOTE, RECOVERED_NOTE
from custom_components.hearthcam.engine.clip_retention import RetentionPolicy
from custom_components.hearthcam.engine.clips import ClipStore
from custom_components.hearthcam.engine.errors import (
    ClipInUseError,
    ClipNotFoundError,
    InvalidClipIdError,
    KeptByAdministratorError,
    StorageError,
)
from custom_components.hearthcam.engine.imaging import encode_array_jpeg
from custom_components.hearthcam.engine.model import ClipTrigger, RecordedClip
from devkit.footage import Scene
from devkit.pytest_plugin import MakeFootage
from tests.waiting import HANG_S

from .clipkit import (
    SAMPLE_INFO,
    box_offsets,
    decode_frames,
    media_facts,
    record,
    run_in_threads,
    write_fragmented,
)

T0 = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)
SMALL = Scene(width=160, height=120, duration_s=2, audio=True)  # 15 fps, a keyframe a second
REPO = Path(__file__).parents[2]


@pytest.fixture(scope="session")
def clip_mp4(make_footage: MakeFootage, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2 s fragmented MP4 with H.264 and AAC, as the recorder writes them."""
    target = tmp_path_factory.mktemp("clips-source") / "clip.mp4"
    return write_fragmented(make_footage(SMALL, ".mp4"), target)


@pytest.fixture(scope="session")
def thumbnail() -> bytes:
    """A small real JPEG."""
    return encode_array_jpeg(np.full((60, 80, 3), 120, np.uint8))


@pytest.fixture
def store(tmp_path: Path) -> ClipStore:
    """A loaded, empty store."""
    clip_store = ClipStore(tmp_path / "clips")
    clip_store.load()
    return clip_store


def files_of(store: ClipStore) -> list[str]:
    """Every file and directory below the root, relative, sorted."""
    return sorted(str(p.relative_to(store.root)) for p in store.root.rglob("*"))


def all_ids(store: ClipStore) -> list[str]:
    """Every indexed clip id, sorted, found through the public listing."""
    return sorted(
        info.clip_id
        for camera in store.cameras()
        for day in store.days(camera)
        for info in store.clips(camera, day)
    )


# --- layout, ids, finalize ------------------------------------------------------------------


def test_layout_ids_and_finalize(store: ClipStore, clip_mp4: Path, thumbnail: bytes) -> None:
    """Ids and paths follow the documented layout in UTC; finalize leaves mp4, jpg and json."""
    local = datetime(2026, 3, 15, 1, 30, 5, 250000, tzinfo=timezone(timedelta(hours=2)))
    clip_id, part = store.allocate("front_door", local)
    assert clip_id == "front_door/2026-03-14/233005-1"  # 23:30:05 UTC, the day before
    assert part == store.root / "front_door" / "2026-03-14" / "233005-1.mp4.part"
    assert part.parent.is_dir()
    assert store.active == {part}
    second_id, second_part = store.allocate("front_door", local + timedelta(milliseconds=500))
    assert second_id == "front_door/2026-03-14/233005-2"  # same second: next n

    shutil.copyfile(clip_mp4, part)
    codec, width, height, audio, duration = media_facts(clip_mp4)
    recorded = RecordedClip(
        part_path=part,
        start=local,
        duration_s=duration,
        video_codec=codec,
        width=width,
        height=height,
        audio_codec=audio,
        trigger=ClipTrigger.MANUAL,
        size_bytes=part.stat().st_size,
        thumbnail_jpeg=thumbnail,
        motion_offset_s=0.5,
        notes=("split at max length",),
    )
    info = store.finalize(recorded, peak_score=0.7, motion_timeline=[(0.5, 0.2), (1.0, 0.7)])
    assert store.active == {second_part}
    assert info.clip_id == clip_id
    assert info.camera_key == "front_door"
    assert info.start == local
    assert info.start.tzinfo is UTC
    assert info.end == info.start + timedelta(seconds=duration)
    assert (info.video_codec, info.audio_codec, info.width, info.height) == (
        "h264",
        "aac",
        160,
        120,
    )
    assert info.size_bytes == clip_mp4.stat().st_size
    assert info.trigger is ClipTrigger.MANUAL
    assert info.motion_timeline == ((0.5, 0.2), (1.0, 0.7))
    assert info.has_thumbnail
    assert not info.kept
    assert info.notes == ("split at max length",)
    assert not info.cut_short
    assert store.get(clip_id) == info

    day = "front_door/2026-03-14"
    assert files_of(store) == [
        "front_door",
        day,
        f"{day}/233005-1.jpg",
        f"{day}/233005-1.json",
        f"{day}/233005-1.mp4",
        f"{day}/233005-2.mp4.part",
    ]  # the part is gone; the second allocation's part is there, empty until written
    assert store.resolve(clip_id) == store.root / day / "233005-1.mp4"
    assert store.resolve(clip_id, ClipFile.THUMBNAIL).read_bytes() == thumbnail
    sidecar = json.loads(store.resolve(clip_id, "sidecar").read_text())
    assert sidecar["schema"] == SIDECAR_SCHEMA
    assert ClipInfo.from_json(sidecar) == info
    assert ClipInfo.from_json(json.loads(json.dumps(info.to_json()))) == info

    # A clip the recorder had to cut short says so in its details and its sidecar.
    shutil.copyfile(clip_mp4, second_part)
    cut = store.finalize(replace(recorded, part_path=second_part, cut_short=True))
    assert cut.cut_short
    assert store.get(second_id).cut_short
    assert json.loads(store.resolve(second_id, "sidecar").read_text())["cut_short"] is True


def test_finalize_and_allocate_refuse_bad_input(
    tmp_path: Path, store: ClipStore, clip_mp4: Path
) -> None:
    """Unloaded stores, bad keys, naive times, foreign parts and NaN scores are refused."""
    with pytest.raises(StorageError, match="not loaded"):
        ClipStore(tmp_path / "other").allocate("cam", T0)
    with pytest.raises(InvalidClipIdError):
        store.allocate("Front Door", T0)
    with pytest.raises(ValueError, match="timezone"):
        store.allocate("cam", T0.replace(tzinfo=None))
    _, part = store.allocate("cam", T0)
    shutil.copyfile(clip_mp4, part)
    recorded = RecordedClip(part, T0, 2.0, "h264", 160, 120, None, ClipTrigger.MOTION, 1)
    with pytest.raises(ValueError, match="finite"):
        store.finalize(recorded, peak_score=float("nan"))
    assert store.active == {part}  # nothing changed: the caller may try again
    foreign = tmp_path / "elsewhere.mp4.part"
    shutil.copyfile(clip_mp4, foreign)
    with pytest.raises(StorageError, match="not a part"):
        store.finalize(
            RecordedClip(foreign, T0, 2.0, "h264", 160, 120, None, ClipTrigger.MOTION, 1)
        )
    assert foreign.exists()
    info = store.finalize(recorded)
    with pytest.raises(StorageError):
        store.finalize(recorded)  # finished already
    assert store.get(info.clip_id).size_bytes == clip_mp4.stat().st_size


def test_a_failed_finalize_frees_the_id_and_raises(store: ClipStore) -> None:
    """A part that vanished: StorageError, nothing indexed, the reservation released."""
    clip_id, part = store.allocate("cam", T0)
    part.unlink()
    recorded = RecordedClip(part, T0, 2.0, "h264", 160, 120, None, ClipTrigger.MOTION, 0)
    with pytest.raises(StorageError, match=clip_id):
        store.finalize(recorded)
    assert store.active == frozenset()
    with pytest.raises(ClipNotFoundError):
        store.get(clip_id)
    store.abandon(part)  # what the recorder does next; tidies the directories
    assert files_of(store) == []


def test_abandon_removes_the_part_and_empty_directories(store: ClipStore, clip_mp4: Path) -> None:
    """A part the recorder gave up on disappears with the directories made for it."""
    _, part = store.allocate("cam", T0)
    shutil.copyfile(clip_mp4, part)
    store.abandon(part)
    assert store.active == frozenset()
    assert files_of(store) == []
    with pytest.raises(StorageError):
        store.abandon(store.root / ".." / "x.mp4.part")


# --- queries --------------------------------------------------------------------------------


VALID = SAMPLE_INFO


@pytest.mark.parametrize(
    "change",
    [
        {"schema": 0},
        {"schema": True},
        {"clip_id": "cam/2026-03-14/../x"},
        {"camera_key": "other"},
        {"start": "2026-03-14T12:00:00"},  # naive
        {"duration_s": float("nan")},
        {"duration_s": -1},
        {"width": 1.5},
        {"size_bytes": True},
        {"trigger": "doorbell"},
        {"kept": "yes"},
        {"motion_timeline": [[0.5]]},
        {"notes": "a string"},
        {"cut_short": 1},
    ],
)
def test_invalid_sidecars_are_rejected(change: dict[str, object]) -> None:
    """from_json refuses anything but a well-typed sidecar of its schema."""
    assert ClipInfo.from_json(VALID.to_json()) == VALID
    with pytest.raises(ValueError):  # noqa: PT011 - the message names whichever field is bad
        ClipInfo.from_json(VALID.to_json() | change)


def test_cut_short_is_persisted_and_absent_in_older_sidecars() -> None:
    """A cut-short clip says so in its sidecar; a sidecar without the field was not cut short."""
    cut = replace(VALID, cut_short=True, notes=("cut short: no space left on device",))
    assert cut.to_json()["cut_short"] is True
    assert ClipInfo.from_json(json.loads(json.dumps(cut.to_json()))) == cut
    older = VALID.to_json()
    del older["cut_short"]
    assert ClipInfo.from_json(older) == VALID
    assert not ClipInfo.from_json(older).cut_short


def test_keepers_are_persisted_and_older_keeps_count_as_an_administrators() -> None:
    """Who kept a clip round-trips; an older kept sidecar counts as an administrator's keep."""
    kept = replace(VALID, kept=True, kept_by="user-1", kept_by_admin=False)
    assert ClipInfo.from_json(json.loads(json.dumps(kept.to_json()))) == kept
    older = {k: v for k, v in kept.to_json().items() if not k.startswith("kept_by")}
    assert ClipInfo.from_json(older) == replace(kept, kept_by=None, kept_by_admin=True)
    assert ClipInfo.from_json(older | {"kept": False}) == VALID
    for bad in ({"kept_by_admin": "no"}, {"kept_by": 7}):
        with pytest.raises(ValueError):  # noqa: PT011
            ClipInfo.from_json(kept.to_json() | bad)


def test_set_kept_guards_an_administrators_keep(store: ClipStore, clip_mp4: Path) -> None:
    """Only an administrator releases an administrator's keep; the refusal changes nothing."""
    info = record(store, "cam", T0, clip_mp4)
    sidecar = store.resolve(info.clip_id, ClipFile.SIDECAR)
    store.set_kept(info.clip_id, True, user_id="admin-1", admin=True)
    before = sidecar.read_bytes()
    with pytest.raises(KeptByAdministratorError):
        store.set_kept(info.clip_id, False, user_id="user-2", admin=False)
    assert store.set_kept(info.clip_id, True, user_id="user-2", admin=False).kept_by == "admin-1"
    assert sidecar.read_bytes() == before
    released = store.set_kept(info.clip_id, False, user_id="admin-3", admin=True)
    assert (released.kept, released.kept_by, released.kept_by_admin) == (False, None, False)
    reloaded = ClipStore(store.root)
    reloaded.load()
    assert reloaded.get(info.clip_id) == released


def test_sidecars_missing_a_field_are_rejected() -> None:
    """Every field but the optional ones must be present."""
    # Fields later releases added: sidecars written before them lack them.
    newer = {"motion_boxes", "onset_box", "verdict", "verdict_at", "kept_by", "kept_by_admin"}
    optional = {"audio_codec", "motion_offset_s", "cut_short", *newer}
    for key in set(VALID.to_json()) - optional:
        partial = VALID.to_json()
        del partial[key]
        with pytest.raises(ValueError):  # noqa: PT011
            ClipInfo.from_json(partial)


def test_listing_is_newest_first_across_days_and_cameras(store: ClipStore, clip_mp4: Path) -> None:
    """cameras, days, clips, count, get and usage reflect finalized clips."""
    starts = {
        "garden": [T0, T0 + timedelta(hours=3), T0 + timedelta(days=1, hours=1)],
        "drive": [T0 - timedelta(days=2), T0 + timedelta(minutes=1)],
    }
    ids = {
        camera: [record(store, camera, start, clip_mp4, link=True).clip_id for start in times]
        for camera, times in starts.items()
    }
    assert store.cameras() == ["drive", "garden"]
    assert store.days("garden") == ["2026-03-15", "2026-03-14"]
    assert store.days("drive") == ["2026-03-14", "2026-03-12"]
    assert store.days("nobody") == []
    assert [c.clip_id for c in store.clips("garden", "2026-03-14")] == [
        ids["garden"][1],
        ids["garden"][0],
    ]
    assert [c.clip_id for c in store.clips("garden", "2026-03-15")] == [ids["garden"][2]]
    assert store.count("garden", "2026-03-14") == 2
    assert store.count("garden", "2026-01-01") == 0
    assert store.get(ids["drive"][0]).start == T0 - timedelta(days=2)
    usage = store.usage()
    assert usage.total.clip_count == 5
    assert usage.cameras["garden"].clip_count == 3
    assert usage.total.size_bytes == sum(u.size_bytes for u in usage.cameras.values())
    on_disk = sum(p.stat().st_size for p in store.root.rglob("*") if p.is_file())
    assert usage.total.size_bytes == on_disk
    with pytest.raises(InvalidClipIdError):
        store.clips("garden", "2026-3-14")
    with pytest.raises(InvalidClipIdError):
        store.days("../etc")


def test_paging(store: ClipStore, clip_mp4: Path) -> None:
    """Offset and limit page through a day newest first, without gaps or repeats."""
    ids = [
        record(store, "cam", T0 + timedelta(seconds=s), clip_mp4, link=True).clip_id
        for s in (0, 0, 0, 10, 20, 30, 40)  # three in one second: n orders them
    ]
    newest_first = ids[::-1]
    assert [clip_id[-3:] for clip_id in newest_first[-3:]] == ["0-3", "0-2", "0-1"]
    pages = [store.clips("cam", "2026-03-14", offset, 3) for offset in (0, 3, 6, 9)]
    assert [[c.clip_id for c in page] for page in pages] == [
        newest_first[0:3],
        newest_first[3:6],
        newest_first[6:7],
        [],
    ]
    assert [c.clip_id for c in store.clips("cam", "2026-03-14", offset=5)] == newest_first[5:]
    assert store.clips("cam", "2026-03-14", limit=0) == []
    with pytest.raises(ValueError, match="negative"):
        store.clips("cam", "2026-03-14", offset=-1)


def test_a_day_of_2000_clips_lists_from_memory(tmp_path: Path, clip_mp4: Path) -> None:
    """A 2,000-clip day pages and counts from the index, not the disk, before and after a reload.

    How fast that is belongs to the benchmarks; here the disk is taken away to show it is not used.
    """
    store = ClipStore(tmp_path / "clips")
    store.load()
    for i in range(2000):
        # 43 s apart spans the day; every 10th shares the previous clip's second.
        start = datetime(2026, 3, 14, tzinfo=UTC) + timedelta(seconds=43 * (i - i // 10))
        record(store, "busy", start, clip_mp4, link=True)
    expected = [c.clip_id for c in store.clips("busy", "2026-03-14")]
    assert len(expected) == len(set(expected)) == 2000
    reloaded = ClipStore(store.root)
    report = reloaded.load()
    assert report.clips == 2000
    assert not report.rebuilt

    hidden = tmp_path / "elsewhere"
    store.root.rename(hidden)  # a query that read the disk would now fail or find nothing
    try:
        for subject in (store, reloaded):
            page = subject.clips("busy", "2026-03-14", offset=1000, limit=50)
            assert subject.count("busy", "2026-03-14") == 2000
            assert [c.clip_id for c in page] == expected[1000:1050]
            everything = subject.clips("busy", "2026-03-14")
            assert [c.clip_id for c in everything] == expected
            starts = [(c.start, int(c.clip_id.rsplit("-", 1)[1])) for c in everything]
            assert starts == sorted(starts, reverse=True)
            assert subject.usage().total.clip_count == 2000
    finally:
        hidden.rename(store.root)


def test_time_ranges_span_days_and_page(store: ClipStore, clip_mp4: Path) -> None:
    """clips_between answers a range across UTC days (a local day) newest first, paged."""
    # A day in UTC+2: from 22:00 UTC the day before to 22:00 UTC on the day.
    zone = timezone(timedelta(hours=2))
    day_start = datetime(2026, 3, 14, tzinfo=zone)
    day_end = day_start + timedelta(days=1)
    offsets_s = [-1, 0, 0, 1, 7200, 80000, 86399, 86400]  # around both edges; two at 00:00:00
    ids = [
        record(store, "cam", day_start + timedelta(seconds=s), clip_mp4, link=True).clip_id
        for s in offsets_s
    ]
    record(store, "yard", day_start + timedelta(hours=1), clip_mp4, link=True)
    inside = ids[1:7][::-1]  # newest first; 00:00:00 twice, n orders them
    assert store.days("cam") == ["2026-03-14", "2026-03-13"]
    assert [c.clip_id for c in store.clips_between("cam", day_start, day_end)] == inside
    assert store.count_between("cam", day_start, day_end) == 6
    pages = [store.clips_between("cam", day_start, day_end, o, 4) for o in (0, 4, 8)]
    assert [[c.clip_id for c in page] for page in pages] == [inside[:4], inside[4:], []]
    assert [c.clip_id for c in store.clips_between("cam", day_start, day_end, 3, 2)] == inside[3:5]
    assert store.clips_between("cam", day_start, day_end, limit=0) == []
    assert store.clips_between("cam", day_end, day_start) == []
    assert store.count_between("nobody", day_start, day_end) == 0
    with pytest.raises(ValueError, match="timezone-aware"):
        store.clips_between("cam", datetime(2026, 3, 14), day_end)  # noqa: DTZ001
    with pytest.raises(ValueError, match="negative"):
        store.clips_between("cam", day_start, day_end, offset=-1)
    with pytest.raises(InvalidClipIdError):
        store.count_between("../cam", day_start, day_end)


def test_open_file_reads_plain_files_only(
    tmp_path: Path, store: ClipStore, clip_mp4: Path, thumbnail: bytes
) -> None:
    """open_file returns the clip's bytes; a link or FIFO in its place is refused at once."""
    info = record(store, "cam", T0, clip_mp4, thumbnail=thumbnail)
    with store.open_file(info.clip_id) as video:
        assert video.read() == clip_mp4.read_bytes()
    with store.open_file(info.clip_id, ClipFile.THUMBNAIL) as jpeg:
        assert jpeg.read() == thumbnail
    with pytest.raises(ClipNotFoundError):
        store.open_file("cam/2026-03-14/120001-1")
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    sidecar = store.root / "cam" / "2026-03-14" / "120000-1.json"
    sidecar.unlink()
    sidecar.symlink_to(secret)
    with pytest.raises(InvalidClipIdError):
        store.open_file(info.clip_id, ClipFile.SIDECAR)
    thumb = store.root / "cam" / "2026-03-14" / "120000-1.jpg"
    thumb.unlink()
    os.mkfifo(thumb)  # opening a FIFO for reading would block without a writer
    with pytest.raises(InvalidClipIdError):
        store.open_file(info.clip_id, ClipFile.THUMBNAIL)
    thumb.unlink()
    with pytest.raises(ClipNotFoundError):
        store.open_file(info.clip_id, ClipFile.THUMBNAIL)


# --- paths that must not escape -------------------------------------------------------------

BAD_IDS = [
    "",
    "../etc/passwd",
    "/etc/passwd",
    "cam/../../etc/passwd",
    "cam/2026-03-14/../../../etc/passwd",
    "cam/2026-03-14/120000-1/../../x",
    "%2e%2e/2026-03-14/120000-1",
    "cam/2026-03-14/%2e%2e",
    "cam/2026-03-14/..%2f120000-1",
    "cam\\2026-03-14\\120000-1",
    "cam/2026-03-14/120000-1\x00",
    "cam/2026-03-14/120000-1\n",
    "cam/2026-03-14/120000-1.mp4",
    "cam/2026-03-14/120000-1/",
    "/cam/2026-03-14/120000-1",
    "./cam/2026-03-14/120000-1",
    "cam//2026-03-14/120000-1",
    "Cam/2026-03-14/120000-1",
    "c.m/2026-03-14/120000-1",
    "\uff43am/2026-03-14/120000-1",  # fullwidth c
    "cam/\uff12026-03-14/120000-1",  # fullwidth 2
    "cam/2026-3-14/120000-1",
    "cam/2026-02-30/120000-1",
    "cam/2026-03-14/240000-1",
    "cam/2026-03-14/120060-1",
    "cam/2026-03-14/120000-0",
    "cam/2026-03-14/120000-01",
    "cam/2026-03-14/120000",
    "a" * 65 + "/2026-03-14/120000-1",
]


@pytest.mark.parametrize("clip_id", BAD_IDS)
def test_malformed_ids_are_refused(store: ClipStore, clip_id: str) -> None:
    """Anything but the exact id shape is InvalidClipIdError, whatever the operation."""
    for operation in (store.resolve, store.get, store.delete, store.open_file):
        with pytest.raises(InvalidClipIdError):
            operation(clip_id)
    with pytest.raises(InvalidClipIdError), store.hold(clip_id):
        pass


def test_non_string_ids_are_refused(store: ClipStore) -> None:
    """Ids that are not strings never reach the file system."""
    for clip_id in (None, 42, b"cam/2026-03-14/120000-1", Path("cam/2026-03-14/120000-1")):
        with pytest.raises(InvalidClipIdError):
            store.resolve(clip_id)  # type: ignore[arg-type]


def test_well_formed_but_missing_is_not_found(store: ClipStore, clip_mp4: Path) -> None:
    """A valid id without a clip, or without that file, is ClipNotFoundError."""
    info = record(store, "cam", T0, clip_mp4)  # no thumbnail
    for clip_id in ("cam/2026-03-14/120000-2", "other/2026-03-14/120000-1"):
        with pytest.raises(ClipNotFoundError):
            store.resolve(clip_id)
        with pytest.raises(ClipNotFoundError):
            store.get(clip_id)
    with pytest.raises(ClipNotFoundError):
        store.resolve(info.clip_id, ClipFile.THUMBNAIL)
    with pytest.raises(ValueError, match="'poster'"):
        store.resolve(info.clip_id, "poster")


def test_symlinks_in_the_store_are_never_followed(
    tmp_path: Path, store: ClipStore, clip_mp4: Path, thumbnail: bytes
) -> None:
    """Links planted as a file, a day or a camera directory are refused and left unfollowed."""
    outside = tmp_path / "outside"
    (outside / "2026-03-15").mkdir(parents=True)
    secret = outside / "secret.txt"
    secret.write_text("private")
    for name in ("130000-1.mp4", "130000-1.jpg", "130000-1.json"):
        shutil.copyfile(clip_mp4, outside / "2026-03-15" / name)

    info = record(store, "cam", T0, clip_mp4, thumbnail=thumbnail)
    video = store.resolve(info.clip_id)
    video.unlink()
    video.symlink_to(secret)  # a file swapped for a link after indexing
    (store.root / "cam" / "2026-03-15").symlink_to(outside / "2026-03-15")  # a day
    (store.root / "evil").symlink_to(outside)  # a camera
    with pytest.raises(InvalidClipIdError):
        store.resolve(info.clip_id)
    with pytest.raises(InvalidClipIdError):
        store.resolve("cam/2026-03-15/130000-1")
    with pytest.raises(InvalidClipIdError):
        store.resolve("evil/2026-03-15/130000-1", ClipFile.SIDECAR)
    assert store.resolve(info.clip_id, ClipFile.THUMBNAIL).read_bytes() == thumbnail
    with pytest.raises(StorageError):
        store.allocate("evil", T0 + timedelta(days=1))  # would record through the link

    reloaded = ClipStore(store.root)
    report = reloaded.load()  # links are neither indexed nor followed
    assert report.clips == 0
    assert report.unreadable == ()
    assert sorted(p.name for p in report.removed) == ["120000-1.jpg", "120000-1.json"]
    assert reloaded.cameras() == []
    assert reloaded.days("evil") == []
    with pytest.raises(ClipNotFoundError):
        reloaded.delete("cam/2026-03-15/130000-1")
    assert video.is_symlink()
    assert secret.read_text() == "private"
    assert sorted(p.name for p in (outside / "2026-03-15").iterdir()) == [
        "130000-1.jpg",
        "130000-1.json",
        "130000-1.mp4",
    ]


def test_delete_never_reaches_through_a_linked_directory(
    tmp_path: Path, store: ClipStore, clip_mp4: Path
) -> None:
    """A day directory swapped for a link after indexing: delete leaves the target alone."""
    info = record(store, "cam", T0, clip_mp4)
    day = store.root / "cam" / "2026-03-14"
    outside = tmp_path / "outside"
    day.rename(outside)
    day.symlink_to(outside)
    with pytest.raises(StorageError):
        store.delete(info.clip_id)
    assert (outside / "120000-1.mp4").exists()


# --- kept, delete, hold ---------------------------------------------------------------------


def test_set_kept_persists_across_a_reload(store: ClipStore, clip_mp4: Path) -> None:
    """The kept mark is written to the sidecar and read back by a fresh store."""
    info = record(store, "cam", T0, clip_mp4)
    assert store.set_kept(info.clip_id, True).kept
    assert store.get(info.clip_id).kept
    reloaded = ClipStore(store.root)
    reloaded.load()
    assert reloaded.get(info.clip_id).kept
    assert reloaded.get(info.clip_id) == store.get(info.clip_id)
    reloaded.set_kept(info.clip_id, False)
    again = ClipStore(store.root)
    again.load()
    assert not again.get(info.clip_id).kept
    with pytest.raises(ClipNotFoundError):
        store.set_kept("cam/2026-03-14/120001-1", True)


def test_delete_removes_files_and_empty_directories(
    store: ClipStore, clip_mp4: Path, thumbnail: bytes
) -> None:
    """Deleting removes the three files; the day and camera directories go when empty."""
    first = record(store, "cam", T0, clip_mp4, thumbnail=thumbnail)
    second = record(store, "cam", T0 + timedelta(minutes=5), clip_mp4, thumbnail=thumbnail)
    other = record(store, "yard", T0, clip_mp4)
    store.delete(first.clip_id)
    assert not any(p.name.startswith("120000-1") for p in (store.root / "cam/2026-03-14").iterdir())
    with pytest.raises(ClipNotFoundError):
        store.get(first.clip_id)
    with pytest.raises(ClipNotFoundError):
        store.delete(first.clip_id)
    store.delete(second.clip_id)
    assert not (store.root / "cam").exists()
    assert store.cameras() == ["yard"]
    assert store.usage().total.clip_count == 1
    store.delete(other.clip_id)
    assert files_of(store) == []
    assert store.usage().total.size_bytes == 0


def test_hold_blocks_delete_and_retention(store: ClipStore, clip_mp4: Path) -> None:
    """A held clip survives delete and retention until the last hold ends."""
    info = record(store, "cam", T0, clip_mp4)
    everything = RetentionPolicy(max_age_days=0)
    with store.hold(info.clip_id) as held:
        assert held == info
        # Counted: an export and a download at once.
        with store.hold(info.clip_id), pytest.raises(ClipInUseError):
            store.delete(info.clip_id)
        with pytest.raises(ClipInUseError):
            store.delete(info.clip_id)
        assert store.apply_retention(everything, now=T0 + timedelta(days=1)).deleted == ()
    assert store.apply_retention(everything, now=T0 + timedelta(days=1)).deleted == (info.clip_id,)
    with pytest.raises(ClipNotFoundError), store.hold(info.clip_id):
        pass


def test_a_clip_being_recorded_cannot_be_deleted(store: ClipStore) -> None:
    """An allocated id is in use, not missing."""
    clip_id, _ = store.allocate("cam", T0)
    with pytest.raises(ClipInUseError):
        store.delete(clip_id)


# --- retention ------------------------------------------------------------------------------


def test_retention_by_age_spares_kept_and_held_clips(store: ClipStore, clip_mp4: Path) -> None:
    """Clips older than max_age go, oldest first, except kept and held ones."""
    now = T0 + timedelta(days=30)
    ages = [10, 9, 8, 7, 1]  # days
    ids = [
        record(store, "cam" if i % 2 else "yard", now - timedelta(days=d), clip_mp4).clip_id
        for i, d in enumerate(ages)
    ]
    store.set_kept(ids[1], True)
    policy = RetentionPolicy(max_age_days=3)
    with store.hold(ids[2]):
        result = store.apply_retention(policy, now=now)
    assert result.deleted == (ids[0], ids[3])
    assert result.still_short_bytes == result.still_over_bytes == 0
    assert store.apply_retention(policy, now=now).deleted == (ids[2],)  # hold released
    assert all_ids(store) == sorted([ids[1], ids[4]])


def test_retention_by_total_size_deletes_oldest_across_cameras(
    store: ClipStore, clip_mp4: Path
) -> None:
    """Over max_total_bytes, the oldest clips of any camera go until the total fits."""
    ids = [
        record(store, ("cam", "yard")[i % 2], T0 + timedelta(minutes=i), clip_mp4).clip_id
        for i in range(6)
    ]
    store.set_kept(ids[0], True)
    sizes = {
        clip_id: sum(store.resolve(clip_id, kind).stat().st_size for kind in ("video", "sidecar"))
        for clip_id in ids
    }
    total = store.usage().total.size_bytes
    assert total == sum(sizes.values())
    limit = total - sizes[ids[1]] - sizes[ids[2]] // 2  # needs two clips gone
    result = store.apply_retention(RetentionPolicy(max_total_bytes=limit), now=T0)
    assert result.deleted == (ids[1], ids[2])  # ids[0] is older but kept
    assert store.usage().total.size_bytes <= limit
    assert store.apply_retention(RetentionPolicy(max_total_bytes=limit), now=T0).deleted == ()
    everything_but_kept = store.apply_retention(RetentionPolicy(max_total_bytes=0), now=T0)
    assert everything_but_kept.deleted == tuple(ids[3:])
    assert everything_but_kept.still_over_bytes == sizes[ids[0]]
    assert store.cameras() == ["cam"]  # only the kept clip's camera is left


def test_retention_of_one_camera_leaves_the_others(store: ClipStore, clip_mp4: Path) -> None:
    """With camera_key, age and size limits apply to that camera's clips and size only."""
    now = T0 + timedelta(days=30)
    cam = [record(store, "cam", now - timedelta(days=d), clip_mp4).clip_id for d in (9, 8, 1)]
    yard = [record(store, "yard", now - timedelta(days=d), clip_mp4).clip_id for d in (10, 2)]
    store.set_kept(cam[0], True)
    result = store.apply_retention(RetentionPolicy(max_age_days=5), now=now, camera_key="cam")
    assert result.deleted == (cam[1],)
    assert sorted(store.days("yard")) == sorted({y.split("/")[1] for y in yard})
    cam_bytes = store.usage().cameras["cam"].size_bytes
    one_clip = cam_bytes // 2 - 100  # a little less than either clip
    by_size = store.apply_retention(
        RetentionPolicy(max_total_bytes=one_clip), now=now, camera_key="cam"
    )
    assert by_size.deleted == (cam[2],)  # the kept one is older, but stays
    assert by_size.still_over_bytes == store.usage().cameras["cam"].size_bytes - one_clip
    assert store.usage().cameras["yard"].clip_count == 2
    nothing = store.apply_retention(RetentionPolicy(max_total_bytes=0), now=now, camera_key="gone")
    assert nothing.deleted == ()
    assert nothing.still_over_bytes == 0
    with pytest.raises(InvalidClipIdError):
        store.apply_retention(RetentionPolicy(), camera_key="../x")


@pytest.fixture
def small_disk(tmpfs: Callable[[str], Path]) -> Path:
    """A 4 MiB tmpfs, so free space is small, exact and ours alone."""
    return tmpfs("4m")


def test_retention_by_free_space(
    small_disk: Path, make_footage: MakeFootage, thumbnail: bytes
) -> None:
    """Below min_free_bytes, oldest clips go until it is met; kept ones stay even if short."""
    big = make_footage(Scene(width=320, height=240, duration_s=2, noise_sigma=6), ".mp4")
    store = ClipStore(small_disk / "clips")
    store.load()
    ids = [
        record(store, ("cam", "yard")[i % 2], T0 + timedelta(minutes=i), big, thumbnail=thumbnail)
        for i in range(8)
    ]
    store.set_kept(ids[0].clip_id, True)
    free = shutil.disk_usage(small_disk).free
    clip_bytes = big.stat().st_size
    wanted = free + int(2.5 * clip_bytes)  # three clips must go
    result = store.apply_retention(RetentionPolicy(min_free_bytes=wanted), now=T0)
    assert result.deleted == tuple(info.clip_id for info in ids[1:4])
    assert result.still_short_bytes == 0
    assert shutil.disk_usage(small_disk).free >= wanted
    assert store.usage().total.clip_count == 5

    unreachable = RetentionPolicy(min_free_bytes=8 * 1024 * 1024)
    result = store.apply_retention(unreachable, now=T0)
    assert result.deleted == tuple(info.clip_id for info in ids[4:])
    assert result.still_short_bytes == 8 * 1024 * 1024 - shutil.disk_usage(small_disk).free
    assert [c.clip_id for c in store.clips("cam", "2026-03-14")] == [ids[0].clip_id]


def test_retention_policy_rejects_negative_limits() -> None:
    """Negative limits are configuration errors."""
    with pytest.raises(ValueError, match="negative"):
        RetentionPolicy(max_total_bytes=-1)


# --- load -----------------------------------------------------------------------------------


def test_load_reads_sidecars_and_probes_clips_without_a_usable_one(
    tmp_path: Path, make_footage: MakeFootage, clip_mp4: Path, thumbnail: bytes
) -> None:
    """Good sidecars are used as they are; missing, damaged or newer ones mean probing the MP4."""
    root = tmp_path / "clips"
    store = ClipStore(root)
    store.load()
    good = record(store, "cam", T0, clip_mp4, thumbnail=thumbnail, peak_score=0.9)
    kept = store.set_kept(record(store, "cam", T0 + timedelta(seconds=1), clip_mp4).clip_id, True)
    day = root / "cam" / "2026-03-14"
    (day / "120001-1.json").write_text(  # damaged, but says kept: that must survive
        json.dumps(kept.to_json() | {"width": "wide"})
    )
    plain = make_footage(SMALL, ".mp4")  # not fragmented: probing must not care
    shutil.copyfile(plain, day / "120100-1.mp4")  # no sidecar: a crash after the rename
    shutil.copyfile(clip_mp4, day / "120200-1.mp4")
    (day / "120200-1.json").write_text("{not json")
    newer = {"schema": SIDECAR_SCHEMA + 1, "clip_id": "cam/2026-03-14/120300-1", "kept": True}
    shutil.copyfile(clip_mp4, day / "120300-1.mp4")
    (day / "120300-1.json").write_text(json.dumps(newer))

    reloaded = ClipStore(root)
    report = reloaded.load()
    assert report.clips == 5
    stems = ("120001-1", "120100-1", "120200-1", "120300-1")
    assert report.rebuilt == tuple(f"cam/2026-03-14/{stem}" for stem in stems)
    assert reloaded.get(good.clip_id) == good
    assert reloaded.get(kept.clip_id).kept  # from the damaged sidecar
    assert reloaded.get("cam/2026-03-14/120300-1").kept  # from the newer one

    probed = reloaded.get("cam/2026-03-14/120100-1")
    assert (probed.video_codec, probed.audio_codec, probed.width, probed.height) == (
        "h264",
        "aac",
        160,
        120,
    )
    assert probed.duration_s == pytest.approx(2.0, abs=0.1)
    assert probed.start == T0 + timedelta(minutes=1)
    assert probed.size_bytes == plain.stat().st_size
    assert probed.notes == (REBUILT_NOTE,)
    assert probed.has_thumbnail
    assert (day / "120100-1.jpg").read_bytes().startswith(b"\xff\xd8")
    assert ClipInfo.from_json(json.loads((day / "120100-1.json").read_text())) == probed
    rewritten = json.loads((day / "120200-1.json").read_text())  # a damaged sidecar is replaced
    assert ClipInfo.from_json(rewritten) == reloaded.get("cam/2026-03-14/120200-1")
    assert json.loads((day / "120300-1.json").read_text()) == newer  # a newer one is not


def test_load_removes_orphans_and_leftovers_only(
    tmp_path: Path, clip_mp4: Path, thumbnail: bytes
) -> None:
    """Orphan sidecars and thumbnails, temp files and stale parts go; unknown files stay."""
    root = tmp_path / "clips"
    store = ClipStore(root)
    store.load()
    good = record(store, "cam", T0, clip_mp4, thumbnail=thumbnail)
    day = root / "cam" / "2026-03-14"
    (day / "120400-1.json").write_text(json.dumps(good.to_json()))  # orphan sidecar
    (day / "120400-1.jpg").write_bytes(thumbnail)  # orphan thumbnail
    (day / ".120000-1.json.1234abcd.tmp").write_text("half")  # crash during a write
    (day / "120500-1.mp4").write_bytes(b"\x00" * 100)  # unreadable, no sidecar
    shutil.copyfile(clip_mp4, day / "120000-1.mp4.part")  # stale twin of a finished clip
    (day / "README.txt").write_text("not ours")
    other_day = root / "yard" / "2026-03-13"
    other_day.mkdir(parents=True)
    (other_day / "235959-1.json").write_text("{}")  # a day of nothing but an orphan

    reloaded = ClipStore(root)
    report = reloaded.load()
    assert report.clips == 1
    assert reloaded.get(good.clip_id) == good
    assert sorted(p.name for p in report.removed) == [
        ".120000-1.json.1234abcd.tmp",
        "120400-1.jpg",
        "120400-1.json",
        "235959-1.json",
    ]
    assert report.unreadable == (day / "120500-1.mp4",)
    assert report.recovery.removed == (day / "120000-1.mp4.part",)
    assert sorted(p.name for p in day.iterdir()) == [
        "120000-1.jpg",
        "120000-1.json",
        "120000-1.mp4",
        "120500-1.mp4",  # left alone: not ours to judge
        "README.txt",
    ]
    assert not (root / "yard").exists()  # the orphan-only day left nothing behind
    assert reloaded.cameras() == ["cam"]


# --- crash recovery -------------------------------------------------------------------------


def test_a_part_cut_mid_fragment_is_recovered(tmp_path: Path, clip_mp4: Path) -> None:
    """The readable prefix of a truncated part becomes a playable clip with those frames."""
    data = clip_mp4.read_bytes()
    fragments = box_offsets(data, b"moof")
    second_mdat = next(o for o in box_offsets(data, b"mdat") if o > fragments[1])
    assert len(fragments) == 2  # a fragment per keyframe, one a second
    cut = (second_mdat + len(data)) // 2  # inside the second fragment's media data
    day = tmp_path / "clips" / "cam" / "2026-03-14"
    day.mkdir(parents=True)
    (day / "120000-1.mp4.part").write_bytes(data[:cut])

    store = ClipStore(tmp_path / "clips")
    report = store.load()
    assert report.recovery.recovered == ("cam/2026-03-14/120000-1",)
    assert report.recovery.removed == ()
    assert not (day / "120000-1.mp4.part").exists()
    info = store.get("cam/2026-03-14/120000-1")
    assert info.notes == (RECOVERED_NOTE,)
    assert (info.video_codec, info.audio_codec, info.width, info.height) == (
        "h264",
        "aac",
        160,
        120,
    )
    assert info.start == T0
    assert info.has_thumbnail

    original = decode_frames(clip_mp4)
    recovered = decode_frames(store.resolve(info.clip_id))
    assert 15 <= len(recovered) < 30  # the whole first fragment, not all of the second
    assert all(np.array_equal(a, b) for a, b in zip(recovered, original, strict=False))
    # Within a frame: the first frame lasts a little longer (AAC priming shifts video).
    assert info.duration_s == pytest.approx(len(recovered) / SMALL.fps, abs=1 / SMALL.fps)
    assert store.resolve(info.clip_id, ClipFile.THUMBNAIL).read_bytes().startswith(b"\xff\xd8")
    sidecar = json.loads(store.resolve(info.clip_id, ClipFile.SIDECAR).read_text())
    assert ClipInfo.from_json(sidecar) == info


def test_unplayable_parts_are_removed(tmp_path: Path, clip_mp4: Path) -> None:
    """Garbage, empty and header-only parts are removed, with the directories left empty."""
    header_only = clip_mp4.read_bytes()[: box_offsets(clip_mp4.read_bytes(), b"moof")[0]]
    day = tmp_path / "clips" / "cam" / "2026-03-14"
    day.mkdir(parents=True)
    parts = {
        "120000-1.mp4.part": os.urandom(50_000),
        "120001-1.mp4.part": b"",
        "120002-1.mp4.part": header_only,
    }
    for name, content in parts.items():
        (day / name).write_bytes(content)
    store = ClipStore(tmp_path / "clips")
    report = store.load()
    assert report.recovery.recovered == ()
    assert sorted(p.name for p in report.recovery.removed) == sorted(parts)
    assert files_of(store) == []


def test_a_killed_recorder_leaves_a_recoverable_part(tmp_path: Path, clip_mp4: Path) -> None:
    """SIGKILL while writing: every fragment the writer finished is recovered and plays."""
    store = ClipStore(tmp_path / "clips")
    store.load()
    _, part = store.allocate("cam", T0)
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(clip_mp4), str(part)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None
        line = writer.stdout.readline()
        assert line.startswith("flushed "), line
        flushed = int(line.split()[1])
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    assert writer.returncode == -signal.SIGKILL

    assert store.recover_partials().recovered == ()  # still active: hands off
    assert part.exists()
    restarted = ClipStore(store.root)  # what the next start of Home Assistant sees
    report = restarted.load()
    assert report.recovery.recovered == ("cam/2026-03-14/120000-1",)
    frames = decode_frames(restarted.resolve("cam/2026-03-14/120000-1"))
    assert len(frames) == flushed == SMALL.fps  # exactly the completed fragment
    assert all(np.array_equal(a, b) for a, b in zip(frames, decode_frames(clip_mp4), strict=False))


# Copies video with open_fragmented_mp4; once the second keyframe arrives (which completes the
# first fragment), reports how many frames the finished fragment holds and waits to be killed.
KILLED_WRITER = """
import sys, time
import av
from pathlib import Path
from custom_components.hearthcam.engine.mp4 import open_fragmented_mp4

with av.open(sys.argv[1]) as source:
    video = source.streams.video[0]
    output = open_fragmented_mp4(Path(sys.argv[2]), video)
    keyframes = frames = 0
    for packet in source.demux(video):
        if packet.dts is None:
            continue
        keyframes += packet.is_keyframe
        packet.stream = output.video
        output.container.mux(packet)
        if keyframes == 2:
            print("flushed", frames, flush=True)
            time.sleep(60)
        frames += 1
"""


# --- threads --------------------------------------------------------------------------------


def test_usage_answers_while_the_store_is_busy(store: ClipStore, clip_mp4: Path) -> None:
    """usage() is kept in memory on every change: it answers while another thread holds the lock."""
    info = record(store, "cam", T0, clip_mp4)
    expected = store.usage()
    assert expected.total.clip_count == 1
    assert expected.cameras["cam"].size_bytes == expected.total.size_bytes > clip_mp4.stat().st_size
    answered: list[StoreUsage] = []
    with store._lock:  # as a thread in the middle of changing the index would
        reader = threading.Thread(target=lambda: answered.append(store.usage()))
        reader.start()
        reader.join(HANG_S)
        assert answered == [expected]
    store.delete(info.clip_id)
    assert store.usage() == StoreUsage(total=Usage(), cameras={})


def test_allocate_creates_the_day_directory_without_the_lock(store: ClipStore) -> None:
    """Creating (and syncing) a new day's directory happens with the store lock free."""
    held_while_creating: list[bool] = []
    watching = [True]

    def on_audit(event: str, args: tuple[object, ...]) -> None:
        if watching and event == "os.mkdir" and args[0] == "2026-03-14":
            held_while_creating.append(store._lock.locked())

    sys.addaudithook(on_audit)  # hooks cannot be removed; this one goes quiet below
    try:
        clip_id, part = store.allocate("fresh", T0)
    finally:
        watching.clear()
    assert held_while_creating == [False]
    assert part.parent.is_dir()
    assert clip_id == "fresh/2026-03-14/120000-1"
    store.abandon(part)
    assert not (store.root / "fresh").exists()  # tidied once nothing is recorded there


def test_concurrent_finalize_and_listing(store: ClipStore, clip_mp4: Path) -> None:
    """Workers finishing clips in the same second get unique ids while others list."""
    cameras = [f"cam{i}" for i in range(4)] * 2  # two workers share each camera
    done = threading.Event()

    def record_25(camera: str) -> None:
        for _ in range(25):
            record(store, camera, T0, clip_mp4, link=True)

    def workers() -> None:
        try:
            run_in_threads(*(functools.partial(record_25, camera) for camera in cameras))
        finally:
            done.set()

    def browse() -> None:
        while not done.is_set():
            for camera in store.cameras():
                page = [c.clip_id for c in store.clips(camera, "2026-03-14", limit=10)]
                numbers = [int(clip_id.rsplit("-", 1)[1]) for clip_id in page]
                # Clips finish out of order, so gaps are fine; disorder is not.
                assert numbers == sorted(set(numbers), reverse=True)
            assert store.usage().total.clip_count <= 200

    run_in_threads(workers, browse, browse)
    for camera in set(cameras):
        listed = [c.clip_id for c in store.clips(camera, "2026-03-14")]
        assert listed == [f"{camera}/2026-03-14/120000-{n}" for n in range(50, 0, -1)]
    assert store.usage().total.clip_count == 200
    assert store.active == frozenset()
    reloaded = ClipStore(store.root)
    assert reloaded.load().clips == 200


def test_concurrent_deletes_and_retention(store: ClipStore, clip_mp4: Path) -> None:
    """Deletes and retention racing over the same clips delete each exactly once."""
    ids = [record(store, "cam", T0, clip_mp4, link=True).clip_id for _ in range(40)]
    keeper = record(store, "yard", T0, clip_mp4, link=True).clip_id
    store.set_kept(keeper, True)
    deleted: list[str] = []

    def delete_some(clip_ids: list[str]) -> None:
        for clip_id in clip_ids:
            with contextlib.suppress(ClipNotFoundError):  # retention may be first
                store.delete(clip_id)
                deleted.append(clip_id)

    def retention() -> None:
        result = store.apply_retention(RetentionPolicy(max_age_days=0), now=T0 + timedelta(1))
        deleted.extend(result.deleted)

    run_in_threads(*(functools.partial(delete_some, ids[i::3]) for i in range(3)), retention)
    assert sorted(deleted) == sorted(ids)  # each exactly once
    assert store.cameras() == ["yard"]
    assert not (store.root / "cam").exists()
