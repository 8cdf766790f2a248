"""The acquisition integrated over hyperparameter draws (Snoek, Larochelle and Adams, NeurIPS 2012).

Each model of :func:`~gpnas.gp.hyperparameter_draws.hyperparameter_draws` scores the pool with UCB or EI; a pick
maximises the mean score over the models, and every model then conditions on it as a pending point (the greedy batch
of :func:`~gpnas.sampling.mutual_information.greedy_batch`, kept once per model).  With one model it picks what
``greedy_batch`` picks.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from gpnas.sampling.mutual_information import CovarianceFunction, _Conditioner, acquisition_scores

__all__ = ["integrated_greedy_batch"]


def integrated_greedy_batch(models: Sequence, pool: np.ndarray, sampled: np.ndarray, k: int, kind: str = "ucb",
                            beta: float = 2.0, best: float | None = None, sign: float = 1.0) -> list[int]:
    """``k`` pool indices, one at a time, each maximising the mean over ``models`` of the ``kind`` (``"ucb"`` or
    ``"ei"``) score given the observed, pending (``sampled``) and earlier picked architectures.  ``best`` is the best
    observed value in model units (every model shares the target transform of one fit), oriented by ``sign``."""
    if kind not in ("ucb", "ei"):
        raise ValueError(f"an integrated acquisition is 'ucb' or 'ei', got {kind!r}")
    if not len(models):
        raise ValueError("need at least one model")
    k = min(int(k), pool.shape[0])
    states = []
    for model in models:
        cov = CovarianceFunction(model)
        Z_pool = cov.encode(pool)
        Z_sampled = cov.encode(sampled) if len(sampled) else np.zeros((0, Z_pool.shape[1]))
        mean = sign * model.predict_latent_encoded(Z_pool, return_var=False)[0]
        states.append((model, _Conditioner(cov, Z_pool, Z_sampled, capacity=k), mean))
    chosen: list[int] = []
    taken = np.zeros(pool.shape[0], dtype=bool)
    for step in range(max(k, 0)):
        score = np.zeros(pool.shape[0])
        for model, numerators, mean in states:
            latent = np.maximum(numerators.variance - model.noise_, 1e-18)
            score += acquisition_scores(kind, mean, latent, best if best is not None else mean.max(), beta)
        score = np.where(taken, -np.inf, score / len(states))
        pick = int(np.argmax(score))
        chosen.append(pick)
        taken[pick] = True
        if step + 1 < k:
            for _, numerators, _ in states:
                numerators.add(pick)
    return chosen
