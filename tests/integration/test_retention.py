"""Retention in Home Assistant: per-camera age and size, free space, when it runs, its issue."""

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
import json
from pathlib import Path
import re
import shutil
from typing import Any

from homeassistant.const import ATTR_ENTITY_ID, STATE_ON
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components import hearthcam
from custom_components.hearthcam.const import (
    CONF_MAX_STORAGE_GB,
    CONF_RETAIN_DAYS,
    CONF_STREAM_URL,
    DOMAIN,
    EVENT_CLIP_SAVED,
)
from custom_components.hearthcam.engine.clips import ClipStore
from custom_components.hearthcam.identifiers import camera_key_for
from custom_components.hearthcam.retention import (
    DATA_RETENTION,
    ISSUE_LOW_FREE_SPACE,
    RETENTION_INTERVAL,
    format_bytes,
    min_free_bytes,
)
from devkit.http_server import HttpStreamServer
from devkit.pytest_plugin import MakeFootage

from .camkit import QUICK_OPTIONS, SMALL, state_of, wait_for
from .exportkit import use_config_dir
from .librarykit import add_clip, clip_mp4, load_library

__all__ = ["clip_mp4"]

UNREACHABLE = "rtsp://127.0.0.1:9/nothing"
STORAGE = "sensor.front_door_storage_used"


def new_entry(hass: HomeAssistant, options: dict[str, Any], url: str = UNREACHABLE) -> str:
    """Add a camera entry (not set up yet); return its camera key."""
    entry = MockConfigEntry(
        domain=DOMAIN, title="Front door", data={CONF_STREAM_URL: url}, options=options
    )
    entry.add_to_hass(hass)
    return camera_key_for(entry.entry_id)


async def set_up(hass: HomeAssistant) -> MockConfigEntry:
    """Set up the one camera entry; its retention runs at once."""
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert isinstance(entry, MockConfigEntry)
    return entry


def ids_of(store: ClipStore, camera_key: str) -> list[str]:
    """Every clip id of a camera, oldest first."""
    return sorted(
        info.clip_id for day in store.days(camera_key) for info in store.clips(camera_key, day)
    )


async def test_age_limit_per_camera_spares_kept_clips(
    hass: HomeAssistant, tmp_path: Path, clip_mp4: Path
) -> None:
    """At setup: this camera's clips past retain_days go, kept ones and other cameras' stay."""
    store = await load_library(hass, tmp_path / "media")
    key = new_entry(hass, {**QUICK_OPTIONS, CONF_RETAIN_DAYS: 7})
    now = dt_util.utcnow()
    old, kept, recent = [
        (await add_clip(hass, store, key, now - timedelta(days=d), clip_mp4)).clip_id
        for d in (20, 10, 1)
    ]
    await hass.async_add_executor_job(store.set_kept, kept, True)
    orphan = await add_clip(hass, store, "gone", now - timedelta(days=30), clip_mp4)

    await set_up(hass)
    assert ids_of(store, key) == sorted([kept, recent])
    assert ids_of(store, "gone") == [orphan.clip_id]  # no entry, no policy: left alone
    assert not store.resolve(kept).is_symlink()
    outcome = hass.data[DATA_RETENTION].last_outcome
    assert outcome is not None
    assert outcome.deleted == (old,)


async def test_size_limit_and_periodic_runs(
    hass: HomeAssistant, tmp_path: Path, clip_mp4: Path
) -> None:
    """Over max_storage_gb the oldest go; a clip aged since is removed by the periodic run."""
    store = await load_library(hass, tmp_path / "media")
    now = dt_util.utcnow()
    probe = await add_clip(hass, store, "probe", now, clip_mp4)
    clip_bytes = store.usage().cameras["probe"].size_bytes
    await hass.async_add_executor_job(store.delete, probe.clip_id)
    key = new_entry(hass, {CONF_RETAIN_DAYS: 30, CONF_MAX_STORAGE_GB: 2.5 * clip_bytes / 1e9})
    ids = [
        (await add_clip(hass, store, key, now - timedelta(hours=h), clip_mp4)).clip_id
        for h in (5, 4, 3, 2, 1)
    ]
    await hass.async_add_executor_job(store.set_kept, ids[0], True)

    await set_up(hass)
    # The kept clip counts towards the limit: with it, only one more fits.
    assert ids_of(store, key) == [ids[0], ids[4]]
    used = store.usage().cameras[key].size_bytes
    assert float(state_of(hass, STORAGE) or "nan") == pytest.approx(used / 1e6, abs=1e-6)

    # Recorded before retain_days but found only now: the periodic run removes it.
    stale = await add_clip(hass, store, key, now - timedelta(days=40), clip_mp4)
    async_fire_time_changed(hass, dt_util.utcnow() + RETENTION_INTERVAL + timedelta(seconds=1))
    await hass.async_block_till_done()
    assert stale.clip_id not in ids_of(store, key)
    assert ids_of(store, key) == [ids[0], ids[4]]


async def test_retention_runs_after_each_clip(
    hass: HomeAssistant,
    tmp_path: Path,
    make_footage: MakeFootage,
    http_stream_server: HttpStreamServer,
    clip_mp4: Path,
) -> None:
    """A clip saved from a real stream starts a run: an expired clip goes without waiting."""
    store = await load_library(hass, tmp_path / "media")
    scene = replace(SMALL, duration_s=30.0, seed=42)
    url = http_stream_server.url(f"ts/{make_footage(scene, '.ts').name}")
    key = new_entry(hass, {**QUICK_OPTIONS, CONF_RETAIN_DAYS: 3}, url)
    saved: list[Event] = []
    hass.bus.async_listen(EVENT_CLIP_SAVED, saved.append)
    await set_up(hass)
    expired = await add_clip(hass, store, key, dt_util.utcnow() - timedelta(days=5), clip_mp4)
    await wait_for(
        hass, lambda: state_of(hass, "binary_sensor.front_door_stream") == STATE_ON, "the stream"
    )

    await hass.services.async_call(
        DOMAIN, "record_clip", {ATTR_ENTITY_ID: "camera.front_door", "duration": 2}, blocking=True
    )
    await wait_for(hass, lambda: bool(saved), "the clip")
    await wait_for(hass, lambda: expired.clip_id not in ids_of(store, key), "retention")
    assert ids_of(store, key) == [saved[0].data["clip_id"]]


async def test_runs_coalesce(hass: HomeAssistant, tmp_path: Path) -> None:
    """Runs asked for while one is going become one more run, not one each."""
    store = await load_library(hass, tmp_path / "media")
    new_entry(hass, {CONF_RETAIN_DAYS: 1})
    await set_up(hass)
    retention = hass.data[DATA_RETENTION]
    runs: list[object] = []
    original = retention._run._job

    async def counted() -> None:
        runs.append(None)
        await original()

    retention._run._job = counted
    # The store busy (as while deleting many clips) keeps the first run going meanwhile.
    with store._mutate_lock:
        for _ in range(5):  # as five clips saved at once would
            retention.async_schedule()
    await hass.async_block_till_done()
    assert len(runs) == 2  # the first, and one for the four asked for meanwhile
    hass.bus.async_fire(EVENT_CLIP_SAVED, {})
    await hass.async_block_till_done()
    assert len(runs) == 3
    assert store.usage().total.clip_count == 0


@pytest.fixture
def small_disk(tmpfs: Callable[[str], Path]) -> Path:
    """An 8 MiB tmpfs: HearthCam keeps 5 % of it (about 420 kB) free."""
    return tmpfs("8m")


async def test_free_space_deletes_oldest_and_raises_an_issue_kept_clips_cause(
    hass: HomeAssistant,
    small_disk: Path,
    clip_mp4: Path,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Low on space: oldest clips of any camera go; what kept clips block is a repair issue."""
    use_config_dir(hass, small_disk / "config")  # the clip folder is below it
    store = await load_library(hass, small_disk / "media")
    key = new_entry(hass, {CONF_RETAIN_DAYS: 365})
    now = dt_util.utcnow()
    ids = []
    for i in range(8):  # alternately of this camera and of one without an entry
        camera = (key, "gone")[i % 2]
        start = now - timedelta(hours=9 - i)
        ids.append((await add_clip(hass, store, camera, start, clip_mp4, link=False)).clip_id)
    for clip_id in ids[:2]:
        await hass.async_add_executor_job(store.set_kept, clip_id, True)
    minimum, shortfall = await hass.async_add_executor_job(fill_disk, store, ids[2], small_disk)
    assert shortfall > 0

    await set_up(hass)
    remaining = sorted(ids_of(store, key) + ids_of(store, "gone"))
    assert remaining == sorted(ids[:2] + ids[5:])  # kept ones stay; the oldest others went
    assert shutil.disk_usage(small_disk).free >= minimum
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_LOW_FREE_SPACE) is None

    # More other files: deleting every unkept clip is not enough, and the user is told.
    more = small_disk / "more-files"
    await hass.async_add_executor_job(write_zeros, more, shutil.disk_usage(small_disk).free - 4096)
    hass.data[DATA_RETENTION].async_schedule()
    await hass.async_block_till_done()
    assert sorted(ids_of(store, key) + ids_of(store, "gone")) == sorted(ids[:2])
    issue = issue_registry.async_get_issue(DOMAIN, ISSUE_LOW_FREE_SPACE)
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["minimum"] == format_bytes(minimum)
    assert issue.translation_placeholders["folder"] == str(store.root)
    strings = json.loads((Path(hearthcam.__file__).parent / "strings.json").read_text())
    texts = strings["issues"][ISSUE_LOW_FREE_SPACE]
    assert set(re.findall(r"{(\w+)}", texts["title"] + texts["description"])) == set(
        issue.translation_placeholders
    )

    # Room again: the next periodic run clears the issue.
    await hass.async_add_executor_job(more.unlink)
    async_fire_time_changed(hass, dt_util.utcnow() + RETENTION_INTERVAL + timedelta(seconds=1))
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_LOW_FREE_SPACE) is None
    assert sorted(ids_of(store, key) + ids_of(store, "gone")) == sorted(ids[:2])


def fill_disk(store: ClipStore, clip_id: str, disk: Path) -> tuple[int, int]:
    """Fill the disk with other files until 2.5 clips' worth is missing from the minimum.

    Returns the minimum and how much is missing. A clip frees its files' blocks.
    """
    name = store.resolve(clip_id).with_suffix("")
    clip_blocks = sum(
        name.with_suffix(ext).stat().st_blocks * 512
        for ext in (".mp4", ".json", ".jpg")
        if name.with_suffix(ext).exists()
    )
    total, _, free = shutil.disk_usage(disk)
    minimum = min_free_bytes(total)
    page = 4096  # tmpfs allocates whole pages
    write_zeros(disk / "other-files", (free - minimum + int(2.5 * clip_blocks)) // page * page)
    shortfall = minimum - shutil.disk_usage(disk).free
    assert 2 * clip_blocks < shortfall <= 3 * clip_blocks  # three clips must go
    return minimum, shortfall


def write_zeros(path: Path, size: int) -> None:
    """Write a file of size zero bytes."""
    path.write_bytes(b"\0" * size)


def test_byte_sizes_read_well() -> None:
    """Repair texts show sizes the way Home Assistant does (decimal units)."""
    assert [format_bytes(n) for n in (512, 2_500, 420_000, 1_000_000_000, 12_345_678_901)] == [
        "512 B",
        "2.5 kB",
        "420 kB",
        "1.0 GB",
        "12 GB",
    ]
    assert min_free_bytes(8 * 1024 * 1024) == 419430
    assert min_free_bytes(10**12) == 10**9
