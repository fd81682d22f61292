"""Motion and stream connectivity of each camera."""

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import HearthCamCoordinator
from .data import HearthCamConfigEntry
from .entity import HearthCamEntity

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HearthCamConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the camera's motion and connectivity sensors."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities([HearthCamMotionSensor(coordinator), HearthCamStreamSensor(coordinator)])


class HearthCamMotionSensor(HearthCamEntity, BinarySensorEntity):
    """On while the detector sees motion; unavailable while the stream is down."""

    _attr_device_class = BinarySensorDeviceClass.MOTION
    _attr_translation_key = "motion"

    def __init__(self, coordinator: HearthCamCoordinator) -> None:
        super().__init__(coordinator, "motion")

    @callback
    def _update_attrs(self) -> None:
        super()._update_attrs()
        self._attr_is_on = self.coordinator.motion


class HearthCamStreamSensor(HearthCamEntity, BinarySensorEntity):
    """On while the camera's stream is connected; always available, so outages show."""

    _attr_device_class = BinarySensorDeviceClass.CONNECTIVITY
    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_translation_key = "stream"

    def __init__(self, coordinator: HearthCamCoordinator) -> None:
        super().__init__(coordinator, "stream")

    @callback
    def _update_attrs(self) -> None:
        self._attr_available = True
        self._attr_is_on = self.coordinator.connected
