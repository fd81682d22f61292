"""Download links for export bundles: minted on demand, for one administrator, used once.

A link is Home Assistant's signed path, bound to the administrator's login, carrying a random
ticket that the download view spends. It lives ten minutes at most (never past the export).

What "use" means: the first GET that passes the view's checks spends the ticket, whatever then
happens to the transfer. That GET always sends the whole bundle (a Range header is ignored) and
HEAD is not served, so a link can neither be probed nor resumed. A download that breaks costs
one new link, minted again while the export lives; a link that could be resumed would have to
be reusable, and so would serve whoever copied it too. Tickets live in memory only: a restart
ends every link, which ten minutes of lifetime makes harmless.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
import secrets
from typing import Final

from homeassistant.auth.models import TOKEN_TYPE_SYSTEM, User
from homeassistant.components.http.auth import async_sign_path
from homeassistant.components.http.const import KEY_HASS_REFRESH_TOKEN_ID, KEY_HASS_USER
from homeassistant.components.websocket_api.connection import current_connection
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.http import current_request
from homeassistant.util import dt as dt_util

DOWNLOAD_LINK_LIFETIME: Final = timedelta(minutes=10)
DOWNLOAD_URL_PREFIX: Final = "/api/hearthcam/exports"
TICKET_PARAM: Final = "ticket"
# A link must live at least this long to be worth handing out.
_MIN_LIFETIME: Final = timedelta(seconds=5)


def download_path(export_id: str) -> str:
    """Return the unsigned path of a bundle under the download view."""
    return f"{DOWNLOAD_URL_PREFIX}/{export_id}.zip"


@dataclass(frozen=True, slots=True)
class DownloadLink:
    """A single-use link and when it stops working."""

    url: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class _Ticket:
    export_id: str
    user_id: str
    expires_at: datetime


class DownloadLinks:
    """The unspent tickets of the instance's download links."""

    def __init__(self, hass: HomeAssistant) -> None:
        self._hass = hass
        self._tickets: dict[str, _Ticket] = {}

    @callback
    def async_mint(self, export_id: str, export_expires_at: datetime, user: User) -> DownloadLink:
        """Return a fresh link for user alone; ValueError if the export is about to expire."""
        now = dt_util.utcnow()
        self._tickets = {k: t for k, t in self._tickets.items() if t.expires_at > now}
        lifetime = min(DOWNLOAD_LINK_LIFETIME, export_expires_at - now)
        if lifetime < _MIN_LIFETIME:
            raise ValueError(export_id)
        ticket = secrets.token_urlsafe(32)
        expires_at = now + lifetime
        self._tickets[ticket] = _Ticket(export_id, user.id, expires_at)
        url = async_sign_path(
            self._hass,
            f"{download_path(export_id)}?{TICKET_PARAM}={ticket}",
            lifetime,
            refresh_token_id=_refresh_token_id(user),
        )
        return DownloadLink(url=url, expires_at=expires_at)

    @callback
    def async_spend(self, ticket: str, export_id: str, user: User) -> bool:
        """Spend a ticket of user for this export; False if it is not (or no longer) valid.

        A ticket shown by someone else is left unspent: its owner may still use it.
        """
        found = self._tickets.get(ticket)
        if found is None or found.export_id != export_id or found.user_id != user.id:
            return False
        del self._tickets[ticket]
        return found.expires_at > dt_util.utcnow()

    @callback
    def async_forget(self, export_id: str) -> None:
        """End every link to an export (deleted or expired)."""
        self._tickets = {k: t for k, t in self._tickets.items() if t.export_id != export_id}


def _refresh_token_id(user: User) -> str | None:
    """Return a refresh token of user to sign with, so the link works for that user only.

    The token of the connection or request that made the call when it is the user's, else the
    user's most recently used one (a call from the developer tools, say).
    """
    connection = current_connection.get()
    if connection is not None and connection.user.id == user.id:
        return connection.refresh_token_id
    request = current_request.get()
    if request is not None and request.get(KEY_HASS_USER) is user:
        token_id = request.get(KEY_HASS_REFRESH_TOKEN_ID)
        if isinstance(token_id, str):
            return token_id
    tokens = [t for t in user.refresh_tokens.values() if t.token_type != TOKEN_TYPE_SYSTEM]
    newest = max(tokens, key=lambda t: t.last_used_at or t.created_at, default=None)
    return newest.id if newest is not None else None
