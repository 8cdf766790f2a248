"""Side information about every architecture (zero-cost proxies, FLOPs, a table's extra columns) as model inputs.

The paper's input ``s`` "could be a naively encoded network or the embedding of network by some transforms" (§3.1).
:class:`SideFeatures` holds numbers known for architectures before any is trained, looked up by the architecture's
choice indices.  :class:`SideFeatureEncoder` appends them to an :class:`~gpnas.space.encoding.Encoder`'s columns, so
they enter both the kernel (as groups of their own, with a signal variance and a lengthscale the evidence weighs like
every other group's) and the linear mean (the paper's ``w^T s``).

Each column is mapped to normal scores of its population (the rows the lookup holds when the model is fitted): the
rank of the value among them, through the Gaussian quantile, linearly interpolated between distinct values and
clamped beyond them.  Proxies span orders of magnitude (synflow) or are signed (jacov); their ranks, not their raw
values, carry what they know, and a fixed map keeps a point's features the same however many points are added.

Where the values are already on a scale on which the target is close to linear in them, ranks throw that away:
another device's log latency predicts this device's log latency through a near-linear map, and its normal scores
bend it.  ``scaling="standardize"`` keeps the values and only centres and scales each column by its population's
mean and standard deviation (:class:`Standardized`).  On HELP's latency tables, choosing on devices no test used,
it ranked better (``benchmarks/latency.py``).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy.special import ndtri

from gpnas.exceptions import ArchitectureError, DataError
from gpnas.space.encoding import Encoder

#: Ways to group the side columns in the kernel: all in one group, or one group (signal variance, lengthscale) each.
SIDE_GROUPINGS = ("one", "each")
#: Maps from a side column's values to model inputs: normal scores of its population, or its standardised values.
SIDE_SCALINGS = ("normal_scores", "standardize")


class SideFeatures:
    """A lookup ``architecture -> q numbers``: ``X (N, d)`` choice indices, ``values (N, q)``, ``names (q,)``.

    ``signs (q,)``: ``+1`` where a larger value is expected to mean a better network (the convention of most
    zero-cost proxies), ``-1`` where smaller is, ``0`` where nothing is known (default).  The model never uses them;
    they make the training-free vote of :meth:`vote` that a study's first trials can follow.

    Repeated architectures must agree (a conflict is a broken table: :class:`DataError`).  Non-finite values are
    refused.
    """

    def __init__(self, X: np.ndarray, values: np.ndarray, names: Sequence[str],
                 signs: Sequence[float] | None = None) -> None:
        X = np.asarray(X)
        values = np.asarray(values, dtype=float)
        if values.ndim == 1:
            values = values[:, None]
        if X.ndim != 2 or values.ndim != 2 or X.shape[0] != values.shape[0]:
            raise DataError(f"side features need X (N, d) and values (N, q) with the same N; got {X.shape} and "
                            f"{values.shape}")
        names = [str(n) for n in names]
        if len(names) != values.shape[1] or len(set(names)) != len(names):
            raise DataError(f"side features need one distinct name per column; got {names} for {values.shape[1]}")
        bad = ~np.isfinite(values)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise DataError(f"side feature {names[col]!r} is {values[row, col]} for architecture {X[row].tolist()} "
                            f"(row {row}); every value must be a finite number")
        signs = np.zeros(len(names)) if signs is None else np.sign(np.asarray(signs, dtype=float))
        if signs.shape != (len(names),):
            raise DataError(f"side features need one sign per column ({len(names)}); got {signs.shape[0]}")
        self.X = np.ascontiguousarray(X.astype(np.int64))
        self.values = values
        self.names = names
        self.signs = signs
        self._index: dict[bytes, int] = {}
        for i, row in enumerate(self.X):
            key = row.tobytes()
            if key in self._index:
                if not np.allclose(values[self._index[key]], values[i], equal_nan=False):
                    raise DataError(f"architecture {row.tolist()} appears twice with different side features "
                                    f"(rows {self._index[key]} and {i})")
                continue
            self._index[key] = i

    def __len__(self) -> int:
        return len(self._index)

    @property
    def n_features(self) -> int:
        return self.values.shape[1]

    def covers(self, X: np.ndarray) -> np.ndarray:
        """Whether each architecture of ``X (m, d)`` has side features ``(m,)`` bool."""
        X = np.ascontiguousarray(np.asarray(X).astype(np.int64))
        return np.array([row.tobytes() in self._index for row in X], dtype=bool)

    def lookup(self, X: np.ndarray) -> np.ndarray:
        """The side features ``(m, q)`` of architectures ``X (m, d)``; an architecture without them is an
        :class:`ArchitectureError` naming it (how many are missing, too)."""
        X = np.ascontiguousarray(np.asarray(X).astype(np.int64))
        rows = [self._index.get(row.tobytes(), -1) for row in X]
        rows = np.asarray(rows, dtype=np.intp)
        missing = np.flatnonzero(rows < 0)
        if missing.size:
            raise ArchitectureError(f"no side features ({', '.join(self.names)}) for architecture "
                                    f"{X[missing[0]].tolist()}" + (f" and {missing.size - 1} more" if missing.size > 1
                                                                   else "") + "; add them to the lookup")
        return self.values[rows]

    def subset(self, names: Sequence[str]) -> "SideFeatures":
        """The same lookup with only the columns ``names`` (in that order)."""
        unknown = [n for n in names if n not in self.names]
        if unknown:
            raise DataError(f"unknown side features {unknown}; available: {self.names}")
        columns = [self.names.index(n) for n in names]
        return SideFeatures(self.X, self.values[:, columns], list(names), self.signs[columns])

    def merged(self, X: np.ndarray, values: np.ndarray) -> "SideFeatures":
        """This lookup with more rows (an architecture already held must come with the same values)."""
        return SideFeatures(np.vstack([self.X, np.asarray(X)]), np.vstack([self.values, np.asarray(values, float)]),
                            self.names, self.signs)

    def vote(self) -> np.ndarray | None:
        """A training-free score of every row ``(N,)``: the mean of the signed normal scores of the columns with a
        sign (the proxies' vote of Abdelfattah et al., ICLR 2021, made rank-based); ``None`` when no column has one."""
        if not np.any(self.signs):
            return None
        scores = NormalScores(self.values).transform(self.values)
        used = self.signs != 0
        return (scores[:, used] * self.signs[used]).mean(axis=1)


class NormalScores:
    """Per-column normal-score maps fitted on a population ``(N, q)``: ``Phi^-1((rank - 1/2) / N)`` at each distinct
    value (mid-ranks for ties), linear between them, clamped beyond."""

    def __init__(self, population: np.ndarray) -> None:
        population = np.asarray(population, dtype=float)
        self.knots: list[tuple[np.ndarray, np.ndarray]] = []
        for column in population.T:
            values, counts = np.unique(column, return_counts=True)
            below = np.cumsum(counts) - counts
            scores = ndtri((below + 0.5 * counts) / column.size)
            self.knots.append((values, scores))

    @classmethod
    def from_knots(cls, knots: list[tuple[np.ndarray, np.ndarray]]) -> "NormalScores":
        scores = cls.__new__(cls)
        scores.knots = [(np.asarray(v, dtype=float), np.asarray(s, dtype=float)) for v, s in knots]
        return scores

    def transform(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=float)
        return np.column_stack([np.interp(values[:, j], v, s) for j, (v, s) in enumerate(self.knots)])


class Standardized:
    """Per-column standardisation fitted on a population ``(N, q)``: ``(value - mean) / std`` (a constant column
    maps to 0)."""

    def __init__(self, population: np.ndarray) -> None:
        population = np.asarray(population, dtype=float)
        self.mean = population.mean(axis=0)
        std = population.std(axis=0)
        self.std = np.where(std > 0, std, 1.0)

    def transform(self, values: np.ndarray) -> np.ndarray:
        return (np.asarray(values, dtype=float) - self.mean) / self.std


class SideFeatureEncoder:
    """An :class:`Encoder` with the side features appended (normal scores, or standardised values with
    ``scaling="standardize"``), as kernel groups ``side`` (one group) or ``side:<name>`` (one per column)."""

    def __init__(self, base: Encoder, side: SideFeatures, grouping: str = "one",
                 scores: NormalScores | Standardized | None = None, scaling: str = "normal_scores") -> None:
        if grouping not in SIDE_GROUPINGS:
            raise ValueError(f"unknown side feature grouping {grouping!r}; expected one of {SIDE_GROUPINGS}")
        if scaling not in SIDE_SCALINGS:
            raise ValueError(f"unknown side feature scaling {scaling!r}; expected one of {SIDE_SCALINGS}")
        if side.X.shape[1] != base.n_positions:
            raise ValueError(f"side features are keyed by {side.X.shape[1]} positions, the space has "
                             f"{base.n_positions}")
        self.base, self.side, self.grouping, self.scaling = base, side, grouping, scaling
        if scores is None:
            scores = NormalScores(side.values) if scaling == "normal_scores" else Standardized(side.values)
        self.scores = scores
        start, q = base.n_features, side.n_features
        self.n_options, self.encoding = base.n_options, base.encoding
        if grouping == "one":
            extra_names, extra_columns = ["side"], [np.arange(start, start + q)]
        else:
            extra_names = [f"side:{name}" for name in side.names]
            extra_columns = [np.array([start + j]) for j in range(q)]
        self.group_names = list(base.group_names) + extra_names
        self.group_columns = list(base.group_columns) + extra_columns
        self.onehot_positions = list(base.onehot_positions) + [None] * len(extra_names)
        self.n_features = start + q

    @property
    def n_positions(self) -> int:
        return self.base.n_positions

    def extend(self, X: np.ndarray, values: np.ndarray) -> None:
        """Know more architectures' side features; the normal-score maps stay as fitted."""
        self.side = self.side.merged(X, values)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """``[Z_base, scaled side features]`` ``(n, p + q)``."""
        return np.hstack([self.base.transform(X), self.scores.transform(self.side.lookup(X))])
