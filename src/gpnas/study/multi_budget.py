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

from gpnas.exceptions import DataError
from gpnas.gp.multi_budget import MAX_BUDGET_CORRELATION
from gpnas.sampling.multi_budget import MultiBudgetSampler
from gpnas.space import Choice, SearchSpace
from gpnas.study.study import Study
from gpnas.study.target_budget import TargetBudgetPredictor

BUDGET = "budget"

__all__ = ["AtBudget", "TableAtBudgets", "TargetBudgetPredictor", "budget_space", "multi_budget_study",
           "parse_budget_columns"]


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
    if study_kwargs.get("candidates") is not None:
        raise ValueError("a multi-budget study proposes from the whole space; candidates are not supported")
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
        from gpnas.run.table_objective import TableObjective

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
