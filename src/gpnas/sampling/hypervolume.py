"""Expected hypervolume improvement (EHVI) of two objectives, exactly, under independent Gaussian predictions.

Both objectives are maximised.  For a front ``P`` and a reference point ``r``, the hypervolume improvement of a new
point ``y`` is the area it dominates that neither ``P`` nor anything below ``r`` does.  Sorting the front by the
first objective (``a_1 < ... < a_p``, so ``b_1 > ... > b_p``), that area splits into vertical cells
``[a_k, a_{k+1}) x (b_{k+1}, inf)`` for ``k = 0 .. p`` (``a_0 = r_1``, ``a_{p+1} = inf``, ``b_{p+1} = r_2``), and
``y`` gains ``(min(y_1, a_{k+1}) - a_k)^+ (y_2 - b_{k+1})^+`` from cell ``k``.  With ``y_1`` and ``y_2`` independent,
each cell's expectation is a product of two one-dimensional expectations of the expected-improvement form
``E[(y - c)^+] = s psi((m - c) / s)``, ``psi(t) = t Phi(t) + phi(t)`` (Emmerich, Deutz & Klinkenberg, CEC 2011;
the box decomposition of Yang et al., 2019, in two dimensions).  It is the acquisition of Optuna's ``GPSampler`` and
of BoTorch's ``qEHVI`` for two objectives, here in closed form rather than by Monte Carlo.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np
from scipy.special import ndtr

if TYPE_CHECKING:
    from gpnas.sampling.candidates import CandidateSet
    from gpnas.space import SearchSpace

_SQRT_2PI = np.sqrt(2.0 * np.pi)


def _expected_excess(mean: np.ndarray, std: np.ndarray, level: np.ndarray | float) -> np.ndarray:
    """``E[(y - level)^+]`` for ``y ~ N(mean, std^2)``, broadcast (``std`` 0: ``(mean - level)^+``; ``level`` +inf:
    0)."""
    mean, std, level = np.broadcast_arrays(np.asarray(mean, dtype=float), np.asarray(std, dtype=float),
                                           np.asarray(level, dtype=float))
    out = np.zeros(mean.shape)
    finite = np.isfinite(level)
    certain, uncertain = finite & (std <= 0), finite & (std > 0)
    out[certain] = np.maximum(mean[certain] - level[certain], 0.0)
    t = (mean[uncertain] - level[uncertain]) / std[uncertain]
    out[uncertain] = std[uncertain] * (t * ndtr(t) + np.exp(-0.5 * t * t) / _SQRT_2PI)
    return np.maximum(out, 0.0)  # psi is positive; cancellation far in the lower tail must not make it negative


def nondominated_sorted(front: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """The points of ``front (p, 2)`` that strictly beat ``reference`` in both objectives and that no other point
    dominates, sorted by the first objective (ascending; the second then descends)."""
    front = np.asarray(front, dtype=float).reshape(-1, 2)
    front = front[np.all(front > reference, axis=1)]
    if not len(front):
        return front
    order = np.lexsort((-front[:, 1], -front[:, 0]))  # first objective descending, ties: larger second first
    kept, best_second = [], -np.inf
    for i in order:  # sweep from the largest first objective: a point survives if its second beats all so far
        if front[i, 1] > best_second:
            kept.append(i)
            best_second = front[i, 1]
    return front[kept[::-1]]


def expected_hypervolume_improvement_2d(mean: np.ndarray, std: np.ndarray, front: np.ndarray,
                                        reference: np.ndarray) -> np.ndarray:
    """EHVI ``(m,)`` of candidates with independent predictions ``mean, std (m, 2)`` (both objectives maximised)
    over the points ``front (p, 2)`` (dominated ones and those not beyond ``reference (2,)`` are ignored)."""
    mean = np.atleast_2d(np.asarray(mean, dtype=float))
    std = np.atleast_2d(np.asarray(std, dtype=float))
    reference = np.asarray(reference, dtype=float)
    if mean.shape[1] != 2 or std.shape != mean.shape or reference.shape != (2,):
        raise ValueError(f"two objectives expected: mean {mean.shape}, std {std.shape}, reference {reference.shape}")
    points = nondominated_sorted(front, reference)
    lower_first = np.concatenate([[reference[0]], points[:, 0]])  # a_k, k = 0 .. p
    upper_first = np.concatenate([points[:, 0], [np.inf]])  # a_{k+1}
    lower_second = np.concatenate([points[:, 1], [reference[1]]])  # b_{k+1}
    m1, s1, m2, s2 = mean[:, :1], std[:, :1], mean[:, 1:], std[:, 1:]
    width = _expected_excess(m1, s1, lower_first[None, :]) - _expected_excess(m1, s1, upper_first[None, :])
    height = _expected_excess(m2, s2, lower_second[None, :])
    return np.sum(np.maximum(width, 0.0) * height, axis=1)


def propose_by_ehvi(space: "SearchSpace", X_done: np.ndarray, values: np.ndarray, X_pending: np.ndarray,
                    X_failed: np.ndarray, rng: np.random.Generator, fit: Callable[[np.ndarray, np.ndarray], Any],
                    pool_size: int = 20000, candidates: "CandidateSet | None" = None, k: int = 1) -> np.ndarray:
    """Up to ``k`` unseen architectures ``(k', d)`` of largest expected hypervolume improvement for two objectives.

    ``values (n, 2)`` are the finished trials' objectives oriented so that larger is better; ``fit(X, y)`` returns a
    fitted :class:`~gpnas.gp.GPNASRegressor` of one objective (called once per objective, in order).  Each objective
    is scored in its model's units (``predict_latent``, the target transform's normal scores); the measured front is
    mapped into them, the reference point lies a tenth of the measured values' range below their worst, and
    running trials count at their predicted means, as does each architecture already picked for this batch (the
    "kriging believer").  Candidates: the pool a single-objective proposal searches, mutations of the front.
    """
    from gpnas.sampling.pool import candidate_pool
    from gpnas.sampling.scalarization import pareto_front

    values = np.asarray(values, dtype=float)
    front = pareto_front(values, np.ones(2))
    seen = np.vstack([X_done, X_pending, X_failed])
    pool = candidate_pool(space, seen, pool_size, rng, parents=X_done[front[:5]], n_mutations=pool_size // 10,
                          n_crossovers=pool_size // 20, candidates=candidates)
    if pool.shape[0] == 0:
        return pool
    means, stds, measured, pending = [], [], [], []
    for j in range(2):
        model = fit(X_done, values[:, j])
        mean, var = model.predict_latent(pool)
        means.append(mean)
        stds.append(np.sqrt(np.maximum(var, 0.0)))
        measured.append(model.target_.forward(values[:, j]))
        pending.append(model.predict_latent(X_pending, return_var=False)[0] if len(X_pending) else np.zeros(0))
    mean, std, measured = np.column_stack(means), np.column_stack(stds), np.column_stack(measured)
    span = np.ptp(measured, axis=0)
    reference = measured.min(axis=0) - 0.1 * np.where(span > 0, span, 1.0)
    believed = np.vstack([measured, np.column_stack(pending)])
    chosen: list[int] = []
    available = np.ones(len(pool), dtype=bool)
    for _ in range(min(int(k), len(pool))):
        gain = expected_hypervolume_improvement_2d(mean, std, believed, reference)
        pick = int(np.argmax(np.where(available, gain, -np.inf)))
        chosen.append(pick)
        available[pick] = False
        believed = np.vstack([believed, mean[pick]])
    return pool[chosen]
