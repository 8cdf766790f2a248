"""A Hamming trust region around the incumbent (CASMOPOLITAN, Wan et al., ICML 2021; TuRBO, Eriksson et al.,
NeurIPS 2019): the acquisition may only pick architectures within ``radius`` changed positions of the best measured
one.  The radius shrinks by one after ``fail_tol`` proposals in a row that did not improve on the best, grows by one
after ``success_tol`` in a row that did, and starts again from its initial value when it would fall below one.

The radius is not stored: it is replayed from the measurements in the order they were made, so a resumed study, or
another process sharing it, computes the same radius from the same trials.
"""

from __future__ import annotations

import math

import numpy as np


def initial_radius(fraction: float, n_positions: int) -> int:
    """``ceil(fraction * n_positions)``, at least 1: the radius the region starts (and restarts) from."""
    if not (np.isfinite(fraction) and 0 < fraction <= 1):
        raise ValueError(f"trust_radius must be a fraction of the positions in (0, 1], got {fraction!r}")
    return max(1, math.ceil(fraction * n_positions))


def check_tolerances(fail_tol: int, success_tol: int) -> None:
    """A clear error unless both tolerances are at least one proposal."""
    if fail_tol < 1 or success_tol < 1:
        raise ValueError(f"the trust region's tolerances must be at least 1, got {fail_tol} and {success_tol}")


def replay_radius(y: np.ndarray, start: int, n_positions: int, initial: int, fail_tol: int,
                  success_tol: int) -> int:
    """The radius after the measurements ``y`` (larger is better, in the order they were made), counting successes
    and failures from index ``start`` on (the trials before it are the random start: nothing steered them)."""
    check_tolerances(fail_tol, success_tol)
    y = np.asarray(y, dtype=float)
    start = min(max(int(start), 0), y.size)
    best = float(np.max(y[:start])) if start > 0 else -np.inf
    radius, successes, failures = initial, 0, 0
    for value in y[start:]:
        if value > best:
            best, successes, failures = float(value), successes + 1, 0
            if successes >= success_tol:
                radius, successes = min(radius + 1, n_positions), 0
        else:
            successes, failures = 0, failures + 1
            if failures >= fail_tol:
                radius, failures = radius - 1, 0
                if radius < 1:  # the region has shrunk to the incumbent alone: start again
                    radius = initial
    return radius


def within_radius(pool: np.ndarray, center: np.ndarray, radius: int) -> np.ndarray:
    """The rows of ``pool`` that differ from ``center`` in at most ``radius`` positions."""
    pool = np.asarray(pool)
    if pool.shape[0] == 0:
        return pool
    return pool[(pool != np.asarray(center)[None, :]).sum(axis=1) <= radius]
