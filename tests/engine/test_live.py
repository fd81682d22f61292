"""The live feed: nothing kept while nobody watches, paced frames and one shared encode."""

from fractions import Fraction
import io

import av
from av.video.frame import VideoFrame
import numpy as np

from custom_components.hearthcam.engine.live import LiveFeed

LEFT_HALF = ((0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0))


def _frame(index: int, fps: int = 15, grey: int = 180) -> VideoFrame:
    """A 320x240 frame at stream time index / fps."""
    frame = VideoFrame.from_ndarray(np.full((240, 320, 3), grey, np.uint8), format="rgb24")
    frame = frame.reformat(format="yuv420p")
    frame.pts = index
    frame.time_base = Fraction(1, fps)
    return frame


def _grey(jpeg: bytes) -> np.ndarray:
    with av.open(io.BytesIO(jpeg), "r") as container:
        return next(container.decode(video=0)).to_ndarray(format="gray")


def _watched(feed: LiveFeed) -> bool:
    """Whether anyone watches (a call, so that type narrowing does not stick across calls)."""
    return feed.watched


def test_nothing_is_kept_while_nobody_watches() -> None:
    """Offered frames are dropped without a viewer; a viewer that leaves lets the frame go."""
    feed = LiveFeed()
    for index in range(30):
        feed.offer(_frame(index))
    assert not _watched(feed)
    assert feed.latest_jpeg() is None
    calls: list[int] = []
    stop = feed.watch(lambda: calls.append(1))
    assert _watched(feed)
    feed.offer(_frame(30))
    assert calls == [1]
    assert feed.latest_jpeg() is not None
    stop()
    assert not _watched(feed)
    assert feed.latest_jpeg() is None


def test_frames_are_paced_by_stream_time() -> None:
    """Two seconds of 15 fps offered to a 10 fps feed give 20 frames to each viewer."""
    feed = LiveFeed(fps=10.0)
    first: list[int] = []
    second: list[int] = []
    feed.watch(lambda: first.append(1))
    feed.watch(lambda: second.append(1))
    for index in range(30):
        feed.offer(_frame(index))
    assert len(first) == len(second) == 20


def test_one_encode_per_frame_with_masks_painted() -> None:
    """Viewers asking for the same frame share one JPEG; the masked half is black."""
    feed = LiveFeed(masks=(LEFT_HALF,))
    feed.watch(lambda: None)
    feed.offer(_frame(0))
    first = feed.latest_jpeg()
    again = feed.latest_jpeg()
    assert first is not None
    assert again is first  # the same object: encoded once
    grey = _grey(first[1])
    assert grey.shape == (240, 320)
    assert grey[:, :150].max() < 16
    assert grey[:, 170:].min() > 150
    feed.offer(_frame(3))
    newer = feed.latest_jpeg()
    assert newer is not None
    assert newer[0] == first[0] + 1


def test_wide_frames_are_scaled_down() -> None:
    """Frames wider than the live view's width are scaled to it, keeping the aspect ratio."""
    feed = LiveFeed(max_width=160)
    feed.watch(lambda: None)
    feed.offer(_frame(0))
    latest = feed.latest_jpeg()
    assert latest is not None
    assert _grey(latest[1]).shape == (120, 160)
