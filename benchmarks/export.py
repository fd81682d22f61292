"""Wall and CPU time of building an export bundle from a 30 s 1080p15 clip, without and with masks.

Without masks the video is stream-copied (metadata and SEI removed); with privacy masks every
frame is decoded, masked and encoded again with libx264. CPU time is the whole process's (user +
system, every thread: x264 encodes on several), over the bundle's build alone in a fresh child
process, and is also given as a ratio to PyAV decoding the same clip on one thread in the same
run, measured the same way.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
import resource
import statistics
import tempfile
import threading
import time

import av
from av.stream import Stream

from benchmarks.common import decode_cpu_s, footage, media_duration_s, suite_main
from benchmarks.process_cpu import in_child
from custom_components.hearthcam.engine.bundle import BundleDetails, build_bundle
from custom_components.hearthcam.engine.clip_info import ClipInfo
from custom_components.hearthcam.engine.export_folder import ExportFolder, new_export_id
from custom_components.hearthcam.engine.model import ClipTrigger
from custom_components.hearthcam.engine.mp4 import open_fragmented_mp4
from custom_components.hearthcam.engine.redact import RedactOptions
from custom_components.hearthcam.engine.regions import parse_polygons
from devkit.footage import MovingObject, Scene

WALKER = MovingObject(3.0, 27.0, (0.1, 0.6), (0.9, 0.5), size=(0.08, 0.25), color=(230, 230, 230))
# A neighbour's window and a strip of the street: two masks, as a camera might have them.
MASKS = parse_polygons("0.7,0 1,0 1,0.35 0.7,0.35\n0,0.8 1,0.8 1,1 0,1")


@dataclass(frozen=True)
class Config:
    """What to run: the full figures, or a quick smoke run on small footage."""

    scene: Scene
    repeats: int


FULL = Config(
    scene=Scene(
        width=1920,
        height=1080,
        fps=15,
        duration_s=30.0,
        seed=1,
        objects=(WALKER,),
        keyframe_interval_s=2.0,
        audio=True,
    ),
    repeats=3,
)
QUICK = Config(
    scene=Scene(width=640, height=360, fps=15, duration_s=4.0, seed=1, audio=True),
    repeats=1,
)


def _cpu_s() -> float:
    """CPU seconds of the whole process so far (every thread)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _fragmented(source: Path, target: Path) -> Path:
    """Stream-copy source into a fragmented MP4, as the recorder writes clips."""
    with av.open(str(source)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        output = open_fragmented_mp4(target, video, audio)
        streams: dict[Stream, Stream] = {video: output.video}
        if audio is not None and output.audio is not None:
            streams[audio] = output.audio
        for packet in container.demux(*streams):
            if packet.dts is not None:
                packet.stream = streams[packet.stream]
                output.container.mux(packet)
        output.close()
    return target


def _details(scene: Scene, export_id: str) -> BundleDetails:
    start = datetime(2026, 3, 14, 12, tzinfo=UTC)
    clip = ClipInfo(
        clip_id="bench/2026-03-14/120000-1",
        camera_key="bench",
        start=start,
        end=start + timedelta(seconds=scene.duration_s),
        duration_s=scene.duration_s,
        video_codec="h264",
        audio_codec="aac",
        width=scene.width,
        height=scene.height,
        size_bytes=0,
        trigger=ClipTrigger.MOTION,
        peak_score=0.0,
        motion_timeline=(),
        kept=False,
        has_thumbnail=False,
        notes=(),
    )
    return BundleDetails(
        export_id=export_id,
        camera_name="Bench",
        clip=clip,
        reason="benchmark",
        user_id="bench",
        user_name="Bench",
        created_at=start,
        expires_at=start + timedelta(hours=1),
        masks_configured=len(MASKS),
    )


def measure(clip: Path, scene: Scene, options: RedactOptions) -> tuple[float, float, int]:
    """Build one bundle in a fresh child process; return (wall s, process CPU s, bundle bytes)."""
    return in_child(_measure_child, clip, scene, options)


def _measure_child(clip: Path, scene: Scene, options: RedactOptions) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as root:
        folder = ExportFolder(Path(root) / "exports")
        folder.prepare()
        details = _details(scene, new_export_id(datetime.now(UTC)))
        cpu, wall = _cpu_s(), time.perf_counter()
        bundle = build_bundle(clip, folder, details, options, threading.Event())
        return time.perf_counter() - wall, _cpu_s() - cpu, bundle.size_bytes


def run(config: Config) -> dict[str, object]:
    """Measure both kinds of export; medians over the repeats."""
    with tempfile.TemporaryDirectory() as root:
        clip = _fragmented(footage(config.scene, ".mp4"), Path(root) / "clip.mp4")
        floor = min(decode_cpu_s(clip).process_s for _ in range(config.repeats))
        figures: dict[str, object] = {
            "input": f"{config.scene.width}x{config.scene.height}@{config.scene.fps}",
            "media_s": round(media_duration_s(clip), 2),
            "clip_mb": round(clip.stat().st_size / 1e6, 2),
            "decode_floor_cpu_s": round(floor, 3),
        }
        for name, options in (("copy", RedactOptions()), ("masked", RedactOptions(masks=MASKS))):
            runs = [measure(clip, config.scene, options) for _ in range(config.repeats)]
            cpu = statistics.median(r[1] for r in runs)
            figures |= {
                f"export_{name}_wall_s": round(statistics.median(r[0] for r in runs), 3),
                f"export_{name}_cpu_s": round(cpu, 3),
                f"export_{name}_cpu_ratio_to_decode": round(cpu / floor, 2),
                f"export_{name}_bundle_mb": round(runs[0][2] / 1e6, 2),
            }
    return figures


def _table(figures: dict[str, object]) -> str:
    """Format the figures as a small table for people."""
    lines = [
        f"Export of a {figures['media_s']} s {figures['input']} clip ({figures['clip_mb']} MB)"
    ]
    for name, label in (("copy", "no masks (stream copy)"), ("masked", "privacy masks (x264)")):
        lines.append(
            f"  {label:<24} wall {figures[f'export_{name}_wall_s']:>7} s   "
            f"CPU {figures[f'export_{name}_cpu_s']:>7} s   "
            f"({figures[f'export_{name}_cpu_ratio_to_decode']}x decoding)   "
            f"bundle {figures[f'export_{name}_bundle_mb']} MB"
        )
    lines.append(f"  decoding alone (PyAV, one thread): CPU {figures['decode_floor_cpu_s']} s")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Run the export benchmark and print a table, or one JSON object with --json."""
    return suite_main(argv, "export", run, _table, (FULL, QUICK))
