"""The whole feedback loop at home: flag, replay, repair, apply or decline; nothing leaves.

Clips of a camera watching a flag (devkit/feedback_scenes.py) are saved the way the recorder
saves them; three are flagged through mark_clip, the tuner replays them with the camera's other
clips, and its repair is answered through the repair flow's HTTP API, with sockets blocked
except for loopback (Home Assistant's test plugin configures pytest-socket that way).
"""

from datetime import timedelta
from functools import partial
from pathlib import Path
import socket
from typing import Any

from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
import pytest_socket

from custom_components.hearthcam.const import CONF_IGNORE_ZONES, DOMAIN
from custom_components.hearthcam.engine.clip_info import ClipInfo
from custom_components.hearthcam.engine.regions import parse_polygons
from custom_components.hearthcam.engine.scan import scan_video
from custom_components.hearthcam.tuning import DATA_TUNER, STORE_KEY, issue_id
from devkit.feedback_scenes import FeedbackClip, day_clips, render_clip
from tests.engine.clipkit import record

from .camkit import setup_camera, use_media_dir, wait_for
from .exportkit import use_config_dir

UNREACHABLE = "rtsp://127.0.0.1:9/nothing"
# The offline proof below knocks on a documentation address on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:A test tried to use socket")


@pytest.fixture(scope="module")
def flag_day(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[FeedbackClip, Path, Any]]:
    """A day at a camera watching a flag: three gusts, two walkers, with their onset boxes."""
    directory = tmp_path_factory.mktemp("feedback-footage")
    day = []
    for clip in day_clips("flag", 0, 3, 2):
        path = render_clip(clip, directory)
        events = scan_video(path).events
        day.append((clip, path, events[0].peak_box if events else None))
    return day


def _tree(root: Path, clip_root: Path) -> dict[str, tuple[int, int]]:
    """Every file under root but the clip store and .storage: path -> (size, mtime_ns)."""
    files = {}
    for path in root.rglob("*"):
        if path.is_relative_to(clip_root) or ".storage" in path.relative_to(root).parts:
            continue
        stat = path.lstat()
        files[str(path.relative_to(root))] = (stat.st_size, stat.st_mtime_ns)
    return files


async def _flagged_camera(
    hass: HomeAssistant,
    tmp_path: Path,
    day: list[tuple[FeedbackClip, Path, Any]],
    user: MockUser,
    *,
    wait: bool = True,
) -> tuple[MockConfigEntry, list[ClipInfo], dict[str, tuple[int, int]], Path]:
    """A camera with the day's clips; the gusts flagged; returns the tree before flagging."""
    config = use_config_dir(hass, tmp_path / "config").parent
    use_media_dir(hass, tmp_path / "media")
    assert await async_setup_component(hass, "repairs", {})
    assert await async_setup_component(hass, "diagnostics", {})
    entry = await setup_camera(hass, UNREACHABLE, options={})
    store = entry.runtime_data.coordinator.store
    key = entry.runtime_data.coordinator.camera_key
    start = dt_util.utcnow() - timedelta(hours=3)
    clips = []
    for number, (_, path, onset) in enumerate(day):
        when = start + timedelta(minutes=10 * number)
        clips.append(
            await hass.async_add_executor_job(
                partial(record, store, key, when, path, onset_box=onset)
            )
        )
    before = _tree(tmp_path, store.root)
    for info, (clip, _, _) in zip(clips, day, strict=True):
        if not clip.walker:
            await hass.services.async_call(
                DOMAIN,
                "mark_clip",
                {"clip_id": info.clip_id, "verdict": "false_alarm"},
                blocking=True,
                context=Context(user_id=user.id),
            )
    if not wait:
        return entry, clips, before, config
    await wait_for(
        hass,
        lambda: ir.async_get(hass).async_get_issue(DOMAIN, issue_id(entry.entry_id)) is not None,
        "the tuner's repair issue",
        timeout_s=120.0,
    )
    return entry, clips, before, config


async def _answer(
    hass_client: ClientSessionGenerator, entry_id: str, choice: str
) -> dict[str, Any]:
    """Open the repair's fix flow, fetch its picture, answer it; return the opened step."""
    client = await hass_client()
    response = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue_id(entry_id)}
    )
    assert response.status == 200, await response.text()
    step: dict[str, Any] = await response.json()
    assert step["step_id"] == "confirm"
    picture = step["description_placeholders"]["picture"]
    url = picture.removeprefix("![](").removesuffix(")")
    assert url.startswith(f"/api/hearthcam/tuner/{entry_id}.jpg?authSig=")
    image = await client.get(url)
    assert image.status == 200
    assert image.content_type == "image/jpeg"
    assert (await image.read()).startswith(b"\xff\xd8")
    done = await client.post(f"/api/repairs/issues/fix/{step['flow_id']}", json={"choice": choice})
    assert done.status == 200, await done.text()
    assert (await done.json())["type"] == "create_entry"
    return step


async def test_flag_replay_apply_updates_the_options_and_nothing_leaves(  # noqa: PLR0917 - fixtures
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_read_only_user: MockUser,
    hass_storage: dict[str, Any],
    flag_day: list[tuple[FeedbackClip, Path, Any]],
    tmp_path: Path,
) -> None:
    """Three flagged gusts: the repair proposes the upper right; applying ignores it."""
    # The proof that the loop runs offline: anything but loopback (the test's HTTP client) is
    # refused.
    with pytest.raises(pytest_socket.SocketConnectBlockedError):
        socket.create_connection(("192.0.2.1", 80), timeout=1)
    entry, _, before, _ = await _flagged_camera(hass, tmp_path, flag_day, hass_read_only_user)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id(entry.entry_id))
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_key == "tuner_suggestion"
    assert issue.translation_placeholders == {
        "camera": "Front door",
        "flagged": "3",
        "from_area": "3",
        "area": "upper right",
        "avoided": "3",
        "others": "2",
        "sensitivity": "5",
        "current_sensitivity": "5",
    }
    assert entry.options.get(CONF_IGNORE_ZONES) is None  # nothing changes without a person
    step = await _answer(hass_client, entry.entry_id, "apply")
    assert step["description_placeholders"]["area"] == "upper right"
    await hass.async_block_till_done()
    (zone,) = parse_polygons(entry.options[CONF_IGNORE_ZONES])
    assert all(x > 0.6 and y < 0.4 for x, y in zone)  # the flag's corner of the picture
    assert entry.runtime_data.options.ignore_zones == (zone,)  # reloaded with it
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id(entry.entry_id)) is None
    camera = entry.runtime_data.coordinator.camera_key
    log = hass.data[DATA_TUNER].log.entries(camera)
    assert [item["event"] for item in log] == ["suggested", "applied"]
    assert log[0]["cpu_s"] > 0
    assert log[0]["clips"] == 5
    assert hass_storage[STORE_KEY]["data"]["entries"] == log
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert [item["event"] for item in diagnostics["tuner"]] == ["suggested", "applied"]
    # Nothing was written outside the clip store and .storage.
    assert _tree(tmp_path, entry.runtime_data.coordinator.store.root) == before


async def test_a_declined_suggestion_is_remembered(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_read_only_user: MockUser,
    flag_day: list[tuple[FeedbackClip, Path, Any]],
    tmp_path: Path,
) -> None:
    """Declining changes nothing, and the same change is not proposed again."""
    entry, clips, before, _ = await _flagged_camera(hass, tmp_path, flag_day, hass_read_only_user)
    options = dict(entry.options)
    await _answer(hass_client, entry.entry_id, "decline")
    await hass.async_block_till_done()
    assert dict(entry.options) == options
    tuner = hass.data[DATA_TUNER]
    camera = entry.runtime_data.coordinator.camera_key
    # Another flag (a walker clip, wrongly) makes the tuner run again: no suggestion keeps
    # every other clip, or it is the declined one; either way no repair appears.
    await hass.services.async_call(
        DOMAIN,
        "mark_clip",
        {"clip_id": clips[3].clip_id, "verdict": "false_alarm"},
        blocking=True,
        context=Context(user_id=hass_read_only_user.id),
    )
    await wait_for(hass, lambda: len(tuner.log.entries(camera)) == 3, "the second run", 120.0)
    events = [item["event"] for item in tuner.log.entries(camera)]
    assert events[:2] == ["suggested", "declined"]
    assert events[2] in {"no_suggestion", "declined_before"}
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id(entry.entry_id)) is None
    assert _tree(tmp_path, entry.runtime_data.coordinator.store.root) == before


async def test_unloading_the_camera_stops_its_tuning_job(
    hass: HomeAssistant,
    hass_read_only_user: MockUser,
    flag_day: list[tuple[FeedbackClip, Path, Any]],
    tmp_path: Path,
) -> None:
    """A camera unloaded while its clips are replayed leaves no tuner thread behind."""
    busy_day = flag_day * 4  # more clips to replay, so the job is still running at the unload
    entry, _, _, _ = await _flagged_camera(
        hass, tmp_path, busy_day, hass_read_only_user, wait=False
    )
    tuner = hass.data[DATA_TUNER]
    await wait_for(hass, lambda: tuner.running_entry == entry.entry_id, "the tuning job")
    thread = tuner.thread
    assert thread is not None
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert not thread.is_alive()
    assert tuner.running_entry is None
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id(entry.entry_id)) is None
