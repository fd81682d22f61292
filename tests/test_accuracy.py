"""The accuracy harness: scoring rules, both baselines on real footage, and the plumbing."""

from pathlib import Path

import numpy as np
import pytest

from benchmarks.accuracy import METHODS, Config, run, score_clip, summarise, table
from benchmarks.baseline_ffmpeg import ffmpeg_scene_events, scene_change_times
from benchmarks.baseline_frigate import component_areas, frigate_style_events
from benchmarks.common import hold_events
from devkit.footage import LightChange, MovingObject, Scene
from devkit.pytest_plugin import MakeFootage
from devkit.scenarios import Canvas, ground_truth, render_scenario

SMALL = Canvas(width=320, height=180, duration_s=10.0)
WALKER = MovingObject(2.0, 4.0, (0.1, 0.55), (0.9, 0.5), size=(0.1, 0.35), color=(235, 235, 235))


@pytest.fixture
def scenario_dir(footage_dir: Path) -> Path:
    """Rendered scenarios, cached with the session's footage (shared by xdist workers)."""
    return footage_dir / "scenarios"


def test_a_detection_matches_from_half_a_second_before_to_the_end() -> None:
    """The match window is [start - 0.5 s, end]; latency counts from the true start, >= 0."""
    truth = [(10.0, 14.0)]
    assert score_clip(truth, [(9.5, 20.0)]).matched == 1  # the window's first instant
    assert score_clip(truth, [(9.5, 20.0)]).latencies == [0.0]  # early starts count as 0
    assert score_clip(truth, [(14.0, 20.0)]).matched == 1  # its last instant
    late = score_clip(truth, [(10.4, 12.0), (12.0, 13.0)])
    assert late.matched == 1
    assert late.latencies == [pytest.approx(0.4)]  # the earliest start in the window
    assert late.false_events == 0  # a second event inside the true one is not false
    early = score_clip(truth, [(9.49, 20.0)])
    assert early.matched == 0
    assert early.false_events == 0  # too early to match, but it does overlap the event
    after = score_clip(truth, [(14.01, 20.0)])
    assert (after.matched, after.false_events) == (0, 1)
    assert score_clip([], [(1.0, 2.0), (5.0, 6.0)]).false_events == 2  # any event on a negative


def test_summary_counts_recall_precision_and_negative_false_events() -> None:
    """Figures over clips: recall over true events, precision over detected ones."""
    tallies = {
        ("walker", 0): score_clip([(3.0, 8.0)], [(3.2, 12.0)]),
        ("walker", 1): score_clip([(3.0, 8.0)], []),
        ("rain", 0): score_clip([], [(1.0, 5.0)]),
    }
    summary = summarise(tallies, ["rain"])
    assert summary["recall"] == 0.5
    assert summary["precision"] == 0.5
    assert summary["f1"] == 0.5
    assert summary["latency_p50_s"] == 0.2
    assert summary["negative_false_events"] == 1
    per = summary["per_scenario"]
    assert isinstance(per, dict)
    assert per["walker"]["matched"] == 1
    assert per["rain"]["false_events"] == 1


def test_hold_events_merge_triggers_within_the_hold() -> None:
    """A sensor stays on for hold_s after each trigger."""
    assert hold_events([5.0, 1.0, 3.0, 20.0], 10.0) == [(1.0, 15.0), (20.0, 30.0)]


def test_component_areas_follow_the_contour_rule() -> None:
    """A w x h block encloses (w-1) x (h-1); diagonal neighbours join (8-connectivity)."""
    mask = np.zeros((12, 14), bool)
    mask[2:6, 3:9] = True  # 6 x 4: 15
    mask[8, 1] = mask[9, 2] = True  # a diagonal pair: one component
    mask[11, 5] = True  # a lone pixel: no area
    mask[7:10, 11:14] = True  # 3 x 3 at the border: 4
    assert sorted(component_areas(mask)) == [0.0, 0.0, 4.0, 15.0]
    assert len(component_areas(mask)) == 4
    assert component_areas(np.zeros((5, 5), bool)) == []


def test_ffmpeg_scene_fires_on_a_light_jump_not_on_a_walker(make_footage: MakeFootage) -> None:
    """HA's scene method: a global jump is a scene change, a person crossing is not."""
    jump = make_footage(
        Scene(width=320, height=180, duration_s=4.0, seed=2, light_changes=(LightChange(2.0, 2.0),))
    )
    times = scene_change_times(jump)
    assert times
    assert all(1.9 <= t <= 2.1 for t in times)
    ((start, end),) = ffmpeg_scene_events(jump)
    assert start == pytest.approx(times[0])
    assert end == pytest.approx(times[-1] + 10.0)
    walker = make_footage(Scene(width=320, height=180, duration_s=5.0, seed=2, objects=(WALKER,)))
    assert ffmpeg_scene_events(walker) == []


def test_frigate_style_sees_the_walker_and_holds_for_30_s(scenario_dir: Path) -> None:
    """The Frigate-style sensor turns on with the walker and stays on for mqtt_off_delay."""
    walker = render_scenario("walker", 0, scenario_dir, SMALL)
    ((true_start, _),) = ground_truth("walker", 0, SMALL)
    ((start, end),) = frigate_style_events(walker)
    assert true_start - 0.2 <= start <= true_start + 0.5
    assert end > true_start + 30.0


def test_harness_runs_every_method_on_a_small_suite(scenario_dir: Path) -> None:
    """A tiny suite goes through rendering, the three methods, scoring and timing."""
    config = Config(
        names=("walker", "lights_on_off"),
        seeds=(0,),
        canvas=SMALL,
        directory=scenario_dir,
        workers=1,
    )
    result = run(config)
    accuracy = result["accuracy"]
    assert isinstance(accuracy, dict)
    assert set(accuracy) == set(METHODS)
    for figures in accuracy.values():
        assert set(figures) >= {
            "recall",
            "precision",
            "f1",
            "latency_p50_s",
            "latency_p90_s",
            "negative_false_events",
            "per_scenario",
        }
        assert set(figures["per_scenario"]) == {"walker", "lights_on_off"}
    assert accuracy["hearthcam"]["recall"] == 1.0
    assert accuracy["ffmpeg_scene"]["negative_false_events"] >= 1  # the lamp is a scene change
    detector_ms = result["detector_ms_per_frame"]
    assert isinstance(detector_ms, float)
    assert detector_ms > 0  # measured; how fast is for the benchmarks to judge, not a test
    assert result["detector_frame_shape"] == [180, 320]
    meets, targets = result["meets_targets"], result["targets"]
    assert isinstance(meets, dict)
    assert isinstance(targets, dict)
    assert set(meets) == set(targets)
    text = table(result)
    assert "lights_on_off (neg)" in text
    assert "detector_ms_per_frame" in text
