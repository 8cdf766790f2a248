"""Linked cells: a small DAG of operation nodes whose wiring is itself a choice (NAS-Bench-Graph's macro space).

A linked cell has ``k`` operation nodes, numbered ``1..k``; node ``0`` is the input.  One position of the space (the
*links* choice) picks the wiring: each of its values is a string of ``k`` digits, the node that node ``1, 2, ..., k``
reads (a digit below the node's own number), so ``"0012"`` has nodes 1 and 2 read the input, node 3 read node 1 and
node 4 read node 2.  Every node that no other node reads feeds the output (their sum).  The operation of node ``i`` is
another position; ``identity`` operations (``skip``) pass their input through unchanged.

One-hot choices see the operation at each node *number*, but the wiring changes what a number means: node 3 reads
the input in one pattern and ends a chain of three in another.  The features here see the network instead, and are
invariant under relabelling the nodes (architectures the benchmark counts as one network coincide):

* ``ops`` ``(n, m)``: how many nodes carry each of the ``m`` operations other than the identities.
* ``pairs`` ``(n, (m + 1) m)``: what feeds what: for every node whose operation is not an identity, the pair (the
  operation of the nearest such node it reads through identities, or the input; its own operation), counted.
* ``outputs`` ``(n, m + k)``: for every chain from the input to the output (one per node that feeds the output),
  the operation that ends it and its length in operations other than the identities, counted.  A chain of
  identities alone, the raw input passed to the output, is not counted: NAS-Bench-Graph's input has another width
  than its nodes, and the benchmark counts a network with such a chain as the one without.

Together they are a truncated path encoding (BANANAS, White et al. 2021, keeps the whole sequence of each path; with
eight operations and chains of up to four that is 4,681 columns, too many for a kernel over a pool of 59,049).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from gpnas.exceptions import SpaceError

#: The feature blocks of a linked cell, in the order the encoder lays them out.
LINKED_FEATURES = ("ops", "pairs", "outputs")
#: A linked cell whose positions take at most this many joint values has its features tabulated once, for all of
#: them (NAS-Bench-Graph's 59,049 in 5.4 MB of counts), and looked up afterwards: a search encodes a
#: 20,000-candidate pool several times a round, and the lookup made its queries 1.10-1.19x faster there
#: (``benchmarks/results/search_cost_graph.md``).
TABULATE_LIMIT = 200_000


@dataclass(frozen=True)
class LinkedCell:
    """Which positions of a space are a linked cell's wiring and its nodes' operations.

    Parameters
    ----------
    links:
        Name of the choice whose values are the wirings (strings of one digit per node, see the module docstring).
    nodes:
        Names of the nodes' operation choices, node 1 first.
    identity:
        Operation values that pass their input through unchanged.
    """

    links: str
    nodes: tuple[str, ...]
    identity: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        nodes = tuple(str(n) for n in self.nodes) if isinstance(self.nodes, (list, tuple)) else ()
        if not nodes:
            raise SpaceError("linked cell: 'nodes' must name at least one operation choice")
        if len(nodes) > 9:
            raise SpaceError(f"linked cell: at most 9 nodes (one digit each in a wiring), got {len(nodes)}")
        names = [str(self.links), *nodes]
        if len(set(names)) != len(names):
            raise SpaceError(f"linked cell: a choice is named more than once in links and nodes {names}")
        object.__setattr__(self, "links", str(self.links))
        object.__setattr__(self, "nodes", nodes)
        identity = (self.identity,) if isinstance(self.identity, str) else self.identity  # "skip", not s, k, i, p
        object.__setattr__(self, "identity", tuple(str(v) for v in identity))

    @property
    def choice_names(self) -> list[str]:
        return [self.links, *self.nodes]

    def parse_wiring(self, value: Any) -> tuple[int, ...]:
        """The input node of every node from one value of the links choice; a clear error when it is not one."""
        text = str(value)
        k = len(self.nodes)
        if len(text) != k or not text.isdigit() or any(int(d) >= i + 1 for i, d in enumerate(text)):
            # a YAML number loses its leading zeros: 0012 is read as 12 (or as octal 10)
            hint = "; quote it in a space file (a number loses its leading zeros)" if isinstance(value, int) else ""
            raise SpaceError(f"linked cell: wiring {value!r} must be {k} digits, node i's digit the node it reads, "
                             f"below i (e.g. {'0' * k!r}){hint}")
        return tuple(int(d) for d in text)

    @classmethod
    def from_dict(cls, spec: Any, source: str = "cell") -> "LinkedCell":
        """From ``{links: links, nodes: [node1, ...], identity: [skip]}``."""
        if not isinstance(spec, Mapping):
            raise SpaceError(f"{source}: expected a mapping with 'links' and 'nodes', got {spec!r}")
        unknown = sorted(set(spec) - {"links", "nodes", "identity"})
        if unknown:
            raise SpaceError(f"{source}: unknown keys {unknown}; a linked cell has links, nodes, identity")
        for key in ("links", "nodes"):
            if key not in spec:
                raise SpaceError(f"{source}: missing '{key}'")
        for key in ("nodes", "identity"):
            if not isinstance(spec.get(key, []), (list, tuple)):
                raise SpaceError(f"{source}: '{key}' must be a list, got {spec[key]!r}")
        try:
            return cls(spec["links"], tuple(spec["nodes"]), tuple(spec.get("identity", ())))
        except SpaceError as err:
            raise SpaceError(f"{source}: {err}") from None

    def to_dict(self) -> dict:
        return {"links": self.links, "nodes": list(self.nodes), "identity": list(self.identity)}


class LinkedCellFeatures:
    """The structural features of a space's linked cell (see the module docstring).

    Parameters
    ----------
    cell:
        The linked cell.
    positions:
        The links choice's position in the space, then each node's.
    values:
        The values of those choices, in the same order.
    """

    supported = LINKED_FEATURES
    has_paths = False

    def __init__(self, cell: LinkedCell, positions: Sequence[int], values: Sequence[Sequence[Any]]) -> None:
        self.cell = cell
        self.positions = np.asarray(positions, dtype=int)
        self.values = [tuple(v) for v in values]
        #: ``(options of the links choice, k)``: the node each node reads, per wiring.
        self.wirings = np.array([cell.parse_wiring(v) for v in values[0]], dtype=int).reshape(len(values[0]), -1)
        labels = [[str(v) for v in vals] for vals in values[1:]]
        self.steps = sorted({v for vals in labels for v in vals if v not in cell.identity})
        # per node and option: the operation's number among the steps, -1 for an identity
        self._step_of = [np.array([self.steps.index(v) if v in self.steps else -1 for v in vals]) for vals in labels]
        m, k = len(self.steps), len(cell.nodes)
        self.names = {"ops": list(self.steps),
                      "pairs": [f"{a}>{b}" for a in ["input", *self.steps] for b in self.steps],
                      "outputs": [f"end:{a}" for a in self.steps] + [f"length:{d}" for d in range(1, k + 1)]}
        self._widths = {"ops": m, "pairs": (m + 1) * m, "outputs": m + k}

    def widths(self, features: Sequence[str]) -> dict[str, int]:
        """Number of columns of each named feature block."""
        return {f: self._widths[f] for f in features}

    def transform(self, X: np.ndarray, features: Sequence[str]) -> dict[str, np.ndarray]:
        """The named feature blocks of architectures ``X (n, d)`` (choice indices of the whole space): looked up in a
        table of every joint value of the cell's positions, made at the first call, where there are at most
        :data:`TABULATE_LIMIT` of them; traced (:meth:`trace`) otherwise."""
        codes = np.atleast_2d(np.asarray(X, dtype=int))[:, self.positions]
        sizes = tuple(len(v) for v in self.values)
        if int(np.prod(sizes, dtype=float)) > TABULATE_LIMIT:
            return self.trace(codes, features)
        key = (self.cell.identity, tuple(tuple(str(v) for v in vals) for vals in self.values))
        table = _feature_table(key, lambda: self.trace(_all_codes(sizes), LINKED_FEATURES))
        index = np.ravel_multi_index(tuple(codes.T), sizes)
        # in the order trace gives them; take: three times as fast as indexing with []
        return {f: np.take(table[f], index, axis=0).astype(float) for f in LINKED_FEATURES if f in features}

    def trace(self, codes: np.ndarray, features: Sequence[str]) -> dict[str, np.ndarray]:
        """The named feature blocks computed from the cell's codes ``(n, k + 1)``: the links choice's index, then
        each node's operation index (what :meth:`transform` tabulates)."""
        n, k, m = codes.shape[0], len(self.cell.nodes), len(self.steps)
        parent = self.wirings[codes[:, 0]]  # (n, k): the node each node reads
        step = np.stack([self._step_of[i][codes[:, i + 1]] for i in range(k)], axis=1)
        # Through identities: the operation a node's input last went through (-1: the input) and how many
        # operations the chain to it holds; column 0 is the input node.
        last = np.full((n, k + 1), -1)
        depth = np.zeros((n, k + 1), dtype=int)
        rows = np.arange(n)
        for i in range(1, k + 1):  # a node reads a lower one, which is final by now
            p = parent[:, i - 1]
            s = step[:, i - 1]
            last[:, i] = np.where(s >= 0, s, last[rows, p])
            depth[:, i] = depth[rows, p] + (s >= 0)
        out: dict[str, np.ndarray] = {}
        if "ops" in features:
            M = np.zeros((n, m))
            for i in range(k):
                live = np.flatnonzero(step[:, i] >= 0)
                M[live, step[live, i]] += 1.0
            out["ops"] = M
        if "pairs" in features:
            M = np.zeros((n, (m + 1) * m))
            for i in range(1, k + 1):
                live = np.flatnonzero(step[:, i - 1] >= 0)
                source = last[live, parent[live, i - 1]] + 1  # 0: the input
                M[live, source * m + step[live, i - 1]] += 1.0
            out["pairs"] = M
        if "outputs" in features:
            read = np.zeros((n, k + 1), dtype=bool)
            read[rows[:, None], parent] = True
            M = np.zeros((n, m + k))
            for i in range(1, k + 1):
                leaf = np.flatnonzero(~read[:, i] & (depth[:, i] > 0))  # an identity chain adds nothing
                M[leaf, last[leaf, i]] += 1.0
                M[leaf, m + depth[leaf, i] - 1] += 1.0
            out["outputs"] = M
        return out


def _all_codes(sizes: tuple[int, ...]) -> np.ndarray:
    """Every joint value of positions with ``sizes`` options, ``(prod(sizes), len(sizes))`` in row-major order."""
    return np.stack(np.unravel_index(np.arange(int(np.prod(sizes))), sizes), axis=1)


_TABLES: dict = {}


def _feature_table(key: tuple, build) -> dict[str, np.ndarray]:
    """The tabulated feature blocks of the linked cell described by ``key`` (its identities and its positions' values
    as strings: all the features depend on), built by ``build()`` the first time, stored as ``uint8`` counts."""
    table = _TABLES.get(key)
    if table is None:
        blocks = build()
        # each count is a number of nodes (at most 9), exact in any unsigned type
        table = {f: np.asarray(b, dtype=np.uint8) for f, b in blocks.items()}
        if len(_TABLES) >= 4:  # a few spaces at a time: drop the oldest
            _TABLES.pop(next(iter(_TABLES)))
        _TABLES[key] = table
    return table
