"""The camera entity: stills and live view from the analysed frames, the raw stream on request."""

from aiohttp import web
from homeassistant.components.camera import Camera
from homeassistant.components.camera.const import CameraEntityFeature
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import HearthCamCoordinator
from .data import HearthCamConfigEntry
from .entity import HearthCamEntity
from .live_view import async_live_response

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HearthCamConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the camera entity."""
    async_add_entities([HearthCamCamera(entry.runtime_data.coordinator)])


class HearthCamCamera(HearthCamEntity, Camera):
    """One HearthCam camera; named after its device.

    Its live view is HearthCam's own MJPEG with privacy masks applied. Only when the camera's
    options share the raw stream does it offer STREAM (HLS/WebRTC, camera.record, play_stream);
    otherwise it has no stream source, so Home Assistant refuses those.
    """

    _attr_name = None

    def __init__(self, coordinator: HearthCamCoordinator) -> None:
        super().__init__(coordinator, "camera")
        self._attr_supported_features = CameraEntityFeature.ON_OFF
        if coordinator.options.share_raw_stream:
            self._attr_supported_features |= CameraEntityFeature.STREAM

    @callback
    def _update_attrs(self) -> None:
        coordinator = self.coordinator
        # A camera switched off stays available, so that it can be switched on again.
        self._attr_available = coordinator.connected or not coordinator.camera_on
        self._attr_is_on = coordinator.camera_on
        self._attr_motion_detection_enabled = coordinator.detection_enabled
        self._attr_is_recording = coordinator.is_recording

    async def stream_source(self) -> str | None:
        """Return the raw stream's URL, credentials included, only if the options share it."""
        coordinator = self.coordinator
        if not (coordinator.options.share_raw_stream and coordinator.camera_on):
            return None
        return coordinator.settings.stream_url

    async def handle_async_mjpeg_stream(self, request: web.Request) -> web.StreamResponse | None:
        """Serve the live view from the analysed frames, privacy masks applied."""
        return await async_live_response(self.hass, request, self.coordinator)

    async def async_camera_image(
        self,
        width: int | None = None,
        height: int | None = None,  # unused: the aspect ratio follows from width
    ) -> bytes | None:
        """Return the latest analysed frame as JPEG: no second connection to the camera."""
        worker = self.coordinator.worker
        if worker is None:
            return None
        return await self.hass.async_add_executor_job(worker.snapshot_jpeg, width)

    async def async_turn_on(self) -> None:
        """Start streaming and analysing."""
        await self.coordinator.async_set_camera_on(on=True)

    async def async_turn_off(self) -> None:
        """Stop streaming, analysing and recording."""
        await self.coordinator.async_set_camera_on(on=False)

    async def async_enable_motion_detection(self) -> None:
        """Analyse frames for motion."""
        self.coordinator.async_set_detection(enabled=True)

    async def async_disable_motion_detection(self) -> None:
        """Stop analysing; motion in progress ends."""
        self.coordinator.async_set_detection(enabled=False)
