"""Motion zones and privacy masks: polygons in normalised coordinates, rasterised to pixel masks.

A polygon is written as `x,y x,y x,y ...` with 0..1 coordinates (0,0 is the top-left corner of
the picture, 1,1 the bottom-right), so the same polygon fits the main stream, the sub-stream and
every analysis size. Text holds one polygon per line (or separated by `;`).
"""

from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import numpy as np

from .errors import InvalidPolygonError

type Point = tuple[float, float]
type Polygon = tuple[Point, ...]

MAX_POLYGONS: Final = 16
MAX_POINTS: Final = 64


def parse_polygons(text: str) -> tuple[Polygon, ...]:
    """Parse polygons, one per line or `;`-separated, each `x,y x,y x,y ...` in 0..1."""
    polygons: list[Polygon] = []
    for number, line in enumerate(text.replace(";", "\n").splitlines(), start=1):
        if line.strip():
            polygons.append(_parse_polygon(line, number))
    if len(polygons) > MAX_POLYGONS:
        msg = f"at most {MAX_POLYGONS} polygons, got {len(polygons)}"
        raise InvalidPolygonError(msg)
    return tuple(polygons)


def _parse_polygon(line: str, number: int) -> Polygon:
    points: list[Point] = []
    for pair in line.split():
        parts = pair.split(",")
        try:
            x, y = (float(part) for part in parts)
        except ValueError:
            msg = f"polygon {number}: {pair!r} is not an x,y point"
            raise InvalidPolygonError(msg) from None
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            msg = f"polygon {number}: {pair!r} is outside 0..1"
            raise InvalidPolygonError(msg)
        points.append((x, y))
    if not 3 <= len(points) <= MAX_POINTS:
        msg = f"polygon {number}: needs 3 to {MAX_POINTS} points, got {len(points)}"
        raise InvalidPolygonError(msg)
    return tuple(points)


def format_polygons(polygons: tuple[Polygon, ...]) -> str:
    """Write polygons as text, one per line (what parse_polygons reads back)."""
    return "\n".join(" ".join(f"{x:g},{y:g}" for x, y in polygon) for polygon in polygons)


@dataclass(frozen=True, slots=True)
class Regions:
    """Where motion counts: inside any zone (all of the picture without zones), outside masks.

    Ignored areas are left out of motion like masks, but only there: a mask also hides the
    picture, an ignored area (a hedge, a flag) still shows in stills, clips and live view.
    """

    zones: tuple[Polygon, ...] = ()
    masks: tuple[Polygon, ...] = ()
    ignored: tuple[Polygon, ...] = ()

    def analysed(self, height: int, width: int) -> np.ndarray | None:
        """Boolean H x W map of the pixels analysed for motion; None when that is every pixel."""
        if not self.zones and not self.masks and not self.ignored:
            return None
        inside = fill_polygons(self.zones, height, width) if self.zones else None
        analysed = np.ones((height, width), bool) if inside is None else inside.copy()
        for left_out in (self.masks, self.ignored):
            if left_out:
                analysed &= ~fill_polygons(left_out, height, width)
        return analysed


@lru_cache(maxsize=32)
def fill_polygons(polygons: tuple[Polygon, ...], height: int, width: int) -> np.ndarray:
    """Boolean H x W map of the pixels whose centres lie inside any of the polygons.

    Read-only and cached: stills and the detector ask for the same few sizes again and again.
    """
    filled = np.zeros((height, width), bool)
    # Pixel centres in normalised coordinates; rows and columns broadcast against each other.
    ys = ((np.arange(height, dtype=np.float64) + 0.5) / height)[:, None]
    xs = ((np.arange(width, dtype=np.float64) + 0.5) / width)[None, :]
    for polygon in polygons:
        filled |= _inside(polygon, xs, ys)
    filled.flags.writeable = False
    return filled


def _inside(polygon: Polygon, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Even-odd rule: a point is inside when a ray to its right crosses an odd number of edges."""
    inside = np.zeros((ys.shape[0], xs.shape[1]), bool)
    for (x0, y0), (x1, y1) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        if y0 == y1:
            continue  # horizontal edges never cross a horizontal ray
        spans = (ys >= min(y0, y1)) & (ys < max(y0, y1))  # half-open: shared vertices count once
        crossing_x = x0 + (ys - y0) * (x1 - x0) / (y1 - y0)
        inside ^= spans & (xs < crossing_x)
    return inside
