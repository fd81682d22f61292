"""Exports over time: deletion, expiry, start-up tidying, shutdown mid-export, retention."""

import asyncio
from datetime import timedelta
from pathlib import Path
import threading
import time
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockUser, async_fire_time_changed

from custom_components.hearthcam.engine.clip_retention import RetentionPolicy
from custom_components.hearthcam.engine.export_folder import new_export_id
from custom_components.hearthcam.exports.audit import (
    MAX_RECORDS,
    STORAGE_KEY,
    STORAGE_VERSION,
    AuditAction,
    AuditLog,
    ExportEntry,
)
from devkit.footage import MovingObject, Scene
from devkit.pytest_plugin import MakeFootage
from tests.engine.clipkit import write_fragmented

from .exportkit import EXPORT_FOLDER, call, camera_with_clip, export_data, use_config_dir
from .librarykit import clip_mp4, load_library

__all__ = ["clip_mp4"]

# Long enough that re-encoding it (masks on) takes a good part of a second: time for a test to
# act while the export is being built.
LONG_SCENE = Scene(
    width=1280,
    height=720,
    duration_s=8,
    seed=47,
    objects=(MovingObject(0.5, 7.5, (0.1, 0.5), (0.9, 0.5)),),
)


@pytest.fixture(scope="session")
def long_clip(make_footage: MakeFootage, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An 8 s 720p fragmented MP4."""
    target = tmp_path_factory.mktemp("export-long") / "clip.mp4"
    return write_fragmented(make_footage(LONG_SCENE, ".mp4"), target)


def _export_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("hearthcam-export-")]


async def _until(predicate: Any, what: str, timeout_s: float = 10.0) -> None:
    """Poll predicate() without waiting for Home Assistant's tasks (the export is one)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.002)


async def test_delete_and_expiry_remove_the_bundle_and_keep_the_record(
    hass: HomeAssistant,
    tmp_path: Path,
    clip_mp4: Path,
    hass_admin_user: MockUser,
    freezer: FrozenDateTimeFactory,
) -> None:
    """delete_export and the expiry timer remove bundles; list_exports shows what happened."""
    _, _, info = await camera_with_clip(hass, tmp_path, clip_mp4)
    folder = tmp_path / "config" / EXPORT_FOLDER
    first = await call(hass, "export_clip", export_data(info.clip_id), hass_admin_user)
    second = await call(hass, "export_clip", export_data(info.clip_id), hass_admin_user)
    assert len(list(folder.iterdir())) == 2

    await call(
        hass, "delete_export", {"export_id": first["export_id"]}, hass_admin_user, response=False
    )
    assert not (folder / f"{first['export_id']}.zip").exists()
    for unknown in (first["export_id"], "nonsense", "../../configuration.yaml"):
        with pytest.raises(ServiceValidationError) as missing:
            await call(
                hass, "delete_export", {"export_id": unknown}, hass_admin_user, response=False
            )
        assert missing.value.translation_key == "export_not_found"

    # The camera's exports live 2 hours; the timer removes the bundle soon after.
    freezer.tick(timedelta(hours=2, minutes=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert list(folder.iterdir()) == []

    listed = await call(hass, "list_exports", {}, hass_admin_user)
    assert listed["exports"] == []
    actions = [(r["action"], r["export_id"]) for r in listed["log"]]
    assert actions == [  # newest first
        ("expired", second["export_id"]),
        ("deleted", first["export_id"]),
        ("exported", second["export_id"]),
        ("exported", first["export_id"]),
    ]
    deleted = listed["log"][1]
    assert deleted["by_user_id"] == hass_admin_user.id
    assert deleted["user_id"] == hass_admin_user.id  # who exported it
    assert deleted["sha256"] == first["sha256"]
    assert deleted["reason"] == "false alarms at night"
    assert "by_user_id" not in listed["log"][0]  # nobody: it expired


async def test_start_up_removes_leftovers_orphans_and_expired_bundles(
    hass: HomeAssistant, tmp_path: Path, hass_storage: dict[str, Any]
) -> None:
    """What a crash or a long shutdown left behind is tidied and recorded when HA starts."""
    folder = use_config_dir(hass, tmp_path / "config")
    folder.mkdir(mode=0o700, parents=True)
    now = dt_util.utcnow()
    orphan, expired, vanished, live = (new_export_id(now) for _ in range(4))
    for export_id in (orphan, expired, live):
        (folder / f"{export_id}.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    (folder / f".{live}.0a1b2c3d.tmp").write_bytes(b"half a bundle")

    def entry(export_id: str, expires: timedelta) -> dict[str, Any]:
        return {
            "export_id": export_id,
            "clip_id": "cam/2026-03-14/120000-1",
            "camera": "Front door",
            "user_id": "abc",
            "user_name": "Alice",
            "reason": "testing",
            "created_at": now.isoformat(),
            "expires_at": (now + expires).isoformat(),
            "sha256": "0" * 64,
            "size_bytes": 22,
            "redactions": ["metadata_removed"],
        }

    entries = [entry(expired, -timedelta(minutes=1)), entry(vanished, timedelta(hours=1))]
    entries.append(entry(live, timedelta(hours=1)))
    hass_storage[STORAGE_KEY] = {
        "version": STORAGE_VERSION,
        "minor_version": 1,
        "key": STORAGE_KEY,
        "data": {"exports": entries, "log": []},
    }
    await load_library(hass, tmp_path / "media")

    assert sorted(p.name for p in folder.iterdir()) == [f"{live}.zip"]
    log = hass_storage[STORAGE_KEY]["data"]["log"]
    assert sorted((r["action"], r["export_id"]) for r in log) == sorted(
        [("expired", expired), ("missing", vanished)]
    )
    assert [e["export_id"] for e in hass_storage[STORAGE_KEY]["data"]["exports"]] == [live]


async def test_shutdown_mid_export_keeps_nothing_and_leaves_no_thread(
    hass: HomeAssistant,
    tmp_path: Path,
    long_clip: Path,
    hass_admin_user: MockUser,
    hass_storage: dict[str, Any],
) -> None:
    """Home Assistant stopping cancels the export within the stop budget; nothing is kept."""
    _, store, info = await camera_with_clip(hass, tmp_path, long_clip)
    export = asyncio.create_task(
        call(hass, "export_clip", export_data(info.clip_id), hass_admin_user)
    )
    await _until(lambda: _export_threads() or export.done(), "the export thread")
    assert not export.done()

    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    # The stop handler joins the thread within the stop budget, so it is gone once it returns.
    assert _export_threads() == []
    with pytest.raises(HomeAssistantError) as cancelled:
        await export
    assert cancelled.value.translation_key == "export_cancelled"
    assert list((tmp_path / "config" / EXPORT_FOLDER).iterdir()) == []
    assert STORAGE_KEY not in hass_storage or hass_storage[STORAGE_KEY]["data"]["log"] == []
    assert store.get(info.clip_id).clip_id == info.clip_id
    assert not store._holds  # the clip is free again
    with pytest.raises(HomeAssistantError) as refused:
        await call(hass, "export_clip", export_data(info.clip_id), hass_admin_user)
    assert refused.value.translation_key == "export_cancelled"


async def test_retention_never_deletes_a_clip_while_it_is_exported(
    hass: HomeAssistant, tmp_path: Path, long_clip: Path, hass_admin_user: MockUser
) -> None:
    """The clip is held while its bundle is built: retention and delete_clip leave it alone."""
    _, store, info = await camera_with_clip(hass, tmp_path, long_clip)
    export = asyncio.create_task(
        call(hass, "export_clip", export_data(info.clip_id), hass_admin_user)
    )
    await _until(lambda: info.clip_id in store._holds or export.done(), "the clip to be held")
    assert not export.done()
    everything = RetentionPolicy(max_age_days=0)
    outcome = await hass.async_add_executor_job(store.apply_retention, everything)
    assert outcome.deleted == ()
    with pytest.raises(HomeAssistantError) as in_use:
        await call(hass, "delete_clip", {"clip_id": info.clip_id}, response=False)
    assert in_use.value.translation_key == "clip_in_use"

    result = await export
    assert result["size_bytes"] > 0
    outcome = await hass.async_add_executor_job(store.apply_retention, everything)
    assert outcome.deleted == (info.clip_id,)  # released once the bundle was built


async def test_exports_run_side_by_side(
    hass: HomeAssistant, tmp_path: Path, clip_mp4: Path, hass_admin_user: MockUser
) -> None:
    """Exports started together each get their own thread and bundle."""
    _, _, info = await camera_with_clip(hass, tmp_path, clip_mp4)
    results = await asyncio.gather(
        *(call(hass, "export_clip", export_data(info.clip_id), hass_admin_user) for _ in range(3))
    )
    names = sorted(p.name for p in (tmp_path / "config" / EXPORT_FOLDER).iterdir())
    assert names == sorted(f"{r['export_id']}.zip" for r in results)
    assert len(set(names)) == 3


async def test_the_audit_log_keeps_the_newest_records(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """Only the newest MAX_RECORDS records stay: every save rewrites the whole log."""
    now = dt_util.utcnow().isoformat()

    def entry(number: int) -> ExportEntry:
        return ExportEntry(
            export_id=f"20260314T120000Z-{number:08x}",
            clip_id="cam/2026-03-14/120000-1",
            camera="Front door",
            user_id="abc",
            user_name="Alice",
            reason="testing",
            created_at=now,
            expires_at=now,
            sha256="0" * 64,
            size_bytes=1,
            redactions=[],
        )

    full = [{**entry(n), "action": "exported", "at": now} for n in range(MAX_RECORDS)]
    hass_storage[STORAGE_KEY] = {
        "version": STORAGE_VERSION,
        "minor_version": 1,
        "key": STORAGE_KEY,
        "data": {"exports": [], "log": full},
    }
    audit = AuditLog(hass)
    await audit.async_load()
    newest = entry(MAX_RECORDS)
    await audit.async_add(newest, now)
    await audit.async_end(newest["export_id"], AuditAction.DELETED, now, ("abc", "Alice"))
    log = hass_storage[STORAGE_KEY]["data"]["log"]
    assert len(log) == MAX_RECORDS
    assert log[0]["export_id"] == entry(2)["export_id"]  # the two oldest went
    assert [r["action"] for r in log[-2:]] == ["exported", "deleted"]
    assert log[-1]["by_user_name"] == "Alice"
    assert audit.exports == []
