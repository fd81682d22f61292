"""JPEG encoding of frames and arrays."""

import io

import av
from av.video.frame import VideoFrame
import numpy as np
import pytest

from custom_components.hearthcam.engine.imaging import encode_array_jpeg, encode_jpeg


def _decode(jpeg: bytes) -> VideoFrame:
    with av.open(io.BytesIO(jpeg), "r") as container:
        return next(container.decode(video=0))


def test_rgb_array_round_trips_with_its_content() -> None:
    """A JPEG of an RGB array decodes to the same size and, within JPEG loss, the same image."""
    image = np.zeros((120, 160, 3), np.uint8)
    image[:, 80:] = (200, 30, 30)  # right half red
    frame = _decode(encode_array_jpeg(image))
    assert (frame.width, frame.height) == (160, 120)
    decoded = frame.to_ndarray(format="rgb24").astype(int)
    assert np.abs(decoded[10:110, 90:150] - (200, 30, 30)).max() < 16
    assert decoded[10:110, 10:70].max() < 16


def test_grey_array_and_downscaling_keep_the_aspect_ratio() -> None:
    """Grey arrays encode too; max_width scales down to even dimensions, never up."""
    grey = np.full((360, 640), 128, np.uint8)
    small = _decode(encode_array_jpeg(grey, max_width=320))
    assert (small.width, small.height) == (320, 180)
    same = _decode(encode_array_jpeg(grey, max_width=1000))
    assert (same.width, same.height) == (640, 360)


def test_decoded_video_frame_encodes() -> None:
    """A frame decoded from H.264 footage (yuv420p) encodes to a valid JPEG."""
    frame = VideoFrame.from_ndarray(np.full((240, 320, 3), 90, np.uint8), format="rgb24")
    frame = frame.reformat(format="yuv420p")
    jpeg = encode_jpeg(frame, max_width=160)
    assert jpeg.startswith(b"\xff\xd8")
    assert jpeg.endswith(b"\xff\xd9")
    assert _decode(jpeg).width == 160


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.float32), np.zeros((2, 2, 2, 2), np.uint8)])
def test_rejects_arrays_it_cannot_encode(bad: np.ndarray) -> None:
    """Wrong dtype or rank is a clear error, not an FFmpeg crash."""
    with pytest.raises(ValueError, match="uint8"):
        encode_array_jpeg(bad)
