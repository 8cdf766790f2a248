"""Search across training budgets on the main job's real training, at a small scale: 1-epoch and 3-epoch children.

NAS-Bench-201 gives every cell at 12 and 200 epochs (``benchmarks/multi_budget.py``); the main job has no such table,
so this script makes one.  A 64-architecture subspace of MobileNetV3-large (six binary choices, listed in
:data:`SUBSPACE`; every other block keeps kernel 3, expansion 3 and no SE) is trained in full at both budgets with
the main job's settings (the MNIST sample at 16x16, width 0.35, seed 0 for every child: common random numbers) and
one torch thread per worker.  Each training is cached in ``benchmarks/_cache/multi_budget_training_runs.jsonl``, so
the table is built once (about 35 CPU-minutes).

Then the strategies of ``benchmarks/multi_budget.py`` replay that table, all in the same run: the multi-budget search
over {1, 3} epochs, ``auto`` at 3 epochs, ``auto`` at 1 epoch (a lower bound: it never trains anything for 3), the
five best 1-epoch results retrained for 3, and Optuna's TPE with its Hyperband pruner.  The cost is in epochs; the
goal is the table's best 3-epoch architecture (any of them, when several tie).  Each result is one training, so "best" includes that training's
noise, as NAS-Bench-201's single-seed columns do; the table's own figures (Kendall tau between the budgets, the
spread of the values) are printed with it.

Writes ``results/multi_budget_training.md``/``.json``.

    python benchmarks/multi_budget_training.py [--seeds 40] [--workers 2] [--data-dir ../shared/data]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import itertools  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

_here = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p not in ("", _here)] + [_here]  # behind site-packages: no script shadows a library
from _common import markdown_table, read_cached_runs, run_and_cache, write_results  # noqa: E402
from multi_budget import Bench, run_strategy, summarise  # noqa: E402

TRAININGS = Path(_here) / "_cache" / "multi_budget_training_runs.jsonl"
SEARCHES = Path(_here) / "_cache" / "multi_budget_training_searches.jsonl"
#: The searched positions of the subspace and their two values; every other position keeps its first value.
SUBSPACE = {"b0_kernel": (3, 7), "b3_kernel": (3, 7), "b5_expansion": (3, 6), "b10_expansion": (3, 6),
            "b7_se": ("off", "on"), "b13_se": ("off", "on")}
BUDGETS = (1, 3)
COST_CHECKPOINTS = (12, 24, 48, 96)


def subspace():
    from gpnas.space import Choice, SearchSpace

    groups = {"kernel": "kernel", "expansion": "expansion", "se": "se"}
    return SearchSpace([Choice(name, values, groups[name.split("_")[1]]) for name, values in SUBSPACE.items()],
                       name="mobilenetv3-large-sub64")


def full_arch(sub_arch: dict) -> dict:
    """The MobileNetV3-large architecture of a subspace point (other positions at their first value)."""
    from gpnas.nets.spaces import mobilenetv3_space

    space = mobilenetv3_space()
    arch = space.to_dict_arch(np.zeros(space.n_positions, dtype=int))
    arch.update(sub_arch)
    return arch


def train_one(index: int, sub_arch: dict, epochs: int, data_dir: str) -> dict:
    import torch

    from gpnas.nets.defaults import TRAINING_DEFAULTS
    from gpnas.nets.objectives import TrainingObjective

    torch.set_num_threads(1)
    width, resolution = TRAINING_DEFAULTS["mnist5k"]
    objective = TrainingObjective(dataset="mnist5k", data_dir=data_dir, resolution=resolution, width=width,
                                  epochs=epochs, seed=0, device="cpu")
    objective.data()  # loading is not training time
    start = time.perf_counter()
    scores = objective.scores(full_arch(sub_arch), epochs)
    return {"arch": index, "epochs": epochs, **scores, "seconds": time.perf_counter() - start}


def search_one(strategy: str, seed: int, cap: float, table: dict) -> dict:
    warnings.filterwarnings("ignore")
    bench = make_bench(table)
    start = time.perf_counter()
    events, extra = run_strategy(bench, strategy, seed, cap)
    return {"strategy": strategy, "seed": seed, "cap": cap, "events": events, "seconds": time.perf_counter() - start,
            **extra}


def make_bench(table: dict) -> Bench:
    space = subspace()
    X = np.array(list(itertools.product(*[range(k) for k in space.n_options])))
    values = {b: np.array([table[(i, b)] for i in range(len(X))]) for b in BUDGETS}
    # accuracies on 1,000 images come in steps of 0.1 points: every architecture tied at the top is "the best"
    top = values[BUDGETS[-1]] == values[BUDGETS[-1]].max()
    return Bench(space, X, values, ["best" if t else str(i) for i, t in enumerate(top)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=40, help="Seeds of every search strategy.")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data-dir", default=None, help="Folder holding image-datasets/ (default: ../shared/data).")
    args = parser.parse_args()
    from gpnas.io.tables import data_dir

    images = str(data_dir(args.data_dir) / "image-datasets")
    space = subspace()
    points = [space.to_dict_arch(x) for x in itertools.product(*[range(k) for k in space.n_options])]
    trainings = read_cached_runs(TRAININGS, ("arch", "epochs"))
    jobs = [(i, arch, b, images) for b in BUDGETS for i, arch in enumerate(points) if (i, b) not in trainings]
    run_and_cache(train_one, jobs, args.workers, TRAININGS, ("arch", "epochs"), trainings,
                  lambda r: f"arch {r['arch']} at {r['epochs']} epoch(s): {r['accuracy']:.2f} % in {r['seconds']:.0f} s")
    table = {key: row["accuracy"] for key, row in trainings.items()}
    bench = make_bench(table)
    cap = float(2 * bench.long * bench.n)  # twice the cost of training every architecture long
    searches = read_cached_runs(SEARCHES, ("strategy", "seed"))
    todo = [(s, seed, cap, table) for s in bench.strategies for seed in range(args.seeds) if (s, seed) not in searches]
    run_and_cache(search_one, todo, args.workers, SEARCHES, ("strategy", "seed"), searches,
                  lambda r: f"{r['strategy']} seed {r['seed']}: {len(r['events'])} evaluations")
    runs = {("sub64", s, seed): row for (s, seed), row in searches.items()}
    rows, data = summarise("sub64", bench, runs, lambda s: range(args.seeds), cap, COST_CHECKPOINTS)
    short, long = (np.array([table[(i, b)] for i in range(bench.n)]) for b in BUDGETS)
    tau, p_value = stats.kendalltau(short, long)
    facts = {"kendall_tau_between_budgets": float(tau), "p_value": float(p_value),
             "long_range": [float(long.min()), float(long.max())], "long_sd": float(long.std(ddof=1)),
             "short_range": [float(short.min()), float(short.max())],
             "best_long_rank_at_short": int(np.sum(short > short[long == long.max()].max())),
             "median_seconds_per_epoch": float(np.median([r["seconds"] / r["epochs"] for r in trainings.values()])),
             "median_fitted_correlation": float(np.median([searches[("multi-budget", s)]["budget_correlation"]
                                                           for s in range(args.seeds)])),
             "median_measured_correlation": float(np.median([searches[("multi-budget", s)]["measured_correlation"]
                                                             for s in range(args.seeds)]))}
    header = ["table", "strategy", "seeds", "median epochs to the 3-epoch best", "quartiles", "found",
              "mean epochs (capped)", "median 3-epoch trainings"] + [f"regret @{c} ep" for c in COST_CHECKPOINTS]
    markdown = (
        "# Search across training budgets on real training: 64 MobileNetV3 children at 1 and 3 epochs\n\n"
        f"Every architecture of the subspace {dict(SUBSPACE)} trained for 1 and for 3 epochs on the MNIST sample "
        f"(the main job's settings, seed 0). The table: 3-epoch accuracy {facts['long_range'][0]:.2f}-"
        f"{facts['long_range'][1]:.2f} % (sd {facts['long_sd']:.2f}), 1-epoch {facts['short_range'][0]:.2f}-"
        f"{facts['short_range'][1]:.2f} %; Kendall tau between the budgets {tau:.2f} (p = {p_value:.2g}); the "
        f"3-epoch best ({bench.n_best} tied) is number {facts['best_long_rank_at_short'] + 1} of {bench.n} at 1 epoch; "
        f"{facts['median_seconds_per_epoch']:.1f} s per epoch (median, one thread). When it stopped, the "
        f"multi-budget search's model had fitted a budget correlation of {facts['median_fitted_correlation']:.2f} "
        f"and a correlation of {facts['median_measured_correlation']:.2f} between a 1-epoch measurement and the "
        "3-epoch value, the 1-epoch noise included (medians). Cost in epochs until the 3-epoch "
        f"best is trained for 3 epochs (auto@1: queried at 1 epoch, a lower bound), capped at {cap:.0f}; regret "
        "(accuracy points) of the best 3-epoch result measured within a cost. One evaluation at a time.\n\n"
        + markdown_table(header, rows))
    print(markdown)
    write_results("multi_budget_training", markdown, {"seeds": args.seeds, "cap": cap, "subspace": {
        k: list(v) for k, v in SUBSPACE.items()}, "table_facts": facts, "results": data,
        "table": [[i, table[(i, 1)], table[(i, 3)]] for i in range(bench.n)]})


if __name__ == "__main__":
    main()
