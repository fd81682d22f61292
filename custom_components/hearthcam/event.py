"""Event entity: motion started and clip saved, for automations and the logbook."""

from typing import Any

from homeassistant.components.event import EventEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import EVENT_TYPE_CLIP_SAVED, EVENT_TYPE_MOTION_STARTED
from .coordinator import HearthCamCoordinator
from .data import HearthCamConfigEntry
from .entity import HearthCamEntity

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HearthCamConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the camera's event entity."""
    async_add_entities([HearthCamActivityEvent(entry.runtime_data.coordinator)])


class HearthCamActivityEvent(HearthCamEntity, EventEntity):
    """Fires motion_started and clip_saved (with the clip's id and media id)."""

    _attr_event_types = [EVENT_TYPE_MOTION_STARTED, EVENT_TYPE_CLIP_SAVED]  # noqa: RUF012
    _attr_translation_key = "activity"

    def __init__(self, coordinator: HearthCamCoordinator) -> None:
        super().__init__(coordinator, "activity")

    async def async_added_to_hass(self) -> None:
        """Listen to the coordinator's events too."""
        await super().async_added_to_hass()
        self.async_on_remove(self.coordinator.async_add_event_listener(self._handle_event))

    @callback
    def _update_attrs(self) -> None:
        # A clip finished after the stream dropped is still reported: always available.
        self._attr_available = True

    @callback
    def _handle_event(self, event_type: str, data: dict[str, Any]) -> None:
        self._trigger_event(event_type, data)
        self.async_write_ha_state()
