"""Shared set-ups of the sampler tests."""

import numpy as np

from gpnas import GPNASRegressor
from gpnas.space import make_space

#: An additive objective's weights per position (five 3-way positions).
WEIGHTS = np.array([1.0, -2.0, 3.0, 0.5, 1.5])


def additive_study(n: int, n_options: int = 3, weights=WEIGHTS, seed: int = 0, noise: float = 0.1):
    """``(space, X, y, model)``: ``n`` random architectures of ``len(weights)`` positions with ``n_options`` choices,
    the additive objective ``X @ weights`` plus Gaussian noise, and the model fitted on it."""
    space = make_space([(f"p{i}", list(range(n_options)), "op") for i in range(len(weights))])
    rng = np.random.default_rng(seed)
    X = space.sample(n, random_state=rng)
    y = X @ np.asarray(weights, dtype=float) + noise * rng.standard_normal(n)
    return space, X, y, GPNASRegressor(space=space, random_state=0).fit(X, y)
