"""Base of HearthCam's entities: one device per camera, pushed updates from the coordinator."""

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity

from .const import DOMAIN
from .coordinator import HearthCamCoordinator


class HearthCamEntity(Entity):
    """An entity of one camera's device, updated whenever its coordinator's state changes."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, coordinator: HearthCamCoordinator, key: str) -> None:
        super().__init__()
        self.coordinator = coordinator
        entry = coordinator.entry
        self._attr_unique_id = coordinator.unique_id(key)
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.entry_id)},
            name=entry.title,
            manufacturer="HearthCam",
            model="Network camera",
        )

    async def async_added_to_hass(self) -> None:
        """Follow the coordinator from now on."""
        await super().async_added_to_hass()
        self.async_on_remove(self.coordinator.async_add_listener(self._handle_coordinator_update))
        self._update_attrs()

    @callback
    def _handle_coordinator_update(self) -> None:
        self._update_attrs()
        self.async_write_ha_state()

    @callback
    def _update_attrs(self) -> None:
        """Copy the coordinator's state into the entity's attributes (default: availability)."""
        self._attr_available = self.coordinator.connected
