"""The download of export bundles: administrators only, live exports only, one GET per link.

Links are minted on demand (links.py): Home Assistant's signature, bound to the administrator's
login, plus a ticket spent by the first GET that passes the checks. Without an unspent ticket of
the requesting administrator nothing is served, a logged-in session included. HEAD is not
served and Range is ignored: see links.py for what a use is. The file is opened by export id
through the export folder (O_NOFOLLOW), never by a path taken from the request, so nothing
outside the folder is ever served.
"""

import logging
import re
from typing import Final

from aiohttp import hdrs, web
from homeassistant.auth.models import User
from homeassistant.components.http.const import KEY_HASS_USER
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import HomeAssistantView

from ..engine.export_folder import EXPORT_ID_RE
from ..file_response import OpenedFile, async_send_file
from .links import DOWNLOAD_URL_PREFIX, TICKET_PARAM
from .manager import DATA_EXPORTS

_LOGGER = logging.getLogger(__name__)

_FILENAME_RE: Final = re.compile(rf"(?P<export_id>{EXPORT_ID_RE.pattern})\.zip")


class ExportDownloadView(HomeAssistantView):
    """Send an export bundle (application/zip) to an administrator."""

    url = DOWNLOAD_URL_PREFIX + "/{filename}"
    name = "api:hearthcam:export"
    requires_auth = True

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass

    async def get(self, request: web.Request, filename: str) -> web.StreamResponse:
        """Send the bundle once per link; 403 for non-administrators, 404 for anything else."""
        # The user the link was signed for (or who logged in): a 403, unlike require_admin's
        # 401, does not count as a failed login towards an IP ban.
        user = request.get(KEY_HASS_USER)
        if not isinstance(user, User) or not user.is_admin:
            raise web.HTTPForbidden
        match = _FILENAME_RE.fullmatch(filename)
        manager = self.hass.data.get(DATA_EXPORTS)
        if match is None or manager is None or not manager.async_is_live(match["export_id"]):
            raise web.HTTPNotFound
        export_id = match["export_id"]
        # Spent before the file is opened: a second GET, even one racing this one, is refused.
        ticket = request.query.get(TICKET_PARAM, "")
        if not manager.links.async_spend(ticket, export_id, user):
            _LOGGER.debug("Refused a download of export %s: no unspent link", export_id)
            raise web.HTTPNotFound
        try:
            opened = await self.hass.async_add_executor_job(
                lambda: OpenedFile.measure(manager.folder.open(export_id))
            )
        except OSError as err:
            _LOGGER.debug("Not serving export %s: %s", export_id, err)
            raise web.HTTPNotFound from None
        headers: dict[str, str] = {
            hdrs.CONTENT_TYPE: "application/zip",
            hdrs.CONTENT_DISPOSITION: f'attachment; filename="hearthcam-export-{filename}"',
            # One GET per link sends the whole bundle: nothing to resume.
            hdrs.ACCEPT_RANGES: "none",
        }
        return await async_send_file(self.hass, request, opened, headers, seekable=False)
