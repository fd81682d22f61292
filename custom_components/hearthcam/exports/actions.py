"""The export actions, for administrators: export_clip, export_download_link and the rest.

export_clip is consent-gated; list_exports and delete_export manage what exists.

Every refusal happens before anything is written: no bundle, no audit record, no notification.
An export needs a person behind the call, asking now (person.py: no automation, no system user,
no script that waited), consent given as `true` itself, a reason, a camera whose options allow
exports, an existing clip and, if trimmed, a window inside it. Download links are minted for
the person who asks, used once and live ten minutes (links.py); list_exports hands out none.
"""

from collections.abc import Mapping
import dataclasses
import math
from typing import Any, Final, cast

from homeassistant.const import __version__ as ha_version
from homeassistant.core import (
    Context,
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import async_register_admin_service
from homeassistant.loader import async_get_integration
import probatio

from ..action_errors import action_error, translated_errors
from ..const import ATTR_CLIP_ID, DOMAIN
from ..data import DATA_CLIP_STORE, HearthCamConfigEntry, camera_options
from ..engine.clip_info import ClipInfo, ClipName
from ..engine.export_folder import check_export_id
from ..engine.redact import RedactOptions
from ..identifiers import camera_key_for, clip_id_from_user
from ..options import CameraOptions
from .manager import DATA_EXPORTS, ExportManager, ExportRequest
from .person import async_person_behind

SERVICE_EXPORT_CLIP: Final = "export_clip"
SERVICE_LIST_EXPORTS: Final = "list_exports"
SERVICE_DELETE_EXPORT: Final = "delete_export"
SERVICE_EXPORT_DOWNLOAD_LINK: Final = "export_download_link"
ATTR_CONSENT: Final = "consent"
ATTR_REASON: Final = "reason"
ATTR_INCLUDE_AUDIO: Final = "include_audio"
ATTR_APPLY_PRIVACY_MASKS: Final = "apply_privacy_masks"
ATTR_START_OFFSET: Final = "start_offset"
ATTR_END_OFFSET: Final = "end_offset"
ATTR_EXPORT_ID: Final = "export_id"
MAX_REASON_LENGTH: Final = 500
# A trim may end this far past the clip's recorded length (its last frame's duration).
TRIM_TOLERANCE_S: Final = 0.25
MIN_TRIM_S: Final = 0.1

EXPORT_SCHEMA: Final = probatio.Schema(
    {
        probatio.Required(ATTR_CLIP_ID): cv.string,
        # Taken as given and checked to be `true` itself: "yes" or 1 is not consent.
        probatio.Optional(ATTR_CONSENT, default=False): cv.match_all,
        probatio.Optional(ATTR_REASON, default=""): cv.string,
        probatio.Optional(ATTR_INCLUDE_AUDIO, default=False): cv.boolean,
        probatio.Optional(ATTR_APPLY_PRIVACY_MASKS, default=True): cv.boolean,
        probatio.Optional(ATTR_START_OFFSET): probatio.Coerce(float),
        probatio.Optional(ATTR_END_OFFSET): probatio.Coerce(float),
    }
)
_DELETE_SCHEMA: Final = probatio.Schema({probatio.Required(ATTR_EXPORT_ID): cv.string})


@callback
def async_setup_export_services(hass: HomeAssistant) -> None:
    """Register the export actions (administrators only)."""
    async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_EXPORT_CLIP,
        _async_export_clip,
        schema=EXPORT_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_LIST_EXPORTS,
        _async_list_exports,
        schema=probatio.Schema({}),
        supports_response=SupportsResponse.ONLY,
    )
    async_register_admin_service(
        hass, DOMAIN, SERVICE_DELETE_EXPORT, _async_delete_export, schema=_DELETE_SCHEMA
    )
    async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_EXPORT_DOWNLOAD_LINK,
        _async_export_download_link,
        schema=_DELETE_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )


async def _async_export_clip(call: ServiceCall) -> ServiceResponse:
    """Export one clip as a bundle, after every check, and tell the household."""
    return cast("ServiceResponse", await async_export(call.hass, call.context, call.data))


async def async_export(
    hass: HomeAssistant, context: Context, data: Mapping[str, Any]
) -> dict[str, Any]:
    """Export a clip for the person behind context; data as EXPORT_SCHEMA validated it.

    Returns the action's response, with a single-use download link for that person.
    """
    user = await async_person_behind(hass, context)
    if data[ATTR_CONSENT] is not True:
        raise action_error(key="consent_required")
    reason = " ".join(data[ATTR_REASON].split())
    if not reason:
        raise action_error(key="reason_required")
    if len(reason) > MAX_REASON_LENGTH:
        raise action_error(key="reason_too_long", maximum=str(MAX_REASON_LENGTH))
    raw = data[ATTR_CLIP_ID]
    with translated_errors(otherwise="invalid_clip_id", clip_id=str(raw)):
        clip_id = clip_id_from_user(raw)
    store = hass.data.get(DATA_CLIP_STORE)
    manager = hass.data.get(DATA_EXPORTS)
    if store is None or manager is None:
        raise action_error(key="not_loaded")
    entry, options = camera_allowing_exports(hass, ClipName.parse(clip_id).camera)
    # In the executor: the store's lock may be held by a camera writing a clip.
    with translated_errors(otherwise="clip_storage_error", clip_id=clip_id):
        clip = await hass.async_add_executor_job(store.get, clip_id)
    request = ExportRequest(
        store=store,
        clip=clip,
        camera_name=entry.title,
        user=user,
        reason=reason,
        options=redact_options(data, options, clip),
        masks_configured=len(options.privacy_masks),
        lifetime=options.export_lifetime,
        detection_settings=dataclasses.asdict(options.detector),
        software={
            "hearthcam": str((await async_get_integration(hass, DOMAIN)).version),
            "home_assistant": ha_version,
        },
    )
    export, bundle = await manager.async_export(request, context)
    link = manager.async_download_link(export["export_id"], user)
    return {
        "export_id": export["export_id"],
        "download_url": link.url,
        "download_url_expires_at": link.expires_at.isoformat(),
        "sha256": export["sha256"],
        "size_bytes": export["size_bytes"],
        "expires_at": export["expires_at"],
        "redactions": list(bundle.redactions),
    }


def camera_allowing_exports(
    hass: HomeAssistant, camera_key: str
) -> tuple[HearthCamConfigEntry, CameraOptions]:
    """Return the camera's config entry and options if they allow exports (off by default).

    Options that cannot be read refuse too: never export without the camera's privacy masks.
    """
    entry: HearthCamConfigEntry | None = next(
        (
            e
            for e in hass.config_entries.async_entries(DOMAIN)
            if camera_key_for(e.entry_id) == camera_key
        ),
        None,
    )
    # A removed camera's clips have no options left to allow anything.
    if entry is None:
        raise action_error(key="exports_not_allowed", camera=camera_key)
    with translated_errors(otherwise="invalid_options"):
        options = camera_options(entry)
    if not options.allow_exports:
        raise action_error(key="exports_not_allowed", camera=entry.title)
    return entry, options


def redact_options(
    data: Mapping[str, Any], options: CameraOptions, clip: ClipInfo
) -> RedactOptions:
    """Return what the export leaves out; an impossible trim is refused."""
    start = data.get(ATTR_START_OFFSET)
    end = data.get(ATTR_END_OFFSET)
    if start is not None or end is not None:
        first = 0.0 if start is None else float(start)
        last = clip.duration_s if end is None else float(end)
        if not (
            math.isfinite(first)
            and math.isfinite(last)
            and first >= 0
            and last <= clip.duration_s + TRIM_TOLERANCE_S
            and last - first >= MIN_TRIM_S
        ):
            raise action_error(
                key="invalid_trim",
                clip_id=clip.clip_id,
                start=_seconds(start),
                end=_seconds(end),
                duration=f"{clip.duration_s:.1f}",
            )
    masks = options.privacy_masks if data[ATTR_APPLY_PRIVACY_MASKS] else ()
    return RedactOptions(
        masks=masks,
        include_audio=data[ATTR_INCLUDE_AUDIO],
        start_s=None if start is None else float(start),
        end_s=None if end is None else float(end),
    )


def _seconds(value: object) -> str:
    return "-" if value is None else str(value)


async def _async_list_exports(call: ServiceCall) -> ServiceResponse:
    """Return the live exports and the audit log, newest first; no download links."""
    manager = call.hass.data.get(DATA_EXPORTS)
    if manager is None:
        raise action_error(key="not_loaded")
    return cast(
        "ServiceResponse",
        {
            "exports": list(reversed(manager.audit.exports)),
            "log": list(reversed(manager.audit.log)),
        },
    )


async def _async_export_download_link(call: ServiceCall) -> ServiceResponse:
    """Mint a single-use download link to a live export for the person who asks."""
    manager = call.hass.data.get(DATA_EXPORTS)
    if manager is None:
        raise action_error(key="not_loaded")
    user = await async_person_behind(call.hass, call.context)
    raw = call.data[ATTR_EXPORT_ID]
    with translated_errors(otherwise="export_not_found", export_id=raw):
        export_id = check_export_id(raw.strip())
    link = manager.async_download_link(export_id, user)
    return {
        "export_id": export_id,
        "download_url": link.url,
        "download_url_expires_at": link.expires_at.isoformat(),
    }


async def _async_delete_export(call: ServiceCall) -> None:
    """Delete an export before it expires."""
    manager: ExportManager | None = call.hass.data.get(DATA_EXPORTS)
    if manager is None:
        raise action_error(key="not_loaded")
    raw = call.data[ATTR_EXPORT_ID]
    with translated_errors(otherwise="export_not_found", export_id=raw):
        export_id = check_export_id(raw.strip())
    # Automations may delete (that only ever shares less); the record then names nobody.
    user = await call.hass.auth.async_get_user(call.context.user_id or "")
    await manager.async_delete(export_id, user)
