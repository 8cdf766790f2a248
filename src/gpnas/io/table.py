"""A benchmark table: a space, its architectures, their targets and the classes of equal networks."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gpnas.space import SearchSpace

__all__ = ["Table"]


@dataclass
class Table:
    """A benchmark table: ``X (N, d)`` choice indices of ``space``, target ``y (N,)``, extra numeric columns."""

    name: str
    space: SearchSpace
    X: np.ndarray
    y: np.ndarray
    dedup_key: np.ndarray
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def deduplicated(self) -> "Table":
        """One row per distinct trained network: the first row's architecture, targets averaged over the class."""
        keys, first, inverse = np.unique(self.dedup_key, return_index=True, return_inverse=True)
        y = np.bincount(inverse, weights=self.y) / np.bincount(inverse)
        order = np.argsort(first)
        extra = {k: v[first][order] for k, v in self.extra.items()}
        return Table(self.name, self.space, self.X[first][order], y[order], keys[order], extra)
