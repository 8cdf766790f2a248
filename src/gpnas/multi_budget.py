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
from gpnas.gp.multi_budget import MAX_BUDGET_CORRELATION
from gpnas.sampling.multi_budget import MultiBudgetSampler, arch_part
from gpnas.sampling.pool import candidate_pool
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
    if len(done) >= 3:
        X = np.array([t.arch for t in done], dtype=int)
        model = sampler.fit(study.space, X, study.sign * np.array([t.value for t in done]))
        # the architecture space itself (the whole of it when it fits the pool), not the study's budget space
        candidates = candidate_pool(space, None, study.pool_size, np.random.default_rng(study.seed))
        pool = np.unique(np.vstack([candidates, X[:, :-1]]), axis=0)
        i = int(np.argmax(sampler.target_mean(model, pool)))
        value, lower, upper = model.predict(pool[i:i + 1])
        sign = study.sign
        lower, upper = sorted((sign * float(lower[0]), sign * float(upper[0])))
        summary["best_predicted"] = {"arch": space.to_dict_arch(pool[i]), "mean": sign * float(value[0]),
                                     "lower": lower, "upper": upper, "budget": sampler.budgets[target]}
        summary["budget_correlation"] = model.budget_correlation_
        summary["measured_correlation"] = model.measured_correlation_
    return summary
