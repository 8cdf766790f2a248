"""Objectives that are not training: a table of measured architectures, looked up (a search replayed on a benchmark).

Training objectives (children trained with PyTorch) live in :mod:`gpnas.nets.objectives`.
"""

from __future__ import annotations

import numpy as np

from gpnas.io.data import read_architectures, refuse_conflicts
from gpnas.exceptions import DataError
from gpnas.space import SearchSpace


class TableObjective:
    """A table of measured architectures used as the objective: a lookup; a missing architecture fails its trial."""

    def __init__(self, space: SearchSpace, path: str, target: str) -> None:
        X, y, _ = read_architectures(path, space, target)
        refuse_conflicts(path, X, y, "; a lookup table needs one value per architecture")
        self.space = space
        self.values = {tuple(int(v) for v in x): float(value) for x, value in zip(X, y)}
        if not self.values:
            raise DataError(f"table {path!r} has no rows")

    @property
    def architectures(self) -> np.ndarray:
        """The table's architectures ``(N, d)``: the only ones a replayed search can evaluate."""
        return np.array(list(self.values), dtype=int)

    def covers_space(self) -> bool:
        return len(self.values) == self.space.size

    def __call__(self, arch: dict) -> float:
        key = tuple(int(v) for v in self.space.from_dict_arch(arch))
        if key not in self.values:
            raise KeyError(f"architecture {self.space.to_string(np.array(key))} is not in the table")
        return self.values[key]
