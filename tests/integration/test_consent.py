"""Consent that is a person's, and links that do not outlive HearthCam's own.

A clip link signed to live longer than a day is refused; exports are refused for Home Assistant's
system users and for calls whose context began long ago (a script that waited).
"""

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
import time

from freezegun.api import FrozenDateTimeFactory
from homeassistant.auth.const import GROUP_ID_ADMIN
from homeassistant.core import Context, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.setup import async_setup_component
from homeassistant.util.ulid import ulid_at_time
import pytest
from pytest_homeassistant_custom_component.common import MockUser, async_fire_time_changed
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    MockHAClientWebSocket,
    WebSocketGenerator,
)

from custom_components.hearthcam.const import DOMAIN
from custom_components.hearthcam.exports.person import CONSENT_MAX_AGE, context_age

from .exportkit import EXPORT_FOLDER, call, camera_with_clip, export_data
from .librarykit import add_clip, camera_entry, clip_mp4, load_library, thumbnail

__all__ = ["clip_mp4", "thumbnail"]

TEN_YEARS = int(timedelta(days=3650).total_seconds())


async def _signed(ws: MockHAClientWebSocket, path: str, expires: int) -> str:
    """Sign path over WebSocket with auth/sign_path, as any user may."""
    await ws.send_json_auto_id({"type": "auth/sign_path", "path": path, "expires": expires})
    reply = await ws.receive_json()
    assert reply["success"], reply
    return str(reply["result"]["path"])


async def test_a_clip_link_lives_a_day_at_most(
    hass: HomeAssistant,
    tmp_path: Path,
    *,
    clip_mp4: Path,
    thumbnail: bytes,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Any user can sign a clip's path for ten years; the view refuses it, and accepts a day."""
    assert await async_setup_component(hass, "auth", {})  # auth/sign_path
    store = await load_library(hass, tmp_path / "media")
    front = camera_entry(hass, "Front door")
    start = datetime(2026, 3, 14, 20, 15, 30, tzinfo=UTC)
    info = await add_clip(hass, store, front, start, clip_mp4, thumbnail=thumbnail)
    ws = await hass_ws_client(hass, hass_read_only_access_token)  # not an administrator
    anonymous = await hass_client_no_auth()
    for suffix in (".mp4", ".jpg"):
        path = f"/api/hearthcam/clips/{info.clip_id}{suffix}"
        for seconds, status in (
            (TEN_YEARS, 403),
            (86401, 403),
            (86400, 200),  # what Home Assistant signs resolved media for
            (3600, 200),
        ):
            response = await anonymous.get(await _signed(ws, path, seconds))
            assert response.status == status, (suffix, seconds)
    # A signature that does not say how long it lives is refused too.
    assert (await anonymous.get(f"{path}?authSig=not-a-token")).status in {401, 403}


@pytest.fixture
async def camera(hass: HomeAssistant, tmp_path: Path, clip_mp4: Path) -> str:
    """A camera that allows exports, with one clip; return the clip's id."""
    _, _, info = await camera_with_clip(hass, tmp_path, clip_mp4)
    return info.clip_id


async def _nothing_exported(hass: HomeAssistant, admin: MockUser, tmp_path: Path) -> None:
    listed = await call(hass, "list_exports", {}, admin)
    assert listed == {"exports": [], "log": []}
    folder = tmp_path / "config" / EXPORT_FOLDER
    assert folder.parent.is_dir()  # the folder the bundles would be in is where it is looked for
    assert not folder.exists() or not list(folder.iterdir())


async def test_system_users_cannot_consent(
    hass: HomeAssistant, camera: str, hass_admin_user: MockUser, tmp_path: Path
) -> None:
    """The Supervisor's or Cloud's user is an administrator, but not a person: refused."""
    supervisor = await hass.auth.async_create_system_user("Supervisor", group_ids=[GROUP_ID_ADMIN])
    assert supervisor.is_admin
    for service, data in (
        ("export_clip", export_data(camera)),
        ("export_download_link", {"export_id": "20260314T143500Z-1f2e3d4c"}),
    ):
        with pytest.raises(ServiceValidationError) as refused:
            await hass.services.async_call(
                DOMAIN,
                service,
                data,
                blocking=True,
                context=Context(user_id=supervisor.id),
                return_response=True,
            )
        assert refused.value.translation_key == "export_system_user"
        assert refused.value.translation_placeholders == {"user": "Supervisor"}
    await _nothing_exported(hass, hass_admin_user, tmp_path)


async def test_consent_given_long_ago_is_refused(
    hass: HomeAssistant, camera: str, hass_admin_user: MockUser, tmp_path: Path
) -> None:
    """A context that began an hour ago (or whose age is unknown) is refused; a fresh one is not."""
    for context_id in (ulid_at_time(time.time() - 3600), "not-a-ulid"):
        context = Context(user_id=hass_admin_user.id, id=context_id)
        with pytest.raises(ServiceValidationError) as refused:
            await hass.services.async_call(
                DOMAIN,
                "export_clip",
                export_data(camera),
                blocking=True,
                context=context,
                return_response=True,
            )
        assert refused.value.translation_key == "export_context_too_old"
        assert (refused.value.translation_placeholders or {})["maximum"] == "60"
    await _nothing_exported(hass, hass_admin_user, tmp_path)
    # Half the bound ago: a script that ran a few steps first still exports.
    recent = Context(user_id=hass_admin_user.id, id=ulid_at_time(time.time() - 30))
    age = context_age(recent)
    assert age is not None
    assert timedelta(seconds=29) < age < CONSENT_MAX_AGE
    result = await hass.services.async_call(
        DOMAIN,
        "export_clip",
        export_data(camera),
        blocking=True,
        context=recent,
        return_response=True,
    )
    assert result is not None
    assert result["export_id"]


async def test_a_script_that_waited_cannot_export(
    hass: HomeAssistant,
    camera: str,
    hass_admin_user: MockUser,
    tmp_path: Path,
    *,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An administrator starts a script that waits two minutes, then exports: refused."""
    step = {
        "action": "hearthcam.export_clip",
        "data": export_data(camera),
        "response_variable": "exported",
    }
    assert await async_setup_component(
        hass,
        "script",
        {"script": {"later": {"sequence": [{"delay": {"minutes": 2}}, step]}}},
    )
    running, ended = asyncio.Event(), asyncio.Event()

    @callback
    def _on_change(event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        (running if new is not None and new.state == "on" else ended).set()

    async_track_state_change_event(hass, "script.later", _on_change)
    context = Context(user_id=hass_admin_user.id)
    run = asyncio.ensure_future(
        hass.services.async_call("script", "later", blocking=True, context=context)
    )
    await running.wait()  # in its delay
    freezer.tick(timedelta(minutes=2, seconds=1))
    async_fire_time_changed(hass)
    with pytest.raises(ServiceValidationError) as refused:
        await run
    await ended.wait()
    assert refused.value.translation_key == "export_context_too_old"
    assert "consent counts only when it is given now" in caplog.text
    await _nothing_exported(hass, hass_admin_user, tmp_path)
