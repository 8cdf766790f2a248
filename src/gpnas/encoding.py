"""Encodings of architectures into the vectors the kernel and the linear mean see.

Symbols: ``X (n, d)`` integer choice indices; ``Z (n, p)`` encoded features; ``h`` operation types (groups).

* ``"ordinal"`` (the paper's): one column per position, the choice index scaled to ``[0, 1]``
  (``index / (n_options - 1)``; a position with one option is constant 0).  Scaling keeps the squared distances of
  positions with different option counts on the same footing, so one lengthscale per group makes sense.
* ``"onehot"``: ``n_options`` columns per position; two different choices at one position are at squared distance 2,
  whatever their order.  Suits categorical operations (NAS-Bench-201's ops), where an order is arbitrary.

The kernel's masks ``l_i`` (Eq. 8) select, for group ``i``, every column that comes from a position of that group,
whatever the encoding: :attr:`Encoder.group_columns` holds them as index arrays.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

ENCODINGS = ("ordinal", "onehot")


class Encoder:
    """Maps choice indices ``X (n, d)`` to features ``Z (n, p)`` and knows each group's columns.

    Parameters
    ----------
    n_options:
        Options per position, ``(d,)``.
    groups:
        Operation type per position, ``d`` labels.
    encoding:
        ``"ordinal"`` or ``"onehot"``.
    """

    def __init__(self, n_options: Sequence[int], groups: Sequence[str], encoding: str = "onehot") -> None:
        if encoding not in ENCODINGS:
            raise ValueError(f"unknown encoding {encoding!r}; expected one of {ENCODINGS}")
        self.n_options = np.asarray(n_options, dtype=int)
        self.groups = [str(g) for g in groups]
        if self.n_options.ndim != 1 or len(self.groups) != self.n_options.size:
            raise ValueError(
                f"n_options ({self.n_options.size}) and groups ({len(self.groups)}) must have one entry per position"
            )
        if np.any(self.n_options < 1):
            raise ValueError("every position needs at least one option")
        self.encoding = encoding
        self.group_names = list(dict.fromkeys(self.groups))
        if encoding == "ordinal":
            widths = np.ones_like(self.n_options)
        else:
            widths = self.n_options
        self._offsets = np.concatenate([[0], np.cumsum(widths)])
        self.n_features = int(self._offsets[-1])
        self.group_columns = [
            np.concatenate(
                [np.arange(self._offsets[j], self._offsets[j + 1]) for j, g in enumerate(self.groups) if g == name]
            )
            for name in self.group_names
        ]

    @property
    def n_positions(self) -> int:
        return int(self.n_options.size)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Encode ``X (n, d)`` of valid indices into ``Z (n, p)`` floats."""
        X = np.atleast_2d(np.asarray(X, dtype=int))
        if self.encoding == "ordinal":
            scale = np.maximum(self.n_options - 1, 1)
            return X / scale
        Z = np.zeros((X.shape[0], self.n_features))
        rows = np.arange(X.shape[0])[:, None]
        Z[rows, self._offsets[:-1] + X] = 1.0
        return Z

    def masks(self) -> np.ndarray:
        """The paper's masks ``l_i`` (Eq. 8) as a 0/1 array ``(h, p)``."""
        L = np.zeros((len(self.group_names), self.n_features))
        for i, cols in enumerate(self.group_columns):
            L[i, cols] = 1.0
        return L
