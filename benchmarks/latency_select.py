"""``gpnas design`` and ``gpnas select --latency DEVICE=FEW.csv --costs TABLE.csv`` under HELP's protocol (NeurIPS
2021): the latency model the command line fits for a new device from ten measurements, its 95 % upper bound, and the
architectures it picks under a latency budget.

The costs table holds every network's latency on HELP's nine meta-training devices (HELP's setting).  For each test
device and split, :func:`gpnas.study.select.measurement_design` (what ``gpnas design`` runs) chooses ten networks,
their latencies on the device are "measured" (written to a CSV, as a user would), and
:func:`gpnas.study.select.latency_model` (what ``gpnas select`` runs, with :func:`cost_side_features` of the table)
predicts every network's.  Reported per device, mean over ``--splits`` splits (the design's seed):

* Spearman rho of the predicted median with the true latency, over the networks not measured;
* the share of those networks whose true latency is at most the upper end of the 95 % interval (the end the budget is
  checked on: 0.975 if the interval is calibrated);
* on NAS-Bench-201, choosing under budgets at the 10th / 30th / 50th percentile of the device's true latency: the
  network of best CIFAR-10 test accuracy (the table's true value, so that only the latency model decides) among those
  whose predicted upper end meets the budget.  The share of picks whose true latency meets the budget, and the regret:
  the best true accuracy under the budget minus the pick's (accuracy points; 0 is the pick a full latency table
  gives).

Methods, all in the same run on the same ten networks: the command line's model (the table's columns as inputs); the
architectures alone (the command line before the table's columns were used); the command line's model with the
budget checked on the median instead of the upper end; the command line's model on the normal scores of the log
latencies (``target_transform="copula"``) instead of their standardised values.  ``--devices validation`` runs HELP's
validation devices and ``--devices training`` each meta-training device left out in turn, the other eight as the
table (where settings are chosen); ``--space fbnet`` / ``ofa`` HELP's other spaces (no accuracies: no selection).

    python benchmarks/latency_select.py [--splits 5] [--measurements 10] [--space nasbench201] [--devices test]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import changed_options, markdown_table, write_results  # noqa: E402

from gpnas.io import latency as help_data  # noqa: E402
from gpnas.io.data import write_architectures  # noqa: E402
from gpnas.io.tables import load_table  # noqa: E402
from gpnas.study.select import cost_side_features, latency_model, measurement_design  # noqa: E402

DEVICES = {
    "nasbench201": (help_data.HELP_TRAIN_DEVICES, ("titanx_1", "titanx_32", "titanx_256", "gold_6240"),
                    help_data.HELP_TEST_DEVICES),
    "fbnet": (help_data.FBNET_TRAIN_DEVICES, help_data.FBNET_VALID_DEVICES, help_data.FBNET_TEST_DEVICES),
    "ofa": (help_data.OFA_TRAIN_DEVICES, help_data.OFA_VALID_DEVICES, help_data.OFA_TEST_DEVICES),
}
QUANTILES = (0.1, 0.3, 0.5)
METHODS = ("table + design (gpnas select)", "architectures alone", "table + design, budget on the median",
           "table + design, normal scores of the latency")


def accuracies(X: np.ndarray, data_dir) -> np.ndarray:
    """NB201 CIFAR-10 test accuracy of each row of ``X`` (NaN where the table has none)."""
    table = load_table("nb201-cifar10", data_dir)
    index = {tuple(x): float(v) for x, v in zip(table.X, table.y)}
    return np.array([index.get(tuple(x), np.nan) for x in X])


def pick(accuracy: np.ndarray, latency_bound: np.ndarray, budget: float) -> int | None:
    feasible = np.flatnonzero((latency_bound <= budget) & np.isfinite(accuracy))
    return None if not len(feasible) else int(feasible[np.argmax(accuracy[feasible])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--measurements", type=int, default=10)
    parser.add_argument("--space", choices=sorted(DEVICES), default="nasbench201")
    parser.add_argument("--devices", choices=["test", "validation", "training"], default="test",
                        help="HELP's test devices, its validation devices, or each training device left out in turn "
                             "with the other eight as the table (the last two are where a setting may be chosen)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--name", default="latency_select", help="results file name (results/NAME.md and .json)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    train_devices, valid_devices, test_devices = DEVICES[args.space]
    devices = {"test": test_devices, "validation": valid_devices, "training": train_devices}[args.devices]
    space, X, latency = help_data.load_help_latency(args.space, list(dict.fromkeys(train_devices + devices)),
                                                    args.data_dir)
    accuracy = accuracies(X, args.data_dir) if args.space == "nasbench201" else None
    row_of = {tuple(x): i for i, x in enumerate(X)}
    results: dict = {}
    with tempfile.TemporaryDirectory() as folder:
        few = Path(folder) / "few.csv"
        for device in devices:
            # the table: the training devices (with --devices training, the other eight), as `gpnas select --costs`
            # builds it
            side = cost_side_features(X, {d: latency[d] for d in train_devices if d != device})
            truth = latency[device]
            budgets = {q: float(np.quantile(truth, q)) for q in QUANTILES}
            cell: dict = {m: {"rho": [], "upper holds": [], **{f"feasible@{q}": [] for q in QUANTILES},
                              **{f"regret@{q}": [] for q in QUANTILES}} for m in METHODS}
            for split in range(args.splits):
                measured = measurement_design(side, args.measurements, seed=split)
                rows_measured = [row_of[tuple(x)] for x in measured]
                write_architectures(few, space, measured, {"ms": truth[rows_measured]})
                rest = np.ones(len(X), dtype=bool)
                rest[rows_measured] = False
                table = latency_model(few, space, X, random_state=split, table_side=side)[:2]  # median, upper
                alone = latency_model(few, space, X, random_state=split)[:2]
                copula = latency_model(few, space, X, random_state=split, table_side=side,
                                       target_transform="copula")[:2]
                for method, (median, bound) in zip(METHODS, (table, alone, (table[0], table[0]), copula)):
                    scores = cell[method]
                    scores["rho"].append(float(spearmanr(median[rest], truth[rest])[0]))
                    scores["upper holds"].append(float(np.mean(truth[rest] <= bound[rest])))
                    if accuracy is None:
                        continue
                    for q, budget in budgets.items():
                        chosen = pick(accuracy, bound, budget)
                        best = pick(accuracy, truth, budget)
                        scores[f"feasible@{q}"].append(float(chosen is not None and truth[chosen] <= budget))
                        scores[f"regret@{q}"].append(float("nan") if chosen is None
                                                     else float(accuracy[best] - accuracy[chosen]))
            results[device] = {m: {k: v for k, v in s.items() if v} for m, s in cell.items()}
            print(device, {m: round(float(np.mean(s["rho"])), 3) for m, s in cell.items()}, flush=True)

    def mean(values) -> str:
        values = np.asarray(values, dtype=float)
        return "none" if np.all(np.isnan(values)) else f"{np.nanmean(values):.3f}"

    rows = []
    for method in METHODS:
        for metric in results[devices[0]][method]:
            per_device = [mean(results[d][method][metric]) for d in devices]
            rows.append([method, metric] + per_device
                        + [mean([np.nanmean(results[d][method][metric]) for d in devices])])
    options = changed_options(args, {"space": "nasbench201", "devices": "test", "name": "latency_select"})
    markdown = (
        f"## A new device from {args.measurements} measurements through the command line (HELP's protocol, "
        f"{args.space}, {args.devices} devices)\n\n"
        f"Command: `python benchmarks/latency_select.py --splits {args.splits} --measurements {args.measurements}"
        f"{options}`. The costs table: every network's latency on HELP's nine meta-training devices "
        f"({', '.join(train_devices)}"
        + ("; each left out in turn, the other eight are the table" if args.devices == "training" else "")
        + f"); `gpnas design` chooses {args.measurements} networks (design seeds 0-"
        f"{args.splits - 1}), `gpnas select --latency DEVICE=FEW.csv --costs TABLE.csv` predicts the other "
        f"{len(X) - args.measurements:,}. Mean over the splits. `rho`: Spearman of the predicted median with the true "
        "latency; `upper holds`: share of networks whose true latency is at most the 95 % interval's upper end "
        "(0.975 if calibrated)"
        + ("; `feasible@q` / `regret@q`: the best CIFAR-10 accuracy (true values) whose predicted bound meets a "
           "budget at the device's q-quantile latency: share of picks that truly meet it, and accuracy points below "
           "the true best under it (0 = what a full latency table gives)" if accuracy is not None else "")
        + ".\n\n"
        + markdown_table(["method", "metric"] + list(devices) + ["mean"], rows))
    path = write_results(args.name, markdown, {"args": vars(args), "results": results})
    print(markdown)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
