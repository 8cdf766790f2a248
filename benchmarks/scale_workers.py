"""Many worker processes on one study (issue #25): throughput on SQLite and PostgreSQL, random SIGKILLs with every
trial accounted for, and the cost of ``ask`` against the number of finished trials.

1. **Throughput.**  1, 4 and 16 worker processes (``benchmarks/_scale_worker.py``) share one study of
   NAS-Bench-201 CIFAR-10, the default strategy proposing, each evaluation a table lookup after ``--sleep`` seconds of
   waiting (5 s: a trial that waits on a GPU or a remote job), ``--per-worker`` trials per worker.  Trials per minute
   from the first trial's start to the last one's end (the processes' start-up, about a second each, is outside it),
   and the ideal (every worker always waiting on an evaluation).
2. **SIGKILLs.**  ``--kill-workers`` processes on one study; every ``--kill-every`` seconds a random worker is killed
   with SIGKILL and a fresh one started in its place; the study then ends with the budget.  Checked: trial numbers
   dense, every trial finished, no architecture evaluated twice, every stored value its own architecture's, and the
   trials that were running in a killed worker finished by another (attempts counted).
3. **ask latency.**  A study holding N finished trials (random NB201 cells with their accuracies), then ``ask`` +
   ``tell`` three times with the default strategy; the median ``ask``, in process.

The PostgreSQL server is the one at ``--postgres URL``, else a throwaway one started on a temporary folder
(``tests/postgres_server.py``).  Writes ``results/scale_workers.md`` and ``.json``.

    python benchmarks/scale_workers.py [--sleep 5] [--per-worker 6] [--workers 1,4,16] [--ask-sizes 100,1000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
from _common import markdown_table, write_results  # noqa: E402
import postgres_server  # noqa: E402
import stored_rows  # noqa: E402

WORKER = HERE / "_scale_worker.py"


def _worker(url: str, study: str, budget: int, sleep: float, seed: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(WORKER), url, study, str(budget), str(sleep), str(seed)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _rows(url: str) -> list[tuple]:
    return stored_rows.rows(url, "number, arch, state, value, worker, attempts, started, finished")


def _database(backend: str, server: str, folder: str) -> str:
    return f"sqlite:///{folder}/{uuid.uuid4().hex[:8]}.db" if backend == "sqlite" else \
        postgres_server.new_database(server)


def throughput(backend: str, url: str, workers: int, per_worker: int, sleep: float) -> dict:
    budget = workers * per_worker
    start = time.perf_counter()
    procs = [_worker(url, "shared", budget, sleep, seed) for seed in range(workers)]
    errors = [p.communicate(timeout=3600)[1] for p in procs]
    wall = time.perf_counter() - start
    if any(p.returncode for p in procs):
        raise SystemExit(f"a worker failed: {next(e for e, p in zip(errors, procs) if p.returncode)[-2000:]}")
    rows = _rows(url)
    done = [r for r in rows if r[2] == "done"]
    span = max(r[7] for r in done) - min(r[6] for r in done)
    return {"backend": backend, "workers": workers, "trials": len(done), "budget": budget,
            "per_minute": 60 * len(done) / span, "span_s": span, "wall_s": wall,
            "ideal_per_minute": 60 * workers / sleep, "duplicates": len(done) - len({r[1] for r in done})}


def sigkills(backend: str, url: str, workers: int, per_worker: int, sleep: float, every: float, seed: int) -> dict:
    from gpnas.io.tables import load_table

    table = load_table("nb201-cifar10").deduplicated()
    values = {tuple(int(v) for v in x): float(y) for x, y in zip(table.X, table.y)}
    budget = workers * per_worker
    rng = random.Random(seed)
    procs = [_worker(url, "killed", budget, sleep, s) for s in range(workers)]
    killed, next_seed = [], workers
    while any(p.poll() is None for p in procs):
        time.sleep(every)
        alive = [p for p in procs if p.poll() is None]
        if not alive or sum(r[2] == "done" for r in _rows(url)) >= budget - workers:
            break  # near the end: let the last trials finish
        victim = rng.choice(alive)
        running = [r[0] for r in _rows(url) if r[2] == "running" and r[4] and r[4].split(":")[1] == str(victim.pid)]
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        killed.append({"pid": victim.pid, "running": running})
        procs[procs.index(victim)] = _worker(url, "killed", budget, sleep, next_seed)
        next_seed += 1
    for p in procs:
        p.communicate(timeout=3600)
    rows = _rows(url)
    numbers = [r[0] for r in rows]
    done = [r for r in rows if r[2] == "done"]
    by_number = {r[0]: r for r in rows}
    lost = [n for k in killed for n in k["running"] if by_number[n][2] != "done" or by_number[n][5] < 1]
    wrong = [r[0] for r in done if values[tuple(json.loads(r[1]))] != r[3]]
    return {"backend": backend, "workers": workers, "budget": budget, "kills": len(killed),
            "running_when_killed": sum(len(k["running"]) for k in killed), "trials": len(rows), "done": len(done),
            "dense_numbers": numbers == list(range(len(rows))), "duplicate_architectures":
            len(done) - len({r[1] for r in done}), "not_finished": len(rows) - len(done),
            "killed_trials_not_rerun": len(lost), "wrong_values": len(wrong)}


def ask_latency(sizes: list[int], repeats: int = 3) -> list[dict]:
    from gpnas.io.tables import load_table
    from gpnas.study import create_study

    table = load_table("nb201-cifar10").deduplicated()
    index = {tuple(int(v) for v in x): i for i, x in enumerate(table.X)}
    rng = np.random.default_rng(0)
    out = []
    for n in sizes:
        chosen = rng.choice(len(table.y), n, replace=False)
        study = create_study(table.space, seed=0, candidates=table.X)
        study.storage.save_trials(study.study_name, [
            {"number": i, "arch": [int(v) for v in table.X[j]], "state": "done", "value": float(table.y[j]),
             "error": None, "started": 0.0, "finished": 1.0, "worker": "bench", "round": 0, "attempts": 0,
             "heartbeat": None} for i, j in enumerate(chosen)])
        study.refresh()
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            trial = study.ask()[0]
            seconds.append(time.perf_counter() - start)
            study.tell(trial, float(table.y[index[tuple(int(v) for v in trial.arch)]]))
        out.append({"finished": n, "ask_s": seconds, "median_s": float(np.median(seconds))})
        print(out[-1], flush=True)
    return out


def approximation(sizes: list[int], seeds: int, table_name: str = "nb201-cifar10") -> list[dict]:
    """Kendall tau over held-out cells of the study's model at n training cells, exact and approximate."""
    from scipy.stats import kendalltau

    from gpnas.gp import GPNASRegressor
    from gpnas.io.tables import load_table
    from gpnas.study.study import MAX_MODEL_TRIALS, SEARCH_MODEL_DEFAULTS

    table = load_table(table_name).deduplicated()
    m = SEARCH_MODEL_DEFAULTS["max_fit_samples"]
    out = []
    for n in sizes:
        for seed in range(seeds):
            perm = np.random.default_rng(seed).permutation(len(table.y))
            train, test = perm[:n], perm[n:n + 5000]
            top = test[np.argsort(-table.y[test])[:100]]
            for name, fit_samples, limit in [("exact", None, None), (f"hyperparameters on {m}", m, None),
                                             (f"hyperparameters on {m}, posterior on {MAX_MODEL_TRIALS}", m,
                                              MAX_MODEL_TRIALS)]:
                if limit is not None and n <= limit:
                    continue
                X, y = table.X[train], table.y[train]
                if limit is not None:  # as the study chooses: the better half of the limit, a random rest
                    order = np.argsort(-y)
                    rest = np.random.default_rng([seed, n]).choice(order[limit // 2:], limit - limit // 2,
                                                                   replace=False)
                    keep = np.concatenate([order[: limit // 2], rest])
                    X, y = X[keep], y[keep]
                start = time.perf_counter()
                # the study's search model outside cell spaces: maximum likelihood (SEARCH_MODEL_DEFAULTS)
                model = GPNASRegressor(space=table.space, features=["choices"], random_state=seed,
                                       hyperprior_scale=None, max_fit_samples=fit_samples).fit(X, y)
                seconds = time.perf_counter() - start
                pred_test, pred_top = model.predict(table.X[test]), model.predict(table.X[top])
                out.append({"n": n, "seed": seed, "model": name, "fit_s": seconds,
                            "tau": float(kendalltau(pred_test, table.y[test])[0]),
                            "tau_top100": float(kendalltau(pred_top, table.y[top])[0])})
                print(out[-1], flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sleep", type=float, default=5.0, help="seconds each evaluation waits")
    parser.add_argument("--per-worker", type=int, default=6, help="trials per worker in the throughput runs")
    parser.add_argument("--workers", default="1,4,16")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--kill-workers", type=int, default=16)
    parser.add_argument("--kill-every", type=float, default=4.0, help="seconds between SIGKILLs")
    parser.add_argument("--ask-sizes", default="100,1000,5000")
    parser.add_argument("--postgres", default=None, help="admin URL of a PostgreSQL server (else one is started)")
    parser.add_argument("--approx-sizes", default="1000,2000")
    parser.add_argument("--approx-seeds", type=int, default=3)
    parser.add_argument("--approx-table", default="nb201-cifar10",
                        help="table of the approximation check (the defaults were chosen on nb201-cifar10)")
    parser.add_argument("--name", default="scale_workers", help="results file name")
    parser.add_argument("--sections", default="throughput,sigkill,ask,approx")
    args = parser.parse_args()
    sections = args.sections.split(",")
    folder = tempfile.mkdtemp(prefix="gpnas-scale-")
    pg_folder = None
    server = args.postgres
    if server is None and "postgresql" in args.backends:
        pg_folder = tempfile.mkdtemp(prefix="gpnas-scale-pg-")
        server = postgres_server.start(pg_folder)
    data: dict = {"args": vars(args)}
    parts = []
    try:
        if "throughput" in sections:
            results = []
            for backend in args.backends.split(","):
                for workers in map(int, args.workers.split(",")):
                    results.append(throughput(backend, _database(backend, server, folder), workers, args.per_worker,
                                              args.sleep))
                    print(results[-1], flush=True)
            data["throughput"] = results
            one = {r["backend"]: r["per_minute"] for r in results if r["workers"] == 1}
            parts.append(
                f"Throughput: workers (separate processes) on one study, NB201 CIFAR-10, default strategy, each "
                f"evaluation {args.sleep:g} s of waiting then a table lookup, {args.per_worker} trials per worker; "
                "trials per minute from the first trial's start to the last one's end:\n\n" + markdown_table(
                    ["store", "workers", "trials", "trials / minute", "vs 1 worker", "ideal", "of ideal",
                     "wall s (with start-up)", "duplicates"],
                    [[r["backend"], r["workers"], r["trials"], f"{r['per_minute']:.1f}",
                      f"{r['per_minute'] / one[r['backend']]:.2f}x" if r["backend"] in one else "-",
                      f"{r['ideal_per_minute']:.0f}", f"{r['per_minute'] / r['ideal_per_minute']:.0%}",
                      f"{r['wall_s']:.0f}", r["duplicates"]] for r in results]))
        if "sigkill" in sections:
            results = []
            for backend in args.backends.split(","):
                results.append(sigkills(backend, _database(backend, server, folder), args.kill_workers,
                                        args.per_worker, args.sleep, args.kill_every, seed=0))
                print(results[-1], flush=True)
            data["sigkill"] = results
            parts.append(
                f"Random SIGKILLs: {args.kill_workers} workers, one killed every {args.kill_every:g} s and replaced "
                "by a fresh process, until the last trials:\n\n" + markdown_table(
                    ["store", "workers", "budget", "kills", "trials running in a killed worker", "trials stored",
                     "finished", "numbers dense", "architectures twice", "killed trials not re-run",
                     "wrong values"],
                    [[r["backend"], r["workers"], r["budget"], r["kills"], r["running_when_killed"], r["trials"],
                      r["done"], "yes" if r["dense_numbers"] else "NO", r["duplicate_architectures"],
                      r["killed_trials_not_rerun"], r["wrong_values"]] for r in results]))
        if "ask" in sections:
            results = ask_latency([int(n) for n in args.ask_sizes.split(",")])
            data["ask"] = results
            parts.append(
                "`ask` with N finished trials (NB201 CIFAR-10, default strategy, in memory, in process; median of "
                "3 ask + tell):\n\n" + markdown_table(
                    ["finished trials", "median ask s", "each s"],
                    [[r["finished"], f"{r['median_s']:.2f}", ", ".join(f"{s:.2f}" for s in r["ask_s"])]
                     for r in results]))
        if "approx" in sections:
            results = approximation([int(n) for n in args.approx_sizes.split(",")], args.approx_seeds,
                                    args.approx_table)
            data["approx"] = results
            rows = []
            for n in sorted({r["n"] for r in results}):
                exact = [r for r in results if r["n"] == n and r["model"] == "exact"]
                for name in dict.fromkeys(r["model"] for r in results if r["n"] == n):
                    mine = [r for r in results if r["n"] == n and r["model"] == name]
                    diffs = [a["tau"] - b["tau"] for a, b in zip(mine, exact)]
                    rows.append([n, name, f"{np.median([r['tau'] for r in mine]):.4f}",
                                 f"{np.median(diffs):+.4f} ({min(diffs):+.4f} to {max(diffs):+.4f})",
                                 f"{np.median([r['tau_top100'] for r in mine]):.3f}",
                                 f"{np.median([r['fit_s'] for r in mine]):.2f}"])
            parts.append(
                f"The study's model with n finished trials, exact and approximate: Kendall tau over 5,000 held-out "
                f"cells of {args.approx_table} and over the best 100 of them, fit seconds; median of "
                f"{args.approx_seeds} random training sets (seeds 0..):\n\n" + markdown_table(
                    ["n", "model", "tau", "tau - exact (range)", "tau, best 100", "fit s"], rows))
    finally:
        if pg_folder is not None:
            postgres_server.stop(pg_folder)
            shutil.rmtree(pg_folder, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
    markdown = "\n\n".join(parts) + f"\n\nCommand: `python benchmarks/scale_workers.py {' '.join(sys.argv[1:])}`" \
        + f" ({os.cpu_count()} cores)."
    print(markdown)
    write_results(args.name, markdown, data, script="benchmarks/scale_workers.py")


if __name__ == "__main__":
    main()
