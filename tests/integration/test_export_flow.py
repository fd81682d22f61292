"""Exporting a clip from Home Assistant's UI: the camera entry's "Export a clip" flow."""

from http import HTTPStatus
import io
from pathlib import Path
from typing import Any
import zipfile

from aiohttp.test_utils import TestClient, make_mocked_request
from homeassistant.components.http.const import KEY_HASS_USER
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.http import current_request
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.hearthcam.const import CONF_ALLOW_EXPORTS, EVENT_CLIP_EXPORTED
from custom_components.hearthcam.engine.clip_info import ClipInfo

from .exportkit import EXPORT_OPTIONS, call, camera_with_clip
from .librarykit import clip_mp4

__all__ = ["clip_mp4"]

FLOW_URL = "/api/config/config_entries/subentries/flow"


async def _setup(
    hass: HomeAssistant, tmp_path: Path, clip_mp4: Path, options: dict[str, Any] | None = None
) -> tuple[MockConfigEntry, ClipInfo]:
    """A camera with one clip, and the components the frontend's flow dialog uses."""
    entry, _, info = await camera_with_clip(hass, tmp_path, clip_mp4, options)
    for component in ("config", "websocket_api", "persistent_notification"):
        assert await async_setup_component(hass, component, {})
    return entry, info


async def _step(client: TestClient[Any, Any], path: str, data: dict[str, Any]) -> Any:
    response = await client.post(path, json=data)
    assert response.status == HTTPStatus.OK, await response.text()
    return await response.json()


def _check_summary(shown: dict[str, str], info: ClipInfo) -> None:
    """What the consent step says will leave: the choice made, the camera's masks and expiry."""
    assert shown["camera"] == "Front door"
    assert shown["length"] == f"{info.duration_s:.1f}"
    assert shown["audio"] == "left out"
    assert shown["masks"] == "1 blacked out (the video is re-encoded)"
    assert shown["trim"] == "from 0.0 s to 1.5 s"
    assert shown["expiry_hours"] == "2"
    assert shown["clip_time"]
    assert shown["expires_at"]


async def test_an_administrator_exports_from_the_ui(
    hass: HomeAssistant,
    tmp_path: Path,
    *,
    clip_mp4: Path,
    hass_client: ClientSessionGenerator,
    hass_client_no_auth: ClientSessionGenerator,
    hass_admin_user: MockUser,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Pick a clip, see what leaves, consent with a reason, download once; the household is told."""
    entry, info = await _setup(hass, tmp_path, clip_mp4)
    exported: list[Any] = []
    hass.bus.async_listen(EVENT_CLIP_EXPORTED, exported.append)
    client = await hass_client()
    first = await _step(client, FLOW_URL, {"handler": [entry.entry_id, "export"]})
    assert first["type"] == "form"
    assert first["step_id"] == "user"
    clip_field = next(f for f in first["data_schema"] if f["name"] == "clip_id")
    options = clip_field["selector"]["select"]["options"]
    assert [o["value"] for o in options] == [info.clip_id]
    flow = f"{FLOW_URL}/{first['flow_id']}"

    bad_trim = {"clip_id": info.clip_id, "start_offset": 1.5, "end_offset": 1.0}
    refused = await _step(client, flow, bad_trim)
    assert refused["errors"] == {"base": "invalid_trim"}
    choice = {"clip_id": info.clip_id, "include_audio": False, "apply_privacy_masks": True}
    confirm = await _step(client, flow, choice | {"end_offset": 1.5})
    assert confirm["step_id"] == "confirm"
    _check_summary(confirm["description_placeholders"], info)

    no_consent = await _step(client, flow, {"consent": False, "reason": "for the installer"})
    assert no_consent["errors"] == {"base": "consent_required"}
    no_reason = await _step(client, flow, {"consent": True, "reason": "   "})
    assert no_reason["errors"] == {"base": "reason_required"}
    assert exported == []  # nothing made yet

    done = await _step(client, flow, {"consent": True, "reason": "for the installer"})
    assert done["step_id"] == "done"
    link = done["description_placeholders"]["download_url"]
    assert link.startswith("/api/hearthcam/exports/")
    await hass.async_block_till_done()
    assert [e.data["user_id"] for e in exported] == [hass_admin_user.id]
    assert exported[0].data["reason"] == "for the installer"

    anonymous = await hass_client_no_auth()
    response = await anonymous.get(link)
    assert response.status == HTTPStatus.OK
    with zipfile.ZipFile(io.BytesIO(await response.read())) as archive:
        assert "clip.mp4" in archive.namelist()
    assert (await anonymous.get(link)).status == HTTPStatus.NOT_FOUND  # used once

    closed = await _step(client, flow, {})
    assert closed["type"] == "abort"
    assert closed["reason"] == "export_finished"
    assert entry.subentries == {}  # the flow leaves nothing behind on the entry
    listed = await call(hass, "list_exports", {}, hass_admin_user)
    assert [e["reason"] for e in listed["exports"]] == ["for the installer"]
    # The household's notice tells of the export but never carries the link.
    ws = await hass_ws_client(hass)
    await ws.send_json_auto_id({"type": "persistent_notification/get"})
    notices = (await ws.receive_json())["result"]
    assert [n for n in notices if "for the installer" in n["message"]]
    assert not [n for n in notices if "/api/hearthcam/exports" in n["message"]]


async def test_only_administrators_start_it(
    hass: HomeAssistant,
    tmp_path: Path,
    *,
    clip_mp4: Path,
    hass_client: ClientSessionGenerator,
    hass_read_only_user: MockUser,
    hass_read_only_access_token: str,
    hass_admin_user: MockUser,
) -> None:
    """Non-administrators, and flows started with no one's request behind them, are refused."""
    entry, _ = await _setup(hass, tmp_path, clip_mp4)
    reader = await hass_client(hass_read_only_access_token)
    response = await reader.post(FLOW_URL, json={"handler": [entry.entry_id, "export"]})
    assert response.status == HTTPStatus.UNAUTHORIZED

    handler = (entry.entry_id, "export")
    # Started from code (another integration, say): no person to consent.
    result = await hass.config_entries.subentries.async_init(
        handler, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "admin_required"
    # A request of a user who is not an administrator, should it ever reach the flow.
    for user, reason in ((hass_read_only_user, "admin_required"), (hass_admin_user, None)):
        request = make_mocked_request("POST", FLOW_URL)
        request[KEY_HASS_USER] = user
        token = current_request.set(request)
        try:
            result = await hass.config_entries.subentries.async_init(
                handler, context={"source": SOURCE_USER}
            )
        finally:
            current_request.reset(token)
        assert result.get("reason") == reason
    # The administrator's flow, continued by someone else, is refused.
    flow_id = result["flow_id"]
    request = make_mocked_request("POST", FLOW_URL)
    request[KEY_HASS_USER] = hass_read_only_user
    token = current_request.set(request)
    try:
        result = await hass.config_entries.subentries.async_configure(flow_id, {})
    finally:
        current_request.reset(token)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "admin_required"


async def test_a_camera_that_does_not_allow_exports(
    hass: HomeAssistant, tmp_path: Path, clip_mp4: Path, hass_client: ClientSessionGenerator
) -> None:
    """The flow says so and ends: the camera's options decide, as for the action."""
    entry, _ = await _setup(hass, tmp_path, clip_mp4, EXPORT_OPTIONS | {CONF_ALLOW_EXPORTS: False})
    client = await hass_client()
    result = await _step(client, FLOW_URL, {"handler": [entry.entry_id, "export"]})
    assert result["type"] == "abort"
    assert result["reason"] == "exports_not_allowed"
