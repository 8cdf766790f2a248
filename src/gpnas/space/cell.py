"""Cells: search-space positions that are the edges of a small DAG, and structural features of the network they form.

A cell (NAS-Bench-201, DARTS-like spaces) has ``nodes`` numbered in topological order, node ``0`` the input and node
``nodes - 1`` the output; each edge ``src -> dst`` (``src < dst``) carries the operation chosen at one position of the
space.  Some operations cut the edge (``none``), some pass their input through unchanged (``identity``, e.g.
``skip_connect``).  One-hot choices cannot see that an operation on an edge that no input-output path uses does not
matter, nor that two cells with relabelled inner nodes are the same network.  The features here can:

* ``effective`` ``(n, sum of edge options)``: the one-hot of each edge's operation, all zeros when the edge is dead
  (``none``, or on no live path from input to output).  Cells that differ only on dead edges become identical.
* ``paths`` ``(n, V)``: BANANAS' path encoding (White et al., AAAI 2021) on the effective cell, with identities
  collapsed: for every live input-output path, its sequence of operations with identities dropped, counted per
  sequence.  ``V`` is the number of possible sequences (all sequences of non-identity operations up to the longest
  path, the empty one included).  Invariant under relabelling the inner nodes, so isomorphic cells coincide.
* ``ops`` ``(n, k)``: how many live edges carry each operation (``k`` operations other than ``none``).

Architectures are given as choice-index arrays ``X (n, d)`` of the whole space; :class:`Cell` knows which positions
are its edges.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from gpnas.exceptions import SpaceError

#: Path encodings with more possible sequences than this are not built (the vocabulary grows as ops^length).
MAX_PATH_FEATURES = 4096
#: Cells with more input-output paths than this get no path encoding.
MAX_PATHS = 1024
FEATURES = ("effective", "paths", "ops")


@dataclass(frozen=True)
class Cell:
    """A DAG whose edges are positions of a search space.

    Parameters
    ----------
    nodes:
        Number of nodes; ``0`` is the input, ``nodes - 1`` the output.
    edges:
        ``(choice name, src, dst)`` per edge, ``0 <= src < dst < nodes``; each choice names one position.
    none:
        Operation values (compared as strings) that cut an edge.
    identity:
        Operation values that pass the input through unchanged.
    """

    nodes: int
    edges: tuple[tuple[str, int, int], ...]
    none: tuple[str, ...] = ("none",)
    identity: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.nodes, bool) or not isinstance(self.nodes, int) or self.nodes < 2:
            raise SpaceError(f"cell: 'nodes' must be an integer >= 2, got {self.nodes!r}")
        edges = tuple(tuple(e) for e in self.edges)
        if not edges:
            raise SpaceError("cell: 'edges' must name at least one edge")
        names = [e[0] for e in edges]
        if len(set(names)) != len(names):
            raise SpaceError(f"cell: a choice is used by more than one edge in {names}")
        for name, src, dst in edges:
            if any(isinstance(v, bool) or not isinstance(v, int) for v in (src, dst)) or not (
                0 <= src < dst < self.nodes
            ):
                raise SpaceError(
                    f"cell: edge {name!r} must go from a lower to a higher node within 0..{self.nodes - 1}, "
                    f"got {src!r} -> {dst!r}"
                )
        object.__setattr__(self, "edges", edges)
        object.__setattr__(self, "none", tuple(str(v) for v in self.none))
        object.__setattr__(self, "identity", tuple(str(v) for v in self.identity))
        both = sorted(set(self.none) & set(self.identity))
        if both:
            raise SpaceError(f"cell: values {both} cannot be both 'none' and 'identity'")

    @classmethod
    def from_dict(cls, spec: Any, source: str = "cell") -> "Cell":
        """From ``{nodes: 4, edges: {e0: [0, 1], ...}, none: [none], identity: [skip_connect]}``."""
        if not isinstance(spec, Mapping):
            raise SpaceError(f"{source}: expected a mapping with 'nodes' and 'edges', got {spec!r}")
        unknown = sorted(set(spec) - {"nodes", "edges", "none", "identity"})
        if unknown:
            raise SpaceError(f"{source}: unknown keys {unknown}; expected nodes, edges, none, identity")
        for key in ("nodes", "edges"):
            if key not in spec:
                raise SpaceError(f"{source}: missing '{key}'")
        edges = spec["edges"]
        if not isinstance(edges, Mapping):
            raise SpaceError(f"{source}: 'edges' must map choice names to [src, dst], got {edges!r}")
        parsed = []
        for name, ends in edges.items():
            if not isinstance(ends, (list, tuple)) or len(ends) != 2:
                raise SpaceError(f"{source}: edge {name!r} must be [src, dst], got {ends!r}")
            parsed.append((str(name), ends[0], ends[1]))
        lists = {}
        for key in ("none", "identity"):
            value = spec.get(key, ["none"] if key == "none" else [])
            if not isinstance(value, (list, tuple)):
                raise SpaceError(f"{source}: '{key}' must be a list of operation values, got {value!r}")
            lists[key] = tuple(value)
        return cls(spec["nodes"], tuple(parsed), lists["none"], lists["identity"])

    def to_dict(self) -> dict:
        return {"nodes": self.nodes, "edges": {name: [src, dst] for name, src, dst in self.edges},
                "none": list(self.none), "identity": list(self.identity)}

    def paths(self) -> list[list[int]]:
        """Every input-output path as a list of edge numbers (indices into ``edges``), shortest first."""
        out_edges: dict[int, list[int]] = {}
        for k, (_, src, _dst) in enumerate(self.edges):
            out_edges.setdefault(src, []).append(k)
        found: list[list[int]] = []
        stack: list[tuple[int, list[int]]] = [(0, [])]
        while stack and len(found) <= MAX_PATHS:
            node, path = stack.pop()
            if node == self.nodes - 1:
                found.append(path)
                continue
            for k in out_edges.get(node, []):
                stack.append((self.edges[k][2], path + [k]))
        return sorted(found, key=lambda p: (len(p), p))


class CellFeatures:
    """Structural features of the cell of a search space (see the module docstring).

    Parameters
    ----------
    cell:
        The cell.
    positions:
        For each edge, its position in the space (column of ``X``).
    values:
        For each edge, its choice's values (the operations).
    """

    supported = FEATURES

    def __init__(self, cell: Cell, positions: Sequence[int], values: Sequence[Sequence[Any]]) -> None:
        self.cell = cell
        self.positions = np.asarray(positions, dtype=int)
        self.values = [tuple(v) for v in values]
        labels = [[str(v) for v in vals] for vals in values]
        self.n_options = np.array([len(v) for v in labels])
        ops = sorted({v for vals in labels for v in vals if v not in cell.none})
        self.op_names = ops
        self.steps = [op for op in ops if op not in cell.identity]
        # Per edge and option: operation number (-1 for none), and whether it is an identity.
        self._op_of = [np.array([ops.index(v) if v not in cell.none else -1 for v in vals]) for vals in labels]
        self._step_of = [np.array([self.steps.index(v) if v in self.steps else -1 for v in vals]) for vals in labels]
        self._paths = cell.paths()
        longest = max((len(p) for p in self._paths), default=0)
        base = len(self.steps) + 1
        vocabulary = sum(len(self.steps) ** length for length in range(longest + 1))
        self.has_paths = 0 < len(self._paths) <= MAX_PATHS and vocabulary <= MAX_PATH_FEATURES
        if self.has_paths:
            # A sequence is coded in base ``len(steps) + 1`` with digits 1..len(steps); list every code up to
            # ``longest`` digits, in order of length then content.
            codes = [0]
            frontier = [0]
            for _ in range(longest):
                frontier = [c * base + digit for c in frontier for digit in range(1, base)]
                codes += frontier
            self._codes = np.array(codes)
            self._code_order = np.argsort(self._codes)
        self.path_names = self._sequence_names() if self.has_paths else []

    def _sequence_names(self) -> list[str]:
        base = len(self.steps) + 1
        names = []
        for code in self._codes:
            digits = []
            while code:
                code, digit = divmod(int(code), base)
                digits.append(self.steps[digit - 1])
            names.append(">".join(reversed(digits)) or "identity")
        return names

    def widths(self, features: Sequence[str]) -> dict[str, int]:
        """Number of columns of each named feature block."""
        sizes = {"effective": int(self.n_options.sum()), "paths": len(self.path_names), "ops": len(self.op_names)}
        return {f: sizes[f] for f in features}

    def live_edges(self, X: np.ndarray) -> np.ndarray:
        """``(n, E)`` booleans: edge carries an operation other than ``none`` and lies on a live input-output path."""
        E = self.positions.size
        op = np.stack([self._op_of[k][X[:, self.positions[k]]] for k in range(E)], axis=1)
        present = op >= 0
        n = X.shape[0]
        reach = np.zeros((n, self.cell.nodes), dtype=bool)
        reach[:, 0] = True
        order = sorted(range(E), key=lambda k: self.cell.edges[k][1])
        for k in order:  # edges sorted by source node, so every source is final when its edges are read
            _, src, dst = self.cell.edges[k]
            reach[:, dst] |= reach[:, src] & present[:, k]
        coreach = np.zeros((n, self.cell.nodes), dtype=bool)
        coreach[:, -1] = True
        for k in sorted(range(E), key=lambda k: -self.cell.edges[k][2]):
            _, src, dst = self.cell.edges[k]
            coreach[:, src] |= coreach[:, dst] & present[:, k]
        srcs = np.array([e[1] for e in self.cell.edges])
        dsts = np.array([e[2] for e in self.cell.edges])
        return present & reach[:, srcs] & coreach[:, dsts]

    def transform(self, X: np.ndarray, features: Sequence[str]) -> dict[str, np.ndarray]:
        """The named feature blocks of architectures ``X (n, d)`` (choice indices of the whole space)."""
        X = np.atleast_2d(np.asarray(X, dtype=int))
        live = self.live_edges(X)
        n = X.shape[0]
        out: dict[str, np.ndarray] = {}
        if "effective" in features:
            offsets = np.concatenate([[0], np.cumsum(self.n_options)])
            M = np.zeros((n, int(offsets[-1])))
            for k in range(self.positions.size):
                rows = np.flatnonzero(live[:, k])
                M[rows, offsets[k] + X[rows, self.positions[k]]] = 1.0
            out["effective"] = M
        if "ops" in features:
            M = np.zeros((n, len(self.op_names)))
            for k in range(self.positions.size):
                op = self._op_of[k][X[:, self.positions[k]]]
                rows = np.flatnonzero(live[:, k])
                M[rows, op[rows]] += 1.0
            out["ops"] = M
        if "paths" in features:
            out["paths"] = self._path_counts(X, live)
        return out

    def _path_counts(self, X: np.ndarray, live: np.ndarray) -> np.ndarray:
        n = X.shape[0]
        M = np.zeros((n, self._codes.size))
        if not self.has_paths:
            return M
        base = len(self.steps) + 1
        for path in self._paths:
            code = np.zeros(n, dtype=np.int64)
            alive = np.ones(n, dtype=bool)
            for k in path:
                alive &= live[:, k]
                step = self._step_of[k][X[:, self.positions[k]]]
                code = np.where(step >= 0, code * base + step + 1, code)
            column = self._code_order[np.searchsorted(self._codes, code, sorter=self._code_order)]
            rows = np.flatnonzero(alive)
            M[rows, column[rows]] += 1.0
        return M
