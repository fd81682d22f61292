"""Sensors: last clip, storage used, and diagnostic ones for tuning (rates, bitrate, score)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfDataRate, UnitOfInformation
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import HearthCamCoordinator
from .data import HearthCamConfigEntry
from .entity import HearthCamEntity
from .usage import SIGNAL_FIGURES_UPDATED

PARALLEL_UPDATES = 0

FRAMES_PER_SECOND = "fps"
LAST_CLIP = "last_clip"
STORAGE_USED = "storage_used"


@dataclass(frozen=True, kw_only=True)
class HearthCamSensorDescription(SensorEntityDescription):
    """A sensor and where its value comes from."""

    value_fn: Callable[[HearthCamCoordinator], float | datetime | None]
    needs_stream: bool = True  # unavailable while the stream is down
    storage: bool = False  # also changes when the storage figures are measured again


def _tuning(
    key: str, unit: str, value_fn: Callable[[HearthCamCoordinator], float | None]
) -> HearthCamSensorDescription:
    """Describe a noisy measurement for tuning: diagnostic and disabled by default."""
    return HearthCamSensorDescription(
        key=key,
        translation_key=key,
        native_unit_of_measurement=unit,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=value_fn,
    )


SENSORS: tuple[HearthCamSensorDescription, ...] = (
    _tuning("analysed_fps", FRAMES_PER_SECOND, lambda c: c.stats.analysed_fps),
    _tuning("motion_score", PERCENTAGE, lambda c: c.stats.motion_score),
    _tuning("stream_fps", FRAMES_PER_SECOND, lambda c: c.stats.stream_fps),
    _tuning(
        "stream_bitrate", UnitOfDataRate.KILOBITS_PER_SECOND, lambda c: c.stats.stream_bitrate_kbps
    ),
    HearthCamSensorDescription(
        key=LAST_CLIP,
        translation_key=LAST_CLIP,
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda c: c.last_clip.start if c.last_clip else None,
        needs_stream=False,
    ),
    HearthCamSensorDescription(
        key=STORAGE_USED,
        translation_key=STORAGE_USED,
        device_class=SensorDeviceClass.DATA_SIZE,
        native_unit_of_measurement=UnitOfInformation.BYTES,
        suggested_unit_of_measurement=UnitOfInformation.MEGABYTES,
        suggested_display_precision=1,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda c: c.figures.size_bytes(c.camera_key),
        needs_stream=False,
        storage=True,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HearthCamConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the camera's diagnostic sensors."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities(HearthCamSensor(coordinator, description) for description in SENSORS)


class HearthCamSensor(HearthCamEntity, SensorEntity):
    """One value of the coordinator's state."""

    entity_description: HearthCamSensorDescription

    def __init__(
        self, coordinator: HearthCamCoordinator, description: HearthCamSensorDescription
    ) -> None:
        super().__init__(coordinator, description.key)
        self.entity_description = description

    async def async_added_to_hass(self) -> None:
        """Follow the coordinator, and the storage figures for the storage sensor."""
        await super().async_added_to_hass()
        if self.entity_description.storage:
            self.async_on_remove(
                async_dispatcher_connect(
                    self.hass, SIGNAL_FIGURES_UPDATED, self._handle_coordinator_update
                )
            )

    @callback
    def _update_attrs(self) -> None:
        super()._update_attrs()
        if not self.entity_description.needs_stream:
            self._attr_available = True
        self._attr_native_value = self.entity_description.value_fn(self.coordinator)
