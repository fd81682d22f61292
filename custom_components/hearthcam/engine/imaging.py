"""Still images: JPEG encoding of decoded frames and of numpy arrays, with FFmpeg only."""

from fractions import Fraction
from typing import Final

import av
from av.video.frame import VideoFrame
import numpy as np

from .motion import Box
from .regions import Polygon, fill_polygons

# Clip thumbnails (recorded, recovered and rebuilt alike): wide enough for a media browser tile.
THUMBNAIL_MAX_WIDTH: Final = 480
# FFmpeg's MJPEG quantiser scale: 2 is near-lossless, 31 worst; 4 keeps thumbnails small and sharp.
_JPEG_QSCALE = 4
# The motion outline: amber, which stands out on day and on night (grey) pictures alike.
OUTLINE_RGB: Final = (255, 176, 0)
# Line width in pixels per 160 pixels of picture width (3 px on a 480 px thumbnail).
_OUTLINE_PER_160_PX: Final = 1


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def draw_outline(rgb: np.ndarray, box: Box) -> np.ndarray:
    """Draw the outline of a normalised box on an H x W x 3 image, in place; return it."""
    height, width = rgb.shape[:2]
    line = max(2, width * _OUTLINE_PER_160_PX // 160)
    x0, y0, x1, y1 = box
    left = min(width - 1, max(0, round(x0 * width)))
    top = min(height - 1, max(0, round(y0 * height)))
    right = max(left + 1, min(width, round(x1 * width)))
    bottom = max(top + 1, min(height, round(y1 * height)))
    colour = np.array(OUTLINE_RGB, np.uint8)
    rgb[top : min(bottom, top + line), left:right] = colour
    rgb[max(top, bottom - line) : bottom, left:right] = colour
    rgb[top:bottom, left : min(right, left + line)] = colour
    rgb[top:bottom, max(left, right - line) : right] = colour
    return rgb


def encode_jpeg(
    frame: VideoFrame,
    max_width: int | None = None,
    masks: tuple[Polygon, ...] = (),
    outline: Box | None = None,
    *,
    qscale: int = _JPEG_QSCALE,
) -> bytes:
    """Encode a decoded frame as JPEG, scaled down (never up) to at most max_width pixels.

    An outline (a box in 0..1) is drawn first; privacy masks are painted black after scaling,
    on the encoder's own planes, so nothing shows through a mask and their cost follows the
    output size. qscale is FFmpeg's MJPEG quantiser scale (2 near-lossless .. 31 worst).
    """
    width, height = float(frame.width), float(frame.height)
    if max_width is not None and width > max_width:
        width, height = float(max_width), height * max_width / width
    size = {"width": _even(width), "height": _even(height)}
    if outline is not None:
        rgb = draw_outline(frame.reformat(**size, format="rgb24").to_ndarray(), outline)
        frame = VideoFrame.from_ndarray(rgb, format="rgb24")
    scaled = frame.reformat(**size, format="yuvj420p")
    if masks:
        scaled = _black_out_yuv420(scaled, masks)
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width = scaled.width
    codec.height = scaled.height
    codec.pix_fmt = "yuvj420p"
    codec.time_base = Fraction(1, 25)  # required by the encoder, irrelevant for one image
    # Pinning the quantiser range gives constant quality; the default is a bitrate target.
    codec.options = {"qmin": str(qscale), "qmax": str(qscale)}
    scaled.pts = None
    packets = codec.encode(scaled) + codec.encode(None)
    return b"".join(bytes(packet) for packet in packets)


def _black_out_yuv420(frame: VideoFrame, masks: tuple[Polygon, ...]) -> VideoFrame:
    """Return a copy of a yuvj420p frame with the masks black: luma 0, chroma neutral.

    That is what black RGB converts to; chroma, at half resolution, follows its own raster.
    """
    height, width = frame.height, frame.width
    planes = frame.to_ndarray()  # luma rows, then the two chroma planes packed row after row
    planes[:height][fill_polygons(masks, height, width)] = 0
    chroma_mask = fill_polygons(masks, height // 2, width // 2)
    quarter = height // 4
    for start in (height, height + quarter):
        chroma = planes[start : start + quarter].reshape(height // 2, width // 2)
        chroma[chroma_mask] = 128
    return VideoFrame.from_ndarray(planes, format="yuvj420p")


def encode_array_jpeg(
    image: np.ndarray, max_width: int | None = None, masks: tuple[Polygon, ...] = ()
) -> bytes:
    """Encode an H x W grey or H x W x 3 RGB uint8 array as JPEG, privacy masks blacked out."""
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        msg = "expected a uint8 grey (H x W) or RGB (H x W x 3) array"
        raise ValueError(msg)
    layout = "gray" if image.ndim == 2 else "rgb24"
    frame = VideoFrame.from_ndarray(np.ascontiguousarray(image), format=layout)
    return encode_jpeg(frame, max_width, masks)
