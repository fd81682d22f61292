"""A picture of a proposed ignored area: the camera's picture, the area tinted and outlined."""

from pathlib import Path
from typing import Final

import av
from av.video.frame import VideoFrame
import numpy as np

from .imaging import draw_outline, encode_array_jpeg
from .motion import Box
from .regions import Polygon

PICTURE_MAX_WIDTH: Final = 640
_TINT_RGB: Final = np.array((255, 64, 32), np.float32)  # a warm red: "left out"
_TINT: Final = 0.45


def frame_at(path: Path, at_s: float) -> np.ndarray:
    """Return the clip's first frame at or after at_s (else its last) as H x W x 3 RGB."""
    last: VideoFrame | None = None
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            last = frame
            if frame.time is not None and frame.time >= at_s:
                break
    if last is None:
        msg = f"{path.name} has no video frame"
        raise ValueError(msg)
    return last.to_ndarray(format="rgb24")


def draw_zone(rgb: np.ndarray, zone: Box) -> np.ndarray:
    """Tint and outline a normalised box on a copy of an RGB image."""
    height, width = rgb.shape[:2]
    x0, y0, x1, y1 = zone
    rows = slice(round(y0 * height), max(round(y0 * height) + 1, round(y1 * height)))
    cols = slice(round(x0 * width), max(round(x0 * width) + 1, round(x1 * width)))
    picture = rgb.astype(np.float32)
    picture[rows, cols] += _TINT * (_TINT_RGB - picture[rows, cols])
    drawn = np.clip(picture + 0.5, 0, 255).astype(np.uint8)
    return draw_outline(drawn, zone)


def zone_picture(path: Path, at_s: float, zone: Box, masks: tuple[Polygon, ...] = ()) -> bytes:
    """JPEG of the clip's picture at at_s with the zone drawn; privacy masks stay black."""
    return encode_array_jpeg(draw_zone(frame_at(path, at_s), zone), PICTURE_MAX_WIDTH, masks)
