"""Thompson sampling over a candidate pool (Thompson 1933; for Bayesian optimisation Kandasamy et al., AISTATS 2018):
each pick is the maximiser of one draw of the latent function from the GP posterior.

A joint draw over a pool of ``N`` candidates needs an ``(N, N)`` factorisation, so the draw is taken jointly over the
``subset_size`` candidates with the highest UCB (``mean + beta std``): a candidate outside them would need a draw
``beta`` standard deviations above its mean to beat the best of them, which a Gaussian draw almost never gives.

The posterior conditions on the observed and the pending architectures (the study's running trials, and in a batch
the picks before): ``cov(S) = K(S, S) - C(s, S)^T C(s, s)^-1 C(s, S)`` with ``C`` the noisy-measurement prior
covariance of :class:`~gpnas.sampling.mutual_information.CovarianceFunction`.  The mean is the model's, unchanged by
pending points (a kriging believer's), so a batch's draws differ by their randomness and by the shrinking variance at
the earlier picks.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import solve_triangular

from gpnas.gp.linalg import robust_cholesky
from gpnas.sampling.mutual_information import CovarianceFunction

#: Candidates of the highest UCB a joint draw covers (a Cholesky of this size takes a few tens of milliseconds).
THOMPSON_SUBSET_SIZE = 1000


def thompson_picks(model, pool: np.ndarray, sampled: np.ndarray, k: int, rng: np.random.Generator,
                   sign: float = 1.0, beta: float = 3.0, subset_size: int = THOMPSON_SUBSET_SIZE) -> list[int]:
    """``k`` distinct pool indices, each the argmax of a fresh posterior draw (larger is better after ``sign``) given
    the ``sampled (n, d)`` architectures and the earlier picks."""
    k = min(int(k), pool.shape[0])
    if k <= 0:
        return []
    cov = CovarianceFunction(model)
    Z_pool = cov.encode(pool)
    mean, var = model.predict_latent_encoded(Z_pool)
    mean = sign * mean
    ucb = mean + beta * np.sqrt(np.maximum(var, 0.0))
    subset = np.argsort(-ucb, kind="stable")[: max(int(subset_size), k)]
    Z = Z_pool[subset]
    Z_sampled = cov.encode(sampled) if len(sampled) else np.zeros((0, Z.shape[1]))
    posterior = posterior_covariance(cov, Z, Z_sampled)
    picks: list[int] = []
    for _ in range(k):
        # a jitter of 1e-6 of the mean variance: candidates the data pins down leave the matrix nearly singular, and
        # a draw's extra spread of 0.1 % of a standard deviation changes no pick worth speaking of
        jittered = posterior.copy()
        jittered[np.diag_indices_from(jittered)] += 1e-6 * max(float(np.mean(np.diag(posterior))), 1e-12)
        factor = robust_cholesky(jittered, what="posterior covariance of the candidates")
        draw = mean[subset] + factor @ rng.standard_normal(len(subset))
        if picks:
            draw[picks] = -np.inf
        picks.append(int(np.argmax(draw)))
        if len(picks) < k:  # the next draw conditions on this pick as a pending (noisy) measurement
            posterior = condition_on_pick(posterior, picks[-1], model.noise_)
    return [int(subset[i]) for i in picks]


def condition_on_pick(posterior: np.ndarray, index: int, noise: float) -> np.ndarray:
    """``posterior (m, m)`` further conditioned on a noisy measurement of candidate ``index`` (noise variance
    ``noise``): the exact rank-one update ``S - S[:, i] S[i, :] / (S[i, i] + noise)``."""
    column = posterior[:, index].copy()
    return posterior - np.outer(column, column) / (column[index] + noise)


def posterior_covariance(cov: CovarianceFunction, Z: np.ndarray, Z_sampled: np.ndarray) -> np.ndarray:
    """The latent function's posterior covariance ``(m, m)`` at encoded candidates ``Z`` given noisy measurements at
    ``Z_sampled`` (GPML eq. 2.24 with the linear mean's prior folded into the covariance)."""
    posterior = cov(Z, Z.copy())  # latent: no noise on the diagonal
    if len(Z_sampled):
        L = robust_cholesky(cov(Z_sampled), what="covariance of the sampled architectures")
        V = solve_triangular(L, cov(Z_sampled, Z), lower=True, check_finite=False)
        posterior = posterior - V.T @ V
    return 0.5 * (posterior + posterior.T)
