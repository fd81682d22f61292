"""The detector runs on the calling thread alone: no BLAS or other library thread pool wakes.

A library thread pool (OpenBLAS starts one when numpy loads) that runs after each call costs a
camera far more CPU than the call itself, and Home Assistant does not limit those pools. The
check runs in a fresh interpreter, so no other test has woken or configured a pool, with the
environment as Home Assistant has it (no thread-limiting variables).
"""

import json
import os
from pathlib import Path
import subprocess
import sys

REPO = Path(__file__).resolve().parents[2]
FRAMES = 600

# Tasks of the process with their CPU time in ns (schedstat), before and after analysing.
_PROBE = f"""
import json, os, threading
import numpy as np
from custom_components.hearthcam.engine.motion import MotionDetector, MotionSettings

def tasks():
    out = {{}}
    for tid in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{{tid}}/schedstat") as stat:
            out[tid] = int(stat.read().split()[0])
    return out

rng = np.random.default_rng(1)
base = rng.uniform(40, 200, (360, 640))
frames = [np.clip(base + rng.normal(0, 3, base.shape), 0, 255).astype(np.uint8) for _ in range(20)]
for index in range(8):  # a walker in some frames, so every branch of the detector runs
    frames[index][120:220, 40 * index : 40 * index + 60] = 230
# A finer working frame than the default: larger arrays, as a pool's size thresholds see them.
detector = MotionDetector(MotionSettings(work_width=320))
detector.analyse(frames[10], 0.0)
before = tasks()
for index in range({FRAMES}):
    detector.analyse(frames[index % 20], (index + 1) / 5)
after = tasks()
print(json.dumps({{"me": str(threading.get_native_id()), "before": before, "after": after}}))
"""


def test_analysing_frames_runs_on_the_calling_thread_only() -> None:
    """No thread is started, and no thread but the caller uses CPU, while frames are analysed."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith(("_NUM_THREADS", "_MAX_THREADS"))
    }
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    probe = json.loads(completed.stdout)
    before: dict[str, int] = probe["before"]
    after: dict[str, int] = probe["after"]
    assert set(after) == set(before)
    others = {tid: after[tid] - before[tid] for tid in after if tid != probe["me"]}
    assert others == dict.fromkeys(others, 0)
    assert after[probe["me"]] > before[probe["me"]]
