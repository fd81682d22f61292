"""The soak's measurements (the soak itself runs a real hass for an hour: never in CI)."""

from dataclasses import replace
from datetime import UTC, datetime
import os
from pathlib import Path
import subprocess
import sys

import pytest

from benchmarks.soak import allocator_env, camera_scene, check_clips, clip_root
from benchmarks.soak_metrics import (
    ProcessSample,
    check_clip,
    cpu_cores,
    floor_slope_per_hour,
    grew,
    sample,
    slope_per_hour,
)
from benchmarks.soak_probe import pymalloc_figures
from custom_components.hearthcam.engine.clips import ClipStore
from devkit.footage import MovingObject, Scene, footage_path
from tests.engine.clipkit import record

SMALL = Scene(width=320, height=240, fps=10, duration_s=4.0, noise_sigma=3.0)


def test_process_sample_reads_this_process() -> None:
    """RSS, CPU time, threads and descriptors of a live process come from /proc."""
    reading = sample(os.getpid())
    assert reading.rss_mb > 10
    assert reading.cpu_s > 0
    assert reading.threads >= 1
    assert reading.fds >= 3


def test_growth_is_a_least_squares_slope_per_hour() -> None:
    """One MB a minute, with noise around the line, is 60 MB per hour; CPU is in cores."""
    samples = [
        ProcessSample(
            at_s=60.0 * i,
            rss_mb=100.0 + i + (0.5 if i % 2 else -0.5),
            cpu_s=30.0 * i,
            threads=20,
            fds=30,
        )
        for i in range(11)
    ]
    slope = slope_per_hour(samples)
    assert slope is not None
    assert abs(slope - 60.0) < 1.0
    assert slope_per_hour(samples[:2]) is None
    assert cpu_cores(samples[0], samples[-1]) == 0.5


def _reading(at_s: float, rss_mb: float, threads: int = 20) -> ProcessSample:
    return ProcessSample(at_s=at_s, rss_mb=rss_mb, cpu_s=0.0, threads=threads, fds=30)


def test_floor_growth_follows_the_lowest_reading_of_each_window() -> None:
    """A 20 MB saw-tooth on a flat floor reads as no growth; a rising floor as its slope."""
    tooth = [0.0, 5.0, 10.0, 15.0, 20.0, 0.0]  # one tooth a minute, sampled every 10 s
    flat = [_reading(10.0 * i, 300.0 + tooth[i % 6]) for i in range(360)]  # an hour
    assert slope_per_hour(flat) is not None
    flat_floor = floor_slope_per_hour(flat, 300.0)
    assert flat_floor is not None
    assert abs(flat_floor) < 0.01
    rising = [_reading(r.at_s, r.rss_mb + r.at_s / 360.0) for r in flat]  # 10 MB an hour
    rising_floor = floor_slope_per_hour(rising, 300.0)
    assert rising_floor is not None
    assert abs(rising_floor - 10.0) < 1.0
    assert floor_slope_per_hour(flat[:30], 300.0) is None  # two windows only


def test_a_passing_thread_is_not_growth_but_one_that_stays_is() -> None:
    """Threads grow when the last quarter's least exceeds the first half's, not its first."""
    steady = [_reading(i, 300.0, threads=28) for i in range(20)]
    # A thread that comes and goes, there at the last reading: first against last would
    # call this growth.
    passing = [_reading(i, 300.0, threads=29 if i in {3, 19} else 28) for i in range(20)]
    # Two that come and go in the second half only: comparing maxima would call this growth.
    late = [_reading(i, 300.0, threads=30 if i in {14, 15} else 28) for i in range(20)]
    staying = [_reading(i, 300.0, threads=29 if i >= 12 else 28) for i in range(20)]
    assert passing[0].threads < passing[-1].threads
    assert not grew(steady, lambda r: r.threads)
    assert not grew(passing, lambda r: r.threads)
    assert not grew(late, lambda r: r.threads)
    assert grew(staying, lambda r: r.threads)
    assert not grew([], lambda r: r.threads)


def test_clip_check_tells_a_walker_from_an_empty_yard(tmp_path: Path) -> None:
    """A clip with someone crossing shows motion; the same yard alone does not."""
    walker = MovingObject(1.0, 3.0, (0.0, 0.6), (1.0, 0.6), size=(0.09, 0.45), color=(30, 60, 150))
    crossed = check_clip(footage_path(replace(SMALL, objects=(walker,)), tmp_path, ".mp4"))
    empty = check_clip(footage_path(SMALL, tmp_path, ".mp4"))
    assert crossed.playable
    assert crossed.shows_motion
    assert empty.playable
    assert not empty.shows_motion
    assert empty.frames == 40
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 4096)
    assert not check_clip(broken).playable


def test_soak_cameras_film_the_same_yard_with_their_own_seed() -> None:
    """Four cameras, one minute each, someone crossing twice: distinct files for live555."""
    scenes = [camera_scene(i) for i in range(4)]
    assert len({scene.seed for scene in scenes}) == 4
    assert all(scene.duration_s == 60 and len(scene.objects) == 2 for scene in scenes)
    assert (scenes[0].width, scenes[0].height) == (640, 360)


def test_saved_clips_are_checked_in_the_private_store(tmp_path: Path) -> None:
    """Each saved clip is found where the integration keeps it; a missing one counts as lost."""
    walker = MovingObject(1.0, 3.0, (0.0, 0.6), (1.0, 0.6), size=(0.09, 0.45), color=(30, 60, 150))
    footage = footage_path(replace(SMALL, objects=(walker,)), tmp_path, ".mp4")
    root = clip_root(tmp_path / "config")
    store = ClipStore(root)
    store.load()
    start = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    saved = record(store, "01m971f9kvwtm2cp7wx448tet3", start, footage)
    missing = saved.clip_id.replace("010000", "020000")
    events = [{"data": {"clip_id": saved.clip_id}}, {"data": {"clip_id": missing}}]
    clips = check_clips(root, events)
    assert root.is_relative_to(tmp_path / "config" / ".cache")
    assert (clips["saved"], clips["playable"], clips["lost"]) == (2, 1, 1)
    assert clips["without_motion"] == 0


def _mapped_libraries(env: dict[str, str]) -> str:
    """Return the memory map of a fresh Python started with env added to ours."""
    script = "print(open('/proc/self/maps').read())"
    return subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_soak_hass_allocates_as_home_assistants_container_does() -> None:
    """Jemalloc (the default) is really preloaded into the child; glibc adds nothing."""
    assert allocator_env("glibc") == {}
    try:
        env = allocator_env("jemalloc")
    except FileNotFoundError:
        pytest.skip("libjemalloc2 is not installed here (scripts/setup's root has it)")
    assert "libjemalloc.so.2" in _mapped_libraries(env)
    assert "libjemalloc" not in _mapped_libraries({})


def test_probe_reads_pymallocs_arenas_and_blocks(capfd: pytest.CaptureFixture[str]) -> None:
    """25,000 small objects show as about 11 MB more in blocks; stderr is ours again after."""
    before = pymalloc_figures()
    held = [bytearray(400) for _ in range(25_000)]  # 25,000 blocks of 456 bytes: about 11 MB
    after = pymalloc_figures()
    assert len(held) == 25_000
    assert before["arenas"] >= 1
    assert after["arenas"] >= before["arenas"] + 8
    assert 9.0 <= after["allocated_blocks_mb"] - before["allocated_blocks_mb"] <= 13.0
    assert {"available_blocks_mb", "unused_pools_mb"} <= after.keys()
    os.write(2, b"still here\n")
    assert capfd.readouterr().err == "still here\n"
