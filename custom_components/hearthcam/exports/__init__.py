"""Exports: a consented copy of one clip, as a bundle an administrator downloads.

- actions.py: the export_clip, export_download_link, list_exports and delete_export actions and
  every check before anything is written (consent, a reason, a camera that allows it);
- person.py: a person behind the call, asking now (no system user, no script that waited);
- flow.py: exporting from the camera's entry in Home Assistant's UI, for administrators;
- manager.py: the instance's exports: build, record, announce, delete, expire;
- links.py: single-use download links, ten minutes, minted for the administrator who asks;
- jobs.py: the threads bundles are built on, cancelled and joined when Home Assistant stops;
- audit.py: the live exports and the audit log, kept in `.storage`;
- notice.py: the notification everyone sees and the `hearthcam_clip_exported` event;
- view.py: the download of a bundle, for administrators only.

The bundle itself (re-encoding, masks, manifest) is the engine's: engine/bundle.py and
engine/redact.py.
"""

from homeassistant.core import HomeAssistant

from ..clip_location import async_export_root
from ..engine.export_folder import ExportFolder
from .actions import async_setup_export_services
from .manager import DATA_EXPORTS, ExportManager
from .view import ExportDownloadView


async def async_setup_exports(hass: HomeAssistant) -> ExportManager:
    """Register the export actions and the download view; start the export manager."""
    async_setup_export_services(hass)
    hass.http.register_view(ExportDownloadView(hass))
    manager = hass.data[DATA_EXPORTS] = ExportManager(
        hass, ExportFolder(await async_export_root(hass))
    )
    await manager.async_start()
    return manager
