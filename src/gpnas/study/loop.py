"""The search loop of :meth:`Study.optimize` (Algorithm 1 with parallel evaluations), its heartbeats and progress line.

Each turn: stop if the budget, the time, Theorem 3's expected MSE or a failing setting says so; top the evaluations in
flight up to the batch size (re-queued trials first, then new proposals, each claimed in the storage before it runs);
wait for results and tell them.  Everything goes through the study's public methods, so processes sharing a study
through its storage cooperate (see ``docs/studies.md``).
"""

from __future__ import annotations

import threading
import time
import warnings
from typing import TYPE_CHECKING, Any, Callable

from gpnas.run.executors import Executor, InProcessExecutor, Retry
from gpnas.study.trial import FAIL_FAST, Trial

if TYPE_CHECKING:  # the study hands itself in; the loop never imports it
    from gpnas.study.study import Study


def optimize(study: Study, objective: Callable[[dict[str, Any]], float], budget: int, batch_size: int = 1,
             timeout: float | None = None, mse_threshold: float | None = None,
             callbacks: list[Callable[[Study, list[Trial]], None]] | None = None, show_progress: bool = False,
             executor: Executor | None = None, catch: tuple[type[Exception], ...] = ()) -> Study:
    """:meth:`Study.optimize`."""
    threshold = study.mse_threshold if mse_threshold is None else mse_threshold
    executor = executor or InProcessExecutor()
    start = time.time()
    study.stop("")
    in_flight: dict[Any, Trial] = {}
    progress = _Progress(study, budget) if show_progress else None
    beat = _Heartbeat(study, in_flight) if study.heartbeat_interval else None
    said: set[str] = set()  # failures already reported (each distinct message once)
    try:
        while True:
            if not study.stop_reason:
                _check_stop(study, budget, start, timeout)
            if not study.stop_reason and (executor.parallel or not in_flight):
                _fill(study, objective, executor, in_flight, batch_size, budget, threshold)
            if not in_flight:
                if study.stop_reason or not _others_running(study):
                    break
                # the rest of the budget is running in other processes: wait for it to finish, or to go stale and
                # come back to the queue (then this process evaluates it)
                time.sleep(min(1.0, study.heartbeat_interval or 1.0))
                continue
            finished, uncaught = [], None
            for handle, outcome in executor.wait(list(in_flight)):
                trial = in_flight.pop(handle)
                if isinstance(outcome, Retry):
                    trial.attempts += 1 if outcome.charged else 0
                    in_flight[outcome.handle] = trial
                    study.save_trials([trial])
                    continue
                trial.worker = outcome.worker
                finished.append(study.tell(trial, outcome.value, outcome.error))
                if outcome.exception is not None and not isinstance(outcome.exception, catch):
                    uncaught = uncaught or outcome.exception  # raised once every result of this wait is told
                    continue
                if outcome.error is not None and outcome.error not in said:
                    said.add(outcome.error)
                    warnings.warn(f"trial {trial.number} failed: {outcome.error}"
                                  + ("" if outcome.exception is None else " (caught; the search goes on)"),
                                  TrialFailedWarning, stacklevel=3)
            if uncaught is not None:
                _requeue(study, in_flight)
                raise uncaught
            if progress is not None:
                progress.update(len(finished), len(in_flight))
            for callback in callbacks or []:
                callback(study, finished)
    except KeyboardInterrupt:
        study.stop("interrupted")
        if beat is not None:
            beat.stop()
        _requeue(study, in_flight)
        raise
    finally:
        if beat is not None:
            beat.stop()
        if progress is not None:
            progress.close()
        executor.shutdown()
    if study.fit_model:
        study.refit()
    return study


class TrialFailedWarning(UserWarning):
    """A trial failed (a non-finite value, or an exception the search was told to catch); said once per message."""


def _requeue(study: Study, in_flight: dict) -> None:
    """Put the trials still in flight back in the queue (a resumed search runs them first)."""
    study.storage.requeue(study.study_name, [t.record() for t in in_flight.values()])
    in_flight.clear()


def _fill(study: Study, objective, executor: Executor, in_flight: dict, batch_size: int, budget: int,
          threshold) -> None:
    """Top the evaluations in flight up to ``batch_size``: re-queued trials first, then new proposals.

    Trials are claimed in the storage before they run (a compare-and-set: of several processes sharing the
    study, one gets each trial).  The budget counts every process's finished and running trials.
    """
    study.refresh()
    mine = {t.number for t in in_flight.values()}
    used = len(study.trials_in("done", "failed", "running")) + sum(
        1 for t in in_flight.values() if study.trials[t.number].state != "running")
    room = min(batch_size - len(in_flight), budget - used)
    if room <= 0 or _mse_converged(study, threshold):
        return
    queued = [t for t in study.trials_in("pending") if t.number not in mine and t.worker in (None, study.owner)]
    # re-queued trials run as a batch of their own, so a resumed run proposes exactly what the original did
    batch = queued[:room] if queued else study.ask(room, cap=budget)
    now = time.time()
    claimed = set(study.storage.claim_trials(study.study_name, [t.number for t in batch], study.owner, now))
    batch = [t for t in batch if t.number in claimed]
    for trial in batch:
        trial.state, trial.started, trial.worker, trial.heartbeat = "running", now, study.owner, now
        in_flight[executor.submit(objective, trial.params, trial.number)] = trial
    if not batch and not in_flight and not queued:
        study.stop("search space exhausted")


def _others_running(study: Study) -> bool:
    """Whether trials running in other processes still hold part of the budget."""
    return any(t.worker not in (None, study.owner) for t in study.trials_in("running"))


def _check_stop(study: Study, budget: int, start: float, timeout) -> None:
    """Stop on the budget, the timeout, or a setting that makes every trial fail (the first FAIL_FAST alike)."""
    failed = study.trials_in("failed")
    if (not study.trials_in("done") and len(failed) >= FAIL_FAST
            and len({t.error for t in failed[-FAIL_FAST:]}) == 1):
        study.stop(f"the first {len(failed)} trials all failed with the same error, so every trial would: "
                   f"{failed[-1].error}")
    elif len(study.trials_in("done", "failed")) >= budget:
        study.stop(f"budget of {budget} evaluations spent")
    elif timeout is not None and time.time() - start > timeout:
        study.stop(f"timeout of {timeout:g} s reached")


def _mse_converged(study: Study, threshold: float | None) -> bool:
    """Theorem 3's stop, checked before each proposal: the validated expected MSE (Theorem 3 plus the noise,
    cross-validated: :meth:`GPNASRegressor.expected_mse`) of the last ``mse_patience`` refits (each on more data) all
    under ``threshold``.  One round is not enough: with few trials the marginal likelihood can pick an overconfident
    fit whose variance collapses for a round.  A round without the validated value (recorded before a resume) never
    counts as under the threshold."""
    if threshold is None or len(study.trials_in("done")) < max(2, study.n_initial):
        return False
    study.refit(validate=True)
    recent = study.rounds[-study.mse_patience:]
    if len(recent) == study.mse_patience and all(
            r.expected_mse_validated is not None and r.expected_mse_validated < threshold for r in recent):
        study.stop(f"expected MSE {recent[-1].expected_mse_validated:.4g} below threshold {threshold:g} "
                   f"for {study.mse_patience} rounds (Theorem 3 plus noise, cross-validated)")
        return True
    return False


class _Heartbeat:
    """A thread that writes the heartbeat of the trials in flight every ``heartbeat_interval`` seconds."""

    def __init__(self, study: Study, in_flight: dict) -> None:
        self.study, self.in_flight = study, in_flight
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name="gpnas-heartbeat", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.done.wait(self.study.heartbeat_interval):
            numbers = [t.number for t in list(self.in_flight.values())]
            try:
                self.study.storage.heartbeat(self.study.study_name, numbers, self.study.owner, time.time())
            except Exception as err:  # a missed beat is retried next time; the search itself must not stop
                warnings.warn(f"heartbeat not written: {err}")

    def stop(self) -> None:
        self.done.set()
        self.thread.join()


class _Progress:
    """A live progress line that fits 80 columns: trials finished of the budget, a short bar, time, the best so far,
    failed and running trials (tqdm)."""

    def __init__(self, study: Study, budget: int) -> None:
        from tqdm import tqdm

        self.study = study
        self.bar = tqdm(total=budget, initial=len(study.trials_in("done", "failed")), unit="trial",
                        bar_format="{n_fmt}/{total_fmt} trials |{bar:12}| {elapsed}<{remaining}{postfix}",
                        ncols=80)

    def update(self, n: int, running: int) -> None:
        if self.study.is_multi_objective:
            front = self.study.best_trials
            parts = [f"front {len(front)}"] if front else []
        else:
            best = self.study.best_trial
            parts = [] if best is None else [f"best {best.value:.4g}"]
        failed = len(self.study.trials_in("failed"))
        parts += ([f"{failed} failed"] if failed else []) + ([f"{running} running"] if running else [])
        self.bar.set_postfix_str(", ".join(parts), refresh=False)  # drawn once, by the update below
        self.bar.update(n)

    def close(self) -> None:
        self.bar.close()
