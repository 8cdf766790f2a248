"""Accuracy against latency (issue #24): the Pareto front found by multi-objective Optuna studies on NAS-Bench-201.

Each (dataset, device) pair is a two-objective table: a cell's NATS-Bench accuracy (maximise) and its latency on one
of HELP's devices (minimise; ``../shared/data/help-latency``); or, for ``accel:DEVICE``, an Accel-NASBench
architecture's ImageNet accuracy (maximise) and its measured throughput on ``DEVICE`` (a100, 3090, tpuv2, tpuv3,
zcu102, vck190; images/s, maximise).  Accel-NASBench lists 5,125 of its 5.9e11 architectures: an Optuna sampler's
suggestion is answered by the nearest listed one (Hamming distance, ties to the first row), and gpnas's own study
proposes among the listed ones (as ``gpnas search --table`` does).  Every sampler runs a plain Optuna study,
``suggest_categorical`` per edge, for ``--trials`` trials:

* ``gpnas``: :class:`GPNASSampler` with ParEGO scalarisations of the two objectives (``multi_objective="parego"``,
  its default until the EHVI mode was chosen on the tuning pairs) and the default strategy;
* ``gpnas-per-objective``: :class:`GPNASSampler` with a model per objective (``multi_objective="per-objective"``);
* ``gpnas-ehvi``: :class:`GPNASSampler` with a model per objective and the expected hypervolume improvement
  (``multi_objective="ehvi"``, its default: chosen over ParEGO on the tuning pairs, seeds 0-9,
  ``results/multi_objective_ehvi_tuning.md``);
* ``gpnas-ehvi-space``: the same, given the pair's gpnas space (``GPNASSampler(space=...)``): the model sees the
  architecture as gpnas's study does (on NAS-Bench-201, the cell's operation counts beside the choices);
* ``gpnas-study``: gpnas's own study, ``create_study(directions=["maximize", "minimize"])`` with its defaults
  (ParEGO proposals by the ``auto`` strategy over the whole cell space, one at a time);
* ``gpnas-study-ehvi``: the same study with ``multi_objective="ehvi"`` (a model per objective and the expected
  hypervolume improvement, as ``gpnas-ehvi``);
* ``gpnas-study-ehvi-prior``: the EHVI study whose models (one per objective) take the single-objective search's
  hyperparameter prior (``model_params={"hyperprior_scale": 1.0}``; a multi-objective study fits by maximum
  likelihood by default);
* ``gpnas-study+devices`` (NAS-Bench-201 pairs): the same study with HELP's nine meta-training devices' log latencies
  as side features (``create_study(side_features=...)``, standardised, a kernel group each, as
  ``benchmarks/latency.py`` chose): public latency tables of other devices, information Optuna's samplers cannot
  take, and none of them is a device of the pairs (``results/multi_objective_devices.md``: worse on the tuning pairs,
  not adopted);
* Optuna's ``NSGAIISampler``, ``TPESampler`` and ``GPSampler`` (its multi-objective mode);
* ``random``.

Reported: the hypervolume of the measured points after 25, 50, 100 and 200 trials (those within ``--trials``) as a
share of the whole table's front (1.0 = the true front), median over ``--seeds`` seeds from ``--first-seed`` on.
Reference point: the table's median accuracy and median latency (only cells better than a typical one in both
count).  Writes ``results/multi_objective.md`` and ``.json``.

GPNASSampler's multi-objective default is chosen on the tuning pairs (:data:`TUNING`) and judged on the others.

    python benchmarks/multi_objective.py [--seeds 5] [--trials 100]
        [--pairs cifar10:pixel2,cifar10:eyeriss,cifar100:fpga,imagenet16-120:raspi4]
    python benchmarks/multi_objective.py --pairs accel:a100,accel:zcu102 --out multi_objective_accel
    python benchmarks/multi_objective.py --seeds 10 --samplers gpnas-study,gpnas-study+devices --workers 1 \
        --out multi_objective_devices
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
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

_here = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p not in ("", _here)] + [_here]
from _common import markdown_table, read_cached_runs, run_and_cache, write_results  # noqa: E402

SAMPLERS = ["gpnas", "gpnas-study", "gpnas-study+devices", "gpnas-study-ehvi", "gpnas-study-ehvi-prior",
           "gpnas-per-objective", "gpnas-ehvi", "gpnas-ehvi-space", "nsga2", "tpe", "optuna-gp", "random"]
#: Model settings of ``gpnas-study+devices`` (the variant ``benchmarks/latency.py`` chose for a device's latency).
DEVICES_MODEL = {"side_grouping": "each", "side_scaling": "standardize"}
#: GPNASSampler's multi-objective default is chosen on these pairs; the others are held out from that choice.
TUNING = ("cifar10:pixel2", "cifar10:eyeriss")
CHECKPOINTS = [25, 50, 100, 200]
#: Finished runs, one JSON line each, keyed by pair, sampler, seed and trials (a run is deterministic given those):
#: a killed or split benchmark resumes without redoing them.  Bump the version when a change moves the results.
CACHE = Path(__file__).resolve().parent / "_cache" / "multi_objective_runs_v1.jsonl"
CACHE_KEYS = ("pair", "sampler", "seed", "trials")
SIGNS = np.array([1.0, -1.0])  # NB201: accuracy up, latency down


def _signs(pair: str) -> np.ndarray:
    """Accel-NASBench pairs maximise both accuracy and throughput; NB201 pairs minimise latency."""
    return np.array([1.0, 1.0]) if pair.startswith("accel:") else SIGNS


def _directions(pair: str) -> list[str]:
    return ["maximize" if s > 0 else "minimize" for s in _signs(pair)]


@functools.lru_cache(maxsize=None)  # once per worker process: loading the two tables takes seconds
def _table(dataset: str, device: str):
    if dataset == "accel":
        from gpnas.io.tables import load_accel_nasbench

        table = load_accel_nasbench()
        throughput = table.extra[f"throughput_{device}_mean"]
        keep = np.isfinite(throughput)
        return table.space, table.X[keep], np.column_stack([table.y[keep], throughput[keep]])
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
    lookup = {}
    for x, v in zip(X, values):  # a duplicated architecture keeps its first row
        lookup.setdefault(tuple(int(c) for c in x), v)
    # the median cell: only points better than a typical cell in both objectives count (the table's worst corner
    # would let any few random points cover most of the volume)
    reference = np.array([np.median(values[:, 0]), np.median(values[:, 1])])
    signs = _signs(pair)
    best = hypervolume_2d(values[pareto_front(values, signs)], signs, reference)
    rows = np.array(list(lookup), dtype=int)
    return space, lookup, reference, best, (None if len(rows) == space.size else rows)


def _nearest(rows: np.ndarray | None, lookup: dict, arch: tuple) -> tuple:
    """``arch`` itself when the table lists it, else the listed architecture nearest to it (Hamming; first row)."""
    if rows is None or arch in lookup:
        return arch
    return tuple(int(v) for v in rows[int(np.argmin((rows != np.asarray(arch)[None, :]).sum(axis=1)))])


def _sampler(name: str, seed: int, space=None):
    import optuna

    from gpnas.integrations.optuna import GPNASSampler

    return {"gpnas": lambda: GPNASSampler(seed=seed, multi_objective="parego"),
            "gpnas-per-objective": lambda: GPNASSampler(seed=seed, multi_objective="per-objective"),
            "gpnas-ehvi": lambda: GPNASSampler(seed=seed, multi_objective="ehvi"),
            "gpnas-ehvi-space": lambda: GPNASSampler(seed=seed, multi_objective="ehvi", space=space),
            "nsga2": lambda: optuna.samplers.NSGAIISampler(seed=seed),
            "tpe": lambda: optuna.samplers.TPESampler(seed=seed),
            "optuna-gp": lambda: optuna.samplers.GPSampler(seed=seed),
            "random": lambda: optuna.samplers.RandomSampler(seed=seed)}[name]()


def run(pair: str, sampler: str, seed: int, trials: int) -> dict:
    import optuna

    from gpnas.sampling.scalarization import hypervolume_2d

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space, lookup, reference, best, rows = _problem(pair)
    signs = _signs(pair)
    names = [c.name for c in space.choices]
    options = [list(c.values) for c in space.choices]
    if sampler.startswith("gpnas-study"):
        if sampler == "gpnas-study+devices" and pair.startswith("accel:"):
            raise SystemExit("gpnas-study+devices needs HELP's NAS-Bench-201 latencies; not an Accel-NASBench pair")
        measured, seconds = _native_study(space, lookup, rows, _directions(pair), seed, trials,
                                          devices=sampler == "gpnas-study+devices",
                                          multi_objective="ehvi" if "-ehvi" in sampler else "parego",
                                          prior=sampler == "gpnas-study-ehvi-prior")
        share = {c: hypervolume_2d(measured[:c], signs, reference) / best for c in CHECKPOINTS if c <= trials}
        return {"pair": pair, "sampler": sampler, "seed": seed, "trials": trials, "share": share,
                "ms_per_trial": 1000 * seconds / trials}

    def objective(trial):
        arch = tuple(options[j].index(trial.suggest_categorical(name, options[j])) for j, name in enumerate(names))
        acc, cost = lookup[_nearest(rows, lookup, arch)]
        return float(acc), float(cost)

    study = optuna.create_study(directions=_directions(pair), sampler=_sampler(sampler, seed, space))
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(objective, n_trials=trials)
    seconds = time.perf_counter() - start
    measured = np.array([t.values for t in study.trials])
    share = {c: hypervolume_2d(measured[:c], signs, reference) / best for c in CHECKPOINTS if c <= trials}
    return {"pair": pair, "sampler": sampler, "seed": seed, "trials": trials, "share": share,
            "ms_per_trial": 1000 * seconds / trials}


def _native_study(space, lookup: dict, rows, directions: list[str], seed: int,
                  trials: int, devices: bool = False, multi_objective: str = "parego",
                  prior: bool = False) -> tuple[np.ndarray, float]:
    """A gpnas multi-objective study over the table (its listed architectures only, where it lists part of its
    space): its measured values in trial order, and its seconds.  ``devices``: HELP's training devices' log
    latencies as side features; ``prior``: the single-objective search's hyperparameter prior in its models."""
    from gpnas.study import create_study

    extra = {}
    if devices:
        from gpnas.io.latency import latency_side_features

        # a multi-objective study starts at random whatever the features' signs (a vote would pick the slowest cells)
        extra = {"side_features": latency_side_features(), "model_params": DEVICES_MODEL}
    if prior:
        from gpnas.study.study import SEARCH_CELL_HYPERPRIOR_SCALE

        extra["model_params"] = {**extra.get("model_params", {}), "hyperprior_scale": SEARCH_CELL_HYPERPRIOR_SCALE}
    study = create_study(space, directions=directions, seed=seed, heartbeat_interval=None, candidates=rows,
                         multi_objective=multi_objective, **extra)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(lambda arch: tuple(lookup[tuple(int(v) for v in space.from_dict_arch(arch))]), budget=trials)
    seconds = time.perf_counter() - start
    return study.objective_values(sorted(study.trials_in("done"), key=lambda t: t.number)), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seeds FIRST..FIRST+SEEDS-1 (1000 on: seeds no default was chosen on)")
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--pairs", default="cifar10:pixel2,cifar10:eyeriss,cifar100:fpga,imagenet16-120:raspi4")
    parser.add_argument("--samplers", default=",".join(SAMPLERS))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default="multi_objective", help="results name (results/OUT.md and .json)")
    parser.add_argument("--fresh", action="store_true", help="rerun every run (the new rows replace the cached ones)")
    args = parser.parse_args()
    # seed-major order: a run stopped part way has every sampler on its first seeds
    jobs = [(pair, s, seed, args.trials) for seed in range(args.first_seed, args.first_seed + args.seeds)
            for pair in args.pairs.split(",") for s in args.samplers.split(",")]
    runs = {} if args.fresh else read_cached_runs(CACHE, CACHE_KEYS)
    todo = [job for job in jobs if job not in runs]
    cached = len(jobs) - len(todo)
    print(f"{cached} of {len(jobs)} runs cached in {CACHE.name}", flush=True)
    run_and_cache(run, todo, args.workers, CACHE, CACHE_KEYS, runs,
                  lambda r: f"{r['pair']} {r['sampler']} seed {r['seed']}: {r['ms_per_trial']:.0f} ms / trial")
    results = [runs[job] for job in jobs]
    for r in results:  # JSON keys are strings
        r["share"] = {int(c): v for c, v in r["share"].items()}
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
        f"against HELP latency on the device, minimised; Accel-NASBench accuracy and throughput on the device, both "
        f"maximised, the nearest listed architecture answering an Optuna suggestion; reference point: the table's "
        f"median accuracy and median latency or throughput), median of {args.seeds} seeds "
        f"({args.first_seed}..{args.first_seed + args.seeds - 1}), "
        "plain Optuna studies; T = a tuning pair (GPNASSampler's multi-objective default was chosen on it), "
        "H = held out:\n\n"
        + markdown_table(["dataset:device", "sampler"] + [f"after {c}" for c in CHECKPOINTS if c <= args.trials]
                         + ["ms / trial"], rows)
        + f"\n\nCommand: `python benchmarks/multi_objective.py {' '.join(sys.argv[1:])}`."
        + (f" {cached} of the {len(jobs)} runs came from the cache of finished runs (`{CACHE.name}`: the same "
           "pair, sampler, seed and trials, made by an earlier invocation, stopped or with fewer samplers; ms / trial "
           "as measured then, when other runs may have shared the cores)."
           if cached else "")
    )
    print(markdown)
    write_results(args.out, markdown, {"results": results, "args": vars(args)}, script="benchmarks/multi_objective.py")


if __name__ == "__main__":
    main()
