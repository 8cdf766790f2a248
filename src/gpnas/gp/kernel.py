"""The grouped kernel of GP-NAS (Eq. 7-8), with a lengthscale per operation type.

Notation (shapes as in the paper):

* ``Z (n, p)``, ``Z2 (m, p)``: encoded architectures (see :mod:`gpnas.encoding`).
* ``h``: number of operation types; ``cols[i]``: the columns of type ``i`` (the non-zero entries of mask ``l_i``).
* ``D_i (n, m)``: squared distance restricted to type ``i``, ``D_i(s, u) = ||l_i * (s - u)||^2``.
* ``sigma (h,)``, ``ell (h,)``: per-type signal standard deviation and lengthscale.

    k(s, u) = sum_i sigma_i^2 * exp(-D_i(s, u) / (2 * ell_i^2))

The paper's Eq. 7 is the special case ``ell_i = 1/sqrt(2)``; a lengthscale per type lets the model learn how quickly
accuracy changes with each kind of edit, which the paper's fixed scale cannot.  Hyperparameters live in log space,
``theta = [log sigma_1..h, log ell_1..h]``, as in scikit-learn.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


class GroupedRBFKernel:
    """Sum over operation types of scaled squared-exponential kernels, each on its own columns.

    Parameters
    ----------
    group_columns:
        For each of the ``h`` operation types, the feature columns it covers.
    sigma, lengthscale:
        ``(h,)`` positive values (or scalars, broadcast).
    """

    def __init__(
        self,
        group_columns: Sequence[np.ndarray],
        sigma: float | Sequence[float] = 1.0,
        lengthscale: float | Sequence[float] = 1.0,
    ) -> None:
        self.group_columns = [np.asarray(c, dtype=int) for c in group_columns]
        h = len(self.group_columns)
        self.sigma = np.broadcast_to(np.asarray(sigma, dtype=float), (h,)).copy()
        self.lengthscale = np.broadcast_to(np.asarray(lengthscale, dtype=float), (h,)).copy()
        if np.any(self.sigma <= 0) or np.any(self.lengthscale <= 0):
            raise ValueError("kernel sigma and lengthscale must be positive")

    @property
    def n_groups(self) -> int:
        return len(self.group_columns)

    @property
    def theta(self) -> np.ndarray:
        """``(2h,)`` log hyperparameters ``[log sigma, log ell]``."""
        return np.concatenate([np.log(self.sigma), np.log(self.lengthscale)])

    @theta.setter
    def theta(self, value: np.ndarray) -> None:
        value = np.asarray(value, dtype=float)
        h = self.n_groups
        self.sigma = np.exp(value[:h])
        self.lengthscale = np.exp(value[h:])

    def distances(self, Z: np.ndarray, Z2: np.ndarray | None = None) -> np.ndarray:
        """Per-type squared distances ``D (h, n, m)``; they do not depend on ``theta``, so fits compute them once.

        Computed as ``|a|^2 + |b|^2 - 2 a.b`` with a matrix product (BLAS), several times faster than a pairwise
        loop; one-hot features make every term a small integer, so the result is exact there, and rounding can
        only leave tiny negative values for ordinal features, which are clipped to zero.
        """
        Z2 = Z if Z2 is None else Z2
        out = np.empty((len(self.group_columns), Z.shape[0], Z2.shape[0]))
        for i, c in enumerate(self.group_columns):
            a, b = Z[:, c], Z2[:, c]
            D = np.einsum("ij,ij->i", a, a)[:, None] + np.einsum("ij,ij->i", b, b)[None, :] - 2.0 * (a @ b.T)
            np.maximum(D, 0.0, out=out[i])
        return out

    def from_distances(self, D: np.ndarray, eval_gradient: bool = False):
        """Kernel matrix from precomputed :meth:`distances`, and optionally its gradient ``(n, m, 2h)`` in ``theta``."""
        h = self.n_groups
        scaled = D / (2.0 * self.lengthscale[:, None, None] ** 2)
        terms = (self.sigma[:, None, None] ** 2) * np.exp(-scaled)  # (h, n, m)
        K = terms.sum(axis=0)
        if not eval_gradient:
            return K
        grad = np.empty(K.shape + (2 * h,))
        # d/dlog(sigma_i) of sigma_i^2 e = 2 sigma_i^2 e;  d/dlog(ell_i) of exp(-D/(2 ell^2)) = (D / ell^2) e.
        grad[..., :h] = np.moveaxis(2.0 * terms, 0, -1)
        grad[..., h:] = np.moveaxis(terms * 2.0 * scaled, 0, -1)
        return K, grad

    def __call__(self, Z: np.ndarray, Z2: np.ndarray | None = None, eval_gradient: bool = False):
        """``K (n, m)`` between the rows of ``Z`` and ``Z2`` (``Z`` itself when omitted)."""
        if eval_gradient and Z2 is not None:
            raise ValueError("the gradient is only available for K(Z, Z)")
        return self.from_distances(self.distances(Z, Z2), eval_gradient=eval_gradient)

    def diag(self, Z: np.ndarray) -> np.ndarray:
        """``k(s, s)`` for each row: ``sum_i sigma_i^2`` (the prior variance of every architecture)."""
        return np.full(np.asarray(Z).shape[0], float(np.sum(self.sigma**2)))
