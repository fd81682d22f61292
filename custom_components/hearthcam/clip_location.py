"""Where clips and export bundles live, the install-wide choice of it, and the move between places.

By default clips live in `<config>/.cache/hearthcam/clips/` and bundles in
`<config>/.cache/hearthcam/exports/`: outside every media folder (Home Assistant's own local
media source would serve them to every user) and outside `allowlist_external_dirs` (any
integration that sends files could send them), and out of backups (Home Assistant and the
Supervisor leave `<config>/.cache/` out). One explicit install-wide setting, changed by an
administrator through the `set_clip_location` action, puts clips in the first media folder
instead, for people who reach them over a network share. Exports never go there.

Whenever clips are found in the place not chosen (after an upgrade from a version that kept
them in the media folder, or after the setting changed), they are moved before any camera
starts: file by file, resumable, never deleting what was not copied (engine/store_move.py).
"""

from contextlib import suppress
from enum import StrEnum
import logging
from pathlib import Path
from typing import Final, TypedDict

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN, MEDIA_SUBFOLDER
from .engine.errors import StorageError
from .engine.store_move import MoveReport, move_tree

_LOGGER = logging.getLogger(__name__)

PRIVATE_FOLDER: Final = (".cache", DOMAIN)  # below the config folder; backups leave it out
CLIPS_SUBFOLDER: Final = "clips"
EXPORTS_SUBFOLDER: Final = "exports"
LEGACY_EXPORT_FOLDER: Final = "hearthcam_exports"  # below the config folder, in older versions
STORAGE_KEY: Final = f"{DOMAIN}.clip_location"
STORAGE_VERSION: Final = 1
ISSUE_RESTART: Final = "clip_location_restart"
DATA_LOCATION: HassKey[ClipLocation] = HassKey(f"{DOMAIN}_clip_location")


class ClipLocation(StrEnum):
    """Where the install keeps its clips."""

    PRIVATE = "private"
    MEDIA_FOLDER = "media_folder"


class _Stored(TypedDict):
    location: str


def private_folder(hass: HomeAssistant, *names: str) -> Path:
    """Return a folder below `<config>/.cache/hearthcam/`."""
    return Path(hass.config.path(*PRIVATE_FOLDER, *names))


def media_clip_folder(hass: HomeAssistant) -> Path | None:
    """Return the clip folder in the first media folder, if Home Assistant has one."""
    media_dirs = list(hass.config.media_dirs.values())
    return Path(media_dirs[0]) / MEDIA_SUBFOLDER if media_dirs else None


def export_folder(hass: HomeAssistant) -> Path:
    """Return the folder of export bundles (always private)."""
    return private_folder(hass, EXPORTS_SUBFOLDER)


def _store(hass: HomeAssistant) -> Store[_Stored]:
    return Store(hass, STORAGE_VERSION, STORAGE_KEY, private=True)


async def async_load_location(hass: HomeAssistant) -> ClipLocation:
    """Return the install's stored choice; private unless an administrator chose otherwise."""
    stored = await _store(hass).async_load()
    try:
        return ClipLocation(stored["location"]) if stored else ClipLocation.PRIVATE
    except ValueError:
        _LOGGER.warning("Unknown clip location %r stored; keeping clips private", stored)
        return ClipLocation.PRIVATE


async def async_save_location(hass: HomeAssistant, location: ClipLocation) -> bool:
    """Store the choice; True if it differs from the one running (a restart moves the clips)."""
    await _store(hass).async_save({"location": location.value})
    running = hass.data.get(DATA_LOCATION)
    pending = running is not None and running is not location
    if pending:
        ir.async_create_issue(
            hass,
            DOMAIN,
            ISSUE_RESTART,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_RESTART,
            translation_placeholders={"location": location.value},
        )
    else:
        ir.async_delete_issue(hass, DOMAIN, ISSUE_RESTART)
    return pending


async def async_clip_root(hass: HomeAssistant) -> Path:
    """Return the clip folder, with clips from the place not chosen moved into it first.

    Raises ConfigEntryError when the media folder is chosen but there is none, and
    ConfigEntryNotReady when the move could not finish (it resumes on the next try).
    """
    location = hass.data[DATA_LOCATION] = await async_load_location(hass)
    ir.async_delete_issue(hass, DOMAIN, ISSUE_RESTART)
    private, media = private_folder(hass, CLIPS_SUBFOLDER), media_clip_folder(hass)
    root: Path = private
    other: Path | None = media
    if location is ClipLocation.MEDIA_FOLDER:
        if media is None:
            raise ConfigEntryError(translation_domain=DOMAIN, translation_key="no_media_folder")
        root, other = media, private
    if location is ClipLocation.PRIVATE and await hass.async_add_executor_job(
        hass.config.is_allowed_path, str(root)
    ):
        # Only when a media folder or allowlist_external_dirs holds the config folder itself.
        _LOGGER.warning(
            "The clip folder %s is inside allowlist_external_dirs or a media folder: other "
            "integrations can read the clips. Keep those folders out of the config folder",
            root,
        )
    if other is not None:
        try:
            await _async_move(hass, other, root, "clips")
        except StorageError as err:
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="clip_move_failed",
                translation_placeholders={"error": str(err)},
            ) from err
    return root


async def async_export_root(hass: HomeAssistant) -> Path:
    """Return the export folder, with bundles of older versions moved into it first.

    A move that cannot finish is logged and resumes on the next start; meanwhile the bundles
    not yet moved cannot be downloaded (they expire anyway).
    """
    root = export_folder(hass)
    legacy = Path(hass.config.path(LEGACY_EXPORT_FOLDER))
    with suppress(StorageError):  # logged by _async_move
        await _async_move(hass, legacy, root, "exports")
    return root


async def _async_move(hass: HomeAssistant, source: Path, target: Path, what: str) -> None:
    """Move what is at source to target (blocking work in the executor), logging the figures."""
    if not await hass.async_add_executor_job(source.is_dir):
        return
    _LOGGER.info("Moving %s from %s to %s", what, source, target)
    try:
        report: MoveReport = await hass.async_add_executor_job(move_tree, source, target)
    except StorageError as err:
        _LOGGER.error(  # noqa: TRY400 - the reason is enough, the trace adds nothing
            "Moving %s to %s stopped (it resumes on the next start): %s", what, target, err
        )
        raise
    _LOGGER.info(
        "Moved %d %s files (%d bytes, %d copied across disks) to %s in %.1f s",
        report.files,
        what,
        report.bytes,
        report.copied,
        target,
        report.seconds,
    )
    for relative in report.conflicts:
        _LOGGER.warning(
            "%s is in %s and, different, in %s: both kept, the first not used",
            relative,
            source,
            target,
        )
    for relative in report.skipped:
        _LOGGER.warning("%s in %s is not a plain file: left where it is", relative, source)
