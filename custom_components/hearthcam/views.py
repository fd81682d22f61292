"""Authenticated HTTP view serving clips (`video/mp4`, with range requests) and thumbnails.

The media source resolves a clip to a bare path under this view; Home Assistant signs it
(`?authSig=...`) for the player, so a plain `<video>` element can fetch and seek it. Files are
opened through the clip store (O_NOFOLLOW from the store's root), never by a path built from
the request, so nothing outside the store is ever served, even through a link planted there.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http import HTTPStatus
import io
import logging
import os
import re
from typing import Final

from aiohttp import hdrs, web
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import HomeAssistantView

from .data import DATA_CLIP_STORE
from .engine.clip_info import CLIP_STEM_PATTERN, ClipFile, ClipName
from .engine.errors import EngineError

_LOGGER = logging.getLogger(__name__)

URL_PREFIX: Final = "/api/hearthcam/clips"
_FILENAME_RE: Final = re.compile(rf"(?P<stem>{CLIP_STEM_PATTERN})\.(?P<ext>mp4|jpg)")
_KINDS: Final = {"mp4": ClipFile.VIDEO, "jpg": ClipFile.THUMBNAIL}
_CONTENT_TYPES: Final = {ClipFile.VIDEO: "video/mp4", ClipFile.THUMBNAIL: "image/jpeg"}
CHUNK_BYTES: Final = 256 * 1024
# Clips never change once saved (keeping one rewrites only its sidecar), so the browser may
# reuse what it fetched; "private" keeps shared caches and proxies from storing footage.
CACHE_CONTROL: Final = "private, max-age=3600"


def clip_url(clip_id: str, kind: ClipFile = ClipFile.VIDEO) -> str:
    """Return the unsigned path of a clip's video or thumbnail under the view."""
    name = ClipName.parse(clip_id)
    suffix = {ClipFile.VIDEO: ".mp4", ClipFile.THUMBNAIL: ".jpg"}[kind]
    return f"{URL_PREFIX}/{name.camera}/{name.day}/{name.stem}{suffix}"


@dataclass(frozen=True, slots=True)
class _Opened:
    """An open clip file and what the response needs to know about it."""

    file: io.BufferedReader
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class _Span:
    """The bytes a request asks for: 200 for all of them, 206 for a range."""

    status: HTTPStatus
    start: int
    length: int


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
        match = _FILENAME_RE.fullmatch(filename)
        store = self.hass.data.get(DATA_CLIP_STORE)
        if match is None or store is None:
            raise web.HTTPNotFound
        kind = _KINDS[match["ext"]]
        clip_id = f"{camera}/{day}/{match['stem']}"
        try:
            opened = await self.hass.async_add_executor_job(_open, store.open_file, clip_id, kind)
        except EngineError as err:
            # Missing, malformed and refused (a symlink) look the same from outside.
            _LOGGER.debug("Not serving %s %s: %s", clip_id[:100], kind, err)
            raise web.HTTPNotFound from None
        try:
            return await self._send(request, opened, kind)
        finally:
            await self.hass.async_add_executor_job(opened.file.close)

    async def _send(
        self, request: web.Request, opened: _Opened, kind: ClipFile
    ) -> web.StreamResponse:
        etag = f'"{opened.mtime_ns:x}-{opened.size:x}"'
        headers = {
            hdrs.CONTENT_TYPE: _CONTENT_TYPES[kind],
            hdrs.ACCEPT_RANGES: "bytes",
            hdrs.CACHE_CONTROL: CACHE_CONTROL,
            hdrs.ETAG: etag,
            hdrs.LAST_MODIFIED: format_datetime(
                datetime.fromtimestamp(opened.mtime_ns / 1e9, UTC), usegmt=True
            ),
            "X-Content-Type-Options": "nosniff",
        }
        span = _span(request, opened.size, etag)
        if span is None:
            headers[hdrs.CONTENT_RANGE] = f"bytes */{opened.size}"
            return web.Response(status=HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, headers=headers)
        if span.status is HTTPStatus.PARTIAL_CONTENT:
            last = span.start + span.length - 1
            headers[hdrs.CONTENT_RANGE] = f"bytes {span.start}-{last}/{opened.size}"
        response = web.StreamResponse(status=span.status, headers=headers)
        response.content_length = span.length
        await response.prepare(request)
        if request.method != hdrs.METH_HEAD:
            await self._copy(response, opened.file, span)
        await response.write_eof()
        return response

    async def _copy(
        self, response: web.StreamResponse, file: io.BufferedReader, span: _Span
    ) -> None:
        """Copy the span of the file into the response, reading in the executor."""
        await self.hass.async_add_executor_job(file.seek, span.start)
        remaining = span.length
        while remaining > 0:
            chunk = await self.hass.async_add_executor_job(file.read, min(CHUNK_BYTES, remaining))
            if not chunk:
                break  # the file shrank; the client sees a short body rather than a hang
            await response.write(chunk)
            remaining -= len(chunk)


def _open(
    open_file: Callable[[str, ClipFile], io.BufferedReader], clip_id: str, kind: ClipFile
) -> _Opened:
    """Open the clip's file (in the executor) and measure it through its descriptor."""
    file = open_file(clip_id, kind)
    try:
        stat = os.fstat(file.fileno())
    except BaseException:
        file.close()
        raise
    return _Opened(file=file, size=stat.st_size, mtime_ns=stat.st_mtime_ns)


def _span(request: web.Request, size: int, etag: str) -> _Span | None:
    """Which bytes to send for the request's Range (RFC 9110 §14); None if unsatisfiable."""
    whole = _Span(HTTPStatus.OK, 0, size)
    if not request.headers.get(hdrs.RANGE, "").lower().startswith("bytes="):
        return whole  # no range, or in a unit we do not know: ignored, as RFC 9110 says
    if_range = request.headers.get(hdrs.IF_RANGE)
    if if_range is not None and if_range != etag:
        return whole  # the client's copy is of another version: send the whole file
    try:
        wanted = request.http_range  # one range; malformed or multiple ranges raise
    except ValueError:
        return None
    start, stop = wanted.start, wanted.stop
    if start is None:  # "bytes=-0" and the like
        return None
    if start < 0:  # a suffix: the last -start bytes
        start = max(0, size + start)
        stop = size
    stop = size if stop is None else min(stop, size)
    if start >= size or stop <= start:
        return None
    return _Span(HTTPStatus.PARTIAL_CONTENT, start, stop - start)
