"""The live view: HearthCam's own masked MJPEG by default; the raw stream only on request."""

import asyncio
from dataclasses import replace
import io
from pathlib import Path
import time

from aiohttp import ClientResponse
from homeassistant.components.camera import async_get_stream_source
from homeassistant.components.camera.const import CameraEntityFeature
from homeassistant.const import ATTR_SUPPORTED_FEATURES
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import numpy as np
from PIL import Image
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.hearthcam.const import CONF_PRIVACY_MASKS, CONF_SHARE_RAW_STREAM
from devkit.http_server import HttpStreamServer
from devkit.pytest_plugin import MakeFootage

from .camkit import QUICK_OPTIONS, SMALL, setup_camera, wait_for
from .optionskit import form_defaults, open_settings

CAMERA = "camera.front_door"
LEFT_HALF = "0,0 0.5,0 0.5,1 0,1"
# Frames counted once the first has arrived, over at least this span of the test's own clock.
WINDOW_S = 3.0
READ_TIMEOUT_S = 30.0


async def _read_part(response: ClientResponse) -> bytes:
    """Read one part of a multipart/x-mixed-replace body and return its JPEG."""
    content = response.content
    boundary = (await content.readline()).strip()
    while not boundary:  # the CRLF that ends the previous part
        boundary = (await content.readline()).strip()
    assert boundary == b"--frameboundary"
    headers: dict[str, str] = {}
    while line := (await content.readline()).strip():
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    assert headers["content-type"] == "image/jpeg"
    return await content.readexactly(int(headers["content-length"]))


def _halves(jpeg: bytes) -> tuple[float, float]:
    """Mean grey level of the left and the right half of a JPEG."""
    grey = np.asarray(Image.open(io.BytesIO(jpeg)).convert("L"), np.float32)
    middle = grey.shape[1] // 2
    return float(grey[:, : middle - 4].mean()), float(grey[:, middle + 4 :].mean())


async def _camera_url(make_footage: MakeFootage, server: HttpStreamServer, seed: int) -> str:
    scene = replace(SMALL, duration_s=20.0, seed=seed)
    return server.url(f"ts/{make_footage(scene, '.ts').name}")


async def test_live_view_is_masked_mjpeg_at_5_fps_or_more(
    hass: HomeAssistant,
    make_footage: MakeFootage,
    http_stream_server: HttpStreamServer,
    hass_client: ClientSessionGenerator,
) -> None:
    """By default the proxy stream is multipart JPEG, >= 5 frames a second, masks black."""
    url = await _camera_url(make_footage, http_stream_server, seed=41)
    entry = await setup_camera(hass, url, options={**QUICK_OPTIONS, CONF_PRIVACY_MASKS: LEFT_HALF})
    coordinator = entry.runtime_data.coordinator
    await wait_for(
        hass,
        lambda: coordinator.worker is not None and coordinator.worker.stats.analysed_frames > 0,
        "the first analysed frame",
    )
    worker = coordinator.worker
    assert worker is not None
    assert not worker.live.watched  # nobody watches yet: no frame is kept or encoded
    assert worker.live.latest_jpeg() is None

    client = await hass_client()
    response = await client.get(f"/api/camera_proxy_stream/{CAMERA}")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("multipart/x-mixed-replace")
    async with asyncio.timeout(READ_TIMEOUT_S):
        frames = [await _read_part(response), await _read_part(response)]
        assert frames[0] == frames[1]  # the first frame goes out twice (for Chrome)
        received: list[float] = []
        while not received or received[-1] - received[0] < WINDOW_S:
            frames.append(await _read_part(response))
            received.append(time.monotonic())
    assert worker.live.watched
    fps = (len(received) - 1) / (received[-1] - received[0])
    assert fps >= 5.0, f"{len(received)} frames in {received[-1] - received[0]:.2f} s"
    assert len(set(frames)) > len(frames) // 2  # the picture changes (the scene is noisy)
    for jpeg in (frames[0], frames[-1]):
        left, right = _halves(jpeg)
        assert left < 3  # black, give or take JPEG ringing at the edge
        assert right > 40  # the textured grey background

    response.close()
    await wait_for(hass, lambda: not worker.live.watched, "the viewer to be gone")
    assert worker.live.latest_jpeg() is None  # the last frame is let go too


async def test_raw_stream_is_not_shared_by_default(
    hass: HomeAssistant,
    tmp_path: Path,
    make_footage: MakeFootage,
    http_stream_server: HttpStreamServer,
) -> None:
    """No STREAM feature, no stream source: camera.record and play_stream are refused."""
    url = await _camera_url(make_footage, http_stream_server, seed=42)
    entry = await setup_camera(hass, url)
    coordinator = entry.runtime_data.coordinator
    await wait_for(hass, lambda: coordinator.connected, "the camera to connect")
    state = hass.states.get(CAMERA)
    assert state is not None
    assert state.attributes[ATTR_SUPPORTED_FEATURES] == CameraEntityFeature.ON_OFF
    assert await async_get_stream_source(hass, CAMERA) is None

    target = tmp_path / "www" / "recording.mp4"
    with pytest.raises(HomeAssistantError, match="does not support record"):
        await hass.services.async_call(
            "camera",
            "record",
            {"entity_id": CAMERA, "filename": str(target), "duration": 5},
            blocking=True,
        )
    with pytest.raises(HomeAssistantError, match="does not support play stream"):
        await hass.services.async_call(
            "camera",
            "play_stream",
            {"entity_id": CAMERA, "media_player": "media_player.living_room"},
            blocking=True,
        )
    assert not target.exists()


async def test_sharing_the_raw_stream_is_an_option(
    hass: HomeAssistant,
    make_footage: MakeFootage,
    http_stream_server: HttpStreamServer,
) -> None:
    """Switched on in the options flow, the camera offers STREAM and returns its stream URL."""
    url = await _camera_url(make_footage, http_stream_server, seed=43)
    entry = await setup_camera(hass, url)
    form = await open_settings(hass, entry)
    user_input = form_defaults(form["data_schema"])
    assert user_input["privacy"][CONF_SHARE_RAW_STREAM] is False
    user_input["privacy"][CONF_SHARE_RAW_STREAM] = True
    await hass.config_entries.options.async_configure(form["flow_id"], user_input)
    await hass.async_block_till_done()

    assert entry.options[CONF_SHARE_RAW_STREAM] is True
    state = hass.states.get(CAMERA)
    assert state is not None
    features = CameraEntityFeature(state.attributes[ATTR_SUPPORTED_FEATURES])
    assert features == CameraEntityFeature.ON_OFF | CameraEntityFeature.STREAM
    assert await async_get_stream_source(hass, CAMERA) == url
