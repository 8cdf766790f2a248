"""Why the default search needs its last queries on NAS-Bench-201: what its model can express, and what it fits.

Two measurements, written to ``results/search_diagnosis.md``:

* **What an additive model can find.**  Least squares on the *whole* table (every cell, normal scores of the
  accuracy) with one-hot choices (additive: one weight per position and option) and with one-hot choices plus
  one-hot pairs of positions (second order).  Reported: Kendall tau of the fit with the accuracy, how many cells the
  fit ranks above the global best, and the true rank of the fit's own top cell.  No model fitted on a few dozen cells
  can do better than these fits on all of them.
* **What the search's model fits.**  The flat model's runs on the tuning tables and seeds (``auto:features=choices``
  in ``benchmarks/search.py``, reproduced exactly: the default before the cell's operation counts joined the search's
  model on cell spaces), that model (:data:`gpnas.study.study.SEARCH_MODEL_DEFAULTS`) refitted on each run's
  first n queries: the kernel's amplitude ``sigma`` (the linear mean carries the rest), and how often it sits at its
  lower bound, where the model is the Bayesian linear mean over one-hot choices alone.

    python benchmarks/search_diagnosis.py [--seeds 20]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import itertools  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

_here = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p not in ("", _here)] + [_here]
from _common import markdown_table, write_results  # noqa: E402

TABLES = ["nb201-cifar10", "nb201-cifar100", "nb201-imagenet16-120", "macro"]
SEARCH_TABLES = ["nb201-cifar10", "nb201-cifar100"]  # tuning tables: this looks at the tuning seeds only
PREFIXES = [20, 30, 40]


def one_hot(X: np.ndarray, n_options: np.ndarray, pairs: bool) -> np.ndarray:
    """``[1, one-hot choices]`` and, with ``pairs``, one-hot pairs of positions ``(n, 1 + sum K + sum K_i K_j)``."""
    columns = [np.ones(len(X))]
    for j, k in enumerate(n_options):
        columns += [(X[:, j] == a).astype(float) for a in range(k)]
    if pairs:
        for i, j in itertools.combinations(range(X.shape[1]), 2):
            columns += [((X[:, i] == a) & (X[:, j] == b)).astype(float)
                        for a in range(n_options[i]) for b in range(n_options[j])]
    return np.column_stack(columns)


def whole_table_fits(name: str, data_dir) -> list:
    from scipy.stats import kendalltau, norm, rankdata

    from gpnas.io.tables import load_table

    table = load_table(name, data_dir).deduplicated()
    X, y = table.X, table.y
    scores = norm.ppf(rankdata(y) / (len(y) + 1))  # the copula's normal scores, as the model sees the target
    best = int(np.argmax(y))
    rows = []
    for label, pairs in (("additive (one-hot choices)", False), ("second order (+ one-hot pairs)", True)):
        F = one_hot(X, table.space.n_options, pairs)
        weights = np.linalg.lstsq(F, scores, rcond=None)[0]
        fit = F @ weights
        rows.append([name, label, F.shape[1], f"{kendalltau(fit, y)[0]:.3f}", int(np.sum(fit > fit[best])),
                     int(np.sum(y > y[int(np.argmax(fit))]))])
    return rows


def kernel_amplitudes(job: tuple) -> list:
    """Per prefix n: the fitted kernel amplitude of the flat search model on its own run's first n queries."""
    table_name, seed, data_dir = job
    warnings.filterwarnings("ignore")
    import search

    from gpnas.gp.regressor import GPNASRegressor
    from gpnas.study.study import SEARCH_MODEL_DEFAULTS

    objective = search.objective_for(table_name, data_dir)
    archs = np.array(search.run_gpnas(objective, "auto:features=choices", seed, 200, 1))
    values = np.array([objective(a)[0] for a in archs])
    out = []
    for n in PREFIXES:
        if n > len(archs):
            out.append(None)  # the run found the best sooner
            continue
        model = GPNASRegressor(space=objective.space, random_state=seed, **SEARCH_MODEL_DEFAULTS)
        model.fit(archs[:n], values[:n])
        sigma, ell = float(model.kernel_.sigma[0]), float(model.kernel_.lengthscale[0])
        # prior variance of a one-position edit, f(x) - f(x') with x, x' one position apart, halved: the kernel's
        # sigma^2 (1 - exp(-1 / ell^2)) (one-hot distance 2) against the linear mean's 2 v / 2 (two weights change)
        out.append({"sigma": sigma, "lengthscale": ell, "lower": float(model.sigma_bounds[0]),
                    "kernel_edit": sigma**2 * (1.0 - np.exp(-1.0 / ell**2)),
                    "mean_edit": float(model.prior_cov_[1, 1]), "queries": len(archs)})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20, help="tuning seeds 0.. of the flat model's runs")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    fits = [row for name in TABLES for row in whole_table_fits(name, args.data_dir)]
    jobs = [(t, s, args.data_dir) for t in SEARCH_TABLES for s in range(args.seeds)]
    with ProcessPoolExecutor(args.workers) as pool:
        amplitudes = dict(zip(jobs, pool.map(kernel_amplitudes, jobs)))
    rows, data = [], {"args": vars(args), "whole_table_fits": fits, "kernel": {}}
    for table in SEARCH_TABLES:
        for k, n in enumerate(PREFIXES):
            fitted = [amplitudes[(table, s, args.data_dir)][k] for s in range(args.seeds)]
            fitted = [f for f in fitted if f is not None]
            sigmas = np.array([f["sigma"] for f in fitted])
            ells = np.array([f["lengthscale"] for f in fitted])
            share = np.array([f["kernel_edit"] / (f["kernel_edit"] + f["mean_edit"]) for f in fitted])
            at_bound = int(np.sum(sigmas <= 1.01 * fitted[0]["lower"])) if fitted else 0
            rows.append([table, n, len(fitted), f"{np.median(sigmas):.3f}", f"{np.median(ells):.2f}",
                         f"{at_bound}/{len(fitted)}", f"{np.median(share):.3f}",
                         f"{np.mean(share < 0.05):.0%}"])
            data["kernel"].setdefault(table, {})[str(n)] = {
                "sigma": sigmas.tolist(), "lengthscale": ells.tolist(), "at_lower_bound": at_bound,
                "kernel_share_of_an_edit": share.tolist()}
    markdown = (
        "## What an additive model can find (least squares on every cell of the table, deduplicated)\n\n"
        + markdown_table(["table", "model", "weights", "Kendall tau", "cells ranked above the global best",
                          "true rank of the fit's top cell (0 = the best)"], fits)
        + f"\n\n## What the flat search model fits (`auto:features=choices` runs, tuning seeds 0-{args.seeds - 1}, "
        "refitted on "
        "the first n queries of each run that had not yet found the best)\n\n"
        "The kernel's amplitude `sigma` and lengthscale in model units (the target's normal scores have unit "
        "variance). The kernel is the only part that can express interactions; the linear mean is additive. Of the "
        "prior variance of a one-position edit (half the expected squared change), the kernel holds "
        "`sigma^2 (1 - exp(-1 / ell^2))` and the linear mean `v`, its weights' learnt prior variance: the share "
        "column is the kernel's part (median over runs), and how many runs it is below 5 % in (nearly additive).\n\n"
        + markdown_table(["table", "n", "runs still searching", "median sigma", "median lengthscale",
                          "sigma at its lower bound (1e-3)", "kernel's share of an edit's variance",
                          "runs with share < 5 %"], rows)
        + "\n\nCommand: `python benchmarks/search_diagnosis.py " + " ".join(sys.argv[1:]) + "`."
    )
    print(markdown)
    write_results("search_diagnosis", markdown, data)


if __name__ == "__main__":
    main()
