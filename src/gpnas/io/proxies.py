"""Published zero-cost proxies of NAS-Bench-201 cells (NAS-Bench-Suite-Zero values) as side features.

``../shared/data/nb201-zero-cost`` holds 13 proxies for 9,445 cells, computed with NASLib on one minibatch of CIFAR-10
or ImageNet16-120 (see its SOURCE.md).  The file leaves out cells that differ from a listed one only on an operation
no path uses; such a cell computes the same network, so it takes the proxies of a listed cell of its NATS-Bench
isomorphism class.  That covers 14,921 of the 15,625 cells; the 704 cells of the 181 classes without a listed member
have no proxies, and a model with these side features cannot score them.
"""

from __future__ import annotations

import csv
import os

import numpy as np

from gpnas.exceptions import DataError
from gpnas.gp.side_features import SideFeatures
from gpnas.io.tables import NB201_OPS, _require, data_dir, load_nasbench201

#: The proxies NAS-Bench-Suite-Zero lists, as NASLib names them.
NB201_PROXIES = ("epe_nas", "fisher", "flops", "grad_norm", "grasp", "jacov", "l2_norm", "nwot", "params", "plain",
                 "snip", "synflow", "zen")
_FILES = {"cifar10": "nb201_cifar10_zc_proxies.csv", "imagenet16-120": "nb201_imagenet16_zc_proxies.csv"}


def load_nb201_proxies(dataset: str = "cifar10", names: tuple[str, ...] | list[str] | None = None,
                       data_dir_: str | os.PathLike | None = None) -> SideFeatures:
    """The published proxies ``names`` (default: all 13) computed on ``dataset``'s images (``cifar10`` or
    ``imagenet16-120``), keyed by NB201 choice indices (edges in :data:`~gpnas.io.tables.NB201_EDGES` order, operations
    :data:`~gpnas.io.tables.NB201_OPS`), for every cell of a listed isomorphism class."""
    if dataset not in _FILES:
        raise DataError(f"no published NB201 proxies for {dataset!r}; expected one of {sorted(_FILES)}")
    names = list(NB201_PROXIES if names is None else names)
    unknown = [n for n in names if n not in NB201_PROXIES]
    if unknown:
        raise DataError(f"unknown NB201 proxies {unknown}; expected some of {list(NB201_PROXIES)}")
    folder = data_dir(data_dir_) / "nb201-zero-cost"
    # the CIFAR-10 file carries the architecture string; the other file is joined to it on NASLib's `net` tuple
    cells = {}
    with open(_require(folder / _FILES["cifar10"]), newline="") as handle:
        for row in csv.DictReader(handle):
            edges = [token.split("~")[0] for token in row["net_str"].split("|") if "~" in token]
            cells[row["net"]] = tuple(NB201_OPS.index(op) for op in edges)
    values = {}
    with open(_require(folder / _FILES[dataset]), newline="") as handle:
        for row in csv.DictReader(handle):
            if row["net"] not in cells:
                raise DataError(f"{_FILES[dataset]} lists cell {row['net']} that {_FILES['cifar10']} does not")
            values[cells[row["net"]]] = [float(row[n]) for n in names]
    table = load_nasbench201("cifar10", data_dir_)  # the 15,625 cells with their isomorphism classes
    by_class = {}
    for arch, key in zip(map(tuple, table.X), table.dedup_key):
        if arch in values:
            by_class.setdefault(key, values[arch])
    rows = [(arch, values.get(arch, by_class.get(key))) for arch, key in zip(map(tuple, table.X), table.dedup_key)
            if key in by_class]
    X = np.array([arch for arch, _ in rows], dtype=np.int64)
    # NASLib's convention: a larger value of each proxy is meant to rank a cell higher (jacov's values are negative)
    return SideFeatures(X, np.array([v for _, v in rows], dtype=float), names, signs=np.ones(len(names)))
