"""Public NAS benchmark tables as (space, architectures, targets): NAS-Bench-201, NAS-Bench-Macro, Accel-NASBench,
CVPR 2021 and 2022 Track 2, and NAS-Bench-Graph (from its package, :mod:`gpnas.io.nas_bench_graph`).

The tables are never copied into this package.  They are read from a data folder laid out like the project's
``shared/data`` (see its ``INDEX.md``), found through, in order: the ``data_dir`` argument, the ``GPNAS_DATA_DIR``
environment variable, then ``../shared/data`` next to the current directory or next to the source checkout.

Every loader returns a :class:`Table` with *all* rows (a search replay needs every architecture) and a
``dedup_key`` per row: rows with the same key are the same trained network (isomorphic cells in NAS-Bench-201,
equivalent identity placements in NAS-Bench-Macro, repeated rows in Accel-NASBench).  Call :meth:`Table.deduplicated`
before splitting into train and test, or the test split leaks.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np

from gpnas.space.cell import Cell
from gpnas.exceptions import DataError
from gpnas.io.nas_bench_graph import NBGRAPH_DATASETS, load_nasbench_graph
from gpnas.io.table import Table
from gpnas.space import Choice, SearchSpace

NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NB201_EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
NB201_TARGETS = {
    "cifar10": "CIFAR10TestAccuracy200Epochs",
    "cifar100": "CIFAR100TestAccuracy200Epochs",
    "imagenet16-120": "ImageNetTestAccuracy200Epochs",
}
MACRO_OPS = ("id", "ir_3x3_t3", "ir_5x5_t6")
MACRO_STAGES = (2, 3, 3)
ACCEL_BLOCKS = 7


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """The benchmark data folder; raises :class:`DataError` naming every place looked at when none exists."""
    candidates = []
    if path is not None:
        candidates.append(Path(path))
    elif os.environ.get("GPNAS_DATA_DIR"):
        candidates.append(Path(os.environ["GPNAS_DATA_DIR"]))
    else:
        candidates.append(Path.cwd().parent / "shared" / "data")
        candidates.append(Path(__file__).resolve().parents[4] / "shared" / "data")  # beside the checkout
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise DataError(
        "benchmark data folder not found (looked in "
        + ", ".join(repr(str(c)) for c in candidates)
        + "); pass --data-dir or set GPNAS_DATA_DIR"
    )


def _require(path: Path) -> Path:
    if not path.is_file():
        raise DataError(f"benchmark file {str(path)!r} does not exist")
    return path


def nasbench201_space() -> SearchSpace:
    """NAS-Bench-201 / NATS-Bench topology cells: 6 edges x 5 operations, one operation type, declared as a cell.

    The six edges in the order of the architecture string: ``1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2``.
    """
    cell = Cell(4, tuple((f"e_{j}", src, dst) for j, (src, dst) in enumerate(NB201_EDGES)), none=("none",),
                identity=("skip_connect",))
    return SearchSpace([Choice(f"e_{j}", NB201_OPS, "op") for j in range(6)], name="nasbench201", cell=cell)


def load_nasbench201(dataset: str = "cifar10", data_dir_: str | os.PathLike | None = None) -> Table:
    """NAS-Bench-201 test accuracy (200 epochs, seed mean) on ``cifar10``, ``cifar100`` or ``imagenet16-120``."""
    if dataset not in NB201_TARGETS:
        raise DataError(f"unknown NAS-Bench-201 dataset {dataset!r}; expected one of {sorted(NB201_TARGETS)}")
    path = _require(data_dir(data_dir_) / "nats-bench-tss" / "nats_bench.csv")
    space = nasbench201_space()
    X, y, keys = [], [], []
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            edges = [token.split("~")[0] for token in row["ArchitectureString"].split("|") if "~" in token]
            X.append([NB201_OPS.index(op) for op in edges])
            y.append(float(row[NB201_TARGETS[dataset]]))
            keys.append(row["UniqueString"])
    return Table(f"nasbench201-{dataset}", space, np.array(X), np.array(y), np.array(keys))


#: Columns of the earlier NATS-Bench export with both training budgets (``commit-bca0282/nats_bench.csv``).
NB201_BUDGET_COLUMNS = {
    "cifar10": ("Cifar10TestAccuracy12Epochs", "Cifar10TestAccuracy200Epochs"),
    "cifar100": ("Cifar100TestAccuracy12Epochs", "Cifar100TestAccuracy200Epochs"),
    "imagenet16-120": ("ImageNet16TestAccuracy12Epochs", "ImageNet16TestAccuracy200Epochs"),
}


def load_nasbench201_budgets(dataset: str = "cifar10",
                             data_dir_: str | os.PathLike | None = None) -> tuple[Table, dict[int, np.ndarray]]:
    """NAS-Bench-201 at two training budgets: ``(table, {12: y12, 200: y200})``.

    From ``nats-bench-tss/commit-bca0282/nats_bench.csv`` (same row order as ``nats_bench.csv``, whose isomorphism
    keys it borrows).  Its 200-epoch values look like single-seed ones (SOURCE.md), so the table's ``y`` is that
    column, not the seed mean of :func:`load_nasbench201`: both budgets come from the same file.
    """
    if dataset not in NB201_BUDGET_COLUMNS:
        raise DataError(f"unknown NAS-Bench-201 dataset {dataset!r}; expected one of {sorted(NB201_BUDGET_COLUMNS)}")
    keyed = load_nasbench201(dataset, data_dir_)
    path = _require(data_dir(data_dir_) / "nats-bench-tss" / "commit-bca0282" / "nats_bench.csv")
    short, long = NB201_BUDGET_COLUMNS[dataset]
    X, y12, y200 = [], [], []
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            edges = [token.split("~")[0] for token in row["ArchitectureString"].split("|") if "~" in token]
            X.append([NB201_OPS.index(op) for op in edges])
            y12.append(float(row[short]))
            y200.append(float(row[long]))
    X = np.array(X)
    if X.shape != keyed.X.shape or not np.array_equal(X, keyed.X):
        raise DataError(f"{str(path)!r} does not list the architectures in the order of nats_bench.csv")
    table = Table(f"nasbench201-{dataset}-budgets", keyed.space, X, np.array(y200), keyed.dedup_key)
    return table, {12: np.array(y12), 200: np.array(y200)}


def nasbench_macro_space() -> SearchSpace:
    """NAS-Bench-Macro: 8 layers x {identity, MBConv k3 e3, MBConv k5 e6}, one operation type."""
    return SearchSpace([Choice(f"l{j}", MACRO_OPS, "op") for j in range(8)], name="nasbench-macro")


def macro_canonical(key: str) -> str:
    """The authors' ``get_real_arch``: identities after a stage's first layer move to the end of the stage."""
    out, start = [], 0
    for size in MACRO_STAGES:
        stage = key[start : start + size]
        rest = [c for c in stage[1:] if c != "0"]
        out.append(stage[0] + "".join(rest) + "0" * (size - 1 - len(rest)))
        start += size
    return "".join(out)


def load_nasbench_macro(data_dir_: str | os.PathLike | None = None) -> Table:
    """NAS-Bench-Macro CIFAR-10 test accuracy (mean of 3 seeds), with params and FLOPs."""
    path = _require(data_dir(data_dir_) / "nas-bench-macro" / "nas-bench-macro_cifar10.json")
    records = json.loads(path.read_text())
    keys = sorted(records)
    X = np.array([[int(c) for c in k] for k in keys])
    y = np.array([records[k]["mean_acc"] for k in keys], dtype=float)
    extra = {
        "params": np.array([records[k]["params"] for k in keys], dtype=float),
        "flops": np.array([records[k]["flops"] for k in keys], dtype=float),
    }
    dedup = np.array([macro_canonical(k) for k in keys])
    return Table("nasbench-macro", nasbench_macro_space(), X, y, dedup, extra)


def accel_nasbench_space() -> SearchSpace:
    """Accel-NASBench: 7 blocks x (expansion, kernel, layers, SE); four operation types."""
    choices = []
    for b in range(ACCEL_BLOCKS):
        choices += [
            Choice(f"block{b}_e", (1, 4, 6), "expansion"),
            Choice(f"block{b}_k", (3, 5), "kernel"),
            Choice(f"block{b}_l", (1, 2, 3, 4), "layers"),
            Choice(f"block{b}_se", (0, 1), "se"),
        ]
    return SearchSpace(choices, name="accel-nasbench")


ACCEL_EXTRA = ("macs", "params", "throughput_a100_mean", "throughput_3090_mean", "throughput_tpuv2_mean",
               "throughput_tpuv3_mean", "throughput_zcu102_mean", "throughput_vck190_mean",
               "latency_zcu102_mean", "latency_vck190_mean")


def load_accel_nasbench(target: str = "val_top1", data_dir_: str | os.PathLike | None = None) -> Table:
    """Accel-NASBench ImageNet accuracy (proxy training) with MACs, params, throughput and FPGA latency."""
    path = _require(data_dir(data_dir_) / "accel-nasbench" / "accel_nasbench.csv")
    space = accel_nasbench_space()
    X, y, keys, extra = [], [], [], {k: [] for k in ACCEL_EXTRA}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            x = [c.index_of(row[c.name]) for c in space.choices]
            X.append(x)
            y.append(float(row[target]))
            keys.append(",".join(map(str, x)))
            for k in ACCEL_EXTRA:
                extra[k].append(float(row[k]) if row.get(k) not in (None, "") else np.nan)
    return Table("accel-nasbench", space, np.array(X), np.array(y), np.array(keys),
                 {k: np.array(v) for k, v in extra.items()})


CVPR22_TASKS = ("cplfw", "market1501", "dukemtmc", "msmt17", "veri", "vehicleid", "veriwild", "sop")
CVPR22_DEPTHS = {"j": 10, "k": 11, "l": 12}


def cvpr2022_space() -> SearchSpace:
    """CVPR 2022 NAS Track 2 (ViT supernet subnets): depth 10-12, then per layer the heads and MLP-ratio choices.

    Layers 10 and 11 exist only at depth 11 and 12; their choices have a value ``0`` for "layer absent".  So the
    depth changes what the last layers' choices mean: a space whose choices interact.
    """
    choices = [Choice("depth", (10, 11, 12), "depth")]
    for layer in range(12):
        values = (1, 2, 3) if layer < 10 else (0, 1, 2, 3)
        choices += [Choice(f"l{layer}_heads", values, "heads"), Choice(f"l{layer}_mlp", values, "mlp_ratio")]
    return SearchSpace(choices, name="cvpr2022-track2")


def load_cvpr2022(task: str = "cplfw", data_dir_: str | os.PathLike | None = None) -> Table:
    """CVPR 2022 NAS Track 2 training set: 500 subnets with their rank (0-499) on one of 8 tasks, the target."""
    if task not in CVPR22_TASKS:
        raise DataError(f"unknown CVPR 2022 Track 2 task {task!r}; expected one of {list(CVPR22_TASKS)}")
    path = _require(data_dir(data_dir_) / "cvpr2022-nas-track2" / "CVPR_2022_NAS_Track2_train.json")
    records = json.loads(path.read_text())
    space = cvpr2022_space()
    X, y, keys = [], [], []
    for record in records.values():
        arch = record["arch"]
        if len(arch) != 37 or arch[0] not in CVPR22_DEPTHS:
            raise DataError(f"{str(path)!r}: unexpected architecture code {arch!r}")
        x = [CVPR22_DEPTHS[arch[0]] - 10]
        for layer in range(12):
            heads, mlp = int(arch[1 + 3 * layer]), int(arch[2 + 3 * layer])
            x += [heads - 1, mlp - 1] if layer < 10 else [heads, mlp]
        X.append(x)
        y.append(float(record[f"{task}_rank"]))
        keys.append(arch)
    return Table(f"cvpr2022-{task}", space, np.array(X), np.array(y), np.array(keys))


CVPR21_BLOCKS = 16


def cvpr2021_space() -> SearchSpace:
    """CVPR 2021 NAS Track 2 (the GP-NAS authors' demo data): 16 blocks, one of 6 operations each (3 kernel sizes x
    2 expansion ratios; the files do not say which number is which, so the operations are unordered labels)."""
    return SearchSpace([Choice(f"b{i}", tuple(f"op{k}" for k in range(1, 7)), "op") for i in range(CVPR21_BLOCKS)],
                       name="cvpr2021-track2")


def load_cvpr2021(data_dir_: str | os.PathLike | None = None) -> Table:
    """CVPR 2021 NAS Track 2, stage 1: 200 architectures and their proxy-training accuracy (``acc``, in [0, 1])."""
    path = _require(data_dir(data_dir_) / "cvpr2021-nas-track2-gpnas" / "Track2_stage1_trainning.json")
    records = json.loads(path.read_text())
    X, y = [], []
    for name, record in records.items():
        ops = [int(block[2]) for block in record["arch"]]
        if len(ops) != CVPR21_BLOCKS or not all(1 <= op <= 6 for op in ops):
            raise DataError(f"{str(path)!r}: unexpected architecture {name!r}: {record['arch']!r}")
        X.append([op - 1 for op in ops])
        y.append(float(record["acc"]))
    X = np.array(X)
    return Table("cvpr2021-track2", cvpr2021_space(), X, np.array(y), np.array([",".join(map(str, x)) for x in X]))


def load_table(name: str, data_dir_: str | os.PathLike | None = None) -> Table:
    """By name: ``nb201-cifar10``, ``nb201-cifar100``, ``nb201-imagenet16-120``, ``macro``, ``accel``, ``cvpr21``,
    ``cvpr22-<task>`` (:data:`CVPR22_TASKS`), and ``nb201-<dataset>-12ep``: the NAS-Bench-201 cells after 12 epochs
    of training (one seed, :func:`load_nasbench201_budgets`), a noisier target than the 200-epoch seed mean; and
    ``nbgraph-<dataset>``, NAS-Bench-Graph's test performance (:mod:`gpnas.io.nas_bench_graph`, from the optional
    ``nas-bench-graph`` package rather than the data folder)."""
    if name.startswith("cvpr22-"):
        return load_cvpr2022(name[len("cvpr22-"):], data_dir_)
    if name.startswith("nb201-") and name.endswith("-12ep"):
        dataset = name[len("nb201-"):-len("-12ep")]
        table, by_budget = load_nasbench201_budgets(dataset, data_dir_)
        return Table(f"nasbench201-{dataset}-12ep", table.space, table.X, by_budget[12], table.dedup_key)
    if name.startswith("nb201-"):
        return load_nasbench201(name[len("nb201-"):], data_dir_)
    if name == "macro":
        return load_nasbench_macro(data_dir_)
    if name == "accel":
        return load_accel_nasbench(data_dir_=data_dir_)
    if name == "cvpr21":
        return load_cvpr2021(data_dir_)
    if name.startswith("nbgraph-"):  # from the nas-bench-graph package, not the data folder
        return load_nasbench_graph(name[len("nbgraph-"):])
    raise DataError(f"unknown benchmark table {name!r}; expected one of {TABLE_NAMES}")


TABLE_NAMES = ("nb201-cifar10", "nb201-cifar100", "nb201-imagenet16-120", "macro", "accel", "cvpr21") + tuple(
    f"cvpr22-{task}" for task in CVPR22_TASKS) + tuple(f"nb201-{dataset}-12ep" for dataset in NB201_BUDGET_COLUMNS) \
    + tuple(f"nbgraph-{dataset}" for dataset in NBGRAPH_DATASETS)
