"""Repair issues: an unreachable camera and a full disk, raised and cleared by real events."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial
import json
import logging
from pathlib import Path
import re
import shutil
import subprocess
import uuid

from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components import hearthcam
from custom_components.hearthcam.const import DOMAIN, EVENT_CLIP_SAVED
from custom_components.hearthcam.coordinator import (
    ISSUE_STORAGE_FULL,
    ISSUE_UNREACHABLE,
    UNREACHABLE_ISSUE_DELAY,
)
from devkit.http_server import HttpStreamServer
from devkit.pytest_plugin import MakeFootage

from .camkit import SMALL, setup_camera, state_of, use_media_dir, wait_for, walker
from .exportkit import use_config_dir

MOTION = "binary_sensor.front_door_motion"
STREAM = "binary_sensor.front_door_stream"
CAMERA = "camera.front_door"


@dataclass(frozen=True)
class LateStream:
    """A stream the HTTP server answers with 404 until arrive() puts footage behind it."""

    url: str
    path: Path
    footage: Path

    def arrive(self) -> None:
        """Make the stream available: the camera is back."""
        shutil.copyfile(self.footage, self.path)


@pytest.fixture
def late_stream(
    footage_dir: Path, make_footage: MakeFootage, http_stream_server: HttpStreamServer
) -> Iterator[LateStream]:
    """A stream that is missing until the test says it is back; its file is removed after."""
    path = footage_dir / f"later-{uuid.uuid4().hex}.ts"
    footage = make_footage(replace(SMALL, duration_s=10.0, seed=23), ".ts")
    yield LateStream(http_stream_server.url(f"ts/{path.name}"), path, footage)
    path.unlink(missing_ok=True)


def _assert_translated(issue: ir.IssueEntry | None) -> None:
    """The issue's title and description exist in English and use exactly its placeholders."""
    assert issue is not None
    strings = json.loads((Path(hearthcam.__file__).parent / "strings.json").read_text())
    texts = strings["issues"][issue.translation_key]
    used = set(re.findall(r"{(\w+)}", texts["title"] + texts["description"]))
    assert used == set(issue.translation_placeholders or {})


async def test_unreachable_camera_raises_and_clears_an_issue(
    hass: HomeAssistant,
    tmp_path: Path,
    late_stream: LateStream,
    issue_registry: ir.IssueRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Down for longer than the delay: a repair issue; back: the issue goes, logged once each."""
    caplog.set_level(logging.INFO, logger="custom_components.hearthcam")
    use_media_dir(hass, tmp_path / "media")
    entry = await setup_camera(hass, late_stream.url)
    issue_id = f"{ISSUE_UNREACHABLE}_{entry.entry_id}"

    await wait_for(hass, lambda: entry.runtime_data.coordinator.last_error is not None, "a 404")
    assert state_of(hass, STREAM) == STATE_OFF  # always available, so the outage shows
    assert state_of(hass, MOTION) == STATE_UNAVAILABLE
    assert state_of(hass, CAMERA) == STATE_UNAVAILABLE
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None  # not yet: it may be a blip

    async_fire_time_changed(hass, dt_util.utcnow() + UNREACHABLE_ISSUE_DELAY + timedelta(seconds=1))
    await hass.async_block_till_done()
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "camera_unreachable"
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["camera"] == "Front door"
    _assert_translated(issue)

    # The camera comes back: the next reconnect finds the stream.
    late_stream.arrive()
    await wait_for(hass, lambda: state_of(hass, STREAM) == STATE_ON, "the stream to come back")
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    assert state_of(hass, MOTION) == STATE_OFF

    messages = [r.getMessage() for r in caplog.records if r.name.startswith("custom_components")]
    assert sum("is unavailable" in m for m in messages) == 1
    assert sum("is back online" in m for m in messages) == 1


async def test_full_disk_raises_an_issue_until_a_clip_saves(
    hass: HomeAssistant,
    tmpfs: Callable[[str], Path],
    make_footage: MakeFootage,
    http_stream_server: HttpStreamServer,
    issue_registry: ir.IssueRegistry,
) -> None:
    """No room for a clip: a repair issue while detection goes on; room again: it clears."""
    disk = tmpfs("64k")
    use_config_dir(hass, disk)  # clips go to the config folder's .cache/
    saved: list[Event] = []
    hass.bus.async_listen(EVENT_CLIP_SAVED, saved.append)
    # Two walks: the first cannot be saved on the full disk, the second can after it grows.
    scene = replace(SMALL, duration_s=10.0, seed=24, objects=(walker(1.0, 2.5), walker(5.0, 6.5)))
    entry = await setup_camera(
        hass, http_stream_server.url(f"ts/{make_footage(scene, '.ts').name}")
    )
    issue_id = f"{ISSUE_STORAGE_FULL}_{entry.entry_id}"

    await wait_for(
        hass, lambda: issue_registry.async_get_issue(DOMAIN, issue_id) is not None, "the issue"
    )
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.ERROR
    _assert_translated(issue)
    await wait_for(hass, lambda: state_of(hass, MOTION) == STATE_OFF, "the first walk to end")
    await hass.async_block_till_done()
    # What fitted of the first clip may be kept, cut short; that does not clear the issue.
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    cut_short = len(saved)

    remount = ["mount", "-o", "remount,size=16m", str(disk)]
    await hass.async_add_executor_job(partial(subprocess.run, remount, check=True))
    await wait_for(hass, lambda: state_of(hass, MOTION) == STATE_ON, "the second walk")
    await wait_for(hass, lambda: len(saved) > cut_short, "a clip on the grown disk")
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
