"""NAS-Bench-Graph (Qin et al., NeurIPS 2022 Datasets and Benchmarks): graph neural networks on eight graph datasets,
read from the ``nas-bench-graph`` package (PyPI, Apache-2.0; the optional ``graph`` extra), whose tables ship inside
it.  Nothing is copied into gpnas.

The space is a macro DAG of four computing nodes.  Which earlier node feeds each one is one of the benchmark's nine
link patterns (``0012``: nodes 1 and 2 read the input, node 3 reads node 1, node 4 reads node 2); each node runs one of
nine operations (GAT, GCN, GIN, ChebNet, GraphSAGE, ARMA, k-GNN, a fully connected layer, skip); the leaves are
summed into the output.  That is 9 x 9^4 = 59,049 codes, of which the nine all-skip ones are no network; the
benchmark trained one network per isomorphism class of the other 59,040 (its ``valid_hash``), 26,206 classes, and the
class is each row's ``dedup_key``.  A link pattern changes what every node's operation means: the space declares a
linked cell (:mod:`gpnas.space.linked_cell`), so that the model sees what feeds what, not five flat categories alone;
it still ranks these tables far worse than NAS-Bench-201 (a space where the model is weak, on purpose).

The target is the test performance (accuracy; the benchmark's ``perf``, the mean of three seeds), the extra columns
its validation performance, latency and parameter count.  The ninth dataset of the package, ``proteins``, has a
smaller operation set whose table keys the package's own hashing does not reproduce; it is left out.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import product

import numpy as np

from gpnas.exceptions import DataError
from gpnas.io.table import Table
from gpnas.space import Choice, SearchSpace
from gpnas.space.linked_cell import LinkedCell

__all__ = ["NBGRAPH_DATASETS", "load_nasbench_graph", "nasbench_graph_space"]

#: The datasets whose tables :func:`load_nasbench_graph` reads (the package's ninth, ``proteins``, is left out).
NBGRAPH_DATASETS = ("cora", "citeseer", "pubmed", "cs", "physics", "photo", "computers", "arxiv")

#: The package's columns kept as the table's extra columns (its ``para`` as ``params``, millions).
NBGRAPH_EXTRA = {"valid_perf": "valid_perf", "latency": "latency", "params": "para"}


def _package():
    try:
        import nas_bench_graph
    except ImportError as error:
        raise DataError("NAS-Bench-Graph tables need the nas-bench-graph package: pip install 'gpnas[graph]'") \
            from error
    return nas_bench_graph


def nasbench_graph_space() -> SearchSpace:
    """The link pattern (nine, written as each node's input: ``0`` the raw input, ``k`` node ``k``), then the four
    nodes' operations (one operation type); declared as a linked cell (:mod:`gpnas.space.linked_cell`), ``skip``
    its identity, so that the model can see what each operation reads and feeds."""
    architecture = _package().architecture
    gnn_list, link_list = architecture.gnn_list, architecture.link_list
    links = tuple("".join(map(str, link)) for link in link_list)
    nodes = [f"node{i}" for i in range(1, 5)]
    return SearchSpace([Choice("links", links, "links")] + [Choice(node, tuple(gnn_list), "op") for node in nodes],
                       name="nas-bench-graph", cell=LinkedCell("links", tuple(nodes), identity=("skip",)))


@lru_cache(maxsize=1)
def _codes() -> tuple[np.ndarray, np.ndarray]:
    """Every code of the space but the all-skip ones, and its isomorphism class (the package's ``valid_hash``)."""
    package = _package()
    gnn_list, link_list = package.architecture.gnn_list, package.architecture.link_list

    X, keys = [], []
    for link_index, link in enumerate(link_list):
        for ops in product(range(len(gnn_list)), repeat=4):
            names = [gnn_list[o] for o in ops]
            if all(name == "skip" for name in names):
                continue
            X.append((link_index, *ops))
            keys.append(package.Arch(list(link), names).valid_hash())
    return np.array(X), np.array(keys)


def load_nasbench_graph(dataset: str = "cora") -> Table:
    """NAS-Bench-Graph test performance on ``dataset`` (:data:`NBGRAPH_DATASETS`): every code of the space, each
    with its class's values."""
    if dataset not in NBGRAPH_DATASETS:
        raise DataError(f"unknown NAS-Bench-Graph dataset {dataset!r}; expected one of {list(NBGRAPH_DATASETS)}")
    bench = _package().light_read(dataset)
    X, keys = _codes()
    missing = [int(k) for k in np.unique(keys) if int(k) not in bench]
    if missing:
        raise DataError(f"NAS-Bench-Graph {dataset!r}: {len(missing)} architecture classes have no entry (the first: "
                        f"{missing[0]}); is the nas-bench-graph package 1.4.0?")
    records = [bench[int(k)] for k in keys]
    y = np.array([float(r["perf"]) for r in records])
    extra = {name: np.array([float(r[column]) for r in records]) for name, column in NBGRAPH_EXTRA.items()}
    return Table(f"nas-bench-graph-{dataset}", nasbench_graph_space(), X.copy(), y, keys.astype(str), extra)
