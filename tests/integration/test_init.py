"""Setting up, reloading, unloading and stopping a HearthCam camera with a real stream."""

from dataclasses import replace
from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, STATE_ON
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.hearthcam.clip_location import STORAGE_KEY
from custom_components.hearthcam.const import (
    CONF_ANALYSIS_FPS,
    CONF_MAX_CLIP,
    CONF_PRE_ROLL,
    CONF_SENSITIVITY,
    CONF_STREAM_URL,
    DOMAIN,
    OPEN_TIMEOUT_S,
    STALL_TIMEOUT_S,
)
from custom_components.hearthcam.data import CameraSettings
from custom_components.hearthcam.engine.motion import MotionSettings
from custom_components.hearthcam.identifiers import camera_key_for
from devkit.http_server import HttpStreamServer
from devkit.http_stream import AUTH_PASSWORD, AUTH_USER
from devkit.pytest_plugin import MakeFootage

from .camkit import (
    QUICK_OPTIONS,
    SMALL,
    hearthcam_threads,
    setup_camera,
    state_of,
    use_media_dir,
    wait_for,
)

STREAM = "binary_sensor.front_door_stream"


@pytest.fixture
def quiet_url(make_footage: MakeFootage, http_stream_server: HttpStreamServer) -> str:
    """A stream without motion that keeps flowing for the length of a test, with credentials."""
    scene = replace(SMALL, duration_s=20.0, seed=21)
    path = f"auth/ts/{make_footage(scene, '.ts').name}"
    return http_stream_server.url(path, credentials=(AUTH_USER, AUTH_PASSWORD))


async def test_setup_and_unload(hass: HomeAssistant, tmp_path: Path, quiet_url: str) -> None:
    """An entry loads with typed runtime data, connects, and unloads leaving no thread."""
    use_media_dir(hass, tmp_path / "media")
    entry = await setup_camera(hass, quiet_url)

    data = entry.runtime_data
    assert data.settings == CameraSettings(stream_url=quiet_url, detect_stream_url=None)
    assert AUTH_PASSWORD not in repr(data)
    coordinator = data.coordinator
    assert coordinator.camera_key == camera_key_for(entry.entry_id)
    assert coordinator.store.root == Path(hass.config.path(".cache", "hearthcam", "clips"))
    source = coordinator.worker_settings.source
    assert source.open_timeout_s == OPEN_TIMEOUT_S <= 4.0
    assert source.stall_timeout_s == STALL_TIMEOUT_S <= 4.0

    await coordinator_connected(hass)
    assert hearthcam_threads()

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert hearthcam_threads() == []


async def coordinator_connected(hass: HomeAssistant) -> None:
    """Wait for the stream sensor of the Front door camera to turn on."""
    await wait_for(hass, lambda: state_of(hass, STREAM) == STATE_ON, "the stream to connect")


async def test_home_assistant_stop_stops_the_worker(
    hass: HomeAssistant, tmp_path: Path, quiet_url: str
) -> None:
    """Entries are not unloaded when Home Assistant stops, so the stop event ends the worker."""
    use_media_dir(hass, tmp_path / "media")
    entry = await setup_camera(hass, quiet_url)
    await coordinator_connected(hass)

    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()

    assert hearthcam_threads() == []
    assert entry.runtime_data.coordinator.worker is None


async def test_changed_options_apply_on_reload(
    hass: HomeAssistant, tmp_path: Path, quiet_url: str
) -> None:
    """New options (as the options flow saves them before it reloads) restart the worker."""
    use_media_dir(hass, tmp_path / "media")
    entry = await setup_camera(hass, quiet_url)
    first = entry.runtime_data.coordinator.worker
    assert first is not None
    assert first.settings.analysis_fps == 5.0

    options = {**QUICK_OPTIONS, CONF_SENSITIVITY: 9, CONF_ANALYSIS_FPS: 2.0}
    hass.config_entries.async_update_entry(entry, options=options)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()

    coordinator = entry.runtime_data.coordinator
    worker = coordinator.worker
    assert worker is not None
    assert worker is not first
    assert not first.stats.running
    assert worker.settings.analysis_fps == 2.0
    assert coordinator.detector_settings == MotionSettings.for_sensitivity(9, off_delay_s=1.0)
    await coordinator_connected(hass)


async def _setup_fails(hass: HomeAssistant, url: str, options: dict[str, Any]) -> str:
    """Set up an entry that must fail permanently; return the (translated) reason."""
    entry = MockConfigEntry(
        domain=DOMAIN, title="Broken", data={CONF_STREAM_URL: url}, options=options
    )
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    reason = entry.reason
    assert isinstance(reason, str)
    assert hearthcam_threads() == []
    return reason


async def test_setup_refuses_corrupt_stored_url(hass: HomeAssistant) -> None:
    """A stored URL that no longer validates fails setup with a translated error."""
    assert "not valid" in await _setup_fails(hass, "ftp://cam/x", {})


async def test_setup_refuses_options_the_engine_cannot_use(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """A longest clip shorter than the pre-roll fails setup with a translated error."""
    use_media_dir(hass, tmp_path / "media")
    options = {CONF_PRE_ROLL: 10.0, CONF_MAX_CLIP: 5.0}
    reason = await _setup_fails(hass, "rtsp://127.0.0.1:9/x", options)
    assert "settings cannot be used" in reason


async def test_clips_in_the_media_folder_need_one(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """Clips kept in the media folder by choice, but there is none: a translated setup error."""
    hass.config.media_dirs = {}
    hass_storage[STORAGE_KEY] = {
        "version": 1,
        "key": STORAGE_KEY,
        "data": {"location": "media_folder"},
    }
    assert "no media folder" in await _setup_fails(hass, "rtsp://127.0.0.1:9/x", {})
