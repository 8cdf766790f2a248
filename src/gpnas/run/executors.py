"""Executors run evaluations: in this process, in a local process pool, or on a Ray cluster (:mod:`gpnas.run.ray`).

An executor takes ``submit(objective, arch, number)`` and hands back results from ``wait(handles)`` as they finish,
each an :class:`Outcome` (a value, or an error message) with the worker that produced it.  The study keeps
``batch_size`` evaluations in flight: a *parallel* executor gets new proposals as soon as any evaluation finishes
(the running ones count as pending for the sampler), the in-process one evaluates a whole batch before the next.
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import os
import socket
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from gpnas.threads import THREADS_VARIABLE, available_cores, threads_per_worker


@dataclass
class Outcome:
    """The result of one evaluation: ``value`` or ``error`` (then the trial fails), and where it ran."""

    value: float | tuple[float, ...] | None  # a tuple: one value per objective of a multi-objective study
    error: str | None
    worker: str
    exception: BaseException | None = None  # what the objective raised (a stand-in when it cannot be pickled)


@dataclass
class Retry:
    """Returned by ``wait`` in place of an outcome when a lost evaluation was resubmitted as ``handle``."""

    handle: Any
    reason: str
    charged: bool = True  # whether the lost evaluation counts as an attempt of its trial


def evaluate(objective: Callable[[dict], Any], arch: dict) -> Outcome:
    """Call the objective; any exception or a non-finite / non-numeric value becomes an error, never a crash.  A
    sequence of numbers (a multi-objective study's values) comes back as a tuple of floats; the study checks it has
    one per objective."""
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        raw = objective(arch)
    except KeyboardInterrupt:
        raise
    except Exception as err:  # a failing evaluation must not crash the executor: the study decides what to do
        return Outcome(None, f"{type(err).__name__}: {err}".strip(), worker, _picklable(err))
    many = isinstance(raw, (list, tuple)) or getattr(raw, "ndim", 0) == 1
    try:
        value = tuple(float(v) for v in raw) if many else float(raw)
    except (TypeError, ValueError):
        return Outcome(None, f"objective returned {raw!r}, not a number", worker)
    if not all(math.isfinite(v) for v in (value if many else (value,))):
        return Outcome(None, f"objective returned {value!r}", worker)
    return Outcome(value, None, worker)


def _picklable(err: Exception) -> Exception:
    """``err`` itself when it can cross a process boundary, otherwise a ``RuntimeError`` with its message."""
    import pickle

    try:
        pickle.loads(pickle.dumps(err))
        return err
    except Exception:
        return RuntimeError(f"{type(err).__name__}: {err}")


class Executor:
    """Interface.  ``parallel`` executors run several evaluations at once."""

    parallel = False
    n_workers = 1

    def submit(self, objective: Callable[[dict], Any], arch: dict, number: int) -> Any:
        raise NotImplementedError

    def wait(self, handles: list) -> list[tuple[Any, Outcome | Retry]]:
        """Block until at least one of ``handles`` finished; return the finished ones with their outcomes (or a
        :class:`Retry` naming the handle that replaces a lost one)."""
        raise NotImplementedError

    def map(self, function: Callable[[Any], Any], items: list) -> Iterator[Any]:
        """``function(item)`` for each of ``items``, in order, spread over this executor's workers: bulk work that is
        not a trial (zero-cost proxies of a pool of candidates).  ``function`` and the items must be picklable for
        the parallel executors; an exception is raised to the caller, as the built-in ``map`` raises it."""
        return map(function, items)

    def shutdown(self) -> None:
        """Release workers."""


class InProcessExecutor(Executor):
    """Evaluates in the calling process, one at a time (the default)."""

    class _Call:
        """A deferred evaluation; hashable by identity, as handles must be."""

        def __init__(self, objective, arch):
            self.objective, self.arch = objective, arch

    def submit(self, objective, arch, number):
        return self._Call(objective, arch)

    def wait(self, handles):
        call = handles[0]
        return [(call, evaluate(call.objective, call.arch))]


def _evaluate_marked(objective: Callable[[dict], Any], arch: dict, marker: str) -> Outcome:
    """:func:`evaluate` in a pool worker, leaving ``marker`` while it runs, so that the parent can tell which
    evaluation a dead worker was running: a worker the pool terminates (SIGTERM, after another worker died) first
    writes ``terminated`` into its marker; a worker that dies on its own leaves the marker as it was."""
    import signal

    def terminated(signum, frame):
        with open(marker, "a") as handle:
            handle.write(" terminated")
        os._exit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminated)
    with open(marker, "w") as handle:
        handle.write(str(os.getpid()))
    try:
        return evaluate(objective, arch)
    finally:
        signal.signal(signal.SIGTERM, previous)
        os.unlink(marker)


def _limit_threads(threads: int) -> None:
    """Process-pool initializer: the worker's trials use ``threads`` torch, OpenMP and BLAS threads, so that ``w``
    workers on ``c`` cores run ``w * (c // w) <= c`` threads in all.  The environment reaches torch and libraries
    loaded later; BLAS, already loaded with NumPy by now, is limited through threadpoolctl."""
    os.environ[THREADS_VARIABLE] = str(threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads, user_api="blas")


class ProcessPoolExecutor(Executor):
    """A local pool of ``n_workers`` processes (never more than the cores).  The objective must be picklable.

    Each worker's trials get ``cores // n_workers`` torch threads (:func:`threads_per_worker`), so parallel trainings
    never oversubscribe the cores.

    A worker that dies (killed, out of memory) breaks the whole pool; the pool then terminates its other workers.
    Every evaluation in flight is resubmitted to a fresh pool, but only the one whose worker died counts an attempt
    (up to ``max_retries``, then its trial fails): each evaluation leaves a marker while it runs, and a worker the
    pool itself terminates (SIGTERM) marks itself a bystander before it exits.  Ray
    (:mod:`gpnas.run.ray`) retries only the task whose worker died in the same way.
    """

    parallel = True

    def __init__(self, n_workers: int = 2, max_retries: int = 1, cores: int | None = None) -> None:
        import tempfile

        self.n_workers = max(1, min(int(n_workers), available_cores()))
        self.max_retries = max_retries
        self.threads = threads_per_worker(self.n_workers, cores)
        self._pool = self._new_pool()
        self._calls: dict[cf.Future, tuple] = {}
        self._markers = tempfile.mkdtemp(prefix="gpnas-pool-")
        self._count = 0

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        # spawn, not fork: a process forked after torch (or Ray, or BLAS) started its thread pools can hang at its
        # first parallel region, and the search's own process has usually trained or fitted by then
        import multiprocessing

        return cf.ProcessPoolExecutor(self.n_workers, mp_context=multiprocessing.get_context("spawn"),
                                      initializer=_limit_threads, initargs=(self.threads,))

    def _replace_pool(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()

    def _submit(self, objective, arch, number, attempts: int) -> cf.Future:
        self._count += 1
        marker = os.path.join(self._markers, f"{self._count}")
        try:
            future = self._pool.submit(_evaluate_marked, objective, arch, marker)
        except cf.process.BrokenProcessPool:  # a worker died since the last wait: start a fresh pool
            self._replace_pool()
            future = self._pool.submit(_evaluate_marked, objective, arch, marker)
        self._calls[future] = (objective, arch, number, attempts, self._pool, marker)
        return future

    def _died_running(self, marker: str) -> bool:
        """Whether the evaluation behind ``marker`` was running in the worker whose death broke the pool."""
        import time

        try:
            with open(marker) as handle:
                pid = int(handle.read().split()[0])
        except (OSError, ValueError, IndexError):
            return False  # it never started: queued behind the dead worker
        # The pool fails the futures before it terminates the other workers: wait until this worker is gone (and
        # reaped) before reading whether it was terminated.
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.01)
        with open(marker) as handle:
            text = handle.read()
        os.unlink(marker)
        return "terminated" not in text

    def submit(self, objective, arch, number):
        return self._submit(objective, arch, number, 0)

    def map(self, function, items):
        return self._pool.map(function, items)

    def wait(self, handles):
        done, _ = cf.wait(handles, return_when=cf.FIRST_COMPLETED)
        results = []
        for future in done:
            objective, arch, number, attempts, pool, marker = self._calls.pop(future)
            try:
                results.append((future, future.result()))
            except cf.process.BrokenProcessPool:
                if pool is self._pool:  # the first loss from this pool replaces it; later ones reuse the new one
                    self._replace_pool()
                charged = self._died_running(marker)
                if charged and attempts >= self.max_retries:
                    results.append((future, Outcome(None, "worker process died", "local-pool")))
                    continue
                retry = self._submit(objective, arch, number, attempts + (1 if charged else 0))
                reason = "worker process died" if charged else "resubmitted after another worker died"
                results.append((future, Retry(retry, reason, charged)))
        return results

    def shutdown(self) -> None:
        import shutil

        self._pool.shutdown(wait=False, cancel_futures=True)
        shutil.rmtree(self._markers, ignore_errors=True)
