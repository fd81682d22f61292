"""Typed runtime data of a HearthCam config entry, and the clip store shared by all cameras."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers.singleton import singleton
from homeassistant.util.hass_dict import HassKey

from .clip_location import async_clip_root
from .const import CONF_DETECT_STREAM_URL, CONF_STREAM_URL, DOMAIN
from .engine.clips import ClipStore
from .engine.errors import StorageError
from .engine.urls import parse_stream_url, redact_url
from .options import CameraOptions

if TYPE_CHECKING:
    from .coordinator import HearthCamCoordinator

type HearthCamConfigEntry = ConfigEntry[HearthCamData]

# One clip store per Home Assistant instance: every camera records into it, and the media
# source and actions read from it.
DATA_CLIP_STORE: HassKey[ClipStore] = HassKey(f"{DOMAIN}_clip_store")


@dataclass(frozen=True, slots=True)
class CameraSettings:
    """One camera's connection settings, validated."""

    stream_url: str
    detect_stream_url: str | None

    @classmethod
    def from_entry(cls, entry: ConfigEntry) -> CameraSettings:
        """Read and validate the settings stored in a config entry."""
        detect = entry.data.get(CONF_DETECT_STREAM_URL)
        return cls(
            stream_url=parse_stream_url(str(entry.data.get(CONF_STREAM_URL, ""))),
            detect_stream_url=parse_stream_url(detect) if detect else None,
        )

    def __repr__(self) -> str:
        # Dataclass repr would print credentials into any log or traceback that shows us.
        detect = redact_url(self.detect_stream_url) if self.detect_stream_url else None
        return f"CameraSettings(stream_url={redact_url(self.stream_url)!r}, detect={detect!r})"


@dataclass(slots=True)
class HearthCamData:
    """What a loaded camera entry keeps at runtime."""

    settings: CameraSettings
    options: CameraOptions
    coordinator: HearthCamCoordinator


def camera_options(entry: HearthCamConfigEntry) -> CameraOptions:
    """Return a camera's options: those it runs with if loaded, else read now.

    Raises InvalidOptionsError for options of a camera that is not loaded because of them.
    """
    if entry.state is ConfigEntryState.LOADED:
        return entry.runtime_data.options
    return CameraOptions.from_entry(entry)


@singleton(DATA_CLIP_STORE, async_=True)
async def async_get_clip_store(hass: HomeAssistant) -> ClipStore:
    """Return the instance's clip store, loaded (index rebuilt, leftovers recovered) once.

    Clips left in the place not chosen (clip_location.py) are moved in before it loads.
    """
    store = ClipStore(await async_clip_root(hass))
    try:
        await hass.async_add_executor_job(store.load)
    except StorageError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="clip_store_unavailable",
            translation_placeholders={"error": str(err)},
        ) from err
    return store
