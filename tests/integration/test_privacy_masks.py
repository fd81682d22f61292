"""Privacy masks: blacked out in the camera's still and in clip thumbnails, ignored by motion."""

from dataclasses import replace
import io
from pathlib import Path

from homeassistant.core import Event, HomeAssistant
import numpy as np
from PIL import Image
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.hearthcam.const import (
    CONF_MOTION_ZONES,
    CONF_PRIVACY_MASKS,
    EVENT_CLIP_SAVED,
)
from custom_components.hearthcam.engine.clip_info import ClipFile
from devkit.footage import MovingObject
from devkit.http_server import HttpStreamServer
from devkit.pytest_plugin import MakeFootage

from .camkit import QUICK_OPTIONS, SMALL, setup_camera, state_of, use_media_dir, wait_for

CAMERA = "camera.front_door"
LEFT_HALF = "0,0 0.5,0 0.5,1 0,1"
# Bright, in the right half only (x from 0.6 to 0.9), from 2.5 s: after the detector's warm-up.
RIGHT_WALKER = MovingObject(2.5, 4.5, (0.6, 0.5), (0.9, 0.5), color=(235, 235, 235))
LEFT_WALKER = MovingObject(2.5, 4.5, (0.1, 0.5), (0.35, 0.5), color=(235, 235, 235))


def _halves(jpeg: bytes) -> tuple[float, float]:
    """Mean grey level of the left and the right half of a JPEG."""
    grey = np.asarray(Image.open(io.BytesIO(jpeg)).convert("L"), np.float32)
    middle = grey.shape[1] // 2
    return float(grey[:, : middle - 4].mean()), float(grey[:, middle + 4 :].mean())


async def test_masked_half_is_black_in_still_and_thumbnail(
    hass: HomeAssistant,
    tmp_path: Path,
    make_footage: MakeFootage,
    http_stream_server: HttpStreamServer,
    hass_client: ClientSessionGenerator,
) -> None:
    """With the left half masked, stills and the clip's thumbnail show it black."""
    use_media_dir(hass, tmp_path / "media")
    scene = replace(SMALL, duration_s=12.0, seed=31, objects=(RIGHT_WALKER,))
    url = http_stream_server.url(f"ts/{make_footage(scene, '.ts').name}")
    saved: list[Event] = []
    hass.bus.async_listen(EVENT_CLIP_SAVED, saved.append)
    entry = await setup_camera(hass, url, options={**QUICK_OPTIONS, CONF_PRIVACY_MASKS: LEFT_HALF})

    await wait_for(hass, lambda: bool(saved), "a clip of the walker in the unmasked half")
    client = await hass_client()
    response = await client.get(f"/api/camera_proxy/{CAMERA}")
    assert response.status == 200
    left, right = _halves(await response.read())
    assert left < 3  # black, give or take JPEG ringing at the edge
    assert right > 40  # the textured grey background

    store = entry.runtime_data.coordinator.store
    thumbnail = store.resolve(saved[0].data["clip_id"], ClipFile.THUMBNAIL).read_bytes()
    left, right = _halves(thumbnail)
    assert left < 3
    assert right > 40


async def test_motion_under_a_mask_or_outside_zones_is_ignored(
    hass: HomeAssistant,
    tmp_path: Path,
    make_footage: MakeFootage,
    http_stream_server: HttpStreamServer,
) -> None:
    """A walker in the masked half, outside the only zone, never turns motion on."""
    use_media_dir(hass, tmp_path / "media")
    scene = replace(SMALL, duration_s=7.0, seed=32, objects=(LEFT_WALKER,))
    url = http_stream_server.url(f"ts/{make_footage(scene, '.ts').name}")
    right_zone = "0.5,0 1,0 1,1 0.5,1"
    options = {**QUICK_OPTIONS, CONF_PRIVACY_MASKS: LEFT_HALF, CONF_MOTION_ZONES: right_zone}
    entry = await setup_camera(hass, url, options=options)
    coordinator = entry.runtime_data.coordinator

    # The stream plays once (7 s) and then reconnects: wait until well past the walk.
    await wait_for(
        hass,
        lambda: coordinator.worker is not None and coordinator.worker.stats.analysed_frames >= 30,
        "six seconds of analysed frames",
    )
    assert state_of(hass, "binary_sensor.front_door_motion") == "off"
    assert coordinator.worker is not None
    assert coordinator.worker.stats.clips_saved == 0
