"""The benchmarks keep running: a quick smoke run of each suite with its JSON contract."""

import json
from pathlib import Path
import subprocess
import sys
from typing import Any

import pytest

from devkit.pytest_plugin import LIVE555_GROUP

ROOT = Path(__file__).parents[1]
PIPELINE_FIGURES = {
    "decode_floor_cpu_s",
    "pipeline_cpu_ratio_1080p",
    "pipeline_cpu_ratio_360p",
    "record_overhead_ratio",
    "rss_mb_per_camera",
    "realtime_factor_8_cameras",
    "pipeline_cpu_ratio_1080p_vs_default_decode",
    "detector_ms_per_frame",
    "live_cpu_ratio_720p",
    "low_power_cpu_ratio_static_1080p",
    "low_power_onset_extra_s_median",
    "scan_cpu_ratio_1080p",
    "scan_cpu_ratio_360p",
}


def _bench_json(*args: str) -> dict[str, Any]:
    """Run `python -m benchmarks ARGS --json` and return the JSON it printed."""
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", *args, "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


@pytest.mark.timeout(600)  # every figure runs in its own child process, live ones in real time
@pytest.mark.xdist_group(LIVE555_GROUP)  # the live figure's live555 takes the one RTSP port
def test_pipeline_benchmark_quick_run_reports_every_figure() -> None:
    """`scripts/bench pipeline --quick --json` prints one JSON object with every figure."""
    report = _bench_json("pipeline", "--quick")
    assert set(report) >= PIPELINE_FIGURES
    assert report["decode_floor_cpu_s"] > 0
    assert report["pipeline_cpu_ratio_1080p"] >= 1.0  # the pipeline includes the decode
    assert report["scan_cpu_ratio_1080p"] >= 1.0  # so does the cross-check through scan
    assert report["rss_mb_per_camera"] > 0
    assert 0 < report["realtime_factor_8_cameras"] < 1.0
    # Every figure is process CPU, and the worker's threads account for all of it.
    assert report["cpu_accounted"] is True
    assert report["live_cpu_ratio_720p"] > 0
    assert report["low_power_onset_events"] == report["onset_scenes"]
    assert set(report["meets_targets"]) == set(report["targets"])


def test_accuracy_benchmark_reports_every_method(tmp_path: Path) -> None:
    """`scripts/bench accuracy --json` on a small subset prints the accuracy contract."""
    report = _bench_json(
        "accuracy",
        "--scenarios",
        "car,rain,lens_insect",
        "--seeds",
        "1",
        "--size",
        "320x180",
        "--cache-dir",
        str(tmp_path),
    )
    assert set(report["accuracy"]) == {
        "hearthcam",
        "ffmpeg_scene",
        "frigate_style",
        "frigate_plain",
    }
    for figures in report["accuracy"].values():
        assert {"recall", "precision", "latency_p50_s", "latency_p90_s"} <= set(figures)
        assert figures["per_scenario"]["rain"]["true_events"] == 0
        assert figures["per_scenario"]["car"]["true_events"] == 1
    assert report["detector_ms_per_frame"] > 0
    assert report["suite"]["clips"] == 2  # the scored ones
    # The insect at the lens is run and reported per method, apart from the scores.
    assert set(report["nuisances"]["lens_insect"]) == set(report["accuracy"])
    assert report["nuisances"]["lens_insect"]["hearthcam"]["clips"] == 1
    assert set(report["meets_targets"]) == set(report["targets"])


def test_export_benchmark_quick_run_reports_every_figure() -> None:
    """`scripts/bench export --quick --json` times a stream copy and a masked re-encode."""
    report = _bench_json("export", "--quick")
    for kind in ("copy", "masked"):
        assert report[f"export_{kind}_wall_s"] > 0
        assert report[f"export_{kind}_cpu_s"] > 0
        assert report[f"export_{kind}_bundle_mb"] > 0
    # Re-encoding costs more than copying, whatever the machine.
    assert report["export_masked_cpu_s"] > report["export_copy_cpu_s"]


@pytest.mark.xdist_group(LIVE555_GROUP)  # its live555 takes the one RTSP port
def test_live_view_benchmark_quick_run_reports_every_figure() -> None:
    """`scripts/bench live_view --quick --json`: CPU with one viewer against nobody watching."""
    report = _bench_json("live_view", "--quick")
    assert report["cpu_cores_nobody_watching"] > 0
    assert report["cpu_cores_one_viewer"] > 0
    assert report["live_view_cpu_ratio"] > 0
    assert report["live_view_fps"] > 0
    assert report["live_view_kb_per_frame"] > 0
    assert set(report["meets_targets"]) == set(report["targets"])


def test_feedback_benchmark_quick_run_scores_unseen_days(tmp_path: Path) -> None:
    """`scripts/bench feedback --quick --json`: flagged days tune, unseen days score it."""
    report = _bench_json("feedback", "--quick", "--cache-dir", str(tmp_path))
    feedback = report["feedback"]
    assert feedback["flagged"] == 3
    assert {"avoided_ratio", "true_events_lost", "per_scene", "tuner_cpu_s"} <= set(feedback)
    flag = feedback["per_scene"]["flag"]
    assert flag["suggestion"]["area"] == "upper_right"
    assert flag["unseen_false_alarms"] == 3
    assert flag["unseen_true_events"] == 2
    assert feedback["avoided_ratio"] >= 0.8
    assert feedback["true_events_lost"] == 0
    assert flag["tuner_cpu_s"] > 0
    assert set(feedback["meets_targets"]) == set(feedback["targets"])
