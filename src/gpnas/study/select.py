"""Choosing architectures for several deployment targets from one fitted predictor, without searching again.

A *target* is a budget on one cost: ``macs<=5e6``, ``params<=1e6``, ``latency_pixel4<=12`` (or ``>=`` for costs where
more is better, such as throughput).  For each target the best *predicted* architecture among the candidates that
meet its budget is picked.  The Pareto front lists the candidates no other beats on both predicted performance and
cost.

Latency lookup tables (CSV, one per device) give an additive per-choice latency, as in FBNet/OFA-style tables:

    choice,value,ms
    _base,,1.20            <- constant part (stem, head); optional
    b0_kernel,3,0.11
    b0_kernel,5,0.15
    ...

The latency of an architecture is ``_base`` plus the ``ms`` of each of its (choice, value) pairs; every pair of the
space must be listed.

A device measured on a few whole architectures instead (an architecture CSV: a column per choice and ``ms``, a dozen
rows or more) gets a latency *model*: a GP on the log latencies of the rows (:func:`latency_model`).  Its inputs
beside the architecture: the cost columns of a ``--costs`` table when every measured row is one of its rows (other
devices' latencies, FLOPs: HELP's setting, :func:`cost_side_features`), else the candidates' MACs and params where
the study can count them (a latency tracks the work a network does).  :func:`measurement_design` says which rows of
such a table to measure.  Its budget is checked on the upper end of the 95 % predictive interval, so a pick meets it
unless the model is off by more than it says; the cost columns show both ``DEVICE`` (that upper end) and
``DEVICE_predicted`` (the median).
"""

from __future__ import annotations

import csv
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gpnas.exceptions import DataError
from gpnas.gp.side_features import SideFeatures
from gpnas.nets.latency_tables import latency_of, read_latency_table  # noqa: F401  (gpnas select's API)
from gpnas.space import SearchSpace

_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][\w.-]*)\s*(<=|>=)\s*([-+0-9.eE]+)\s*$")


@dataclass(frozen=True)
class Constraint:
    """``cost <= limit`` (or ``>=``)."""

    cost: str
    op: str
    limit: float

    @classmethod
    def parse(cls, text: str) -> "Constraint":
        match = _CONSTRAINT.match(text)
        if not match:
            raise DataError(f"cannot parse budget {text!r}; expected NAME<=NUMBER or NAME>=NUMBER")
        try:
            limit = float(match.group(3))
        except ValueError:
            raise DataError(f"budget {text!r}: {match.group(3)!r} is not a number") from None
        return cls(match.group(1), match.group(2), limit)

    def feasible(self, values: np.ndarray) -> np.ndarray:
        return values <= self.limit if self.op == "<=" else values >= self.limit

    def __str__(self) -> str:
        return f"{self.cost}{self.op}{self.limit:g}"


def pareto_front(cost: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Indices of the points that no other point beats on both lower cost and higher score, by increasing cost."""
    order = np.lexsort((-score, cost))
    front, best = [], -np.inf
    for i in order:
        if score[i] > best:
            front.append(i)
            best = score[i]
    return np.array(front, dtype=int)


def select_per_target(mean: np.ndarray, costs: dict[str, np.ndarray], constraints: list[Constraint],
                      top: int = 1, maximize: bool = True) -> dict[str, np.ndarray]:
    """For each constraint, the indices of the ``top`` best predicted candidates that meet it (best first).

    Raises :class:`DataError` when a constraint names an unknown cost or no candidate meets it.
    """
    score = mean if maximize else -mean
    chosen = {}
    for c in constraints:
        if c.cost not in costs:
            raise DataError(f"budget {c} names an unknown cost {c.cost!r}; known: {sorted(costs)}")
        feasible = np.flatnonzero(c.feasible(costs[c.cost]))
        if feasible.size == 0:
            lo, hi = np.nanmin(costs[c.cost]), np.nanmax(costs[c.cost])
            raise DataError(f"no candidate meets budget {c} (the candidates' {c.cost} ranges {lo:.4g} .. {hi:.4g})")
        chosen[str(c)] = feasible[np.argsort(-score[feasible])[:top]]
    return chosen


def is_latency_table(path: str | Path, space: SearchSpace) -> bool:
    """Whether ``path`` is a per-choice latency table (columns ``choice``, ``value``, ``ms``) rather than measured
    architectures (a column per choice and ``ms``); a file that is neither is refused, naming both forms."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return True  # read_latency_table names the problem
    if {"choice", "value", "ms"} <= set(header):
        return True
    missing = [c for c in space.names + ["ms"] if c not in header]
    if missing:
        raise DataError(f"latency file {str(path)!r} is neither a per-choice table (columns choice,value,ms) nor "
                        f"measured architectures (a column per choice and ms; it lacks {missing[:4]}"
                        f"{' ...' if len(missing) > 4 else ''}); it has {header}")
    return False


#: Fewest measured architectures a latency model is fitted on.
MIN_LATENCY_ROWS = 5


def read_costs_table(path: str | Path, space: SearchSpace) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``(X (m, d), {column: (m,)})``: the architectures of a CSV and every numeric column beside the choices (an
    empty cell is NaN; a column with text is not a cost and is left out)."""
    from gpnas.io.data import read_architectures

    X, _, rows = read_architectures(path, space)
    costs: dict[str, np.ndarray] = {}
    for column in rows[0] if rows else []:
        if column in space.names:
            continue
        try:
            costs[column] = np.array([float(r[column]) if r[column] != "" else np.nan for r in rows])
        except ValueError:
            continue
    return X, costs


def cost_side_features(X: np.ndarray, costs: dict[str, np.ndarray]) -> SideFeatures | None:
    """The log of every cost column that is finite and positive for all architectures ``X (m, d)`` (latencies on
    other devices, FLOPs, params), as side features of a latency model; ``None`` when no column qualifies.  A row
    repeated in ``X`` keeps its first values."""
    names = sorted(name for name, values in costs.items()
                   if len(values) == len(X) and np.all(np.isfinite(values)) and np.all(np.asarray(values) > 0))
    if not names or not len(X):
        return None
    _, first = np.unique(X, axis=0, return_index=True)
    values = np.log(np.column_stack([np.asarray(costs[name], dtype=float)[first] for name in names]))
    return SideFeatures(X[first], values, names, signs=np.ones(len(names)))


def measurement_design(side: SideFeatures, count: int, seed: int = 0) -> np.ndarray:
    """Which ``count`` architectures of ``side.X`` to measure on a new device before any measurement: a
    farthest-point design in their costs (:func:`gpnas.sampling.design.farthest_point_design`), rows of ``side.X``
    (``(count, d)``)."""
    from gpnas.sampling.design import farthest_point_design

    if count < MIN_LATENCY_ROWS:
        raise DataError(f"a latency model needs at least {MIN_LATENCY_ROWS} measured architectures; asked for {count}")
    return side.X[farthest_point_design(side, count, np.random.default_rng(seed))]


def latency_model(path: str | Path, space: SearchSpace, X: np.ndarray, side: dict[str, np.ndarray] | None = None,
                  side_of_rows=None, random_state: int | None = 0, table_side: SideFeatures | None = None,
                  target_transform: str = "standardize") -> tuple[np.ndarray, np.ndarray, int]:
    """Latencies of candidates ``X (m, d)`` predicted from an architecture CSV of measured ones (a column per
    choice and ``ms``): a GP on ``log ms`` (latencies are positive and multiplicative).  Returns ``(median (m,),
    upper end of the 95 % interval (m,), rows used)``.

    Inputs beside the architecture:

    * ``table_side``: costs known for the candidates *and* the measured rows (:func:`cost_side_features` of a costs
      table), used when it covers both.  The model is the one HELP's NAS-Bench-201 protocol chose
      (``benchmarks/latency.py``; README): each cost standardised in a kernel group of its own, and on a cell space
      the cell's operation counts instead of the one-hot choices.
    * otherwise ``side``: positive costs of the candidates (MACs, params) and ``side_of_rows(X_rows)`` the same for
      the measured rows; their logs join the model as side features.

    ``target_transform`` of the log latencies (:class:`~gpnas.gp.GPNASRegressor`'s): ``"standardize"``, which
    ranked HELP's validation and training devices at least as well as the normal scores (``"copula"``;
    ``benchmarks/latency_select.py``).
    """
    from gpnas.gp import GPNASRegressor
    from gpnas.io.data import read_architectures

    X_rows, ms, _ = read_architectures(path, space, "ms")
    if len(ms) < MIN_LATENCY_ROWS:
        raise DataError(f"latency measurements {str(path)!r}: {len(ms)} row(s); a latency model needs at least "
                        f"{MIN_LATENCY_ROWS}")
    if np.any(ms <= 0):
        raise DataError(f"latency measurements {str(path)!r}: line {int(np.argmax(ms <= 0)) + 2} has ms "
                        f"{ms[np.argmax(ms <= 0)]!r}, not above zero")
    # maximum likelihood, not the predictor's default prior: what benchmarks/latency.py measured against HELP
    params = {"space": space, "random_state": random_state, "target_transform": target_transform,
              "hyperprior_scale": None}
    if table_side is not None and not table_side.covers(X_rows).all():
        missing = int(np.sum(~table_side.covers(X_rows)))
        warnings.warn(f"latency measurements {str(path)!r}: {missing} of {len(X_rows)} measured architectures are not "
                      "rows of the costs table, so its columns cannot be inputs of the latency model; it learns from "
                      "the architectures alone", stacklevel=2)
        table_side = None
    if table_side is not None and table_side.covers(X).all():
        params.update(side_features=table_side, side_grouping="each", side_scaling="standardize")
        if space.cell is not None:
            params["features"] = ["ops"]
    elif side:
        names = sorted(side)
        rows_side = side_of_rows(X_rows)
        both = np.vstack([X, X_rows])
        values = np.log(np.column_stack([np.concatenate([side[n], rows_side[n]]) for n in names]))
        keep = np.unique(both, axis=0, return_index=True)[1]
        params["side_features"] = SideFeatures(both[keep], values[keep], names, signs=np.ones(len(names)))
    model = GPNASRegressor(**params).fit(X_rows, np.log(ms))
    median = np.exp(model.predict(X))  # the mean of log ms, mapped back: the lognormal's median
    upper = np.exp(model.predict_interval(X, coverage=0.95)[1])
    return median, upper, len(ms)


def parse_latency_options(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["DEVICE=FILE.csv", ...]`` as ``{device: path}``."""
    out = {}
    for item in items:
        if "=" not in item:
            raise DataError(f"--latency {item!r}: expected DEVICE=FILE.csv")
        device, path = item.split("=", 1)
        out[device] = path
    return out


@dataclass
class Selection:
    """Candidates ``X (m, d)`` with predicted ``mean``/``std`` and ``costs`` (name -> ``(m,)``), the picks per
    target (indices into ``X``, best first) and the Pareto front against the first target's cost."""

    X: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    lower: np.ndarray  # the 95 % interval a new measurement should fall in
    upper: np.ndarray
    costs: dict[str, np.ndarray]
    chosen: dict[str, list[int]]
    front: np.ndarray


def select_for_study(study, constraints: list[Constraint], latencies: dict[str, str], costs_path: str | None = None,
                     width: float | None = None, resolution: int | None = None, pool_size: int = 20000,
                     top: int = 1) -> Selection:
    """The best predicted architectures of a study per target, without searching again.

    Candidates: the rows of ``costs_path`` (a CSV of architectures with numeric cost columns), or a pool of the
    space refined around the best predicted, costed by the study's stored training objective (MACs, params; with
    ``width``/``resolution`` overriding the stored ones) and by the per-device latency tables.
    """
    from gpnas.nets.defaults import objective_from_settings
    from gpnas.sampling.pool import candidate_pool

    model = study.refit()
    if model is None:
        raise DataError(f"study {study.study_name!r} has too few finished trials to predict with")
    space = study.arch_space  # a multi-budget study's model predicts its target budget from the architecture alone
    costs: dict[str, np.ndarray] = {}
    objective = None
    if costs_path:
        X, costs = read_costs_table(costs_path, space)
    else:
        X = candidate_pool(space, None, pool_size, np.random.default_rng(study.seed))
        if len(X) > 50:  # refine around the best predicted: their neighbours join the candidates
            best = X[np.argsort(-study.sign * model.predict(X))[:50]]
            X = np.unique(np.vstack([X] + [space.neighbours(x) for x in best]), axis=0)
        objective = objective_from_settings(space, study.user_attrs.get("objective"), width, resolution)
        if objective is not None:
            counted = [objective.costs(space.to_dict_arch(x)) for x in X]
            costs["macs"] = np.array([c["macs"] for c in counted], dtype=float)
            costs["params"] = np.array([c["params"] for c in counted], dtype=float)
    # the costs table's own columns, before any device's predictions join ``costs``
    table_side = cost_side_features(X, costs) if costs_path else None
    for device, path in latencies.items():
        if is_latency_table(path, space):
            table, base = read_latency_table(path, space)
            costs[device] = latency_of(X, table, base)
            continue
        side = {k: costs[k] for k in ("macs", "params") if k in costs and np.all(costs[k] > 0)} or None
        side = side if objective is not None else None  # the measured rows' costs come from the same counter
        device_side = None
        if table_side is not None:  # a column of this device itself is not an input of its model
            others = [n for n in table_side.names if n not in (device, f"{device}_predicted")]
            device_side = table_side.subset(others) if others else None
        median, upper, _ = latency_model(path, space, X, side, _cost_counter(objective, space, side), study.seed,
                                         table_side=device_side)
        costs[device], costs[f"{device}_predicted"] = upper, median
    missing = sorted({c.cost for c in constraints} - set(costs))
    if missing:
        hint = ("a study replayed on a table has no MACs or params of its own: give the table's cost columns "
                "(--costs FILE.csv) or a latency table (--latency DEVICE=FILE.csv)") if objective_free(study) else \
            "give them with --costs FILE.csv or --latency DEVICE=FILE.csv"
        raise DataError(f"no {', '.join(missing)} for this study's candidates (known: {sorted(costs) or 'none'}); "
                        + hint)
    mean, std = model.predict(X, return_std=True)
    lower, upper = model.predict_interval(X)
    chosen = select_per_target(mean, costs, constraints, top, study.direction == "maximize")
    axis = constraints[0].cost
    cost_axis = costs[axis] if constraints[0].op == "<=" else -costs[axis]
    return Selection(X, mean, std, lower, upper, costs, chosen, pareto_front(cost_axis, study.sign * mean))


def _cost_counter(objective, space: SearchSpace, side: dict | None):
    """``rows -> {cost: (n,)}``: the study's own count of the ``side`` costs for measured rows (``None`` without)."""
    if side is None:
        return None

    def count(rows: np.ndarray) -> dict[str, np.ndarray]:
        counted = [objective.costs(space.to_dict_arch(x)) for x in rows]
        return {name: np.array([c[name] for c in counted], dtype=float) for name in side}

    return count


def objective_free(study) -> bool:
    """Whether the study's evaluations were table lookups (no training objective to count MACs and params)."""
    return "table" in (study.user_attrs.get("objective") or {})
