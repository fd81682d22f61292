"""The camera's live view end to end: masked MJPEG by default, the raw stream only by option.

Option off: no STREAM feature, camera.record refused, the proxy stream is multipart JPEG, and in
chromium the more-info dialog shows it as a picture that changes. Option on (through the options
flow): STREAM is offered, Home Assistant serves an HLS playlist, and the dialog shows a video
player; whether headless chromium can play it is reported, not required.
"""

import asyncio
from dataclasses import dataclass
from pathlib import Path
import time

import aiohttp
from playwright.async_api import Locator, Page, async_playwright

from e2e.browser import find_chromium, log_in
from e2e.ha_rest import ApiError, HomeAssistantRest, Json
from e2e.ha_ws import CommandError, HomeAssistantWebSocket, websocket
from e2e.options_flow import set_option

STREAM_FEATURE = 2  # CameraEntityFeature.STREAM
_TIMEOUT_MS = 60_000
_RELOAD_TIMEOUT_S = 60.0
_PLAYLIST_TIMEOUT_S = 60.0
# How long the picture may take to change: the scene is noisy, so any two frames differ.
_CHANGE_TIMEOUT_S = 20.0
_MJPEG_IMAGE = "ha-more-info-dialog ha-camera-stream img"
_VIDEO_PLAYER = "ha-more-info-dialog ha-hls-player, ha-more-info-dialog ha-web-rtc-player"


@dataclass(frozen=True, slots=True)
class LiveTarget:
    """The camera to watch, and as whom."""

    base_url: str
    username: str
    password: str
    entry_id: str
    camera: str
    dashboard: str
    screenshots: Path


async def check_live_view(
    rest: HomeAssistantRest, session: aiohttp.ClientSession, target: LiveTarget
) -> None:
    """Run the checks with the option off, then on; leave it off again."""
    if rest.token is None:
        msg = "not logged in"
        raise ApiError(msg)
    async with websocket(session, target.base_url, rest.token) as ws:
        await _check_not_shared(rest, ws, session, target)
        await _watch_in_chromium(target, shared=False)
        await _set_share_raw_stream(rest, target, share=True)
        await _check_shared(rest, ws, target)
        await _watch_in_chromium(target, shared=True)
        await _set_share_raw_stream(rest, target, share=False)


async def _check_not_shared(
    rest: HomeAssistantRest,
    ws: HomeAssistantWebSocket,
    session: aiohttp.ClientSession,
    target: LiveTarget,
) -> None:
    """No STREAM feature, no stream types, camera.record refused; MJPEG frames are served."""
    features = await _features(rest, target.camera)
    if features & STREAM_FEATURE:
        msg = f"{target.camera} offers STREAM by default (supported_features {features})"
        raise ApiError(msg)
    capabilities = await ws.call("camera/capabilities", entity_id=target.camera)
    if capabilities["frontend_stream_types"]:
        msg = f"{target.camera} offers stream types by default: {capabilities}"
        raise ApiError(msg)
    try:
        await ws.call(
            "call_service",
            domain="camera",
            service="record",
            service_data={"entity_id": target.camera, "filename": "/config/www/e2e-record.mp4"},
        )
    except CommandError as err:
        print(f"[e2e]   camera.record refused: {err.error.get('message')}")
    else:
        msg = "camera.record was not refused while the raw stream is not shared"
        raise ApiError(msg)
    frames = await _mjpeg_frames(session, rest, target, count=12)
    span = frames[-1][0] - frames[1][0]
    print(f"[e2e]   MJPEG proxy stream: {len(frames) - 2} frames in {span:.2f} s after the first")


async def _mjpeg_frames(
    session: aiohttp.ClientSession, rest: HomeAssistantRest, target: LiveTarget, count: int
) -> list[tuple[float, bytes]]:
    """Read count JPEG parts of the camera proxy stream, each with when it arrived."""
    headers = {"Authorization": f"Bearer {rest.token}"}
    url = f"{target.base_url}/api/camera_proxy_stream/{target.camera}"
    frames: list[tuple[float, bytes]] = []
    async with asyncio.timeout(60), session.get(url, headers=headers) as response:
        if response.status != 200 or not response.content_type.startswith("multipart/"):
            msg = f"the proxy stream answered HTTP {response.status} {response.content_type}"
            raise ApiError(msg)
        while len(frames) < count:
            line = (await response.content.readline()).strip()
            if not line.startswith(b"--"):
                continue
            length = 0
            while header := (await response.content.readline()).strip():
                name, _, value = header.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            body = await response.content.readexactly(length)
            if not body.startswith(b"\xff\xd8"):
                msg = "a part of the proxy stream is not a JPEG"
                raise ApiError(msg)
            frames.append((time.monotonic(), body))
    return frames


async def _check_shared(
    rest: HomeAssistantRest, ws: HomeAssistantWebSocket, target: LiveTarget
) -> None:
    """STREAM is offered with HLS, and Home Assistant serves the stream's playlist."""
    capabilities = await ws.call("camera/capabilities", entity_id=target.camera)
    types = capabilities["frontend_stream_types"]
    if "hls" not in types:
        msg = f"sharing the raw stream offers no HLS: {capabilities}"
        raise ApiError(msg)
    stream = await ws.call("camera/stream", entity_id=target.camera)
    deadline = time.monotonic() + _PLAYLIST_TIMEOUT_S
    while True:
        status, _, body = await rest.get_bytes(stream["url"])
        if status == 200 and body.startswith(b"#EXTM3U"):
            break
        if time.monotonic() > deadline:
            msg = f"the HLS playlist answered HTTP {status} for {_PLAYLIST_TIMEOUT_S} s"
            raise ApiError(msg)
        await asyncio.sleep(0.5)
    print(f"[e2e]   stream types {sorted(types)}; HLS playlist served ({len(body)} bytes)")


async def _set_share_raw_stream(
    rest: HomeAssistantRest, target: LiveTarget, *, share: bool
) -> None:
    """Switch the option in the options flow, then wait for the reloaded camera to show it."""
    await set_option(rest, target.entry_id, "privacy", "share_raw_stream", share)
    deadline = time.monotonic() + _RELOAD_TIMEOUT_S
    while bool(await _features(rest, target.camera) & STREAM_FEATURE) != share:
        if time.monotonic() > deadline:
            msg = f"{target.camera} did not reload with share_raw_stream={share}"
            raise ApiError(msg)
        await asyncio.sleep(0.5)


async def _features(rest: HomeAssistantRest, camera: str) -> int:
    state: Json = await rest.get(f"/api/states/{camera}")
    return int(state["attributes"].get("supported_features", 0))


async def _watch_in_chromium(target: LiveTarget, *, shared: bool) -> None:
    """Open the camera's more-info dialog in chromium and look at its live view."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=find_chromium(),
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--mute-audio"],
        )
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 800})
            page = await context.new_page()
            page.set_default_timeout(_TIMEOUT_MS)
            await log_in(page, target.base_url, target.username, target.password)
            await page.goto(
                f"{target.base_url}{target.dashboard}?more-info-entity-id={target.camera}"
            )
            if shared:
                await _look_at_player(page, target)
            else:
                await _see_picture_change(page.locator(_MJPEG_IMAGE), target)
        except BaseException:
            for page in [p for c in browser.contexts for p in c.pages]:
                await page.screenshot(path=target.screenshots / "live-view-failure.png")
            raise
        finally:
            await browser.close()


async def _see_picture_change(image: Locator, target: LiveTarget) -> None:
    """Check that the dialog shows the MJPEG proxy stream and that two screenshots differ."""
    await image.wait_for(state="visible")
    source = await image.get_attribute("src") or ""
    if "/api/camera_proxy_stream/" not in source:
        msg = f"the live view is not HearthCam's MJPEG stream: src={source[:80]!r}"
        raise ApiError(msg)
    first = await image.screenshot(path=target.screenshots / "live-view-1.png")
    deadline = time.monotonic() + _CHANGE_TIMEOUT_S
    while True:
        await asyncio.sleep(0.5)
        second = await image.screenshot(path=target.screenshots / "live-view-2.png")
        if second != first:
            break
        if time.monotonic() > deadline:
            msg = f"the live view did not change for {_CHANGE_TIMEOUT_S} s"
            raise ApiError(msg)
    print("[e2e]   chromium: the more-info dialog's MJPEG picture changes (live-view-1/2.png)")


async def _look_at_player(page: Page, target: LiveTarget) -> None:
    """Check that the dialog shows a video player; report how far headless chromium plays."""
    player = page.locator(_VIDEO_PLAYER).first
    await player.wait_for(state="attached")
    kind = await player.evaluate("element => element.localName")
    video = page.locator("ha-more-info-dialog video").first
    facts = "no <video> element"
    if await video.count():
        status = "return [v.readyState, v.currentTime, v.error ? v.error.code : null]"
        before = await video.evaluate(f"v => {{ {status} }}")
        await asyncio.sleep(5)
        after = await video.evaluate(f"v => {{ {status} }}")
        playing = after[1] > before[1]
        facts = (
            f"readyState {after[0]}, time {before[1]:.1f} -> {after[1]:.1f} s, "
            f"error {after[2]}: {'plays' if playing else 'does not play here'}"
        )
    await page.screenshot(path=target.screenshots / "live-view-shared.png")
    print(f"[e2e]   chromium: the more-info dialog shows {kind} ({facts})")
