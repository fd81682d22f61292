"""The scenario suite: deterministic per seed, labelled correctly, and physically plausible."""

import itertools
from pathlib import Path

import av
import numpy as np
import pytest

from devkit.scenarios import (
    KEYFRAME_INTERVAL_S,
    NEGATIVES,
    NUISANCES,
    ONSET_AREA,
    POSITIVES,
    SCENARIOS,
    WARMUP_S,
    Canvas,
    ground_truth,
    is_negative,
    render_frames,
    render_scenario,
)

SMALL = Canvas(width=320, height=180)


def luma(frame: np.ndarray) -> np.ndarray:
    """Grey level of an RGB frame, as float."""
    return np.asarray(frame @ np.array([0.299, 0.587, 0.114]), float)


def decoded(path: Path) -> list[np.ndarray]:
    """Every frame of a file as RGB."""
    with av.open(path) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def test_suite_has_every_labelled_scenario() -> None:
    """The suite's negatives and positives are all there, labelled as such."""
    assert set(NEGATIVES) == {
        "sensor_noise",
        "exposure_ramp",
        "ir_switch",
        "lights_on_off",
        "headlight_sweep",
        "rain",
        "snow",
        "foliage",
        "exposure_hunting",
        "keyframe_pulse",
        "frame_glitches",
    }
    assert NUISANCES == ("lens_insect",)
    assert set(POSITIVES) == {
        "walker",
        "small_walker",
        "slow_walker",
        "car",
        "edge_entry",
        "rain_walker",
    }
    assert all(12 <= spec.duration_s <= 20 for spec in SCENARIOS.values())
    assert is_negative("rain")
    assert not is_negative("rain_walker")


def test_frames_are_deterministic_per_seed() -> None:
    """The same name and seed render identical frames; another seed renders another scene."""
    canvas = Canvas(width=320, height=180, duration_s=0.4)
    first = list(render_frames("rain", 1, canvas))
    again = list(render_frames("rain", 1, canvas))
    other = list(render_frames("rain", 2, canvas))
    assert len(first) == 6
    assert first[0].shape == (180, 320, 3)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0], other[0])


def test_rendered_file_is_cached_and_identical_across_renders(tmp_path: Path) -> None:
    """A render is encoded once per key; rendering again elsewhere gives the same bytes."""
    canvas = Canvas(width=320, height=180, duration_s=1.0)
    a = render_scenario("snow", 0, tmp_path / "a", canvas)
    b = render_scenario("snow", 0, tmp_path / "b", canvas)
    assert a.read_bytes() == b.read_bytes()
    mtime = a.stat().st_mtime_ns
    assert render_scenario("snow", 0, tmp_path / "a", canvas) == a
    assert a.stat().st_mtime_ns == mtime  # served from the cache
    frames = decoded(a)
    assert len(frames) == 15
    assert frames[0].shape == (180, 320, 3)
    with pytest.raises(KeyError):
        render_scenario("no_such_scenario", 0, tmp_path)


@pytest.mark.parametrize("name", POSITIVES)
def test_positives_have_one_event_after_the_warm_up(name: str) -> None:
    """Each positive has one true event, starting after the warm-up and within the clip."""
    duration = SCENARIOS[name].duration_s
    for seed in (0, 1):
        truth = ground_truth(name, seed, SMALL)
        assert len(truth) == 1, truth
        start, end = truth[0]
        assert WARMUP_S <= start < end <= duration
        assert end - start >= 1.5  # even the car is in view for a while


def test_negatives_have_no_events() -> None:
    """Negatives are negatives whatever the seed."""
    for name in (*NEGATIVES, *NUISANCES):
        assert ground_truth(name, 0, SMALL) == []


def test_exposure_hunting_steps_right_after_connecting_and_again() -> None:
    """Exposure moves by 15-30 % within 2 s, first just after 2 s, and more than once."""
    frames = [luma(f).mean() for f in render_frames("exposure_hunting", 3, SMALL)]
    fps = SMALL.fps
    first_change = next(i for i, m in enumerate(frames) if abs(m / frames[0] - 1) > 0.01) / fps
    assert 2.0 <= first_change <= 2.7
    over_two_s = [frames[i + 2 * fps] / frames[i] for i in range(len(frames) - 2 * fps)]
    assert max(over_two_s) > 1.12  # steps up (clipping trims the brightest pixels a little)
    steps = sum(1 for a, b in itertools.pairwise(over_two_s) if a < 1.05 <= b)
    assert steps >= 2


def test_keyframe_pulse_jumps_at_every_keyframe() -> None:
    """Each keyframe is brighter than the frame before it; frames within a GOP fade."""
    frames = [luma(f).mean() for f in render_frames("keyframe_pulse", 3, SMALL)]
    gop = round(KEYFRAME_INTERVAL_S * SMALL.fps)
    jumps = [frames[k] / frames[k - 1] for k in range(gop, len(frames), gop)]
    fades = [frames[k + 1] / frames[k] for k in range(gop, len(frames) - 1, gop)]
    assert min(jumps) > 1.02
    assert max(fades) < 1.0


def test_frame_glitches_repeat_drop_and_jump(tmp_path: Path) -> None:
    """The file repeats pictures, skips scene time and its clock jumps forward by seconds."""
    frames = list(render_frames("frame_glitches", 3, SMALL))
    assert sum(np.array_equal(a, b) for a, b in itertools.pairwise(frames)) >= 4
    path = render_scenario("frame_glitches", 3, tmp_path, SMALL)
    with av.open(path) as container:
        times = [float(f.time) for f in container.decode(video=0) if f.time is not None]
    gaps = np.diff(times)
    assert (gaps > 0).all()
    assert (gaps >= 1.0).sum() >= 1  # a jump of the camera's clock


def test_lens_insect_is_bright_and_moves_only_near_the_lens() -> None:
    """The web and the moth are far brighter than the IR-lit scene; the moth comes and goes."""
    frames = [luma(f) for f in render_frames("lens_insect", 3, SMALL)]
    bright = [float((f > 240).mean()) for f in frames]
    assert min(bright) > 0.001  # the web, always there
    assert max(bright) - min(bright) > 0.005  # the moth, at times


def test_ground_truth_matches_the_pixels() -> None:
    """Outside the true event only noise changes the walker scene; inside it, an object does."""
    ((start, end),) = ground_truth("walker", 0, SMALL)
    frames = [luma(f) for f in render_frames("walker", 0, SMALL)]
    fps = SMALL.fps
    reference = frames[fps]  # t = 1 s, quiet
    before = np.abs(frames[int(start * fps) - 3] - reference) > 30
    during = np.abs(frames[int((start + end) / 2 * fps)] - reference) > 30
    assert before.mean() < 0.001
    assert during.mean() > 3 * ONSET_AREA


def test_light_is_multiplicative_and_keeps_the_texture() -> None:
    """An exposure ramp changes brightness by tens of percent but keeps the scene's texture."""
    frames = list(render_frames("exposure_ramp", 0, SMALL))
    early, late = luma(frames[15]), luma(frames[-1])
    ratio = late.mean() / early.mean()
    assert abs(ratio - 1) > 0.25
    assert np.corrcoef(early.ravel(), late.ravel())[0, 1] > 0.95


def test_ir_switch_turns_grey_and_remaps_luma_unevenly() -> None:
    """After the switch the picture is grey and not a uniform scaling of the colour one."""
    frames = list(render_frames("ir_switch", 0, SMALL))
    before, after = frames[15].astype(float), frames[-1].astype(float)
    assert np.abs(before[..., 0] - before[..., 2]).mean() > 3  # colour
    assert np.abs(after[..., 0] - after[..., 2]).mean() < 0.5  # grey
    gain = (luma(after) + 1) / (luma(before) + 1)
    assert gain.std() > 0.2  # the remap varies across the picture


def test_weather_and_foliage_move_from_the_first_frames() -> None:
    """Rain, snow and foliage change the picture well beyond noise from the start."""
    for name in ("rain", "snow", "foliage"):
        frames = list(render_frames(name, 0, Canvas(width=320, height=180, duration_s=1.0)))
        changed = np.abs(luma(frames[6]) - luma(frames[0])) > 20
        assert changed.mean() > 0.002, name
