"""HearthCam: private, local motion cameras for Home Assistant."""

from functools import partial

from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN
from .coordinator import HearthCamCoordinator
from .data import CameraSettings, HearthCamConfigEntry, HearthCamData
from .engine.errors import InvalidStreamURLError
from .exports import async_setup_exports
from .identifiers import camera_key_for
from .library import newest_clip
from .location_action import async_setup_location_action
from .migration import async_migrate
from .options import CameraOptions, InvalidOptionsError
from .repairs import TunerPictureView
from .retention import DATA_RETENTION, ClipRetention
from .services import async_setup_services
from .tuning import DATA_TUNER, async_setup_tuner
from .usage import async_get_storage_figures
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
    """Set up what all cameras share: actions, the clip view, retention, exports."""
    async_setup_services(hass)
    async_setup_location_action(hass)
    hass.http.register_view(ClipFileView(hass))
    await async_setup_exports(hass)
    retention = hass.data[DATA_RETENTION] = ClipRetention(hass)
    retention.async_start()
    tuner = await async_setup_tuner(hass)
    hass.http.register_view(TunerPictureView(hass))

    async def _async_stop_tuner(_event: Event) -> None:
        await tuner.async_stop()

    hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, _async_stop_tuner)
    return True


async def async_migrate_entry(hass: HomeAssistant, entry: HearthCamConfigEntry) -> bool:
    """Bring an entry saved by an older version up to date (older unique ids held secrets)."""
    return async_migrate(hass, entry)


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
    try:
        options = CameraOptions.from_entry(entry)
    except InvalidOptionsError as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="invalid_options",
            translation_placeholders={"error": str(err)},
        ) from err
    figures = await async_get_storage_figures(hass)
    store = figures.store
    # The newest clip is looked up in the executor: the store's lock may be busy with a write.
    last_clip = await hass.async_add_executor_job(
        newest_clip, store, camera_key_for(entry.entry_id)
    )
    coordinator = HearthCamCoordinator(
        hass, entry, settings, options, store=store, figures=figures, last_clip=last_clip
    )
    entry.runtime_data = HearthCamData(settings=settings, options=options, coordinator=coordinator)
    # Entities first: the recording switch restores its state before the worker starts.
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    coordinator.async_start()
    entry.async_on_unload(coordinator.async_stop)
    # A tuning job of this camera stops with it; flags set before a restart are looked at now.
    tuner = hass.data[DATA_TUNER]
    entry.async_on_unload(partial(tuner.async_stop_entry, entry.entry_id))
    tuner.async_request(entry.entry_id)
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
