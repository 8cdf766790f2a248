"""How many CPU threads gpnas's torch trainings and linear algebra may use (a utility every layer may import).

The cores a process may use are fewer than ``os.cpu_count()`` wherever an affinity mask (``taskset``, Slurm) or a
cgroup CPU quota (Docker, Kubernetes) limits it; running more threads than that makes OpenMP's threads wait for each
other and slows a training many times over.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

#: Environment variable that tells a trial how many torch threads it may use (set in each worker by the executors).
THREADS_VARIABLE = "GPNAS_TORCH_THREADS"

_PROC_STAT = Path("/proc/stat")

_CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def cgroup_cpu_limit(path: Path = _CGROUP_CPU_MAX) -> int | None:
    """The cgroup v2 CPU quota in whole cores (rounded up), or ``None`` where there is none.

    ``cpu.max`` holds ``"<quota> <period>"`` in microseconds, or ``"max <period>"`` for no limit.
    """
    try:
        quota, period = path.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    try:
        return max(1, math.ceil(int(quota) / int(period)))
    except (ValueError, ZeroDivisionError):
        return None


def available_cores() -> int:
    """Cores this process may run on: the affinity mask, capped by a cgroup CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    limit = cgroup_cpu_limit()
    return max(1, min(cores, limit) if limit else cores)


def threads_per_worker(n_workers: int, cores: int | None = None) -> int:
    """Torch threads for each of ``n_workers`` parallel trials so that together they fill the cores and no more:
    concurrent trainings with more threads than cores slow each other down several times over."""
    return max(1, (cores or available_cores()) // max(1, int(n_workers)))


def _cpu_times() -> tuple[float, float] | None:
    """``(busy, total)`` jiffies of all CPUs from ``/proc/stat`` (Linux), or ``None``."""
    try:
        fields = [float(v) for v in _PROC_STAT.read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def free_cores(sample_seconds: float = 0.25) -> int:
    """Cores free right now: this process's cores less those the rest of the machine keeps busy, measured over
    ``sample_seconds`` (at least 1).  Where the load cannot be read, every available core counts as free."""
    import time

    cores = available_cores()
    first = _cpu_times()
    if first is None:
        return cores
    time.sleep(sample_seconds)
    second = _cpu_times()
    if second is None or second[1] <= first[1]:
        return cores
    busy_share = (second[0] - first[0]) / (second[1] - first[1])
    busy_cores = busy_share * (os.cpu_count() or cores)
    return max(1, min(cores, cores - int(round(busy_cores))))


_MEASURED: list[int] = []


def training_threads() -> int:
    """Threads for a training in this process: ``GPNAS_TORCH_THREADS`` when an executor or the command line set it,
    else the cores free the first time this process asks (measured once, then kept)."""
    value = os.environ.get(THREADS_VARIABLE, "")
    if value.isdigit() and int(value) > 0:
        return int(value)
    if not _MEASURED:
        _MEASURED.append(free_cores())
    return _MEASURED[0]
