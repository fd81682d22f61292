"""Helpers for tests that run real cameras inside Home Assistant."""

import asyncio
from collections.abc import Callable
from pathlib import Path
import threading
import time
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, STATE_ON
from homeassistant.core import Event, HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.hearthcam.clip_location import CLIPS_SUBFOLDER, PRIVATE_FOLDER
from custom_components.hearthcam.const import (
    CONF_OFF_DELAY,
    CONF_POST_ROLL,
    CONF_PRE_ROLL,
    CONF_STREAM_URL,
    DOMAIN,
    EVENT_CLIP_SAVED,
)
from custom_components.hearthcam.engine.urls import stream_identity
from devkit.footage import Scene
from tests.engine.workerkit import walker
from tests.waiting import HANG_S

__all__ = ["walker"]

# Small, quick footage; tests vary it with dataclasses.replace.
SMALL = Scene(width=320, height=240, fps=15, keyframe_interval_s=1.0)
# Short clips keep scenes short: 1 s before and after motion, motion ends 1 s after it stops.
QUICK_OPTIONS: dict[str, Any] = {CONF_PRE_ROLL: 1.0, CONF_POST_ROLL: 1.0, CONF_OFF_DELAY: 1.0}


def use_media_dir(hass: HomeAssistant, directory: Path) -> Path:
    """Make directory Home Assistant's only media folder; return its hearthcam/.

    Clips live in the private clip folder (private_clips) unless the install chose the media
    folder; hearthcam/ is that choice's folder, and where older versions kept clips.
    """
    directory.mkdir(parents=True, exist_ok=True)
    hass.config.media_dirs = {"local": str(directory)}
    return directory / "hearthcam"


def private_clips(hass: HomeAssistant) -> Path:
    """Where clips live by default."""
    return Path(hass.config.path(*PRIVATE_FOLDER, CLIPS_SUBFOLDER))


async def setup_camera(
    hass: HomeAssistant,
    url: str,
    *,
    title: str = "Front door",
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """Add and set up a camera entry for url; the entry must load."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=title,
        data={CONF_STREAM_URL: url},
        options=QUICK_OPTIONS if options is None else options,
        unique_id=stream_identity(url),
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    return entry


async def wait_for(
    hass: HomeAssistant, predicate: Callable[[], bool], what: str, timeout_s: float = HANG_S
) -> None:
    """Let the loop run (real time: worker threads report into it) until predicate() holds.

    The deadline only catches a hang: a busy machine makes waits longer, never wrong.
    """
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            msg = f"timed out after {timeout_s} s waiting for {what}"
            raise AssertionError(msg)
        await asyncio.sleep(0.05)
        await hass.async_block_till_done()


def state_of(hass: HomeAssistant, entity_id: str) -> str | None:
    """The entity's state, or None if it has none."""
    state = hass.states.get(entity_id)
    return None if state is None else state.state


def hearthcam_threads() -> list[str]:
    """Names of the engine's threads still alive."""
    return [t.name for t in threading.enumerate() if t.name.startswith("hearthcam-")]


async def camera_for_manual_clips(
    hass: HomeAssistant, url: str
) -> tuple[MockConfigEntry, list[Event]]:
    """A connected camera with motion recording off, and the clip_saved events it will fire."""
    saved: list[Event] = []
    hass.bus.async_listen(EVENT_CLIP_SAVED, saved.append)
    entry = await setup_camera(hass, url)
    stream = "binary_sensor.front_door_stream"
    await wait_for(hass, lambda: state_of(hass, stream) == STATE_ON, "the stream to connect")
    await hass.services.async_call(
        "switch", "turn_off", {ATTR_ENTITY_ID: "switch.front_door_recording"}, blocking=True
    )
    return entry, saved
