"""The export benchmark keeps running: a quick smoke run with its JSON contract."""

import json
from pathlib import Path
import subprocess
import sys

ROOT = Path(__file__).parents[2]


def test_export_benchmark_quick_run_reports_every_figure() -> None:
    """`scripts/bench export --quick --json` times a stream copy and a masked re-encode."""
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "export", "--quick", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for kind in ("copy", "masked"):
        assert report[f"export_{kind}_wall_s"] > 0
        assert report[f"export_{kind}_cpu_s"] > 0
        assert report[f"export_{kind}_bundle_mb"] > 0
    # Re-encoding costs more than copying, whatever the machine.
    assert report["export_masked_cpu_s"] > report["export_copy_cpu_s"]
