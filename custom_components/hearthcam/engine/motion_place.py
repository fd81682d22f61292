"""Where motion was in a clip: its boxes kept compactly, and a 3 x 3 area people can name."""

from collections import Counter
from collections.abc import Iterable
from typing import Final

from .clip_info import ClipInfo, round_box
from .motion import Box

# At most this many box samples per clip: a long clip merges neighbouring samples, so a
# sidecar stays a few kilobytes whatever the clip's length.
MAX_BOX_SAMPLES: Final = 120
# Rows top to bottom, columns left to right: the names the media browser translates.
AREAS: Final = (
    ("upper_left", "top", "upper_right"),
    ("left", "centre", "right"),
    ("lower_left", "bottom", "lower_right"),
)
WHOLE_PICTURE: Final = "whole_picture"
# A box at least this wide and this high covers too much for one area to describe it.
_WIDE: Final = 2 / 3


def union(boxes: Iterable[Box]) -> Box:
    """Return the smallest box holding all of them (at least one)."""
    x0s, y0s, x1s, y1s = zip(*boxes, strict=True)
    return min(x0s), min(y0s), max(x1s), max(y1s)


def compact_boxes(
    samples: Iterable[tuple[float, Box]], limit: int = MAX_BOX_SAMPLES
) -> tuple[tuple[float, Box], ...]:
    """At most `limit` samples, in time order: consecutive ones merge into their union."""
    ordered = sorted(samples)
    if not ordered:
        return ()
    group = -(-len(ordered) // limit)  # ceiling division
    merged = []
    for first in range(0, len(ordered), group):
        chunk = ordered[first : first + group]
        merged.append((chunk[0][0], round_box(union(box for _, box in chunk))))
    return tuple(merged)


def area_of(box: Box) -> str:
    """Return the 3 x 3 area holding the box's centre (WHOLE_PICTURE: it covers most)."""
    x0, y0, x1, y1 = box
    if x1 - x0 >= _WIDE and y1 - y0 >= _WIDE:
        return WHOLE_PICTURE
    column = min(2, int((x0 + x1) / 2 * 3))
    row = min(2, int((y0 + y1) / 2 * 3))
    return AREAS[row][column]


def clip_area(info: ClipInfo) -> str | None:
    """Where a clip's motion was: the area of the box that started it, else the most frequent."""
    if info.onset_box is not None:
        return area_of(info.onset_box)
    counts = Counter(area_of(box) for _, box in info.motion_boxes)
    return counts.most_common(1)[0][0] if counts else None
