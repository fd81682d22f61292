"""An administrator's keep holds; recordings on request are bounded and one at a time."""

from datetime import UTC, datetime
import json
from pathlib import Path
from typing import Any

from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.service import async_get_all_descriptions
import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockUser

from custom_components.hearthcam.const import DOMAIN
from custom_components.hearthcam.engine.clip_info import ClipFile
from custom_components.hearthcam.engine.clip_retention import RetentionPolicy
from custom_components.hearthcam.engine.clips import ClipStore
from custom_components.hearthcam.engine.model import ClipTrigger
from custom_components.hearthcam.services import MAX_RECORD_SECONDS

from .camkit import camera_for_manual_clips, private_clips, setup_camera, use_media_dir, wait_for
from .librarykit import add_clip, clip_mp4

__all__ = ["clip_mp4"]

CAMERA = "camera.front_door"
STREAM = "binary_sensor.front_door_stream"
START = datetime(2026, 3, 14, 12, tzinfo=UTC)
UNREACHABLE = "rtsp://127.0.0.1:9/nothing"
# Far past the clips' days: age retention would take every clip that is not kept.
LATER = datetime(2027, 3, 14, tzinfo=UTC)


async def keep(
    hass: HomeAssistant, clip_id: str, user: MockUser | None, *, keep: bool = True
) -> None:
    """Call keep_clip as user (None: an automation)."""
    context = Context(user_id=user.id) if user is not None else None
    await hass.services.async_call(
        DOMAIN, "keep_clip", {"clip_id": clip_id, "keep": keep}, blocking=True, context=context
    )


async def clips(hass: HomeAssistant, tmp_path: Path, source: Path) -> tuple[ClipStore, list[str]]:
    """A set-up camera (its stream unreachable) with three clips."""
    use_media_dir(hass, tmp_path / "media")
    entry = await setup_camera(hass, UNREACHABLE)
    store = entry.runtime_data.coordinator.store
    key = entry.runtime_data.coordinator.camera_key
    infos = [await add_clip(hass, store, key, START.replace(minute=m), source) for m in (1, 2, 3)]
    return store, [info.clip_id for info in infos]


def sidecar(store: ClipStore, clip_id: str) -> dict[str, Any]:
    """A clip's sidecar as it is on disk."""
    data: dict[str, Any] = json.loads(store.resolve(clip_id, ClipFile.SIDECAR).read_bytes())
    return data


async def test_only_an_administrator_releases_an_administrators_keep(
    hass: HomeAssistant,
    tmp_path: Path,
    clip_mp4: Path,
    hass_admin_user: MockUser,
    hass_read_only_user: MockUser,
) -> None:
    """Who kept a clip is in its sidecar; a user cannot undo an administrator's keep."""
    store, (evidence, own, automation) = await clips(hass, tmp_path, clip_mp4)
    await keep(hass, evidence, hass_admin_user)
    assert (
        sidecar(store, evidence).items()
        >= {
            "kept": True,
            "kept_by": hass_admin_user.id,
            "kept_by_admin": True,
        }.items()
    )
    before = store.resolve(evidence, ClipFile.SIDECAR).read_bytes()

    with pytest.raises(ServiceValidationError) as refused:
        await keep(hass, evidence, hass_read_only_user, keep=False)
    assert refused.value.translation_key == "clip_kept_by_admin"
    assert evidence in str(refused.value)
    assert "only an administrator" in str(refused.value)
    # Nothing changed: neither the sidecar nor the index; a keep: true takes nothing over.
    await keep(hass, evidence, hass_read_only_user)
    assert store.resolve(evidence, ClipFile.SIDECAR).read_bytes() == before
    assert store.get(evidence).kept_by_admin

    # A user releases their own keep; an administrator takes over a user's keep.
    await keep(hass, own, hass_read_only_user)
    assert sidecar(store, own)["kept_by_admin"] is False
    await keep(hass, own, hass_read_only_user, keep=False)
    assert not store.get(own).kept
    await keep(hass, own, hass_read_only_user)
    await keep(hass, own, hass_admin_user)
    assert sidecar(store, own)["kept_by"] == hass_admin_user.id
    with pytest.raises(ServiceValidationError):
        await keep(hass, own, hass_read_only_user, keep=False)

    # Automations are written by administrators: their keep counts as one, and so does a release.
    await keep(hass, automation, None)
    assert store.get(automation).kept_by_admin
    assert store.get(automation).kept_by is None
    await keep(hass, automation, None, keep=False)
    await keep(hass, evidence, hass_admin_user, keep=False)
    assert not store.get(evidence).kept
    assert not store.get(automation).kept
    assert sidecar(store, evidence)["kept_by"] is None

    # What retention spares: the clip an administrator still keeps, nothing released.
    deleted = store.apply_retention(RetentionPolicy(max_age_days=1), LATER).deleted
    assert sorted(deleted) == sorted([evidence, automation])
    assert store.get(own).kept


async def test_a_keep_recorded_before_keepers_were_counts_as_an_administrators(
    hass: HomeAssistant,
    clip_mp4: Path,
    hass_read_only_user: MockUser,
) -> None:
    """An older sidecar says only kept: true; evidence keeps its protection after the upgrade."""
    store = ClipStore(private_clips(hass))
    await hass.async_add_executor_job(store.load)
    info = await add_clip(hass, store, "front_door", START, clip_mp4)
    path = store.resolve(info.clip_id, ClipFile.SIDECAR)
    old = {k: v for k, v in sidecar(store, info.clip_id).items() if not k.startswith("kept_by")}
    path.write_text(json.dumps(old | {"kept": True}))

    await setup_camera(hass, UNREACHABLE)  # loads the store from disk
    with pytest.raises(ServiceValidationError) as refused:
        await keep(hass, info.clip_id, hass_read_only_user, keep=False)
    assert refused.value.translation_key == "clip_kept_by_admin"
    assert json.loads(path.read_text()) == old | {"kept": True}


async def test_recording_on_request_is_bounded_and_one_at_a_time(
    hass: HomeAssistant, quiet_url: str
) -> None:
    """At most five minutes a call, in the schema and the UI; a second call while one runs fails."""
    entry, saved = await camera_for_manual_clips(hass, quiet_url)
    assert MAX_RECORD_SECONDS == 300
    fields = (await async_get_all_descriptions(hass))[DOMAIN]["record_clip"]["fields"]
    assert fields["duration"]["selector"]["number"]["max"] == MAX_RECORD_SECONDS
    for duration in (301, 3600):
        with pytest.raises(probatio.Invalid):
            await record(hass, duration)

    await record(hass, 2)
    with pytest.raises(ServiceValidationError) as busy:
        await record(hass, 30)
    assert busy.value.translation_key == "recording_in_progress"
    assert "Front door" in str(busy.value)
    await wait_for(hass, lambda: bool(saved), "the manual clip")
    store = entry.runtime_data.coordinator.store
    first = store.get(saved[0].data["clip_id"])
    assert first.trigger is ClipTrigger.MANUAL
    assert first.duration_s <= 3.5  # the refused call did not lengthen it

    await record(hass, 2)  # the first one is over: a new one may start
    await wait_for(hass, lambda: len(saved) == 2, "the second manual clip")
    assert store.get(saved[1].data["clip_id"]).trigger is ClipTrigger.MANUAL


async def record(hass: HomeAssistant, duration: object) -> None:
    """Call record_clip on the front door camera."""
    await hass.services.async_call(
        DOMAIN, "record_clip", {ATTR_ENTITY_ID: CAMERA, "duration": duration}, blocking=True
    )
