"""Process CPU of one measured session in a fresh child process, checked thread by thread.

A figure is the CPU of the whole process (every thread, native ones included: decoder, BLAS or
any other library pool), never of the calling thread alone. Each session runs in its own
spawned interpreter, so a thread pool woken by one figure cannot run on into the next. The
sample also carries the CPU of the threads that do the work (read per thread from
/proc/self/task) and of the idle process over the same wall time, so a benchmark can check that
the work accounts for everything the process spent.
"""

from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
import multiprocessing
import os
from pathlib import Path
import threading
import time

# The work must account for all but this share of the process's CPU (less idle).
UNACCOUNTED_LIMIT = 0.05
_TASKS = Path("/proc/self/task")
_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class CpuSample:
    """CPU seconds of one measured stretch of a child process."""

    process_s: float  # every thread of the process
    worker_s: float  # the threads that do the measured work
    idle_s: float  # what the idle process costs over the same wall time
    wall_s: float

    @property
    def unaccounted(self) -> float:
        """Share of the process's CPU (less idle) that the working threads do not account for."""
        busy = self.process_s - self.idle_s
        return max(0.0, busy - self.worker_s) / busy if busy > 0 else 0.0


def task_cpu_s() -> dict[int, float]:
    """CPU seconds of each live thread of this process, by thread id."""
    cpu: dict[int, float] = {}
    for task in _TASKS.iterdir():
        try:
            # schedstat counts nanoseconds; stat's utime + stime only clock ticks.
            cpu[int(task.name)] = int((task / "schedstat").read_text().split()[0]) / 1e9
        except FileNotFoundError:
            continue  # the thread ended while we looked
        except OSError, ValueError, IndexError:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            cpu[int(task.name)] = (int(fields[11]) + int(fields[12])) * _TICK_S
    return cpu


def idle_cpu_per_s(seconds: float = 0.3) -> float:
    """CPU seconds per wall second of this process while it waits (its idle baseline)."""
    started, wall = time.process_time(), time.monotonic()
    time.sleep(seconds)
    return (time.process_time() - started) / (time.monotonic() - wall)


class Meter:
    """Measures one stretch of this process: start(), then stop(working threads)."""

    def __init__(self, idle_per_s: float) -> None:
        self._idle_per_s = idle_per_s
        self._tasks: dict[int, float] = {}
        self._cpu = 0.0
        self._wall = 0.0

    def start(self) -> None:
        """Begin measuring."""
        self._tasks = task_cpu_s()
        self._wall = time.monotonic()
        self._cpu = time.process_time()

    def stop(self, workers: set[int]) -> CpuSample:
        """End measuring; workers are the native ids of the threads that did the work."""
        cpu = time.process_time() - self._cpu
        wall = time.monotonic() - self._wall
        tasks = task_cpu_s()
        worker = sum(tasks.get(tid, 0.0) - self._tasks.get(tid, 0.0) for tid in workers)
        return CpuSample(cpu, worker, self._idle_per_s * wall, wall)


def measure_here(run: Callable[[], object]) -> CpuSample:
    """Process CPU of run() on this thread, with this thread as the only worker."""
    meter = Meter(idle_cpu_per_s())
    meter.start()
    run()
    return meter.stop({threading.get_native_id()})


def threads_named(prefix: str) -> set[int]:
    """Native ids of this process's Python threads whose name starts with prefix."""
    return {
        thread.native_id
        for thread in threading.enumerate()
        if thread.name.startswith(prefix) and thread.native_id is not None
    }


def in_child[**P, R](function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run function in a freshly spawned interpreter and return its result."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(function, *args, **kwargs).result()
