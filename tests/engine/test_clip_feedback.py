"""Where motion was and what people said: boxes and verdicts in sidecars, store, retention."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
import io
import json
from pathlib import Path

import av
import numpy as np
import pytest

from custom_components.hearthcam.engine.clip_info import ClipInfo, round_box
from custom_components.hearthcam.engine.clip_retention import (
    FEEDBACK_HOLD,
    RetentionPolicy,
    feedback_hold_until,
)
from custom_components.hearthcam.engine.clips import ClipStore
from custom_components.hearthcam.engine.errors import ClipNotFoundError, InvalidClipIdError
from custom_components.hearthcam.engine.imaging import OUTLINE_RGB, draw_outline, encode_jpeg
from custom_components.hearthcam.engine.model import ClipTrigger, RecordedClip, Verdict
from custom_components.hearthcam.engine.motion_place import (
    AREAS,
    MAX_BOX_SAMPLES,
    WHOLE_PICTURE,
    area_of,
    clip_area,
    compact_boxes,
)
from custom_components.hearthcam.engine.regions import parse_polygons
from custom_components.hearthcam.engine.worker import MotionTimeline
from devkit.footage import Scene
from devkit.pytest_plugin import MakeFootage

from .clipkit import SAMPLE_INFO, media_facts, record, write_fragmented

START = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)
INFO = replace(SAMPLE_INFO, end=START + timedelta(seconds=4), duration_s=4.0)


@pytest.fixture(scope="module")
def clip_mp4(make_footage: MakeFootage, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short fragmented MP4, as the recorder writes them."""
    scene = Scene(width=160, height=120, fps=10, duration_s=1.0, keyframe_interval_s=1.0)
    target = tmp_path_factory.mktemp("feedback-source") / "clip.mp4"
    return write_fragmented(make_footage(scene, ".mp4"), target)


@pytest.fixture
def store(tmp_path: Path) -> ClipStore:
    """A loaded, empty store."""
    clip_store = ClipStore(tmp_path / "clips")
    clip_store.load()
    return clip_store


def test_boxes_and_verdicts_round_trip_and_older_sidecars_still_load() -> None:
    """A sidecar keeps boxes, onset box and verdict; one written before them reads as none."""
    full = replace(
        INFO,
        motion_boxes=((0.5, (0.1, 0.2, 0.3, 0.4)), (1.0, (0.2, 0.2, 0.5, 0.6))),
        onset_box=(0.1, 0.2, 0.3, 0.4),
        verdict=Verdict.FALSE_ALARM,
        verdict_at=START + timedelta(hours=1),
    )
    assert ClipInfo.from_json(json.loads(json.dumps(full.to_json()))) == full
    older = INFO.to_json()
    for key in ("motion_boxes", "onset_box", "verdict", "verdict_at"):
        del older[key]
    assert ClipInfo.from_json(older) == INFO
    assert INFO.verdict is None
    assert INFO.motion_boxes == ()


@pytest.mark.parametrize(
    "change",
    [
        {"verdict": "maybe"},
        {"verdict": 1},
        {"verdict_at": "2026-03-14T12:00:00"},  # naive
        {"onset_box": [0.1, 0.2, 0.3]},
        {"onset_box": [0.5, 0.2, 0.3, 0.4]},  # x0 > x1
        {"onset_box": [0.1, 0.2, 0.3, 1.5]},
        {"motion_boxes": [[0.5, 0.1, 0.2, 0.3]]},
        {"motion_boxes": [[0.5, 0.1, 0.2, 0.3, float("nan")]]},
        {"motion_boxes": "left"},
    ],
)
def test_bad_boxes_and_verdicts_are_refused(change: dict[str, object]) -> None:
    """from_json refuses malformed where and verdict fields."""
    with pytest.raises(ValueError):  # noqa: PT011 - the message names whichever field is bad
        ClipInfo.from_json(INFO.to_json() | change)


def test_long_clips_keep_a_bounded_number_of_boxes() -> None:
    """An hour of samples shrinks to MAX_BOX_SAMPLES unions that still cover every box."""
    samples = [(i / 2, (0.4 + 0.1 * (i % 3), 0.1, 0.5 + 0.1 * (i % 3), 0.2)) for i in range(7200)]
    compact = compact_boxes(samples)
    assert len(compact) == MAX_BOX_SAMPLES
    assert [offset for offset, _ in compact] == sorted(offset for offset, _ in compact)
    assert {box for _, box in compact} == {(0.4, 0.1, 0.7, 0.2)}
    assert len(json.dumps([[o, *b] for o, b in compact])) < 6000
    few = compact_boxes(samples[:3])
    assert few == tuple((o, round_box(b)) for o, b in samples[:3])
    assert compact_boxes([]) == ()


def test_timeline_keeps_the_union_box_of_each_bucket() -> None:
    """The worker's timeline hands each clip the union of the boxes seen in each half second."""
    timeline = MotionTimeline(60.0)
    timeline.add(100.0, 0.01, (0.1, 0.1, 0.2, 0.2))
    timeline.add(100.2, 0.02, (0.15, 0.05, 0.3, 0.2))
    timeline.add(100.6, 0.0, None)
    timeline.add(101.1, 0.03, (0.6, 0.6, 0.7, 0.9))
    timeline.add(130.0, 0.03, (0.0, 0.0, 1.0, 1.0))  # after the clip
    assert timeline.boxes_between(100.0, 102.0) == (
        (0.0, (0.1, 0.05, 0.3, 0.2)),
        (1.0, (0.6, 0.6, 0.7, 0.9)),
    )
    peak, points = timeline.between(100.0, 102.0)
    assert peak == 0.03
    assert len(points) == 3


@pytest.mark.parametrize(
    ("row", "column"), [(row, column) for row in range(3) for column in range(3)]
)
def test_each_ninth_of_the_picture_has_its_name(row: int, column: int) -> None:
    """A box is named by the ninth of the picture holding its centre."""
    x, y = (column + 0.5) / 3, (row + 0.5) / 3
    assert area_of((x - 0.05, y - 0.05, x + 0.05, y + 0.05)) == AREAS[row][column]


def test_a_box_over_most_of_the_picture_is_the_whole_picture() -> None:
    """Motion everywhere is not in one corner."""
    assert area_of((0.0, 0.1, 0.9, 0.95)) == WHOLE_PICTURE
    assert area_of((0.0, 0.0, 0.9, 0.3)) == "top"


def test_a_clip_is_placed_by_its_onset_box_else_by_most_of_its_boxes() -> None:
    """The box that started the clip decides; without it the most frequent area does."""
    boxes = ((0.0, (0.0, 0.7, 0.2, 0.9)), (0.5, (0.8, 0.0, 0.9, 0.1)), (1.0, (0.1, 0.8, 0.2, 0.9)))
    assert clip_area(replace(INFO, motion_boxes=boxes)) == "lower_left"
    assert clip_area(replace(INFO, motion_boxes=boxes, onset_box=(0.8, 0.0, 0.9, 0.1))) == (
        "upper_right"
    )
    assert clip_area(INFO) is None


def test_finalize_keeps_where_motion_was(store: ClipStore, clip_mp4: Path) -> None:
    """Boxes reach the sidecar, survive a reload and are checked before anything changes."""
    _, part = store.allocate("cam", START)
    part.write_bytes(clip_mp4.read_bytes())
    codec, width, height, audio, duration = media_facts(clip_mp4)
    recorded = RecordedClip(
        part, START, duration, codec, width, height, audio, ClipTrigger.MOTION, 1
    )
    with pytest.raises(ValueError, match="box"):
        store.finalize(recorded, motion_boxes=[(0.0, (0.5, 0.5, 0.2, 0.2))])
    assert part.exists()
    info = store.finalize(
        recorded, motion_boxes=[(0.0, (0.1, 0.2, 0.3, 0.4))], onset_box=(0.1, 0.2, 0.3, 0.4)
    )
    reloaded = ClipStore(store.root)
    reloaded.load()
    assert reloaded.get(info.clip_id).motion_boxes == ((0.0, (0.1, 0.2, 0.3, 0.4)),)
    assert reloaded.get(info.clip_id).onset_box == (0.1, 0.2, 0.3, 0.4)


def test_verdicts_persist_clear_and_can_be_listed(store: ClipStore, clip_mp4: Path) -> None:
    """A verdict is written to the sidecar, survives a reload, clears, and is queryable."""
    first = record(store, "cam", START, clip_mp4)
    second = record(store, "cam", START + timedelta(hours=1), clip_mp4)
    other = record(store, "other", START, clip_mp4)
    said = START + timedelta(days=1)
    flagged = store.set_verdict(first.clip_id, Verdict.FALSE_ALARM, said)
    assert (flagged.verdict, flagged.verdict_at) == (Verdict.FALSE_ALARM, said)
    store.set_verdict(second.clip_id, Verdict.CORRECT, said)
    store.set_verdict(other.clip_id, Verdict.FALSE_ALARM, said)
    # The same verdict again changes nothing, not even when it was said.
    again = store.set_verdict(first.clip_id, Verdict.FALSE_ALARM, said + timedelta(hours=5))
    assert again.verdict_at == said

    reloaded = ClipStore(store.root)
    reloaded.load()
    period = (START - timedelta(days=1), START + timedelta(days=1))
    assert [c.clip_id for c in reloaded.verdicts_between("cam", *period)] == [
        second.clip_id,
        first.clip_id,
    ]
    false_alarms = reloaded.verdicts_between("cam", *period, Verdict.FALSE_ALARM)
    assert [c.clip_id for c in false_alarms] == [first.clip_id]
    assert reloaded.verdicts_between("cam", START + timedelta(minutes=1), period[1]) == [
        reloaded.get(second.clip_id)
    ]

    cleared = reloaded.set_verdict(second.clip_id, None)
    assert (cleared.verdict, cleared.verdict_at) == (None, None)
    assert [c.clip_id for c in reloaded.verdicts_between("cam", *period)] == [first.clip_id]
    sidecar = json.loads(reloaded.resolve(second.clip_id, "sidecar").read_bytes())
    assert sidecar["verdict"] is None


def test_a_verdict_for_a_missing_clip_changes_nothing(store: ClipStore, clip_mp4: Path) -> None:
    """Unknown and malformed ids are refused; the store's files stay as they were."""
    info = record(store, "cam", START, clip_mp4)
    before = {p: p.read_bytes() for p in store.root.rglob("*") if p.is_file()}
    with pytest.raises(ClipNotFoundError):
        store.set_verdict("cam/2026-03-14/120001-1", Verdict.CORRECT)
    with pytest.raises(InvalidClipIdError):
        store.set_verdict("cam/../x", Verdict.CORRECT)
    assert {p: p.read_bytes() for p in store.root.rglob("*") if p.is_file()} == before
    assert store.get(info.clip_id).verdict is None


def test_retention_holds_false_alarms_for_tuning(store: ClipStore, clip_mp4: Path) -> None:
    """A flagged false alarm outlives its retention by FEEDBACK_HOLD; other clips do not."""
    policy = RetentionPolicy(max_age_days=7)
    plain = record(store, "cam", START, clip_mp4)
    correct = record(store, "cam", START + timedelta(seconds=10), clip_mp4)
    false_alarm = record(store, "cam", START + timedelta(seconds=20), clip_mp4)
    said = START + timedelta(days=1)
    store.set_verdict(correct.clip_id, Verdict.CORRECT, said)
    store.set_verdict(false_alarm.clip_id, Verdict.FALSE_ALARM, said)
    hold_until = feedback_hold_until(store.get(false_alarm.clip_id), policy)
    assert hold_until == START + timedelta(days=7, seconds=20) + FEEDBACK_HOLD

    result = store.apply_retention(policy, START + timedelta(days=8))
    assert set(result.deleted) == {plain.clip_id, correct.clip_id}
    assert store.get(false_alarm.clip_id).verdict is Verdict.FALSE_ALARM
    # Size limits leave it alone too while it is held.
    tight = RetentionPolicy(max_age_days=7, max_total_bytes=0)
    assert store.apply_retention(tight, hold_until - timedelta(seconds=1)).deleted == ()
    assert store.apply_retention(policy, hold_until).deleted == (false_alarm.clip_id,)


def test_clearing_a_false_alarm_releases_it(store: ClipStore, clip_mp4: Path) -> None:
    """Without its verdict a clip goes like any other; with no age limit, held after flagging."""
    info = record(store, "cam", START, clip_mp4)
    store.set_verdict(info.clip_id, Verdict.FALSE_ALARM, START)
    no_age = RetentionPolicy(max_total_bytes=0)
    assert feedback_hold_until(store.get(info.clip_id), no_age) == START + FEEDBACK_HOLD
    assert store.apply_retention(no_age, START + timedelta(days=1)).deleted == ()
    store.set_verdict(info.clip_id, None)
    assert store.apply_retention(no_age, START + timedelta(days=1)).deleted == (info.clip_id,)


def test_outline_is_drawn_on_the_box_edges_only() -> None:
    """The outline follows the box's edges; inside and outside stay as they were."""
    image = np.zeros((120, 160, 3), np.uint8)
    draw_outline(image, (0.25, 0.25, 0.75, 0.75))
    assert tuple(image[30, 80]) == OUTLINE_RGB  # top edge
    assert tuple(image[89, 80]) == OUTLINE_RGB  # bottom edge
    assert tuple(image[60, 40]) == OUTLINE_RGB  # left edge
    assert tuple(image[60, 119]) == OUTLINE_RGB  # right edge
    assert image[60, 80].max() == 0  # inside
    assert image[10, 10].max() == 0  # outside
    edge = np.zeros((10, 10, 3), np.uint8)
    draw_outline(edge, (0.0, 0.0, 1.0, 1.0))  # a box at the border stays inside the image
    assert tuple(edge[0, 0]) == OUTLINE_RGB
    assert tuple(edge[9, 9]) == OUTLINE_RGB


def test_thumbnails_outline_the_box_with_masks_still_applied() -> None:
    """The JPEG shows the outline; a privacy mask stays black, even where the box crosses it."""
    frame = av.VideoFrame.from_ndarray(np.full((240, 320, 3), 100, np.uint8), format="rgb24")
    masks = parse_polygons("0,0 0.5,0 0.5,1 0,1")  # the left half
    jpeg = encode_jpeg(frame.reformat(format="yuv420p"), 160, masks, (0.25, 0.25, 0.75, 0.75))
    with av.open(io.BytesIO(jpeg), "r") as container:
        decoded = next(container.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    assert decoded.shape == (120, 160, 3)
    # The top edge, right half (a thin line loses some colour to chroma subsampling).
    assert np.abs(decoded[31, 100] - OUTLINE_RGB).max() < 64
    assert np.abs(decoded[60, 100] - 100).max() < 12  # inside, unmasked
    assert decoded[5:115, 5:70].max() < 16  # the mask, outline or not
