"""Several objectives as one: ParEGO's random augmented Chebyshev scalarisations (Knowles, IEEE TEC 2006).

Each proposal draws weights ``lambda`` uniformly from the simplex, normalises every objective to ``[0, 1]`` over the
trials seen (oriented so that larger is better), and scores a trial by the augmented Chebyshev utility
``min_j lambda_j u_j + rho * sum_j lambda_j u_j``.  One GP fitted to that utility proposes the next architecture as
in a single-objective search.  Over many draws every Pareto-optimal point maximises some scalarisation (the
Chebyshev form reaches the non-convex parts of the front that a weighted sum cannot), and the augmentation ``rho``
keeps a point dominated by another from tying with it.
"""

from __future__ import annotations

import numpy as np

#: ParEGO's augmentation (Knowles 2006 uses 0.05).
RHO = 0.05


def simplex_weights(n_objectives: int, rng: np.random.Generator) -> np.ndarray:
    """Weights drawn uniformly from the probability simplex (a flat Dirichlet)."""
    return rng.dirichlet(np.ones(int(n_objectives)))


def normalized_utilities(values: np.ndarray, signs: np.ndarray) -> np.ndarray:
    """``values (n, k)`` oriented by ``signs (k,)`` (+1 maximise, -1 minimise) and scaled to ``[0, 1]`` per objective
    over the rows (an objective with one distinct value gets 0.5 everywhere)."""
    oriented = np.asarray(values, dtype=float) * np.asarray(signs, dtype=float)
    low, high = oriented.min(axis=0), oriented.max(axis=0)
    span = high - low
    return np.where(span > 0, (oriented - low) / np.where(span > 0, span, 1.0), 0.5)


def chebyshev_utility(utilities: np.ndarray, weights: np.ndarray, rho: float = RHO) -> np.ndarray:
    """The augmented Chebyshev utility of each row of ``utilities (n, k)``; larger is better."""
    weighted = np.asarray(utilities) * np.asarray(weights)
    return weighted.min(axis=1) + rho * weighted.sum(axis=1)


def pareto_front(values: np.ndarray, signs: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated rows of ``values (n, k)`` (``signs``: +1 maximise, -1 minimise), in row order."""
    oriented = np.asarray(values, dtype=float) * np.asarray(signs, dtype=float)
    keep = []
    for i, row in enumerate(oriented):
        dominated = np.all(oriented >= row, axis=1) & np.any(oriented > row, axis=1)
        if not dominated.any():
            keep.append(i)
    return np.array(keep, dtype=int)


def hypervolume_2d(values: np.ndarray, signs: np.ndarray, reference: np.ndarray) -> float:
    """The area dominated by ``values (n, 2)`` and bounded by ``reference`` (a point every objective is worse at)."""
    oriented = np.asarray(values, dtype=float) * np.asarray(signs, dtype=float)
    ref = np.asarray(reference, dtype=float) * np.asarray(signs, dtype=float)
    points = oriented[np.all(oriented > ref, axis=1)]
    if points.size == 0:
        return 0.0
    points = points[np.argsort(-points[:, 0])]  # best first objective first
    area, best_second = 0.0, ref[1]
    for first, second in points:
        if second > best_second:
            area += (first - ref[0]) * (second - best_second)
            best_second = second
    return float(area)
