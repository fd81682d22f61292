"""Soak: a real Home Assistant with four HearthCam cameras whose streams end every minute.

`scripts/bench soak --minutes N` starts live555 and `hass` with the e2e machinery, onboards,
adds four cameras through the config flow, and then only watches: the hass process's RSS, CPU,
threads and descriptors every few seconds, motion and clip events over the WebSocket API. Each
camera's footage is a noisy, static yard that someone crosses twice a minute; live555 ends the
stream at the end of the file, so every camera reconnects about once a minute. At the end it
decodes every saved clip: clips must be playable and show someone crossing. Before the cameras
are added it measures hass idle; after the run it disables them and decodes the same four
streams alone in a child process, so hass's CPU (less idle) reads as a ratio to that floor.

Home Assistant's container (and so Home Assistant OS) preloads jemalloc into hass; the soak does
the same by default (`--allocator jemalloc`), and `--allocator glibc` measures the C library's
own allocator, which a Python venv install gets. A debug-only component in the throwaway config
(benchmarks/soak_probe.py) reads the allocators inside hass when the warm-up ends and when the
run ends: Python's arenas and live blocks, glibc's heap. With --tracemalloc it also traces
Python allocations and the report lists what grew most between the two. Not part of CI.
"""

import argparse
import asyncio
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
import json
from pathlib import Path
import shutil
import sys
import time
import tracemalloc
from typing import Any

import aiohttp

from benchmarks import soak_probe
from benchmarks.common import CACHE
from benchmarks.live import decode_floor_cores
from benchmarks.soak_metrics import (
    ProcessSample,
    check_clip,
    cpu_cores,
    floor_slope_per_hour,
    grew,
    sample,
    slope_per_hour,
)
from custom_components.hearthcam.clip_location import PRIVATE_FOLDER
from custom_components.hearthcam.engine.clips import ClipStore
from custom_components.hearthcam.engine.errors import ClipNotFoundError
from devkit.footage import Scene, footage_path
from e2e.camera_flow import add_camera
from e2e.ha_rest import HomeAssistantRest, Json
from e2e.ha_ws import HomeAssistantWebSocket, websocket
from e2e.scenario import PASSWORD, USER, prepare_config
from e2e.scene import walk_scene
from e2e.stack import Stack, StackSettings

CAMERAS = 4
SAMPLE_EVERY_S = 5.0
PARTIAL_EVERY = 12  # samples between two writes of the figures so far
# RSS growth is fitted after this share of the run (at most WARMUP_MAX_S): caches, the first
# clips and the first reconnects settle first.
WARMUP_SHARE = 1 / 3
WARMUP_MAX_S = 600.0
RSS_FLOOR_WINDOW_S = 300.0  # RSS's lowest reading in each such window gives the floor's growth
IDLE_S = 30.0  # hass alone before the cameras are added: its own idle CPU
DECODE_FLOOR_WARM_S = 5.0  # the four streams decoded alone afterwards: their decode floor
DECODE_FLOOR_WINDOW_S = 60.0
# The allocator hass runs with: extra environment for its process. Home Assistant's container
# preloads its jemalloc build with these settings; Debian's libjemalloc2 is the same library.
JEMALLOC_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/local/lib")
JEMALLOC_CONF = "background_thread:true,metadata_thp:auto,dirty_decay_ms:20000,muzzy_decay_ms:20000"
ALLOCATORS = ("jemalloc", "glibc")
TARGETS = {
    "rss_growth_mb_per_h": 5.0,
    "clips_lost": 0,
    "clips_without_motion": 0,
    "cpu_ratio_to_decode_floor": 1.15,  # the live figure's target (scripts/bench pipeline)
}
CONFIGURATION_YAML = """\
homeassistant:
  name: HearthCam soak
  unit_system: metric
  time_zone: UTC
  country: GB
  currency: GBP
config:
media_source:
logger:
  default: warning
"""


@dataclass(frozen=True, slots=True)
class SoakConfig:
    """One soak run."""

    minutes: float
    hass_python: str
    artifacts: Path
    tracemalloc: bool = False
    allocator: str = "glibc"
    hass_env: Mapping[str, str] = field(default_factory=dict)  # what makes hass use allocator


def allocator_env(allocator: str) -> dict[str, str]:
    """Return the environment that makes hass allocate with the given allocator."""
    if allocator == "glibc":
        return {}
    for folder in JEMALLOC_DIRS:
        library = Path(folder) / "libjemalloc.so.2"
        if library.is_file():
            return {"LD_PRELOAD": str(library), "MALLOC_CONF": JEMALLOC_CONF}
    msg = (
        "libjemalloc.so.2 not found: install libjemalloc2 (scripts/setup's root has it), "
        "or measure glibc's allocator with --allocator glibc"
    )
    raise FileNotFoundError(msg)


def camera_scene(index: int) -> Scene:
    """Make a minute of noisy, static yard, crossed at 20 s and 50 s; one seed per camera."""
    scene = walk_scene(duration_s=60, first_walk_s=20, every_s=30)
    return replace(scene, seed=scene.seed + index, noise_sigma=3.0)


def _install_probe(config_dir: Path, *, trace: bool) -> None:
    """Copy the heap probe into the throwaway config as a custom component."""
    target = config_dir / "custom_components" / soak_probe.DOMAIN
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(soak_probe.__file__, target / "__init__.py")
    (target / "manifest.json").write_text(json.dumps(soak_probe.MANIFEST))
    with (config_dir / "configuration.yaml").open("a") as yaml:
        yaml.write(f"{soak_probe.DOMAIN}:\n  tracemalloc: {str(trace).lower()}\n")


async def run(config: SoakConfig) -> dict[str, Any]:
    """Run the soak and return its figures."""
    run_dir = config.artifacts / "run"
    config_dir = prepare_config(run_dir)
    (config_dir / "configuration.yaml").write_text(CONFIGURATION_YAML)
    _install_probe(config_dir, trace=config.tracemalloc)
    footage_dir = CACHE / "soak"  # encoded once, shared by runs
    files = [footage_path(camera_scene(i), footage_dir, ".mkv") for i in range(CAMERAS)]
    settings = StackSettings(
        hass_python=config.hass_python,
        config_dir=config_dir,
        footage_dir=footage_dir,
        log_dir=run_dir,
        hass_env=config.hass_env,
    )
    with Stack(settings) as stack:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
            rest = HomeAssistantRest(session, settings.base_url)
            await stack.wait_ready(rest)
            await rest.onboard("Soak", USER, PASSWORD)
            assert rest.token is not None  # noqa: S101 - onboard() sets it
            await stack.wait_running(session, rest.token)
            async with websocket(session, settings.base_url, rest.token) as ws:
                figures = await _watch(stack, rest, ws, files, config)
    figures["clips"] = check_clips(clip_root(config_dir), figures.pop("saved"))
    figures["allocator"] = config.allocator
    return _with_verdicts(figures)


async def _watch(
    stack: Stack,
    rest: HomeAssistantRest,
    ws: HomeAssistantWebSocket,
    files: list[Path],
    config: SoakConfig,
) -> dict[str, Any]:
    """Add the cameras, then sample the process and collect events until time is up."""
    assert stack.hass is not None  # noqa: S101 - the stack is started
    pid = stack.hass.pid
    quiet = sample(pid)
    await asyncio.sleep(IDLE_S)
    idle_cores = cpu_cores(quiet, sample(pid))
    states = await ws.subscribe("subscribe_events", event_type="state_changed")
    clips = await ws.subscribe("subscribe_events", event_type="hearthcam_clip_saved")
    entries = [
        await add_camera(rest, f"Soak {i + 1}", stack.camera_url(f.name))
        for i, f in enumerate(files)
    ]
    duration_s = config.minutes * 60
    warmup_s = min(WARMUP_MAX_S, duration_s * WARMUP_SHARE)
    started = time.monotonic()
    samples: list[ProcessSample] = [sample(pid)]
    snapshots: list[Path] = []
    saved: list[Json] = []
    motion_on: Counter[str] = Counter()
    while (elapsed := time.monotonic() - started) < duration_s:
        stack.check_alive()
        await asyncio.sleep(min(SAMPLE_EVERY_S, max(0.0, duration_s - elapsed)))
        samples.append(sample(pid))
        saved.extend(_drain(clips))
        for event in _drain(states):
            data = event["data"]
            new = data.get("new_state") or {}
            motion = (new.get("attributes") or {}).get("device_class") == "motion"
            if motion and new.get("state") == "on":
                motion_on[data["entity_id"]] += 1
        if len(samples) % PARTIAL_EVERY == 0:
            # A long run's figures so far, readable before it ends.
            partial = _process_figures(samples, started, warmup_s)
            (config.artifacts / "soak.partial.json").write_text(json.dumps(partial, indent=2))
        # One snapshot when the warm-up ends, one at the end: growth over the settled run.
        if not snapshots and elapsed >= warmup_s:
            snapshots.append(await _snapshot(ws, config.artifacts, len(snapshots)))
    while len(snapshots) < 2:
        snapshots.append(await _snapshot(ws, config.artifacts, len(snapshots)))
    # Access tokens expire after 30 minutes: log in again for the last requests.
    await rest.login(USER, PASSWORD)
    reconnects = [await _reconnects(rest, entry) for entry in entries]
    figures: dict[str, Any] = {
        "minutes": round(duration_s / 60, 1),
        "cameras": len(entries),
        **_process_figures(samples, started, warmup_s),
        "reconnects": sum(reconnects),
        "motion_on_events": sum(motion_on.values()),
        "saved": saved,
    }
    figures |= await _against_decode_floor(
        ws, stack, entries, files, cpu=figures["cpu_cores"], idle=idle_cores
    )
    figures["heap"] = _heap_figures(snapshots[0], snapshots[1])
    return figures


async def _against_decode_floor(
    ws: HomeAssistantWebSocket,
    stack: Stack,
    entries: list[str],
    files: list[Path],
    *,
    cpu: float | None,
    idle: float | None,
) -> dict[str, Any]:
    """Stop the cameras, decode their streams alone, and compare hass's CPU with that floor."""
    for entry in entries:  # disabled, not deleted: the clips stay for the final check
        await ws.call("config_entries/disable", entry_id=entry, disabled_by="user")
    urls = [stack.camera_url(f.name) for f in files]
    floor = await asyncio.to_thread(
        decode_floor_cores, urls, DECODE_FLOOR_WARM_S, DECODE_FLOOR_WINDOW_S
    )
    ratio = None if cpu is None or idle is None or floor <= 0 else (cpu - idle) / floor
    return {
        "idle_cpu_cores": _rounded(idle, 3),
        "decode_floor_cores": round(floor, 3),
        "cpu_ratio_to_decode_floor": _rounded(ratio, 3),
    }


def _process_figures(
    samples: list[ProcessSample], started: float, warmup_s: float
) -> dict[str, Any]:
    """Summarise the hass process: RSS growth after the warm-up, CPU, threads, descriptors."""
    settled = [s for s in samples if s.at_s - started >= warmup_s]
    return {
        "warmup_minutes": round(warmup_s / 60, 1),
        "elapsed_minutes": round((samples[-1].at_s - started) / 60, 1),
        "rss_mb_start": round(samples[0].rss_mb, 1),
        "rss_mb_after_warmup": round(settled[0].rss_mb, 1) if settled else None,
        "rss_mb_end": round(samples[-1].rss_mb, 1),
        "rss_growth_mb_per_h": _rounded(slope_per_hour(settled)),
        "rss_floor_growth_mb_per_h": _rounded(floor_slope_per_hour(settled, RSS_FLOOR_WINDOW_S)),
        "cpu_cores": _rounded(cpu_cores(settled[0], settled[-1]) if settled else None, 3),
        "threads_start": settled[0].threads if settled else samples[0].threads,
        "threads_end": samples[-1].threads,
        "threads_range": _range(s.threads for s in settled),
        "threads_grew": grew(settled, lambda s: s.threads),
        "fds_start": settled[0].fds if settled else samples[0].fds,
        "fds_end": samples[-1].fds,
        "fds_range": _range(s.fds for s in settled),
        "fds_grew": grew(settled, lambda s: s.fds),
        "timeline": [
            {
                "s": round(s.at_s - started),
                "rss_mb": round(s.rss_mb, 1),
                "threads": s.threads,
                "fds": s.fds,
            }
            for s in samples[:: max(1, len(samples) // 60)]
        ],
    }


def _range(values: Iterable[int]) -> list[int] | None:
    seen = list(values)
    return [min(seen), max(seen)] if seen else None


def _drain(queue: asyncio.Queue[Json]) -> list[Json]:
    """Everything queued so far."""
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items


async def _snapshot(ws: HomeAssistantWebSocket, artifacts: Path, index: int) -> Path:
    """Ask the probe inside hass for the allocators' figures (and a heap snapshot if tracing)."""
    path = (artifacts / f"heap-{index}.snapshot").resolve()
    await ws.call(
        "call_service",
        domain=soak_probe.DOMAIN,
        service="snapshot",
        service_data={"path": str(path)},
        timeout_s=300,
    )
    return path


def _heap_figures(before: Path, after: Path) -> dict[str, Any]:
    """Return the allocators after the warm-up and at the end, and the traced growth if traced."""
    figures = {
        "allocators_after_warmup": _malloc_figures(before),
        "allocators_at_end": _malloc_figures(after),
    }
    if before.exists() and after.exists():  # tracemalloc snapshots: only with --tracemalloc
        figures["python_heap_growth"] = _traced_growth(before, after)
    return figures


def _traced_growth(before: Path, after: Path, top: int = 15) -> dict[str, Any]:
    """List the Python allocations that grew most between two snapshots."""
    first = tracemalloc.Snapshot.load(str(before))
    second = tracemalloc.Snapshot.load(str(after))
    noise = tracemalloc.Filter(inclusive=False, filename_pattern=tracemalloc.__file__)
    first, second = first.filter_traces([noise]), second.filter_traces([noise])
    stats = second.compare_to(first, "traceback")
    total = sum(stat.size_diff for stat in stats)
    return {
        "traced_mb_before": round(sum(s.size for s in first.statistics("filename")) / 2**20, 1),
        "traced_mb_after": round(sum(s.size for s in second.statistics("filename")) / 2**20, 1),
        "growth_mb": round(total / 2**20, 2),
        "top": [
            {
                "kb": round(stat.size_diff / 1024, 1),
                "blocks": stat.count_diff,
                "where": [f"{f.filename}:{f.lineno}" for f in stat.traceback[-6:]],
            }
            for stat in stats[:top]
        ],
    }


def _malloc_figures(snapshot: Path) -> dict[str, Any] | None:
    """Read the allocators' figures (glibc's, pymalloc's) the probe wrote beside a snapshot."""
    path = snapshot.with_name(f"{snapshot.name}.malloc.json")
    if not path.exists():
        return None
    figures: dict[str, Any] = json.loads(path.read_text())
    return figures


async def _reconnects(rest: HomeAssistantRest, entry_id: str) -> int:
    """Read the worker's reconnect count from the entry's diagnostics."""
    diagnostics: Json = await rest.get(f"/api/diagnostics/config_entry/{entry_id}")
    worker = diagnostics["data"]["runtime"]["worker"] or {}
    return int(worker.get("reconnects", 0))


def clip_root(config_dir: Path) -> Path:
    """Return where Home Assistant's HearthCam keeps clips by default (its private store)."""
    return config_dir.joinpath(*PRIVATE_FOLDER, "clips")


def check_clips(store_root: Path, saved: list[Json]) -> dict[str, Any]:
    """Decode every clip that was reported saved; count the lost, unplayable and motionless."""
    store = ClipStore(store_root)
    store.load()
    lost = unplayable = motionless = 0
    for event in saved:
        try:
            path = store.resolve(event["data"]["clip_id"])
        except ClipNotFoundError:
            lost += 1
            continue
        check = check_clip(path)
        unplayable += not check.playable
        motionless += check.playable and not check.shows_motion
    leftovers = len(list(store_root.rglob("*.part")))
    return {
        "saved": len(saved),
        "playable": len(saved) - lost - unplayable,
        "lost": lost + unplayable + leftovers,
        "without_motion": motionless,
        "part_files_left": leftovers,
    }


def _with_verdicts(figures: dict[str, Any]) -> dict[str, Any]:
    """Add the targets and whether each was met."""
    clips = figures["clips"]
    growth = figures["rss_growth_mb_per_h"]
    figures["targets"] = TARGETS
    figures["meets_targets"] = {
        "rss_growth_mb_per_h": _at_most(growth, TARGETS["rss_growth_mb_per_h"]),
        "threads": not figures["threads_grew"],
        "fds": not figures["fds_grew"],
        "clips_lost": clips["lost"] == 0,
        "clips_without_motion": clips["without_motion"] == 0,
        "cpu_ratio_to_decode_floor": _at_most(
            figures["cpu_ratio_to_decode_floor"], TARGETS["cpu_ratio_to_decode_floor"]
        ),
    }
    return figures


def _at_most(value: float | None, limit: float) -> bool:
    return value is not None and value <= limit


def _rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def main(argv: list[str]) -> int:
    """Parse arguments, run the soak, print its figures as JSON."""
    parser = argparse.ArgumentParser(prog="scripts/bench soak")
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--hass-python", default=sys.executable, help="Python of the hass to run")
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts/soak"))
    parser.add_argument(
        "--tracemalloc", action="store_true", help="diff Python heap snapshots inside hass"
    )
    parser.add_argument(
        "--allocator",
        choices=ALLOCATORS,
        default="jemalloc",
        help="hass's allocator: jemalloc as Home Assistant's container preloads it, or glibc's",
    )
    args = parser.parse_args(argv)
    try:
        hass_env = allocator_env(args.allocator)
    except FileNotFoundError as err:  # before anything starts
        parser.error(str(err))
    config = SoakConfig(
        minutes=args.minutes,
        hass_python=args.hass_python,
        artifacts=args.artifacts.resolve(),
        tracemalloc=args.tracemalloc,
        allocator=args.allocator,
        hass_env=hass_env,
    )
    figures = asyncio.run(run(config))
    text = json.dumps(figures, indent=2)
    (config.artifacts / "soak.json").write_text(text)
    print(text)
    return 0
