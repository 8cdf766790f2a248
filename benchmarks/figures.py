"""The README's figures, drawn from committed results files (no benchmark is run here).

* ``results/figures/latency.png`` from ``results/latency.json``: Spearman per unseen device with ten measurements,
  gpnas's best variant beside HELP's published figures and FLOPs.
* ``results/figures/latency_curve.png`` from ``results/latency*.json``: the mean Spearman against the number of
  measurements (5, 10, 20, 50 where run).
* ``results/figures/multi_objective.png`` from ``results/multi_objective_200.json`` and, where present,
  ``results/multi_objective_accel_200.json`` (fresh seeds, to 200 trials): the hypervolume share against the number of
  trials, per sampler, one panel per (dataset, device) pair.

    python benchmarks/figures.py
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
OUT = RESULTS / "figures"
COLORS = {"gpnas": "#67a9cf", "gpnas-ehvi": "#1b6ca8", "gpnas-study": "#08306b", "gpnas-study-ehvi": "#08306b",
          "gpnas-per-objective": "#67a9cf", "gpnas-ehvi-space": "#4eb3d3", "optuna-gp": "#e08214", "tpe": "#5aae61",
          "nsga2": "#9970ab", "random": "#999999"}
#: Legend labels of the multi-objective samplers (results files name them as benchmarks/multi_objective.py does).
LABELS = {"gpnas": "GPNASSampler, ParEGO", "gpnas-ehvi": "GPNASSampler, EHVI (default)", "gpnas-study": "gpnas study",
          "gpnas-study-ehvi": "gpnas study, EHVI", "gpnas-ehvi-space": "GPNASSampler(space=...), EHVI",
          "optuna-gp": "Optuna GPSampler", "tpe": "Optuna TPE",
          "nsga2": "Optuna NSGA-II"}


def _save(fig, name: str) -> Path:
    fig.tight_layout()
    OUT.mkdir(exist_ok=True)
    path = OUT / name
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def latency_figure() -> Path:
    data = json.loads((RESULTS / "latency.json").read_text())
    devices = list(data["help"])
    methods = {"gpnas, op counts + other devices standardised, a group each (farthest point)": (
                   "gpnas (farthest-point cells)", "#1b6ca8"),
               "BayesianRidge on other devices (random)": ("BayesianRidge (random cells)", "#bbbbbb"),
               "FLOPs alone": ("FLOPs alone", "#dddddd")}
    fig, ax = plt.subplots(figsize=(8, 3.8))
    width = 0.2
    x = np.arange(len(devices))
    for k, (key, (label, color)) in enumerate(methods.items()):
        values = [float(np.mean(data["rho"][d][key])) for d in devices]
        ax.bar(x + (k - 1.5) * width, values, width, label=label, color=color)
    ax.bar(x + 1.5 * width, [data["help"][d] for d in devices], width, label="HELP, published", color="#e08214")
    ax.set_xticks(x, devices)
    ax.set_ylim(0.5, 1.0)
    ax.set_ylabel("Spearman rho")
    ax.set_title(f"Latency on unseen devices from {data['args']['measurements']} measurements (NAS-Bench-201)")
    ax.legend(ncol=4, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
    return _save(fig, "latency.png")


def latency_curve_figure() -> Path | None:
    """Mean Spearman over HELP's six test devices against the number of measurements (``results/latency*.json``)."""
    runs = {}
    for path in sorted(RESULTS.glob("latency*.json")):
        data = json.loads(path.read_text())
        args = data.get("args", {})
        # NAS-Bench-201's test devices only: the validation, training-device and FBNet/OFA runs have other devices
        nb201_test = args.get("space", "nasbench201") == "nasbench201" and args.get("devices", "test") == "test"
        if "rho" in data and nb201_test:
            runs[int(args["measurements"])] = data
    if len(runs) < 2:
        return None
    counts = sorted(runs)
    methods = {"gpnas, op counts + other devices standardised, a group each (farthest point)": (
                   "gpnas, farthest-point cells", "#1b6ca8", "o"),
               "gpnas + other devices, a group each (farthest point)": (
                   "gpnas, farthest-point cells, choices + normal scores (before)", "#9ecae1", "o"),
               "gpnas + other devices, a group each (random)": ("gpnas, random cells", "#6baed6", "o"),
               "BayesianRidge on other devices (random)": ("BayesianRidge, random cells", "#888888", "s"),
               "gpnas, cell only (random)": ("gpnas, cell only", "#bbbbbb", "^")}
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for key, (label, color, marker) in methods.items():
        means = [float(np.mean([np.mean(runs[c]["rho"][d][key]) for d in runs[c]["help"]])) for c in counts]
        ax.plot(counts, means, marker=marker, color=color, label=label)
    flops = float(np.mean([runs[counts[0]]["rho"][d]["FLOPs alone"][0] for d in runs[counts[0]]["help"]]))
    ax.axhline(flops, color="#dddddd", linestyle="--", label="FLOPs alone")
    ax.plot([10], [float(np.mean(list(runs[counts[0]]["help"].values())))], marker="*", markersize=12,
            color="#e08214", linestyle="none", label="HELP, published (10)")
    ax.set_xscale("log")
    ax.set_xticks(counts, [str(c) for c in counts])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("measurements on the new device")
    ax.set_ylabel("mean Spearman rho, 6 devices")
    ax.set_title("Latency on unseen devices (NAS-Bench-201, HELP's protocol)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return _save(fig, "latency_curve.png")


def _pair_title(pair: str) -> str:
    """``cifar10:pixel2`` -> "cifar10 accuracy vs pixel2 latency"; Accel-NASBench's second objective is throughput."""
    dataset, device = pair.split(":")
    return f"{dataset} accuracy vs {device} {'throughput' if dataset == 'accel' else 'latency'}"


def multi_objective_figure() -> Path:
    results = json.loads((RESULTS / "multi_objective_200.json").read_text())["results"]
    accel = RESULTS / "multi_objective_accel_200.json"
    if accel.exists():  # the Accel-NASBench pairs, run separately (same seeds and samplers)
        results = results + json.loads(accel.read_text())["results"]
    pairs = list(dict.fromkeys(r["pair"] for r in results))
    columns = min(len(pairs), 2)
    rows = (len(pairs) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(4.4 * columns, 3.2 * rows), sharey=True, squeeze=False)
    axes = axes.ravel()
    for ax in axes[len(pairs):]:
        ax.set_visible(False)
    for ax, pair in zip(axes, pairs):
        for sampler in dict.fromkeys(r["sampler"] for r in results):
            mine = [r for r in results if r["pair"] == pair and r["sampler"] == sampler]
            if not mine:
                continue
            checkpoints = sorted(int(c) for c in mine[0]["share"])
            medians = [float(np.median([r["share"][str(c)] for r in mine])) for c in checkpoints]
            ax.plot(checkpoints, medians, marker="o", label=LABELS.get(sampler, sampler), color=COLORS.get(sampler))
        ax.set_title(_pair_title(pair), fontsize=10)
        ax.set_xlabel("trials")
        ax.grid(alpha=0.3)
    for ax in axes[::columns]:
        ax.set_ylabel("hypervolume / true front's")
    axes[0].legend(fontsize=7)
    return _save(fig, "multi_objective.png")


if __name__ == "__main__":
    for figure in (latency_figure, latency_curve_figure, multi_objective_figure):
        print(figure())
