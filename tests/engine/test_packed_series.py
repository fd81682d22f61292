"""A clip's motion series packed as doubles: read back exactly, as tuples, for less memory."""

from collections.abc import Callable
from dataclasses import replace
import json
import pickle
import tracemalloc

import pytest

from custom_components.hearthcam.engine.clip_info import ClipInfo
from custom_components.hearthcam.engine.packed_series import PackedBoxes, PackedScores
from tests.engine.clipkit import SAMPLE_INFO

SCORES = ((0.0, 0.0), (0.5, 0.013636363636363636), (1.0, 1 / 3))
BOXES = ((5.0, (0.35, 0.4, 0.425, 0.622)), (8.5, (0.95, 0.4, 1.0, 0.711)))


def test_rows_read_back_as_the_tuples_packed() -> None:
    """Iteration, indexing (negative too), slices and len behave like the tuple."""
    scores, boxes = PackedScores.of(SCORES), PackedBoxes.of(BOXES)
    assert tuple(scores) == SCORES
    assert tuple(boxes) == BOXES
    assert len(scores) == 3
    assert len(boxes) == 2
    assert scores[-1] == SCORES[-1]
    assert boxes[1] == BOXES[1]
    assert scores[1:] == SCORES[1:]
    assert boxes[::-1] == BOXES[::-1]
    with pytest.raises(IndexError):
        _ = scores[3]
    assert PackedScores.of(()) == ()
    assert not PackedBoxes.of(())


def test_packed_series_compare_and_hash_like_their_tuples() -> None:
    """Equal to (and hashed like) the tuple of their rows; packing twice copies nothing."""
    scores = PackedScores.of(SCORES)
    assert scores == SCORES
    assert scores == list(SCORES)
    assert scores == PackedScores.of(list(SCORES))
    assert scores != PackedScores.of(SCORES[:2])
    assert hash(scores) == hash(SCORES)
    assert PackedScores.of(scores) is scores
    assert pickle.loads(pickle.dumps(scores)) == scores  # noqa: S301 - our own bytes
    assert repr(scores) == f"PackedScores({SCORES!r})"


def test_a_clip_record_packs_its_series_and_round_trips_its_sidecar() -> None:
    """ClipInfo packs whatever sequence it is given; the sidecar JSON is unchanged."""
    info = replace(
        SAMPLE_INFO, motion_timeline=SCORES, motion_boxes=list(BOXES), onset_box=BOXES[0][1]
    )
    assert isinstance(info.motion_timeline, PackedScores)
    assert isinstance(info.motion_boxes, PackedBoxes)
    data = info.to_json()
    assert data["motion_timeline"] == [list(sample) for sample in SCORES]
    assert data["motion_boxes"] == [[offset, *box] for offset, box in BOXES]
    assert ClipInfo.from_json(data) == info


def test_a_long_clip_timeline_takes_a_fraction_of_the_tuples_memory() -> None:
    """Twenty clips of five minutes sampled every half second (600 samples), parsed from JSON.

    Twenty, so that what the JSON parser keeps for itself does not count.
    """
    texts = [json.dumps([[i / 2, (i + clip) / 1000] for i in range(600)]) for clip in range(20)]

    def traced(build: Callable[[], object]) -> int:
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            kept = build()
            size = tracemalloc.get_traced_memory()[0] - before
            del kept
            return size
        finally:
            tracemalloc.stop()

    as_tuples = traced(lambda: [tuple((o, s) for o, s in json.loads(text)) for text in texts])
    packed = traced(lambda: [PackedScores.of((o, s) for o, s in json.loads(t)) for t in texts])
    assert packed * 5 < as_tuples
