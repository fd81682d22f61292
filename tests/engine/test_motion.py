"""The motion detector: hysteresis, light compensation, masks and settings, on synthetic frames.

Each test drives the detector with frames built in numpy, so it checks one behaviour exactly;
tests/engine/test_motion_footage.py runs the same guards on real encoded footage.
"""

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pytest

from custom_components.hearthcam.engine.motion import (
    MotionDetector,
    MotionResult,
    MotionSettings,
)
from custom_components.hearthcam.engine.regions import Regions, parse_polygons

HEIGHT, WIDTH = 180, 320
FPS = 5.0
WARMUP_FRAMES = 15  # 3 s at 5 fps: past the 2 s warm-up

type Painter = Callable[[np.ndarray, int], None]


def _texture(seed: int = 0) -> np.ndarray:
    """A textured grey background (smooth blobs plus fine grain), as a float image."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(60, 180, (HEIGHT // 20 + 1, WIDTH // 20 + 1))
    smooth = np.kron(coarse, np.ones((20, 20)))[:HEIGHT, :WIDTH]
    return smooth + rng.normal(0, 12, (HEIGHT, WIDTH))


def _frames(
    count: int, paint: Painter | None = None, noise: float = 2.0, seed: int = 1
) -> Iterable[np.ndarray]:
    """Frames of the textured background with sensor noise, each optionally painted on."""
    rng = np.random.default_rng(seed)
    base = _texture()
    for index in range(count):
        image = base + rng.normal(0, noise, base.shape)
        if paint is not None:
            paint(image, index)
        yield np.clip(image, 0, 255).astype(np.uint8)


def _run(detector: MotionDetector, frames: Iterable[np.ndarray]) -> list[MotionResult]:
    return [detector.analyse(frame, index / FPS) for index, frame in enumerate(frames)]


def _walker(start: int, stop: int, speed_px: int = 8, value: float = 230.0) -> Painter:
    """An occluding 20 x 50 px object crossing left to right during frames [start, stop)."""

    def paint(image: np.ndarray, index: int) -> None:
        if start <= index < stop:
            x = 10 + (index - start) * speed_px
            image[60:110, x : x + 20] = value

    return paint


def test_quiet_noisy_scene_never_fires() -> None:
    """Sensor noise alone moves no cell."""
    results = _run(MotionDetector(), _frames(100, noise=4.0))
    assert not any(r.motion for r in results)
    assert max(r.score for r in results) == 0.0


def test_walker_starts_quickly_and_ends_after_the_off_delay() -> None:
    """Two frames with movement start motion; off_delay_s without movement ends it."""
    detector = MotionDetector(MotionSettings(off_delay_s=1.0))
    results = _run(detector, _frames(60, _walker(20, 40)))
    on = [i for i, r in enumerate(results) if r.motion]
    assert on[0] in {20, 21}  # a large object starts at once, otherwise on the second frame
    assert on[-1] == 39 + 4  # motion ends 1 s (5 frames) after the last frame with the object
    assert on == list(range(on[0], on[-1] + 1))
    box = results[30].box
    assert box is not None
    # The object spans x = 90..110 px of 320 and y = 60..110 px of 180 at frame 30.
    assert box[0] == pytest.approx(90 / 320, abs=0.03)
    assert box[2] == pytest.approx(110 / 320, abs=0.03)
    assert box[1] == pytest.approx(60 / 180, abs=0.05)
    assert box[3] == pytest.approx(110 / 180, abs=0.05)


def test_nothing_fires_during_warm_up_and_reset_starts_it_again() -> None:
    """The first 2 s after a start or reset only teach the background."""
    detector = MotionDetector()
    results = _run(detector, _frames(9, _walker(2, 9)))
    assert not any(r.motion for r in results)
    assert detector.calibrating
    detector.reset()
    assert detector.calibrating
    assert detector.analyse(next(iter(_frames(1))), 100.0) == MotionResult(0.0, False, None)


def test_single_frame_blip_does_not_start_motion() -> None:
    """A small change in one frame (an insect, a compression glitch) is not motion."""

    def blip(image: np.ndarray, index: int) -> None:
        if index == 30:
            image[80:95, 100:120] = 220

    results = _run(MotionDetector(), _frames(40, blip))
    assert results[30].score > 0
    assert not any(r.motion for r in results)


@pytest.mark.parametrize("gain", [0.5, 1.6])
def test_sudden_global_light_change_recalibrates_without_firing(gain: float) -> None:
    """Lights on/off or an IR switch: the whole picture changes, motion does not start."""

    def switch(image: np.ndarray, index: int) -> None:
        if index >= 30:
            image *= gain

    detector = MotionDetector()
    results = _run(detector, _frames(60, switch))
    assert not any(r.motion for r in results)


def test_slow_exposure_ramp_does_not_fire() -> None:
    """The camera's exposure drifting by half over 10 s is followed, not reported."""

    def ramp(image: np.ndarray, index: int) -> None:
        image *= 1.0 + 0.5 * min(1.0, max(0.0, (index - 20) / 50))

    results = _run(MotionDetector(), _frames(100, ramp))
    assert not any(r.motion for r in results)


def test_local_light_pool_sweeping_across_does_not_fire() -> None:
    """A soft pool of light (headlights) brightens what it passes but hides nothing."""
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH]

    def headlights(image: np.ndarray, index: int) -> None:
        if 20 <= index < 35:
            cx = (index - 20) * 20
            pool = np.exp(-(((xs - cx) / 45.0) ** 2 + ((ys - 100) / 30.0) ** 2))
            image *= 1.0 + 0.8 * pool

    results = _run(MotionDetector(), _frames(50, headlights))
    assert not any(r.motion for r in results)


def test_walker_is_still_found_after_a_light_change() -> None:
    """After recalibrating, the detector sees the next object as usual."""

    def scene(image: np.ndarray, index: int) -> None:
        if index >= 20:
            image *= 1.5
        _walker(40, 60)(image, index)

    results = _run(MotionDetector(), _frames(70, scene))
    on = [i for i, r in enumerate(results) if r.motion]
    assert on
    assert 40 <= on[0] <= 41


def test_flickering_region_is_tolerated_but_a_walker_beside_it_is_not() -> None:
    """Cells that keep toggling (foliage) stop counting; movement elsewhere still counts."""
    rng = np.random.default_rng(7)
    leaves = rng.uniform(40, 220, (60, 80))

    def foliage(image: np.ndarray, index: int) -> None:
        shift = round(4 * np.sin(index * 1.3))
        image[10:70, 200:280] = np.roll(leaves, shift, axis=1)

    detector = MotionDetector()
    quiet = _run(detector, _frames(80, foliage))
    assert not any(r.motion for r in quiet[WARMUP_FRAMES + 10 :])

    def foliage_and_walker(image: np.ndarray, index: int) -> None:
        foliage(image, index + 80)
        _walker(0, 15)(image, index)

    results = [
        detector.analyse(frame, 16 + i / FPS)
        for i, frame in enumerate(_frames(20, foliage_and_walker))
    ]
    assert any(r.motion for r in results[:3])


def test_object_that_stays_becomes_background() -> None:
    """A parked car is motion at first, then absorbed, so motion ends."""

    def parked(image: np.ndarray, index: int) -> None:
        if index >= 20:
            image[100:150, 50:150] = 40

    detector = MotionDetector(MotionSettings(absorb_s=5.0, off_delay_s=1.0))
    results = _run(detector, _frames(20 + 150, parked))
    assert results[21].motion
    assert not results[-1].motion


def test_ghost_of_an_object_that_left_settles_within_seconds() -> None:
    """A car parked since before the start drives off: its ghost does not hold motion on."""

    def parked_then_gone(image: np.ndarray, index: int) -> None:
        if index < 25:
            image[100:150, 50:150] = 40

    detector = MotionDetector(MotionSettings(off_delay_s=1.0))
    results = _run(detector, _frames(25 + 50, parked_then_gone))
    on = [i for i, r in enumerate(results) if r.motion]
    assert on  # leaving is a change worth reporting...
    assert on[-1] < 25 + 6 * 5  # ...but it is over within 6 s, not after absorb_s (30 s)


def test_privacy_mask_hides_movement_and_zones_limit_it() -> None:
    """Movement under a mask or outside every zone is ignored; elsewhere it counts."""
    left_half = parse_polygons("0,0 0.5,0 0.5,1 0,1")
    walker_left = _walker(20, 30, speed_px=2)  # stays around x = 10..50 px
    masked = MotionSettings(regions=Regions(masks=left_half))
    assert not any(r.motion for r in _run(MotionDetector(masked), _frames(40, walker_left)))
    right_zone = parse_polygons("0.5,0 1,0 1,1 0.5,1")
    zoned = MotionSettings(regions=Regions(zones=right_zone))
    assert not any(r.motion for r in _run(MotionDetector(zoned), _frames(40, walker_left)))
    left_zone = MotionSettings(regions=Regions(zones=left_half))
    assert any(r.motion for r in _run(MotionDetector(left_zone), _frames(40, walker_left)))


def test_zone_smaller_than_a_cell_sees_nothing_and_does_not_fail() -> None:
    """A zone too small to cover half of any cell leaves nothing analysed: no motion, no error."""
    speck = MotionSettings(regions=Regions(zones=parse_polygons("0.5,0.5 0.501,0.5 0.5,0.501")))
    results = _run(MotionDetector(speck), _frames(40, _walker(20, 40)))
    assert not any(r.motion for r in results)


def test_small_distant_object_is_found() -> None:
    """An object of 1 % of the picture, slow and of modest contrast, still starts motion."""

    def small(image: np.ndarray, index: int) -> None:
        if index >= 20:
            x = 100 + (index - 20) * 2
            image[70:94, x : x + 24] += 60  # 24 x 24 px = 1 % of 320 x 180

    results = _run(MotionDetector(), _frames(40, small))
    on = [i for i, r in enumerate(results) if r.motion]
    assert on
    assert on[0] <= 22


def test_frame_size_change_rebuilds_the_model() -> None:
    """A new resolution (the camera changed its stream) starts a fresh warm-up."""
    detector = MotionDetector()
    _run(detector, _frames(20))
    assert not detector.calibrating
    assert detector.analyse(np.zeros((90, 160), np.uint8), 5.0).score == 0.0
    assert detector.calibrating


def test_tiny_frames_are_refused() -> None:
    """A frame smaller than one cell cannot be analysed."""
    with pytest.raises(ValueError, match="too small"):
        MotionDetector().analyse(np.zeros((2, 2), np.uint8), 0.0)


def test_sensitivity_maps_onto_area_and_threshold() -> None:
    """Higher sensitivity needs less area and a smaller change; 5 is the defaults."""
    levels = [MotionSettings.for_sensitivity(level) for level in range(1, 11)]
    areas = [s.min_area for s in levels]
    deltas = [s.min_pixel_delta for s in levels]
    assert areas == sorted(areas, reverse=True)
    assert deltas == sorted(deltas, reverse=True)
    assert areas[0] == pytest.approx(0.02)
    assert areas[-1] == pytest.approx(0.0008)
    default = MotionSettings()
    assert levels[4].min_area == pytest.approx(default.min_area)
    assert levels[4].min_pixel_delta == pytest.approx(default.min_pixel_delta)
    assert MotionSettings.for_sensitivity(0) == levels[0]
    assert MotionSettings.for_sensitivity(99) == levels[-1]
    assert MotionSettings.for_sensitivity(5, off_delay_s=9.0).off_delay_s == 9.0


@pytest.mark.parametrize(
    "bad",
    [
        {"min_area": 0.0},
        {"cell_fill": 1.5},
        {"start_frames": 0},
        {"noise_rise_s": 0.0},
        {"instant_area": 0.0001},
        {"off_delay_s": -1.0},
    ],
)
def test_invalid_settings_are_refused(bad: dict[str, Any]) -> None:
    """Each tunable has a valid range; outside it the settings cannot be built."""
    with pytest.raises(ValueError, match=next(iter(bad))):
        MotionSettings(**bad)
