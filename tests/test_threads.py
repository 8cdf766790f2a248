"""CPU threads: the cores a process may use (affinity, cgroup quota), the cores free now, and who decides."""

import os
import subprocess
import sys
import time

import pytest

from gpnas import threads


@pytest.mark.parametrize("text, cores", [("max 100000", None), ("150000 100000", 2), ("50000 100000", 1),
                                         ("400000 100000", 4), ("garbage", None)])
def test_cgroup_quota_in_whole_cores(tmp_path, text, cores):
    path = tmp_path / "cpu.max"
    path.write_text(text + "\n")
    assert threads.cgroup_cpu_limit(path) == cores
    assert threads.cgroup_cpu_limit(tmp_path / "absent") is None


def test_available_cores_follow_the_affinity_mask():
    script = "from gpnas.threads import available_cores; print(available_cores())"
    pinned = subprocess.run(["taskset", "-c", "0", sys.executable, "-c", script], capture_output=True, text=True)
    assert pinned.returncode == 0, pinned.stderr
    assert int(pinned.stdout) == 1
    assert threads.available_cores() == len(os.sched_getaffinity(0))


def test_free_cores_see_a_busy_core():
    cores = threads.available_cores()
    if cores < 2:
        pytest.fail("this check needs two cores (the machines here have two)")
    quiet = threads.free_cores(0.5)
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        loaded = threads.free_cores(0.5)
    finally:
        busy.kill()
        busy.wait()
    assert 1 <= loaded < cores and loaded <= quiet


def test_the_environment_decides_before_the_measurement(monkeypatch):
    monkeypatch.setenv(threads.THREADS_VARIABLE, "3")
    assert threads.training_threads() == 3
    monkeypatch.delenv(threads.THREADS_VARIABLE)
    monkeypatch.setattr(threads, "_MEASURED", [])
    monkeypatch.setattr(threads, "free_cores", lambda: 1)
    assert threads.training_threads() == 1 and threads._MEASURED == [1]  # measured once, then kept
