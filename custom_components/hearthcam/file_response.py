"""Sending a file to an HTTP client: read in the executor, whole or the byte range asked for.

Both HTTP views (clips, export bundles) open their file by id through the engine, never by a
path from the request, and hand it here; this module only measures, sends and closes it. Every
answer is footage, so no browser cache or proxy on the way may keep it (`no-store`): a clip seen
on a shared computer, or deleted since, is not left on its disk.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http import HTTPStatus
import io
import os
from typing import Final

from aiohttp import hdrs, web
from homeassistant.core import HomeAssistant

CHUNK_BYTES: Final = 256 * 1024
CACHE_CONTROL: Final = "no-store"


@dataclass(frozen=True, slots=True)
class OpenedFile:
    """An open file and what the response needs to know about it."""

    file: io.BufferedReader
    size: int
    mtime_ns: int

    @classmethod
    def measure(cls, file: io.BufferedReader) -> OpenedFile:
        """Measure an open file through its descriptor (blocking); closes it if that fails."""
        try:
            stat = os.fstat(file.fileno())
        except BaseException:
            file.close()
            raise
        return cls(file=file, size=stat.st_size, mtime_ns=stat.st_mtime_ns)


@dataclass(frozen=True, slots=True)
class _Span:
    """The bytes a request asks for: 200 for all of them, 206 for a range."""

    status: HTTPStatus
    start: int
    length: int


async def async_send_file(
    hass: HomeAssistant,
    request: web.Request,
    opened: OpenedFile,
    headers: Mapping[str, str],
    *,
    seekable: bool,
) -> web.StreamResponse:
    """Send the file with headers, then close it.

    A seekable file also gets an ETag and Last-Modified, and a Range request gets its bytes.
    """
    try:
        headers = {
            **headers,
            "X-Content-Type-Options": "nosniff",
            hdrs.CACHE_CONTROL: CACHE_CONTROL,
        }
        span = _Span(HTTPStatus.OK, 0, opened.size)
        if seekable:
            etag = f'"{opened.mtime_ns:x}-{opened.size:x}"'
            headers[hdrs.ACCEPT_RANGES] = "bytes"
            headers[hdrs.ETAG] = etag
            headers[hdrs.LAST_MODIFIED] = format_datetime(
                datetime.fromtimestamp(opened.mtime_ns / 1e9, UTC), usegmt=True
            )
            wanted = _span(request, opened.size, etag)
            if wanted is None:
                headers[hdrs.CONTENT_RANGE] = f"bytes */{opened.size}"
                return web.Response(
                    status=HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, headers=headers
                )
            span = wanted
        if span.status is HTTPStatus.PARTIAL_CONTENT:
            last = span.start + span.length - 1
            headers[hdrs.CONTENT_RANGE] = f"bytes {span.start}-{last}/{opened.size}"
        response = web.StreamResponse(status=span.status, headers=headers)
        response.content_length = span.length
        await response.prepare(request)
        if request.method != hdrs.METH_HEAD:
            await _async_copy(hass, response, opened.file, span)
        await response.write_eof()
        return response
    finally:
        await hass.async_add_executor_job(opened.file.close)


async def _async_copy(
    hass: HomeAssistant, response: web.StreamResponse, file: io.BufferedReader, span: _Span
) -> None:
    """Copy the span of the file into the response, reading in the executor."""
    if span.start:
        await hass.async_add_executor_job(file.seek, span.start)
    remaining = span.length
    while remaining > 0:
        chunk = await hass.async_add_executor_job(file.read, min(CHUNK_BYTES, remaining))
        if not chunk:
            break  # the file shrank; the client sees a short body rather than a hang
        await response.write(chunk)
        remaining -= len(chunk)


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
