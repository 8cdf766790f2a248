import os
import signal

from gpnas.run.executors import ProcessPoolExecutor
from gpnas.study import Study


class KillOnce:
    """Kills its worker process on the first call for ``victim`` (marker file), and on every call for ``always``."""

    def __init__(self, space, marker_dir, victim, always):
        self.space, self.marker_dir, self.victim, self.always = space, marker_dir, victim, always

    def __call__(self, arch):
        x = self.space.from_dict_arch(arch)
        key = "".join(map(str, x))
        marker = os.path.join(self.marker_dir, "killed-" + key)
        if key == self.always or (key == self.victim and not os.path.exists(marker)):
            open(marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        return float(x.sum())


def test_process_pool_retries_a_killed_worker_then_fails_the_trial(tmp_path, small_space):
    victim, always = "10101", "21010"
    study = Study(small_space, sampler="random", seed=0, fit_model=False)
    study.enqueue({"k0": 5, "k1": 3, "e0": 6, "e1": 3, "se0": "on"})   # 10101: dies once, then succeeds
    study.enqueue({"k0": 7, "k1": 5, "e0": 3, "e1": 6, "se0": "off"})  # 21010: dies on every attempt
    # one trial in flight at a time here; trials side by side are the next test's
    study.optimize(KillOnce(small_space, str(tmp_path), victim, always), budget=8, batch_size=1,
                   executor=ProcessPoolExecutor(2, max_retries=1))
    by_key = {"".join(map(str, t.arch)): t for t in study.trials}
    assert len(study.trials_in("done", "failed")) == 8
    assert by_key[victim].state == "done" and by_key[victim].value == 3.0 and by_key[victim].attempts >= 1
    assert by_key[always].state == "failed" and "died" in by_key[always].error
    others = [t for k, t in by_key.items() if k not in (victim, always)]
    assert all(t.state == "done" and t.value == float(t.arch.sum()) for t in others)


class Slow:
    """Sleeps, then returns; kills its worker for ``always``."""

    def __init__(self, space, always):
        self.space, self.always = space, always

    def __call__(self, arch):
        import time

        x = self.space.from_dict_arch(arch)
        if "".join(map(str, x)) == self.always:
            time.sleep(0.2)
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.6)
        return float(x.sum())


def test_a_healthy_trial_beside_a_crashing_one_keeps_its_retries(small_space):
    always = "21010"
    study = Study(small_space, sampler="random", seed=0, fit_model=False)
    study.enqueue({"k0": 7, "k1": 5, "e0": 3, "e1": 6, "se0": "off"})  # 21010: dies on every attempt
    study.enqueue({"k0": 3, "k1": 3, "e0": 3, "e1": 3, "se0": "off"})  # 00000: healthy, runs beside it
    study.optimize(Slow(small_space, always), budget=2, batch_size=2, executor=ProcessPoolExecutor(2, max_retries=1))
    by_key = {"".join(map(str, t.arch)): t for t in study.trials}
    assert by_key[always].state == "failed" and by_key[always].attempts == 1
    assert by_key["00000"].state == "done" and by_key["00000"].attempts == 0  # resubmitted, never charged


class ReportThreads:
    """Returns the torch threads its worker was told to use (``GPNAS_TORCH_THREADS``)."""

    def __call__(self, arch):
        return float(os.environ.get("GPNAS_TORCH_THREADS", "-1"))


def test_pool_workers_share_the_cores_between_them(small_space, monkeypatch):
    from gpnas.threads import threads_per_worker

    assert [threads_per_worker(w, cores=8) for w in (1, 2, 3, 8, 16)] == [8, 4, 2, 1, 1]
    pool = ProcessPoolExecutor(2)
    study = Study(small_space, sampler="random", seed=0, fit_model=False)
    study.optimize(ReportThreads(), budget=4, batch_size=2, executor=pool)
    expected = threads_per_worker(pool.n_workers)
    assert [t.value for t in study.trials_in("done")] == [expected] * 4


class ReportBlasThreads:
    """Returns the most BLAS threads any BLAS library loaded in its worker may use."""

    def __call__(self, arch):
        from threadpoolctl import threadpool_info

        return float(max(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"))


def test_pool_workers_limit_their_blas_threads_as_well(small_space):
    # one worker held to one core's threads: its NumPy linear algebra gets one thread, not one per core
    study = Study(small_space, sampler="random", seed=0, fit_model=False)
    study.optimize(ReportBlasThreads(), budget=2, batch_size=1, executor=ProcessPoolExecutor(1, cores=1))
    assert [t.value for t in study.trials_in("done")] == [1.0, 1.0]


def test_training_uses_the_threads_its_worker_was_given(monkeypatch):
    torch = __import__("pytest").importorskip("torch")
    import numpy as np

    from gpnas.nets.training import TrainConfig, train_classifier

    before = torch.get_num_threads()
    monkeypatch.setenv("GPNAS_TORCH_THREADS", "1")
    X = np.random.default_rng(0).random((32, 1, 8, 8)).astype(np.float32)
    y = np.arange(32) % 2
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 2))
    try:
        train_classifier(net, X, y, X, y, TrainConfig(epochs=1, channels_last=False))
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


POOL_AFTER_TORCH = """
import torch
from gpnas.run.executors import ProcessPoolExecutor
from gpnas.space import make_space
from gpnas.study import Study

class TorchWork:
    def __call__(self, arch):
        import torch
        return float(torch.ones(256, 256).matmul(torch.ones(256, 256)).sum()) + arch["a"]

if __name__ == "__main__":
    torch.set_num_threads(2)
    torch.ones(512, 512).matmul(torch.ones(512, 512))  # the parent's thread pool is up, as after in-process training
    space = make_space([("a", [0, 1, 2, 3], "g")])
    study = Study(space, sampler="random", seed=0, fit_model=False)
    study.optimize(TorchWork(), budget=4, batch_size=2, executor=ProcessPoolExecutor(2))
    print(sorted(t.value for t in study.trials_in("done")))
"""


def test_the_pool_works_after_the_parent_used_torch_threads(tmp_path):
    """Forked workers can hang at their first parallel region once the parent's OpenMP pool exists; the pool spawns."""
    import subprocess
    import sys

    import pytest

    pytest.importorskip("torch")
    script = tmp_path / "pool_after_torch.py"
    script.write_text(POOL_AFTER_TORCH)
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str([256.0 ** 3 + a for a in range(4)])


def test_map_runs_bulk_work_in_order_and_raises_what_it_raises():
    import math

    import pytest

    from gpnas.run.executors import InProcessExecutor

    for executor in (InProcessExecutor(), ProcessPoolExecutor(2)):
        try:
            assert list(executor.map(math.factorial, [5, 0, 3, 1])) == [120, 1, 6, 1]
            with pytest.raises(ValueError, match="not defined for negative"):
                list(executor.map(math.factorial, [2, -1]))
        finally:
            executor.shutdown()
