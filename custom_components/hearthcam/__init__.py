"""HearthCam: private, local motion cameras for Home Assistant."""

from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN
from .coordinator import HearthCamCoordinator
from .data import CameraSettings, HearthCamConfigEntry, HearthCamData, async_get_clip_store
from .engine.urls import InvalidStreamURLError
from .export import async_setup_exports
from .export_view import ExportDownloadView
from .retention import DATA_RETENTION, ClipRetention
from .services import async_setup_services
from .views import ClipFileView

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.CAMERA,
    Platform.EVENT,
    Platform.SENSOR,
    Platform.SWITCH,
]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Set up what all cameras share: actions, the clip and export views, retention, exports."""
    async_setup_services(hass)
    hass.http.register_view(ClipFileView(hass))
    hass.http.register_view(ExportDownloadView(hass))
    await async_setup_exports(hass)
    retention = hass.data[DATA_RETENTION] = ClipRetention(hass)
    retention.async_start()
    return True


async def async_setup_entry(hass: HomeAssistant, entry: HearthCamConfigEntry) -> bool:
    """Set up one camera from its config entry and start its worker.

    Changed options and connection data apply by reloading the entry: the options flow
    (OptionsFlowWithReload) and the reconfigure step do that, so there is no update listener
    (Home Assistant refuses one next to OptionsFlowWithReload).
    """
    try:
        settings = CameraSettings.from_entry(entry)
    except InvalidStreamURLError as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="invalid_stored_url",
            translation_placeholders={"error": str(err)},
        ) from err
    store = await async_get_clip_store(hass)
    try:
        coordinator = HearthCamCoordinator(hass, entry, settings, store)
    except ValueError as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="invalid_options",
            translation_placeholders={"error": str(err)},
        ) from err
    entry.runtime_data = HearthCamData(settings=settings, coordinator=coordinator)
    # Entities first: the recording switch restores its state before the worker starts.
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    coordinator.async_start()
    entry.async_on_unload(coordinator.async_stop)
    # This camera's limits apply at once (at start-up, and after its options changed).
    hass.data[DATA_RETENTION].async_schedule()
    # Config entries are not unloaded when Home Assistant stops; the worker must stop anyway.
    entry.async_on_unload(
        hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, coordinator.async_on_hass_stop)
    )
    return True


async def async_unload_entry(hass: HomeAssistant, entry: HearthCamConfigEntry) -> bool:
    """Unload one camera; the worker is stopped by the entry's on-unload callbacks."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
