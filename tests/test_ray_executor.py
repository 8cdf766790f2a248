"""The Ray executor on a local cluster, with workers killed mid-trial (needs the ``ray`` extra)."""

import os
import signal

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="the ray extra is not installed") if os.environ.get(
    "GPNAS_REQUIRE_RAY") != "1" else __import__("ray")

from gpnas.run.ray import RayExecutor  # noqa: E402
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


def test_losing_a_node_mid_study_retries_its_trials_elsewhere(tmp_path, small_space):
    """A two-node cluster: the node running trials is removed mid-study (a cloud VM going away)."""
    import threading
    import time

    from ray.cluster_utils import Cluster

    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})  # the head runs no trials
    doomed = cluster.add_node(num_cpus=2, resources={"doomed": 1})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    doomed_id = next(n["NodeID"] for n in ray.nodes() if n["Resources"].get("doomed"))

    def objective(arch):
        time.sleep(0.8)
        x = small_space.from_dict_arch(arch)
        return float(x.sum())

    removed = {}

    def remove_when_busy():  # once 3 trials run (2 of them on the doomed node's 2 CPUs), remove that node
        deadline = time.time() + 60
        while time.time() < deadline:
            if len(study.trials_in("running")) >= 3:
                time.sleep(0.3)
                removed["done_before"] = len(study.trials_in("done"))
                cluster.remove_node(doomed)
                return
            time.sleep(0.05)

    executor = RayExecutor(address=cluster.address, n_workers=3, max_retries=3)
    study = Study(small_space, sampler="random", seed=0, fit_model=False)
    remover = threading.Thread(target=remove_when_busy)
    try:
        remover.start()
        study.optimize(objective, budget=9, batch_size=3, executor=executor)
        remover.join()
        alive = {n["NodeID"]: n["Alive"] for n in ray.nodes()}
    finally:
        executor.shutdown()
        ray.shutdown()
        cluster.shutdown()
    assert removed["done_before"] < 9 and not alive[doomed_id]  # removed mid-study, and gone
    done = study.trials_in("done")
    assert len(done) == 9 and not study.trials_in("failed")  # nothing lost: every trial finished somewhere
    assert all(t.value == float(t.arch.sum()) for t in done)
    # only trials finished before the removal can carry the doomed node's name; the ones it was running were retried
    assert sum(t.worker.startswith(doomed_id[:8]) for t in done) <= removed["done_before"]


def test_map_spreads_bulk_work_over_the_cluster_in_order():
    """Zero-cost proxies of a pool are bulk work, not trials: ``map`` runs them as Ray tasks, results in order."""
    pytest.importorskip("torch", reason="the torch extra is not installed")
    from gpnas.nets.nb201 import NB201Network
    from gpnas.nets.proxies import random_batch, score_architectures

    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    executor = RayExecutor(local_num_cpus=2)
    try:
        import math

        assert list(executor.map(math.factorial, list(range(7)))) == [1, 1, 2, 6, 24, 120, 720]
        X = np.array([[1, 2, 3, 4, 0, 1], [3, 3, 3, 3, 3, 3], [2, 0, 1, 4, 4, 2]])
        inputs, labels = random_batch((3, 32, 32), 8, 10)
        on_ray = score_architectures(NB201Network, X, inputs, labels, chunk=1, progress=False, mapper=executor.map)
    finally:
        executor.shutdown()
    here = score_architectures(NB201Network, X, inputs, labels, workers=1, progress=False)
    np.testing.assert_allclose(on_ray.lookup(X), here.lookup(X), rtol=1e-9)
