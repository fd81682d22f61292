"""A camera's entities, events and controls, driven by real footage over HTTP."""

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
import json
from pathlib import Path
from typing import Any

import av
from homeassistant.components.camera.const import DOMAIN as CAMERA_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
    get_diagnostics_for_device,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.hearthcam.const import DOMAIN, EVENT_CLIP_SAVED
from devkit.http_server import HttpStreamServer
from devkit.http_stream import AUTH_PASSWORD, AUTH_USER
from devkit.live555 import Live555Server
from devkit.pytest_plugin import MakeFootage

from .camkit import (
    SMALL,
    hearthcam_threads,
    setup_camera,
    state_of,
    use_media_dir,
    wait_for,
    walker,
)

CAMERA = "camera.front_door"
MOTION = "binary_sensor.front_door_motion"
STREAM = "binary_sensor.front_door_stream"
ACTIVITY = "event.front_door_activity"
RECORDING = "switch.front_door_recording"
LAST_CLIP = "sensor.front_door_last_clip"
# Diagnostic sensors that are disabled by default (noisy while tuning).
TUNING = {
    "sensor.front_door_analysed_frame_rate": "analysed_fps",
    "sensor.front_door_motion_score": "motion_score",
    "sensor.front_door_stream_frame_rate": "stream_fps",
    "sensor.front_door_stream_bitrate": "stream_bitrate",
}
NAMES = {
    CAMERA: "Front door",
    MOTION: "Front door Motion",
    STREAM: "Front door Stream",
    ACTIVITY: "Front door Activity",
    RECORDING: "Front door Recording",
    LAST_CLIP: "Front door Last clip",
    "sensor.front_door_storage_used": "Front door Storage used",
}


@pytest.fixture
def walker_url(make_footage: MakeFootage, http_stream_server: HttpStreamServer) -> str:
    """A stream (with credentials) in which someone walks by from 1 s to 3 s of each connection.

    The HTTP server plays the file from the start on every connection, so turning the camera
    off and on replays the walk.
    """
    scene = replace(SMALL, duration_s=14.0, seed=22, objects=(walker(1.0, 3.0),))
    path = f"auth/ts/{make_footage(scene, '.ts').name}"
    return http_stream_server.url(path, credentials=(AUTH_USER, AUTH_PASSWORD))


async def _camera_service(hass: HomeAssistant, service: str) -> None:
    await hass.services.async_call(CAMERA_DOMAIN, service, {ATTR_ENTITY_ID: CAMERA}, blocking=True)


def _camera_attributes(hass: HomeAssistant) -> dict[str, Any]:
    state = hass.states.get(CAMERA)
    assert state is not None
    return dict(state.attributes)


def _assert_clip_saved(data: Mapping[str, Any], entry: MockConfigEntry) -> None:
    """The hearthcam_clip_saved event carries every field, and the clip is on disk."""
    assert set(data) == {
        "entry_id",
        "camera_entity_id",
        "clip_id",
        "media_content_id",
        "start",
        "duration",
        "peak_score",
    }
    coordinator = entry.runtime_data.coordinator
    assert data["entry_id"] == entry.entry_id
    assert data["camera_entity_id"] == CAMERA
    assert data["media_content_id"] == f"media-source://hearthcam/{data['clip_id']}"
    assert data["clip_id"].startswith(f"{coordinator.camera_key}/")
    assert datetime.fromisoformat(data["start"]).tzinfo is not None
    assert data["duration"] > 1.0
    assert data["peak_score"] > 0
    assert coordinator.store.resolve(data["clip_id"]).is_file()


async def test_motion_over_rtsp_saves_a_playable_clip(
    hass: HomeAssistant, tmp_path: Path, make_footage: MakeFootage, rtsp_server: Live555Server
) -> None:
    """Over a real RTSP/TCP stream (live555): motion on and off, and a clip that plays."""
    use_media_dir(hass, tmp_path / "media")
    saved: list[Event] = []
    hass.bus.async_listen(EVENT_CLIP_SAVED, saved.append)
    scene = replace(SMALL, duration_s=10.0, seed=23, objects=(walker(1.0, 3.0),))
    entry = await setup_camera(hass, rtsp_server.url(make_footage(scene).name))

    await wait_for(hass, lambda: state_of(hass, MOTION) == STATE_ON, "motion to start")
    await wait_for(hass, lambda: state_of(hass, MOTION) == STATE_OFF, "motion to end")
    await wait_for(hass, lambda: bool(saved), "hearthcam_clip_saved")
    _assert_clip_saved(saved[0].data, entry)
    path = entry.runtime_data.coordinator.store.resolve(saved[0].data["clip_id"])
    with av.open(str(path)) as clip:
        frames = sum(1 for _ in clip.decode(video=0))
    assert frames >= saved[0].data["duration"] * 15 - 2
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert hearthcam_threads() == []


async def test_entities_on_one_device(
    hass: HomeAssistant,
    tmp_path: Path,
    walker_url: str,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """Every entity has a translated name, a unique id, and belongs to the camera's device."""
    use_media_dir(hass, tmp_path / "media")
    entry = await setup_camera(hass, walker_url)

    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, entry.entry_id), entry.entry_id
    )
    assert device is not None
    assert device.name == "Front door"
    entities = er.async_entries_for_config_entry(entity_registry, entry.entry_id)
    assert {e.entity_id for e in entities} == set(NAMES) | set(TUNING)
    assert {e.device_id for e in entities} == {device.id}
    assert len({e.unique_id for e in entities}) == len(entities)
    assert all(e.unique_id.startswith(entry.entry_id) for e in entities)
    for entity_id, name in NAMES.items():
        state = hass.states.get(entity_id)
        assert state is not None, entity_id
        assert state.attributes["friendly_name"] == name
    for entity_id, key in TUNING.items():
        registry_entry = entity_registry.async_get(entity_id)
        assert registry_entry is not None
        assert registry_entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION
        assert registry_entry.translation_key == key
    stream = entity_registry.async_get(STREAM)
    assert stream is not None
    assert stream.entity_category == "diagnostic"

    assert state_of(hass, RECORDING) == STATE_ON  # on by default
    await wait_for(hass, lambda: state_of(hass, STREAM) == STATE_ON, "the stream to connect")
    assert state_of(hass, CAMERA) != STATE_UNAVAILABLE
    assert _camera_attributes(hass)["motion_detection"] is True


async def test_motion_clip_events_and_controls(
    hass: HomeAssistant,
    tmp_path: Path,
    walker_url: str,
    hass_client: ClientSessionGenerator,
) -> None:
    """Motion turns the sensor on and off and saves a clip; events, still, switches all work."""
    use_media_dir(hass, tmp_path / "media")
    saved: list[Event] = []
    hass.bus.async_listen(EVENT_CLIP_SAVED, saved.append)
    activity: list[tuple[str, dict[str, Any]]] = []

    def on_activity(event: Event) -> None:
        if event.data["entity_id"] != ACTIVITY or (new := event.data["new_state"]) is None:
            return
        old = event.data["old_state"]
        if new.attributes.get("event_type") and (old is None or old.state != new.state):
            activity.append((new.attributes["event_type"], dict(new.attributes)))

    hass.bus.async_listen("state_changed", on_activity)
    entry = await setup_camera(hass, walker_url)
    coordinator = entry.runtime_data.coordinator

    # Someone walks by: motion on, motion off, and a clip with every field.
    await wait_for(hass, lambda: state_of(hass, MOTION) == STATE_ON, "motion to start")
    await wait_for(hass, lambda: state_of(hass, MOTION) == STATE_OFF, "motion to end")
    await wait_for(hass, lambda: bool(saved), "hearthcam_clip_saved")
    data = saved[0].data
    _assert_clip_saved(data, entry)
    assert state_of(hass, LAST_CLIP) not in (None, "unknown", STATE_UNAVAILABLE)
    types = [event_type for event_type, _ in activity]
    assert types[:2] == ["motion_started", "clip_saved"]
    assert activity[1][1]["clip_id"] == data["clip_id"]
    assert activity[1][1]["media_content_id"] == data["media_content_id"]

    # The camera's still is the latest analysed frame.
    client = await hass_client()
    response = await client.get(f"/api/camera_proxy/{CAMERA}")
    assert response.status == 200
    assert (await response.read())[:2] == b"\xff\xd8"

    # Motion detection off and on again.
    await _camera_service(hass, "disable_motion_detection")
    assert _camera_attributes(hass).get("motion_detection") is None
    await _camera_service(hass, "enable_motion_detection")
    assert _camera_attributes(hass)["motion_detection"] is True

    # Turned off, the camera stops its worker and serves no still.
    await _camera_service(hass, "turn_off")
    assert hearthcam_threads() == []
    # Through a local name: mypy must not take the worker for gone once the camera is on.
    assert (stopped := coordinator.worker) is None, stopped
    assert state_of(hass, CAMERA) != STATE_UNAVAILABLE  # so that it can be turned on again
    assert state_of(hass, STREAM) == STATE_OFF
    response = await client.get(f"/api/camera_proxy/{CAMERA}")
    assert response.status == 503

    # With recording off, the next walk is detected but saves nothing. Turning the camera on
    # reconnects, and the server replays the walk from the start.
    await hass.services.async_call("switch", "turn_off", {ATTR_ENTITY_ID: RECORDING}, blocking=True)
    assert state_of(hass, RECORDING) == STATE_OFF
    clips_before = len(saved)
    await _camera_service(hass, "turn_on")
    await wait_for(hass, lambda: state_of(hass, STREAM) == STATE_ON, "the stream to reconnect")
    await wait_for(hass, lambda: state_of(hass, MOTION) == STATE_ON, "motion to start again")
    await wait_for(hass, lambda: state_of(hass, MOTION) == STATE_OFF, "motion to end again")
    # Had a clip started, its post-roll would still be recording as motion ends.
    assert coordinator.worker is not None
    assert not coordinator.worker.stats.recording
    assert coordinator.worker.stats.clips_saved == 0
    assert len(saved) == clips_before
    assert [t for t, _ in activity].count("motion_started") == 2


async def test_diagnostics_hold_no_credential(
    hass: HomeAssistant,
    tmp_path: Path,
    walker_url: str,
    hass_client: ClientSessionGenerator,
) -> None:
    """Diagnostics show options, redacted URLs and worker stats, never the password."""
    use_media_dir(hass, tmp_path / "media")
    entry: MockConfigEntry = await setup_camera(hass, walker_url)
    await wait_for(hass, lambda: state_of(hass, STREAM) == STATE_ON, "the stream to connect")

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diagnostics)
    assert AUTH_PASSWORD not in text
    assert "user:" not in text
    assert diagnostics["entry"]["data"]["stream_url"].startswith("http://**")
    assert diagnostics["options"]["sensitivity"] == 5
    assert diagnostics["runtime"]["connected"] is True
    assert diagnostics["runtime"]["worker"]["connected"] is True
    assert diagnostics["runtime"]["worker"]["source"]["packets"] > 0
    stream = diagnostics["runtime"]["worker"]["stream"]
    assert (stream["video_codec"], stream["width"], stream["height"]) == ("h264", 320, 240)

    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, entry.entry_id), entry.entry_id
    )
    assert device is not None
    device_diagnostics = await get_diagnostics_for_device(hass, hass_client, entry, device)
    assert device_diagnostics["device"]["name"] == "Front door"
    assert AUTH_PASSWORD not in json.dumps(device_diagnostics)
