"""The camera's live view: MJPEG of HearthCam's own decoded frames, privacy masks applied.

Served through Home Assistant's camera proxy stream, which its frontend shows for cameras that
do not share a stream. No second connection to the camera: the frames are the ones the worker
decodes for motion detection anyway, and a frame is encoded only while someone watches.
"""

import asyncio
import contextlib

from aiohttp import web
from homeassistant.const import CONTENT_TYPE_MULTIPART
from homeassistant.core import HomeAssistant

from .coordinator import HearthCamCoordinator

_BOUNDARY = "frameboundary"


def _part(jpeg: bytes) -> bytes:
    """One part of the multipart stream: a JPEG with its headers."""
    head = (
        f"--{_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
    ).encode()
    return head + jpeg + b"\r\n"


async def async_live_response(
    hass: HomeAssistant, request: web.Request, coordinator: HearthCamCoordinator
) -> web.StreamResponse | None:
    """Stream live frames until the viewer leaves or the camera stops; None if it is stopped."""
    worker = coordinator.worker
    if worker is None:
        return None
    live = worker.live
    response = web.StreamResponse(headers={"Cache-Control": "no-store"})
    response.content_type = CONTENT_TYPE_MULTIPART.format(_BOUNDARY)
    await response.prepare(request)
    wake = asyncio.Event()

    def on_frame() -> None:  # on the decoding thread
        # A closed loop means Home Assistant is gone, and so is the viewer.
        with contextlib.suppress(RuntimeError):
            hass.loop.call_soon_threadsafe(wake.set)

    stop_watching = live.watch(on_frame)
    # A change of the camera's state (stopped, switched off, reloaded) wakes the viewer too.
    stop_following = coordinator.async_add_listener(wake.set)
    shown = 0
    try:
        while True:
            await wake.wait()
            wake.clear()
            if coordinator.worker is not worker:
                break
            latest = await hass.async_add_executor_job(live.latest_jpeg)
            if latest is None or latest[0] == shown:
                continue
            part = _part(latest[1])
            # Chrome shows a multipart image one part late, so the first goes out twice.
            await response.write(part + part if shown == 0 else part)
            shown = latest[0]
    except ConnectionResetError:
        pass  # the viewer left
    finally:
        stop_following()
        stop_watching()
    return response
