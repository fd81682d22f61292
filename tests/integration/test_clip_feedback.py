"""Marking clips: the mark_clip action, verdicts and where in the media browser, options step."""

from datetime import UTC, datetime
from pathlib import Path

from homeassistant.components.media_source import async_browse_media
from homeassistant.core import Context, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.hearthcam.const import CONF_OUTLINE_MOTION, DOMAIN
from custom_components.hearthcam.data import CameraSettings
from custom_components.hearthcam.engine.clip_info import ClipInfo
from custom_components.hearthcam.engine.clips import ClipStore
from custom_components.hearthcam.engine.model import Verdict
from custom_components.hearthcam.library import Texts, clip_title
from custom_components.hearthcam.options import CameraOptions
from tests.engine.clipkit import record

from .camkit import setup_camera, use_media_dir
from .librarykit import clip_mp4

__all__ = ["clip_mp4"]

START = datetime(2026, 3, 14, 12, tzinfo=UTC)
UNREACHABLE = "rtsp://127.0.0.1:9/nothing"
LOWER_LEFT = (0.05, 0.7, 0.25, 0.95)


async def _camera_with_clips(
    hass: HomeAssistant, tmp_path: Path, clip_mp4: Path
) -> tuple[MockConfigEntry, ClipStore, list[ClipInfo]]:
    """A set-up camera (its stream unreachable) with two clips, the newer in the lower left."""
    use_media_dir(hass, tmp_path / "media")
    entry = await setup_camera(hass, UNREACHABLE)
    store = entry.runtime_data.coordinator.store
    key = entry.runtime_data.coordinator.camera_key
    older = await hass.async_add_executor_job(
        lambda: record(store, key, START, clip_mp4, link=True, peak_score=0.01)
    )
    newer = await hass.async_add_executor_job(
        lambda: record(
            store, key, START.replace(minute=5), clip_mp4, peak_score=0.032, onset_box=LOWER_LEFT
        )
    )
    return entry, store, [newer, older]


async def _mark(hass: HomeAssistant, clip_id: str, verdict: str, user: MockUser) -> None:
    await hass.services.async_call(
        DOMAIN,
        "mark_clip",
        {"clip_id": clip_id, "verdict": verdict},
        blocking=True,
        context=Context(user_id=user.id),
    )


async def _title(hass: HomeAssistant, clip_id: str) -> str:
    node = await async_browse_media(hass, f"media-source://{DOMAIN}/{clip_id}")
    return node.title


async def test_any_user_marks_a_clip_and_the_media_browser_says_so(
    hass: HomeAssistant, tmp_path: Path, clip_mp4: Path, hass_read_only_user: MockUser
) -> None:
    """A non-admin user flags a clip, changes their mind and clears it; titles follow."""
    _, store, (newer, _) = await _camera_with_clips(hass, tmp_path, clip_mp4)
    time = dt_util.as_local(newer.start).strftime("%H:%M:%S")
    assert await _title(hass, newer.clip_id) == f"{time} · 2 s · motion 3.2 % · lower left"

    await _mark(
        hass, f"media-source://{DOMAIN}/{newer.clip_id}", "false_alarm", hass_read_only_user
    )
    assert store.get(newer.clip_id).verdict is Verdict.FALSE_ALARM
    assert (await _title(hass, newer.clip_id)).endswith("lower left · marked as a false alarm")

    await _mark(hass, newer.clip_id, "correct", hass_read_only_user)
    assert store.get(newer.clip_id).verdict is Verdict.CORRECT
    assert (await _title(hass, newer.clip_id)).endswith("· marked as correct")

    await _mark(hass, newer.clip_id, "none", hass_read_only_user)
    assert store.get(newer.clip_id).verdict is None
    assert (await _title(hass, newer.clip_id)).endswith("· lower left")


async def test_unknown_verdicts_and_missing_clips_change_nothing(
    hass: HomeAssistant, tmp_path: Path, clip_mp4: Path, hass_read_only_user: MockUser
) -> None:
    """Refusals are translated and leave every sidecar as it was."""
    _, store, (newer, older) = await _camera_with_clips(hass, tmp_path, clip_mp4)
    sidecars = {c.clip_id: store.resolve(c.clip_id, "sidecar") for c in (newer, older)}
    before = {clip_id: path.read_bytes() for clip_id, path in sidecars.items()}
    with pytest.raises(ServiceValidationError) as unknown:
        await _mark(hass, newer.clip_id, "maybe", hass_read_only_user)
    assert unknown.value.translation_key == "invalid_verdict"
    assert unknown.value.translation_placeholders == {
        "verdict": "maybe",
        "allowed": "false_alarm, correct, none",
    }
    missing_id = newer.clip_id[:-1] + "9"
    with pytest.raises(ServiceValidationError) as missing:
        await _mark(hass, missing_id, "false_alarm", hass_read_only_user)
    assert missing.value.translation_key == "clip_not_found"
    with pytest.raises(ServiceValidationError) as malformed:
        await _mark(hass, "../etc/passwd", "false_alarm", hass_read_only_user)
    assert malformed.value.translation_key == "invalid_clip_id"
    assert {clip_id: path.read_bytes() for clip_id, path in sidecars.items()} == before


async def test_the_options_flow_marks_one_of_the_latest_clips(
    hass: HomeAssistant, tmp_path: Path, clip_mp4: Path
) -> None:
    """Menu, then a list of the latest clips with where they moved, then a verdict: stored."""
    entry, store, (newer, older) = await _camera_with_clips(hass, tmp_path, clip_mp4)
    options = dict(entry.options)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["settings", "clips"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "clips"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "clips"
    schema = result["data_schema"]
    assert schema is not None
    selector = next(v for k, v in schema.schema.items() if k == "clip")
    listed = selector.config["options"]
    assert [o["value"] for o in listed] == [newer.clip_id, older.clip_id]
    assert listed[0]["label"].endswith("· 2 s · motion 3.2 % · lower left")
    assert listed[0]["label"].startswith(dt_util.as_local(newer.start).date().isoformat())

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"clip": older.clip_id, "verdict": "false_alarm"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "clip_marked_false_alarm"
    assert store.get(older.clip_id).verdict is Verdict.FALSE_ALARM
    assert store.get(newer.clip_id).verdict is None
    assert entry.options == options  # marking a clip changes no setting


async def test_the_options_flow_says_when_there_are_no_clips(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """A camera without clips has nothing to mark."""
    use_media_dir(hass, tmp_path / "media")
    entry = await setup_camera(hass, UNREACHABLE)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "clips"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_clips"


def test_titles_name_the_area_and_the_verdict_in_words() -> None:
    """Each verdict and each area reads as words, in the English fallback too."""
    info = ClipInfo.from_json(
        {
            "schema": 1,
            "clip_id": "cam/2026-03-14/121530-1",
            "camera_key": "cam",
            "start": "2026-03-14T12:15:30+00:00",
            "end": "2026-03-14T12:16:12+00:00",
            "duration_s": 42.0,
            "video_codec": "h264",
            "audio_codec": None,
            "width": 640,
            "height": 360,
            "size_bytes": 1,
            "trigger": "motion",
            "peak_score": 0.032,
            "motion_timeline": [],
            "kept": True,
            "has_thumbnail": True,
            "notes": [],
            "onset_box": [0.7, 0.0, 0.9, 0.2],
            "verdict": "false_alarm",
            "verdict_at": "2026-03-14T13:00:00+00:00",
        }
    )
    title = clip_title(Texts({}), info)
    assert title.endswith(" · 42 s · motion 3.2 % · upper right · kept · marked as a false alarm")


def test_the_thumbnail_outline_is_an_option_on_by_default() -> None:
    """Only `false` itself switches the outline off."""
    settings = CameraSettings(stream_url=UNREACHABLE, detect_stream_url=None)
    assert CameraOptions.from_mapping({}).worker("cam", settings).outline_motion
    assert CameraOptions.from_mapping({CONF_OUTLINE_MOTION: "no"}).outline_motion
    off = CameraOptions.from_mapping({CONF_OUTLINE_MOTION: False})
    assert not off.worker("cam", settings).outline_motion
