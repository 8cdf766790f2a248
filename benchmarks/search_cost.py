"""What a query of the default search costs in a linked-cell space, with the cell's features looked up in a table
made once (the code's default, :data:`gpnas.space.linked_cell.TABULATE_LIMIT`) against traced anew at every call (the
code before; ``TABULATE_LIMIT = 0``), both in the same run.

Every run is made twice in one worker process, traced and looked up in turn (which goes first alternates by seed), and
the two must propose exactly the same queries: the table holds the traced features themselves.  Each run is also
checked against the run ``benchmarks/search.py`` cached for the same settings, when there is one: the earlier code's
queries, query for query.  Reported per table: the median milliseconds per query of each, and their ratio.

    python benchmarks/search_cost.py [--tables nbgraph-cora ...] [--seeds 2] [--budget 200]
"""

from __future__ import annotations

import os

# one BLAS thread per worker process: two workers on two cores, no oversubscription
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

_here = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p not in ("", _here)] + [_here]
from _common import markdown_table, write_results  # noqa: E402
from search import CACHE, SEED_BASE, cache_key, load_cache, objective_for, resolved, run_gpnas  # noqa: E402

from gpnas.io.nas_bench_graph import NBGRAPH_DATASETS  # noqa: E402
from gpnas.space import linked_cell  # noqa: E402


def timed(table: str, strategy: str, seed: int, budget: int, tabulate: bool) -> tuple[list, float]:
    """The run's queries and its seconds, with the linked cell's features looked up (``tabulate``) or traced."""
    limit = linked_cell.TABULATE_LIMIT
    linked_cell.TABULATE_LIMIT = limit if tabulate else 0
    try:
        objective = objective_for(table, None)
        start = time.perf_counter()
        archs = run_gpnas(objective, strategy, seed, budget, 1)
        return archs, time.perf_counter() - start
    finally:
        linked_cell.TABULATE_LIMIT = limit


def pair(job: dict) -> dict:
    """One table and seed, traced and looked up in turn."""
    warnings.filterwarnings("ignore")
    order = [False, True] if job["seed"] % 2 == 0 else [True, False]
    out = {}
    for tabulate in order:
        archs, seconds = timed(job["table"], job["strategy"], job["seed"], job["budget"], tabulate)
        out["looked up" if tabulate else "traced"] = {"archs": archs, "seconds": seconds}
    return {**job, **out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", nargs="+", default=[f"nbgraph-{d}" for d in NBGRAPH_DATASETS])
    parser.add_argument("--strategy", default="auto")
    parser.add_argument("--seeds", type=int, default=2, help="fresh seeds from 1000")
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default="search_cost_graph")
    args = parser.parse_args()
    jobs = [{"table": t, "strategy": args.strategy, "seed": SEED_BASE["report"] + i, "budget": args.budget}
            for t in args.tables for i in range(args.seeds)]
    with ProcessPoolExecutor(args.workers) as pool:
        runs = list(pool.map(pair, jobs))
    cached = load_cache(CACHE)
    rows, data = [], {"args": vars(args), "tables": {}}
    for table in args.tables:
        mine = [r for r in runs if r["table"] == table]
        space = objective_for(table, None).space
        same, earlier = 0, 0
        for r in mine:
            if r["traced"]["archs"] != r["looked up"]["archs"]:
                raise SystemExit(f"{table} seed {r['seed']}: the looked-up features proposed other queries")
            key = cache_key({"table": table, "resolved": resolved(args.strategy, space=space), "seed": r["seed"],
                             "budget": args.budget, "batch": 1})
            if key in cached:
                earlier += 1
                objective = objective_for(table, None)
                same += [objective(x)[1] for x in r["traced"]["archs"]] == cached[key]["keys"]
        ms = {v: float(np.median([1000 * r[v]["seconds"] / len(r[v]["archs"]) for r in mine]))
              for v in ("traced", "looked up")}
        rows.append([table, len(mine), f"{min(r['seed'] for r in mine)}-{max(r['seed'] for r in mine)}",
                     f"{ms['traced']:.0f}", f"{ms['looked up']:.0f}", f"{ms['traced'] / ms['looked up']:.2f}x",
                     f"{same} of {earlier}"])
        data["tables"][table] = {"ms_per_query": ms, "seeds": [r["seed"] for r in mine],
                                 "same_as_cached": same, "cached": earlier}
    markdown = (
        f"Milliseconds per query of `{args.strategy}` (budget {args.budget}, one query at a time), the linked cell's "
        "features traced at every call (the code before) and looked up in a table made once (the default now), "
        "each run made both ways in one worker process, the order alternating by seed; both ways proposed exactly "
        "the same queries in every run (checked). Last column: runs whose queries equal those `benchmarks/search.py` "
        "cached for the same settings and seed (the earlier code's). Command: `python benchmarks/search_cost.py "
        + " ".join(sys.argv[1:]) + "`.\n\n"
        + markdown_table(["table", "runs", "seeds", "ms / query, traced", "ms / query, looked up", "ratio",
                          "same queries as the cached run"], rows))
    print(markdown)
    write_results(args.out, markdown, data, script="benchmarks/search_cost.py")


if __name__ == "__main__":
    main()
