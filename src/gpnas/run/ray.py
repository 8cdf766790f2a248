"""Evaluations on a Ray cluster (the optional ``ray`` extra; the core and the local executors never import Ray).

Each trial is a Ray task with ``num_cpus`` / ``num_gpus`` of its own.  A task whose worker process or node dies is
retried by Ray up to ``max_retries`` times; after that the trial fails with the error and the search goes on.  An
exception raised by the objective itself is not retried: it is the trial's result (a failed trial).

Joining a running cluster (``address="auto"`` or ``"ray://host:10001"``): Ray 2.60 enables token authentication by
default, so the driver needs the cluster's token (``RAY_AUTH_TOKEN`` or ``RAY_AUTH_TOKEN_PATH``), or both sides run
with ``RAY_AUTH_MODE=disabled`` on a trusted network.  With no address a local cluster is started
(``address="local"``, which also avoids a stale ``/tmp/ray/ray_current_cluster`` pointing at a dead cluster).
"""

from __future__ import annotations

import os
import socket
import sys
from typing import Any, Callable

from gpnas.run.executors import Executor, Outcome, evaluate
from gpnas.threads import THREADS_VARIABLE


def _set_threads(torch_threads: int | None) -> None:
    if torch_threads:
        # a reused worker keeps the thread count of its last task, so set it on every task
        os.environ["OMP_NUM_THREADS"] = str(torch_threads)
        os.environ[THREADS_VARIABLE] = str(torch_threads)  # gpnas's trainings read it
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(torch_threads)


def _run_with_threads(function: Callable[[Any], Any], item: Any, torch_threads: int | None) -> Any:
    _set_threads(torch_threads)
    return function(item)


def _run_trial(objective: Callable[[dict], Any], arch: dict, torch_threads: int | None) -> Outcome:
    _set_threads(torch_threads)
    outcome = evaluate(objective, arch)
    try:
        import ray

        node = ray.get_runtime_context().get_node_id()[:8]
    except Exception:
        node = socket.gethostname()
    outcome.worker = f"{node}:{os.getpid()}"
    return outcome


class RayExecutor(Executor):
    """Run trials as Ray tasks.

    Parameters
    ----------
    address:
        ``None`` starts a local cluster; ``"auto"`` joins the running one; or a ``ray://`` address.
    n_workers:
        Trials in flight at most (default: the cluster's CPUs divided by ``num_cpus``).
    num_cpus, num_gpus:
        Resources of one trial (``num_gpus=1`` trains each child on its own GPU).
    max_retries:
        Retries of a trial whose worker died.
    torch_threads:
        Torch threads per trial (``None`` leaves them alone); one per CPU of the trial avoids oversubscription.
    local_num_cpus:
        CPUs of a local cluster started here.
    """

    parallel = True

    def __init__(
        self,
        address: str | None = None,
        n_workers: int | None = None,
        num_cpus: float = 1,
        num_gpus: float = 0,
        max_retries: int = 2,
        torch_threads: int | None = 1,
        local_num_cpus: int | None = None,
    ) -> None:
        import ray

        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        self._started_here = False
        if not ray.is_initialized():
            if address is None:
                ray.init(address="local", num_cpus=local_num_cpus or os.cpu_count(), include_dashboard=False,
                         log_to_driver=False)
            else:
                ray.init(address=address, log_to_driver=False)
            self._started_here = True
        self._ray = ray
        self._task = ray.remote(num_cpus=num_cpus, num_gpus=num_gpus, max_retries=max_retries)(_run_trial)
        self._num_cpus, self._num_gpus, self._max_retries = num_cpus, num_gpus, max_retries
        self.torch_threads = torch_threads
        cpus = ray.cluster_resources().get("CPU", 1)
        self.n_workers = int(n_workers or max(1, cpus // max(num_cpus, 1e-9)))

    def submit(self, objective, arch, number):
        return self._task.remote(objective, arch, self.torch_threads)

    def map(self, function, items):
        """Each item a Ray task with this executor's resources; results in order, as they are needed."""
        task = self._ray.remote(num_cpus=self._num_cpus, num_gpus=self._num_gpus, max_retries=self._max_retries)(
            _run_with_threads)
        refs = [task.remote(function, item, self.torch_threads) for item in items]
        return (self._ray.get(ref) for ref in refs)

    def wait(self, handles):
        ready, _ = self._ray.wait(handles, num_returns=1)
        results = []
        for ref in ready:
            try:
                results.append((ref, self._ray.get(ref)))
            except self._ray.exceptions.RayError as err:  # worker or node lost beyond the retries
                message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                results.append((ref, Outcome(None, f"{type(err).__name__}: {message}", "ray")))
        return results

    def shutdown(self) -> None:
        if self._started_here:
            self._ray.shutdown()
            self._started_here = False
