"""Replay searches on NAS benchmark tables and on a surrogate of a huge space: gpnas's strategies against random
search, regularized evolution (REA), local search and Optuna's TPE and GP samplers, all in the same run.

Objectives: NAS-Bench-201 (CIFAR-10, CIFAR-100, ImageNet16-120; 15,625 cells), NAS-Bench-Macro (6,561) and an
XGBoost surrogate of the whole Accel-NASBench space (5.9e11 architectures, see ``_accel_surrogate.py``).  Every
strategy queries unique architectures one at a time (``--batch-size 1``, as Optuna does), except ``mi``, the paper's
batched loop (batches of 10).  Optuna gets one ``suggest_categorical`` per position; an architecture it suggests
again is answered from a cache and not counted, so its numbers count unique queries, as gpnas's do.

Reported per table:

1. queries until an architecture of the global best's equivalence class is found, and until a top-0.1 % one is
   (median, quartiles and the share found within the budget).  A run stops once it finds the global best, except
   the first ``--full-seeds`` seeds of each strategy (but Optuna's ``GPSampler``, seconds per trial), which always
   spend the whole budget;
2. the regret of the recommendation after 25/50/100/200 queries (median over the full-budget seeds), by each rule of
   :mod:`gpnas.study.recommend`: ``measured`` for every strategy, ``predicted`` and ``lcb`` for ``auto`` and ``mi`` (a GP
   refitted on the run's first n results; ``predicted`` ranges over the whole table, or 20,000 random architectures
   plus the evaluated ones on the surrogate);
3. milliseconds per query (median over runs).

Also timed on 2 cores: a full ``ask`` at n=200 on the Accel space (refit plus a batch of 10, from a pool of 100,000
candidates and by the default pool with local optimisation), and MI selection of a batch of 32 from 100,000.

Writes ``results/search.md``, ``results/search.json`` and ``results/search.png``.

    python benchmarks/search.py [--seeds 100] [--budget 200] [--workers 2]
"""

from __future__ import annotations

import os

# one BLAS thread per worker process: two workers on two cores, no oversubscription
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

# this folder holds benchmarks/optuna.py: keep it behind site-packages so that ``import optuna`` finds Optuna
_here = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p not in ("", _here)] + [_here]
from _common import RESULTS, markdown_table, write_results  # noqa: E402

TABLES = ["nb201-cifar10", "nb201-cifar100", "nb201-imagenet16-120", "macro", "accel-surrogate"]
STRATEGIES = ["auto", "mi", "ucb", "random", "rea", "ls", "optuna-tpe", "optuna-gp"]
CHECKPOINTS = [25, 50, 100, 200]
MODEL_RULES = ("predicted", "lcb")
CACHE = Path(__file__).resolve().parent / "_cache" / "search_runs.jsonl"


class Objective:
    """A table (or the surrogate) as an objective: value and equivalence key of an architecture."""

    def __init__(self, name: str, data_dir=None):
        if name == "accel-surrogate":
            from _accel_surrogate import AccelSurrogate

            self.surrogate = AccelSurrogate(data_dir)
            self.space = self.surrogate.space
            self.best_arch, self.best = self.surrogate.optimum
            self.best_key = ",".join(map(str, self.best_arch))
            self.top = np.quantile(self.surrogate.value(self.space.sample(200_000, random_state=7)), 0.999)
            self.pool = None
            return
        from gpnas.io.tables import load_table

        table = load_table(name, data_dir)
        self.surrogate = None
        self.space = table.space
        self.lookup = {tuple(x): i for i, x in enumerate(table.X)}
        self.y, self.keys = table.y, table.dedup_key
        dedup = table.deduplicated()
        self.best = float(dedup.y.max())
        self.best_key = dedup.dedup_key[np.argmax(dedup.y)]
        self.top = float(np.quantile(dedup.y, 0.999))
        self.pool = table.X

    def __call__(self, x) -> tuple[float, str]:
        if self.surrogate is not None:
            key = ",".join(map(str, x))
            return float(self.surrogate.value(np.asarray(x)[None, :])[0]), key
        i = self.lookup[tuple(int(v) for v in x)]
        return float(self.y[i]), str(self.keys[i])

    def recommendation_pool(self, rng) -> np.ndarray:
        return self.pool if self.pool is not None else self.space.sample(20_000, random_state=rng)


def run_gpnas(objective: Objective, strategy: str, seed: int, budget: int, full: bool) -> tuple[list, list]:
    from gpnas.study import Study

    batch = 10 if strategy == "mi" else 1
    study = Study(objective.space, sampler=strategy, seed=seed, fit_model=False, heartbeat_interval=None)
    archs: list = []

    def stop_at_best(st, finished):
        for t in finished:
            archs.append(list(t.arch))
            if not full and objective(t.arch)[1] == objective.best_key:
                st.stop("found the global best")

    study.optimize(lambda arch: objective(objective.space.from_dict_arch(arch))[0], budget, batch,
                   callbacks=[stop_at_best])
    return archs, []


def run_optuna(objective: Objective, strategy: str, seed: int, budget: int, full: bool) -> list:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = objective.space
    names = [f"x{j}" for j in range(space.n_positions)]
    archs: list = []
    seen: set = set()

    def evaluate(trial):
        x = tuple(trial.suggest_categorical(n, list(range(int(k)))) for n, k in zip(names, space.n_options))
        value, key = objective(x)
        if x not in seen:
            seen.add(x)
            archs.append(list(x))
            if (not full and key == objective.best_key) or len(archs) >= budget:
                trial.study.stop()
        return value

    from gpnas.integrations.optuna import GPNASSampler

    samplers = {"optuna-tpe": optuna.samplers.TPESampler, "optuna-gp": optuna.samplers.GPSampler,
                "optuna-random": optuna.samplers.RandomSampler, "optuna-gpnas": GPNASSampler}
    sampler = samplers[strategy](seed=seed)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(evaluate, n_trials=5 * budget)  # repeats are answered from the cache and not counted
    return archs


def recommendation_regrets(objective: Objective, archs: list, seed: int) -> dict:
    """Regret of each model rule's recommendation after the first n results, n in CHECKPOINTS."""
    from gpnas import GPNASRegressor
    from gpnas.study.recommend import recommend

    out = {}
    X = np.array(archs, dtype=int)
    y = np.array([objective(x)[0] for x in X])
    pool = objective.recommendation_pool(np.random.default_rng(seed))
    for n in CHECKPOINTS:
        if n > len(X):
            break
        model = GPNASRegressor(space=objective.space, random_state=seed).fit(X[:n], y[:n])
        for rule in MODEL_RULES:
            arch, _ = recommend(rule, X[:n], y[:n], model, pool)
            out.setdefault(rule, {})[str(n)] = objective.best - objective(arch)[0]
    return out


@functools.lru_cache(maxsize=None)
def objective_for(table_name: str, data_dir) -> Objective:
    """One objective per table and worker process (the surrogate's fit and optimum take seconds)."""
    return Objective(table_name, data_dir)


def run_one(job):
    table_name, strategy, seed, budget, full, data_dir = job
    warnings.filterwarnings("ignore")
    objective = objective_for(table_name, data_dir)
    start = time.perf_counter()
    if strategy.startswith("optuna-"):
        archs = run_optuna(objective, strategy, seed, budget, full)
    else:
        archs, _ = run_gpnas(objective, strategy, seed, budget, full)
    seconds = time.perf_counter() - start
    values, keys = zip(*[objective(x) for x in archs]) if archs else ((), ())
    rules = recommendation_regrets(objective, archs, seed) if full and strategy in ("auto", "mi") else {}
    return {"table": table_name, "strategy": strategy, "seed": seed, "full": full, "values": list(values),
            "keys": list(keys), "rules": rules, "seconds": seconds, "best": objective.best,
            "best_key": objective.best_key, "top": float(objective.top)}


def queries_until(run, hit, limit: int | None = None) -> float:
    """Queries until ``hit(value, key)`` first holds, ``inf`` if it never does within ``limit`` queries."""
    for i, (v, k) in enumerate(zip(run["values"][:limit], run["keys"][:limit])):
        if hit(v, k):
            return i + 1
    return np.inf


def fmt_quartiles(values, budget) -> str:
    if not len(values):
        return "-"
    q = np.percentile(values, [25, 50, 75])
    return " / ".join(f">{budget}" if not np.isfinite(v) else f"{v:.0f}" for v in q)


def seeds_for(strategy: str, table: str, args) -> int:
    """Every strategy gets ``--seeds`` seeds except the costly ones (stated in the results)."""
    if strategy == "optuna-gp":
        return args.gp_seeds if table != "accel-surrogate" else args.gp_seeds_surrogate
    if strategy == "ucb" and table == "accel-surrogate":
        return 0  # ``auto`` is UCB there (its model ranks well), with a wider beta
    if strategy in ("mi", "ucb"):
        return min(args.seeds, args.model_seeds if strategy == "ucb" else args.mi_seeds)
    if strategy == "auto":
        return min(args.seeds, args.surrogate_seeds if table == "accel-surrogate" else args.auto_seeds)
    return args.seeds


def load_runs(*paths: Path) -> dict:
    """Runs cached by earlier calls, by ``(table, strategy, seed)``."""
    done = {}
    for path in paths:
        if path.exists():
            for line in path.read_text().splitlines():
                run = json.loads(line)
                done[(run["table"], run["strategy"], run["seed"])] = run
    return done


def run_and_cache(jobs: list, workers: int, path: Path, done: dict) -> None:
    """Run ``jobs`` in ``workers`` processes, appending each run to ``path`` as it finishes (an interrupted call
    loses only the runs in flight) and adding it to ``done``."""
    with ProcessPoolExecutor(workers) as pool, open(path, "a") as cache:
        for future in as_completed([pool.submit(run_one, job) for job in jobs]):
            run = future.result()
            done[(run["table"], run["strategy"], run["seed"])] = run
            cache.write(json.dumps(run) + "\n")
            cache.flush()
            print(f"{run['table']:22s} {run['strategy']:14s} seed {run['seed']:3d} best {max(run['values']):.2f} "
                  f"({run['seconds']:.1f} s, {len(run['values'])} queries)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", nargs="+", default=TABLES)
    parser.add_argument("--strategies", nargs="+", default=STRATEGIES)
    parser.add_argument("--seeds", type=int, default=100, help="seeds of random, rea, ls and Optuna's TPE")
    parser.add_argument("--auto-seeds", type=int, default=100, help="seeds of auto on the tables")
    parser.add_argument("--model-seeds", type=int, default=10, help="seeds of ucb")
    parser.add_argument("--mi-seeds", type=int, default=10, help="seeds of mi (batches of 10, always 200 queries)")
    parser.add_argument("--surrogate-seeds", type=int, default=10, help="seeds of auto on the surrogate")
    parser.add_argument("--gp-seeds", type=int, default=6, help="seeds of Optuna's GPSampler on the tables")
    parser.add_argument("--gp-budget", type=int, default=100, help="queries of Optuna's GPSampler at most")
    parser.add_argument("--gp-seeds-surrogate", type=int, default=5, help="... and on the surrogate")
    parser.add_argument("--full-seeds", type=int, default=10, help="seeds that spend the whole budget")
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--fresh", action="store_true", help="ignore runs cached by an earlier, interrupted call")
    args = parser.parse_args()
    CACHE.parent.mkdir(exist_ok=True)
    if args.fresh and CACHE.exists():
        CACHE.unlink()
    done = load_runs(CACHE)
    wanted = [(t, s, seed) for seed in range(args.seeds) for t in args.tables for s in args.strategies
              if seed < seeds_for(s, t, args)]
    # Optuna's GPSampler takes seconds per trial beyond 100 trials: its runs stop at 100 queries (and at the global
    # best on the tables), so its quartiles are exact only below 100
    jobs = [(t, s, seed, min(args.gp_budget, args.budget) if s == "optuna-gp" else args.budget,
             (seed < args.full_seeds and s != "optuna-gp") or t == "accel-surrogate", args.data_dir)
            for t, s, seed in wanted if (t, s, seed) not in done]
    # the slowest first, so the pool does not end on one long run
    jobs.sort(key=lambda j: (j[1] != "optuna-gp", j[0] != "accel-surrogate", j[1] not in ("mi", "auto")))
    run_and_cache(jobs, args.workers, CACHE, done)
    runs = [done[key] for key in wanted]
    timing = None if args.skip_timing else time_ask()
    render(runs, args, timing)


def time_ask() -> dict:
    """A full ask at n=200 on the Accel space, and MI batch of 32 from 100,000 (2 BLAS threads, 5 repeats)."""
    from threadpoolctl import threadpool_limits

    from gpnas import GPNASRegressor
    from gpnas.sampling.mutual_information import greedy_batch
    from gpnas.study import Study
    from gpnas.io.tables import accel_nasbench_space

    space = accel_nasbench_space()
    rng = np.random.default_rng(0)
    X = space.sample(200, random_state=rng)
    y = X @ rng.standard_normal(space.n_positions) + 0.5 * rng.standard_normal(200)
    out = {}
    with threadpool_limits(2):
        for label, pool_size in (("ask(10), pool 100,000 candidates", 100_000),
                                 ("ask(10), default pool 20,000 + local search", 20_000)):
            study = Study(space, sampler="auto", seed=0, pool_size=pool_size, heartbeat_interval=None)
            for x, v in zip(X, y):
                study.tell(study.enqueue(x), float(v))
            times = []
            for _ in range(5):
                start = time.perf_counter()
                trials = study.ask(10)
                times.append(time.perf_counter() - start)
                for t in trials:
                    study.tell(t, float(rng.standard_normal()))
            out[label] = times
        model = GPNASRegressor(space=space, random_state=0).fit(X, y)
        times = []
        for r in range(5):
            pool = space.sample(100_000, random_state=r)
            start = time.perf_counter()
            greedy_batch(model, pool, X, 32, ["mi"] * 32, random_state=r)
            times.append(time.perf_counter() - start)
        out["MI batch of 32 from 100,000"] = times
    return out


def render(runs, args, timing) -> None:
    sections, data = [], {"args": vars(args), "tables": {}, "timing": timing}
    curves = {}
    for name in args.tables:
        mine_all = [r for r in runs if r["table"] == name]
        if not mine_all:
            continue
        best, top, budget = mine_all[0]["best"], mine_all[0]["top"], args.budget
        rows_hit, rows_rec = [], []
        for strategy in args.strategies:
            mine = [r for r in mine_all if r["strategy"] == strategy]
            if not mine:
                continue
            limit = min(args.gp_budget, budget) if strategy == "optuna-gp" else budget
            to_best = [queries_until(r, lambda v, k: k == r["best_key"], limit) for r in mine]
            to_top = [queries_until(r, lambda v, k: v >= top - 1e-9, limit) for r in mine]
            ms = np.median([1000 * r["seconds"] / max(1, len(r["values"])) for r in mine])
            rows_hit.append([strategy, len(mine), fmt_quartiles(to_best, limit),
                             f"{int(np.isfinite(to_best).sum())}/{len(mine)}", fmt_quartiles(to_top, limit),
                             f"{int(np.isfinite(to_top).sum())}/{len(mine)}", f"{ms:.0f}"])
            full = [r for r in mine if r["full"]]
            measured = [[best - max(r["values"][:c]) for r in full if len(r["values"]) >= c] for c in CHECKPOINTS]
            rows_rec.append([strategy, "measured", len(full)] + [f"{np.median(m):.3f}" if m else "-"
                                                                  for m in measured])
            for rule in MODEL_RULES:
                vals = [[r["rules"][rule][str(c)] for r in full if str(c) in r["rules"].get(rule, {})]
                        for c in CHECKPOINTS]
                if any(vals):
                    rows_rec.append([strategy, rule, len(full)] + [f"{np.median(v):.3f}" if v else "-" for v in vals])
            curves[(name, strategy)] = [np.maximum.accumulate(r["values"]) for r in full]
            data["tables"].setdefault(name, {})[strategy] = {
                "queries_to_best": [None if not np.isfinite(v) else v for v in to_best],
                "queries_to_top_0.1pct": [None if not np.isfinite(v) else v for v in to_top],
                "ms_per_query": ms,
                "regret": {row[1]: dict(zip(map(str, CHECKPOINTS), row[3:])) for row in rows_rec
                           if row[0] == strategy},
            }
        kind = "surrogate optimum (long evolution)" if name == "accel-surrogate" else "global best"
        sections.append(
            f"### {name} ({kind} {best:.2f}; top-0.1 % threshold {top:.2f})\n\n"
            + markdown_table(["strategy", "seeds", f"queries to the {kind} (q25 / median / q75)", "found",
                              "queries to top-0.1 %", "found", "ms per query"], rows_hit)
            + "\n\nRegret of the recommendation after n queries (median over the full-budget seeds; "
              "best value minus the recommended architecture's value):\n\n"
            + markdown_table(["strategy", "rule", "seeds"] + [str(c) for c in CHECKPOINTS], rows_rec))
    if timing:
        rows = [[label, f"{np.median(t):.2f}", f"{min(t):.2f} - {max(t):.2f}"] for label, t in timing.items()]
        sections.append("### Speed at n = 200 on the Accel-NASBench space (seconds, 2 BLAS threads, 5 repeats)\n\n"
                        + markdown_table(["operation", "median", "range"], rows))
    header = (f"Budget {args.budget} unique queries ({args.gp_budget} for Optuna's GPSampler, whose cost per trial "
              "grows to seconds), one at a time "
              "(``mi``: batches of 10). Seeds per strategy in each table; runs stop at the global best except "
              f"the first {args.full_seeds} seeds (all seeds on the surrogate), whose regrets are reported.")
    markdown = header + "\n\n" + "\n\n".join(sections) + "\n\n![best so far](search.png)"
    print(markdown)
    plot(curves, args)
    write_results("search", markdown, data)


def plot(curves, args) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tables = [t for t in args.tables if any(k[0] == t for k in curves)]
    fig, axes = plt.subplots(1, len(tables), figsize=(4.2 * len(tables), 3.6), squeeze=False)
    for ax, name in zip(axes[0], tables):
        lows = []
        for strategy in args.strategies:
            runs = curves.get((name, strategy))
            if not runs:
                continue
            length = min(len(c) for c in runs)
            c = np.array([r[:length] for r in runs])
            x = np.arange(1, length + 1)
            lo, mid, hi = np.percentile(c, [25, 50, 75], axis=0)
            ax.plot(x, mid, label=strategy)
            ax.fill_between(x, lo, hi, alpha=0.12)
            lows.append(mid[min(9, length - 1)])
        ax.set_title(name)
        ax.set_xlabel("queries")
        ax.set_ylabel("best value so far")
        if lows:
            ax.set_ylim(min(lows), None)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Best so far, median and quartiles over the full-budget seeds")
    fig.tight_layout()
    RESULTS.mkdir(exist_ok=True)
    fig.savefig(RESULTS / "search.png", dpi=110)


if __name__ == "__main__":
    main()
