"""Where clips live: out of media folders and the file allowlist, and moved there safely."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
import hashlib
from http import HTTPStatus
from pathlib import Path
from typing import Any

from homeassistant.components import media_source
from homeassistant.components.media_player.errors import BrowseError
from homeassistant.core import Context, HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.exceptions import Unauthorized
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockUser
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.hearthcam.clip_location import (
    ISSUE_RESTART,
    LEGACY_EXPORT_FOLDER,
    STORAGE_KEY,
)
from custom_components.hearthcam.const import DOMAIN
from custom_components.hearthcam.data import async_get_clip_store
from custom_components.hearthcam.engine.clips import ClipStore
from custom_components.hearthcam.engine.export_folder import new_export_id
from custom_components.hearthcam.engine.store_move import move_tree
from custom_components.hearthcam.exports.audit import (
    STORAGE_KEY as AUDIT_KEY,
    STORAGE_VERSION as AUDIT_VERSION,
)
from tests.engine.clipkit import record

from .camkit import private_clips
from .exportkit import EXPORT_FOLDER, use_config_dir
from .librarykit import clip_mp4

__all__ = ["clip_mp4"]

CAMERA = "0123456789abcdef"  # a camera key as camera_key_for makes them
START = datetime(2026, 3, 14, 12, tzinfo=UTC)
DAY = "2026-03-14"


class CrashError(Exception):
    """Stands for Home Assistant dying in the middle of the move."""


async def configure(hass: HomeAssistant, config: Path, media: Path) -> None:
    """A config folder and media folder of the test's own, with Home Assistant's defaults."""
    use_config_dir(hass, config)
    await hass.async_add_executor_job(lambda: media.mkdir(parents=True, exist_ok=True))
    # Home Assistant's own core config step: it also adds every media folder to the allowlist.
    await async_process_ha_core_config(hass, {"media_dirs": {"local": str(media)}})


def files_of(root: Path) -> dict[str, str]:
    """Every regular file below root (relative path -> sha256)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def old_layout(root: Path, source: Path, clips: int) -> tuple[list[str], dict[str, str]]:
    """Clips as an older version left them in the media folder; their ids and files."""
    store = ClipStore(root)
    store.load()
    ids = [
        record(store, CAMERA, START + timedelta(minutes=n), source, thumbnail=None).clip_id
        for n in range(clips)
    ]
    return ids, files_of(root)


async def load_store(hass: HomeAssistant) -> ClipStore:
    """Set HearthCam up (no camera running) and return its clip store."""
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    return await async_get_clip_store(hass)


async def test_clips_are_outside_media_folders_and_the_allowlist(
    hass: HomeAssistant, tmp_path: Path, clip_mp4: Path
) -> None:
    """By default the clip folder is private: not in a media folder, not an allowed path."""
    media = tmp_path / "config" / "media"  # where a Home Assistant Core install keeps it
    await configure(hass, tmp_path / "config", media)
    store = await load_store(hass)
    info = await hass.async_add_executor_job(record, store, CAMERA, START, clip_mp4)
    clip_file = store.root / CAMERA / "2026-03-14" / f"{info.clip_id.rsplit('/', 1)[1]}.mp4"
    assert clip_file.is_file()

    assert store.root == private_clips(hass)
    for folder in hass.config.media_dirs.values():
        assert not store.root.is_relative_to(folder)
    assert hass.config.allowlist_external_dirs  # Home Assistant's defaults are in place
    assert not hass.config.is_allowed_path(str(clip_file))
    assert not hass.config.is_allowed_path(str(store.root))
    assert not list(media.rglob("*.mp4"))


async def test_the_local_media_source_cannot_reach_clips(
    hass: HomeAssistant, tmp_path: Path, clip_mp4: Path, hass_client: ClientSessionGenerator
) -> None:
    """My media lists no clip and serves none; HearthCam's own source still plays them."""
    media = tmp_path / "media"
    await configure(hass, tmp_path / "config", media)
    assert await async_setup_component(hass, "media_source", {})
    store = await load_store(hass)
    info = await hass.async_add_executor_job(record, store, CAMERA, START, clip_mp4)
    name = info.clip_id.rsplit("/", 1)[1]
    client = await hass_client()

    local = await media_source.async_browse_media(hass, "media-source://media_source/local/")
    assert [child.title for child in local.children or []] == []
    with pytest.raises(BrowseError):
        await media_source.async_browse_media(hass, "media-source://media_source/local/hearthcam")
    # The local source resolves any name without looking; what it hands out must be nothing.
    old_place = f"media-source://media_source/local/hearthcam/{CAMERA}/{DAY}/{name}.mp4"
    resolved = await media_source.async_resolve_media(hass, old_place, None)
    assert resolved.path is not None
    assert not await hass.async_add_executor_job(resolved.path.exists)
    assert not hass.config.is_allowed_path(str(store.root / CAMERA / DAY / f"{name}.mp4"))
    response = await client.get(resolved.url)
    assert response.status == HTTPStatus.NOT_FOUND

    played = await media_source.async_resolve_media(
        hass, f"media-source://hearthcam/{info.clip_id}", None
    )
    assert played.url == f"/api/hearthcam/clips/{info.clip_id}.mp4"
    assert played.path is None
    response = await client.get(played.url)
    assert response.status == HTTPStatus.OK
    assert await response.read() == await hass.async_add_executor_job(clip_mp4.read_bytes)


async def test_clips_of_an_older_version_move_out_of_the_media_folder(
    hass: HomeAssistant, tmp_path: Path, clip_mp4: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Upgrade: every clip moves to the private folder, same bytes, same ids and media ids."""
    media = tmp_path / "media"
    await configure(hass, tmp_path / "config", media)
    ids, before = await hass.async_add_executor_job(old_layout, media / "hearthcam", clip_mp4, 6)

    store = await load_store(hass)
    assert store.root == private_clips(hass)
    assert await hass.async_add_executor_job(files_of, store.root) == before
    assert not (media / "hearthcam").exists()
    day = await hass.async_add_executor_job(store.clips, CAMERA, DAY, 0, 100)
    assert sorted(clip.clip_id for clip in day) == sorted(ids)
    for clip_id in ids:
        played = await media_source.async_resolve_media(
            hass, f"media-source://hearthcam/{clip_id}", None
        )
        assert played.url == f"/api/hearthcam/clips/{clip_id}.mp4"
    assert f"Moved {len(before)} clips files" in caplog.text  # each clip and its sidecar


@pytest.mark.parametrize("crash_at", [0, 1, 2, 4, 8, 16])
async def test_an_interrupted_move_across_disks_finishes_at_the_next_start(
    hass: HomeAssistant,
    tmp_path: Path,
    tmpfs: Callable[[str], Path],
    clip_mp4: Path,
    crash_at: int,
) -> None:
    """The media folder on another disk, HA killed mid-move: next start loses nothing."""
    media = tmpfs("16m")
    await configure(hass, tmp_path / "config", media)
    ids, before = await hass.async_add_executor_job(old_layout, media / "hearthcam", clip_mp4, 6)
    steps = [0]

    def die(_what: str, _relative: str) -> None:
        if steps[0] == crash_at:
            raise CrashError
        steps[0] += 1

    with pytest.raises(CrashError):
        await hass.async_add_executor_job(move_tree, media / "hearthcam", private_clips(hass), die)

    store = await load_store(hass)
    assert await hass.async_add_executor_job(files_of, store.root) == before
    assert not (media / "hearthcam").exists()
    day = await hass.async_add_executor_job(store.clips, CAMERA, DAY, 0, 100)
    assert sorted(clip.clip_id for clip in day) == sorted(ids)


async def test_clips_go_to_the_media_folder_only_when_an_administrator_says_so(
    hass: HomeAssistant,
    tmp_path: Path,
    hass_admin_user: MockUser,
    hass_read_only_user: MockUser,
    issue_registry: ir.IssueRegistry,
) -> None:
    """The install-wide choice: admin only, a repair issue until the restart that moves clips."""
    media = tmp_path / "media"
    await configure(hass, tmp_path / "config", media)
    await load_store(hass)
    call: dict[str, Any] = {"location": "media_folder"}
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN, "set_clip_location", call, blocking=True, context=_context(hass_read_only_user)
        )
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_RESTART) is None
    response = await hass.services.async_call(
        DOMAIN,
        "set_clip_location",
        call,
        blocking=True,
        context=_context(hass_admin_user),
        return_response=True,
    )
    assert response == {"location": "media_folder", "restart_needed": True}
    issue = issue_registry.async_get_issue(DOMAIN, ISSUE_RESTART)
    assert issue is not None
    assert issue.translation_key == ISSUE_RESTART


async def test_a_start_with_the_media_folder_chosen_moves_clips_there(
    hass: HomeAssistant, tmp_path: Path, clip_mp4: Path, hass_storage: dict[str, Any]
) -> None:
    """Chosen before this start: private clips move into the media folder, as they were."""
    media = tmp_path / "media"
    await configure(hass, tmp_path / "config", media)
    ids, before = await hass.async_add_executor_job(old_layout, private_clips(hass), clip_mp4, 3)
    hass_storage[STORAGE_KEY] = {
        "version": 1,
        "key": STORAGE_KEY,
        "data": {"location": "media_folder"},
    }
    store = await load_store(hass)
    assert store.root == media / "hearthcam"
    assert await hass.async_add_executor_job(files_of, store.root) == before
    assert not private_clips(hass).exists()
    assert hass.config.is_allowed_path(str(store.root))  # the stated consequence
    day = await hass.async_add_executor_job(store.clips, CAMERA, DAY, 0, 100)
    assert sorted(clip.clip_id for clip in day) == sorted(ids)


def _context(user: MockUser) -> Context:
    return Context(user_id=user.id)


async def test_a_config_folder_in_the_allowlist_is_warned_about(
    hass: HomeAssistant, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The whole config folder allowed: clips are readable by others, and the log says so."""
    config = tmp_path / "config"
    await configure(hass, config, tmp_path / "media")
    hass.config.allowlist_external_dirs.add(str(config))
    await load_store(hass)
    assert "is inside allowlist_external_dirs or a media folder" in caplog.text


async def test_live_export_bundles_move_out_of_the_old_folder(
    hass: HomeAssistant, tmp_path: Path, hass_storage: dict[str, Any]
) -> None:
    """A live bundle in `<config>/hearthcam_exports/` moves to the private folder, still live."""
    config = tmp_path / "config"
    await configure(hass, config, tmp_path / "media")
    now = dt_util.utcnow()
    live = new_export_id(now)
    legacy = config / LEGACY_EXPORT_FOLDER
    legacy.mkdir(mode=0o700)
    bundle = b"PK\x05\x06" + bytes(18)
    (legacy / f"{live}.zip").write_bytes(bundle)
    record = {
        "export_id": live,
        "clip_id": f"{CAMERA}/{DAY}/120000-1",
        "camera": "Front door",
        "user_id": "abc",
        "user_name": "Alice",
        "reason": "testing",
        "created_at": now.isoformat(),
        "expires_at": (now + timedelta(hours=1)).isoformat(),
        "sha256": "0" * 64,
        "size_bytes": len(bundle),
        "redactions": ["metadata_removed"],
    }
    hass_storage[AUDIT_KEY] = {
        "version": AUDIT_VERSION,
        "minor_version": 1,
        "key": AUDIT_KEY,
        "data": {"exports": [record], "log": []},
    }
    await load_store(hass)

    moved = config / EXPORT_FOLDER / f"{live}.zip"
    assert await hass.async_add_executor_job(moved.read_bytes) == bundle
    assert not await hass.async_add_executor_job(legacy.exists)
    audit = hass_storage[AUDIT_KEY]["data"]
    assert [e["export_id"] for e in audit["exports"]] == [live]
    assert audit["log"] == []  # not recorded as missing
