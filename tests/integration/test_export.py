"""export_clip end to end: the bundle, its download, the household's notice, and every refusal."""

from dataclasses import dataclass
from datetime import datetime, timedelta
import hashlib
import io
import json
import logging
from pathlib import Path
from typing import Any
import zipfile

from aiohttp.test_utils import TestClient
import av
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import persistent_notification
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError, Unauthorized
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import numpy as np
import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.hearthcam.const import (
    CONF_ALLOW_EXPORTS,
    CONF_STREAM_URL,
    DOMAIN,
    EVENT_CLIP_EXPORTED,
)
from custom_components.hearthcam.engine.clip_info import ClipInfo
from custom_components.hearthcam.engine.clips import ClipStore
from custom_components.hearthcam.exports.audit import STORAGE_KEY
from custom_components.hearthcam.identifiers import camera_key_for

from .camkit import setup_camera
from .exportkit import (
    EXPORT_FOLDER,
    EXPORT_OPTIONS,
    HOST,
    PASSWORD,
    SECRET_URL,
    call,
    camera_with_clip,
    export_data,
    use_config_dir,
)
from .librarykit import add_clip, clip_mp4, load_library

__all__ = ["clip_mp4"]


def _secrets_in(data: bytes) -> list[bytes]:
    """The camera's credentials or address found in data."""
    return [s for s in (PASSWORD.encode(), HOST.encode(), b"viewer:") if s in data]


def _bundle_bytes(zip_data: bytes) -> bytes:
    """The zip as stored plus every member unpacked: everything a recipient could read."""
    with zipfile.ZipFile(io.BytesIO(zip_data)) as archive:
        return zip_data + b"".join(archive.read(name) for name in archive.namelist())


def _is_export_log(record: logging.LogRecord) -> bool:
    """Whether a log record comes from the export code."""
    module = record.name.rsplit(".", 1)[-1]
    return record.name.startswith("custom_components.hearthcam.exports.") or (
        record.name.startswith("custom_components.hearthcam")
        and module in {"redact", "bundle", "logbook"}
    )


async def _notifications(ws_client: Any) -> list[dict[str, Any]]:
    """The persistent notifications every user sees, as the frontend fetches them."""
    await ws_client.send_json_auto_id({"type": "persistent_notification/get"})
    reply = await ws_client.receive_json()
    assert reply["success"], reply
    return list(reply["result"])


@dataclass(frozen=True, slots=True)
class Exported:
    """A clip exported by an administrator, and what the test saw happen."""

    result: dict[str, Any]
    clip: ClipInfo
    store: ClipStore
    admin: MockUser
    client: TestClient[Any, Any]  # logged in as the administrator
    events: list[Event]
    bundle: Path


@pytest.fixture
async def exported(
    hass: HomeAssistant,
    tmp_path: Path,
    clip_mp4: Path,
    hass_admin_user: MockUser,
    hass_client: ClientSessionGenerator,
) -> Exported:
    """A camera with masks whose clip an administrator exported (defaults otherwise)."""
    _, store, info = await camera_with_clip(hass, tmp_path, clip_mp4)
    # Set up before the HTTP client starts: its router takes no new routes afterwards.
    assert await async_setup_component(hass, "websocket_api", {})
    assert await async_setup_component(hass, "persistent_notification", {})
    client = await hass_client()  # also gives the admin a refresh token to sign links with
    events: list[Event] = []
    hass.bus.async_listen(EVENT_CLIP_EXPORTED, events.append)
    media_id = f"media-source://hearthcam/{info.clip_id}"
    result = await call(hass, "export_clip", export_data(media_id), hass_admin_user)
    await hass.async_block_till_done()
    bundle = tmp_path / "config" / EXPORT_FOLDER / f"{result['export_id']}.zip"
    return Exported(result, info, store, hass_admin_user, client, events, bundle)


async def test_the_bundle_is_masked_silent_hashed_and_outside_the_media(
    exported: Exported, tmp_path: Path, hass_client_no_auth: ClientSessionGenerator
) -> None:
    """The signed link downloads the zip; its hashes hold; the masked half is black."""
    result, export_id = exported.result, exported.result["export_id"]
    assert set(result) == {
        "export_id",
        "download_url",
        "download_url_expires_at",
        "sha256",
        "size_bytes",
        "expires_at",
        "redactions",
    }
    assert result["redactions"] == [
        "metadata_removed",
        "audio_removed",
        "privacy_masks_blacked_out",
    ]
    assert result["download_url"].startswith(f"/api/hearthcam/exports/{export_id}.zip?ticket=")
    assert "&authSig=" in result["download_url"]
    # Outside every media folder, and the only file in its own.
    assert [p.name for p in exported.bundle.parent.iterdir()] == [exported.bundle.name]
    assert not list((tmp_path / "media").rglob("*.zip"))

    # The signed link works on its own (no other credentials), once.
    anonymous = await hass_client_no_auth()
    response = await anonymous.get(result["download_url"])
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert response.headers["Cache-Control"] == "no-store"
    data = await response.read()
    assert (await anonymous.get(result["download_url"])).status == 404
    assert data == exported.bundle.read_bytes()
    assert hashlib.sha256(data).hexdigest() == result["sha256"]
    assert len(data) == result["size_bytes"]

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert set(archive.namelist()) == {"clip.mp4", "manifest.json", "README.txt"}
        manifest = json.loads(archive.read("manifest.json"))
        for name, entry in manifest["files"].items():
            assert hashlib.sha256(archive.read(name)).hexdigest() == entry["sha256"], name
        (tmp_path / "clip.mp4").write_bytes(archive.read("clip.mp4"))
    with av.open(str(tmp_path / "clip.mp4")) as container:
        assert [s.type for s in container.streams] == ["video"]  # no sound by default
        frames = [frame.to_ndarray(format="gray") for frame in container.decode(video=0)]
    assert len(frames) == 30
    for frame in frames:
        assert frame[:, :76].max() <= 8  # the masked left half is black
        assert frame[:, 84:].mean() > 40  # the rest is the picture
    assert manifest["camera"] == {"name": "Front door"}
    assert manifest["exported_by"]["user_id"] == exported.admin.id
    assert manifest["reason"] == "false alarms at night"
    assert manifest["expires_at"] == result["expires_at"]
    assert manifest["software"]["home_assistant"]
    assert manifest["software"]["hearthcam"] == "0.1.0"
    assert manifest["detection_settings"]["regions"]["masks"]
    assert manifest["clip"]["clip_id"] == exported.clip.clip_id
    assert exported.store.get(exported.clip.clip_id) == exported.clip  # the clip is untouched


async def test_the_household_is_told(
    hass: HomeAssistant,
    exported: Exported,
    hass_ws_client: WebSocketGenerator,
    hass_storage: dict[str, Any],
) -> None:
    """A notification for every user, the bus event and an audit record."""
    result, export_id, admin = exported.result, exported.result["export_id"], exported.admin
    notices = [
        n
        for n in await _notifications(await hass_ws_client(hass))
        if export_id in n["notification_id"]
    ]
    assert len(notices) == 1
    assert notices[0]["title"] == "Clip exported from Front door"
    assert notices[0]["message"].startswith(
        f"A clip from Front door was exported by {admin.name} for: "
        "false alarms at night. It expires "
    )
    assert [e.data for e in exported.events] == [
        {
            "export_id": export_id,
            "clip_id": exported.clip.clip_id,
            "user_id": admin.id,
            "reason": "false alarms at night",
            "camera": "Front door",
            "expires_at": result["expires_at"],
        }
    ]
    assert exported.events[0].context.user_id == admin.id
    records = hass_storage[STORAGE_KEY]["data"]["log"]
    assert [(r["action"], r["export_id"], r["sha256"]) for r in records] == [
        ("exported", export_id, result["sha256"])
    ]
    assert records[0]["user_name"] == admin.name
    assert records[0]["redactions"] == result["redactions"]
    assert records[0]["reason"] == "false alarms at night"


async def test_no_credential_or_address_anywhere(
    hass: HomeAssistant,
    exported: Exported,
    hass_ws_client: WebSocketGenerator,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Bundle, audit log, event, notification, response and log: no password, no host."""
    notices = await _notifications(await hass_ws_client(hass))
    # The export ran while the fixture was set up.
    records = [*caplog.get_records("setup"), *caplog.get_records("call")]
    assert any(_is_export_log(r) for r in records)
    everything = [
        _bundle_bytes(exported.bundle.read_bytes()),
        json.dumps(hass_storage[STORAGE_KEY]).encode(),
        json.dumps([e.data for e in exported.events]).encode(),
        json.dumps(notices).encode(),
        json.dumps(exported.result).encode(),
        "\n".join(r.getMessage() for r in records if _is_export_log(r)).encode(),
    ]
    assert [_secrets_in(blob) for blob in everything] == [[]] * len(everything)
    assert not [r for r in records if PASSWORD in r.getMessage()]  # nor anything else logged


async def test_only_administrators_download_and_delete(
    hass: HomeAssistant,
    exported: Exported,
    hass_client: ClientSessionGenerator,
    hass_read_only_user: MockUser,
    hass_read_only_access_token: str,
) -> None:
    """Other users are refused the file and the actions; unknown names are not found."""
    path = f"/api/hearthcam/exports/{exported.result['export_id']}.zip"
    link = exported.result["download_url"]
    reader = await hass_client(hass_read_only_access_token)
    assert (await reader.get(path)).status == 403
    assert (await reader.get(link)).status == 403  # and the link stays unspent
    # A logged-in administrator gets nothing without a link minted for them.
    assert (await exported.client.get(path)).status == 404
    assert (await exported.client.get(link)).status == 200
    for wrong in ("20260314T000000Z-00000000.zip", "x.zip", "..%2Fhearthcam_exports"):
        response = await exported.client.get(f"/api/hearthcam/exports/{wrong}")
        assert response.status in {400, 404}  # 400: HA's filter stops the traversal first
    for service, data in (
        ("export_clip", export_data(exported.clip.clip_id)),
        ("list_exports", {}),
        ("delete_export", {"export_id": exported.result["export_id"]}),
        ("export_download_link", {"export_id": exported.result["export_id"]}),
    ):
        with pytest.raises(Unauthorized):
            await call(
                hass, service, data, hass_read_only_user, response=service != "delete_export"
            )
    assert exported.bundle.exists()

    data = {"export_id": exported.result["export_id"]}
    fresh = await call(hass, "export_download_link", data, exported.admin)
    await call(hass, "delete_export", data, exported.admin, response=False)
    assert (await exported.client.get(fresh["download_url"])).status == 404


async def test_sound_is_included_on_request(
    hass: HomeAssistant,
    tmp_path: Path,
    clip_mp4: Path,
    hass_admin_user: MockUser,
    hass_client: ClientSessionGenerator,
) -> None:
    """include_audio keeps the sound; without masks to apply the video is a stream copy."""
    _, _, info = await camera_with_clip(hass, tmp_path, clip_mp4)
    client = await hass_client()
    data = export_data(info.clip_id, include_audio=True, apply_privacy_masks=False)
    result = await call(hass, "export_clip", data, hass_admin_user)
    assert result["redactions"] == ["metadata_removed"]
    response = await client.get(result["download_url"])
    with zipfile.ZipFile(io.BytesIO(await response.read())) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        (tmp_path / "clip.mp4").write_bytes(archive.read("clip.mp4"))
    assert manifest["export"]["method"] == "stream_copy"
    assert manifest["privacy_masks"] == {"configured": 1, "applied": False, "polygons": []}
    with av.open(str(tmp_path / "clip.mp4")) as container:
        assert [s.type for s in container.streams] == ["video", "audio"]
        left = np.mean(
            [f.to_ndarray(format="gray")[:, :76].mean() for f in container.decode(video=0)]
        )
    assert left > 40  # not masked, as asked


async def test_a_trimmed_export(
    hass: HomeAssistant, tmp_path: Path, clip_mp4: Path, hass_admin_user: MockUser
) -> None:
    """start_offset and end_offset cut the window out of the clip."""
    _, _, info = await camera_with_clip(hass, tmp_path, clip_mp4)
    data = export_data(info.clip_id, start_offset=0.5, end_offset=1.5)
    result = await call(hass, "export_clip", data, hass_admin_user)
    assert "trimmed" in result["redactions"]
    bundle = tmp_path / "config" / EXPORT_FOLDER / f"{result['export_id']}.zip"
    with zipfile.ZipFile(bundle) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["export"]["start_offset_s"] == 0.5
    assert manifest["export"]["duration_s"] == pytest.approx(1.0, abs=0.01)
    assert manifest["export"]["video"]["frames"] == 15


async def test_refusals_write_nothing(
    hass: HomeAssistant,
    tmp_path: Path,
    clip_mp4: Path,
    hass_admin_user: MockUser,
    hass_storage: dict[str, Any],
) -> None:
    """Each refusal is a translated error, and leaves no bundle, record, event or notice."""
    _, store, info = await camera_with_clip(hass, tmp_path, clip_mp4)
    other = await setup_camera(
        hass, "rtsp://127.0.0.1:9/porch", title="Porch", options={CONF_ALLOW_EXPORTS: False}
    )
    coordinator = other.runtime_data.coordinator
    porch_clip = await add_clip(hass, store, coordinator.camera_key, info.start, clip_mp4)
    notices: list[object] = []
    persistent_notification.async_register_callback(hass, lambda *args: notices.append(args))
    events: list[Event] = []
    hass.bus.async_listen(EVENT_CLIP_EXPORTED, events.append)
    clip_id = info.clip_id
    missing = clip_id.rsplit("-", 1)[0] + "-9"

    refusals: list[tuple[dict[str, Any], MockUser | None, str]] = [
        (export_data(clip_id), None, "export_needs_user"),  # an automation or script
        ({"clip_id": clip_id, "reason": "x"}, hass_admin_user, "consent_required"),
        (export_data(clip_id, consent=False), hass_admin_user, "consent_required"),
        (export_data(clip_id, consent="true"), hass_admin_user, "consent_required"),
        (export_data(clip_id, consent=1), hass_admin_user, "consent_required"),
        (export_data(clip_id, reason="  "), hass_admin_user, "reason_required"),
        (export_data(clip_id, reason="x" * 501), hass_admin_user, "reason_too_long"),
        (export_data(porch_clip.clip_id), hass_admin_user, "exports_not_allowed"),
        (export_data(missing), hass_admin_user, "clip_not_found"),
        (export_data("../../secrets.yaml"), hass_admin_user, "invalid_clip_id"),
        (export_data(clip_id, start_offset=1.5, end_offset=1.0), hass_admin_user, "invalid_trim"),
        (export_data(clip_id, start_offset=-1), hass_admin_user, "invalid_trim"),
        (export_data(clip_id, end_offset=60), hass_admin_user, "invalid_trim"),
        (export_data(clip_id, start_offset=5), hass_admin_user, "invalid_trim"),
    ]
    for data, user, key in refusals:
        with pytest.raises(ServiceValidationError) as refused:
            await call(hass, "export_clip", data, user)
        assert refused.value.translation_key == key, (data, key)
        assert str(refused.value)  # translated into a sentence
        assert key not in str(refused.value)
    with pytest.raises(probatio.Invalid):
        await call(hass, "export_clip", {"consent": True, "reason": "no clip"}, hass_admin_user)

    await hass.async_block_till_done()
    folder = tmp_path / "config" / EXPORT_FOLDER
    assert not folder.exists() or not list(folder.iterdir())
    assert STORAGE_KEY not in hass_storage or not hass_storage[STORAGE_KEY]["data"]["log"]
    assert events == []
    assert notices == []


async def test_a_removed_camera_clips_are_not_exported(
    hass: HomeAssistant, tmp_path: Path, clip_mp4: Path, hass_admin_user: MockUser
) -> None:
    """Without the camera's options there is nothing that allows an export."""
    entry, _, info = await camera_with_clip(hass, tmp_path, clip_mp4)
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(ServiceValidationError) as refused:
        await call(hass, "export_clip", export_data(info.clip_id), hass_admin_user)
    assert refused.value.translation_key == "exports_not_allowed"


async def test_the_export_folder_must_not_be_a_media_folder(
    hass: HomeAssistant, tmp_path: Path, clip_mp4: Path, hass_admin_user: MockUser
) -> None:
    """With the config folder shared as media, nothing is written at all."""
    _, _, info = await camera_with_clip(hass, tmp_path, clip_mp4)
    hass.config.media_dirs = {**hass.config.media_dirs, "config": str(tmp_path / "config")}
    with pytest.raises(Exception, match="inside the media folder") as refused:
        await call(hass, "export_clip", export_data(info.clip_id), hass_admin_user)
    assert getattr(refused.value, "translation_key", None) == "export_folder_in_media"
    assert not (tmp_path / "config" / EXPORT_FOLDER).exists()


async def test_links_live_ten_minutes_and_work_once(
    exported: Exported,
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A link works once within its ten minutes; list_exports hands out none; new ones on demand."""
    first = exported.result["download_url"]
    data = {"export_id": exported.result["export_id"]}
    second = await call(hass, "export_download_link", data, exported.admin)
    assert second["download_url"] != first
    assert set(second) == {"export_id", "download_url", "download_url_expires_at"}
    lifetime = datetime.fromisoformat(second["download_url_expires_at"]) - dt_util.utcnow()
    assert timedelta(minutes=9) < lifetime <= timedelta(minutes=10)
    anonymous = await hass_client_no_auth()
    freezer.tick(590)
    assert (await anonymous.get(first)).status == 200
    assert (await anonymous.get(first)).status == 404  # used: refused however asked again
    assert (await anonymous.get(first, headers={"Range": "bytes=0-99"})).status == 404
    freezer.tick(20)
    assert (await anonymous.get(second["download_url"])).status == 401  # its signature expired
    listed = await call(hass, "list_exports", {}, exported.admin)
    assert listed["exports"][0]["export_id"] == exported.result["export_id"]
    assert "download_url" not in listed["exports"][0]
    assert "authSig" not in json.dumps(listed)
    assert "ticket" not in json.dumps(listed)


async def test_a_link_is_sent_whole_and_never_probed(
    exported: Exported, hass_client_no_auth: ClientSessionGenerator
) -> None:
    """HEAD is not served (and spends nothing); a Range request gets the whole bundle, once."""
    link = exported.result["download_url"]
    anonymous = await hass_client_no_auth()
    assert (await anonymous.head(link)).status == 405
    response = await anonymous.get(link, headers={"Range": "bytes=0-99"})
    assert response.status == 200
    assert response.headers["Accept-Ranges"] == "none"
    assert await response.read() == exported.bundle.read_bytes()
    assert (await anonymous.get(link)).status == 404


async def test_a_damaged_clip_fails_and_keeps_nothing(
    hass: HomeAssistant, tmp_path: Path, clip_mp4: Path, hass_admin_user: MockUser
) -> None:
    """A clip that cannot be read gives a translated error; no bundle, no record."""
    _, store, info = await camera_with_clip(hass, tmp_path, clip_mp4)
    video = store.resolve(info.clip_id)
    video.unlink()  # the clip's file was a link to the shared test clip
    video.write_bytes(b"\0" * 4096)
    with pytest.raises(HomeAssistantError) as failed:
        await call(hass, "export_clip", export_data(info.clip_id), hass_admin_user)
    assert failed.value.translation_key == "export_failed"
    assert list((tmp_path / "config" / EXPORT_FOLDER).iterdir()) == []
    listed = await call(hass, "list_exports", {}, hass_admin_user)
    assert listed == {"exports": [], "log": []}


async def test_a_camera_that_is_not_running_still_exports(
    hass: HomeAssistant, tmp_path: Path, clip_mp4: Path, hass_admin_user: MockUser
) -> None:
    """Its options still decide; the detection settings come from them."""
    use_config_dir(hass, tmp_path / "config")
    store = await load_library(hass, tmp_path / "media")
    entry = MockConfigEntry(
        domain=DOMAIN, title="Garden", data={CONF_STREAM_URL: SECRET_URL}, options=EXPORT_OPTIONS
    )
    entry.add_to_hass(hass)
    start = dt_util.utcnow().replace(microsecond=0)
    info = await add_clip(hass, store, camera_key_for(entry.entry_id), start, clip_mp4)
    result = await call(hass, "export_clip", export_data(info.clip_id), hass_admin_user)
    bundle = tmp_path / "config" / EXPORT_FOLDER / f"{result['export_id']}.zip"
    with zipfile.ZipFile(bundle) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["camera"] == {"name": "Garden"}
    assert manifest["detection_settings"]["regions"]["masks"]
    # No one is signed in with a token here: the link is still made (signed for the caller
    # only when the call comes with a login, as from the frontend).
    assert result["download_url"].startswith("/api/hearthcam/exports/")
