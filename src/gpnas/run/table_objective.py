"""Objectives that are not training: a table of measured architectures, looked up (a search replayed on a benchmark).

Training objectives (children trained with PyTorch) live in :mod:`gpnas.nets.objectives`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from gpnas.io.data import read_architectures, refuse_conflicts
from gpnas.exceptions import DataError
from gpnas.space import SearchSpace


class TableObjective:
    """A table of measured architectures used as the objective: a lookup; a missing architecture fails its trial.

    ``target`` names the column to return, or several columns (a multi-objective study's objectives, each returned
    in the order given)."""

    def __init__(self, space: SearchSpace, path: str, target: str | Sequence[str]) -> None:
        self.targets = [target] if isinstance(target, str) else list(target)
        if not self.targets:
            raise DataError("a table objective needs at least one target column")
        columns = []
        for column in self.targets:
            X, y, _ = read_architectures(path, space, column)
            refuse_conflicts(path, X, y, "; a lookup table needs one value per architecture")
            columns.append(y)
        self.space = space
        self.values = {tuple(int(v) for v in x): float(value) for x, value in zip(X, columns[0])}
        #: Every target's value per architecture (the first is :attr:`values`).
        self.rows = {tuple(int(v) for v in x): tuple(float(c[i]) for c in columns) for i, x in enumerate(X)}
        if not self.values:
            raise DataError(f"table {path!r} has no rows")

    @property
    def architectures(self) -> np.ndarray:
        """The table's architectures ``(N, d)``: the only ones a replayed search can evaluate."""
        return np.array(list(self.values), dtype=int)

    def covers_space(self) -> bool:
        return len(self.values) == self.space.size

    def __call__(self, arch: dict) -> float | tuple[float, ...]:
        key = tuple(int(v) for v in self.space.from_dict_arch(arch))
        if key not in self.values:
            raise KeyError(f"architecture {self.space.to_string(np.array(key))} is not in the table")
        return self.values[key] if len(self.targets) == 1 else self.rows[key]
