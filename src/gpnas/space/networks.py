"""Choice vectors that build the same network, so that a search never trains one network twice.

In a space with a cell, different architecture vectors can make the same network:

* a :class:`~gpnas.space.cell.Cell`: a ``none`` edge, an edge whose target reaches no output, or an identity of a
  node that nothing reaches from the input (zero) adds nothing; relabelling the inner nodes changes the vector, not
  the network.  Any other operation of a zero node is kept: a convolution followed by batch norm turns zero into
  its learnt shift (NATS-Bench's classes keep it too).  The key here is the live edges (each
  ``(source, target, operation)``) under the inner-node numbering that makes their sorted list smallest (every
  numbering is tried: at most :data:`MAX_PERMUTED_NODES` inner nodes, beyond which the live edges are taken as
  numbered).  Identities are kept as edges, so a cell where a skip and a convolution trade places is another key:
  the key may split one network in two, never join two.
* a :class:`~gpnas.space.linked_cell.LinkedCell`: every operation reads one node, so the network is a tree hanging
  from the input, each node labelled by its operation, with identities collapsed into the node they read, and the
  nodes that feed the output marked (how many times).  The key is the tree's canonical form (children sorted,
  Aho-Hopcroft-Ullman); a chain of identities alone from the input to the output is left out, as NAS-Bench-Graph
  counts a network with one as the network without.  On NAS-Bench-Graph the keys are exactly the benchmark's own
  classes (its ``valid_hash``; tested on all 59,040 codes).

Positions outside the cell are part of the key as they are.  A space without a cell has no two vectors of one
network: the key is the vector.

:class:`SeenNetworks` answers "is this architecture's network among those already tried?" for many architectures
at once: the cell's invariant features (equal for every vector of one network) are compared first, as integer
hashes, and the exact key is computed only for the few that match.
"""

from __future__ import annotations

from itertools import permutations
from typing import Hashable, Iterable

import numpy as np

from gpnas.space.cell import CellFeatures
from gpnas.space.linked_cell import LINKED_FEATURES, LinkedCellFeatures
from gpnas.space.search_space import SearchSpace

__all__ = ["MAX_PERMUTED_NODES", "MAX_TWINS", "SeenNetworks", "TWIN_INDEX_LIMIT", "TwinIndex", "first_of_each_network",
           "has_equivalent_vectors", "network_keys"]

#: A cell with more inner nodes than this keeps its numbering in the key (the numberings tried grow factorially).
MAX_PERMUTED_NODES = 6


def has_equivalent_vectors(space: SearchSpace) -> bool:
    """Whether two architecture vectors of ``space`` can build the same network (it declares a cell)."""
    return space.cell is not None


def network_keys(space: SearchSpace, X: np.ndarray,
                 features: CellFeatures | LinkedCellFeatures | None = None) -> list[Hashable]:
    """One hashable key per architecture of ``X (n, d)``: equal keys, the same network (see the module docstring).
    ``features``: the space's :meth:`~gpnas.space.search_space.SearchSpace.cell_features`, when already made."""
    X = np.atleast_2d(np.asarray(X, dtype=int))
    features = space.cell_features() if features is None else features
    if features is None:
        return [tuple(int(v) for v in x) for x in X.tolist()]
    outside = np.setdiff1d(np.arange(space.n_positions), features.positions)
    rest = [tuple(int(v) for v in x) for x in X[:, outside].tolist()]
    if isinstance(features, LinkedCellFeatures):
        cell_keys = _linked_keys(features, X)
    else:
        cell_keys = _cell_keys(features, X)
    return [(r, c) for r, c in zip(rest, cell_keys)]


def _cell_keys(features: CellFeatures, X: np.ndarray) -> list[tuple]:
    cell = features.cell
    labels = [[str(v) for v in values] for values in features.values]
    inner = list(range(1, cell.nodes - 1))
    numberings = [dict(zip(inner, p)) for p in permutations(inner)] if len(inner) <= MAX_PERMUTED_NODES \
        else [dict(zip(inner, inner))]
    by_target = sorted(range(len(cell.edges)), key=lambda k: cell.edges[k][2])
    keys = []
    for row in X.tolist():
        ops = [labels[k][row[p]] for k, p in enumerate(features.positions)]
        # A node no operation reaches from the input is zero, and an identity of zero adds nothing; any other
        # operation of zero may not (a convolution followed by batch norm gives its learnt shift): it stays.
        nonzero = [True] + [False] * (cell.nodes - 1)
        adds = [False] * len(ops)
        for k in by_target:
            _, src, dst = cell.edges[k]
            adds[k] = ops[k] not in cell.none and (nonzero[src] or ops[k] not in cell.identity)
            nonzero[dst] = nonzero[dst] or adds[k]
        feeds = [False] * (cell.nodes - 1) + [True]  # reaches the output through edges that add something
        for k in reversed(by_target):
            _, src, dst = cell.edges[k]
            feeds[src] = feeds[src] or (adds[k] and feeds[dst])
        edges = [(src, dst, ops[k]) for k, (_, src, dst) in enumerate(cell.edges) if adds[k] and feeds[dst]]
        keys.append(min(tuple(sorted((n.get(s, s), n.get(t, t), op) for s, t, op in edges)) for n in numberings))
    return keys


def _linked_keys(features: LinkedCellFeatures, X: np.ndarray) -> list[str]:
    identity = set(features.cell.identity)
    labels = [[str(v) for v in values] for values in features.values[1:]]
    k = len(features.cell.nodes)
    keys = []
    for row in X:
        reads = features.wirings[row[features.positions[0]]]
        ops = [labels[i][row[features.positions[i + 1]]] for i in range(k)]
        # every node as the operation node whose value it carries (0: the input), identities collapsed
        carrier = [0] * (k + 1)
        children: list[list[int]] = [[] for _ in range(k + 1)]
        for i in range(1, k + 1):
            if ops[i - 1] in identity:
                carrier[i] = carrier[reads[i - 1]]
            else:
                carrier[i] = i
                children[carrier[reads[i - 1]]].append(i)
        read = {int(r) for r in reads}
        outputs = [0] * (k + 1)
        for i in range(1, k + 1):
            if i not in read and carrier[i] != 0:  # a chain of identities alone adds nothing
                outputs[carrier[i]] += 1

        def canonical(node: int) -> str:
            label = "input" if node == 0 else ops[node - 1]
            return f"{label}*{outputs[node]}(" + ",".join(sorted(canonical(c) for c in children[node])) + ")"
        keys.append(canonical(0))
    return keys


class SeenNetworks:
    """The networks of architectures already tried, for membership tests.

    Parameters
    ----------
    space:
        The search space.
    X:
        ``(n, d)`` architectures already tried (finished, running, failed).
    distinct:
        ``True``: an architecture counts as seen when its network is (:func:`network_keys`); ``False``: only when the
        vector itself is.
    """

    def __init__(self, space: SearchSpace, X: np.ndarray, distinct: bool = True) -> None:
        self.space = space
        self.by_network = bool(distinct) and has_equivalent_vectors(space)
        self._rows: set[tuple] = set()
        self._keys: set[Hashable] = set()
        self._hashes: set[int] = set()
        self._weights: list[np.ndarray] | None = None
        self._numbers: np.ndarray | None = None  # the seen rows' exact numbers, made when first needed
        self._features = space.cell_features() if self.by_network else None
        self.add_many(np.asarray(X, dtype=int).reshape(-1, space.n_positions))

    def _signatures(self, X: np.ndarray) -> np.ndarray:
        """An ``int64`` hash per row of the cell's invariant features and the positions outside the cell: equal for
        every vector of one network (different networks may share one; the exact key then decides)."""
        features = self._features
        blocks = LINKED_FEATURES if isinstance(features, LinkedCellFeatures) else \
            (("ops", "paths") if features.has_paths else ("ops",))
        outside = np.setdiff1d(np.arange(self.space.n_positions), features.positions)
        parts = [X[:, outside].astype(float)] + list(features.transform(X, blocks).values())
        if self._weights is None:
            rng = np.random.default_rng(0)
            self._weights = [rng.integers(1, 2**20, size=p.shape[1]).astype(float) for p in parts]
        # small counts times weights below 2^20: every sum is an integer well inside float64's exact range
        return np.rint(sum(p @ w for p, w in zip(parts, self._weights))).astype(np.int64)

    def copy(self) -> "SeenNetworks":
        """An independent copy (to add proposals to without changing this one)."""
        twin = SeenNetworks.__new__(SeenNetworks)
        twin.space, twin.by_network, twin._weights = self.space, self.by_network, self._weights
        twin._features = self._features
        twin._rows, twin._keys, twin._hashes = set(self._rows), set(self._keys), set(self._hashes)
        twin._numbers = self._numbers
        return twin

    def add_many(self, X: np.ndarray) -> None:
        """Mark the architectures ``X (n, d)`` as seen."""
        X = np.asarray(X, dtype=int).reshape(-1, self.space.n_positions)
        self._rows.update(tuple(int(v) for v in x) for x in X.tolist())
        self._numbers = None
        if self.by_network and len(X):
            self._keys.update(network_keys(self.space, X, self._features))
            self._hashes.update(int(h) for h in self._signatures(X))

    def add(self, arch: Iterable[int]) -> None:
        """Mark one architecture as seen."""
        self.add_many(np.asarray(list(arch), dtype=int)[None, :])

    def __contains__(self, arch: Iterable[int]) -> bool:
        row = tuple(int(v) for v in arch)
        if row in self._rows:
            return True
        return self.by_network and bool(self.mask(np.asarray(row, dtype=int)[None, :])[0])

    def __len__(self) -> int:
        return len(self._rows)

    def mask(self, X: np.ndarray) -> np.ndarray:
        """``(n,)``: whether each architecture of ``X (n, d)`` (or, by network, one of its vectors) was seen."""
        X = np.asarray(X, dtype=int).reshape(-1, self.space.n_positions)
        numbers = self.space.row_keys(X)  # exact int64 row numbers, where the space is small enough
        if numbers is not None:
            if self._numbers is None:
                self._numbers = self.space.row_keys(np.array(list(self._rows), dtype=int).reshape(
                    -1, self.space.n_positions))
            seen = np.isin(numbers, self._numbers)
        else:
            seen = np.fromiter((tuple(x) in self._rows for x in X.tolist()), dtype=bool, count=len(X))
        if not self.by_network or not self._keys or not len(X):
            return seen
        maybe = np.flatnonzero(~seen & np.isin(self._signatures(X), np.fromiter(self._hashes, dtype=np.int64)))
        if maybe.size:
            seen[maybe] = [key in self._keys for key in network_keys(self.space, X[maybe], self._features)]
        return seen


def first_of_each_network(space: SearchSpace, X: np.ndarray) -> np.ndarray:
    """The indices of the rows of ``X`` whose network no earlier row has, in order."""
    keep, keys = [], set()
    for i, key in enumerate(network_keys(space, X)):
        if key not in keys:
            keys.add(key)
            keep.append(i)
    return np.asarray(keep, dtype=int)


#: A space with more vectors than this has no :class:`TwinIndex` (it enumerates the space once).
TWIN_INDEX_LIMIT = 200_000
#: Vectors per measured network that a model learns from (``Study(learn_twins=True)``), the measured one included.
MAX_TWINS = 4


class TwinIndex:
    """Every vector of a space small enough to enumerate (at most :data:`TWIN_INDEX_LIMIT`), grouped by network:
    the other vectors of a measured network, whose value is known without measuring them."""

    def __init__(self, space: SearchSpace) -> None:
        if space.size > TWIN_INDEX_LIMIT:  # (so its rows also have exact int64 numbers)
            raise ValueError(f"a twin index enumerates the space: {space.size} vectors, more than {TWIN_INDEX_LIMIT}")
        self.space = space
        self._X = space.enumerate()
        self._numbers = space.row_keys(self._X)
        ids: dict = {}
        group = np.array([ids.setdefault(k, len(ids)) for k in network_keys(space, self._X)], dtype=np.int64)
        self._group_of = np.empty(space.size, dtype=np.int64)
        self._group_of[self._numbers] = group
        self._order = np.argsort(group, kind="stable")  # rows by group, in enumeration order within one
        self._starts = np.searchsorted(group[self._order], np.arange(len(ids) + 1))

    def twins(self, X: np.ndarray, limit: int = MAX_TWINS) -> tuple[np.ndarray, np.ndarray]:
        """``(T (m, d), source (m,))``: for every row ``i`` of ``X``, up to ``limit - 1`` other vectors of its network
        (the first in the space's order), none of them a row of ``X``, with ``source`` the row each came from."""
        X = np.asarray(X, dtype=int).reshape(-1, self.space.n_positions)
        numbers = self.space.row_keys(X)
        own = set(numbers.tolist())
        rows, sources = [], []
        for i, g in enumerate(self._group_of[numbers]):
            members = self._order[self._starts[g]: self._starts[g + 1]]
            others = [m for m in members if int(self._numbers[m]) not in own]
            for m in others[: max(0, limit - 1)]:
                rows.append(m)
                sources.append(i)
        return self._X[np.asarray(rows, dtype=int)].reshape(-1, self.space.n_positions), np.asarray(sources, dtype=int)
