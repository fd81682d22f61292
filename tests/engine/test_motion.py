"""The frame-difference detector on decoded synthetic footage."""

import av
import numpy as np
import pytest

from custom_components.hearthcam.engine.motion import (
    FrameDifferenceDetector,
    FrameDifferenceSettings,
    MotionResult,
)
from devkit.footage import MovingObject, Scene
from devkit.pytest_plugin import MakeFootage

# Bright, so it differs from the mid-grey background in luma (the red default barely does).
WALKER = MovingObject(
    start_s=2.0, end_s=4.0, start_xy=(0.1, 0.5), end_xy=(0.9, 0.5), color=(235, 235, 235)
)


def _run(path: str, detector: FrameDifferenceDetector) -> list[tuple[float, MotionResult]]:
    results = []
    with av.open(path) as container:
        for frame in container.decode(video=0):
            grey = frame.to_ndarray(format="gray")
            assert frame.time is not None
            results.append((frame.time, detector.analyse(grey, frame.time)))
    return results


def test_detects_a_walker_and_stops_after_the_off_delay(make_footage: MakeFootage) -> None:
    """Motion starts shortly after the object appears and ends off_delay after it leaves."""
    path = make_footage(Scene(width=320, height=180, duration_s=7.0, objects=(WALKER,)))
    detector = FrameDifferenceDetector(FrameDifferenceSettings(off_delay_s=1.0))
    results = _run(str(path), detector)

    on = [t for t, r in results if r.motion]
    assert on, "no motion detected"
    assert 2.0 <= on[0] <= 2.4  # start_frames=2 at 15 fps
    assert 4.8 <= on[-1] <= 5.3  # object gone at 4 s, plus the 1 s off delay
    during = [r for t, r in results if 2.2 < t < 3.8]
    assert all(r.box is not None for r in during)
    # The box follows the object across the frame.
    first_box, last_box = during[0].box, during[-1].box
    assert first_box is not None
    assert last_box is not None
    assert first_box[0] < 0.3
    assert last_box[2] > 0.6


def test_static_noisy_scene_has_no_motion(make_footage: MakeFootage) -> None:
    """Sensor noise alone never reaches the area threshold."""
    path = make_footage(Scene(width=320, height=180, duration_s=3.0, noise_sigma=3.0))
    results = _run(str(path), FrameDifferenceDetector())
    assert not any(r.motion for _, r in results)
    assert max(r.score for _, r in results) < 0.002


def test_reset_and_resolution_change_forget_the_previous_frame() -> None:
    """After reset (or a new frame size) the next frame only becomes the reference."""
    detector = FrameDifferenceDetector(FrameDifferenceSettings(start_frames=1))
    black, white = np.zeros((20, 20), np.uint8), np.full((20, 20), 255, np.uint8)
    detector.analyse(black, 0.0)
    assert detector.analyse(white, 0.1).motion
    detector.reset()
    assert detector.analyse(black, 0.2) == MotionResult(0.0, False, None)
    assert detector.analyse(np.zeros((10, 10), np.uint8), 0.3).score == 0.0


@pytest.mark.parametrize(("x0", "x1"), [(0, 5), (15, 20)])
def test_box_is_normalised(x0: int, x1: int) -> None:
    """The box covers exactly the changed pixels, in 0..1 coordinates."""
    detector = FrameDifferenceDetector(FrameDifferenceSettings(start_frames=1, min_area=0.01))
    before = np.zeros((10, 20), np.uint8)
    after = before.copy()
    after[2:4, x0:x1] = 200
    detector.analyse(before, 0.0)
    result = detector.analyse(after, 0.1)
    assert result.box == (x0 / 20, 0.2, x1 / 20, 0.4)
