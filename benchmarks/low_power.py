"""What the optional low-power mode costs in reaction time: motion onset with and without it.

Each scene is still for longer than the quiet time (so low power is asleep, decoding keyframes
only) before someone walks in; the walk-in moves across keyframe phases from seed to seed, as a
real arrival falls anywhere within a GOP. The onset is when the detector turns motion on,
scanned exactly as a worker analyses the stream.
"""

from dataclasses import dataclass
import statistics

from benchmarks.common import footage
from custom_components.hearthcam.engine.frame_decoder import QUIET_S, DecodeOptions
from custom_components.hearthcam.engine.scan import scan_video
from devkit.footage import MovingObject, Scene


@dataclass(frozen=True)
class OnsetConfig:
    """Scenes of the onset measurement."""

    width: int
    height: int
    keyframe_interval_s: float
    seeds: int


FULL = OnsetConfig(width=640, height=360, keyframe_interval_s=2.0, seeds=8)
QUICK = OnsetConfig(width=320, height=180, keyframe_interval_s=2.0, seeds=2)


def _scene(config: OnsetConfig, seed: int) -> tuple[Scene, float]:
    """Return a still scene with a walker entering at a phase that moves with the seed."""
    enters = QUIET_S + 3.0 + config.keyframe_interval_s * seed / config.seeds
    walker = MovingObject(
        enters, enters + 4.0, (0.05, 0.6), (0.8, 0.55), size=(0.1, 0.3), color=(225, 225, 225)
    )
    scene = Scene(
        width=config.width,
        height=config.height,
        fps=15,
        duration_s=enters + 6.0,
        seed=20 + seed,
        keyframe_interval_s=config.keyframe_interval_s,
        objects=(walker,),
    )
    return scene, enters


def run(config: OnsetConfig) -> dict[str, object]:
    """Onset delays (motion on minus walk-in) with full decoding and with low power."""
    delays: dict[str, list[float]] = {"full": [], "low_power": []}
    counts = {"full": 0, "low_power": 0}
    for seed in range(config.seeds):
        scene, enters = _scene(config, seed)
        path = footage(scene)
        for name, options in (("full", None), ("low_power", DecodeOptions(low_power=True))):
            events = scan_video(path, decoding=options).events
            counts[name] += len(events)
            onset = next((e.start_s for e in events if e.end_s >= enters), None)
            if onset is None:
                msg = f"no motion found in the onset scene of seed {seed} ({name})"
                raise RuntimeError(msg)
            delays[name].append(onset - enters)
    extra = [low - full for low, full in zip(delays["low_power"], delays["full"], strict=True)]
    return {
        "low_power_onset_s_median": round(statistics.median(delays["low_power"]), 3),
        "low_power_onset_s_max": round(max(delays["low_power"]), 3),
        "full_decode_onset_s_median": round(statistics.median(delays["full"]), 3),
        "low_power_onset_extra_s_median": round(statistics.median(extra), 3),
        "low_power_onset_extra_s_max": round(max(extra), 3),
        "low_power_keyframe_interval_s": config.keyframe_interval_s,
        # One walk-in per scene: more events than scenes would be false ones.
        "low_power_onset_events": counts["low_power"],
        "full_decode_onset_events": counts["full"],
        "onset_scenes": config.seeds,
    }
