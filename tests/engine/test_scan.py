"""The scan CLI runs the real detector over a file and reports its motion events."""

import json
from pathlib import Path
import subprocess
import sys

import pytest

from custom_components.hearthcam.engine.motion import MotionResult
from custom_components.hearthcam.engine.scan import events_from, format_report, main, scan_video
from devkit.footage import MovingObject, Scene
from devkit.pytest_plugin import MakeFootage

ROOT = Path(__file__).parents[2]
# A bright person-sized box crossing from 3 s to 5 s, after the detector's warm-up.
WALKER = MovingObject(3.0, 5.0, (0.1, 0.55), (0.9, 0.5), size=(0.1, 0.35), color=(235, 235, 235))
SCENE = Scene(width=320, height=180, duration_s=12.0, seed=4, objects=(WALKER,))


def test_scan_reports_the_walker_as_one_event(make_footage: MakeFootage) -> None:
    """One event starts as the object appears and ends the off delay after it left."""
    report = scan_video(make_footage(SCENE))
    assert report.analysed_frames == 60  # 12 s at the default 5 fps
    assert report.analysed_shape == (180, 320)
    assert len(report.events) == 1, report.events
    event = report.events[0]
    assert 3.0 <= event.start_s <= 3.6
    assert 5.0 < event.end_s <= 11.0
    assert not event.ongoing
    assert 3.0 <= event.peak_s <= 5.0
    assert event.peak_score > 0.003
    assert event.peak_box is not None
    assert report.detector_ms_per_frame > 0
    assert "1 motion event" in format_report(report)


def test_quiet_footage_has_no_events(make_footage: MakeFootage) -> None:
    """Sensor noise alone is not motion."""
    report = scan_video(make_footage(Scene(width=320, height=180, duration_s=6.0, seed=4)))
    assert report.analysed_frames == 30
    assert report.events == ()


def test_events_from_runs_of_motion() -> None:
    """Runs of motion become events with their peak; a run still on at the end is ongoing."""
    results = [
        (0.0, MotionResult(0.0, False, None)),
        (0.2, MotionResult(0.01, True, (0.1, 0.1, 0.2, 0.2))),
        (0.4, MotionResult(0.05, True, (0.3, 0.1, 0.5, 0.4))),
        (0.6, MotionResult(0.0, False, None)),
        (0.8, MotionResult(0.02, True, None)),
        (1.0, MotionResult(0.0, True, None)),
    ]
    first, second = events_from(results)
    assert (first.start_s, first.end_s, first.peak_score, first.peak_s) == (0.2, 0.6, 0.05, 0.4)
    assert first.peak_box == (0.3, 0.1, 0.5, 0.4)
    assert not first.ongoing
    assert (second.start_s, second.end_s, second.ongoing) == (0.8, 1.0, True)
    assert second.duration_s == pytest.approx(0.2)


def test_cli_prints_json(make_footage: MakeFootage) -> None:
    """`python -m custom_components.hearthcam.engine.scan FILE --json` prints the report."""
    path = make_footage(SCENE)
    command = [sys.executable, "-m", "custom_components.hearthcam.engine.scan"]
    result = subprocess.run(
        [*command, str(path), "--json", "--sensitivity", "5"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["sensitivity"] == 5
    assert report["analysed_frames"] == 60
    assert len(report["events"]) == 1
    assert 3.0 <= report["events"][0]["start_s"] <= 3.6
    assert report["events"][0]["duration_s"] > 2.0


def test_cli_table_and_usage_errors(
    make_footage: MakeFootage, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --json the CLI prints a table of events; bad arguments are usage errors."""
    path = make_footage(SCENE)
    assert main([str(path), "--sensitivity", "3", "--display-name", "garden.mkv"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("garden.mkv: ")
    assert "sensitivity 3" in out
    assert "00:00:03." in out
    assert "1 motion event" in out
    for bad in (
        [str(path.with_name("missing.mkv"))],
        [str(path), "--sensitivity", "11"],
        [str(path), "--fps", "0"],
    ):
        with pytest.raises(SystemExit) as exit_info:
            main(bad)
        assert exit_info.value.code == 2
    assert "no such file" in capsys.readouterr().err


def test_cli_reports_files_it_cannot_decode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file that is not a video ends with status 1 and a message, not a traceback."""
    junk = tmp_path / "junk.mkv"
    junk.write_bytes(b"not a video at all" * 100)
    assert main([str(junk)]) == 1
    assert "cannot scan" in capsys.readouterr().err
