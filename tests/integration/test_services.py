"""The clip actions: delete (administrators only), keep, and record on request (a real stream)."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from homeassistant.const import ATTR_ENTITY_ID, STATE_ON
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError, Unauthorized
from homeassistant.helpers import entity_registry as er
import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.hearthcam.const import DOMAIN
from custom_components.hearthcam.engine.clip_info import ClipFile
from custom_components.hearthcam.engine.clips import ClipStore
from custom_components.hearthcam.engine.model import ClipTrigger

from .camkit import camera_for_manual_clips, setup_camera, state_of, use_media_dir, wait_for
from .librarykit import add_clip, clip_mp4, load_library

__all__ = ["clip_mp4"]

CAMERA = "camera.front_door"
STREAM = "binary_sensor.front_door_stream"
STORAGE = "sensor.front_door_storage_used"
START = datetime(2026, 3, 14, 12, tzinfo=UTC)
UNREACHABLE = "rtsp://127.0.0.1:9/nothing"


async def call(
    hass: HomeAssistant, service: str, data: dict[str, Any], user: MockUser | None = None
) -> None:
    """Call a HearthCam action and wait for it, as a user if one is given."""
    context = Context(user_id=user.id) if user is not None else None
    await hass.services.async_call(DOMAIN, service, data, blocking=True, context=context)


async def camera_with_clips(
    hass: HomeAssistant, tmp_path: Path, clip_mp4: Path
) -> tuple[MockConfigEntry, ClipStore, list[str]]:
    """A set-up camera (its stream unreachable) with three clips."""
    use_media_dir(hass, tmp_path / "media")
    entry = await setup_camera(hass, UNREACHABLE)
    store = entry.runtime_data.coordinator.store
    key = entry.runtime_data.coordinator.camera_key
    ids = [
        (await add_clip(hass, store, key, START.replace(minute=m), clip_mp4)).clip_id
        for m in (1, 2, 3)
    ]
    return entry, store, ids


async def test_delete_clip(
    hass: HomeAssistant,
    tmp_path: Path,
    clip_mp4: Path,
    hass_admin_user: MockUser,
    hass_read_only_user: MockUser,
) -> None:
    """Administrators and automations delete by clip id or media id; others are refused."""
    _, store, ids = await camera_with_clips(hass, tmp_path, clip_mp4)
    video = store.resolve(ids[0])
    await call(hass, "delete_clip", {"clip_id": ids[0]}, hass_admin_user)
    assert not video.exists()
    await call(hass, "delete_clip", {"clip_id": f"media-source://hearthcam/{ids[1]}"})
    camera, day, _ = ids[2].split("/")
    assert [c.clip_id for c in store.clips(camera, day)] == [ids[2]]

    with pytest.raises(Unauthorized):
        await call(hass, "delete_clip", {"clip_id": ids[2]}, hass_read_only_user)
    assert store.get(ids[2]).clip_id == ids[2]
    with pytest.raises(ServiceValidationError) as missing:
        await call(hass, "delete_clip", {"clip_id": ids[0]})
    assert missing.value.translation_key == "clip_not_found"
    assert ids[0] in str(missing.value)
    for bad in ("../../etc/passwd", "/etc/passwd", "media-source://hearthcam/cam", "x" * 500):
        with pytest.raises(ServiceValidationError) as malformed:
            await call(hass, "delete_clip", {"clip_id": bad})
        assert malformed.value.translation_key == "invalid_clip_id"
    with store.hold(ids[2]), pytest.raises(HomeAssistantError) as in_use:
        await call(hass, "delete_clip", {"clip_id": ids[2]})
    assert in_use.value.translation_key == "clip_in_use"
    with pytest.raises(probatio.Invalid):
        await call(hass, "delete_clip", {})


async def test_keep_clip(
    hass: HomeAssistant, tmp_path: Path, clip_mp4: Path, hass_read_only_user: MockUser
) -> None:
    """Keep marks the sidecar (any user may keep); keep: false releases the clip."""
    _, store, ids = await camera_with_clips(hass, tmp_path, clip_mp4)
    await call(hass, "keep_clip", {"clip_id": ids[0]}, hass_read_only_user)
    assert store.get(ids[0]).kept
    assert b'"kept":true' in store.resolve(ids[0], ClipFile.SIDECAR).read_bytes()
    await call(hass, "keep_clip", {"clip_id": ids[0], "keep": False})
    assert not store.get(ids[0]).kept
    with pytest.raises(ServiceValidationError) as missing:
        await call(hass, "keep_clip", {"clip_id": "nobody/2026-03-14/120000-1"})
    assert missing.value.translation_key == "clip_not_found"
    with pytest.raises(ServiceValidationError) as malformed:
        await call(hass, "keep_clip", {"clip_id": "nobody/2026-03-14/../x"})
    assert malformed.value.translation_key == "invalid_clip_id"


async def test_actions_need_a_running_camera(
    hass: HomeAssistant, tmp_path: Path, clip_mp4: Path
) -> None:
    """With no camera set up the clip actions say so (the clips themselves stay)."""
    store = await load_library(hass, tmp_path / "media")
    info = await add_clip(hass, store, "cam", START, clip_mp4)
    for service in ("delete_clip", "keep_clip"):
        with pytest.raises(ServiceValidationError) as error:
            await call(hass, service, {"clip_id": info.clip_id})
        assert error.value.translation_key == "not_loaded"
    assert store.get(info.clip_id).clip_id == info.clip_id


async def test_record_clip_from_a_real_stream(hass: HomeAssistant, quiet_url: str) -> None:
    """A manual clip of the asked length, with pre-roll, while motion recording is off."""
    entry, saved = await camera_for_manual_clips(hass, quiet_url)
    await wait_for(hass, lambda: state_of(hass, STORAGE) is not None, "the storage sensor")
    assert float(state_of(hass, STORAGE) or "nan") == 0

    await call(hass, "record_clip", {ATTR_ENTITY_ID: CAMERA, "duration": 3})
    await wait_for(hass, lambda: bool(saved), "the manual clip")
    store = entry.runtime_data.coordinator.store
    info = store.get(saved[0].data["clip_id"])
    assert info.trigger is ClipTrigger.MANUAL
    assert 2.0 <= info.duration_s <= 4.5  # keyframes every second bound the cut
    assert saved[0].data["media_content_id"] == f"media-source://hearthcam/{info.clip_id}"
    size_mb = store.usage().cameras[info.camera_key].size_bytes / 1e6
    await wait_for(
        hass,
        lambda: float(state_of(hass, STORAGE) or "nan") == pytest.approx(size_mb, abs=1e-3),
        "the storage sensor to count the clip",
    )


async def test_record_clip_refusals(
    hass: HomeAssistant,
    tmp_path: Path,
    quiet_url: str,
    entity_registry: er.EntityRegistry,
    hass_read_only_user: MockUser,
) -> None:
    """Other cameras, bad durations, users without control and a camera that is off."""
    use_media_dir(hass, tmp_path / "media")
    await setup_camera(hass, quiet_url)
    await wait_for(hass, lambda: state_of(hass, STREAM) == STATE_ON, "the stream to connect")
    other = entity_registry.async_get_or_create("camera", "demo", "porch").entity_id
    for target in (other, "camera.does_not_exist", "binary_sensor.front_door_motion"):
        with pytest.raises(ServiceValidationError) as not_ours:
            await call(hass, "record_clip", {ATTR_ENTITY_ID: target, "duration": 5})
        assert not_ours.value.translation_key == "not_a_hearthcam_camera"
    with pytest.raises(ServiceValidationError) as nothing:
        await call(hass, "record_clip", {"area_id": "nowhere", "duration": 5})
    assert nothing.value.translation_key == "no_camera_targeted"
    for duration in (0, -3, 3601, "soon", None):
        with pytest.raises(probatio.Invalid):
            await call(hass, "record_clip", {ATTR_ENTITY_ID: CAMERA, "duration": duration})
    with pytest.raises(probatio.Invalid):
        await call(hass, "record_clip", {"duration": 5})  # no target at all
    with pytest.raises(Unauthorized):
        await call(
            hass, "record_clip", {ATTR_ENTITY_ID: CAMERA, "duration": 5}, hass_read_only_user
        )

    await hass.services.async_call("camera", "turn_off", {ATTR_ENTITY_ID: CAMERA}, blocking=True)
    with pytest.raises(HomeAssistantError) as offline:
        await call(hass, "record_clip", {ATTR_ENTITY_ID: "all", "duration": 5})
    assert offline.value.translation_key == "camera_not_streaming"
    assert "Front door" in str(offline.value)
