"""The logbook entry of an export, read back from a real (in-memory) recorder."""

from datetime import timedelta
from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockUser
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import (
    RecorderInstanceContextManager,
    WebSocketGenerator,
)

from .exportkit import call, camera_with_clip, export_data
from .librarykit import clip_mp4

__all__ = ["clip_mp4"]


@pytest.fixture
async def mock_recorder_before_hass(async_test_recorder: RecorderInstanceContextManager) -> None:
    """Prepare the recorder's database before Home Assistant starts (the recorder needs it)."""


@pytest.mark.usefixtures("recorder_mock")
async def test_the_logbook_shows_each_export(
    hass: HomeAssistant,
    tmp_path: Path,
    clip_mp4: Path,
    hass_admin_user: MockUser,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """The logbook describes hearthcam_clip_exported: which camera, why, by whom."""
    assert await async_setup_component(hass, "logbook", {})
    _, _, info = await camera_with_clip(hass, tmp_path, clip_mp4)
    ws = await hass_ws_client(hass)
    since = dt_util.utcnow() - timedelta(minutes=1)
    result = await call(hass, "export_clip", export_data(info.clip_id), hass_admin_user)
    await async_wait_recording_done(hass)

    await ws.send_json_auto_id({"type": "logbook/get_events", "start_time": since.isoformat()})
    reply = await ws.receive_json()
    assert reply["success"], reply
    entries = [e for e in reply["result"] if e.get("domain") == "hearthcam"]
    assert len(entries) == 1
    assert entries[0]["name"] == "HearthCam"
    assert entries[0]["message"] == (
        f"exported a clip from Front door for: false alarms at night (export {result['export_id']})"
    )
    assert entries[0]["context_user_id"] == hass_admin_user.id
