"""Slice sampling (Neal, Annals of Statistics 2003): draws from an unnormalised log density in a box.

Used to marginalise a GP's hyperparameters instead of fixing them at one estimate (Snoek, Larochelle and Adams,
NeurIPS 2012: "Practical Bayesian optimization", which integrates the acquisition over slice-sampled
hyperparameters).  One sweep updates each coordinate in turn with Neal's univariate sampler: step out from a random
interval of ``width`` around the current value until both ends lie below the slice (or at the box's edge), then
shrink towards the current value until a point inside the slice is found.  Every update leaves the target
invariant, so the chain needs no tuning beyond ``width``, which only changes its speed.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["slice_sample"]

#: Step-out steps per side before the interval is accepted as it is (Neal's ``m``).
MAX_STEPS_OUT = 10
#: Shrinkage steps before a coordinate keeps its value (only a density that is -inf almost everywhere gets there).
MAX_SHRINKS = 100


def slice_sample(log_density: Callable[[np.ndarray], float], start: np.ndarray, n_samples: int,
                 random_state: int | np.random.Generator | None = None, bounds: np.ndarray | None = None,
                 width: float | np.ndarray = 1.0, burn: int = 0, thin: int = 1) -> np.ndarray:
    """``n_samples`` draws ``(n_samples, d)`` of a chain started at ``start (d,)``, after ``burn`` discarded sweeps,
    keeping every ``thin``-th sweep.

    ``log_density(x)`` is the log density up to a constant (``-inf`` outside its support); ``bounds (d, 2)``, when
    given, confine every coordinate to ``[low, high]`` (the start must lie inside, with a finite density).
    """
    rng = np.random.default_rng(random_state)
    x = np.array(start, dtype=float)
    d = x.size
    if n_samples < 0 or burn < 0 or thin < 1:
        raise ValueError(f"need n_samples >= 0, burn >= 0 and thin >= 1, got {n_samples}, {burn}, {thin}")
    lows, highs = (np.full(d, -np.inf), np.full(d, np.inf)) if bounds is None else np.asarray(bounds, float).T
    if np.any(x < lows) or np.any(x > highs):
        raise ValueError("the start lies outside the bounds")
    widths = np.broadcast_to(np.asarray(width, dtype=float), (d,))
    if np.any(widths <= 0):
        raise ValueError(f"width must be positive, got {width!r}")
    current = float(log_density(x))
    if not np.isfinite(current):
        raise ValueError("the log density at the start must be finite")
    out = np.empty((n_samples, d))
    for sweep in range(burn + n_samples * thin):
        for j in range(d):
            current = _update(log_density, x, j, current, lows[j], highs[j], widths[j], rng)
        kept = sweep - burn
        if kept >= 0 and (kept + 1) % thin == 0:
            out[kept // thin] = x
    return out


def _update(log_density, x: np.ndarray, j: int, current: float, low: float, high: float, width: float,
            rng: np.random.Generator) -> float:
    """One univariate slice-sampling update of ``x[j]`` in place; returns the log density at the new point."""
    level = current + np.log(rng.uniform())  # the slice: {z : log_density(z) > level}
    origin = x[j]

    def at(value: float) -> float:
        x[j] = value
        return float(log_density(x))

    left = origin - width * rng.uniform()
    right = left + width
    for _ in range(MAX_STEPS_OUT):
        if left <= low or at(left) <= level:
            break
        left -= width
    for _ in range(MAX_STEPS_OUT):
        if right >= high or at(right) <= level:
            break
        right += width
    left, right = max(left, low), min(right, high)
    for _ in range(MAX_SHRINKS):
        proposal = rng.uniform(left, right)
        value = at(proposal)
        if value > level:
            return value
        if proposal < origin:
            left = proposal
        else:
            right = proposal
    x[j] = origin
    return current
