"""Throughput of the executors, and the SQLite store's overhead per trial.

1. A cheap objective (``--sleep`` seconds of waiting plus a little arithmetic, like a trial that waits on I/O or a
   GPU) searched with random sampling (so the sampler costs nothing) for ``--trials`` trials: in-process, a local
   process pool, and Ray with 1, 2 and 4 workers on a local cluster, all in the same run.  Trials per minute.
2. The same search with an instant objective in memory and in SQLite: the difference per trial is the store's
   overhead (one transaction per state change, WAL mode).

Medians over ``--repeats`` runs.  Writes ``results/scale.md`` and ``results/scale.json``.

    python benchmarks/scale.py [--trials 40] [--sleep 0.25] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, write_results  # noqa: E402

from gpnas.executors import ProcessPoolExecutor  # noqa: E402
from gpnas.study import Study  # noqa: E402
from gpnas.tables import accel_nasbench_space  # noqa: E402


class SleepObjective:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, arch: dict) -> float:
        time.sleep(self.seconds)
        return float(sum(hash(str(v)) % 7 for v in arch.values()))


def run(space, executor, trials, sleep, batch, storage=None) -> float:
    study = Study(space, sampler="random", seed=0, fit_model=False, storage=storage)
    start = time.perf_counter()
    study.optimize(SleepObjective(sleep), budget=trials, batch_size=batch, executor=executor)
    elapsed = time.perf_counter() - start
    assert len(study.trials_in("done")) == trials
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--sleep", type=float, default=0.25)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--store-trials", type=int, default=300)
    args = parser.parse_args()
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    space = accel_nasbench_space()
    rows, data = [], {}
    configs = [("in-process (local)", 1, lambda: None), ("process pool, 2 workers", 2, lambda: ProcessPoolExecutor(2))]
    import ray

    from gpnas.ray_executor import RayExecutor

    ray.init(address="local", num_cpus=4, include_dashboard=False, log_to_driver=False)
    for workers in (1, 2, 4):
        configs.append((f"Ray, {workers} worker(s)", workers,
                        lambda w=workers: RayExecutor(n_workers=w, num_cpus=4 / 4, torch_threads=None)))
    run(space, configs[-1][2](), 8, args.sleep, 4)  # warm the Ray workers up before timing
    baseline = None
    for name, batch, make in configs:
        times = [run(space, make(), args.trials, args.sleep, batch) for _ in range(args.repeats)]
        per_minute = args.trials / np.median(times) * 60
        baseline = baseline or per_minute
        rows.append([name, f"{per_minute:.0f}", f"{per_minute / baseline:.2f}x", f"{np.median(times):.2f}"])
        data[name] = times
        print(rows[-1], flush=True)
    ray.shutdown()
    overhead = []
    for _ in range(args.repeats):
        memory = run(space, None, args.store_trials, 0.0, 1)
        with tempfile.TemporaryDirectory() as folder:
            sqlite = run(space, None, args.store_trials, 0.0, 1, storage=f"sqlite:///{folder}/s.db")
        overhead.append((sqlite - memory) / args.store_trials * 1000)
    store_rows = [["SQLite (WAL, synchronous=NORMAL) minus in-memory", f"{np.median(overhead):.2f}",
                   f"{min(overhead):.2f} - {max(overhead):.2f}"]]
    markdown = (
        f"Throughput on a cheap objective ({args.sleep} s wait per trial, random sampling, {args.trials} trials, "
        f"median of {args.repeats} runs; the machine has {os.cpu_count()} cores, Ray given 4 logical CPUs):\n\n"
        + markdown_table(["executor", "trials / minute", "vs in-process", "seconds"], rows)
        + f"\n\nStore overhead per trial ({args.store_trials} trials, instant objective, ms):\n\n"
        + markdown_table(["store", "median ms / trial", "range"], store_rows)
    )
    print(markdown)
    write_results("scale", markdown, {"throughput_seconds": data, "store_overhead_ms": overhead, "args": vars(args)})


if __name__ == "__main__":
    main()
