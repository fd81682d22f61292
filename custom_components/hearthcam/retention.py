"""Retention: each camera's age and size limits, and free space on the disk, applied in HA.

Runs when a camera is set up, after every saved clip, and every RETENTION_INTERVAL, in the
executor; runs asked for while one is going coalesce into one more. Per camera, clips older
than its `retain_days` go, then the oldest beyond its `max_storage_gb`. Then, across cameras,
the oldest clips go while the disk has less free space than MIN_FREE; what kept clips (or
other files) leave short of that raises a repair issue, cleared once there is room again.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
import logging
import shutil
from typing import Any, Final

from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util.hass_dict import HassKey

from .coalesce import CoalescedJob
from .const import DOMAIN, EVENT_CLIP_SAVED
from .data import DATA_CLIP_STORE, camera_options
from .engine.clip_retention import RetentionPolicy
from .engine.clips import ClipStore
from .engine.errors import StorageError
from .identifiers import camera_key_for
from .options import InvalidOptionsError
from .usage import SIGNAL_STORAGE_CHANGED

_LOGGER = logging.getLogger(__name__)

DATA_RETENTION: HassKey[ClipRetention] = HassKey(f"{DOMAIN}_retention")
ISSUE_LOW_FREE_SPACE: Final = "low_free_space"
RETENTION_INTERVAL: Final = timedelta(minutes=15)
# The free space retention keeps: 1 GB, or 5 % of a smaller disk (an SD card, a test tmpfs).
MIN_FREE_BYTES: Final = 1_000_000_000
MIN_FREE_FRACTION: Final = 0.05


@dataclass(frozen=True, slots=True)
class RetentionOutcome:
    """What one run deleted and the free space it left."""

    deleted: tuple[str, ...]
    free_bytes: int
    min_free_bytes: int
    still_short_bytes: int


def min_free_bytes(total_bytes: int) -> int:
    """Return the free space to keep on a disk of this size."""
    return min(MIN_FREE_BYTES, int(total_bytes * MIN_FREE_FRACTION))


def apply_retention(
    store: ClipStore, policies: Mapping[str, RetentionPolicy], now: datetime | None = None
) -> RetentionOutcome:
    """Apply each camera's policy, then the disk's free-space minimum (blocking)."""
    deleted: list[str] = []
    for camera_key, policy in policies.items():
        deleted += store.apply_retention(policy, now, camera_key=camera_key).deleted
    minimum = min_free_bytes(_disk_usage(store)[0])
    result = store.apply_retention(RetentionPolicy(min_free_bytes=minimum), now)
    deleted += result.deleted
    return RetentionOutcome(
        deleted=tuple(deleted),
        free_bytes=_disk_usage(store)[1],
        min_free_bytes=minimum,
        still_short_bytes=result.still_short_bytes,
    )


class ClipRetention:
    """Schedules retention runs for the whole instance (one clip store, many cameras)."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        self.last_outcome: RetentionOutcome | None = None
        self._run = CoalescedJob(hass, "hearthcam retention", self._async_run_once)

    @callback
    def async_start(self) -> None:
        """Run after every saved clip and periodically, until Home Assistant stops."""
        self.hass.bus.async_listen(EVENT_CLIP_SAVED, self._async_on_clip_saved)
        async_track_time_interval(
            self.hass, self._async_on_interval, RETENTION_INTERVAL, cancel_on_shutdown=True
        )

    @callback
    def async_schedule(self) -> None:
        """Ask for a run; one already going runs once more instead."""
        self._run.async_schedule()

    @callback
    def _async_on_clip_saved(self, _event: Event[Any]) -> None:
        self.async_schedule()

    @callback
    def _async_on_interval(self, _now: datetime) -> None:
        self.async_schedule()

    async def _async_run_once(self) -> None:
        store = self.hass.data.get(DATA_CLIP_STORE)
        if store is None:
            return  # no camera has been set up: there are no clips to look after
        # Every configured camera's limits apply, running or not (one switched off, or being
        # set up right now); a removed camera's clips stay until someone deletes them, and so
        # do those of a camera whose options cannot be read (it does not run either).
        policies: dict[str, RetentionPolicy] = {}
        for entry in self.hass.config_entries.async_entries(DOMAIN):
            try:
                policies[camera_key_for(entry.entry_id)] = camera_options(entry).retention
            except InvalidOptionsError as err:
                _LOGGER.debug("No limits for the clips of %s: %s", entry.title, err)
        try:
            outcome = await self.hass.async_add_executor_job(apply_retention, store, policies)
        except StorageError as err:
            _LOGGER.warning("Retention could not run: %s", err)
            return
        self.last_outcome = outcome
        self._update_issue(store, outcome)
        if outcome.deleted:
            async_dispatcher_send(self.hass, SIGNAL_STORAGE_CHANGED)

    @callback
    def _update_issue(self, store: ClipStore, outcome: RetentionOutcome) -> None:
        if outcome.still_short_bytes <= 0:
            ir.async_delete_issue(self.hass, DOMAIN, ISSUE_LOW_FREE_SPACE)
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            ISSUE_LOW_FREE_SPACE,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_LOW_FREE_SPACE,
            translation_placeholders={
                "folder": str(store.root),
                "free": format_bytes(outcome.free_bytes),
                "minimum": format_bytes(outcome.min_free_bytes),
            },
        )


def format_bytes(size: int) -> str:
    """E.g. `512 MB`, `1.2 GB` (decimal units, as Home Assistant shows storage)."""
    for unit, factor in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= factor:
            value = size / factor
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{size} B"


def _disk_usage(store: ClipStore) -> tuple[int, int]:
    """Return the size and free space of the disk holding the store."""
    try:
        usage = shutil.disk_usage(store.root)
    except OSError as err:
        msg = f"cannot measure free space of {store.root}: {err}"
        raise StorageError(msg) from err
    return usage.total, usage.free
