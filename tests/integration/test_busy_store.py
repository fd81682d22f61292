"""The event loop never waits for the clip store: entities and the media browser answer meanwhile.

The store's lock is held by another thread for the whole of each test, as a camera writing a
clip to a slow disk would. Anything on the event loop that took that lock would hang the test
(the lock is released only after its assertions), so getting through them is the proof.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
import threading

from homeassistant.components import media_source
from homeassistant.const import STATE_OFF
from homeassistant.core import HomeAssistant
from homeassistant.helpers.dispatcher import async_dispatcher_send
import pytest

from custom_components.hearthcam.engine.clips import ClipStore
from custom_components.hearthcam.usage import SIGNAL_STORAGE_CHANGED

from .camkit import QUICK_OPTIONS, setup_camera, state_of, use_media_dir
from .librarykit import add_clip, clip_mp4

__all__ = ["clip_mp4"]

UNREACHABLE_URL = "rtsp://127.0.0.1:9/front"
LAST_CLIP = "sensor.front_door_last_clip"
STORAGE_USED = "sensor.front_door_storage_used"
RECORDING = "switch.front_door_recording"
# Only a safety net against a hang of the test itself: the lock is released long before.
HOLD_LIMIT_S = 60.0


@contextmanager
def store_busy(store: ClipStore) -> Iterator[threading.Event]:
    """Hold the store's lock on another thread until the block ends; yields 'released'."""
    held, release = threading.Event(), threading.Event()
    gave_up: list[bool] = []

    def hold() -> None:
        with store._lock:
            held.set()
            gave_up.append(not release.wait(HOLD_LIMIT_S))

    thread = threading.Thread(target=hold, name="test-store-busy")
    thread.start()
    held.wait()
    try:
        yield release
    finally:
        release.set()
        thread.join()
    assert gave_up == [False], "something on the event loop waited for the store's lock"


async def test_entities_and_browsing_answer_while_the_store_is_busy(
    hass: HomeAssistant, tmp_path: Path, clip_mp4: Path
) -> None:
    """A saved clip, a switch and a storage change update entities; a browse waits off the loop."""
    use_media_dir(hass, tmp_path / "media")
    entry = await setup_camera(hass, UNREACHABLE_URL, options=QUICK_OPTIONS)
    coordinator = entry.runtime_data.coordinator
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    clip = await add_clip(hass, coordinator.store, coordinator.camera_key, start, clip_mp4)
    await hass.async_block_till_done()
    assert state_of(hass, STORAGE_USED) == "0.0"  # measured before the clip was added

    with store_busy(coordinator.store) as released:
        # As the worker reports a saved clip (through call_soon_threadsafe, on the loop).
        coordinator._async_on_clip(clip)
        assert state_of(hass, LAST_CLIP) == clip.start.isoformat()
        await hass.services.async_call(
            "switch", "turn_off", {"entity_id": RECORDING}, blocking=True
        )
        assert state_of(hass, RECORDING) == STATE_OFF
        async_dispatcher_send(hass, SIGNAL_STORAGE_CHANGED)  # as after a deletion
        browsing = hass.async_create_task(
            media_source.async_browse_media(
                hass, f"media-source://hearthcam/{coordinator.camera_key}"
            )
        )
        # The browse is waiting in the executor (the store is busy), and the loop runs on.
        await hass.services.async_call("switch", "turn_on", {"entity_id": RECORDING}, blocking=True)
        assert not browsing.done()
        assert not released.is_set()
    node = await browsing
    assert node.children is not None
    assert len(node.children) == 1  # the clip's day
    await hass.async_block_till_done()
    # Measured again in the executor once the store was free: the clip's files, in MB.
    used = coordinator.store.usage().cameras[coordinator.camera_key].size_bytes
    assert used > clip.size_bytes
    assert float(state_of(hass, STORAGE_USED) or "nan") == pytest.approx(used / 1e6)
