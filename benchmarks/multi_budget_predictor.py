"""Does a predictor gain from short trainings at equal training cost?  NAS-Bench-201, 12 and 200 epochs.

A user with a fixed number of GPU epochs can train ``L`` architectures for 200 epochs, or spend part of it on many
12-epoch trainings.  For each NB201 table (deduplicated: one cell per isomorphism class, so no equivalent cell sits
on both sides of a split) and each training cost ``C = L x 200`` epochs (``L`` = 32, 64; ``--long-counts``), every method gets
random architectures for ``C`` epochs and predicts the 200-epoch accuracy of every class not trained for 200 epochs:

* ``200 only``: ``L`` classes at 200 epochs, :class:`~gpnas.GPNASRegressor` (the published-protocol predictor of
  ``benchmarks/predictor.py``) with maximum-likelihood hyperparameters, its default when this comparison was made
  (``hyperprior_scale=None``; the multi-budget model has no hyperparameter prior either);
* ``mixed, 1/2 long`` / ``1/4 long``: half (a quarter) of the epochs on ``L / 2`` (``L / 4``) classes at 200, the rest
  on 12-epoch trainings of other random classes plus the long ones (a nested design, as in multi-fidelity
  co-kriging), fitted by :class:`~gpnas.gp.multi_budget.MultiBudgetGP` as a multi-budget study fits it, read at 200
  (:class:`~gpnas.study.multi_budget.TargetBudgetPredictor`);
* ``200 only, multi-budget GP``: the multi-budget model fitted on the ``200 only`` draw (no short results): whether a
  difference between the mixed rows and ``200 only`` comes from the data or from the model;
* ``..., BoTorch``: the same draws fitted by BoTorch, the tool a user would otherwise reach for: ``SingleTaskGP``
  for ``200 only`` and ``SingleTaskMultiFidelityGP`` (fidelity 0 = 12 epochs, 1 = 200) for the mixed designs, on
  one-hot architectures (it has no cell encoding);
* ``12 only``: ``C / 12`` classes at 12 epochs, the same regressor (maximum likelihood) on the 12-epoch values,
  ranking the 200-epoch ones (a proxy: its intervals are in 12-epoch units, so it has no coverage).

Metrics over the held-out classes: Kendall tau against the 200-epoch accuracy; coverage of the nominal 95 % interval
of a 200-epoch value; the true 200-epoch rank (percentile) of the best predicted held-out class.

    python benchmarks/multi_budget_predictor.py [--seeds 10] [--datasets cifar10 cifar100 imagenet16-120]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import append_cached_run, markdown_table, read_cached_runs, write_results  # noqa: E402

#: Every finished fit, one JSON line each: a rerun (or one with more seeds) redoes only what is missing.
CACHE = Path(__file__).resolve().parent / "_cache" / "multi_budget_predictor_runs.jsonl"
KEYS = ("dataset", "n_long", "method", "seed")

SHORT, LONG = 12, 200
DATASETS = ("cifar10", "cifar100", "imagenet16-120")
LONG_COUNTS = (32, 64)
BOTORCH = ", BoTorch"
MB_ALONE = "200 only, multi-budget GP"
METHODS = ("200 only", MB_ALONE, "200 only" + BOTORCH, "mixed, 1/2 long", "mixed, 1/2 long" + BOTORCH, "mixed, 1/4 long",
           "mixed, 1/4 long" + BOTORCH, "12 only")


def botorch_fit_predict(space, X_train, fidelity, y, X_test):
    """BoTorch's ``SingleTaskGP`` (one fidelity) or ``SingleTaskMultiFidelityGP`` (its default linear-truncated
    fidelity kernel, Wu et al. 2019) on one-hot architectures, outcomes standardised, hyperparameters by
    ``fit_gpytorch_mll``; returns the mean and the 95 % interval of a measurement at fidelity 1 (200 epochs)."""
    import torch
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP, SingleTaskMultiFidelityGP
    from botorch.models.transforms import Standardize
    from gpytorch.mlls import ExactMarginalLogLikelihood

    from gpnas.space.encoding import Encoder

    onehot = Encoder(space.n_options, space.groups, "onehot").transform
    multi = fidelity is not None

    def inputs(Xa, s):
        Z = onehot(Xa)
        return torch.tensor(np.column_stack([Z, s]) if multi else Z, dtype=torch.float64)

    train = inputs(X_train, fidelity)
    Y = torch.tensor(np.asarray(y, dtype=float)[:, None], dtype=torch.float64)
    if multi:
        model = SingleTaskMultiFidelityGP(train, Y, data_fidelities=[train.shape[1] - 1],
                                          outcome_transform=Standardize(m=1))
    else:
        model = SingleTaskGP(train, Y, outcome_transform=Standardize(m=1))
    fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
    with torch.no_grad():
        posterior = model.posterior(inputs(X_test, np.ones(len(X_test))), observation_noise=True)
        mean = posterior.mean.squeeze(-1).numpy()
        std = posterior.variance.clamp_min(1e-12).sqrt().squeeze(-1).numpy()
    return mean, mean - 1.959964 * std, mean + 1.959964 * std


def deduplicated(dataset: str, data_dir):
    """``(space, X (m, d), y12 (m,), y200 (m,))``: one cell per isomorphism class."""
    from gpnas.io.tables import load_nasbench201_budgets

    table, ys = load_nasbench201_budgets(dataset, data_dir)
    _, first = np.unique(np.asarray(table.dedup_key), return_index=True)
    first = np.sort(first)
    return table.space, table.X[first], ys[SHORT][first], ys[LONG][first]


def fit_predict(method: str, space, X, y12, y200, n_long: int, rng):
    """Train ``method`` on random classes for ``n_long * 200`` epochs; return ``(held-out indices, mean, lower,
    upper)`` at 200 epochs (``lower``/``upper`` None when the method has no 200-epoch interval)."""
    from gpnas import GPNASRegressor
    from gpnas.study.multi_budget import TargetBudgetPredictor, budget_space
    from gpnas.sampling.multi_budget import MultiBudgetSampler

    cost = n_long * LONG
    order = rng.permutation(len(X))  # the same draw for every method of a row and seed
    botorch = method.endswith(BOTORCH)
    method = method.removesuffix(BOTORCH)
    if method == "200 only" and botorch:
        train, test = order[:n_long], order[n_long:]
        return (test, *botorch_fit_predict(space, X[train], None, y200[train], X[test]))
    if method == MB_ALONE:  # the multi-budget model on the long results alone: the model, without the short data
        train, test = order[:n_long], order[n_long:]
        spaced = budget_space(space, [SHORT, LONG])
        Xb = np.column_stack([X[train], np.ones(n_long, int)])
        predictor = TargetBudgetPredictor(MultiBudgetSampler([SHORT, LONG]).fit(spaced, Xb, y200[train]), 1.0, space)
        return (test, predictor.predict(X[test]), *predictor.predict_interval(X[test]))
    if method == "200 only":
        train = order[:n_long]
        model = GPNASRegressor(space=space, random_state=0, hyperprior_scale=None).fit(X[train], y200[train])
        test = order[n_long:]
        lower, upper = model.predict_interval(X[test])
        return test, model.predict(X[test]), lower, upper
    if method == "12 only":
        train = order[:cost // SHORT]
        model = GPNASRegressor(space=space, random_state=0, hyperprior_scale=None).fit(X[train], y12[train])
        test = order[:]  # nothing was trained for 200 epochs
        return test, model.predict(X[test]), None, None
    share = {"mixed, 1/2 long": 0.5, "mixed, 1/4 long": 0.25}[method]
    k_long = int(round(share * n_long))
    k_short = int(round((cost - k_long * LONG) / SHORT))
    short = order[:k_short]
    long = short[:k_long]  # nested: the long ones were trained short too
    test = np.setdiff1d(order, long)
    if botorch:
        X_train = np.vstack([X[short], X[long]])
        fidelity = np.concatenate([np.zeros(len(short)), np.ones(len(long))])
        return (test, *botorch_fit_predict(space, X_train, fidelity, np.concatenate([y12[short], y200[long]]),
                                           X[test]))
    sampler = MultiBudgetSampler([SHORT, LONG])
    spaced = budget_space(space, [SHORT, LONG])
    Xb = np.vstack([np.column_stack([X[short], np.zeros(len(short), int)]),
                    np.column_stack([X[long], np.ones(len(long), int)])])
    yb = np.concatenate([y12[short], y200[long]])
    predictor = TargetBudgetPredictor(sampler.fit(spaced, Xb, yb), 1.0, space)
    lower, upper = predictor.predict_interval(X[test])
    return test, predictor.predict(X[test]), lower, upper


def evaluate(test, mean, lower, upper, y200) -> dict:
    truth = y200[test]
    tau = float(kendalltau(mean, truth)[0])
    coverage = None if lower is None else float(np.mean((truth >= lower) & (truth <= upper)))
    best = test[int(np.argmax(mean))]
    percentile = float(np.mean(y200 > y200[best]) * 100)  # share of all classes better than the pick
    return {"tau": tau, "coverage": coverage, "top_pick_percentile": percentile}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10, help="Random draws per row (gpnas and the 12-only proxy).")
    parser.add_argument("--botorch-seeds", type=int, default=5,
                        help="Draws per BoTorch row (the first ones of the gpnas rows; its fits are the slow part).")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--long-counts", nargs="+", type=int, default=list(LONG_COUNTS))
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    rows, records = [], []
    cached = read_cached_runs(CACHE, KEYS)
    for dataset in args.datasets:
        space, X, y12, y200 = deduplicated(dataset, args.data_dir)
        for n_long in args.long_counts:
            results = {m: [] for m in METHODS}
            for method in METHODS:
                for seed in range(args.botorch_seeds if method.endswith(BOTORCH) else args.seeds):
                    record = cached.get((dataset, n_long, method, seed))
                    if record is None:
                        start = time.perf_counter()
                        out = evaluate(*fit_predict(method, space, X, y12, y200, n_long,
                                                    np.random.default_rng([seed, n_long])), y200)
                        record = {"dataset": dataset, "n_long": n_long, "method": method, "seed": seed, **out,
                                  "seconds": time.perf_counter() - start}
                        append_cached_run(CACHE, record)
                    results[method].append(record)
                    records.append(record)
                r = results[method]
                taus = np.array([o["tau"] for o in r])
                cover = [o["coverage"] for o in r if o["coverage"] is not None]
                row = [dataset, f"{n_long * LONG:,} ({n_long} x 200)", method, str(len(r)),
                       f"{taus.mean():.3f} ± {taus.std(ddof=1) / np.sqrt(len(taus)) if len(taus) > 1 else 0:.3f}",
                       f"{np.mean(cover):.0%}" if cover else "-",
                       f"{np.median([o['top_pick_percentile'] for o in r]):.2f}",
                       f"{np.median([o['seconds'] for o in r]):.1f}"]
                rows.append(row)
                print(" | ".join(row), flush=True)
    header = ["table", "training epochs", "method", "draws", "Kendall tau (mean ± se)", "95 % coverage",
              "best predicted: % of classes better (median)", "s / fit"]
    markdown = ("# Predictors at equal training cost: 200-epoch results only, or mixed with 12-epoch ones\n\n"
                "NAS-Bench-201, one cell per isomorphism class; random draws per row as listed (a BoTorch row uses "
                "the first draws of the gpnas rows: the same architectures); see the script's docstring for the "
                "designs. Held out: every class not trained for 200 epochs. Seconds per fit on 2 cores.\n\n"
                + markdown_table(header, rows))
    path = write_results("multi_budget_predictor", markdown, {"records": records, "args": vars(args)})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
