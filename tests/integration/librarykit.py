"""Helpers for clip library tests: a loaded HearthCam with its clip store, and clips in it."""

from datetime import datetime
from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import numpy as np
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.hearthcam.const import CONF_STREAM_URL, DOMAIN
from custom_components.hearthcam.data import async_get_clip_store
from custom_components.hearthcam.engine.clip_info import ClipInfo
from custom_components.hearthcam.engine.clips import ClipStore
from custom_components.hearthcam.engine.imaging import encode_array_jpeg
from custom_components.hearthcam.identifiers import camera_key_for
from devkit.footage import Scene
from devkit.pytest_plugin import MakeFootage
from tests.engine.clipkit import record, write_fragmented

from .camkit import use_media_dir

# A 2 s clip with audio, small enough that hundreds of hard links cost nothing.
CLIP_SCENE = Scene(width=160, height=120, duration_s=2, audio=True, seed=31)


@pytest.fixture(scope="session")
def clip_mp4(make_footage: MakeFootage, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fragmented MP4 (H.264 and AAC) as the recorder writes them."""
    target = tmp_path_factory.mktemp("library-source") / "clip.mp4"
    return write_fragmented(make_footage(CLIP_SCENE, ".mp4"), target)


@pytest.fixture(scope="session")
def thumbnail() -> bytes:
    """A small real JPEG."""
    return encode_array_jpeg(np.full((60, 80, 3), 90, np.uint8))


async def load_library(hass: HomeAssistant, media: Path) -> ClipStore:
    """Set up the integration (no camera running) and return its loaded clip store."""
    use_media_dir(hass, media)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    return await async_get_clip_store(hass)


def camera_entry(hass: HomeAssistant, title: str, url: str = "rtsp://127.0.0.1:9/x") -> str:
    """Add a (not set up) camera entry; return its camera key in the store."""
    entry = MockConfigEntry(domain=DOMAIN, title=title, data={CONF_STREAM_URL: url})
    entry.add_to_hass(hass)
    return camera_key_for(entry.entry_id)


async def add_clip(
    hass: HomeAssistant,
    store: ClipStore,
    camera_key: str,
    start: datetime,
    source: Path,
    *,
    thumbnail: bytes | None = None,
    peak_score: float = 0.0,
    link: bool = True,
) -> ClipInfo:
    """Save a clip the way the recorder does (in the executor); link=False copies the file."""
    return await hass.async_add_executor_job(
        lambda: record(
            store, camera_key, start, source, thumbnail=thumbnail, peak_score=peak_score, link=link
        )
    )
