"""The instance's exports: build, record, announce, sign, delete and expire bundles.

Bundles live in `<config>/.cache/hearthcam/exports/` (clip_location.py), outside every media
folder (an export inside one would be browsable by every user through the media browser, so
HearthCam refuses to write it there) and out of backups. At start-up and every minute, expired
bundles are removed; at start-up, temporary files of interrupted exports and bundles without an
audit record (the process died between the two) are removed too.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
import logging
from pathlib import Path
import threading
from typing import Final

from homeassistant.auth.models import User
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Context, Event, HomeAssistant, callback
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from ..action_errors import action_error, translated_errors
from ..const import DOMAIN
from ..engine.bundle import Bundle, BundleDetails, build_bundle
from ..engine.clip_info import ClipInfo
from ..engine.clips import ClipStore
from ..engine.errors import EngineError
from ..engine.export_folder import ExportFolder, new_export_id
from ..engine.redact import RedactOptions
from .audit import AuditAction, AuditLog, ExportEntry
from .jobs import ExportJobs
from .links import DownloadLink, DownloadLinks
from .notice import ExportContents, async_announce_export

_LOGGER = logging.getLogger(__name__)

DATA_EXPORTS: HassKey[ExportManager] = HassKey(f"{DOMAIN}_exports")
EXPIRY_INTERVAL: Final = timedelta(minutes=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportRequest:
    """An export that passed every check: what to build, for whom, and why."""

    store: ClipStore
    clip: ClipInfo
    camera_name: str
    user: User
    reason: str
    options: RedactOptions
    masks_configured: int
    lifetime: timedelta
    detection_settings: Mapping[str, object]
    software: Mapping[str, str]


def inside_media_folder(folder: Path, media_dirs: Mapping[str, str]) -> str | None:
    """Return the media folder that folder lies in (or is), if any (blocking: resolves links)."""
    resolved = folder.resolve()
    for media in media_dirs.values():
        if resolved.is_relative_to(Path(media).resolve()):
            return media
    return None


class ExportManager:
    """The instance's exports: one folder, one audit log, one set of export threads."""

    def __init__(self, hass: HomeAssistant, folder: ExportFolder) -> None:
        self.hass = hass
        self.folder = folder
        self.audit = AuditLog(hass)
        self.jobs = ExportJobs(hass)
        self.links = DownloadLinks(hass)

    async def async_start(self) -> None:
        """Load the audit log, tidy the folder, expire what is due; then keep expiring."""
        await self.audit.async_load()
        await self._async_reconcile()
        await self.async_expire()
        async_track_time_interval(
            self.hass, self._async_on_interval, EXPIRY_INTERVAL, cancel_on_shutdown=True
        )
        self.hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, self._async_on_stop)

    async def _async_reconcile(self) -> None:
        """Remove leftovers and orphan bundles; record bundles that vanished (at start-up)."""
        if not await self.hass.async_add_executor_job(self.folder.path.is_dir):
            on_disk: list[str] = []
        else:
            try:
                await self.hass.async_add_executor_job(self.folder.prepare)
                on_disk = await self.hass.async_add_executor_job(self.folder.bundle_ids)
            except (EngineError, OSError) as err:
                _LOGGER.warning("Cannot tidy the export folder: %s", err)
                return
        known = {entry["export_id"] for entry in self.audit.exports}
        for export_id in set(on_disk) - known:
            # Written, but the process stopped before its audit record: never announced.
            _LOGGER.warning("Removing export %s: it has no audit record", export_id)
            try:
                await self.hass.async_add_executor_job(self.folder.remove, export_id)
            except EngineError as err:
                _LOGGER.warning("Cannot remove export %s: %s", export_id, err)
        now = dt_util.utcnow().isoformat()
        for export_id in known - set(on_disk):
            await self.audit.async_end(export_id, AuditAction.MISSING, now)

    @callback
    def _async_on_interval(self, _now: datetime) -> None:
        self.hass.async_create_task(self.async_expire(), "hearthcam export expiry")

    async def _async_on_stop(self, _event: Event) -> None:
        await self.jobs.async_stop()

    async def async_expire(self) -> None:
        """Delete the bundles whose time is up, recording each."""
        now = dt_util.utcnow()
        for entry in self.audit.exports:
            if datetime.fromisoformat(entry["expires_at"]) > now:
                continue
            try:
                await self.hass.async_add_executor_job(self.folder.remove, entry["export_id"])
            except EngineError as err:
                _LOGGER.warning("Cannot remove expired export %s: %s", entry["export_id"], err)
                continue
            self.links.async_forget(entry["export_id"])
            await self.audit.async_end(entry["export_id"], AuditAction.EXPIRED, now.isoformat())
            _LOGGER.info("Export %s expired and was deleted", entry["export_id"])

    async def async_export(
        self, request: ExportRequest, context: Context | None = None
    ) -> tuple[ExportEntry, Bundle]:
        """Build, record and announce a bundle; raise translated errors (nothing kept)."""
        if self.jobs.stopping:
            raise action_error(key="export_cancelled", invalid=False, clip_id=request.clip.clip_id)
        await self._async_check_folder()
        now = dt_util.utcnow()
        export_id = new_export_id(now)
        details = BundleDetails(
            export_id=export_id,
            camera_name=request.camera_name,
            clip=request.clip,
            reason=request.reason,
            user_id=request.user.id,
            user_name=request.user.name or request.user.id,
            created_at=now,
            expires_at=now + request.lifetime,
            masks_configured=request.masks_configured,
            detection_settings=request.detection_settings,
            software=request.software,
        )
        bundle = await self._async_build(request, details)
        entry = ExportEntry(
            export_id=export_id,
            clip_id=request.clip.clip_id,
            camera=request.camera_name,
            user_id=details.user_id,
            user_name=details.user_name,
            reason=request.reason,
            created_at=now.isoformat(),
            expires_at=details.expires_at.isoformat(),
            sha256=bundle.sha256,
            size_bytes=bundle.size_bytes,
            redactions=list(bundle.redactions),
        )
        await self.audit.async_add(entry, now.isoformat())
        contents = ExportContents.of(bundle, request.masks_configured)
        await async_announce_export(self.hass, entry, contents, context)
        _LOGGER.info(
            "Clip %s of %s exported as %s by %s",
            entry["clip_id"],
            entry["camera"],
            export_id,
            entry["user_name"],
        )
        return entry, bundle

    async def _async_check_folder(self) -> None:
        """Refuse to write bundles where every user could browse them."""
        media = await self.hass.async_add_executor_job(
            inside_media_folder, self.folder.path, dict(self.hass.config.media_dirs)
        )
        if media is not None:
            raise action_error(
                key="export_folder_in_media",
                invalid=False,
                folder=str(self.folder.path),
                media=media,
            )

    async def _async_build(self, request: ExportRequest, details: BundleDetails) -> Bundle:
        """Build the bundle on an export thread, holding the clip against deletion meanwhile."""
        store, clip_id, folder = request.store, request.clip.clip_id, self.folder

        def work(cancel: threading.Event) -> Bundle:
            folder.create()
            # Held before it is opened: retention and delete_clip leave it alone until done.
            with store.hold(clip_id), store.open_file(clip_id) as source:
                return build_bundle(source, folder, details, request.options, cancel)

        with translated_errors(otherwise="export_failed", clip_id=clip_id):
            try:
                return await self.jobs.async_run(details.export_id, work)
            except (EngineError, OSError) as err:
                _LOGGER.warning("Export of clip %s did not finish: %s", clip_id, err)
                raise

    async def async_delete(self, export_id: str, user: User | None) -> ExportEntry:
        """Delete a bundle before it expires, recording who did (None: an automation)."""
        entry = self.audit.get(export_id)
        if entry is None:
            raise action_error(key="export_not_found", export_id=export_id)
        with translated_errors(otherwise="export_delete_failed", export_id=export_id):
            await self.hass.async_add_executor_job(self.folder.remove, export_id)
        self.links.async_forget(export_id)
        by = None if user is None else (user.id, user.name or user.id)
        await self.audit.async_end(export_id, AuditAction.DELETED, dt_util.utcnow().isoformat(), by)
        _LOGGER.info("Export %s deleted by %s", export_id, "an automation" if by is None else by[1])
        return entry

    @callback
    def async_download_link(self, export_id: str, user: User) -> DownloadLink:
        """Mint a single-use link to a live export for user; a translated error otherwise."""
        entry = self.audit.get(export_id)
        if entry is None:
            raise action_error(key="export_not_found", export_id=export_id)
        try:
            return self.links.async_mint(
                export_id, datetime.fromisoformat(entry["expires_at"]), user
            )
        except ValueError:
            raise action_error(key="export_not_found", export_id=export_id) from None

    @callback
    def async_is_live(self, export_id: str) -> bool:
        """Whether the export exists and has not expired yet."""
        entry = self.audit.get(export_id)
        return entry is not None and datetime.fromisoformat(entry["expires_at"]) > dt_util.utcnow()
