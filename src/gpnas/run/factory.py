"""Executors by name, for the CLI and the API: the one place that knows every executor, Ray included."""

from __future__ import annotations

from gpnas.exceptions import DataError
from gpnas.run.executors import ProcessPoolExecutor
from gpnas.threads import available_cores, threads_per_worker


def make_executor(kind: str, workers: int | None = None, address: str | None = None, gpus_per_trial: float = 0.0,
                  cores: int | None = None):
    """An executor by name: ``inprocess`` (``None``, the study's default), ``process`` or ``ray``.  ``cores``: the
    CPU threads the parallel trials share (default: the cores available to this process)."""
    if kind == "inprocess":
        return None
    if kind == "process":
        return ProcessPoolExecutor(workers or 2, cores=cores)
    try:
        from gpnas.run.ray import RayExecutor
    except ImportError:
        raise DataError("--executor ray needs the ray extra: pip install 'gpnas[ray]'") from None
    try:
        # on a local cluster the cores are this machine's: share them between the workers; elsewhere one per task
        threads = threads_per_worker(workers or cores or available_cores(), cores) if address is None else 1
        return RayExecutor(address=address, n_workers=workers, num_gpus=gpus_per_trial, torch_threads=threads)
    except ImportError:
        raise DataError("--executor ray needs the ray extra: pip install 'gpnas[ray]'") from None
