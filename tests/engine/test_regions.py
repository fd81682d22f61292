"""Polygons for motion zones and privacy masks: parsing, rasterising, blacking out."""

import numpy as np
import pytest

from custom_components.hearthcam.engine.errors import InvalidPolygonError
from custom_components.hearthcam.engine.regions import (
    Regions,
    fill_polygons,
    format_polygons,
    parse_polygons,
)


def test_parse_and_format_round_trip() -> None:
    """Lines and `;` both separate polygons; the text form reads back the same."""
    polygons = parse_polygons("0,0 0.5,0 0.5,0.5\n\n 0.5,0.5 1,0.5 1,1 ; 0,0 1,0 0,1")
    assert polygons == (
        ((0.0, 0.0), (0.5, 0.0), (0.5, 0.5)),
        ((0.5, 0.5), (1.0, 0.5), (1.0, 1.0)),
        ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0)),
    )
    assert parse_polygons(format_polygons(polygons)) == polygons
    assert parse_polygons("  \n") == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0,0 1,0", "needs 3"),
        ("0,0 1,0 1", "not an x,y point"),
        ("0,0 1,0 a,b", "not an x,y point"),
        ("0,0 1.5,0 1,1", "outside 0..1"),
        ("0,0 1,0 -0.1,1", "outside 0..1"),
        ("\n".join(["0,0 1,0 1,1"] * 17), "at most 16"),
    ],
)
def test_bad_polygons_are_refused_with_a_clear_message(text: str, message: str) -> None:
    """Every mistake names the polygon and what is wrong with it."""
    with pytest.raises(InvalidPolygonError, match=message):
        parse_polygons(text)


def test_fill_covers_pixel_centres_inside() -> None:
    """A square over the left half fills exactly the left half; triangles fill half a box."""
    square = parse_polygons("0,0 0.5,0 0.5,1 0,1")
    filled = fill_polygons(square, 10, 20)
    assert filled[:, :10].all()
    assert not filled[:, 10:].any()
    triangle = parse_polygons("0,0 1,0 0,1")
    assert np.count_nonzero(fill_polygons(triangle, 100, 100)) == pytest.approx(5000, rel=0.02)
    assert not fill_polygons(square, 10, 20).flags.writeable  # shared from the cache


def test_regions_combine_zones_and_masks() -> None:
    """Analysed = inside any zone (everywhere without zones) and outside every mask."""
    assert Regions().analysed(4, 4) is None
    left = parse_polygons("0,0 0.5,0 0.5,1 0,1")
    top = parse_polygons("0,0 1,0 1,0.5 0,0.5")
    only_mask = Regions(masks=top).analysed(4, 4)
    assert only_mask is not None
    assert only_mask.tolist() == [[False] * 4] * 2 + [[True] * 4] * 2
    both = Regions(zones=left, masks=top).analysed(4, 4)
    assert both is not None
    assert both.tolist() == [[False] * 4] * 2 + [[True, True, False, False]] * 2
