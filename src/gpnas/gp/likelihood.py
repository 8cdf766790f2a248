"""Log marginal likelihoods for the kernel hyperparameters (Eq. 21) and their gradients.

Two estimators share this code:

* ``"alternating"`` (the paper's Eq. 21 inside Algorithm 1): ``w`` is held fixed at ``w0``, the residual
  ``r = x - Phi w0 (n,)`` is ``N(0, C)`` with ``C = K_theta + s2 I``; parameters ``[log sigma (h), log ell (h), log s2]``.
* ``"evidence"`` (type-II maximum likelihood): ``w ~ N(mu_w, Sigma_w)`` is integrated out, so ``r = x - Phi mu_w`` is
  ``N(0, C)`` with ``C = K_theta + s2 I + Phi_b Sigma_b Phi_b^T + v Phi_z Phi_z^T`` (``Phi_b`` the bias column with its
  fixed prior variance, ``Phi_z`` the encoded features whose weights' prior variance ``v`` is learned); parameters
  ``[log sigma (h), log ell (h), log s2, log v]``.

For either,

    log p(r) = -1/2 r^T C^-1 r - 1/2 log|C| - n/2 log(2 pi)
    d/dtheta_j = 1/2 tr((alpha alpha^T - C^-1) dC/dtheta_j),    alpha = C^-1 r        (GPML eq. 5.9)
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import LinAlgError, cho_solve, cholesky, lapack

from gpnas.gp.kernel import DistanceLevels, GroupedRBFKernel

_LOG_2PI = np.log(2.0 * np.pi)


def log_marginal_likelihood(
    params: np.ndarray,
    kernel: GroupedRBFKernel,
    D: np.ndarray,
    r: np.ndarray,
    eval_gradient: bool = False,
    fixed_cov: np.ndarray | None = None,
    weight_gram: np.ndarray | None = None,
):
    """Log marginal likelihood at log hyperparameters ``params``.

    ``D (h, n, n)`` (or their :class:`~gpnas.gp.kernel.DistanceLevels`) are the kernel's precomputed per-type
    distances of the training architectures and ``r (n,)`` the
    residual after the prior (or fixed) linear mean.  With ``weight_gram = Phi_z Phi_z^T (n, n)`` the last entry of
    ``params`` is ``log v`` (evidence mode); ``fixed_cov (n, n)`` is added as is.  ``kernel`` is updated in place.
    Returns the value, or ``(value, gradient)``; a matrix that cannot be factorised gives ``-inf`` and a zero gradient
    so that the optimiser backs off.
    """
    h = kernel.n_groups
    kernel.theta = params[: 2 * h]
    noise = float(np.exp(params[2 * h]))
    n = r.shape[0]
    levels = D if isinstance(D, DistanceLevels) else None
    if levels is not None:  # few distinct distances: exponentials per level, gathered
        C, tables = levels.kernel_matrix(kernel)
    else:
        terms = kernel.terms(D)  # (h, n, n): sigma_i^2 exp(-D_i / (2 ell_i^2))
        C = terms.sum(axis=0)
    C[np.diag_indices(n)] += noise
    if fixed_cov is not None:
        C += fixed_cov
    if weight_gram is not None:
        weight_var = float(np.exp(params[2 * h + 1]))
        C += weight_var * weight_gram
    try:
        L = cholesky(C, lower=True, check_finite=False)
    except (LinAlgError, ValueError):
        return (-np.inf, np.zeros_like(params)) if eval_gradient else -np.inf
    alpha = cho_solve((L, True), r, check_finite=False)
    value = -0.5 * r @ alpha - np.log(np.diag(L)).sum() - 0.5 * n * _LOG_2PI
    if not eval_gradient:
        return value
    inverse, info = lapack.dpotri(L, lower=True)  # C^-1 from the factor, n^3/3 flops
    if info != 0:
        return -np.inf, np.zeros_like(params)
    # potri fills the lower triangle; the upper one still holds the factor's zeros
    W = np.outer(alpha, alpha)
    W -= inverse
    W -= inverse.T
    W[np.diag_indices(n)] += np.diag(inverse)
    grad = np.empty_like(params)
    # dC/dlog(sigma_i) = 2 terms_i;  dC/dlog(ell_i) = terms_i * D_i / ell_i^2.
    if levels is not None:
        grad[: 2 * h] = levels.gradient(W, tables, kernel.lengthscale)
    else:
        grad[:h] = np.einsum("ij,hij->h", W, terms)
        grad[h : 2 * h] = 0.5 * np.einsum("ij,hij->h", W, terms * D) / kernel.lengthscale**2
    grad[2 * h] = 0.5 * noise * np.trace(W)
    if weight_gram is not None:
        grad[2 * h + 1] = 0.5 * weight_var * np.sum(W * weight_gram)
    return value, grad
