"""Accuracy against latency (issue #24): the Pareto front found by multi-objective Optuna studies on NAS-Bench-201.

Each (dataset, device) pair is a two-objective table: a cell's NATS-Bench accuracy (maximise) and its latency on one
of HELP's devices (minimise; ``../shared/data/help-latency``).  Every sampler runs a plain Optuna study,
``suggest_categorical`` per edge, for ``--trials`` trials:

* ``gpnas``: :class:`GPNASSampler` (ParEGO scalarisations of the two objectives, the default strategy);
* ``gpnas-per-objective``: :class:`GPNASSampler` with a model per objective (``multi_objective="per-objective"``);
* ``gpnas-study``: gpnas's own study, ``create_study(directions=["maximize", "minimize"])`` with its defaults
  (ParEGO proposals by the ``auto`` strategy over the whole cell space, one at a time);
* Optuna's ``NSGAIISampler``, ``TPESampler`` and ``GPSampler`` (its multi-objective mode);
* ``random``.

Reported: the hypervolume of the measured points after 25, 50 and 100 trials as a share of the whole table's front
(1.0 = the true front), median over ``--seeds`` seeds.  Reference point: the table's median accuracy and median
latency (only cells better than a typical one in both count).  Writes ``results/multi_objective.md`` and ``.json``.

GPNASSampler's multi-objective default is chosen on the tuning pairs (:data:`TUNING`) and judged on the others.

    python benchmarks/multi_objective.py [--seeds 5] [--trials 100]
        [--pairs cifar10:pixel2,cifar10:eyeriss,cifar100:fpga,imagenet16-120:raspi4]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import functools  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

_here = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p not in ("", _here)] + [_here]
from _common import markdown_table, write_results  # noqa: E402

SAMPLERS = ["gpnas", "gpnas-study", "gpnas-per-objective", "nsga2", "tpe", "optuna-gp", "random"]
#: GPNASSampler's multi-objective default is chosen on these pairs; the others are held out from that choice.
TUNING = ("cifar10:pixel2", "cifar10:eyeriss")
CHECKPOINTS = [25, 50, 100]
SIGNS = np.array([1.0, -1.0])


@functools.lru_cache(maxsize=None)  # once per worker process: loading the two tables takes seconds
def _table(dataset: str, device: str):
    from gpnas.io.latency import load_nb201_latency
    from gpnas.io.tables import load_table

    table = load_table(f"nb201-{dataset}")
    X_lat, latency = load_nb201_latency([device])
    by_cell = {tuple(int(v) for v in x): float(t) for x, t in zip(X_lat, latency[device])}
    values = np.array([[y, by_cell[tuple(int(v) for v in x)]] for x, y in zip(table.X, table.y)])
    return table.space, table.X, values


@functools.lru_cache(maxsize=None)
def _problem(pair: str):
    """The pair's space, ``arch -> (accuracy, latency)``, the reference point and the whole table's hypervolume."""
    from gpnas.sampling.scalarization import hypervolume_2d, pareto_front

    dataset, device = pair.split(":")
    space, X, values = _table(dataset, device)
    lookup = {tuple(int(v) for v in x): v for x, v in zip(X, values)}
    # the median cell: only points better than a typical cell in both objectives count (the table's worst corner
    # would let any few random points cover most of the volume)
    reference = np.array([np.median(values[:, 0]), np.median(values[:, 1])])
    best = hypervolume_2d(values[pareto_front(values, SIGNS)], SIGNS, reference)
    return space, lookup, reference, best


def _sampler(name: str, seed: int):
    import optuna

    from gpnas.integrations.optuna import GPNASSampler

    return {"gpnas": lambda: GPNASSampler(seed=seed),
            "gpnas-per-objective": lambda: GPNASSampler(seed=seed, multi_objective="per-objective"),
            "nsga2": lambda: optuna.samplers.NSGAIISampler(seed=seed),
            "tpe": lambda: optuna.samplers.TPESampler(seed=seed),
            "optuna-gp": lambda: optuna.samplers.GPSampler(seed=seed),
            "random": lambda: optuna.samplers.RandomSampler(seed=seed)}[name]()


def run(pair: str, sampler: str, seed: int, trials: int) -> dict:
    import optuna

    from gpnas.sampling.scalarization import hypervolume_2d

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space, lookup, reference, best = _problem(pair)
    names = [c.name for c in space.choices]
    options = [list(c.values) for c in space.choices]
    if sampler == "gpnas-study":
        measured, seconds = _native_study(space, lookup, seed, trials)
        share = {c: hypervolume_2d(measured[:c], SIGNS, reference) / best for c in CHECKPOINTS if c <= trials}
        return {"pair": pair, "sampler": sampler, "seed": seed, "share": share,
                "ms_per_trial": 1000 * seconds / trials}

    def objective(trial):
        arch = tuple(options[j].index(trial.suggest_categorical(name, options[j])) for j, name in enumerate(names))
        acc, lat = lookup[arch]
        return float(acc), float(lat)

    study = optuna.create_study(directions=["maximize", "minimize"], sampler=_sampler(sampler, seed))
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(objective, n_trials=trials)
    seconds = time.perf_counter() - start
    measured = np.array([t.values for t in study.trials])
    share = {c: hypervolume_2d(measured[:c], SIGNS, reference) / best for c in CHECKPOINTS if c <= trials}
    return {"pair": pair, "sampler": sampler, "seed": seed, "share": share, "ms_per_trial": 1000 * seconds / trials}


def _native_study(space, lookup: dict, seed: int, trials: int) -> tuple[np.ndarray, float]:
    """A gpnas multi-objective study over the table: its measured values in trial order, and its seconds."""
    from gpnas.study import create_study

    study = create_study(space, directions=["maximize", "minimize"], seed=seed, heartbeat_interval=None)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(lambda arch: tuple(lookup[tuple(int(v) for v in space.from_dict_arch(arch))]), budget=trials)
    seconds = time.perf_counter() - start
    return study.objective_values(sorted(study.trials_in("done"), key=lambda t: t.number)), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--pairs", default="cifar10:pixel2,cifar10:eyeriss,cifar100:fpga,imagenet16-120:raspi4")
    parser.add_argument("--samplers", default=",".join(SAMPLERS))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    jobs = [(pair, s, seed) for pair in args.pairs.split(",") for s in args.samplers.split(",")
            for seed in range(args.seeds)]
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(pool.map(run, *zip(*jobs), [args.trials] * len(jobs)))
    rows = []
    for pair in args.pairs.split(","):
        for s in args.samplers.split(","):
            mine = [r for r in results if r["pair"] == pair and r["sampler"] == s]
            label = pair + (" (T)" if pair in TUNING else " (H)")
            rows.append([label, s] + [f"{np.median([r['share'][c] for r in mine]):.3f}" for c in CHECKPOINTS
                                     if c <= args.trials]
                        + [f"{np.median([r['ms_per_trial'] for r in mine]):.0f}"])
            print(rows[-1], flush=True)
    markdown = (
        f"Hypervolume of the measured points as a share of the whole table's Pareto front (NB201 accuracy, maximised, "
        f"against HELP latency on the device, minimised; reference point: the table's median accuracy and median "
        f"latency), median of {args.seeds} seeds (0..{args.seeds - 1}), plain Optuna studies; T = a tuning pair "
        "(GPNASSampler's multi-objective default was chosen on it), H = held out:\n\n"
        + markdown_table(["dataset:device", "sampler"] + [f"after {c}" for c in CHECKPOINTS if c <= args.trials]
                         + ["ms / trial"], rows)
        + f"\n\nCommand: `python benchmarks/multi_objective.py {' '.join(sys.argv[1:])}`."
    )
    print(markdown)
    write_results("multi_objective", markdown, {"results": results, "args": vars(args)})


if __name__ == "__main__":
    main()
