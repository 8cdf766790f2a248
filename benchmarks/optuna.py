"""Plain Optuna studies on NAS benchmark tables: gpnas's :class:`~gpnas.integrations.optuna.GPNASSampler` against Optuna's
``TPESampler``, ``GPSampler`` and ``RandomSampler``, in the same run.

Each study's objective calls ``trial.suggest_categorical`` once per choice and looks the architecture up in the table
(NB201 CIFAR-10, CIFAR-100, ImageNet16-120 and NAS-Bench-Macro).  Counted are unique architectures (a repeat is
answered from a cache, as a user would): trials until a top-0.1 % architecture and until the global best (median and
quartiles), and the sampler's milliseconds per trial.  The runs share their code and cache with
``benchmarks/search.py`` (the same Optuna runs serve both).

    python benchmarks/optuna.py [--seeds 25] [--gp-seeds 6] [--budget 200] [--workers 2]
"""

from __future__ import annotations

import sys
from pathlib import Path

# this file is called optuna.py: keep its folder behind site-packages so that ``import optuna`` finds Optuna
_here = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p not in ("", _here)] + [_here]

import argparse  # noqa: E402

import numpy as np  # noqa: E402
import search  # noqa: E402,F401  (sets one BLAS thread per worker before NumPy loads)
from _common import markdown_table, write_results  # noqa: E402
from search import CACHE, fmt_quartiles, load_runs, queries_until, run_and_cache  # noqa: E402

TABLES = ["nb201-cifar10", "nb201-cifar100", "nb201-imagenet16-120", "macro"]
SAMPLERS = ["optuna-gpnas", "optuna-tpe", "optuna-gp", "optuna-random"]
OWN_CACHE = CACHE.parent / "optuna_runs.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", nargs="+", default=TABLES)
    parser.add_argument("--samplers", nargs="+", default=SAMPLERS)
    parser.add_argument("--seeds", type=int, default=25)
    parser.add_argument("--gp-seeds", type=int, default=6, help="seeds of Optuna's GPSampler (seconds per trial)")
    parser.add_argument("--gp-budget", type=int, default=100, help="queries of Optuna's GPSampler at most")
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    CACHE.parent.mkdir(exist_ok=True)
    done = load_runs(CACHE, OWN_CACHE)  # search.py's Optuna runs serve here too; this script appends to its own file
    wanted = [(t, s, seed) for seed in range(args.seeds) for t in args.tables for s in args.samplers
              if seed < (args.gp_seeds if s == "optuna-gp" else args.seeds)]
    # a cached run counts when it ran the same budget (search.py's first seeds run to the budget, the others stop at
    # the global best, which is all this table needs)
    jobs = [(t, s, seed, min(args.gp_budget, args.budget) if s == "optuna-gp" else args.budget, False, args.data_dir)
            for t, s, seed in wanted if (t, s, seed) not in done]
    jobs.sort(key=lambda j: j[1] != "optuna-gp")
    run_and_cache(jobs, args.workers, OWN_CACHE, done)
    runs = [done[key] for key in wanted]
    sections, data = [], {"args": vars(args), "tables": {}}
    for name in args.tables:
        mine_all = [r for r in runs if r["table"] == name]
        rows = []
        for sampler in args.samplers:
            mine = [r for r in mine_all if r["strategy"] == sampler]
            limit = min(args.gp_budget, args.budget) if sampler == "optuna-gp" else args.budget
            to_best = [queries_until(r, lambda v, k: k == r["best_key"], limit) for r in mine]
            to_top = [queries_until(r, lambda v, k: v >= r["top"] - 1e-9, limit) for r in mine]
            ms = np.median([1000 * r["seconds"] / max(1, len(r["values"])) for r in mine])
            rows.append([sampler, len(mine), fmt_quartiles(to_top, limit),
                         f"{int(np.isfinite(to_top).sum())}/{len(mine)}", fmt_quartiles(to_best, limit),
                         f"{int(np.isfinite(to_best).sum())}/{len(mine)}", f"{ms:.0f}"])
            data["tables"].setdefault(name, {})[sampler] = {
                "trials_to_top_0.1pct": [None if not np.isfinite(v) else v for v in to_top],
                "trials_to_best": [None if not np.isfinite(v) else v for v in to_best], "ms_per_trial": ms}
        sections.append(f"### {name}\n\n" + markdown_table(
            ["sampler", "seeds", "trials to top-0.1 % (q25 / median / q75)", "found", "trials to the global best",
             "found", "ms per trial"], rows))
    markdown = (f"Plain Optuna studies, one `suggest_categorical` per choice, budget {args.budget} unique "
                f"architectures ({args.gp_budget} for `GPSampler`, whose cost per trial grows to seconds); a run "
                "stops at the global best.\n\n" + "\n\n".join(sections))
    print(markdown)
    write_results("optuna", markdown, data)


if __name__ == "__main__":
    main()
