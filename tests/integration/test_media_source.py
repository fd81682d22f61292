"""The clip library in the media browser: cameras, local days, pages of clips, typed ids."""

import dataclasses
from datetime import UTC, date, datetime, timedelta
import json
from pathlib import Path

from homeassistant.components import media_source
from homeassistant.components.media_player.browse_media import BrowseMedia
from homeassistant.components.media_player.errors import BrowseError
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest

from custom_components import hearthcam
from custom_components.hearthcam.engine.clip_info import ClipInfo
from custom_components.hearthcam.engine.errors import InvalidClipIdError
from custom_components.hearthcam.engine.model import ClipTrigger
from custom_components.hearthcam.identifiers import (
    CameraFolder,
    ClipItem,
    DayFolder,
    LibraryRoot,
    camera_key_for,
    clip_id_from_user,
    parse_identifier,
)
from custom_components.hearthcam.library import (
    DEFAULT_TEXTS,
    PAGE_SIZE,
    Texts,
    async_texts,
    clip_title,
    format_duration,
    format_percent,
)
from tests.engine.clipkit import record

from .librarykit import add_clip, camera_entry, clip_mp4, load_library, thumbnail

__all__ = ["clip_mp4", "thumbnail"]

ROOT = "media-source://hearthcam"


async def browse(hass: HomeAssistant, identifier: str = "") -> BrowseMedia:
    """Browse media-source://hearthcam/<identifier> as the media browser does."""
    return await media_source.async_browse_media(
        hass, f"{ROOT}/{identifier}" if identifier else ROOT
    )


def children(node: BrowseMedia) -> list[BrowseMedia]:
    """The node's children (a folder always has a list)."""
    assert node.children is not None
    return list(node.children)


async def test_browse_cameras_local_days_and_clips(
    hass: HomeAssistant, tmp_path: Path, clip_mp4: Path, thumbnail: bytes
) -> None:
    """Cameras by name, days in local time newest first, clips newest first with titles."""
    assert hass.config.time_zone == "US/Pacific"  # UTC-7 in March: days split UTC days
    store = await load_library(hass, tmp_path / "media")
    front = camera_entry(hass, "Front door")
    camera_entry(hass, "Yard", "rtsp://127.0.0.1:9/yard")  # configured, nothing recorded yet
    late = await add_clip(
        hass, store, front, datetime(2026, 3, 14, 6, tzinfo=UTC), clip_mp4, peak_score=0.5
    )  # 23:00 on the 13th, local
    night = await add_clip(
        hass, store, front, datetime(2026, 3, 14, 9, tzinfo=UTC), clip_mp4, thumbnail=thumbnail
    )  # 02:00 on the 14th
    noon = await add_clip(
        hass,
        store,
        front,
        datetime(2026, 3, 14, 20, 15, 30, tzinfo=UTC),
        clip_mp4,
        thumbnail=thumbnail,
        peak_score=0.032,
    )
    await hass.async_add_executor_job(store.set_kept, night.clip_id, True)
    await add_clip(hass, store, "gone", datetime(2026, 3, 1, tzinfo=UTC), clip_mp4)

    root = await browse(hass)
    assert root.title == "HearthCam"
    assert [c.title for c in children(root)] == ["Front door", "Removed camera gone", "Yard"]
    assert children(root)[0].media_content_id == f"{ROOT}/{front}"
    assert children(root)[0].thumbnail == f"/api/hearthcam/clips/{noon.clip_id}.jpg"
    assert all(c.can_expand and not c.can_play for c in children(root))

    camera = await browse(hass, front)
    assert camera.title == "Front door"
    days = children(camera)
    assert [d.title for d in days] == ["2026-03-14 (2)", "2026-03-13 (1)"]
    assert [d.media_content_id for d in days] == [
        f"{ROOT}/{front}/2026-03-14",
        f"{ROOT}/{front}/2026-03-13",
    ]
    assert days[1].thumbnail is None  # its only clip has no thumbnail
    assert children(await browse(hass, camera_entry_key(hass, "Yard"))) == []

    day = await browse(hass, f"{front}/2026-03-14")
    clips = children(day)
    assert [c.media_content_id for c in clips] == [
        f"{ROOT}/{noon.clip_id}",  # the id from hearthcam_clip_saved plays as it is
        f"{ROOT}/{night.clip_id}",
    ]
    assert [c.title for c in clips] == [
        "13:15:30 · 2 s · motion 3.2 %",
        "02:00:00 · 2 s · motion 0.00 % · kept",
    ]
    assert all(c.can_play and not c.can_expand for c in clips)
    assert {c.media_content_type for c in clips} == {"video/mp4"}
    assert clips[0].thumbnail == f"/api/hearthcam/clips/{noon.clip_id}.jpg"
    previous_day = children(await browse(hass, f"{front}/2026-03-13"))
    assert [c.title for c in previous_day] == ["23:00:00 · 2 s · motion 50 %"]
    assert previous_day[0].media_content_id == f"{ROOT}/{late.clip_id}"

    # A clip browses as itself; removed cameras' clips stay reachable.
    single = await browse(hass, noon.clip_id)
    assert single.can_play
    assert single.title == clips[0].title
    gone = children(await browse(hass, "gone"))
    assert [d.title for d in gone] == ["2026-02-28 (1)"]  # 16:00 local, the day before


def camera_entry_key(hass: HomeAssistant, title: str) -> str:
    """Camera key of the entry with this title."""
    entry = next(e for e in hass.config_entries.async_entries("hearthcam") if e.title == title)
    return camera_key_for(entry.entry_id)


async def test_today_and_yesterday(hass: HomeAssistant, tmp_path: Path, clip_mp4: Path) -> None:
    """Recent days are named, older ones are ISO dates."""
    store = await load_library(hass, tmp_path / "media")
    front = camera_entry(hass, "Front door")
    now = dt_util.now()
    for start in (now, now - timedelta(days=1), now - timedelta(days=2)):
        await add_clip(hass, store, front, start, clip_mp4)
    titles = [d.title for d in children(await browse(hass, front))]
    assert titles == ["Today (1)", "Yesterday (1)", f"{(now - timedelta(days=2)).date()} (1)"]


async def test_a_day_of_2000_clips_pages_from_the_index(
    hass: HomeAssistant, tmp_path: Path, clip_mp4: Path, thumbnail: bytes
) -> None:
    """2,000 clips in one local day (two UTC days): pages of 100, from memory, not the disk."""
    store = await load_library(hass, tmp_path / "media")
    front = camera_entry(hass, "Front door")
    day = date(2026, 3, 14)
    midnight = dt_util.start_of_local_day(day)

    def fill() -> list[str]:
        # 43 s apart spans the local day; every 10th shares the previous clip's second.
        starts = [midnight + timedelta(seconds=43 * (i - i // 10)) for i in range(2000)]
        return [
            record(store, front, start, clip_mp4, thumbnail=thumbnail, link=True).clip_id
            for start in starts
        ]

    ids = await hass.async_add_executor_job(fill)
    assert len(store.days(front)) == 2  # the local day starts at 07:00 UTC
    expected = [f"{ROOT}/{clip_id}" for clip_id in reversed(ids)]
    # Browsing answers from the store's index: with the folder gone, every page still lists.
    hidden = store.root.rename(tmp_path / "hidden")

    camera = await browse(hass, front)
    assert [d.title for d in children(camera)] == ["2026-03-14 (2000)"]

    seen: list[str] = []
    identifier = f"{front}/2026-03-14"
    pages = 0
    while True:
        node = await browse(hass, identifier)
        pages += 1
        items = children(node)
        clips = [c for c in items if c.can_play]
        assert len(clips) == min(PAGE_SIZE, 2000 - len(seen))
        seen += [c.media_content_id for c in clips]
        older = [c for c in items if c.can_expand]
        if not older:
            break
        assert items[-1] is older[0]  # the way on is last
        first = len(seen) + 1
        assert older[0].title == f"Older clips: {first}-{min(first + 99, 2000)} of 2000"
        identifier = older[0].media_content_id.removeprefix(f"{ROOT}/")
        assert identifier == f"{front}/2026-03-14/page/{pages + 1}"
    assert pages == 20
    assert seen == expected
    assert node.title == "2026-03-14: clips 1901-2000 of 2000"
    with pytest.raises(BrowseError):
        await browse(hass, f"{front}/2026-03-14/page/21")
    hidden.rename(store.root)


BAD_IDS = [
    "../etc/passwd",
    "cam/../../etc/passwd",
    "cam/2026-03-14/../../../etc/passwd",
    "cam/2026-03-14/120000-1.mp4",
    "cam/2026-03-14/120000-1/",
    "cam/2026-03-14/page/1",  # page 1 has one spelling: the day itself
    "cam/2026-03-14/page/02",
    "cam/2026-03-14/page/x",
    "cam/2026-02-30",
    "Cam",
    "cam//2026-03-14",
    "%2e%2e/2026-03-14/120000-1",
    "cam/2026-03-14/120000-1/extra/parts",
    "a" * 65,
]


@pytest.mark.parametrize("identifier", BAD_IDS)
async def test_bad_ids_are_refused(
    hass: HomeAssistant, tmp_path: Path, clip_mp4: Path, identifier: str
) -> None:
    """Malformed ids: a browse error and Unresolvable, never a crash or a path."""
    store = await load_library(hass, tmp_path / "media")
    await add_clip(hass, store, "cam", datetime(2026, 3, 14, 12, tzinfo=UTC), clip_mp4)
    with pytest.raises(BrowseError, match="not in the HearthCam clip library"):
        await browse(hass, identifier)
    with pytest.raises(media_source.Unresolvable):
        await media_source.async_resolve_media(hass, f"{ROOT}/{identifier}", None)


async def test_unknown_and_folder_ids(hass: HomeAssistant, tmp_path: Path, clip_mp4: Path) -> None:
    """Folders do not play; unknown cameras, missing clips and absolute paths are refused."""
    store = await load_library(hass, tmp_path / "media")
    info = await add_clip(hass, store, "cam", datetime(2026, 3, 14, 12, tzinfo=UTC), clip_mp4)
    resolved = await media_source.async_resolve_media(hass, f"{ROOT}/{info.clip_id}", None)
    assert resolved.url == f"/api/hearthcam/clips/{info.clip_id}.mp4"
    assert resolved.mime_type == "video/mp4"
    assert resolved.path is None  # footage is not handed to integrations that read files
    for identifier in ("", "cam", "cam/2026-03-14", "cam/2026-03-14/120000-2", "nobody"):
        uri = f"{ROOT}/{identifier}" if identifier else ROOT
        with pytest.raises(media_source.Unresolvable):
            await media_source.async_resolve_media(hass, uri, None)
    with pytest.raises(BrowseError):
        await browse(hass, "nobody")
    with pytest.raises(BrowseError):
        await browse(hass, "cam/2026-03-14/120000-2")
    assert children(await browse(hass, "cam/2026-03-15")) == []  # a day without clips
    for uri in (f"{ROOT}//etc/passwd", "media-source://hearthcam/"):
        with pytest.raises(media_source.Unresolvable):
            await media_source.async_resolve_media(hass, uri, None)
    await hass.async_add_executor_job(store.delete, info.clip_id)
    with pytest.raises(media_source.Unresolvable):
        await media_source.async_resolve_media(hass, f"{ROOT}/{info.clip_id}", None)


@pytest.mark.parametrize(
    ("text", "identifier"),
    [
        ("", LibraryRoot()),
        ("front_door", CameraFolder("front_door")),
        ("front_door/2026-03-14", DayFolder("front_door", date(2026, 3, 14))),
        ("front_door/2026-03-14/page/2", DayFolder("front_door", date(2026, 3, 14), 2)),
        ("front_door/2026-03-14/page/120", DayFolder("front_door", date(2026, 3, 14), 120)),
        ("front_door/2026-03-14/143205-1", ClipItem("front_door/2026-03-14/143205-1")),
    ],
)
def test_identifiers_round_trip(text: str, identifier: object) -> None:
    """Every identifier has one spelling, and parsing gives back the typed value."""
    assert parse_identifier(text) == identifier
    assert str(identifier) == text


def test_clip_ids_from_users() -> None:
    """Actions take a clip id or the media browser's id of a clip, nothing else."""
    clip_id = "front_door/2026-03-14/143205-1"
    assert clip_id_from_user(clip_id) == clip_id
    assert clip_id_from_user(f" {ROOT}/{clip_id} ") == clip_id
    for bad in (f"{ROOT}/front_door", "media-source://other/x", None, 7, "../x", f"{ROOT}/"):
        with pytest.raises(InvalidClipIdError):
            clip_id_from_user(bad)


def test_titles_read_at_a_glance() -> None:
    """Durations and motion are short; manual clips say so; a broken translation falls back."""
    assert [format_duration(s) for s in (0.4, 42.4, 65, 3725)] == ["0 s", "42 s", "1:05", "1:02:05"]
    assert [format_percent(p) for p in (0.264, 3.21, 42.6)] == ["0.26", "3.2", "43"]
    texts = Texts({"clip_manual": "{time} manual {missing}"})  # a translator's typo
    info = ClipInfo(
        clip_id="cam/2026-03-14/201530-1",
        camera_key="cam",
        start=datetime(2026, 3, 14, 20, 15, 30, tzinfo=UTC),
        end=datetime(2026, 3, 14, 20, 16, 35, tzinfo=UTC),
        duration_s=65.0,
        video_codec="h264",
        audio_codec=None,
        width=160,
        height=120,
        size_bytes=1,
        trigger=ClipTrigger.MANUAL,
        peak_score=0.0,
        motion_timeline=(),
        kept=False,
        has_thumbnail=False,
        notes=(),
    )
    assert clip_title(texts, info) == "13:15:30 · 1:05 · recorded on request"
    kept = dataclasses.replace(info, kept=True, trigger=ClipTrigger.MOTION, peak_score=0.1)
    assert clip_title(Texts({}), kept) == "13:15:30 · 1:05 · motion 10 % · kept"


async def test_titles_come_from_the_translations(hass: HomeAssistant, tmp_path: Path) -> None:
    """Titles use the translations' common strings; the English fallback is the same text."""
    await load_library(hass, tmp_path / "media")
    strings = json.loads((Path(hearthcam.__file__).parent / "strings.json").read_text())
    titles = {k: v for k, v in strings["common"].items() if not k.startswith("export_notice_")}
    assert titles == dict(DEFAULT_TEXTS)
    assert (await async_texts(hass)).templates == strings["common"]
