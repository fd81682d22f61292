"""The feedback tuner at home: when false alarms pile up, replay them and propose a fix.

When a camera has FLAGGED_TO_TUNE or more clips marked as false alarms in the last
TUNING_PERIOD, the engine's tuner replays them and the camera's other clips of that period on
one low-priority thread (one job at a time for the whole install), and a fixable repair issue
says what it found. Nothing changes until a person applies it (repairs.py); a declined
suggestion is not proposed again. Each run and each outcome is logged in a local Store.
"""

from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
import logging
import os
import threading
from typing import Any, Final

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN, STOP_TIMEOUT_S
from .data import DATA_CLIP_STORE
from .engine.clip_info import ClipInfo, ClipName
from .engine.clips import ClipStore
from .engine.errors import EngineError, StopRequestedError
from .engine.model import Verdict
from .engine.tuner import ReplayClip, Suggestion, TuningReport, replay
from .engine.tuner_picture import zone_picture
from .identifiers import camera_key_for
from .library import async_texts
from .options import CameraOptions

_LOGGER = logging.getLogger(__name__)

DATA_TUNER: HassKey[FeedbackTuner] = HassKey(f"{DOMAIN}_tuner")
ISSUE_SUGGESTION: Final = "tuner_suggestion"
FLAGGED_TO_TUNE: Final = 3
TUNING_PERIOD: Final = timedelta(days=14)
MAX_REPLAYED_CLIPS: Final = 60  # the newest of the period: bounds one run's work
NICENESS: Final = 10  # the replay thread yields the CPU to the cameras and Home Assistant
LOG_LIMIT: Final = 200
STORE_KEY: Final = f"{DOMAIN}.tuner"
STORE_VERSION: Final = 1


def issue_id(entry_id: str) -> str:
    """Return the id of the repair issue of a camera's suggestion."""
    return f"{ISSUE_SUGGESTION}_{entry_id}"


@dataclass(frozen=True, slots=True)
class Proposal:
    """A suggestion waiting for a person: what it is and its picture."""

    entry_id: str
    camera_key: str
    suggestion: Suggestion
    picture: bytes | None


class TunerLog:
    """Suggestions, outcomes and declined changes, kept in Home Assistant's .storage."""

    def __init__(self, hass: HomeAssistant) -> None:
        self._store: Store[dict[str, Any]] = Store(
            hass, STORE_VERSION, STORE_KEY, private=True, atomic_writes=True
        )
        self._data: dict[str, Any] = {"entries": [], "declined": {}, "tuned": {}}

    async def async_load(self) -> None:
        """Read the log (an empty one the first time)."""
        if (data := await self._store.async_load()) is not None:
            self._data = {**self._data, **data}

    def entries(self, camera_key: str) -> list[dict[str, Any]]:
        """Return a camera's log entries, oldest first."""
        return [e for e in self._data["entries"] if e.get("camera") == camera_key]

    def declined(self, camera_key: str, suggestion: Suggestion) -> bool:
        """Whether a person declined this change, or much the same one, for this camera."""
        for declined in self._data["declined"].get(camera_key, []):
            zone = declined.get("ignore_zone")
            box = None if zone is None else (zone[0], zone[1], zone[2], zone[3])
            if suggestion.resembles(box, int(declined.get("sensitivity", 0))):
                return True
        return False

    def unanswered(self, camera_key: str) -> bool:
        """Whether the camera's last suggestion got neither applied nor declined."""
        entries = self.entries(camera_key)
        return bool(entries) and entries[-1]["event"] == "suggested"

    def tuned_with(self, camera_key: str) -> list[str]:
        """Return the flagged clips the camera's last run replayed."""
        tuned: list[str] = self._data["tuned"].get(camera_key, [])
        return tuned

    async def async_add(
        self,
        camera_key: str,
        event: str,
        suggestion: Suggestion | None,
        **details: object,
    ) -> None:
        """Append an entry (at most LOG_LIMIT are kept) and save."""
        entry = {
            "at": dt_util.utcnow().isoformat(),
            "camera": camera_key,
            "event": event,
            "suggestion": None if suggestion is None else suggestion.to_json(),
            **details,
        }
        self._data["entries"] = [*self._data["entries"], entry][-LOG_LIMIT:]
        await self._store.async_save(self._data)

    async def async_tuned(self, camera_key: str, flagged: list[str]) -> None:
        """Remember which flagged clips a run used, so the same set is not replayed again."""
        self._data["tuned"] = {**self._data["tuned"], camera_key: flagged}
        await self._store.async_save(self._data)

    async def async_decline(self, camera_key: str, suggestion: Suggestion) -> None:
        """Remember that this change is not wanted for this camera."""
        declined = self._data["declined"]
        change = {
            "ignore_zone": suggestion.to_json()["ignore_zone"],
            "sensitivity": suggestion.sensitivity,
        }
        self._data["declined"] = {**declined, camera_key: [*declined.get(camera_key, []), change]}
        await self._store.async_save(self._data)


class FeedbackTuner:
    """Runs tuning jobs one at a time and raises their suggestions as repair issues."""

    def __init__(self, hass: HomeAssistant, log: TunerLog) -> None:
        self.hass = hass
        self.log = log
        self.proposals: dict[str, Proposal] = {}  # entry id -> open suggestion
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._running_entry: str | None = None
        self._waiting: list[str] = []  # entry ids asked for while a job ran

    @property
    def running_entry(self) -> str | None:
        """The config entry whose clips are being replayed, if any."""
        return self._running_entry

    @property
    def thread(self) -> threading.Thread | None:
        """The running job's thread, if any."""
        return self._thread

    @callback
    def async_request(self, entry_id: str) -> None:
        """Check a camera soon: tune it if it has enough new false alarms."""
        if self._thread is not None:
            if entry_id not in self._waiting:
                self._waiting.append(entry_id)
            return
        self.hass.async_create_task(self._async_check(entry_id), eager_start=True)

    @callback
    def async_request_for_clip(self, clip_id: str) -> None:
        """Check the camera a clip just flagged as a false alarm belongs to."""
        camera = ClipName.parse(clip_id).camera
        for entry in self.hass.config_entries.async_loaded_entries(DOMAIN):
            if camera_key_for(entry.entry_id) == camera:
                self.async_request(entry.entry_id)

    async def _async_check(self, entry_id: str) -> None:
        """Start a job for the camera if its flagged clips changed since its last run."""
        entry = self.hass.config_entries.async_get_entry(entry_id)
        store = self.hass.data.get(DATA_CLIP_STORE)
        if entry is None or entry.state is not ConfigEntryState.LOADED or store is None:
            return
        camera = camera_key_for(entry_id)
        now = dt_util.utcnow()
        start = now - TUNING_PERIOD
        flagged, recent = await self.hass.async_add_executor_job(
            _period_clips, store, camera, start, now
        )
        ids = sorted(clip.clip_id for clip in flagged)
        # The same flagged clips are replayed again only when their suggestion was never
        # answered (an open issue does not survive a restart).
        if len(ids) < FLAGGED_TO_TUNE or (
            ids == self.log.tuned_with(camera)
            and (entry_id in self.proposals or not self.log.unanswered(camera))
        ):
            return
        if self._thread is not None:  # another camera's job started meanwhile
            self.async_request(entry_id)
            return
        options: CameraOptions = entry.runtime_data.options
        job = _Job(store, camera, options, flagged, recent, self._stop)
        self._stop.clear()
        self._running_entry = entry_id
        self._thread = threading.Thread(
            target=self._run, args=(entry_id, ids, job), name="hearthcam-tuner", daemon=True
        )
        self._thread.start()

    def _run(self, entry_id: str, ids: list[str], job: _Job) -> None:
        """Run the job on its thread: lower its priority, replay, hand the result back."""
        try:
            os.nice(NICENESS)  # on Linux this lowers only this thread
        except OSError:
            _LOGGER.debug("Could not lower the tuner's priority")
        report: TuningReport | None = None
        picture: bytes | None = None
        try:
            report, picture = job.run()
        except StopRequestedError:
            pass
        except Exception:  # a failed run must never block the runs after it
            _LOGGER.exception("Tuning camera %s failed", job.camera)
        if not self._stop.is_set():
            self.hass.loop.call_soon_threadsafe(
                self._finished, entry_id, ids, job.camera, report, picture
            )

    @callback
    def _finished(
        self,
        entry_id: str,
        ids: list[str],
        camera: str,
        report: TuningReport | None,
        picture: bytes | None,
    ) -> None:
        """Back on the event loop: log the run, raise the issue, start the next job."""
        self._thread = None
        self._running_entry = None
        self.hass.async_create_task(
            self._async_report(entry_id, ids, camera, report, picture), eager_start=True
        )
        waiting, self._waiting = self._waiting, []
        for waiting_entry in waiting:
            self.async_request(waiting_entry)

    async def _async_report(
        self,
        entry_id: str,
        ids: list[str],
        camera: str,
        report: TuningReport | None,
        picture: bytes | None,
    ) -> None:
        """Log the run and, for a new suggestion, raise its repair issue."""
        if report is None:
            return
        await self.log.async_tuned(camera, ids)
        suggestion = report.suggestion
        _LOGGER.info(
            "Tuner replayed %d clips (%d frames) of %s: %.2f s CPU in %.1f s, %s",
            report.clips,
            report.analysed_frames,
            camera,
            report.cpu_s,
            report.wall_s,
            "no suggestion" if suggestion is None else suggestion.key,
        )
        declined = suggestion is not None and self.log.declined(camera, suggestion)
        event = (
            "no_suggestion"
            if suggestion is None
            else "declined_before"
            if declined
            else "suggested"
        )
        await self.log.async_add(
            camera,
            event,
            suggestion,
            clips=report.clips,
            frames=report.analysed_frames,
            cpu_s=report.cpu_s,
            wall_s=report.wall_s,
        )
        entry = self.hass.config_entries.async_get_entry(entry_id)
        if suggestion is None or declined or entry is None:
            return
        self.proposals[entry_id] = Proposal(entry_id, camera, suggestion, picture)
        texts = await async_texts(self.hass)
        area = texts.format(f"area_{suggestion.area}") if suggestion.area else ""
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id(entry_id),
            is_fixable=True,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_SUGGESTION
            if suggestion.ignore_zone
            else f"{ISSUE_SUGGESTION}_sensitivity",
            translation_placeholders={
                "camera": entry.title,
                "flagged": str(suggestion.flagged),
                "from_area": str(suggestion.from_area),
                "area": area,
                "avoided": str(suggestion.avoided),
                "others": str(suggestion.others),
                "sensitivity": str(suggestion.sensitivity),
                "current_sensitivity": str(suggestion.current_sensitivity),
            },
            data={"entry_id": entry_id},
        )

    async def async_stop_entry(self, entry_id: str) -> None:
        """Stop a camera's job (within the stop budget) and drop its suggestion: it unloads."""
        self.proposals.pop(entry_id, None)
        if entry_id in self._waiting:
            self._waiting.remove(entry_id)
        if self._running_entry == entry_id:
            await self.async_stop()

    async def async_stop(self) -> None:
        """Stop the running job, waiting at most the stop budget for its thread."""
        thread = self._thread
        self._stop.set()
        if thread is not None:
            await self.hass.async_add_executor_job(thread.join, STOP_TIMEOUT_S)
        self._thread = None
        self._running_entry = None


@dataclass(frozen=True, slots=True)
class _Job:
    """What one tuning run replays, and how."""

    store: ClipStore
    camera: str
    options: CameraOptions
    flagged: list[ClipInfo]
    recent: list[ClipInfo]
    stop: threading.Event

    def run(self) -> tuple[TuningReport, bytes | None]:
        """Replay the clips (held against deletion meanwhile); draw the suggestion's picture."""
        flagged_ids = {clip.clip_id for clip in self.flagged}
        others = [clip for clip in self.recent if clip.clip_id not in flagged_ids]
        chosen = [*self.flagged, *others][:MAX_REPLAYED_CLIPS]
        with ExitStack() as held:
            clips = []
            for info in chosen:
                try:
                    held.enter_context(self.store.hold(info.clip_id))
                except EngineError:
                    continue  # deleted since it was listed
                boxes = tuple(box for _, box in info.motion_boxes)
                if info.onset_box is not None:
                    boxes = (info.onset_box, *boxes)
                clips.append(
                    ReplayClip(
                        info.clip_id,
                        self.store.resolve(info.clip_id),
                        info.clip_id in flagged_ids,
                        boxes,
                    )
                )
            report = replay(
                clips,
                self.options.detector,
                self.options.sensitivity,
                fps=self.options.analysis_fps,
                should_stop=self.stop.is_set,
            )
            picture = self._picture(report, clips)
        return report, picture

    def _picture(self, report: TuningReport, clips: list[ReplayClip]) -> bytes | None:
        """Draw the proposed zone on the newest flagged clip's picture where motion began."""
        suggestion = report.suggestion
        if suggestion is None or suggestion.ignore_zone is None:
            return None
        newest = max(self.flagged, key=lambda info: info.start)
        path = next(clip.path for clip in clips if clip.clip_id == newest.clip_id)
        at_s = newest.motion_offset_s or 0.0
        return zone_picture(path, at_s, suggestion.ignore_zone, self.options.privacy_masks)


def _period_clips(
    store: ClipStore, camera: str, start: datetime, end: datetime
) -> tuple[list[ClipInfo], list[ClipInfo]]:
    """Return the camera's flagged clips of the period, and its newest clips of it."""
    flagged = store.verdicts_between(camera, start, end, Verdict.FALSE_ALARM)
    recent = store.clips_between(camera, start, end, 0, MAX_REPLAYED_CLIPS)
    return flagged, recent


async def async_setup_tuner(hass: HomeAssistant) -> FeedbackTuner:
    """Create the install's tuner with its log loaded."""
    log = TunerLog(hass)
    await log.async_load()
    tuner = hass.data[DATA_TUNER] = FeedbackTuner(hass, log)
    return tuner
