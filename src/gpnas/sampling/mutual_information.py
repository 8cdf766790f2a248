"""Mutual-information sampling (the paper's Eq. 12) and greedy batch selection with pending points.

Notation: ``C`` is the prior covariance of noisy measurements (kernel + linear-mean prior + noise, see
:meth:`GPNASRegressor.prior_covariance`); ``s`` the sampled set (observed, pending and already chosen
architectures), ``u`` the unsampled candidates of the pool.

Eq. 12: ``M(s, u) = 1/2 log(|C(u, u)| / |C(u | s)|)``.  Adding candidate ``y`` to ``s`` changes it by

    M(s + y, u - y) - M(s, u) = 1/2 log(sigma^2(y | s) / sigma^2(y | u - y))

(Krause, Singh & Guestrin, JMLR 2008, eq. 6), so the greedy maximiser of Eq. 12 picks the candidate with the largest
ratio of its variance given the sampled set to its variance given the other unsampled candidates.  Both variances are
kept up to date as the batch grows:

* numerators ``sigma^2(y | s)``: ``V = L_s^-1 C(s, pool)`` grows by one row per pick (an extend-Cholesky step),
  ``O(|s| N)`` per pick for a pool of ``N``;
* denominators ``sigma^2(y | u - y) = 1 / Q_yy`` with ``Q = C(u, u)^-1``; removing a pick from ``u`` is a rank-one
  Schur-complement downdate of ``Q``, ``O(N^2)`` per pick.  For pools larger than ``reference_size`` the denominators
  are computed against a random reference subset ``R`` of the pool (exact and downdated for candidates in ``R``,
  ``sigma^2(y | R)`` held fixed within the batch for the others): an ``O(N |R|^2)`` approximation instead of
  ``O(N^3)``.

UCB and EI use the same numerators: ``sigma^2(y | s)`` minus the noise is the posterior variance given observed and
pending points, so a batch of UCB picks spreads out as a kriging believer's would (the mean is unchanged by pending
points whose value is the believed mean).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cho_solve, solve_triangular
from scipy.stats import norm

from gpnas.gp.linalg import robust_cholesky

def mutual_information(C: np.ndarray, sampled: np.ndarray) -> float:
    """Eq. 12 by brute-force determinants: ``C (N, N)`` over the universe, ``sampled`` a boolean mask or indices."""
    mask = np.zeros(C.shape[0], dtype=bool)
    mask[sampled] = True
    s, u = np.flatnonzero(mask), np.flatnonzero(~mask)
    Cuu = C[np.ix_(u, u)]
    if s.size == 0:
        return 0.0
    Cus = C[np.ix_(u, s)]
    conditional = Cuu - Cus @ np.linalg.solve(C[np.ix_(s, s)], Cus.T)
    return 0.5 * (np.linalg.slogdet(Cuu)[1] - np.linalg.slogdet(conditional)[1])


class _Conditioner:
    """Variances of (encoded) pool candidates given a growing sampled set (the numerators of the MI ratio)."""

    def __init__(self, cov: "CovarianceFunction", pool: np.ndarray, sampled: np.ndarray):
        self.cov, self.pool = cov, pool
        self.variance = cov.diag(pool)
        if sampled.shape[0]:
            L = robust_cholesky(cov(sampled), what="covariance of the sampled architectures")
            self.V = solve_triangular(L, cov(sampled, pool), lower=True, check_finite=False)
            self.variance = self.variance - np.sum(self.V**2, axis=0)
        else:
            self.V = np.zeros((0, pool.shape[0]))
        self.variance = np.maximum(self.variance, 1e-12)

    def add(self, index: int) -> None:
        """Condition on pool candidate ``index`` (an extend-Cholesky step)."""
        c = self.cov(self.pool, self.pool[index : index + 1])[:, 0]
        row = (c - self.V.T @ self.V[:, index]) / np.sqrt(self.variance[index])
        self.variance = np.maximum(self.variance - row**2, 1e-12)
        self.V = np.vstack([self.V, row])


class _Denominators:
    """``sigma^2(y | u - y)`` for every candidate, with Schur-complement downdates as candidates leave ``u``."""

    def __init__(self, cov: "CovarianceFunction", pool: np.ndarray, reference_size: int, rng: np.random.Generator):
        n = pool.shape[0]
        self.in_ref = np.arange(n) if n <= reference_size else np.sort(rng.choice(n, reference_size, replace=False))
        self.position = -np.ones(n, dtype=int)
        self.position[self.in_ref] = np.arange(self.in_ref.size)
        L = robust_cholesky(cov(pool[self.in_ref]), what="covariance of the candidate pool")
        self.Q = cho_solve((L, True), np.eye(self.in_ref.size), check_finite=False)
        self.alive = np.ones(self.in_ref.size, dtype=bool)
        self.value = np.empty(n)
        self.value[self.in_ref] = 1.0 / np.diag(self.Q)
        outside = np.setdiff1d(np.arange(n), self.in_ref)
        for start in range(0, outside.size, 4096):
            idx = outside[start : start + 4096]
            W = solve_triangular(L, cov(pool[self.in_ref], pool[idx]), lower=True, check_finite=False)
            self.value[idx] = cov.diag(pool[idx]) - np.sum(W**2, axis=0)
        self.value = np.maximum(self.value, 1e-12)

    def remove(self, index: int) -> None:
        j = self.position[index]
        if j < 0:
            return
        q = self.Q[:, j].copy()
        self.Q -= np.outer(q, q) / q[j]
        self.alive[j] = False
        live = self.alive
        self.value[self.in_ref[live]] = 1.0 / np.diag(self.Q)[live]


class CovarianceFunction:
    """The noisy-measurement prior covariance of a fitted :class:`GPNASRegressor` on *encoded* architectures.

    ``C(s, u) = k(s, u) + phi(s)^T Sigma_w phi(u)`` plus the noise variance on the diagonal of ``C(s, s)``.  Working on
    encoded features lets a batch encode its pool once instead of once per pick.
    """

    def __init__(self, model):
        self.model = model

    def encode(self, X: np.ndarray) -> np.ndarray:
        return self.model.encoder_.transform(self.model._validate_X(X, self.model.encoder_.n_options))

    def __call__(self, Z1: np.ndarray, Z2: np.ndarray | None = None) -> np.ndarray:
        m = self.model
        S = m.prior_cov_
        P1 = m._design(Z1)
        if Z2 is None:
            return m.kernel_(Z1) + P1 @ S @ P1.T + m.noise_ * np.eye(Z1.shape[0])
        return m.kernel_(Z1, Z2) + P1 @ S @ m._design(Z2).T

    def diag(self, Z: np.ndarray) -> np.ndarray:
        m = self.model
        P = m._design(Z)
        return m.kernel_.diag(Z) + np.sum((P @ m.prior_cov_) * P, axis=1) + m.noise_


def acquisition_scores(kind: str, mean: np.ndarray, variance: np.ndarray, best: float, beta: float) -> np.ndarray:
    """UCB ``mean + beta std`` or expected improvement over ``best`` (maximisation, model units)."""
    std = np.sqrt(np.maximum(variance, 1e-18))
    if kind == "ucb":
        return mean + beta * std
    z = (mean - best) / std
    return (mean - best) * norm.cdf(z) + std * norm.pdf(z)


def greedy_batch(
    model,
    pool: np.ndarray,
    sampled: np.ndarray,
    k: int,
    acquisitions: list[str],
    reference_size: int = 500,
    beta: float = 2.0,
    best: float | None = None,
    random_state: int | np.random.Generator | None = None,
) -> list[int]:
    """Pick ``k`` pool indices one at a time, each by ``acquisitions[i]`` (``"mi"``, ``"ucb"`` or ``"ei"``),
    conditioning on every earlier pick as a pending point.

    ``model`` is a fitted :class:`GPNASRegressor`; ``pool (N, d)`` the candidates (not yet sampled); ``sampled (n, d)``
    the observed and pending architectures.  ``best`` is the best observed value in model units (for EI).
    """
    rng = np.random.default_rng(random_state)
    k = min(int(k), pool.shape[0])
    if k <= 0:
        return []
    cov = CovarianceFunction(model)
    Z_pool = cov.encode(pool)
    Z_sampled = cov.encode(sampled) if len(sampled) else np.zeros((0, Z_pool.shape[1]))
    numerators = _Conditioner(cov, Z_pool, Z_sampled)
    denominators = _Denominators(cov, Z_pool, reference_size, rng) if "mi" in acquisitions[:k] else None
    mean = model._predict_model_units(pool, model.predictor, need_var=False)[0] if set(acquisitions) - {"mi"} else None
    chosen: list[int] = []
    taken = np.zeros(pool.shape[0], dtype=bool)
    for step in range(k):
        kind = acquisitions[step]
        if kind == "mi":
            score = np.log(numerators.variance) - np.log(denominators.value)
        else:
            latent = np.maximum(numerators.variance - model.noise_, 1e-18)
            score = acquisition_scores(kind, mean, latent, best if best is not None else mean.max(), beta)
        score = np.where(taken, -np.inf, score)
        pick = int(np.argmax(score))
        chosen.append(pick)
        taken[pick] = True
        if step + 1 < k:
            numerators.add(pick)
            if denominators is not None:
                denominators.remove(pick)
    return chosen
