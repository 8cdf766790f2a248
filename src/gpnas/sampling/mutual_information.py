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
  Schur-complement downdate of ``Q``, kept in low-rank form.  Both are exact.  ``Q`` costs ``O(N^3)``, so the universe
  ``u`` is the pool when it has at most ``universe_size`` (:data:`MI_UNIVERSE_SIZE`) candidates and a uniform subset
  of that size otherwise: Eq. 12 is then maximised exactly over that random universe, the way acquisition functions
  are maximised over random candidate sets.  (An earlier version scored every candidate of a larger pool against a
  reference subset; its picks disagreed with the exact greedy and leaned away from the reference members.)

UCB and EI use the same numerators: ``sigma^2(y | s)`` minus the noise is the posterior variance given observed and
pending points, so a batch of UCB picks spreads out as a kriging believer's would (the mean is unchanged by pending
points whose value is the believed mean).  A single UCB or EI pick given exactly the model's own data (no pending
points: the sequential case) needs no conditioner: its numerators minus the noise are the model's posterior
variances, which one prediction over the pool gives together with the mean (one kernel pass over the pool, not two).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import lapack, solve_triangular
from scipy.special import ndtr

from gpnas.gp.linalg import robust_cholesky

#: Largest MI universe handled exactly (a ``potri`` of this size takes well under a second on 2 cores).
MI_UNIVERSE_SIZE = 3000


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

    def __init__(self, cov: "CovarianceFunction", pool: np.ndarray, sampled: np.ndarray, capacity: int = 0):
        self.cov, self.pool = cov, pool
        self.variance = cov.diag(pool)
        n = sampled.shape[0]
        # rows for the sampled set and ``capacity`` picks, allocated once (growing it by vstack copied it every pick)
        self._V = np.empty((n + capacity, pool.shape[0]))
        self.n_rows = n
        if n:
            L = robust_cholesky(cov(sampled), what="covariance of the sampled architectures")
            self._V[:n] = solve_triangular(L, cov(sampled, pool), lower=True, check_finite=False)
            self.variance = self.variance - np.einsum("ij,ij->j", self._V[:n], self._V[:n])
        self.variance = np.maximum(self.variance, 1e-12)

    @property
    def V(self) -> np.ndarray:
        """``L_s^-1 C(s, pool)``, one row per sampled architecture and pick so far."""
        return self._V[: self.n_rows]

    def add(self, index: int) -> None:
        """Condition on pool candidate ``index`` (an extend-Cholesky step)."""
        c = self.cov(self.pool, self.pool[index : index + 1])[:, 0]
        V = self.V
        row = (c - V[:, index] @ V) / np.sqrt(self.variance[index])
        self.variance = np.maximum(self.variance - row**2, 1e-12)
        if self.n_rows == self._V.shape[0]:
            self._V = np.vstack([self._V, np.empty((max(1, self.n_rows // 2), self._V.shape[1]))])
        self._V[self.n_rows] = row
        self.n_rows += 1


class _Denominators:
    """``sigma^2(y | u - y)`` for every candidate of the universe ``u``, exact, with Schur downdates as picks leave it.

    ``u`` is the whole pool when it has at most ``universe_size`` candidates, otherwise a uniform subset of that many:
    Eq. 12 is then maximised exactly over that subset (candidates outside it get no MI score).  With
    ``Q = C(u, u)^-1 = L^-T L^-1``, the denominators are ``1 / Q_yy``.  Removing pick ``j`` from ``u`` is the Schur
    downdate ``Q <- Q - q q^T / q_j`` with ``q`` the current column ``j``; the downdates are kept in low-rank form
    ``Q_t = Q_0 - U U^T`` (``U`` gains the column ``q / sqrt(q_j)`` per pick), so a pick costs ``O(N (N + t))``
    instead of the ``O(N^2)`` memory traffic of updating the whole matrix, and ``Q_0`` itself is never formed: its
    diagonal and columns come from the inverse factor ``L^-1`` (LAPACK ``trtri``, half the work of ``potri``).
    """

    def __init__(self, cov: "CovarianceFunction", pool: np.ndarray, universe_size: int, rng: np.random.Generator,
                 capacity: int = 0):
        n = pool.shape[0]
        self.members = np.arange(n) if n <= universe_size else np.sort(rng.choice(n, universe_size, replace=False))
        self.position = -np.ones(n, dtype=int)
        self.position[self.members] = np.arange(self.members.size)
        L = robust_cholesky(cov(pool[self.members]), what="covariance of the candidate pool")
        L_inv, info = lapack.dtrtri(L, lower=True)
        if info != 0:
            raise np.linalg.LinAlgError(f"cannot invert the candidate pool's covariance (LAPACK trtri info {info})")
        self.L_inv = np.tril(L_inv)
        self.diag = np.einsum("ij,ij->j", self.L_inv, self.L_inv)  # Q_0's diagonal: squared column norms of L^-1
        self.U = np.zeros((self.members.size, max(capacity, 1)))
        self.rank = 0
        self.alive = np.ones(self.members.size, dtype=bool)
        self.value = np.full(n, np.nan)
        self.value[self.members] = 1.0 / self.diag

    def remove(self, index: int) -> None:
        j = self.position[index]
        if j < 0:
            return
        U = self.U[:, : self.rank]
        q = self.L_inv.T @ self.L_inv[:, j] - U @ U[j]  # column j of Q_t
        u = q / np.sqrt(q[j])
        self.diag = self.diag - u**2
        if self.rank == self.U.shape[1]:
            self.U = np.hstack([self.U, np.zeros_like(self.U)])
        self.U[:, self.rank] = u
        self.rank += 1
        self.alive[j] = False
        live = self.alive
        self.value[self.members[live]] = 1.0 / self.diag[live]
        self.value[index] = np.nan


class CovarianceFunction:
    """The noisy-measurement prior covariance of a fitted :class:`GPNASRegressor` on *encoded* architectures.

    ``C(s, u) = k(s, u) + phi(s)^T Sigma_w phi(u)`` plus the noise variance on the diagonal of ``C(s, s)``.  Working on
    encoded features lets a batch encode its pool once instead of once per pick.
    """

    def __init__(self, model):
        self.model = model

    def encode(self, X: np.ndarray) -> np.ndarray:
        return self.model.encode(X)

    def __call__(self, Z1: np.ndarray, Z2: np.ndarray | None = None) -> np.ndarray:
        return self.model.prior_covariance_encoded(Z1, Z2, include_noise=Z2 is None)

    def diag(self, Z: np.ndarray) -> np.ndarray:
        return self.model.prior_variance_encoded(Z, include_noise=True)


def is_training_set(model, sampled: np.ndarray) -> bool:
    """Whether ``sampled`` is, row for row, the architectures ``model`` conditions on (no pending ones), and the
    model predicts with the full GP posterior (the covariance the conditioner uses)."""
    observed = getattr(model, "X_train_", None)
    if observed is None or getattr(model, "predictor", "full") != "full":
        return False
    return np.shape(observed) == np.shape(sampled) and bool(np.array_equal(observed, sampled))


def acquisition_scores(kind: str, mean: np.ndarray, variance: np.ndarray, best: float, beta: float) -> np.ndarray:
    """UCB ``mean + beta std`` or expected improvement over ``best`` (maximisation, model units)."""
    std = np.sqrt(np.maximum(variance, 1e-18))
    if kind == "ucb":
        return mean + beta * std
    z = (mean - best) / std
    return (mean - best) * ndtr(z) + std * np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)


def greedy_batch(
    model,
    pool: np.ndarray,
    sampled: np.ndarray,
    k: int,
    acquisitions: list[str],
    universe_size: int = MI_UNIVERSE_SIZE,
    beta: float = 2.0,
    best: float | None = None,
    random_state: int | np.random.Generator | None = None,
    sign: float = 1.0,
) -> list[int]:
    """Pick ``k`` pool indices one at a time, each by ``acquisitions[i]`` (``"mi"``, ``"ucb"`` or ``"ei"``),
    conditioning on every earlier pick as a pending point.

    ``model`` is a fitted :class:`GPNASRegressor`; ``pool (N, d)`` the candidates (not yet sampled); ``sampled (n, d)``
    the observed and pending architectures.  ``best`` is the best observed value in model units (for EI), oriented
    by ``sign``: ``+1`` when larger measurements are better, ``-1`` when smaller are (UCB and EI then seek low
    predictions of a model fitted on the measurements themselves).
    """
    rng = np.random.default_rng(random_state)
    k = min(int(k), pool.shape[0])
    if k <= 0:
        return []
    cov = CovarianceFunction(model)
    Z_pool = cov.encode(pool)
    if k == 1 and acquisitions[0] != "mi" and is_training_set(model, sampled):
        # One pick given exactly the model's own data: sigma^2(y | s) minus the noise is the model's posterior
        # variance, so one prediction over the pool (one kernel pass) replaces the conditioner's pass and the mean's.
        mean, latent = model.predict_latent_encoded(Z_pool)
        mean = sign * mean
        score = acquisition_scores(acquisitions[0], mean, np.maximum(latent, 1e-18),
                                   best if best is not None else mean.max(), beta)
        return [int(np.argmax(score))]
    Z_sampled = cov.encode(sampled) if len(sampled) else np.zeros((0, Z_pool.shape[1]))
    numerators = _Conditioner(cov, Z_pool, Z_sampled, capacity=k)
    denominators = (_Denominators(cov, Z_pool, universe_size, rng, capacity=k) if "mi" in acquisitions[:k]
                    else None)
    mean = sign * model.predict_latent_encoded(Z_pool, return_var=False)[0] if set(acquisitions) - {"mi"} else None
    chosen: list[int] = []
    taken = np.zeros(pool.shape[0], dtype=bool)
    for step in range(k):
        kind = acquisitions[step]
        if kind == "mi":
            score = np.log(numerators.variance) - np.log(np.nan_to_num(denominators.value, nan=np.inf))
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
