"""The household's notice of an export: in Home Assistant's language, saying what left."""

from datetime import UTC, datetime, timedelta
import io
import json
from pathlib import Path
from typing import Any
import zipfile

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockUser
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.hearthcam.exports.audit import ExportEntry
from custom_components.hearthcam.exports.notice import ExportContents, notice_texts

from .exportkit import EXPORT_FOLDER, call, camera_with_clip, export_data
from .librarykit import clip_mp4

__all__ = ["clip_mp4"]


async def export_and_read_notice(
    hass: HomeAssistant,
    tmp_path: Path,
    source: Path,
    hass_ws_client: WebSocketGenerator,
    admin: MockUser,
    **extra: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Export the camera's clip as admin; return the notification and the bundle's manifest."""
    _, _, info = await camera_with_clip(hass, tmp_path, source)
    assert await async_setup_component(hass, "websocket_api", {})
    assert await async_setup_component(hass, "persistent_notification", {})
    result = await call(hass, "export_clip", export_data(info.clip_id, **extra), admin)
    await hass.async_block_till_done()
    ws = await hass_ws_client(hass)
    await ws.send_json_auto_id({"type": "persistent_notification/get"})
    reply = await ws.receive_json()
    assert reply["success"], reply
    notices = [n for n in reply["result"] if result["export_id"] in n["notification_id"]]
    assert len(notices) == 1
    bundle = tmp_path / "config" / EXPORT_FOLDER / f"{result['export_id']}.zip"
    with zipfile.ZipFile(io.BytesIO(bundle.read_bytes())) as archive:
        manifest: dict[str, Any] = json.loads(archive.read("manifest.json"))
    return notices[0], manifest


async def test_the_notice_is_in_german_when_home_assistant_is(
    hass: HomeAssistant,
    tmp_path: Path,
    clip_mp4: Path,
    hass_ws_client: WebSocketGenerator,
    hass_admin_user: MockUser,
) -> None:
    """A German household reads German: sound removed, masks blacked out, the whole clip."""
    await hass.config.async_update(language="de")
    notice, manifest = await export_and_read_notice(
        hass, tmp_path, clip_mp4, hass_ws_client, hass_admin_user
    )
    assert manifest["redactions"] == [
        "metadata_removed",
        "audio_removed",
        "privacy_masks_blacked_out",
    ]
    assert notice["title"] == "Clip von Front door exportiert"
    message = notice["message"]
    assert message.startswith(
        f"Ein Clip von Front door wurde von {hass_admin_user.name} exportiert, "
        "Grund: false alarms at night. Er läuft am "
    )
    for sentence in (
        "Der Ton wurde entfernt.",
        "Die Bereiche unter den Privatsphäre-Masken der Kamera sind geschwärzt.",
        "Der ganze Clip wurde exportiert.",
        "hearthcam.delete_export",
    ):
        assert sentence in message
    assert "sound" not in message
    assert "{" not in message


async def test_the_notice_says_sound_unmasked_and_trimmed(
    hass: HomeAssistant,
    tmp_path: Path,
    clip_mp4: Path,
    hass_ws_client: WebSocketGenerator,
    hass_admin_user: MockUser,
) -> None:
    """With sound, without the camera's masks and trimmed, the notice says each, in English."""
    assert hass.config.language == "en"
    notice, manifest = await export_and_read_notice(
        hass,
        tmp_path,
        clip_mp4,
        hass_ws_client,
        hass_admin_user,
        include_audio=True,
        apply_privacy_masks=False,
        start_offset=0.5,
        end_offset=1.5,
    )
    assert manifest["export"]["audio"] is not None
    assert manifest["privacy_masks"]["applied"] is False
    assert "trimmed" in manifest["redactions"]
    export = manifest["export"]
    start, end = export["start_offset_s"], export["end_offset_s"]
    assert notice["title"] == "Clip exported from Front door"
    message = notice["message"]
    for sentence in (
        "The sound is included.",
        "The camera's privacy masks were not applied: the areas under them show.",
        f"Only the part from {start:.1f} s to {end:.1f} s of the clip was exported.",
    ):
        assert sentence in message


def test_a_clip_without_sound_from_a_camera_without_masks() -> None:
    """The two remaining cases, and a broken translation falling back to English."""
    now = datetime(2026, 3, 14, 12, tzinfo=UTC)
    entry = ExportEntry(
        export_id="20260314T120000Z-1f2e3d4c",
        clip_id="front_door/2026-03-14/115900-1",
        camera="Front door",
        user_id="abc",
        user_name="Alex",
        reason="a  reason\nover lines",
        created_at=now.isoformat(),
        expires_at=(now + timedelta(hours=2)).isoformat(),
        sha256="0" * 64,
        size_bytes=1,
        redactions=["metadata_removed"],
    )
    contents = ExportContents(
        audio_included=False,
        audio_removed=False,
        masks_applied=False,
        masks_configured=0,
        trim=None,
    )
    title, message = notice_texts(entry, contents, {"title": "Clip {unknown}"})
    assert title == "Clip exported from Front door"
    assert "for: a reason over lines." in message
    assert "The clip has no sound." in message
    assert "The camera has no privacy masks." in message
