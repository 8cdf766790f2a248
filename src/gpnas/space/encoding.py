"""Encodings of architectures into the vectors the kernel and the linear mean see.

Symbols: ``X (n, d)`` integer choice indices; ``Z (n, p)`` encoded features; ``h`` kernel groups.

Per-position encodings (feature block ``"choices"``):

* ``"ordinal"`` (the paper's): one column per position, the choice index scaled to ``[0, 1]``
  (``index / (n_options - 1)``; a position with one option is constant 0).  Scaling keeps the squared distances of
  positions with different option counts on the same footing, so one lengthscale per group makes sense.
* ``"onehot"``: ``n_options`` columns per position; two different choices at one position are at squared distance 2,
  whatever their order.  Suits categorical operations (NAS-Bench-201's ops), where an order is arbitrary.

The kernel's masks ``l_i`` (Eq. 8) select, for group ``i``, every column that comes from a position of that group,
whatever the encoding: :attr:`Encoder.group_columns` holds them as index arrays.

Beyond the paper, an encoder can add kernel groups (each with its own sigma and lengthscale, weighted by the
evidence like the operation types):

* ``"effective"``, ``"paths"``, ``"ops"``: structural features of a declared cell (:mod:`gpnas.space.cell`), groups
  ``cell:effective``, ``cell:paths``, ``cell:ops``; ``"ops"``, ``"pairs"``, ``"outputs"`` those of a linked cell
  (:mod:`gpnas.space.linked_cell`), groups ``cell:ops``, ``cell:pairs``, ``cell:outputs``.  Without ``"choices"``,
  the cell's positions are seen only through them, while positions outside the cell keep their per-position
  encoding.
* ``"interactions"``: one more group over every column at once (the per-position ones and the cell's).  The
  paper's kernel is a *sum* over operation types, so it cannot express that the best kernel size depends on the
  expansion; a squared-exponential over all columns is a product over positions and can.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from gpnas.space.cell import FEATURES as CELL_FEATURES
from gpnas.space.cell import CellFeatures
from gpnas.space.linked_cell import LINKED_FEATURES, LinkedCellFeatures

ENCODINGS = ("ordinal", "onehot")
#: The structural blocks of either kind of cell, in the order the encoder lays them out.
STRUCTURE_FEATURES = CELL_FEATURES + tuple(f for f in LINKED_FEATURES if f not in CELL_FEATURES)
FEATURES = ("choices",) + STRUCTURE_FEATURES + ("interactions",)


class Encoder:
    """Maps choice indices ``X (n, d)`` to features ``Z (n, p)`` and knows each kernel group's columns.

    Parameters
    ----------
    n_options:
        Options per position, ``(d,)``.
    groups:
        Operation type per position, ``d`` labels.
    encoding:
        ``"ordinal"`` or ``"onehot"``, for the per-position block.
    features:
        Feature blocks, a subset of :data:`FEATURES`; cell features need ``cell``.
    cell:
        The structural features of the space's cell or linked cell, if it declares one.
    """

    def __init__(self, n_options: Sequence[int], groups: Sequence[str], encoding: str = "onehot",
                 features: Sequence[str] = ("choices",),
                 cell: CellFeatures | LinkedCellFeatures | None = None) -> None:
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
        self.features = tuple(features)
        unknown = [f for f in self.features if f not in FEATURES]
        if unknown:
            raise ValueError(f"unknown features {unknown}; expected a subset of {FEATURES}")
        self.cell = cell
        self.cell_blocks = [f for f in STRUCTURE_FEATURES if f in self.features]
        if self.cell_blocks and cell is None:
            raise ValueError(f"features {self.cell_blocks} need a space that declares a cell")
        unsupported = [f for f in self.cell_blocks if f not in cell.supported] if self.cell_blocks else []
        if unsupported:
            raise ValueError(f"features {unsupported} are not features of this space's {type(cell.cell).__name__}; "
                             f"it has {list(cell.supported)}")
        if self.cell_blocks and not cell.has_paths and "paths" in self.cell_blocks:
            self.cell_blocks.remove("paths")
        # Positions in the per-position block: all of them, or those outside the cell when only its structure counts.
        in_cell = set(cell.positions.tolist()) if cell is not None and self.cell_blocks else set()
        keep_all = "choices" in self.features or not in_cell
        self.positions = np.array([j for j in range(self.n_options.size) if keep_all or j not in in_cell], dtype=int)
        widths = np.ones(self.positions.size, dtype=int) if encoding == "ordinal" else self.n_options[self.positions]
        self._offsets = np.concatenate([[0], np.cumsum(widths)]).astype(int)
        self.group_names: list[str] = []
        self.group_columns: list[np.ndarray] = []
        for name in dict.fromkeys(self.groups[j] for j in self.positions):
            cols = [np.arange(self._offsets[k], self._offsets[k + 1])
                    for k, j in enumerate(self.positions) if self.groups[j] == name]
            self.group_names.append(name)
            self.group_columns.append(np.concatenate(cols))
        start = int(self._offsets[-1])
        widths_cell = cell.widths(self.cell_blocks) if self.cell_blocks else {}
        for block in self.cell_blocks:
            self.group_names.append(f"cell:{block}")
            self.group_columns.append(np.arange(start, start + widths_cell[block]))
            start += widths_cell[block]
        self.n_features = start
        if "interactions" in self.features:  # every column, the cell's structure included when it is encoded
            self.group_names.append("interactions")
            self.group_columns.append(np.arange(self.n_features))
        # One-hot per-position groups: how many positions each holds (the kernel's table lookup needs it); the
        # interactions group is one only when it holds nothing but one-hot positions.
        counts = {name: sum(1 for j in self.positions if self.groups[j] == name) for name in self.group_names}
        counts["interactions"] = int(self.positions.size) if not self.cell_blocks else None
        onehot = encoding == "onehot"
        self.onehot_positions = [counts[name] if onehot and not name.startswith("cell:") else None
                                 for name in self.group_names]

    @property
    def n_positions(self) -> int:
        return int(self.n_options.size)

    @property
    def exact_in_single_precision(self) -> bool:
        """Whether every feature is 0 or 1 (one-hot choices, no cell features), so that ``transform(X,
        np.float32)`` loses nothing: large pools are encoded in half the memory, and the kernel's products on them
        run in single precision."""
        return self.encoding == "onehot" and not self.cell_blocks

    def transform(self, X: np.ndarray, dtype: type = np.float64) -> np.ndarray:
        """Encode ``X (n, d)`` of valid indices into ``Z (n, p)`` floats (of ``dtype``)."""
        X = np.atleast_2d(np.asarray(X, dtype=int))
        Z = np.zeros((X.shape[0], self.n_features), dtype=dtype)
        P = X[:, self.positions]
        if self.encoding == "ordinal":
            Z[:, : self.positions.size] = P / np.maximum(self.n_options[self.positions] - 1, 1)
        elif self.positions.size:
            rows = np.arange(X.shape[0])[:, None]
            Z[rows, self._offsets[:-1] + P] = 1.0
        if self.cell_blocks:
            blocks = self.cell.transform(X, self.cell_blocks)
            start = int(self._offsets[-1])
            for block in self.cell_blocks:
                width = blocks[block].shape[1]
                Z[:, start : start + width] = blocks[block]
                start += width
        return Z

    def masks(self) -> np.ndarray:
        """The paper's masks ``l_i`` (Eq. 8) as a 0/1 array ``(h, p)``."""
        L = np.zeros((len(self.group_names), self.n_features))
        for i, cols in enumerate(self.group_columns):
            L[i, cols] = 1.0
        return L
