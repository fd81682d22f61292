"""Authenticated HTTP view serving clips (`video/mp4`, with range requests) and thumbnails.

The media source resolves a clip to a bare path under this view; Home Assistant signs it
(`?authSig=...`) for the player, so a plain `<video>` element can fetch and seek it. Files are
opened through the clip store (O_NOFOLLOW from the store's root), never by a path built from
the request, so nothing outside the store is ever served, even through a link planted there.
Malformed names are the store's to refuse: it validates every clip id it is given.

A signature is a bearer capability for as long as it lives, and any user can sign any path for
as long as they like (`auth/sign_path`). The view refuses requests carrying a signature made to
live longer than HearthCam's media source signs for (Home Assistant signs resolved media for
24 hours), so a clip link can never outlive a day.
"""

from collections.abc import Callable
from datetime import timedelta
import io
import logging
from typing import Final

from aiohttp import hdrs, web
from homeassistant.components.http.auth import SIGN_QUERY_PARAM
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import HomeAssistantView
import jwt

from .data import DATA_CLIP_STORE
from .engine.clip_info import ClipFile, ClipName
from .engine.errors import EngineError
from .file_response import OpenedFile, async_send_file

_LOGGER = logging.getLogger(__name__)

URL_PREFIX: Final = "/api/hearthcam/clips"
_CONTENT_TYPES: Final = {ClipFile.VIDEO: "video/mp4", ClipFile.THUMBNAIL: "image/jpeg"}
# The longest a signature of a clip's URL may be made to live (from its issue to its expiry).
MAX_SIGNED_LIFETIME: Final = timedelta(hours=24)


def clip_url(clip_id: str, kind: ClipFile = ClipFile.VIDEO) -> str:
    """Return the unsigned path of a clip's video or thumbnail under the view."""
    name = ClipName.parse(clip_id)
    return f"{URL_PREFIX}/{name.camera}/{name.day}/{name.stem}{kind.suffix}"


class ClipFileView(HomeAssistantView):
    """Serve a clip's MP4 (seekable) or JPEG thumbnail to authenticated users."""

    url = URL_PREFIX + "/{camera}/{day}/{filename}"
    name = "api:hearthcam:clip"
    requires_auth = True

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass

    async def head(
        self, request: web.Request, camera: str, day: str, filename: str
    ) -> web.StreamResponse:
        """Answer with the headers a GET would send (players probe size and ranges)."""
        return await self.get(request, camera, day, filename)

    async def get(
        self, request: web.Request, camera: str, day: str, filename: str
    ) -> web.StreamResponse:
        """Send the file, or the byte range asked for; 404 for anything not in the store."""
        if _signed_for_too_long(request):
            # 403, not 401: a long link is not a failed login that should ban an address.
            raise web.HTTPForbidden
        kind = next((k for k in _CONTENT_TYPES if filename.endswith(k.suffix)), None)
        store = self.hass.data.get(DATA_CLIP_STORE)
        if kind is None or store is None:
            raise web.HTTPNotFound
        clip_id = f"{camera}/{day}/{filename.removesuffix(kind.suffix)}"
        try:
            opened = await self.hass.async_add_executor_job(_open, store.open_file, clip_id, kind)
        except EngineError as err:
            # Missing, malformed and refused (a symlink) look the same from outside.
            _LOGGER.debug("Not serving %s %s: %s", clip_id[:100], kind, err)
            raise web.HTTPNotFound from None
        headers: dict[str, str] = {hdrs.CONTENT_TYPE: _CONTENT_TYPES[kind]}
        return await async_send_file(self.hass, request, opened, headers, seekable=True)


def _open(
    open_file: Callable[[str, ClipFile], io.BufferedReader], clip_id: str, kind: ClipFile
) -> OpenedFile:
    """Open the clip's file and measure it (in the executor)."""
    return OpenedFile.measure(open_file(clip_id, kind))


def _signed_for_too_long(request: web.Request) -> bool:
    """Whether the request carries a signature made to live longer than MAX_SIGNED_LIFETIME.

    Home Assistant's auth middleware has checked the signature when it authenticated the
    request with it; the claims are read here only for their lifetime, so an unreadable one
    (or one without its times) is refused too.
    """
    signature = request.query.get(SIGN_QUERY_PARAM)
    if signature is None:
        return False
    try:
        claims = jwt.decode(signature, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return True
    issued, expires = claims.get("iat"), claims.get("exp")
    if not isinstance(issued, int) or not isinstance(expires, int):
        return True
    return expires - issued > MAX_SIGNED_LIFETIME.total_seconds()
