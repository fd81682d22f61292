"""One camera's engine worker, bridged into Home Assistant's event loop.

The worker reports on its own threads; every callback is handed to the loop with
call_soon_threadsafe, where the coordinator keeps the camera's state, raises and clears repair
issues, fires bus events and tells its entities. It is a push coordinator: nothing polls the
camera. A short timer only copies the worker's counters for the diagnostic sensors.
"""

from collections.abc import Callable
import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
import logging
import time
from typing import Any, Final

from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.helpers.event import async_call_later, async_track_time_interval

from .const import (
    DOMAIN,
    EVENT_CLIP_SAVED,
    EVENT_TYPE_CLIP_SAVED,
    EVENT_TYPE_MOTION_STARTED,
    STOP_TIMEOUT_S,
)
from .data import CameraSettings, HearthCamConfigEntry
from .engine.clip_info import ClipInfo
from .engine.clips import ClipStore
from .engine.errors import StorageError, StorageFullError, StreamError
from .engine.motion import MotionDetector, MotionResult
from .engine.worker import CameraWorker, WorkerCallbacks
from .identifiers import camera_key_for, media_content_id
from .options import CameraOptions
from .usage import StorageFigures

_LOGGER = logging.getLogger(__name__)


ISSUE_UNREACHABLE: Final = "camera_unreachable"
ISSUE_STORAGE_FULL: Final = "storage_full"
# How long a camera may stay unreachable before a repair issue says so.
UNREACHABLE_ISSUE_DELAY: Final = timedelta(minutes=5)
# How often the diagnostic sensors copy the worker's counters.
STATS_INTERVAL: Final = timedelta(seconds=5)

type EventListener = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class StatsSnapshot:
    """The worker's counters as the diagnostic sensors show them."""

    analysed_fps: float | None = None
    motion_score: float | None = None  # percent of the analysed frame that changed
    stream_fps: float | None = None
    stream_bitrate_kbps: float | None = None


def clip_event_data(clip: ClipInfo) -> dict[str, Any]:
    """Describe a saved clip for automations (no paths, no credentials)."""
    return {
        "clip_id": clip.clip_id,
        "media_content_id": media_content_id(clip.clip_id),
        "start": clip.start.isoformat(),
        "duration": round(clip.duration_s, 3),
        "peak_score": round(clip.peak_score, 5),
    }


class HearthCamCoordinator:
    """Owns one camera's worker and keeps its state for the entities (in the event loop)."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: HearthCamConfigEntry,
        settings: CameraSettings,
        options: CameraOptions,
        *,
        store: ClipStore,
        figures: StorageFigures,
        last_clip: ClipInfo | None,
    ) -> None:
        """Prepare (nothing runs yet); last_clip is the camera's newest clip in the store."""
        self.hass = hass
        self.entry = entry
        self.settings = settings
        self.options = options
        self.store = store
        self.figures = figures
        self.camera_key = camera_key_for(entry.entry_id)
        self.worker_settings = options.worker(self.camera_key, settings)
        self.detector_settings = options.detector
        self.worker: CameraWorker | None = None
        self.camera_on = True
        self.detection_enabled = True
        self.recording_enabled = True
        self.connected = False
        self.motion = False
        self.last_result: MotionResult | None = None
        self.last_error: str | None = None
        self.last_clip = last_clip
        self.storage_full = False
        self.stats = StatsSnapshot()
        self._generation = 0  # ignores reports of a worker that was stopped since
        self._listeners: list[CALLBACK_TYPE] = []
        self._event_listeners: list[EventListener] = []
        self._unavailable_logged = False
        self._unreachable_timer: CALLBACK_TYPE | None = None
        self._stats_timer: CALLBACK_TYPE | None = None
        self._frames_seen: tuple[float, int] | None = None

    # -- for entities ------------------------------------------------------------------------

    @callback
    def async_add_listener(self, update_callback: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call update_callback whenever the state changes; returns the unsubscribe."""
        self._listeners.append(update_callback)
        return lambda: self._listeners.remove(update_callback)

    @callback
    def async_add_event_listener(self, event_callback: EventListener) -> CALLBACK_TYPE:
        """Call event_callback(event_type, data) for motion_started and clip_saved."""
        self._event_listeners.append(event_callback)
        return lambda: self._event_listeners.remove(event_callback)

    @property
    def is_recording(self) -> bool:
        """A clip is being written right now."""
        return self.worker is not None and self.worker.stats.recording

    def unique_id(self, key: str) -> str:
        """Return the unique id of this camera's entity `key`."""
        return f"{self.entry.entry_id}_{key}"

    @callback
    def _notify(self) -> None:
        for update_callback in list(self._listeners):
            update_callback()

    @callback
    def _emit(self, event_type: str, data: dict[str, Any]) -> None:
        for event_callback in list(self._event_listeners):
            event_callback(event_type, data)

    # -- control -----------------------------------------------------------------------------

    @callback
    def async_start(self) -> None:
        """Start the worker (connects in the background; nothing blocks the loop)."""
        if self.worker is not None:
            return
        self._generation += 1
        settings = dataclasses.replace(
            self.worker_settings,
            detection_enabled=self.detection_enabled,
            recording_enabled=self.recording_enabled,
        )
        self.worker = CameraWorker(
            settings,
            self.store,
            self._callbacks(self._generation),
            MotionDetector(self.detector_settings),
        )
        self.worker.start()
        self._frames_seen = None
        self._schedule_unreachable_issue()
        self._stats_timer = async_track_time_interval(
            self.hass, self._async_refresh_stats, STATS_INTERVAL, cancel_on_shutdown=True
        )

    async def async_stop(self) -> None:
        """Stop the worker and wait for its threads (bounded by the 5 s budget)."""
        worker, self.worker = self.worker, None
        self._generation += 1
        for cancel in (self._unreachable_timer, self._stats_timer):
            if cancel is not None:
                cancel()
        self._unreachable_timer = self._stats_timer = None
        if worker is None:
            return
        stopped = await self.hass.async_add_executor_job(worker.stop, STOP_TIMEOUT_S)
        if not stopped:
            _LOGGER.warning("Camera %s did not stop within %s s", self.entry.title, STOP_TIMEOUT_S)
        self.connected = self.motion = False
        self.stats = StatsSnapshot()
        self._notify()

    async def async_on_hass_stop(self, _event: Event) -> None:
        """Home Assistant is stopping: config entries are not unloaded, so stop here."""
        await self.async_stop()

    async def async_set_camera_on(self, *, on: bool) -> None:
        """Turn the camera on (start the worker) or off (stop it, nothing is analysed)."""
        self.camera_on = on
        if on:
            self.async_start()
        else:
            await self.async_stop()
            # An unreachable camera that the user switched off is no longer a problem.
            ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(ISSUE_UNREACHABLE))
        self._notify()

    @callback
    def async_set_detection(self, *, enabled: bool) -> None:
        """Turn motion detection on or off (off ends motion in progress)."""
        self.detection_enabled = enabled
        if self.worker is not None:
            self.worker.set_detection(enabled=enabled)
        self._notify()

    @callback
    def async_set_recording(self, *, enabled: bool) -> None:
        """Let motion start clips, or not."""
        self.recording_enabled = enabled
        if self.worker is not None:
            self.worker.set_recording(enabled=enabled)
        self._notify()

    # -- from the worker's threads -----------------------------------------------------------

    def _callbacks(self, generation: int) -> WorkerCallbacks:
        """Callbacks that hand each report to the event loop, tagged with the generation."""
        post = self._post
        return WorkerCallbacks(
            on_connection=lambda up, err: post(self._async_on_connection, generation, up, err),
            on_motion=lambda active, result: post(
                self._async_on_motion, generation, active, result
            ),
            on_clip=lambda clip: post(self._async_on_clip, clip),
            on_storage_error=lambda err: post(self._async_on_storage_error, err),
        )

    def _post(self, job: Callable[..., None], *args: object) -> None:
        """Run job(*args) in the event loop; called on a worker thread."""
        try:
            self.hass.loop.call_soon_threadsafe(job, *args)
        except RuntimeError:
            # The loop is closed: Home Assistant has gone, and nobody is listening.
            _LOGGER.debug("Dropped a report of camera %s after shutdown", self.camera_key)

    # -- in the event loop -------------------------------------------------------------------

    @callback
    def _async_on_connection(
        self,
        generation: int,
        connected: bool,  # noqa: FBT001 - positional through call_soon_threadsafe
        error: StreamError | None,
    ) -> None:
        if generation != self._generation:
            return
        self.connected = connected
        if connected:
            if self._unreachable_timer is not None:
                self._unreachable_timer()
                self._unreachable_timer = None
            ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(ISSUE_UNREACHABLE))
            if self._unavailable_logged:
                _LOGGER.info("Camera %s is back online", self.entry.title)
                self._unavailable_logged = False
        else:
            self.motion = False
            self.last_error = error.detail if error is not None else None
            if not self._unavailable_logged:
                # StreamError details never carry credentials (engine/errors.py).
                _LOGGER.info("Camera %s is unavailable: %s", self.entry.title, error or "error")
                self._unavailable_logged = True
            self._schedule_unreachable_issue()
        self._notify()

    @callback
    def _async_on_motion(
        self,
        generation: int,
        active: bool,  # noqa: FBT001 - positional through call_soon_threadsafe
        result: MotionResult,
    ) -> None:
        if generation != self._generation:
            return
        self.motion = active
        self.last_result = result
        if active:
            self._emit(EVENT_TYPE_MOTION_STARTED, {"score": round(result.score, 5)})
        self._notify()

    @callback
    def _async_on_clip(self, clip: ClipInfo) -> None:
        """Report a saved clip (also one finished while stopping: it is a real clip)."""
        self.last_clip = clip
        # A clip cut short by the full disk is kept (playable) and reported before the error.
        if self.storage_full and not clip.cut_short:
            self.storage_full = False
            ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(ISSUE_STORAGE_FULL))
            _LOGGER.info("Camera %s saves clips again", self.entry.title)
        data = clip_event_data(clip)
        camera_entity_id = er.async_get(self.hass).async_get_entity_id(
            Platform.CAMERA, DOMAIN, self.unique_id(Platform.CAMERA)
        )
        self.hass.bus.async_fire(
            EVENT_CLIP_SAVED,
            {"entry_id": self.entry.entry_id, "camera_entity_id": camera_entity_id, **data},
        )
        self._emit(EVENT_TYPE_CLIP_SAVED, data)
        self._notify()

    @callback
    def _async_on_storage_error(self, error: StorageError) -> None:
        if not isinstance(error, StorageFullError):
            _LOGGER.warning("Camera %s could not save a clip: %s", self.entry.title, error)
            return
        if not self.storage_full:
            self.storage_full = True
            _LOGGER.warning("Camera %s stopped recording: %s", self.entry.title, error)
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                self._issue_id(ISSUE_STORAGE_FULL),
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key=ISSUE_STORAGE_FULL,
                translation_placeholders={
                    "camera": self.entry.title,
                    "folder": str(self.store.root),
                },
            )
        self._notify()

    @callback
    def _schedule_unreachable_issue(self) -> None:
        if self._unreachable_timer is None and not self.connected:
            self._unreachable_timer = async_call_later(
                self.hass, UNREACHABLE_ISSUE_DELAY, self._async_unreachable_for_long
            )

    @callback
    def _async_unreachable_for_long(self, _now: datetime) -> None:
        self._unreachable_timer = None
        if self.connected or self.worker is None:
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._issue_id(ISSUE_UNREACHABLE),
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_UNREACHABLE,
            translation_placeholders={
                "camera": self.entry.title,
                "minutes": str(round(UNREACHABLE_ISSUE_DELAY.total_seconds() / 60)),
                "error": self.last_error or "-",
            },
        )

    @callback
    def _async_refresh_stats(self, _now: datetime) -> None:
        worker = self.worker
        if worker is None:
            return
        stats = worker.stats
        now = time.monotonic()
        analysed_fps = None
        if self._frames_seen is not None and now > self._frames_seen[0]:
            frames = stats.analysed_frames - self._frames_seen[1]
            analysed_fps = round(max(0, frames) / (now - self._frames_seen[0]), 2)
        self._frames_seen = (now, stats.analysed_frames)
        source = stats.source
        self.stats = StatsSnapshot(
            analysed_fps=analysed_fps,
            motion_score=round(stats.last_score * 100, 3) if stats.connected else None,
            stream_fps=round(source.fps, 2) if source and source.fps is not None else None,
            stream_bitrate_kbps=(
                round(source.bitrate_bps / 1000, 1)
                if source and source.bitrate_bps is not None
                else None
            ),
        )
        self._notify()

    def _issue_id(self, kind: str) -> str:
        return f"{kind}_{self.entry.entry_id}"

    def diagnostics(self) -> dict[str, Any]:
        """Runtime state for diagnostics (callers redact; nothing here holds a URL)."""
        worker = self.worker
        stats = worker.stats if worker is not None else None
        return {
            "camera_key": self.camera_key,
            "camera_on": self.camera_on,
            "detection_enabled": self.detection_enabled,
            "recording_enabled": self.recording_enabled,
            "connected": self.connected,
            "motion": self.motion,
            "storage_full": self.storage_full,
            "last_error": self.last_error,
            "last_clip": clip_event_data(self.last_clip) if self.last_clip else None,
            "detector": dataclasses.asdict(self.detector_settings),
            "stats": dataclasses.asdict(self.stats),
            "worker": dataclasses.asdict(stats) if stats is not None else None,
        }
