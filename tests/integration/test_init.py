"""Setting up and unloading a HearthCam config entry."""

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.hearthcam.const import CONF_STREAM_URL, DOMAIN
from custom_components.hearthcam.data import CameraSettings

from .conftest import TEST_STREAM_URL


async def test_setup_and_unload(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> None:
    """An entry loads with typed runtime data and unloads cleanly."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert mock_config_entry.runtime_data.settings == CameraSettings(
        stream_url=TEST_STREAM_URL, detect_stream_url=None
    )
    assert "hunter2" not in repr(mock_config_entry.runtime_data)

    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.NOT_LOADED


async def test_setup_refuses_corrupt_stored_url(hass: HomeAssistant) -> None:
    """A stored URL that no longer validates fails setup with a translated error."""
    entry = MockConfigEntry(domain=DOMAIN, title="Broken", data={CONF_STREAM_URL: "ftp://cam/x"})
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.reason is not None
    assert "not valid" in entry.reason
