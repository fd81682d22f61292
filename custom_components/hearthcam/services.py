"""Actions on clips: delete (administrators), keep from retention, mark, record on request.

The export actions are in exports/actions.py.
"""

from collections.abc import Callable
import functools
import logging
from typing import Final

from homeassistant.auth.permissions.const import POLICY_CONTROL
from homeassistant.components.camera.const import DOMAIN as CAMERA_DOMAIN
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, ENTITY_MATCH_ALL
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import Unauthorized, UnknownUser
from homeassistant.helpers import config_validation as cv, entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.service import async_register_admin_service
from homeassistant.helpers.target import TargetSelection, async_extract_referenced_entity_ids
from homeassistant.util import dt as dt_util
import probatio

from .action_errors import MAX_ECHO, action_error, translated_errors
from .const import ATTR_CLIP_ID, DOMAIN
from .coordinator import HearthCamCoordinator
from .data import DATA_CLIP_STORE, HearthCamConfigEntry
from .engine.clips import ClipStore
from .engine.model import Verdict
from .engine.worker import CameraWorker
from .identifiers import clip_id_from_user
from .tuning import DATA_TUNER
from .usage import SIGNAL_STORAGE_CHANGED

_LOGGER = logging.getLogger(__name__)

SERVICE_DELETE_CLIP: Final = "delete_clip"
SERVICE_KEEP_CLIP: Final = "keep_clip"
SERVICE_RECORD_CLIP: Final = "record_clip"
SERVICE_MARK_CLIP: Final = "mark_clip"
ATTR_VERDICT: Final = "verdict"
# The verdict that clears what was said before.
VERDICT_NONE: Final = "none"
VERDICTS: Final[dict[str, Verdict | None]] = {
    **{verdict.value: verdict for verdict in Verdict},
    VERDICT_NONE: None,
}
ATTR_KEEP: Final = "keep"
ATTR_DURATION: Final = "duration"
# Recording on request is for what is happening now, not for surveillance by the hour: five
# minutes covers a visitor at the door or a delivery, and what one call can write stays small
# (about 75 MB at a 2 Mbit/s main stream). services.yaml's selector shows the same maximum.
MAX_RECORD_SECONDS: Final = 300.0

_CLIP_SCHEMA: Final = probatio.Schema({probatio.Required(ATTR_CLIP_ID): cv.string})
_KEEP_SCHEMA: Final = probatio.Schema(
    {
        probatio.Required(ATTR_CLIP_ID): cv.string,
        probatio.Optional(ATTR_KEEP, default=True): cv.boolean,
    }
)
# The verdict is checked by the action itself, so an unknown one gets a translated error.
_MARK_SCHEMA: Final = probatio.Schema(
    {
        probatio.Required(ATTR_CLIP_ID): cv.string,
        probatio.Required(ATTR_VERDICT): cv.string,
    }
)
_RECORD_SCHEMA: Final = cv.make_entity_service_schema(
    {
        probatio.Required(ATTR_DURATION): probatio.All(
            probatio.Coerce(float), probatio.Range(min=1.0, max=MAX_RECORD_SECONDS)
        )
    }
)


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register HearthCam's actions (once, from async_setup)."""
    async_register_admin_service(
        hass, DOMAIN, SERVICE_DELETE_CLIP, _async_delete_clip, schema=_CLIP_SCHEMA
    )
    hass.services.async_register(DOMAIN, SERVICE_KEEP_CLIP, _async_keep_clip, schema=_KEEP_SCHEMA)
    hass.services.async_register(
        DOMAIN, SERVICE_RECORD_CLIP, _async_record_clip, schema=_RECORD_SCHEMA
    )
    hass.services.async_register(DOMAIN, SERVICE_MARK_CLIP, _async_mark_clip, schema=_MARK_SCHEMA)


async def _async_delete_clip(call: ServiceCall) -> None:
    """Delete a clip's files for good."""
    store, clip_id = _store_and_clip(call)
    await _async_change(call.hass, clip_id, store.delete, clip_id)
    _LOGGER.info("Clip %s deleted by user %s", clip_id, call.context.user_id or "(automation)")


async def _async_keep_clip(call: ServiceCall) -> None:
    """Protect a clip from retention, or release it again (an administrator's: administrators).

    A call without a user (an automation, which only administrators write) counts as an
    administrator's, as for Home Assistant's own administrator actions.
    """
    store, clip_id = _store_and_clip(call)
    user_id = call.context.user_id
    admin = True
    if user_id:
        user = await call.hass.auth.async_get_user(user_id)
        if user is None:
            raise UnknownUser(context=call.context)
        admin = user.is_admin
    keep = functools.partial(store.set_kept, user_id=user_id, admin=admin)
    await _async_change(call.hass, clip_id, keep, clip_id, call.data[ATTR_KEEP])


async def _async_mark_clip(call: ServiceCall) -> None:
    """Say whether a clip was a false alarm or correct, or take that back; it stays local."""
    raw = call.data[ATTR_VERDICT]
    if raw not in VERDICTS:
        raise action_error(
            key="invalid_verdict", verdict=str(raw)[:MAX_ECHO], allowed=", ".join(VERDICTS)
        )
    store, clip_id = _store_and_clip(call)
    await async_mark_clip(call.hass, store, clip_id, VERDICTS[raw])


async def async_mark_clip(
    hass: HomeAssistant, store: ClipStore, clip_id: str, verdict: Verdict | None
) -> None:
    """Store a verdict with a clip (the action and the options flow share this)."""
    await _async_change(hass, clip_id, store.set_verdict, clip_id, verdict, dt_util.utcnow())
    _LOGGER.info("Clip %s marked %s", clip_id, verdict or VERDICT_NONE)
    if verdict is Verdict.FALSE_ALARM and (tuner := hass.data.get(DATA_TUNER)) is not None:
        tuner.async_request_for_clip(clip_id)


async def _async_record_clip(call: ServiceCall) -> None:
    """Record a clip of `duration` seconds, pre-roll included, on each targeted camera."""
    coordinators = await _async_target_cameras(call)
    duration = float(call.data[ATTR_DURATION])
    # Checked for all first, so that one camera offline (or recording on request already)
    # records nothing rather than some. Nothing is awaited from here on, so no other call
    # can start a recording in between.
    workers: list[tuple[str, CameraWorker]] = []
    for coordinator in coordinators:
        camera = coordinator.entry.title
        if coordinator.worker is None or not coordinator.connected:
            raise action_error(key="camera_not_streaming", invalid=False, camera=camera)
        if coordinator.worker.manual_recording:
            raise action_error(key="recording_in_progress", camera=camera)
        workers.append((camera, coordinator.worker))
    for camera, worker in workers:
        with translated_errors(otherwise="record_failed", camera=camera):
            worker.record(duration)


def _store_and_clip(call: ServiceCall) -> tuple[ClipStore, str]:
    """Return the store and the clip id the call names (a clip id or its media-source id)."""
    store = call.hass.data.get(DATA_CLIP_STORE)
    if store is None or not call.hass.config_entries.async_loaded_entries(DOMAIN):
        raise action_error(key="not_loaded")
    raw = call.data[ATTR_CLIP_ID]
    with translated_errors(otherwise="invalid_clip_id", clip_id=str(raw)):
        return store, clip_id_from_user(raw)


async def _async_change[*Args](
    hass: HomeAssistant, clip_id: str, change: Callable[[*Args], object], *args: *Args
) -> None:
    """Run a change of the store in the executor, translating what can go wrong."""
    with translated_errors(otherwise="clip_storage_error", clip_id=clip_id):
        await hass.async_add_executor_job(change, *args)
    async_dispatcher_send(hass, SIGNAL_STORAGE_CHANGED)


async def _async_target_cameras(call: ServiceCall) -> list[HearthCamCoordinator]:
    """Return the coordinators of the HearthCam cameras a call targets, checking permissions.

    An entity named explicitly must be a HearthCam camera; devices and areas contribute the
    HearthCam cameras among their entities.
    """
    hass = call.hass
    registry = er.async_get(hass)
    if call.data.get(ATTR_ENTITY_ID) == ENTITY_MATCH_ALL:
        explicit: set[str] = set()
        indirect = {e.entity_id for e in registry.entities.values() if _is_our_camera(e)}
    else:
        selected = async_extract_referenced_entity_ids(hass, TargetSelection(call.data))
        explicit, indirect = selected.referenced, selected.indirectly_referenced
    coordinators: dict[str, HearthCamCoordinator] = {}
    for entity_id in sorted(explicit | indirect):
        entry = registry.async_get(entity_id)
        coordinator = _coordinator_of(hass, entry) if entry and _is_our_camera(entry) else None
        if coordinator is None:
            if entity_id in explicit:
                raise action_error(key="not_a_hearthcam_camera", entity_id=entity_id)
            continue
        await _async_check_control(call, entity_id)
        coordinators[coordinator.entry.entry_id] = coordinator
    if not coordinators:
        raise action_error(key="no_camera_targeted")
    return list(coordinators.values())


def _is_our_camera(entry: er.RegistryEntry) -> bool:
    return entry.platform == DOMAIN and entry.domain == CAMERA_DOMAIN


def _coordinator_of(hass: HomeAssistant, entry: er.RegistryEntry) -> HearthCamCoordinator | None:
    """Return the coordinator of a camera's registry entry, if its entry is loaded."""
    if entry.config_entry_id is None:
        return None
    config_entry: HearthCamConfigEntry | None = hass.config_entries.async_get_entry(
        entry.config_entry_id
    )
    if config_entry is None or config_entry.state is not ConfigEntryState.LOADED:
        return None
    return config_entry.runtime_data.coordinator


async def _async_check_control(call: ServiceCall, entity_id: str) -> None:
    """Refuse users who may not control the camera (what entity actions check too)."""
    if not call.context.user_id:
        return
    user = await call.hass.auth.async_get_user(call.context.user_id)
    if user is None:
        raise UnknownUser(context=call.context)
    if not user.is_admin and not user.permissions.check_entity(entity_id, POLICY_CONTROL):
        raise Unauthorized(context=call.context, entity_id=entity_id, permission=POLICY_CONTROL)
