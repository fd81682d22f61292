"""Recording switch: whether motion starts clips; restored across restarts."""

from homeassistant.components.switch import SwitchEntity
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import RestoreEntity

from .coordinator import HearthCamCoordinator
from .data import HearthCamConfigEntry
from .entity import HearthCamEntity

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HearthCamConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the camera's recording switch."""
    async_add_entities([HearthCamRecordingSwitch(entry.runtime_data.coordinator)])


class HearthCamRecordingSwitch(HearthCamEntity, SwitchEntity, RestoreEntity):
    """On: motion is recorded as clips. Off: motion is still detected, nothing is saved."""

    _attr_translation_key = "recording"

    def __init__(self, coordinator: HearthCamCoordinator) -> None:
        super().__init__(coordinator, "recording")

    async def async_added_to_hass(self) -> None:
        """Restore the last state (on by default) before the worker starts."""
        await super().async_added_to_hass()
        last = await self.async_get_last_state()
        if last is not None and last.state in (STATE_ON, STATE_OFF):
            self.coordinator.async_set_recording(enabled=last.state == STATE_ON)

    @callback
    def _update_attrs(self) -> None:
        # A setting, not a reading: it can be changed while the camera is offline.
        self._attr_available = True
        self._attr_is_on = self.coordinator.recording_enabled

    async def async_turn_on(self, **kwargs: object) -> None:
        """Record motion clips."""
        self.coordinator.async_set_recording(enabled=True)

    async def async_turn_off(self, **kwargs: object) -> None:
        """Stop recording motion clips (one in progress is finished)."""
        self.coordinator.async_set_recording(enabled=False)
