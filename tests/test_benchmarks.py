"""The benchmarks keep running: a quick smoke run of each suite with its JSON contract."""

import json
from pathlib import Path
import subprocess
import sys
from typing import Any

ROOT = Path(__file__).parents[1]
PIPELINE_FIGURES = {
    "decode_floor_cpu_s",
    "pipeline_cpu_ratio_1080p",
    "pipeline_cpu_ratio_360p",
    "record_overhead_ratio",
    "rss_mb_per_camera",
    "realtime_factor_8_cameras",
}


def _bench_json(*args: str) -> dict[str, Any]:
    """Run `python -m benchmarks ARGS --json` and return the JSON it printed."""
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", *args, "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_pipeline_benchmark_quick_run_reports_every_figure() -> None:
    """`scripts/bench pipeline --quick --json` prints one JSON object with every figure."""
    report = _bench_json("pipeline", "--quick")
    assert set(report) >= PIPELINE_FIGURES
    assert report["decode_floor_cpu_s"] > 0
    assert report["pipeline_cpu_ratio_1080p"] >= 1.0  # the pipeline includes the decode
    assert report["rss_mb_per_camera"] > 0
    assert 0 < report["realtime_factor_8_cameras"] < 1.0
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
