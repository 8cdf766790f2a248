"""The Ray executor on a local cluster, with workers killed mid-trial (needs the ``ray`` extra)."""

import os
import signal

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="the ray extra is not installed") if os.environ.get(
    "GPNAS_REQUIRE_RAY") != "1" else __import__("ray")

from gpnas.ray_executor import RayExecutor  # noqa: E402
from gpnas.study import Study  # noqa: E402


def make_objective(space, marker_dir, always_kill):
    """Kills its worker process on every attempt at ``always_kill``, and once on the first other trial."""

    def objective(arch):
        x = space.from_dict_arch(arch)
        key = "".join(map(str, x))
        once = os.path.join(marker_dir, "killed-once")
        if key == always_kill or not os.path.exists(once):
            if key != always_kill:
                with open(once, "w") as handle:
                    handle.write(key)
            os.kill(os.getpid(), signal.SIGKILL)  # the worker process dies mid-trial
        return float(x.sum())
    return objective


def test_batch_search_on_local_cluster_survives_killed_workers(tmp_path, small_space):
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    always = "10101"
    executor = RayExecutor(local_num_cpus=2, max_retries=1)
    try:
        study = Study(small_space, sampler="mi", seed=0, n_initial=4)
        study.enqueue(np.array([1, 0, 1, 0, 1]))  # its worker dies on every attempt
        study.optimize(make_objective(small_space, str(tmp_path), always), budget=12, batch_size=4,
                       executor=executor)
    finally:
        executor.shutdown()
    assert not ray.is_initialized()
    assert len(study.trials_in("done", "failed")) == 12
    failed = study.trials_in("failed")
    assert ["".join(map(str, t.arch)) for t in failed] == [always]  # out of retries: failed, and the search went on
    assert "died" in failed[0].error.lower() or "crash" in failed[0].error.lower()
    killed_once = (tmp_path / "killed-once").read_text()
    retried = [t for t in study.trials_in("done") if "".join(map(str, t.arch)) == killed_once]
    assert len(retried) == 1  # its worker died once, Ray retried it, and it finished
    assert all(t.value == float(t.arch.sum()) for t in study.trials_in("done"))
    assert all(t.worker and ":" in t.worker and t.worker != "ray" for t in study.trials_in("done"))  # node:pid
