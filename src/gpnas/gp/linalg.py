"""Cholesky factorisations with jitter only on failure, and the extend-Cholesky update used by recursive fits."""

from __future__ import annotations

import warnings

import numpy as np
from scipy.linalg import LinAlgError, cholesky, solve_triangular

#: Relative jitter tried first when a factorisation fails; it grows tenfold up to ``MAX_JITTER``.
FIRST_JITTER = 1e-10
MAX_JITTER = 1e-2


class JitterWarning(UserWarning):
    """A covariance matrix was not numerically positive definite and jitter was added to its diagonal."""


def robust_cholesky(K: np.ndarray, what: str = "covariance matrix") -> np.ndarray:
    """Lower Cholesky factor of ``K (n, n)``.

    Adds ``jitter * mean(diag K)`` to the diagonal only if the plain factorisation fails, growing the jitter tenfold per
    try, and warns with the amount used.  Raises ``numpy.linalg.LinAlgError`` if even ``MAX_JITTER`` does not help.
    """
    try:
        return cholesky(K, lower=True, check_finite=False)
    except LinAlgError:
        pass
    if not np.all(np.isfinite(K)):
        raise LinAlgError(f"{what} has non-finite entries")
    scale = float(np.mean(np.diag(K))) if K.size else 1.0
    scale = scale if scale > 0 else 1.0
    jitter = FIRST_JITTER
    while jitter <= MAX_JITTER:
        try:
            L = cholesky(K + jitter * scale * np.eye(K.shape[0]), lower=True, check_finite=False)
        except LinAlgError:
            jitter *= 10.0
            continue
        warnings.warn(
            f"{what} was not positive definite; added jitter {jitter * scale:.3g} to its diagonal", JitterWarning
        )
        return L
    raise LinAlgError(f"{what} is not positive definite even with jitter {MAX_JITTER * scale:.3g}")


def extend_cholesky(L11: np.ndarray, K12: np.ndarray, K22: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Factor ``[[K11, K12], [K21, K22]]`` given ``L11 = chol(K11)``, in O(n^2 m) instead of O((n+m)^3).

    Returns ``(L, L21, L22)`` with ``L21 = K21 L11^-T`` and ``L22 = chol(K22 - L21 L21^T)``.
    """
    L21 = solve_triangular(L11, K12, lower=True, check_finite=False).T
    L22 = robust_cholesky(K22 - L21 @ L21.T, what="conditional covariance of the new batch")
    n, m = L11.shape[0], L22.shape[0]
    L = np.zeros((n + m, n + m))
    L[:n, :n] = L11
    L[n:, :n] = L21
    L[n:, n:] = L22
    return L, L21, L22


def symmetrize(M: np.ndarray) -> np.ndarray:
    return 0.5 * (M + M.T)
