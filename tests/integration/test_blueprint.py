"""The clip notification blueprint in a real Home Assistant, with a phone on mobile_app's push.

The blueprint is imported the way the UI saves an imported blueprint, the automation is created
through the automation editor's API, a real clip is saved from a real stream, and the phone's
side is mobile_app's WebSocket push channel, which the Companion app uses on a local network.
"""

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    MockHAClientWebSocket,
    WebSocketGenerator,
)

from custom_components.hearthcam.const import DOMAIN, EVENT_CLIP_SAVED
from custom_components.hearthcam.engine.model import Verdict
from devkit.http_server import HttpStreamServer
from devkit.pytest_plugin import MakeFootage

from .camkit import SMALL, setup_camera, use_media_dir, wait_for, walker

ROOT = Path(__file__).resolve().parents[2]
BLUEPRINT = ROOT / "blueprints" / "automation" / "hearthcam" / "clip_feedback_notification.yaml"
BLUEPRINT_PATH = "hearthcam/clip_feedback_notification.yaml"
WEBHOOK_ID = "hearthcam-test-phone-webhook"
PHONE_ID = "hearthcam-test-phone"
AUTOMATION_ID = "hearthcam_phone"
PUSH_TIMEOUT_S = 60.0


@pytest.fixture
def walker_url(make_footage: MakeFootage, http_stream_server: HttpStreamServer) -> str:
    """A stream in which someone walks by from 1 s to 3 s."""
    scene = replace(SMALL, duration_s=12.0, seed=61, objects=(walker(1.0, 3.0),))
    return http_stream_server.url(f"ts/{make_footage(scene, '.ts').name}")


async def _phone(hass: HomeAssistant, user: MockUser) -> str:
    """Register a phone with mobile_app that takes notifications over the local push channel."""
    entry = MockConfigEntry(
        domain="mobile_app",
        data={
            "app_data": {"push_websocket_channel": True},
            "app_id": "io.homeassistant.mobile_app",
            "app_name": "Companion",
            "app_version": "1.0",
            "device_id": PHONE_ID,
            "device_name": "Phone",
            "manufacturer": "Test",
            "model": "mobile_app",
            "os_name": "Android",
            "os_version": "15",
            "secret": "0" * 32,
            "supports_encryption": False,
            "user_id": user.id,
            "webhook_id": WEBHOOK_ID,
        },
        source="registration",
        title="Phone",
        version=1,
    )
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, "mobile_app", {"mobile_app": {}})
    await hass.async_block_till_done()
    device = dr.async_get(hass).async_get_device_by_identifier(
        ("mobile_app", PHONE_ID), entry.entry_id
    )
    assert device is not None
    return device.id


async def _ws(client: MockHAClientWebSocket, message: dict[str, Any]) -> Any:
    """Send a command and return its result, which must be a success."""
    await client.send_json_auto_id(message)
    response = await client.receive_json()
    assert response["success"], response
    return response["result"]


async def _next_push(client: MockHAClientWebSocket) -> dict[str, Any]:
    """The next notification the phone receives over its push channel."""
    message = await asyncio.wait_for(client.receive_json(), PUSH_TIMEOUT_S)
    assert message["type"] == "event", message
    push: dict[str, Any] = message["event"]
    return push


async def _create_automation(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, device_id: str
) -> None:
    """Create the automation from the blueprint as the automation editor does, then load it."""
    config_dir = Path(hass.config.config_dir)
    (config_dir / "configuration.yaml").write_text("automation: !include automations.yaml\n")
    (config_dir / "automations.yaml").write_text("[]\n")
    client = await hass_client()
    response = await client.post(
        f"/api/config/automation/config/{AUTOMATION_ID}",
        json={
            "alias": "Clips to my phone",
            "description": "",
            "use_blueprint": {"path": BLUEPRINT_PATH, "input": {"notify_device": device_id}},
        },
    )
    assert response.status == 200, await response.text()
    await hass.async_block_till_done()
    state = hass.states.get("automation.clips_to_my_phone")
    assert state is not None
    assert state.state == "on"


async def test_phone_notification_buttons_mark_and_keep_the_clip(
    hass: HomeAssistant,
    tmp_path: Path,
    walker_url: str,
    *,
    hass_admin_user: MockUser,
    hass_ws_client: WebSocketGenerator,
    hass_client: ClientSessionGenerator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Import, automate, record, notify, press "False alarm" then "Keep": both reach the clip."""
    # Everything that serves HTTP is set up before the first client freezes the router.
    use_media_dir(hass, tmp_path / "media")
    for component in ("automation", "config", "camera", DOMAIN):
        assert await async_setup_component(hass, component, {})
    device_id = await _phone(hass, hass_admin_user)
    ws = await hass_ws_client(hass)
    await _ws(
        ws,
        {
            "type": "blueprint/save",
            "domain": "automation",
            "path": BLUEPRINT_PATH.removesuffix(".yaml"),
            "yaml": BLUEPRINT.read_text(),
        },
    )
    listed = await _ws(ws, {"type": "blueprint/list", "domain": "automation"})
    assert "HearthCam" in listed[BLUEPRINT_PATH]["metadata"]["name"]

    await _create_automation(hass, hass_client, device_id)
    await _ws(ws, {"type": "mobile_app/push_notification_channel", "webhook_id": WEBHOOK_ID})

    saved: list[Event] = []
    hass.bus.async_listen(EVENT_CLIP_SAVED, saved.append)
    entry = await setup_camera(hass, walker_url)
    store = entry.runtime_data.coordinator.store
    push = await _next_push(ws)
    assert saved
    clip_id = saved[0].data["clip_id"]
    assert push["title"] == "Motion: Front door"
    start = dt_util.as_local(dt_util.parse_datetime(saved[0].data["start"]) or dt_util.utcnow())
    assert push["message"].startswith(start.strftime("%H:%M:%S") + " · ")
    data = push["data"]
    assert data["image"] == f"/api/hearthcam/clips/{clip_id}.jpg"
    camera, _, _ = clip_id.split("/")
    levels = [
        "app,media-source://hearthcam",
        f"video,media-source://hearthcam/{camera}",
        f"video,media-source://hearthcam/{camera}/{start.date().isoformat()}",
    ]
    assert (
        data["url"]
        == data["clickAction"]
        == "/media-browser/browser/" + "/".join(quote(level, safe="") for level in levels)
    )
    false_alarm, keep = data["actions"]
    assert false_alarm == {"action": f"HEARTHCAM_FALSE_ALARM_{clip_id}", "title": "False alarm"}
    assert keep == {"action": f"HEARTHCAM_KEEP_{clip_id}", "title": "Keep"}

    # The thumbnail is there for the app, which signs in; not for anyone else.
    response = await (await hass_client()).get(data["image"])
    assert response.status == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert (await response.read()).startswith(b"\xff\xd8")
    assert (await (await hass_client_no_auth()).get(data["image"])).status == 401

    # Someone else's button changes nothing.
    hass.bus.async_fire("mobile_app_notification_action", {"action": "OPEN_GARAGE"})
    await hass.async_block_till_done()
    assert store.get(clip_id).verdict is None

    hass.bus.async_fire(
        "mobile_app_notification_action",
        {"action": false_alarm["action"], "webhook_id": WEBHOOK_ID},
    )
    await wait_for(
        hass, lambda: store.get(clip_id).verdict is Verdict.FALSE_ALARM, "the false alarm"
    )
    assert not store.get(clip_id).kept
    hass.bus.async_fire(
        "mobile_app_notification_action", {"action": keep["action"], "webhook_id": WEBHOOK_ID}
    )
    await wait_for(hass, lambda: store.get(clip_id).kept, "the clip to be kept")
    assert store.get(clip_id).verdict is Verdict.FALSE_ALARM
    assert await hass.config_entries.async_unload(entry.entry_id)
