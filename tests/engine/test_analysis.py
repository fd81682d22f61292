"""Frame pacing and the grey downscale that feeds the detector."""

import av
from av.video.frame import VideoFrame
import numpy as np
import pytest

from custom_components.hearthcam.engine.analysis import FramePacer, grey_thumbnail


def test_pacer_passes_an_exact_subset_of_a_steady_stream() -> None:
    """15 fps in, 5 fps out: every third frame, with no drift over a long run."""
    pacer = FramePacer(5.0)
    passed = [i for i in range(15 * 60) if pacer.due(i / 15)]
    assert len(passed) == 5 * 60
    assert passed[:4] == [0, 3, 6, 9]


def test_pacer_does_not_burst_after_a_gap_and_rearms_after_a_restart() -> None:
    """After a 3 s gap it does not catch up with a burst; a jump back (reconnect) re-arms it."""
    pacer = FramePacer(5.0)
    assert pacer.due(0.0)
    assert pacer.due(3.0)
    assert not pacer.due(3.05)
    assert pacer.due(3.2)
    assert pacer.due(0.5)  # stream restarted at an earlier time
    with pytest.raises(ValueError, match="positive"):
        FramePacer(0)


def _frame(width: int, height: int, fmt: str) -> VideoFrame:
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    return VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=fmt)


@pytest.mark.parametrize(
    ("fmt", "limited_range"), [("yuv420p", True), ("nv12", True), ("rgb24", False)]
)
def test_grey_thumbnail_is_the_decimated_luma(fmt: str, *, limited_range: bool) -> None:
    """The thumbnail is a view of the luma, every n-th pixel (FFmpeg's grey as reference)."""
    frame = _frame(1280, 720, fmt)
    small = grey_thumbnail(frame, 320)
    assert small.shape == (180, 320)
    assert small.base is not None  # a view into the frame's plane: nothing copied
    reference = frame.reformat(format="gray").to_ndarray()[::4, ::4].astype(float)
    luma = small.astype(float)
    if limited_range:  # video luma is 16..235; FFmpeg's gray is full range
        luma = (luma - 16) * 255 / 219
    assert np.abs(luma - reference).max() <= 2


def test_grey_thumbnail_handles_padded_lines_and_small_frames() -> None:
    """Line padding (line_size > width) never leaks in; frames narrower than the target stay."""
    frame = _frame(330, 200, "yuv420p")
    assert frame.planes[0].line_size > 330
    assert grey_thumbnail(frame, 320).shape == (200, 330)
    assert grey_thumbnail(frame, 100).shape == (67, 110)


def test_decoded_h264_frame() -> None:
    """Real decoded frames work too (their planes are FFmpeg buffers)."""
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = 64, 48, "yuv420p"
    packets = codec.encode(_frame(64, 48, "yuv420p")) + codec.encode(None)
    decoder = av.CodecContext.create("h264", "r")
    frames = [f for p in packets for f in decoder.decode(p)] + decoder.decode(None)
    assert grey_thumbnail(frames[0], 32).shape == (24, 32)
