"""Storage figures for the sensors: measured in the executor, kept here, pushed when refreshed.

Reading the store's usage waits for its lock, which a camera saving a clip may hold across disk
writes, so the event loop never reads it: the figures are measured in the executor when the
first camera is set up, after every saved clip and after every deletion (retention, actions),
and the sensors show the copy kept here.
"""

from typing import Any, Final

from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect, async_dispatcher_send
from homeassistant.helpers.singleton import singleton
from homeassistant.util.hass_dict import HassKey

from .coalesce import CoalescedJob
from .const import DOMAIN, EVENT_CLIP_SAVED
from .data import async_get_clip_store
from .engine.clip_index import StoreUsage, Usage
from .engine.clips import ClipStore

DATA_STORAGE_FIGURES: HassKey[StorageFigures] = HassKey(f"{DOMAIN}_storage_figures")
# Sent when clips were deleted (by retention or an action): the figures are stale.
SIGNAL_STORAGE_CHANGED: Final = f"{DOMAIN}_storage_changed"
# Sent when the figures were measured again.
SIGNAL_FIGURES_UPDATED: Final = f"{DOMAIN}_figures_updated"


class StorageFigures:
    """The store's usage as last measured, in total and per camera."""

    def __init__(self, hass: HomeAssistant, store: ClipStore) -> None:
        self.hass = hass
        self.store = store
        self.usage = StoreUsage(total=Usage(), cameras={})
        self._refresh = CoalescedJob(hass, "hearthcam storage figures", self.async_refresh)

    def size_bytes(self, camera_key: str) -> int:
        """Bytes the camera's clips take on disk, as last measured."""
        return self.usage.cameras.get(camera_key, Usage()).size_bytes

    async def async_refresh(self) -> None:
        """Measure again (in the executor) and tell the sensors."""
        self.usage = await self.hass.async_add_executor_job(self.store.usage)
        async_dispatcher_send(self.hass, SIGNAL_FIGURES_UPDATED)

    @callback
    def async_start(self) -> None:
        """Measure again after every saved clip and every deletion, until Home Assistant stops."""
        self.hass.bus.async_listen(EVENT_CLIP_SAVED, self._async_on_clip_saved)
        async_dispatcher_connect(self.hass, SIGNAL_STORAGE_CHANGED, self._refresh.async_schedule)

    @callback
    def _async_on_clip_saved(self, _event: Event[Any]) -> None:
        self._refresh.async_schedule()


@singleton(DATA_STORAGE_FIGURES, async_=True)
async def async_get_storage_figures(hass: HomeAssistant) -> StorageFigures:
    """Return the instance's storage figures, measured once and kept current from then on."""
    figures = StorageFigures(hass, await async_get_clip_store(hass))
    await figures.async_refresh()
    figures.async_start()
    return figures
