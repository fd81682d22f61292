r"""The FFmpeg scene-change method exactly as Home Assistant's ffmpeg_motion runs it.

ffmpeg_motion (through ha-ffmpeg) runs `ffmpeg -i INPUT -an -filter:v select=gt(scene\,X)
-f framemd5 -` with X = changes / 100 (default changes 10), decoding every frame. Each output
line is a frame whose scene score exceeded X: the sensor turns on, and off again `reset`
seconds (default 10) after the last such line; the default repeat of 0 needs no repetitions.
"""

from fractions import Fraction
from pathlib import Path
import subprocess

from benchmarks.common import Interval, hold_events

DEFAULT_CHANGES = 10.0  # percent, ffmpeg_motion's default
DEFAULT_RESET_S = 10.0  # seconds without a change before the sensor turns off


def scene_change_times(path: Path, changes: float = DEFAULT_CHANGES) -> list[float]:
    """Stream seconds of every frame whose FFmpeg scene score exceeds changes / 100."""
    command = [
        "ffmpeg",
        "-nostdin",
        "-hide_banner",
        "-nostats",
        "-loglevel",
        "error",
        "-i",
        str(path),
        "-an",
        "-filter:v",
        f"select=gt(scene\\,{changes / 100})",
        "-f",
        "framemd5",
        "-",
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    time_base = Fraction(1, 1000)
    times = []
    for line in output.splitlines():
        if line.startswith("#tb 0:"):
            time_base = Fraction(line.split(":", 1)[1].strip())
        elif line and not line.startswith("#"):
            pts = int(line.split(",")[2])
            times.append(float(pts * time_base))
    return times


def ffmpeg_scene_events(
    path: Path, changes: float = DEFAULT_CHANGES, reset_s: float = DEFAULT_RESET_S
) -> list[Interval]:
    """Motion events of an ffmpeg_motion sensor with these options over the file."""
    return hold_events(scene_change_times(path, changes), reset_s)
