"""Replay searches on NAS benchmark tables: GP-NAS sampling strategies against random search, regularized evolution
and local search, all in the same run.

For each table and seed, each strategy queries up to ``--budget`` architectures (unique; the table is the
objective) in batches of ``--batch-size``.  Reported:

1. queries until an architecture of the global best's equivalence class is found, and until a top-0.1 % one is
   (median and quartiles over seeds; ``>B`` where a run never found it within the budget B);
2. the best value found after 25/50/100/200 queries (median over seeds);
3. the paper's claim, evaluations needed until the predictor reaches a Kendall tau on the whole (deduplicated) space:
   the GP is refitted on the first n evaluations of the ``mi`` and ``random`` runs and ranks every architecture.

Also times MI selection of a batch of 32 from pools of 1k, 10k and 100k architectures with 200 observed, against the
naive evaluation of Eq. 12 by determinants (timed on a few candidates of one greedy step and scaled up, because the
naive batch takes O(k N^4)).  Writes ``results/search.md``, ``results/search.json`` and ``results/search.png``.

    python benchmarks/search.py [--seeds 25] [--budget 200] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, markdown_table, write_results  # noqa: E402

TABLES = ["nb201-cifar10", "nb201-cifar100", "nb201-imagenet16-120", "macro"]
STRATEGIES = ["mi", "mi+ucb", "ucb", "random", "rea", "ls"]
CHECKPOINTS = [25, 50, 100, 200]
TAU_TARGETS = [0.5, 0.6, 0.7]
CACHE = Path(__file__).resolve().parent / "_cache" / "search_runs.jsonl"


def run_one(job):
    """One search: returns the values in query order, equivalence keys, and Kendall tau checkpoints."""
    table_name, strategy, seed, budget, batch_size, data_dir = job
    warnings.filterwarnings("ignore")
    from gpnas import GPNASRegressor
    from gpnas.sampling.strategies import make_sampler
    from gpnas.study import Study
    from gpnas.tables import load_table

    table = load_table(table_name, data_dir)
    dedup = table.deduplicated()
    lookup = {tuple(x): i for i, x in enumerate(table.X)}
    sampler = make_sampler(strategy)
    study = Study(table.space, sampler=sampler, seed=seed, fit_model=False)
    start = time.perf_counter()
    study.optimize(lambda arch: table.y[lookup[tuple(table.space.from_dict_arch(arch))]], budget, batch_size)
    seconds = time.perf_counter() - start
    rows = [lookup[tuple(t.arch)] for t in study.trials if t.state == "done"]
    taus = {}
    if strategy in ("mi", "random"):
        for n in (10, 20, 30, 50, 75, 100, 150, 200):
            if n > len(rows):
                break
            idx = np.array(rows[:n])
            model = GPNASRegressor(space=table.space, random_state=seed).fit(table.X[idx], table.y[idx])
            taus[n] = float(kendalltau(model.predict(dedup.X), dedup.y)[0])
    return {"table": table_name, "strategy": strategy, "seed": seed, "values": table.y[rows].tolist(),
            "keys": table.dedup_key[rows].tolist(), "taus": taus, "seconds": seconds}


def queries_until(run, hit) -> float:
    for i, (v, k) in enumerate(zip(run["values"], run["keys"])):
        if hit(v, k):
            return i + 1
    return np.inf


def fmt_quartiles(values, budget) -> str:
    q = np.percentile(values, [25, 50, 75])
    return " / ".join(f">{budget}" if not np.isfinite(v) else f"{v:.0f}" for v in q)


def time_mi_selection(data_dir) -> list[list]:
    """MI batch of 32 from pools of 1k, 10k, 100k with 200 observed (NAS-Bench-Macro-sized model on Accel space)."""
    from gpnas import GPNASRegressor
    from gpnas.sampling.mutual_information import CovarianceFunction, greedy_batch, mutual_information
    from gpnas.tables import accel_nasbench_space

    space = accel_nasbench_space()  # 2^7 * 3^7 * 2^7 * 4^7 architectures: pools of any size fit
    rng = np.random.default_rng(0)
    X = space.sample(200, random_state=rng)
    model = GPNASRegressor(space=space, random_state=0).fit(X, rng.standard_normal(200))
    rows = []
    for size in (1000, 10000, 100000):
        pool = space.sample(size, random_state=rng)
        start = time.perf_counter()
        greedy_batch(model, pool, X, 32, ["mi"] * 32, random_state=0)  # exact over a universe of at most 3,000
        fast = time.perf_counter() - start
        # naive: one greedy step evaluates Eq. 12 by determinants for every candidate (universe = observed + pool)
        cov = CovarianceFunction(model)
        universe = np.vstack([X, pool])
        if size <= 1000:
            C = cov(cov.encode(universe))
            start = time.perf_counter()
            n_try = 3
            for j in range(n_try):
                sampled = np.r_[np.arange(200), 200 + j]
                mutual_information(C, sampled)
            per_candidate = (time.perf_counter() - start) / n_try
            naive = per_candidate * size * 32
            rows.append([size, f"{fast:.2f}", f"{naive:.0f} (extrapolated from {n_try} candidates)",
                         f"{naive / fast:.0f}x"])
        else:
            rows.append([size, f"{fast:.2f}", f"not run (O(k N^4); {size}x{size} determinants)", "-"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", nargs="+", default=TABLES)
    parser.add_argument("--strategies", nargs="+", default=STRATEGIES)
    parser.add_argument("--seeds", type=int, default=25)
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--fresh", action="store_true", help="ignore runs cached by an earlier, interrupted call")
    args = parser.parse_args()
    CACHE.parent.mkdir(exist_ok=True)
    if args.fresh and CACHE.exists():
        CACHE.unlink()
    done = {}
    if CACHE.exists():
        for line in CACHE.read_text().splitlines():
            run = json.loads(line)
            done[(run["table"], run["strategy"], run["seed"])] = run
    jobs = [(t, s, seed, args.budget, args.batch_size, args.data_dir) for t in args.tables for seed in range(args.seeds)
            for s in args.strategies if (t, s, seed) not in done]
    with ProcessPoolExecutor(args.workers) as pool, open(CACHE, "a") as cache:
        for run in pool.map(run_one, jobs):
            done[(run["table"], run["strategy"], run["seed"])] = run
            cache.write(json.dumps(run) + "\n")
            cache.flush()
            print(f"{run['table']:22s} {run['strategy']:7s} seed {run['seed']:2d} best {max(run['values']):.2f} "
                  f"({run['seconds']:.1f} s)", flush=True)
    runs = [done[(t, s, seed)] for t in args.tables for s in args.strategies for seed in range(args.seeds)]
    render(runs, args)


def render(runs, args) -> None:
    from gpnas.tables import load_table

    sections, data = [], {"args": vars(args), "tables": {}}
    curves = {}
    for name in args.tables:
        table = load_table(name, args.data_dir).deduplicated()
        best_key = table.dedup_key[np.argmax(table.y)]
        top = np.quantile(table.y, 0.999)
        rows_hit, rows_best, rows_tau = [], [], []
        for strategy in args.strategies:
            mine = [r for r in runs if r["table"] == name and r["strategy"] == strategy]
            to_best = [queries_until(r, lambda v, k: k == best_key) for r in mine]
            to_top = [queries_until(r, lambda v, k: v >= top) for r in mine]
            found = sum(np.isfinite(to_best))
            rows_hit.append([strategy, fmt_quartiles(to_best, args.budget), f"{found}/{len(mine)}",
                             fmt_quartiles(to_top, args.budget), f"{np.median([r['seconds'] for r in mine]):.1f}"])
            best_at = [[max(r["values"][:c]) for r in mine] for c in CHECKPOINTS if c <= args.budget]
            rows_best.append([strategy] + [f"{np.median(b):.2f}" for b in best_at])
            curves[(name, strategy)] = np.array([np.maximum.accumulate(r["values"]) for r in mine])
            if strategy in ("mi", "random"):
                needed = []
                for target in TAU_TARGETS:
                    ns = [min([int(n) for n, tau in r["taus"].items() if tau >= target], default=np.inf) for r in mine]
                    needed.append(fmt_quartiles(ns, args.budget))
                rows_tau.append([strategy] + needed)
            data["tables"].setdefault(name, {})[strategy] = {
                "queries_to_best": [None if not np.isfinite(v) else v for v in to_best],
                "queries_to_top_0.1pct": [None if not np.isfinite(v) else v for v in to_top],
                "best_at": {str(c): b for c, b in zip(CHECKPOINTS, best_at)},
            }
        sections.append(
            f"### {name} (global best {table.y.max():.2f}; top-0.1 % threshold {top:.2f})\n\n"
            + markdown_table(["strategy", "queries to global best (q25 / median / q75)", "found",
                              "queries to top-0.1 %", "seconds per run"], rows_hit)
            + "\n\nMedian best value after n queries:\n\n"
            + markdown_table(["strategy"] + [str(c) for c in CHECKPOINTS if c <= args.budget], rows_best)
            + "\n\nEvaluations until the GP predictor reaches Kendall tau on the whole space (q25 / median / q75):\n\n"
            + markdown_table(["sampling"] + [f"tau >= {t}" for t in TAU_TARGETS], rows_tau)
        )
    timing = time_mi_selection(args.data_dir)
    sections.append("### MI selection of a batch of 32 with 200 observed (seconds)\n\n"
                    + markdown_table(["pool", "gpnas greedy (incremental)", "naive determinants", "speed-up"], timing))
    header = (f"{args.seeds} seeds, budget {args.budget} unique queries, batches of {args.batch_size}; "
              "the table is the objective.")
    markdown = header + "\n\n" + "\n\n".join(sections) + "\n\n![best so far](search.png)"
    print(markdown)
    plot(curves, args)
    write_results("search", markdown, {**data, "mi_timing": timing})


def plot(curves, args) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(args.tables), figsize=(4.2 * len(args.tables), 3.6), squeeze=False)
    for ax, name in zip(axes[0], args.tables):
        for strategy in args.strategies:
            c = curves[(name, strategy)]
            x = np.arange(1, c.shape[1] + 1)
            lo, mid, hi = np.percentile(c, [25, 50, 75], axis=0)
            ax.plot(x, mid, label=strategy)
            ax.fill_between(x, lo, hi, alpha=0.15)
        ax.set_title(name)
        ax.set_xlabel("queries")
        ax.set_ylabel("best accuracy so far (%)")
        ax.set_ylim(np.percentile(np.concatenate([curves[(name, s)][:, 9] for s in args.strategies]), 10), None)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"Best so far, median and quartiles over {args.seeds} seeds")
    fig.tight_layout()
    RESULTS.mkdir(exist_ok=True)
    fig.savefig(RESULTS / "search.png", dpi=110)


if __name__ == "__main__":
    main()
