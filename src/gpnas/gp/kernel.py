"""The grouped kernel of GP-NAS (Eq. 7-8), with a lengthscale per operation type.

Notation (shapes as in the paper):

* ``Z (n, p)``, ``Z2 (m, p)``: encoded architectures (see :mod:`gpnas.space.encoding`).
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

#: Largest lookup table :meth:`GroupedRBFKernel.cross` builds for several one-hot groups at once (its keys must stay
#: exact in single precision, below 2^24).
_MAX_TABLE = 1 << 16


class GroupedRBFKernel:
    """Sum over operation types of scaled squared-exponential kernels, each on its own columns.

    Parameters
    ----------
    group_columns:
        For each of the ``h`` operation types, the feature columns it covers.
    sigma, lengthscale:
        ``(h,)`` positive values (or scalars, broadcast).
    onehot_positions:
        Per group, the number of one-hot positions its columns hold, or ``None`` for other features.  For such a
        group ``D = 2 (P - a.b)`` takes ``P + 1`` values, so :meth:`cross` looks the kernel up in a table instead of
        exponentiating every entry.
    """

    def __init__(
        self,
        group_columns: Sequence[np.ndarray],
        sigma: float | Sequence[float] = 1.0,
        lengthscale: float | Sequence[float] = 1.0,
        onehot_positions: Sequence[int | None] | None = None,
    ) -> None:
        self.group_columns = [np.asarray(c, dtype=int) for c in group_columns]
        self.onehot_positions = list(onehot_positions) if onehot_positions is not None else [None] * len(
            self.group_columns)
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

    def terms(self, D: np.ndarray) -> np.ndarray:
        """Per-type kernel terms ``(h, n, m)``, ``sigma_i^2 exp(-D_i / (2 ell_i^2))``; they sum to ``K``."""
        scale = -0.5 / self.lengthscale**2
        return self.sigma[:, None, None] ** 2 * np.exp(D * scale[:, None, None])

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
        if eval_gradient:
            return self.from_distances(self.distances(Z, Z2), eval_gradient=True)
        return self.cross(Z, Z if Z2 is None else Z2)

    def cross(self, Z: np.ndarray, Z2: np.ndarray, offset: float = 0.0, dot_weight: float = 0.0) -> np.ndarray:
        """``K (n, m) + offset + dot_weight Z Z2^T``, group by group, in place.

        The kernel part equals :meth:`from_distances` of :meth:`distances`, without the ``(h, n, m)`` temporaries.
        The optional linear part is the covariance a linear mean with prior ``diag(offset, dot_weight, ...)`` adds;
        when the one-hot groups looked up together cover every column, ``Z Z2^T`` (the number of matching
        positions) comes from the same table.  Predictions over large pools spend most of their time here.
        """
        combined = self._combined_onehot_groups()
        covered = combined and sum(self.group_columns[i].size for i in combined) == Z.shape[1]
        if combined:
            # Disjoint one-hot groups at once: with group i's columns of Z2 scaled by stride_i, one matrix product
            # gives key = sum_i stride_i matches_i, and the kernel summed over those groups is table[key].
            strides = np.cumprod([1] + [self.onehot_positions[i] + 1 for i in combined])
            # the stride of each column (zero outside the combined groups), applied to the smaller operand so that
            # a large pool Z is used as it is, never copied column by column
            scale = np.zeros(Z.shape[1])
            for k, i in enumerate(combined):
                scale[self.group_columns[i]] = strides[k]
            # Single precision is exact here: every product and partial sum is an integer below the table's size,
            # itself below 2^24, and it halves the time of the product that large pools spend most of theirs in.
            Z32 = Z.astype(np.float32) if Z.dtype != np.float32 else Z
            keys = (Z32 @ (Z2 * scale).T.astype(np.float32)).astype(np.intp)
            table = np.full(int(strides[-1]), float(offset))
            for k, i in enumerate(combined):
                matches = (np.arange(strides[-1]) // strides[k]) % (self.onehot_positions[i] + 1)
                table += self.sigma[i] ** 2 * np.exp(-(self.onehot_positions[i] - matches) / self.lengthscale[i] ** 2)
                if covered:
                    table += dot_weight * matches
            K = table[keys]
        else:
            K = np.full((Z.shape[0], Z2.shape[0]), float(offset))
        if dot_weight and not covered:
            K += dot_weight * (Z @ Z2.T)
        for i, (c, sigma, ell) in enumerate(zip(self.group_columns, self.sigma, self.lengthscale)):
            if i in combined:
                continue
            a, b = Z[:, c], Z2[:, c]
            positions = self.onehot_positions[i]
            if positions is not None:  # a.b counts matching positions: k = sigma^2 exp(-(P - matches) / ell^2)
                table = sigma**2 * np.exp(-(positions - np.arange(positions + 1)) / ell**2)
                K += table[np.rint(a @ b.T).astype(np.intp)]
                continue
            G = a @ b.T  # -D/2 = a.b - |a|^2/2 - |b|^2/2
            G -= 0.5 * np.einsum("ij,ij->i", a, a)[:, None]
            G -= 0.5 * np.einsum("ij,ij->i", b, b)[None, :]
            np.minimum(G, 0.0, out=G)
            G *= 1.0 / ell**2
            np.exp(G, out=G)
            G *= sigma**2
            K += G
        return K

    def _combined_onehot_groups(self) -> list[int]:
        """One-hot groups whose columns no other group shares, while their joint table stays small."""
        used = np.zeros(max((int(c.max()) + 1 for c in self.group_columns if c.size), default=0), dtype=int)
        for c in self.group_columns:
            used[c] += 1
        chosen, size = [], 1
        for i, c in enumerate(self.group_columns):
            positions = self.onehot_positions[i]
            if positions is None or not c.size or np.any(used[c] > 1) or size * (positions + 1) > _MAX_TABLE:
                continue
            chosen.append(i)
            size *= positions + 1
        return chosen if len(chosen) > 1 else []

    def diag(self, Z: np.ndarray) -> np.ndarray:
        """``k(s, s)`` for each row: ``sum_i sigma_i^2`` (the prior variance of every architecture)."""
        return np.full(np.asarray(Z).shape[0], float(np.sum(self.sigma**2)))


class DistanceLevels:
    """Per-type distances stored as levels: each group's distinct values and, per entry, which one it takes.

    One-hot encodings make every squared distance a small even integer (twice the number of positions of the type
    that differ), so an ``(n, n)`` matrix holds a handful of values.  The kernel's exponentials are then computed once
    per value and gathered, and the gradient's sums over ``W * terms`` become weighted counts per value: a fit's
    likelihood steps, dozens of them, skip the ``(h, n, n)`` exponentials and temporaries.  Numerically the same sums
    as the dense path (tested).
    """

    #: Above this many distinct values in a group the dense path is as fast; :meth:`of` keeps the matrices then.
    MAX_LEVELS = 512

    def __init__(self, values: list[np.ndarray], index: list[np.ndarray], shape: tuple) -> None:
        self.values, self.index, self.shape = values, index, shape

    @classmethod
    def of(cls, D: np.ndarray) -> "DistanceLevels | np.ndarray":
        """Levels when every group's distances are whole numbers below :data:`MAX_LEVELS` (one-hot and ordinal
        encodings of choice indices), else ``D`` itself."""
        values, index = [], []
        for Di in D:
            whole = np.rint(Di)
            if D.shape[1] < 32 or not np.array_equal(whole, Di) or whole.max(initial=0) >= cls.MAX_LEVELS:
                return D
            index.append(whole.astype(np.intp))
            values.append(np.arange(int(whole.max(initial=0)) + 1, dtype=float))
        return cls(values, index, D.shape)

    @property
    def n_groups(self) -> int:
        return self.shape[0]

    def kernel_matrix(self, kernel: "GroupedRBFKernel") -> tuple[np.ndarray, list[np.ndarray]]:
        """``K (n, n)`` and each group's table of ``sigma_i^2 exp(-d / (2 ell_i^2))`` over its levels."""
        scale = -0.5 / kernel.lengthscale**2
        tables = [kernel.sigma[i] ** 2 * np.exp(values * scale[i]) for i, values in enumerate(self.values)]
        K = tables[0][self.index[0]]
        for table, index in zip(tables[1:], self.index[1:]):
            K += table[index]
        return K, tables

    def gradient(self, W: np.ndarray, tables: list[np.ndarray], lengthscale: np.ndarray) -> np.ndarray:
        """``[sum(W * terms_i)]_i`` and ``[0.5 sum(W * terms_i * D_i) / ell_i^2]_i``, concatenated (2h,)."""
        h = self.n_groups
        out = np.empty(2 * h)
        flat = W.ravel()
        for i, (table, index, values) in enumerate(zip(tables, self.index, self.values)):
            per_level = np.bincount(index.ravel(), weights=flat, minlength=values.size)
            out[i] = per_level @ table
            out[h + i] = 0.5 * (per_level * table) @ values / lengthscale[i] ** 2
        return out

