"""Studies that evaluate architectures at several training budgets (e.g. 1 and 3 epochs, or 12 and 200).

A multi-budget study is a :class:`~gpnas.study.Study` whose space has one more position, ``budget``
(:func:`budget_space`), and whose sampler is :class:`~gpnas.sampling.multi_budget.MultiBudgetSampler`.  Trials, the
store, executors, resuming and stale-trial recovery are those of any study; the objective receives the budget through
:class:`AtBudget`.  The goal is the best architecture *at the largest budget* (the target): the best found is the best
measured there, and the model predicts every architecture there.

    study = multi_budget_study(space, budgets=[12, 200], storage="sqlite:///gpnas.db")
    study.optimize(AtBudget(objective), budget=100)   # objective(arch, budget) -> value
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from gpnas.exceptions import DataError
from gpnas.gp.multi_budget import MAX_BUDGET_CORRELATION, MultiBudgetGP
from gpnas.sampling.multi_budget import _CHUNK, MultiBudgetSampler, arch_part
from gpnas.space import Choice, SearchSpace

BUDGET = "budget"


def budget_space(space: SearchSpace, budgets: Sequence[float]) -> SearchSpace:
    """``space`` plus a last position ``budget`` whose values are the budgets, in increasing order."""
    values = sorted({float(b) for b in budgets})
    if not values or values[0] <= 0:
        raise DataError(f"budgets must be positive numbers, got {list(budgets)!r}")
    if BUDGET in space.names:
        raise DataError(f"space {space.name!r} already has a position named {BUDGET!r}")
    values = [int(v) if v.is_integer() else v for v in values]
    return SearchSpace(list(space.choices) + [Choice(BUDGET, tuple(values), BUDGET)], name=space.name,
                       cell=space.cell)


def multi_budget_study(space: SearchSpace, budgets: Sequence[float], costs: Sequence[float] | None = None,
                       beta: float = 3.0, n_initial: int = 10, pool_size: int = 20000,
                       max_correlation: float = MAX_BUDGET_CORRELATION, **study_kwargs: Any):
    """A new multi-budget :class:`~gpnas.study.Study` over ``space`` (the architecture space, without budget).

    ``costs``: the cost of one evaluation at each budget, in increasing budget order (default: the budget).
    ``max_correlation``: the bound of the model's correlation between the cheapest and the target budget
    (:class:`~gpnas.gp.multi_budget.MultiBudgetGP`).
    Other keyword arguments go to :class:`~gpnas.study.Study` (``storage``, ``study_name``, ``seed``, ...).
    """
    from gpnas.study import Study

    if study_kwargs.get("mse_threshold") is not None:
        raise ValueError("a multi-budget study has no Theorem 3 stop (mse_threshold): its expected error is that of "
                         "the single-budget model; stop it with the evaluation budget or a timeout")
    spaced = budget_space(space, budgets)
    ordered = list(spaced.choices[-1].values)
    sampler = MultiBudgetSampler(ordered, costs, beta=beta, n_initial=n_initial, pool_size=pool_size,
                                 max_correlation=max_correlation)
    return Study(spaced, sampler=sampler, n_initial=n_initial, pool_size=pool_size, **study_kwargs)


@dataclass
class AtBudget:
    """Adapts ``objective(arch, budget)`` to a study's ``objective(arch)``: the ``budget`` entry of the architecture
    is taken out and passed as the second argument.  Picklable when the objective is (process pools, Ray)."""

    objective: Callable[..., float]

    def __call__(self, arch: dict) -> float:
        arch = dict(arch)
        budget = arch.pop(BUDGET)
        return self.objective(arch, budget)


class TableAtBudgets:
    """A benchmark table with one column per budget (e.g. NB201's 12- and 200-epoch accuracies) as
    ``objective(arch, budget)``: a lookup; a missing architecture fails its trial."""

    def __init__(self, space: SearchSpace, path: str, columns: dict[float, str]) -> None:
        from gpnas.objectives import TableObjective

        self.tables = {float(b): TableObjective(space, path, column) for b, column in columns.items()}

    def __call__(self, arch: dict, budget: float) -> float:
        if float(budget) not in self.tables:
            raise KeyError(f"no column for budget {budget}")
        return self.tables[float(budget)](arch)


def parse_budget_columns(text: str) -> dict[float, str]:
    """``"12:ColA,200:ColB"`` -> ``{12.0: "ColA", 200.0: "ColB"}`` (the CLI's ``--target`` for several budgets)."""
    columns: dict[float, str] = {}
    for part in text.split(","):
        budget, sep, column = part.partition(":")
        try:
            value = float(budget)
        except ValueError:
            value = float("nan")
        if not sep or not column or not value > 0:
            raise DataError(f"--target {text!r}: expected BUDGET:COLUMN pairs separated by commas, e.g. "
                            "12:Acc12,200:Acc200")
        if value in columns:
            raise DataError(f"--target {text!r}: budget {budget} is given twice")
        columns[value] = column
    if len(columns) < 2:
        raise DataError(f"--target {text!r}: a multi-budget search needs at least two budgets; for one, give the "
                        "column alone")
    return columns


class TargetBudgetPredictor:
    """A multi-budget study's predictor of an architecture's value *at the target budget*, with the prediction
    interface of :class:`~gpnas.gp.regressor.GPNASRegressor` (``predict``, ``predict_interval``, in the study's own
    units and direction), so that what reads a study's model (``gpnas select``, ``gpnas report``,
    :meth:`~gpnas.study.Study.best_predicted`, :meth:`~gpnas.study.Study.recommend`) reads this one the same way.

    Its inputs are rows of the *architecture* space (without the budget position).  ``model`` was fitted on the
    study's values times ``sign`` (larger is better), as :class:`~gpnas.sampling.multi_budget.MultiBudgetSampler`
    fits it.  The intervals are the Gaussian ones of the latent model mapped back through the target transform
    (exact quantiles); unlike the single-budget regressor's they are not widened by a jackknife of the residuals.
    """

    def __init__(self, model: MultiBudgetGP, sign: float, space: SearchSpace) -> None:
        self.model = model
        self.sign = float(sign)
        self.space = space
        self.budget = float(model.budgets[-1])

    def _latent(self, X, include_noise: bool) -> tuple[np.ndarray, np.ndarray]:
        X = np.atleast_2d(self.space.validate(X))
        parts = [self.model.predict_latent(X[i:i + _CHUNK], self.budget) for i in range(0, len(X), _CHUNK)]
        mean, var = (np.concatenate(p) for p in zip(*parts)) if parts else (np.empty(0), np.empty(0))
        if include_noise:
            var = var + self.model.noise_at(self.model.coordinate([self.budget]))
        return mean, np.sqrt(var)

    def predict(self, X, return_std: bool = False, include_noise: bool = False):
        """Predicted value at the target budget ``(m,)`` and, if asked, its standard deviation: the mean and
        standard deviation of the predictive distribution in measured units (of a new measurement with
        ``include_noise``)."""
        mean, std = self._latent(X, include_noise)
        out_mean, out_var = self.model.transform_.moments(mean, std)
        out_mean = self.sign * np.asarray(out_mean)
        return (out_mean, np.sqrt(out_var)) if return_std else out_mean

    def predict_interval(self, X, coverage: float = 0.95, include_noise: bool = True):
        """Central ``coverage`` interval ``(lower, upper)`` of the value at the target budget (of a new measurement
        by default)."""
        if not 0.0 < coverage < 1.0:
            raise ValueError(f"coverage must be in (0, 1), got {coverage!r}")
        mean, std = self._latent(X, include_noise)
        ends = [self.sign * self.model.transform_.quantiles(mean, std, q) for q in ((1 - coverage) / 2,
                                                                                     (1 + coverage) / 2)]
        return np.minimum(*ends), np.maximum(*ends)

    @property
    def group_names_(self) -> list[str]:
        return list(self.model.encoder.group_names)


def fit_target_predictor(study) -> TargetBudgetPredictor | None:
    """Fit a multi-budget study's model on its finished trials (``None`` under 3 of them)."""
    done = study.trials_in("done")
    if len(done) < 3:
        return None
    X = np.array([t.arch for t in done], dtype=int)
    model = study.sampler.fit(study.space, X, study.sign * np.array([t.value for t in done], dtype=float))
    return TargetBudgetPredictor(model, study.sign, arch_part(study.space))


def multi_budget_summary(study) -> dict[str, Any]:
    """The summary of a multi-budget study: the best measured and the best predicted at the target budget, the
    evaluations and cost per budget, and how much the short trainings say about the long ones."""
    sampler: MultiBudgetSampler = study.sampler
    space = arch_part(study.space)
    target = sampler.target_index
    done = study.trials_in("done")
    finished = done + study.trials_in("failed")
    best = study.best_trial  # the best at the target budget
    per_budget = [{"budget": b, "cost": c, "n_done": sum(1 for t in done if t.arch[-1] == j)}
                  for j, (b, c) in enumerate(zip(sampler.budgets, sampler.costs))]
    summary = {
        "space": space.name, "strategy": sampler.name, "direction": study.direction,
        "n_done": len(done), "n_failed": len(study.trials_in("failed")), "stop_reason": study.stop_reason,
        "target_budget": sampler.budgets[target], "budgets": per_budget,
        "cost": float(sum(sampler.costs[t.arch[-1]] for t in finished)),
        "best_found": None if best is None else {"number": best.number, "arch": space.to_dict_arch(best.arch[:-1]),
                                                 "value": best.value, "budget": sampler.budgets[target]},
        "best_predicted": None, "budget_correlation": None, "measured_correlation": None, "recommended": None,
        "expected_mse": None,
    }
    predictor = study.refit()
    summary["recommended"] = study.recommend()  # the best measured at the target budget
    if predictor is not None:
        best_predicted = study.best_predicted(1)[0]
        summary["best_predicted"] = {**best_predicted, "budget": sampler.budgets[target]}
        summary["budget_correlation"] = predictor.model.budget_correlation_
        summary["measured_correlation"] = predictor.model.measured_correlation_
    return summary
