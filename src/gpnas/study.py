"""The search loop: Algorithm 1 (AEA) with ask/tell, as in Optuna.

Each round: fit the GP on every finished trial (kernel hyperparameters and the posterior of the linear mean, see
:class:`GPNASRegressor`), compute Theorem 3's expected MSE over the candidate pool, stop if it is under the threshold,
otherwise let the sampler propose the next batch (pending trials count as sampled), evaluate, tell, repeat.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from gpnas.gp.regressor import GPNASRegressor
from gpnas.sampling.pool import candidate_pool
from gpnas.samplers import RandomSampler, Sampler, SamplingContext, make_sampler
from gpnas.space import SearchSpace

STATES = ("pending", "running", "done", "failed")


@dataclass
class Trial:
    """One evaluation of an architecture."""

    number: int
    arch: np.ndarray
    state: str = "pending"
    value: float | None = None
    error: str | None = None
    started: float | None = None
    finished: float | None = None
    round: int = 0

    def params(self, space: SearchSpace) -> dict[str, Any]:
        return space.to_dict_arch(self.arch)

    def to_dict(self, space: SearchSpace) -> dict[str, Any]:
        return {"number": self.number, "arch": self.params(space), "state": self.state, "value": self.value,
                "error": self.error, "round": self.round,
                "duration_s": (self.finished - self.started) if self.finished and self.started else None}


@dataclass
class Round:
    """What the model looked like after one refit (Algorithm 1's estimation step)."""

    n_done: int
    expected_mse: float
    sigma: list[float]
    lengthscale: list[float]
    noise: float
    log_marginal_likelihood: float
    seconds: float = 0.0


@dataclass
class StopReason:
    reason: str = ""


class Study:
    """A GP-NAS search over a space.

    Parameters
    ----------
    space:
        The search space.
    sampler:
        A strategy name (``mi``, ``random``, ``ucb``, ``ei``, ``mi+ucb``, ``rea``, ``ls``) or a :class:`Sampler`.
    direction:
        ``"maximize"`` (accuracy) or ``"minimize"`` (error).
    n_initial:
        Random architectures before the first model-guided batch.
    model_params:
        Keyword arguments of :class:`GPNASRegressor` (the space and seed are filled in).
    mse_threshold:
        Stop once Theorem 3's expected MSE over the pool (in squared target units) falls below this.
    pool_size:
        Size of the candidate pool of the samplers and of the pool the best architecture is predicted over (the
        whole space when smaller).
    mse_pool_size:
        Number of architectures (a fixed random sample of the space, or all of it when smaller) over which Theorem
        3's expected MSE is averaged: a Monte Carlo estimate of the space-wide mean.
    seed:
        Seeds sampling and the model's restarts.
    fit_model:
        Fit the GP every round even for samplers that do not use it (the predictor and Theorem 3's stop are then
        available for every strategy).
    """

    def __init__(
        self,
        space: SearchSpace,
        sampler: str | Sampler = "mi",
        direction: str = "maximize",
        n_initial: int = 10,
        model_params: Mapping[str, Any] | None = None,
        mse_threshold: float | None = None,
        pool_size: int = 20000,
        mse_pool_size: int = 2000,
        seed: int | None = None,
        fit_model: bool = True,
    ) -> None:
        if direction not in ("maximize", "minimize"):
            raise ValueError(f"direction must be 'maximize' or 'minimize', got {direction!r}")
        self.space = space
        self.sampler = make_sampler(sampler)
        self.direction = direction
        self.n_initial = int(n_initial)
        self.model_params = dict(model_params or {})
        self.mse_threshold = mse_threshold
        self.pool_size = pool_size
        self.mse_pool_size = mse_pool_size
        self.fit_model = fit_model
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.trials: list[Trial] = []
        self.rounds: list[Round] = []
        self.model_: GPNASRegressor | None = None
        self._model_n_done = -1
        self._stop = StopReason()
        self._eval_pool: np.ndarray | None = None

    # ------------------------------------------------------------------ views
    def _sign(self) -> float:
        return 1.0 if self.direction == "maximize" else -1.0

    def trials_in(self, *states: str) -> list[Trial]:
        return [t for t in self.trials if t.state in states]

    @property
    def best_trial(self) -> Trial | None:
        """The finished trial with the best value."""
        done = self.trials_in("done")
        return max(done, key=lambda t: self._sign() * t.value) if done else None

    def stop(self, reason: str = "stopped by the user") -> None:
        """Ask :meth:`optimize` to stop after the batch in flight."""
        self._stop.reason = reason

    @property
    def stop_reason(self) -> str:
        return self._stop.reason

    # ------------------------------------------------------------------ the model (Algorithm 1's estimation)
    def _arrays(self, *states: str) -> np.ndarray:
        rows = [t.arch for t in self.trials_in(*states)]
        return np.array(rows, dtype=int).reshape(-1, self.space.n_positions)

    def _pool(self) -> np.ndarray:
        if self._eval_pool is None:
            self._eval_pool = candidate_pool(self.space, None, self.pool_size, np.random.default_rng(self.seed))
        return self._eval_pool

    def _mse_pool(self) -> np.ndarray:
        pool = self._pool()
        if len(pool) <= self.mse_pool_size:
            return pool
        return pool[np.random.default_rng(self.seed).choice(len(pool), self.mse_pool_size, replace=False)]

    def refit(self) -> GPNASRegressor | None:
        """Refit the GP on every finished trial if new ones arrived; record the round.  ``None`` under 2 trials."""
        done = self.trials_in("done")
        if len(done) < 2 or len(done) == self._model_n_done:
            return self.model_
        start = time.perf_counter()
        X = np.array([t.arch for t in done])
        y = np.array([t.value for t in done])
        params = {"random_state": self.seed, **self.model_params, "space": self.space}
        if self.model_ is not None and "sigma" not in self.model_params:
            # warm start from the last round's hyperparameters: fewer restarts, same optimum
            params.update(sigma=self.model_.kernel_.sigma, lengthscale=self.model_.kernel_.lengthscale,
                          noise=max(self.model_.noise_, 1e-5), n_restarts=min(1, params.get("n_restarts", 1)))
        self.model_ = GPNASRegressor(**params).fit(X, y)
        self._model_n_done = len(done)
        mse = self.model_.expected_mse(self._mse_pool())
        self.rounds.append(Round(len(done), mse, self.model_.sigma_.tolist(), self.model_.lengthscale_.tolist(),
                                 float(self.model_.noise_), float(self.model_.log_marginal_likelihood_value_),
                                 time.perf_counter() - start))
        return self.model_

    # ------------------------------------------------------------------ ask / tell
    def ask(self, k: int = 1) -> list[Trial]:
        """Propose ``k`` new trials (fewer if the space runs out); they stay pending until told."""
        n_done = len(self.trials_in("done"))
        model = None
        if self.sampler.uses_model and n_done >= max(2, self.n_initial):
            model = self.refit()
        done = self.trials_in("done")
        ctx = SamplingContext(
            space=self.space,
            X_done=self._arrays("done"),
            y_done=self._sign() * np.array([t.value for t in done], dtype=float),
            X_pending=self._arrays("pending", "running"),
            X_failed=self._arrays("failed"),
            rng=self.rng,
            model=model,
        )
        archs = self.sampler.propose(ctx, k) if n_done >= self.n_initial or not self.sampler.uses_model else None
        if archs is None:
            archs = RandomSampler().propose(ctx, k)
        new = []
        for x in archs:
            trial = Trial(len(self.trials), np.asarray(x, dtype=int), round=len(self.rounds))
            self.trials.append(trial)
            new.append(trial)
        return new

    def enqueue(self, arch: np.ndarray | Mapping[str, Any]) -> Trial:
        """Add a user-chosen architecture as a pending trial."""
        x = self.space.from_dict_arch(arch) if isinstance(arch, Mapping) else self.space.validate(arch)
        trial = Trial(len(self.trials), np.asarray(x, dtype=int), round=len(self.rounds))
        self.trials.append(trial)
        return trial

    def tell(self, trial: Trial | int, value: float | None, error: str | None = None) -> Trial:
        """Report a result.  ``None``, NaN or infinite values, or an ``error``, mark the trial failed."""
        if isinstance(trial, (int, np.integer)):
            trial = self.trials[int(trial)]
        if trial.state in ("done", "failed"):
            raise ValueError(f"trial {trial.number} was already told ({trial.state})")
        trial.finished = time.time()
        ok = error is None and value is not None and math.isfinite(float(value))
        if ok:
            trial.state, trial.value = "done", float(value)
        else:
            trial.state = "failed"
            trial.error = error or f"objective returned {value!r}"
        return trial

    # ------------------------------------------------------------------ optimise
    def optimize(
        self,
        objective: Callable[[dict[str, Any]], float],
        budget: int,
        batch_size: int = 1,
        timeout: float | None = None,
        mse_threshold: float | None = None,
        callbacks: list[Callable[["Study", list[Trial]], None]] | None = None,
        show_progress: bool = False,
    ) -> "Study":
        """Run Algorithm 1 until ``budget`` trials (done or failed) exist, ``timeout`` seconds pass, the expected MSE
        falls below ``mse_threshold``, the space is exhausted, or a callback calls :meth:`stop`.

        ``objective`` takes the architecture as ``{choice name: value}`` and returns its performance; an exception or
        a non-finite value marks the trial failed and the search goes on.  Ctrl-C stops after recording the trials
        finished so far.
        """
        threshold = self.mse_threshold if mse_threshold is None else mse_threshold
        start = time.time()
        self._stop.reason = ""
        progress = None
        if show_progress:
            from tqdm import tqdm

            progress = tqdm(total=budget, initial=len(self.trials_in("done", "failed")), unit="trial")
        try:
            while not self._stop.reason:
                used = len(self.trials_in("done", "failed"))
                if used >= budget:
                    self._stop.reason = f"budget of {budget} evaluations spent"
                    break
                if timeout is not None and time.time() - start > timeout:
                    self._stop.reason = f"timeout of {timeout:g} s reached"
                    break
                if threshold is not None and self.model_ is not None and self.rounds:
                    self.refit()
                    if self.rounds[-1].expected_mse < threshold:
                        self._stop.reason = (f"expected MSE {self.rounds[-1].expected_mse:.4g} below threshold "
                                             f"{threshold:g} (Theorem 3)")
                        break
                batch = self.ask(min(batch_size, budget - used))
                if not batch:
                    self._stop.reason = "search space exhausted"
                    break
                for trial in batch:
                    self._evaluate(objective, trial)
                    if progress is not None:
                        progress.update(1)
                        best = self.best_trial
                        postfix = {"failed": len(self.trials_in("failed"))}
                        if best is not None:
                            postfix["best"] = f"{best.value:.4g}"
                        if self.rounds:
                            postfix["mse"] = f"{self.rounds[-1].expected_mse:.3g}"
                        progress.set_postfix(postfix)
                for callback in callbacks or []:
                    callback(self, batch)
        except KeyboardInterrupt:
            for trial in self.trials_in("pending", "running"):
                self.tell(trial, None, error="interrupted")
            self._stop.reason = "interrupted"
        finally:
            if progress is not None:
                progress.close()
        if self.fit_model:
            self.refit()
        return self

    def _evaluate(self, objective, trial: Trial) -> None:
        trial.state, trial.started = "running", time.time()
        try:
            value = objective(trial.params(self.space))
        except KeyboardInterrupt:
            raise
        except Exception as err:  # a failing evaluation must not stop the search
            self.tell(trial, None, error=f"{type(err).__name__}: {err}".strip())
            return
        try:
            value = float(value)
        except (TypeError, ValueError):
            self.tell(trial, None, error=f"objective returned {value!r}, not a number")
            return
        self.tell(trial, value)

    # ------------------------------------------------------------------ results
    def best_predicted(self, n: int = 1) -> list[dict[str, Any]]:
        """The ``n`` architectures with the best predicted mean over the pool and the evaluated ones."""
        model = self.refit()
        if model is None:
            return []
        candidates = np.unique(np.vstack([self._pool(), self._arrays("done")]), axis=0)
        mean, std = model.predict(candidates, return_std=True)
        order = np.argsort(-self._sign() * mean)[:n]
        return [{"arch": self.space.to_dict_arch(candidates[i]), "mean": float(mean[i]), "std": float(std[i])}
                for i in order]

    def summary(self) -> dict[str, Any]:
        best = self.best_trial
        return {
            "space": self.space.name,
            "strategy": self.sampler.name,
            "direction": self.direction,
            "n_done": len(self.trials_in("done")),
            "n_failed": len(self.trials_in("failed")),
            "stop_reason": self.stop_reason,
            "best_found": None if best is None else {"number": best.number, "arch": best.params(self.space),
                                                     "value": best.value},
            "best_predicted": self.best_predicted(1)[0] if self.model_ is not None else None,
            "expected_mse": self.rounds[-1].expected_mse if self.rounds else None,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "trials": [t.to_dict(self.space) for t in self.trials],
            "rounds": [vars(r) for r in self.rounds],
            "group_names": None if self.model_ is None else self.model_.group_names_,
        }


def create_study(space: SearchSpace, sampler: str | Sampler = "mi", **kwargs: Any) -> Study:
    """Optuna-style constructor: ``create_study(space, sampler="mi", direction="maximize", seed=0)``."""
    if not isinstance(space, SearchSpace):
        raise TypeError(f"create_study needs a SearchSpace, got {type(space).__name__}")
    return Study(space, sampler=sampler, **kwargs)
