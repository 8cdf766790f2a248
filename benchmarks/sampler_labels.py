"""Does ``GPNASSampler`` gain from Optuna's integer labels?  With integer choices (``suggest_categorical(name,
[0, 1, ...])``) the model's ``encoding="auto"`` may pick an ordinal encoding of arbitrary labels; with string labels
it cannot.  Queries to the global best on NAS-Bench-201 CIFAR-10, tuning seeds, both ways in the same run.

    python benchmarks/sampler_labels.py [--seeds 10]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

_here = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p not in ("", _here)] + [_here]  # behind site-packages: no script shadows a library
from _common import markdown_table, write_results  # noqa: E402
from search import Objective  # noqa: E402


def queries_to_best(objective: Objective, seed: int, labels: str, budget: int = 200) -> float:
    import optuna

    from gpnas.integrations.optuna import GPNASSampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    seen: list = []

    def evaluate(trial):
        x = tuple(int(str(trial.suggest_categorical(f"x{j}", [f"v{i}" if labels == "string" else i
                                                                for i in range(k)])).lstrip("v"))
                  for j, k in enumerate(objective.space.n_options))
        value, key = objective(x)
        if x not in {s[0] for s in seen}:
            seen.append((x, key))
            if key == objective.best_key or len(seen) >= budget:
                trial.study.stop()
        return value

    study = optuna.create_study(direction="maximize", sampler=GPNASSampler(seed=seed))
    study.optimize(evaluate, n_trials=5 * budget)
    keys = [k for _, k in seen]
    return float(keys.index(objective.best_key) + 1) if objective.best_key in keys else np.inf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    objective = Objective("nb201-cifar10")
    results = {labels: [queries_to_best(objective, seed, labels) for seed in range(args.seeds)]
               for labels in ("integer", "string")}
    rows = [[labels, f"{np.median(q):.1f}", " ".join(f"{v:.0f}" for v in q)] for labels, q in results.items()]
    md = ("# GPNASSampler with integer or string labels\n\nNAS-Bench-201 CIFAR-10, queries to the global best, seeds "
          f"0-{args.seeds - 1}. Command: `python benchmarks/sampler_labels.py --seeds {args.seeds}`.\n\n"
          + markdown_table(["labels", "median", "per seed"], rows))
    print(md)
    write_results("sampler_labels", md, {"args": vars(args), "results": results})


if __name__ == "__main__":
    main()
