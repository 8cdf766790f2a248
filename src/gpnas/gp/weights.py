"""Posterior of the linear mean's weights: Theorems 1 and 2 of the paper, in a form that type-checks.

Model (Eq. 13-20), with ``Phi (n, p)`` the design matrix (a bias column then the encoded architecture) and
``K (n, n)`` the kernel matrix of the observed architectures plus the noise variance on its diagonal:

    x = Phi w + e,    e ~ N(0, K),    w ~ N(mu_w, Sigma_w)       (mu_w (p,), Sigma_w (p, p))

Theorem 1 as printed, ``mu_w + Phi^T Sigma_w (K + Phi^T Sigma_w Phi)^-1 (x - Phi mu_w)``, multiplies a ``(p, n)`` by a
``(p, p)`` matrix.  The correct statement (GPML eq. 2.42 and the Woodbury identity) is

    mu_hat    = mu_w + Sigma_w Phi^T (K + Phi Sigma_w Phi^T)^-1 (x - Phi mu_w)                      (Theorem 1)
    Sigma_hat = (Phi^T K^-1 Phi + Sigma_w^-1)^-1
              = Sigma_w - Sigma_w Phi^T (K + Phi Sigma_w Phi^T)^-1 Phi Sigma_w                        (Theorem 2)

We compute both in *whitened* form.  With ``K = L L^T``, ``A = L^-1 Phi (n, p)`` and ``b = L^-1 x (n,)`` the model becomes
``b = A w + white noise`` and

    S = I + A Sigma_w A^T,   mu_hat = mu_w + Sigma_w A^T S^-1 (b - A mu_w),   Sigma_hat = Sigma_w - G^T G,
    G = chol(S)^-1 A Sigma_w,

which needs one ``(n, n)`` Cholesky factor, no inverse of ``Sigma_w`` (it may be singular, e.g. a fixed bias) and no
explicit inverse of anything.  The same function performs the paper's recursion (the posterior after one batch is the
prior of the next): feed it the previous posterior and the new batch's whitened rows.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cho_solve, solve_triangular

from gpnas.gp.linalg import robust_cholesky, symmetrize


def weight_posterior(
    mu_w: np.ndarray, Sigma_w: np.ndarray, A: np.ndarray, b: np.ndarray, return_factor: bool = False
):
    """Theorems 1-2 in whitened form: the posterior ``(mu_hat (p,), Sigma_hat (p, p))`` of ``w``.

    ``A (n, p)`` and ``b (n,)`` are the design matrix and targets whitened by the Cholesky factor of ``K``.  With
    ``return_factor`` the lower Cholesky factor of ``S = I + A Sigma_w A^T`` comes third (the evidence needs it).
    """
    A = np.atleast_2d(A)
    if A.shape[0] == 0:
        return (mu_w.copy(), Sigma_w.copy()) + ((np.zeros((0, 0)),) if return_factor else ())
    SA = Sigma_w @ A.T  # (p, n)
    S = np.eye(A.shape[0]) + A @ SA
    LS = robust_cholesky(symmetrize(S), what="I + A Sigma_w A^T")
    mu_hat = mu_w + SA @ cho_solve((LS, True), b - A @ mu_w, check_finite=False)
    G = solve_triangular(LS, SA.T, lower=True, check_finite=False)
    Sigma_hat = symmetrize(Sigma_w - G.T @ G)
    return (mu_hat, Sigma_hat, LS) if return_factor else (mu_hat, Sigma_hat)
