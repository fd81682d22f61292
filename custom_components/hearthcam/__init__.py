"""HearthCam: private, local motion cameras for Home Assistant."""

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN
from .data import CameraSettings, HearthCamConfigEntry, HearthCamData
from .engine.urls import InvalidStreamURLError

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

# Entity platforms arrive with the camera worker; the list is the single place to add them.
PLATFORMS: list[Platform] = []


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:  # noqa: ARG001
    """Set up HearthCam's domain-wide parts (actions arrive here, per action-setup)."""
    return True


async def async_setup_entry(hass: HomeAssistant, entry: HearthCamConfigEntry) -> bool:
    """Set up one camera from its config entry."""
    try:
        settings = CameraSettings.from_entry(entry)
    except InvalidStreamURLError as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="invalid_stored_url",
            translation_placeholders={"error": str(err)},
        ) from err
    entry.runtime_data = HearthCamData(settings=settings)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: HearthCamConfigEntry) -> bool:
    """Unload one camera."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
