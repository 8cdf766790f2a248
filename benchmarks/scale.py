"""Throughput of the executors, and the SQLite store's overhead per trial.

1. A cheap objective (``--sleep`` seconds of waiting plus a little arithmetic, like a trial that waits on I/O or a
   GPU) searched with random sampling (so the sampler costs nothing) for ``--trials`` trials: in-process, a local
   process pool, and Ray with 1, 2 and 4 workers on a local cluster, all in the same run.  Trials per minute.
2. Real training: ``--children`` MobileNetV3 children trained for one epoch on digits (the main job's data), the
   same architectures for every executor: in-process (torch's default threads, all cores), the process pool and Ray
   at 1, 2 and 4 workers with ``cores // workers`` torch threads each (Ray's 4 workers on 2 cores: one thread each,
   so two share a core).  Children per minute and wall seconds per child, against in-process.
3. The same search with an instant objective in memory and in SQLite: the difference per trial is the store's
   overhead (one transaction per state change, WAL mode).

Medians over ``--repeats`` runs.  Writes ``results/scale.md`` and ``results/scale.json``.

    python benchmarks/scale.py [--trials 40] [--sleep 0.25] [--repeats 3] [--children 8] [--training-repeats 1]
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

from gpnas.run.executors import ProcessPoolExecutor  # noqa: E402
from gpnas.threads import threads_per_worker  # noqa: E402
from gpnas.study import Study  # noqa: E402
from gpnas.io.tables import accel_nasbench_space  # noqa: E402


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


def train_children(objective, archs, executor, batch) -> float:
    """Wall seconds to train ``archs`` (enqueued, so every executor trains the same children) with ``executor``."""
    from gpnas.nets.spaces import mobilenetv3_space

    study = Study(mobilenetv3_space(), sampler="random", seed=0, fit_model=False)
    for arch in archs:
        study.enqueue(arch)
    start = time.perf_counter()
    study.optimize(objective, budget=len(archs), batch_size=batch, executor=executor)
    elapsed = time.perf_counter() - start
    done = study.trials_in("done")
    assert len(done) == len(archs), [t.error for t in study.trials_in("failed")]
    return elapsed


def training_throughput(children: int, repeats: int) -> tuple[list, dict]:
    import ray

    from gpnas.nets.objectives import TrainingObjective
    from gpnas.nets.spaces import mobilenetv3_space
    from gpnas.run.ray import RayExecutor

    space = mobilenetv3_space()
    archs = [space.to_dict_arch(x) for x in space.sample(children, 1)]
    objective = TrainingObjective(epochs=1, device="cpu")
    objective.data()
    cores = os.cpu_count() or 1
    ray.init(address="local", num_cpus=max(4, cores), include_dashboard=False, log_to_driver=False)
    configs = [("in-process", 1, lambda: None)]
    configs += [(f"process pool, {w} worker(s)", w, lambda w=w: ProcessPoolExecutor(w)) for w in (1, 2)]
    configs += [(f"Ray, {w} worker(s)", w, lambda w=w: RayExecutor(n_workers=w, num_cpus=max(4, cores) / w,
                                                                    torch_threads=threads_per_worker(w)))
                for w in (1, 2, 4)]
    train_children(objective, archs[:2], configs[-1][2](), 4)  # start Ray's workers before timing
    rows, data, baseline = [], {}, None
    for name, batch, make in configs:
        times = []
        for _ in range(repeats):
            executor = make()
            times.append(train_children(objective, archs, executor, batch))
            if executor is not None:
                executor.shutdown()
        per_child = float(np.median(times)) / children
        baseline = baseline or per_child
        threads = cores if name == "in-process" else threads_per_worker(batch)
        rows.append([name, threads, f"{60 / per_child:.1f}", f"{per_child:.1f}", f"{per_child / baseline:.2f}x"])
        data[name] = times
        print(rows[-1], flush=True)
    ray.shutdown()
    return rows, data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--sleep", type=float, default=0.25)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--store-trials", type=int, default=300)
    parser.add_argument("--children", type=int, default=8, help="Children trained per executor (real training).")
    parser.add_argument("--training-repeats", type=int, default=1)
    args = parser.parse_args()
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    space = accel_nasbench_space()
    rows, data = [], {}
    configs = [("in-process (local)", 1, lambda: None), ("process pool, 2 workers", 2, lambda: ProcessPoolExecutor(2))]
    import ray

    from gpnas.run.ray import RayExecutor

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
    training_rows, training_data = training_throughput(args.children, args.training_repeats)
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
        + f"\n\nReal training ({args.children} MobileNetV3 children, 1 epoch on digits at 16x16, width 0.35, the same "
          f"children for every executor; median of {args.training_repeats} run(s); wall seconds per child = wall "
          "time / children):\n\n"
        + markdown_table(["executor", "torch threads per trial", "children / minute", "wall s / child",
                          "vs in-process"], training_rows)
        + f"\n\nStore overhead per trial ({args.store_trials} trials, instant objective, ms):\n\n"
        + markdown_table(["store", "median ms / trial", "range"], store_rows)
    )
    print(markdown)
    write_results("scale", markdown, {"throughput_seconds": data, "training_seconds": training_data,
                                      "store_overhead_ms": overhead, "args": vars(args)})


if __name__ == "__main__":
    main()
