"""The predictor against PaddleSlim's GPNAS, scikit-learn's GP, BayesianRidge and XGBoost, in one run.

Sections (``--sections``), written to ``results/<name>.md`` and ``.json`` (commands below):

* ``protocol``: the published protocol on NAS-Bench-201 (as in PINAT and FLAN): train on ``n`` random
  architectures of the full table (15,625 cells, *not* deduplicated), Kendall tau and Spearman rho on all the
  remaining ones; ``n`` = 32, 64, 128, 256; 5 splits.  Published figures are quoted beside it.
* ``dedup``: NAS-Bench-Macro, Accel-NASBench and CVPR 2022 Track 2 (mean over its 8 tasks), deduplicated first (so
  equivalent networks never sit on both sides of a split); up to ``--test-size`` held-out architectures.
* ``calibration``: for gpnas and scikit-learn's GP on every tuning and held-out table, n = 32 ... 200: coverage of
  the 95 % interval `gpnas predict` writes (mean, min and max over splits), mean log predictive density, and the
  expected MSE of a new measurement against the realised MSE; then the tallies the calibration was chosen by.
* ``proxies``: the published protocol on NB201 CIFAR-10 and ImageNet16-120 with NAS-Bench-Suite-Zero's proxies as
  side features, against scikit-learn's GP and XGBoost given the same proxies, and each proxy's share.
* ``timing``: fit time against ``n`` and prediction throughput, gpnas next to scikit-learn's GP.
* ``transfer``: the paper's transfer (§1): a target task's tau against ``n`` with a model fitted on 200 source
  architectures as the prior (the paper's weights, its predictions in the mean, or co-kriging on both tasks' data),
  without it, and the source model alone; CIFAR-10 to ImageNet16-120 and CIFAR-100, and pairs held out of the
  co-kriging's design (:data:`TRANSFER_PAIRS`).

PaddleSlim's ``paddleslim/nas/gp_nas.py`` is taken from the ``paddleslim==2.6.0`` wheel, fetched with
``pip download --no-deps`` into ``benchmarks/_cache`` (never installed: the wheel pins an old OpenCV) and loaded by
file path with ``np.mat = np.asmatrix`` (removed in NumPy 2).  It is run as in its demo: ordinal encodings, the
initial mean from half the training set, the posterior from the other half, and the joint (kernel) predictor.

    python benchmarks/predictor.py                      # protocol, dedup, timing -> results/predictor.md
    python benchmarks/predictor.py --sections calibration --name predictor_calibration
    python benchmarks/predictor.py --sections proxies --name predictor_proxies
    python benchmarks/predictor.py --sections transfer --name predictor_transfer
    python benchmarks/predictor.py --ablation    # gpnas's own choices one at a time -> results/predictor_ablation.md
    python benchmarks/predictor.py --sections dedup --dedup-tables accel --dedup-sizes 20 --splits 40 \
        --with-ml --name predictor_accel20_ml   # maximum likelihood (the default before the prior) beside the default
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time
import warnings
import zipfile
from functools import partial
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau, norm, spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, write_results  # noqa: E402

from gpnas import GPNASRegressor  # noqa: E402
from gpnas.space.encoding import Encoder  # noqa: E402
from gpnas.space.linked_cell import LinkedCell  # noqa: E402
from gpnas.io.tables import CVPR22_TASKS, load_table  # noqa: E402

CACHE = Path(__file__).resolve().parent / "_cache"
NB201 = ["nb201-cifar10", "nb201-cifar100", "nb201-imagenet16-120"]
DEDUP = ["macro", "accel", "cvpr22"]
#: Published Kendall tau on NAS-Bench-201 CIFAR-10 under the same protocol (train on n, test on all the rest).
PUBLISHED = {"PINAT (AAAI 2023, Table 1)": {78: 0.549, 156: 0.631, 469: 0.706},
             "FLAN (ICML 2024, result files)": {64: 0.735, 128: 0.83, 256: 0.86}}


def load_paddleslim_gpnas():
    """PaddleSlim 2.6.0's GPNAS class, loaded from its wheel by file path (without paddle)."""
    CACHE.mkdir(exist_ok=True)
    wheels = sorted(CACHE.glob("paddleslim-2.6.0-*.whl"))
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "paddleslim==2.6.0", "-d",
                        str(CACHE)], check=True)
        wheels = sorted(CACHE.glob("paddleslim-2.6.0-*.whl"))
    # a file of this process's own: two runs at once once read each other's half-written copy
    source = CACHE / f"gp_nas_{os.getpid()}.py"
    with zipfile.ZipFile(wheels[0]) as wheel:
        source.write_bytes(wheel.read("paddleslim/nas/gp_nas.py"))
    np.mat = np.asmatrix  # removed in NumPy 2; the module uses it throughout
    try:
        spec = importlib.util.spec_from_file_location("paddleslim_gp_nas", source)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        source.unlink()
    return module.GPNAS


def make_methods(space, seed, ml: bool = False):
    """Each method: fit(X_train, y_train) -> predict(X_test) on integer choice indices; ``ml`` adds gpnas with
    maximum-likelihood hyperparameters (``GPNASRegressor(hyperprior_scale=None)``, the default before the
    hyperparameter prior)."""
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
    from sklearn.linear_model import BayesianRidge
    from xgboost import XGBRegressor

    onehot = Encoder(space.n_options, space.groups, "onehot").transform
    paddle_cls = load_paddleslim_gpnas()

    def gpnas(Xtr, ytr, Xte):
        return GPNASRegressor(space=space, random_state=seed).fit(Xtr, ytr).predict(Xte)

    def gpnas_choices(Xtr, ytr, Xte):
        model = GPNASRegressor(space=space, features=["choices"], random_state=seed)
        return model.fit(Xtr, ytr).predict(Xte)

    def gpnas_paper(Xtr, ytr, Xte):
        # the paper's configuration has no hyperparameter prior: its hyperparameters are maximum likelihood
        model = GPNASRegressor(space=space, encoding="ordinal", estimation="alternating", features=["choices"],
                               target_transform="standardize", hyperprior_scale=None, random_state=seed)
        return model.fit(Xtr, ytr).predict(Xte)

    def paddleslim(Xtr, ytr, Xte):
        gp = paddle_cls(2, 2)
        Xtr, Xte = Xtr.astype(float) + 1, Xte.astype(float) + 1
        gp.get_initial_mean(Xtr[0::2], ytr[0::2])
        gp.get_initial_cov(Xtr)
        gp.get_posterior_mean(Xtr[1::2], ytr[1::2])
        return np.asarray(gp.get_predict_jiont(Xte, Xtr, ytr)).ravel()

    def sklearn_gp(Xtr, ytr, Xte):
        kernel = ConstantKernel() * RBF(1.0) + WhiteKernel(1e-2)
        model = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=2, random_state=seed)
        return model.fit(onehot(Xtr), ytr).predict(onehot(Xte))

    def bayes_ridge(Xtr, ytr, Xte):
        return BayesianRidge().fit(onehot(Xtr), ytr).predict(onehot(Xte))

    def xgboost(Xtr, ytr, Xte):
        model = XGBRegressor(n_estimators=300, max_depth=4, learning_rate=0.05, subsample=0.8, random_state=seed,
                             n_jobs=1)
        return model.fit(onehot(Xtr), ytr).predict(onehot(Xte))

    def gpnas_ml(Xtr, ytr, Xte):
        return GPNASRegressor(space=space, hyperprior_scale=None, random_state=seed).fit(Xtr, ytr).predict(Xte)

    methods = {"gpnas": gpnas, **({"gpnas, maximum likelihood": gpnas_ml} if ml else {})}
    if space.cell is not None:
        methods["gpnas one-hot only"] = gpnas_choices
    methods.update({"gpnas (paper config)": gpnas_paper, "PaddleSlim GPNAS": paddleslim, "sklearn GP": sklearn_gp,
                    "BayesianRidge one-hot": bayes_ridge, "XGBoost one-hot": xgboost})
    if isinstance(space.cell, LinkedCell):
        # the peers given what gpnas's default sees in a linked-cell space: the choices and the wiring's structure
        structure = Encoder(space.n_options, space.groups, "onehot", GPNASRegressor(space=space).resolved_features(),
                            space.cell_features()).transform

        def xgboost_structure(Xtr, ytr, Xte):
            model = XGBRegressor(n_estimators=300, max_depth=4, learning_rate=0.05, subsample=0.8, random_state=seed,
                                 n_jobs=1)
            return model.fit(structure(Xtr), ytr).predict(structure(Xte))

        def bayes_ridge_structure(Xtr, ytr, Xte):
            return BayesianRidge().fit(structure(Xtr), ytr).predict(structure(Xte))

        methods.update({"BayesianRidge + linked cell": bayes_ridge_structure,
                        "XGBoost + linked cell": xgboost_structure})
    return methods


def make_ablation(space, seed):
    """gpnas's defaults against each choice beyond the paper undone (or added), one at a time."""
    variants = {"gpnas defaults": {}}
    if isinstance(space.cell, LinkedCell):
        variants.update({
            "one-hot choices only (no linked-cell features)": {"features": ["choices"]},
            "linked-cell features only": {"features": ["ops", "pairs", "outputs"]},
            "- outputs": {"features": ["choices", "ops", "pairs"]},
            "- pairs": {"features": ["choices", "ops", "outputs"]},
            "- ops": {"features": ["choices", "pairs", "outputs"]},
        })
    elif space.cell is not None:
        variants.update({
            "one-hot choices only (no cell features)": {"features": ["choices"]},
            "paths only": {"features": ["paths"]},
            "+ effective one-hot": {"features": ["effective", "paths", "ops"]},
            "+ one-hot choices": {"features": ["choices", "paths", "ops"]},
        })
    variants.update({
        "maximum likelihood (no hyperparameter prior)": {"hyperprior_scale": None},
        "+ interactions term": {"features": [*GPNASRegressor(space=space).resolved_features(), "interactions"]},
        "standardize targets": {"target_transform": "standardize"},
        "alternating estimation": {"estimation": "alternating"},
        "ordinal encoding": {"encoding": "ordinal", "features": ["choices"]},
        "paper config (ordinal, alternating, standardize, no cell features, maximum likelihood)": {
            "target_transform": "standardize", "estimation": "alternating", "encoding": "ordinal",
            "features": ["choices"], "hyperprior_scale": None},
    })

    def runner(params):
        return lambda Xtr, ytr, Xte: GPNASRegressor(space=space, random_state=seed, **params).fit(Xtr, ytr).predict(Xte)

    return {name: runner(params) for name, params in variants.items()}


def _only(methods_for, names, space, seed):
    """``methods_for(space, seed)`` restricted to ``names`` (an unknown name is an error naming the known ones)."""
    methods = methods_for(space, seed)
    unknown = [n for n in names if n not in methods]
    if unknown:
        raise SystemExit(f"unknown method(s) {unknown}; expected some of {list(methods)}")
    return {n: methods[n] for n in names}


def _tables(name, data_dir, dedup):
    """``[(table, weight)]``: CVPR 2022 Track 2 stands for its 8 tasks, each a table."""
    names = [f"cvpr22-{task}" for task in CVPR22_TASKS] if name == "cvpr22" else [name]
    tables = [load_table(n, data_dir) for n in names]
    return [t.deduplicated() if dedup else t for t in tables]


def ranking(args, methods_for, names, sizes, dedup, test_size):
    """Kendall tau and Spearman rho per table, n, method: ``{table: {n: {method: {"tau": [...], "rho": [...]}}}}``."""
    results, seconds = {}, {}
    for name in names:
        tables = _tables(name, args.data_dir, dedup)
        for n in sizes:
            if n >= len(tables[0].y):
                continue
            for split in range(args.splits):
                rng = np.random.default_rng(1000 * split + n)
                order = rng.permutation(len(tables[0].y))
                tr, te = order[:n], order[n:] if test_size is None else order[n : n + test_size]
                scores: dict = {}
                for table in tables:  # CVPR 2022: the same split on each task, scores averaged over the tasks
                    for method, run in methods_for(table.space, split).items():
                        start = time.perf_counter()
                        pred = run(table.X[tr], table.y[tr], table.X[te])
                        seconds.setdefault(method, []).append(time.perf_counter() - start)
                        tau, rho = kendalltau(pred, table.y[te])[0], spearmanr(pred, table.y[te])[0]
                        entry = scores.setdefault(method, {"tau": [], "rho": []})
                        # a failed (constant) prediction stays NaN: it counts as a failure, never as tau 0
                        entry["tau"].append(float(tau))
                        entry["rho"].append(float(rho))
                for method, entry in scores.items():
                    by_n = results.setdefault(name, {}).setdefault(str(n), {})
                    cell = by_n.setdefault(method, {"tau": [], "rho": []})
                    cell["tau"].append(float(np.mean(entry["tau"])))
                    cell["rho"].append(float(np.mean(entry["rho"])))
            row = results[name][str(n)]
            print(f"{name:22s} n={n:4d} " + "  ".join(f"{m}={np.mean(v['tau']):.3f}" for m, v in row.items()),
                  flush=True)
    return results, seconds


def ranking_markdown(results, metric, caption):
    sections = [caption]
    for name, by_n in results.items():
        methods = list(next(iter(by_n.values())))
        rows = []
        for n, by_method in by_n.items():
            means = {m: np.mean(v[metric]) for m, v in by_method.items()}  # NaN when any split failed
            best = np.nanmax(list(means.values()))
            cells = []
            for m in methods:
                v = by_method[m][metric]
                failed = int(np.sum(~np.isfinite(v)))
                text = (f"failed in {failed} of {len(v)} splits" if failed else
                        f"{np.mean(v):.3f} ± {np.std(v, ddof=1) / np.sqrt(len(v)) if len(v) > 1 else 0:.3f}")
                cells.append(f"**{text}**" if means[m] == best else text)
            rows.append([n] + cells)
        sections.append(f"### {name}\n\n" + markdown_table(["n train"] + methods, rows))
    return "\n\n".join(sections)


#: Where calibration choices were made (as in ``benchmarks/search.py``) and where they are only judged.
TUNING = ["nb201-cifar10", "nb201-cifar100", "macro", "cvpr22-cplfw", "cvpr22-market1501"]
HELD_OUT = ["nb201-imagenet16-120", "accel", "cvpr21"] + [f"cvpr22-{t}" for t in CVPR22_TASKS
                                                          if f"cvpr22-{t}" not in TUNING] + [
    "nb201-cifar10-12ep", "nb201-imagenet16-120-12ep"]
CALIBRATION_SIZES = (32, 50, 100, 200)
COVERAGE_WINDOW = (0.90, 0.98)


def best_possible_share(n: int, window=COVERAGE_WINDOW) -> float:
    """The largest share of splits whose coverage can fall in ``window`` when the interval's width is learnt from
    ``n`` exchangeable residuals (its ``k``-th smallest, best ``k``): the coverage given the training set is then
    ``Beta(k, n + 1 - k)`` (split-conformal prediction, "training-conditional" coverage: Vovk 2012; Angelopoulos &
    Bates, "A Gentle Introduction to Conformal Prediction")."""
    from scipy.stats import beta

    return max(float(beta.cdf(window[1], k, n + 1 - k) - beta.cdf(window[0], k, n + 1 - k))
               for k in range(1, n + 1))


def calibration(args):
    """Per table (tuning and held-out) and n: coverage of the CLI's 95 % interval (mean, min, max over splits),
    MLPD, and the expected MSE of a new measurement against the realised MSE, for gpnas and scikit-learn's GP."""
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    out = {}
    for name in args.tables or TUNING + HELD_OUT:
        table = load_table(name, args.data_dir).deduplicated()
        for n in CALIBRATION_SIZES:
            if n >= len(table.y) - 30:
                continue
            rows: dict = {}
            for split in range(args.splits):
                order = np.random.default_rng(1000 * split + n).permutation(len(table.y))
                tr, te = order[:n], order[n : n + args.test_size]
                yte = table.y[te]
                model = GPNASRegressor(space=table.space, random_state=split).fit(table.X[tr], table.y[tr])
                lo, hi = model.predict_interval(table.X[te])  # what `gpnas predict` writes as lower, upper
                realised = float(np.mean((model.predict(table.X[te]) - yte) ** 2))
                alternatives = _alternatives(model, table.X[te], yte)
                rows.setdefault("gpnas", []).append({**alternatives,
                    "coverage": float(np.mean((yte >= lo) & (yte <= hi))),
                    "mlpd": float(np.mean(model.log_predictive_density(table.X[te], yte))),
                    "mlpd_gaussian": float(np.mean(model.log_predictive_density(table.X[te], yte, calibrated=False))),
                    "expected": model.expected_mse(table.X[te]),
                    "expected_uncalibrated": model.expected_mse(table.X[te], calibrated=False),
                    "theorem3": model.expected_mse(table.X[te], include_noise=False, calibrated=False),
                    "realised": realised, "dof": model.calibration_.dof, "scale": model.calibration_.scale,
                    "folds": model.calibration_.folds})
                onehot = Encoder(table.space.n_options, table.space.groups, "onehot").transform
                kernel = ConstantKernel() * RBF(1.0) + WhiteKernel(1e-2)
                sk = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=2,
                                              random_state=split).fit(onehot(table.X[tr]), table.y[tr])
                mu, sd = sk.predict(onehot(table.X[te]), return_std=True)  # includes the fitted white noise
                rows.setdefault("sklearn GP", []).append({
                    "coverage": float(np.mean(np.abs(yte - mu) <= norm.ppf(0.975) * sd)),
                    "mlpd": float(np.mean(norm.logpdf(yte, mu, sd))),
                    "expected": float(np.mean(sd**2)), "realised": float(np.mean((mu - yte) ** 2))})
            out.setdefault(name, {})[str(n)] = rows
            g = rows["gpnas"]
            print(f"{name:26s} n={n:3d} coverage {min(r['coverage'] for r in g):.3f}-"
                  f"{max(r['coverage'] for r in g):.3f} mlpd {np.mean([r['mlpd'] for r in g]):.2f} "
                  f"(sklearn {np.mean([r['mlpd'] for r in rows['sklearn GP']]):.2f}) E/R "
                  f"{np.mean([r['expected'] for r in g]) / np.mean([r['realised'] for r in g]):.2f}", flush=True)
    return out


#: Interval rules and variance floors compared on the tuning tables (the defaults: "jackknife" and 3).
INTERVAL_RULES = ("jackknife", "cv Student-t", "cv conformal", "cv quantile")
MSE_DOF_FLOORS = (2.2, 2.5, 3.0, 5.0)


def _alternatives(model, X, y):
    """What the calibration choices were made from: the coverage of each interval rule, the expected MSE under each
    variance floor of the Student-t, and two diagnostics (leave-one-out and held-out mean squared standardised
    residuals, model units)."""
    from scipy.stats import t as student_t

    mean, var = model.predict_latent(X, include_noise=True)
    std, z = np.sqrt(var), model.target_.forward(y)
    cal = model.calibration_
    scores = np.sort(np.abs(cal.scores[np.isfinite(cal.scores)]))
    rank = min(int(np.ceil(0.95 * (scores.size + 1))), scores.size)
    widths = {"jackknife": model.interval_halfwidth(0.95),
              "cv Student-t": float(cal.scale * student_t.ppf(0.975, cal.dof)),
              "cv conformal": float(scores[rank - 1]), "cv quantile": float(np.quantile(scores, 0.95))}
    latent, latent_var = model.predict_latent(X)
    point = model.target_.moments(latent, np.sqrt(latent_var))[0]
    expected = {}
    for floor in MSE_DOF_FLOORS:
        dof = max(cal.dof, floor)
        factor = cal.scale**2 * (dof / (dof - 2) if np.isfinite(dof) else 1.0)
        m, v = model.target_.moments(latent, np.sqrt((latent_var + model.noise_) * factor))
        expected[str(floor)] = float(np.mean(v + (m - point) ** 2))
    return {"coverage_rules": {rule: float(np.mean(np.abs(z - mean) <= w * std)) for rule, w in widths.items()},
            "expected_floors": expected,
            "loo_ms": float(np.mean(model.loo_standardized_residuals_**2)),
            "held_out_ms": float(np.mean(((z - mean) / std) ** 2))}


def choices_markdown(out):
    """The tuning tables' tally of each interval rule and variance floor, with the held-out tables' beside it."""
    lo, hi = COVERAGE_WINDOW
    tally: dict = {}
    for name, by_n in out.items():
        role = "tuning" if name in TUNING else "held-out"
        for n, by_method in by_n.items():
            g = by_method["gpnas"]
            for rule in INTERVAL_RULES:
                cov = np.array([r["coverage_rules"][rule] for r in g])
                cell = tally.setdefault(("interval", rule, role), [0, 0])
                cell[0] += int(np.sum((cov >= lo) & (cov <= hi)))
                cell[1] += cov.size
            if int(n) >= 50:
                realised = np.mean([r["realised"] for r in g])
                for floor in MSE_DOF_FLOORS:
                    ratio = np.mean([r["expected_floors"][str(floor)] for r in g]) / realised
                    cell = tally.setdefault(("floor", str(floor), role), [0, 0])
                    cell[0] += int(0.67 <= ratio <= 1.5)
                    cell[1] += 1
    rows = [[kind, choice] + [f"{tally[(kind, choice, role)][0]}/{tally[(kind, choice, role)][1]}"
                              for role in ("tuning", "held-out")]
            for kind, choice, _ in sorted({k for k in tally if k[2] == "tuning"}, key=lambda k: (k[0] != "interval",))]
    def best(kind):
        options = {k[1]: tally[k][0] for k in tally if k[0] == kind and k[2] == "tuning"}
        top = max(options.values())
        return " = ".join(sorted(o for o, v in options.items() if v == top))

    diag = []
    for name, by_n in out.items():
        g = [r for by_method in by_n.values() for r in by_method["gpnas"]]
        diag.append([name, f"{np.mean([r['loo_ms'] for r in g]):.2f}", f"{np.mean([r['held_out_ms'] for r in g]):.1f}"])
    return ("### How the calibration was chosen\n\n"
            f"interval: splits with coverage in {lo:.2f}-{hi:.2f} (all n); floor: table-and-n cells at n >= 50 whose "
            "expected MSE (noise and the cross-validated Student-t's variance, its degrees of freedom floored there) "
            f"is within 0.67-1.5x the realised one. The tuning tables' best: interval {best('interval')}, floor "
            f"{best('floor')}; the defaults are jackknife and 3.\n\n"
            + markdown_table(["choice", "option", "tuning tables", "held-out tables"], rows)
            + "\n\n### Why the model's own Gaussian needed correcting\n\nMean squared standardised residual in model "
            "units (mean over n and splits): leave-one-out on the training data (closed form, the hyperparameters "
            "fitted with the point) against the held-out architectures.\n\n"
            + markdown_table(["table", "leave-one-out", "held-out"], diag))


def _ratio(rows, key="expected"):
    return float(np.mean([r[key] for r in rows]) / np.mean([r["realised"] for r in rows]))


def calibration_markdown(out, splits):
    lo, hi = COVERAGE_WINDOW
    rows, by_role = [], {}
    for name, by_n in out.items():
        role = "tuning" if name in TUNING else "held-out"
        for n, by_method in by_n.items():
            g, sk = by_method["gpnas"], by_method["sklearn GP"]
            cov = np.array([r["coverage"] for r in g])
            inside = int(np.sum((cov >= lo) & (cov <= hi)))
            tally = by_role.setdefault((role, int(n)), [0, 0])
            tally[0] += inside
            tally[1] += cov.size
            mlpd, mlpd_sk = np.mean([r["mlpd"] for r in g]), np.mean([r["mlpd"] for r in sk])
            ratio = _ratio(g)
            rows.append([name, role, n, f"{cov.mean():.3f}", f"{cov.min():.3f}-{cov.max():.3f}",
                         f"{inside}/{cov.size}", f"{np.mean([r['mlpd_gaussian'] for r in g]):.2f}",
                         f"**{mlpd:.2f}**" if mlpd >= mlpd_sk else f"{mlpd:.2f}", f"{mlpd_sk:.2f}",
                         f"{_ratio(g, 'theorem3'):.2f}", f"{_ratio(g, 'expected_uncalibrated'):.2f}",
                         f"**{ratio:.2f}**" if 0.67 <= ratio <= 1.5 else f"{ratio:.2f}", f"{_ratio(sk):.2f}",
                         f"{np.median([r['dof'] for r in g]):.1f}"])
    header = ["table", "role", "n", "coverage (mean)", "coverage (min-max over splits)",
              f"splits in {lo:.2f}-{hi:.2f}", "MLPD gpnas Gaussian", "MLPD gpnas", "MLPD sklearn GP",
              "E/R Theorem 3", "E/R + noise", "E/R + noise, cross-validated", "E/R sklearn GP", "median nu"]
    bound_rows = []
    for n in CALIBRATION_SIZES:
        cells = []
        for role in ("tuning", "held-out"):
            inside, total = by_role.get((role, n), (0, 0))
            cells.append(f"{inside}/{total} ({inside / total:.0%})" if total else "-")
        bound_rows.append([n] + cells + [f"{best_possible_share(n):.0%}"])
    return (f"## Calibration ({splits} splits per table and n, deduplicated tables, up to 2,000 held out)\n\n"
            "Tuning tables chose the calibration (interval rule, cross-validated Student-t and its variance floor); "
            "held-out tables tuned nothing. Coverage: share of held-out values inside the 95 % interval `gpnas predict` "
            "writes (`predict_interval`: the measurement's Gaussian widened to the leave-one-out jackknife "
            "quantile). MLPD: mean log predictive density of the held-out values in their own units (higher is "
            "better; bold where gpnas is at least scikit-learn's GP); *Gaussian* is gpnas's own predictive, the "
            "next column the cross-validated Student-t it now reports. E/R: expected over realised MSE of the "
            "predicted mean (ratio of the means over splits; bold within 0.67-1.5): Theorem 3 alone (noise-free), "
            "plus the noise variance, and the variance of the cross-validated Student-t (what `expected_mse` returns "
            "and the Theorem 3 stop uses).\n\n"
            + markdown_table(header, rows)
            + "\n\n### Splits whose coverage falls in the window, against the best any learnt width can do\n\n"
            "A width learnt from n exchangeable residuals (split-conformal's k-th smallest, for the best k) "
            "covers, given the training set, a Beta(k, n + 1 - k) share of new values; the last column is the "
            "largest probability that share lands in the window. No method that learns its width from n points "
            "can expect more splits inside, short of knowing the true predictive distribution.\n\n"
            + markdown_table(["n", "tuning tables", "held-out tables", "best possible (Beta bound)"], bound_rows))


#: Published figures quoted beside the proxies section (NB201 CIFAR-10, Kendall tau).
PROXY_ANCHORS = ("GRAF + proxies + random forest (ICML 2024, the authors' notebook; CIFAR-10 validation accuracy): "
                 "0.767 at n = 100; FLAN (ICML 2024): 0.735 / 0.830 / 0.860 at 64 / 128 / 256; AZ-NAS (CVPR 2024), "
                 "training-free: 0.741 at n = 0")


def proxies(args):
    """The published protocol on the NB201 cells with published zero-cost proxies: gpnas without them, with them
    (one kernel group, or a group each), scikit-learn's GP and XGBoost on them; and each proxy's share at n = 128."""
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
    from xgboost import XGBRegressor

    from gpnas.gp.side_features import NormalScores
    from gpnas.io.proxies import NB201_PROXIES, load_nb201_proxies

    out = {}
    for dataset, proxy_set in (("cifar10", "cifar10"), ("imagenet16-120", "imagenet16-120")):
        table = load_table(f"nb201-{dataset}", args.data_dir)
        side = load_nb201_proxies(proxy_set, data_dir_=args.data_dir)
        known = side.covers(table.X)
        X, y = table.X[known], table.y[known]
        F = NormalScores(side.values).transform(side.lookup(X))
        onehot = Encoder(table.space.n_options, table.space.groups, "onehot").transform(X)

        def sklearn_gp(tr, seed):
            kernel = ConstantKernel() * RBF(np.ones(F.shape[1])) + WhiteKernel(1e-2)
            model = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=1, random_state=seed)
            return model.fit(F[tr], y[tr]).predict(F)

        def xgboost(tr, seed):
            Z = np.hstack([onehot, F])
            model = XGBRegressor(n_estimators=300, max_depth=4, learning_rate=0.05, subsample=0.8, random_state=seed,
                                 n_jobs=1)
            return model.fit(Z[tr], y[tr]).predict(Z)

        methods = {
            "gpnas, no proxies": lambda tr, seed: GPNASRegressor(space=table.space, random_state=seed).fit(
                X[tr], y[tr]).predict(X),
            "gpnas + published proxies": lambda tr, seed: GPNASRegressor(
                space=table.space, side_features=side, random_state=seed).fit(X[tr], y[tr]).predict(X),
            "gpnas + published proxies, a group each": lambda tr, seed: GPNASRegressor(
                space=table.space, side_features=side, side_grouping="each", random_state=seed).fit(
                X[tr], y[tr]).predict(X),
            "sklearn GP on the proxies (ARD)": sklearn_gp,
            "XGBoost on one-hot + proxies": xgboost,
        }
        by_n = {}
        for n in (32, 64, 100, 128, 256):
            cell = {}
            for split in range(args.splits):
                order = np.random.default_rng(1000 * split + n).permutation(len(y))
                tr, te = order[:n], order[n:]
                for method, run in methods.items():
                    cell.setdefault(method, []).append(float(kendalltau(run(tr, split)[te], y[te])[0]))
            by_n[str(n)] = cell
            print(f"proxies {dataset} n={n}", {m: round(float(np.mean(v)), 3) for m, v in cell.items()}, flush=True)
        ablation = {}
        n = 128
        for name in NB201_PROXIES:
            rest = [p for p in NB201_PROXIES if p != name]
            for label, names in ((f"only {name}", [name]), (f"all but {name}", rest)):
                taus = []
                for split in range(args.splits):
                    order = np.random.default_rng(1000 * split + n).permutation(len(y))
                    tr, te = order[:n], order[n:]
                    model = GPNASRegressor(space=table.space, side_features=side.subset(names), random_state=split)
                    taus.append(float(kendalltau(model.fit(X[tr], y[tr]).predict(X[te]), y[te])[0]))
                ablation[label] = taus
        print(f"proxies {dataset} ablation", {m: round(float(np.mean(v)), 3) for m, v in ablation.items()}, flush=True)
        out[dataset] = {"cells": int(known.sum()), "by_n": by_n, "ablation_n128": ablation}
    return out


def proxies_markdown(out, splits):
    parts = [f"## Zero-cost proxies as side features (published protocol, {splits} splits)\n\n"
             "NAS-Bench-Suite-Zero's 13 proxies of each NB201 cell (`../shared/data/nb201-zero-cost`, computed on "
             "the dataset's own images), joined by isomorphism class: the comparison runs on the "
             f"{out['cifar10']['cells']:,} of 15,625 cells that have them (train on n random cells, rank all the "
             "others). gpnas takes them as `side_features` (normal scores, in the kernel and the linear mean). "
             f"Published, for reference: {PROXY_ANCHORS}. Mean ± standard error of Kendall tau; best per row in bold."]
    for dataset, block in out.items():
        methods = list(next(iter(block["by_n"].values())))
        rows = []
        for n, cell in block["by_n"].items():
            means = {m: np.mean(v) for m, v in cell.items()}
            top = max(means.values())
            rows.append([n] + [(f"**{np.mean(v):.3f} ± {np.std(v, ddof=1) / np.sqrt(len(v)):.3f}**" if means[m] == top
                                else f"{np.mean(v):.3f} ± {np.std(v, ddof=1) / np.sqrt(len(v)):.3f}")
                               for m, v in cell.items()])
        parts.append(f"### nb201-{dataset}\n\n" + markdown_table(["n train"] + methods, rows))
        base = np.mean(block["by_n"]["128"]["gpnas + published proxies"])
        abl = [[name.split(" ", 1)[1] if name.startswith("only") else "", f"{np.mean(v):.3f}"]
               for name, v in block["ablation_n128"].items() if name.startswith("only")]
        but = {name[len("all but "):]: np.mean(v) for name, v in block["ablation_n128"].items()
               if name.startswith("all but")}
        rows = [[p, tau, f"{but[p]:.3f} ({but[p] - base:+.3f})"] for p, tau in abl]
        parts.append(f"Each proxy at n = 128 on nb201-{dataset} (all 13: {base:.3f}): gpnas with that proxy alone, "
                     "and with all the others (the change from all 13 in brackets).\n\n"
                     + markdown_table(["proxy", "alone", "all but it"], rows))
    return "\n\n".join(parts)


def timing(args):
    """Fit time against n and prediction throughput (mean and std), gpnas next to scikit-learn's GP."""
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    from gpnas.nets import mobilenetv3_space

    space = mobilenetv3_space()
    rng = np.random.default_rng(0)
    onehot = Encoder(space.n_options, space.groups, "onehot").transform
    fit_rows, out = [], {"fit": {}, "predict": {}}
    for n in (50, 100, 200, 500, 1000):
        X = space.sample(n, random_state=rng)
        y = X.sum(axis=1) + 0.3 * (X[:, 0] * X[:, 1]) + rng.standard_normal(n)
        ours, theirs = [], []
        for seed in range(3):
            start = time.perf_counter()
            GPNASRegressor(space=space, random_state=seed).fit(X, y)
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            kernel = ConstantKernel() * RBF(1.0) + WhiteKernel(1e-2)
            GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=2, random_state=seed).fit(
                onehot(X), y)
            theirs.append(time.perf_counter() - start)
        out["fit"][n] = {"gpnas": ours, "sklearn GP": theirs}
        fit_rows.append([n, f"{np.median(ours) * 1000:.0f}", f"{np.median(theirs) * 1000:.0f}",
                         f"{np.median(theirs) / np.median(ours):.1f}x"])
        print("fit", n, np.median(ours), np.median(theirs), flush=True)
    X = space.sample(200, random_state=1)
    y = X.sum(axis=1) + rng.standard_normal(200)
    model = GPNASRegressor(space=space, random_state=0).fit(X, y)
    kernel = ConstantKernel() * RBF(1.0) + WhiteKernel(1e-2)
    sk = GaussianProcessRegressor(kernel, normalize_y=True, random_state=0).fit(onehot(X), y)
    pool = space.sample(args.predict_size, random_state=2)
    start = time.perf_counter()
    model.predict(pool, return_std=True)
    ours = time.perf_counter() - start
    start = time.perf_counter()
    for chunk in range(0, len(pool), 100_000):
        sk.predict(onehot(pool[chunk : chunk + 100_000]), return_std=True)
    theirs = time.perf_counter() - start
    out["predict"] = {"n_predictions": len(pool), "gpnas": ours, "sklearn GP": theirs}
    print("predict", ours, theirs, flush=True)
    markdown = ("### Fit time against n (MobileNetV3 space, 45 choices, median of 3, ms)\n\n"
                + markdown_table(["n", "gpnas", "sklearn GP (2 restarts)", "ratio"], fit_rows)
                + f"\n\n### Prediction, mean and std of {len(pool):,} architectures (model of 200, 45 choices)\n\n"
                + markdown_table(["method", "seconds", "predictions per second"],
                                 [["gpnas", f"{ours:.2f}", f"{len(pool) / ours:,.0f}"],
                                  ["sklearn GP (one-hot, chunks of 100k)", f"{theirs:.2f}",
                                   f"{len(pool) / theirs:,.0f}"]]))
    return out, markdown


#: Transfer pairs (source, target).  The first two are the issue's; the design (co-kriging, its linear term, a
#: normal-score map per task) was chosen while looking at them.  The others were never looked at while choosing:
#: a noisy short-training target, and CVPR 2022 Track 2 task pairs that rank alike (Market-1501 and DukeMTMC, tau
#: 0.60 over the table; MSMT17 and VeRi, 0.55) or not at all (Market-1501 and CPLFW, 0.05).
TRANSFER_PAIRS = [("nb201-cifar10", "nb201-imagenet16-120", "tuned"), ("nb201-cifar10", "nb201-cifar100", "tuned"),
                  ("nb201-cifar10", "nb201-imagenet16-120-12ep", "held out"),
                  ("cvpr22-market1501", "cvpr22-dukemtmc", "held out"), ("cvpr22-msmt17", "cvpr22-veri", "held out"),
                  ("cvpr22-market1501", "cvpr22-cplfw", "held out")]
TRANSFER_SIZES = (10, 20, 50, 100)
#: Source architectures of every transfer (the prior model is fitted on them; disjoint from the target's).
TRANSFER_SOURCE_N = 200


def aligned_tables(source_name: str, target_name: str, data_dir):
    """The two deduplicated tables restricted to the architectures both hold, in the same row order."""
    source = load_table(source_name, data_dir).deduplicated()
    target = load_table(target_name, data_dir).deduplicated()
    common, in_source, in_target = np.intersect1d(source.dedup_key, target.dedup_key, return_indices=True)
    if not np.array_equal(source.X[in_source], target.X[in_target]):
        raise ValueError(f"{source_name} and {target_name} encode their common architectures differently")
    return source.X[in_source], source.y[in_source], target.y[in_target], source.space


def transfer(args):
    """Tau on a target task with a model of the source task as the prior: the paper's weight transfer, the source's
    predictions in the mean, co-kriging on both tasks' data (TransferRegressor); without a prior; the source alone."""
    from gpnas.gp.transfer import TransferRegressor

    out, parts = {}, []
    for source_name, target_name, role in TRANSFER_PAIRS:
        X, y_source, y_target, space = aligned_tables(source_name, target_name, args.data_dir)
        rows, by_n, coverage_by_n = [], {}, {}
        for n in TRANSFER_SIZES:
            taus: dict = {}
            coverages = []
            for split in range(args.splits):
                rng = np.random.default_rng(7000 + split)
                order = rng.permutation(len(y_target))
                end = TRANSFER_SOURCE_N + n
                src, tr, te = order[:TRANSFER_SOURCE_N], order[TRANSFER_SOURCE_N:end], order[end:end + args.test_size]
                source = GPNASRegressor(space=space, random_state=split).fit(X[src], y_source[src])
                Xtr, ytr = X[tr], y_target[tr]
                models = {
                    "weights (the paper's)": GPNASRegressor(space=space, random_state=split).fit(Xtr, ytr,
                                                                                               prior=source),
                    "predictions in the mean (prior_mean)": GPNASRegressor(space=space, random_state=split).fit(
                        Xtr, ytr, prior_mean=source),
                    "co-kriging (TransferRegressor)": TransferRegressor(source).fit(Xtr, ytr),
                    "co-kriging, one amplitude (task_scale=False)": TransferRegressor(source, task_scale=False).fit(
                        Xtr, ytr),
                    "without prior": GPNASRegressor(space=space, random_state=split).fit(Xtr, ytr),
                    "source model alone": source}
                for method, model in models.items():
                    taus.setdefault(method, []).append(float(kendalltau(model.predict(X[te]), y_target[te])[0]))
                lower, upper = models["co-kriging (TransferRegressor)"].predict_interval(X[te], coverage=0.95)
                coverages.append(float(np.mean((y_target[te] >= lower) & (y_target[te] <= upper))))
            by_n[n] = taus
            coverage_by_n[n] = coverages
            means = {m: np.mean(v) for m, v in taus.items()}
            floor = max(means["without prior"], means["source model alone"])
            rows.append([n] + [f"{np.mean(v):.3f} ± {np.std(v, ddof=1) / np.sqrt(len(v)):.3f}" for v in taus.values()]
                        + [f"{means['co-kriging (TransferRegressor)'] - floor:+.3f}",
                           f"{np.mean(coverages):.2f} ({min(coverages):.2f}-{max(coverages):.2f})"])
            print("transfer", source_name, target_name, n, {m: round(float(v), 3) for m, v in means.items()},
                  flush=True)
        out[f"{source_name}->{target_name}"] = {"role": role, "taus": by_n, "coverage": coverage_by_n}
        header = ["n"] + list(next(iter(by_n.values()))) + ["co-kriging minus the better of the last two",
                                                           "co-kriging 95 % interval coverage, mean (min-max)"]
        parts.append(f"### {source_name} -> {target_name} ({role}; {len(y_target)} architectures)\n\n"
                     + markdown_table(header, rows))
    markdown = ("## Transfer (deduplicated tables; the source model's "
                f"{TRANSFER_SOURCE_N} architectures are disjoint from the target's n). Kendall tau on up to "
                f"{args.test_size:,} held-out architectures, mean ± standard error over {args.splits} splits "
                "(split s: seed 7000 + s). *tuned*: the co-kriging design was chosen while looking at this pair; "
                "*held out*: never looked at. Coverage: the share of the held-out values inside co-kriging's "
                "95 % interval of a new measurement (`predict_interval`, what `gpnas predict` writes for it). Command: `python benchmarks/predictor.py --sections transfer --name "
                "predictor_transfer`.\n\n" + "\n\n".join(parts))
    return out, markdown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sections", nargs="+", default=["protocol", "dedup", "timing"],
                        help="protocol, dedup, timing (results/predictor.md); calibration, proxies and transfer are "
                             "run on their own with --name (see above)")
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--test-size", type=int, default=2000)
    parser.add_argument("--predict-size", type=int, default=1_000_000)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--tables", nargs="+", default=None, help="calibration tables (default: tuning and held-out)")
    parser.add_argument("--dedup-tables", nargs="+", default=None,
                        help=f"tables of the dedup section (default {DEDUP})")
    parser.add_argument("--dedup-sizes", type=int, nargs="+", default=[20, 50, 100, 200],
                        help="training set sizes of the dedup section")
    parser.add_argument("--ablation", action="store_true", help="compare gpnas variants instead of other methods")
    parser.add_argument("--name", default=None, help="results file name (default predictor or predictor_ablation)")
    parser.add_argument("--with-ml", action="store_true",
                        help="also gpnas with maximum-likelihood hyperparameters (hyperprior_scale=None), beside the "
                             "default (the prior of scale 1)")
    parser.add_argument("--methods", nargs="+", default=None,
                        help="run only these methods (names as in the tables' headers; default: all)")
    args = parser.parse_args()
    warnings.simplefilter("default")  # every kind of warning shown, each once per place
    data: dict = {"args": vars(args)}
    parts = []
    methods_for = make_ablation if args.ablation else partial(make_methods, ml=args.with_ml)
    if args.methods:
        methods_for = partial(_only, methods_for, args.methods)
    if "protocol" in args.sections:
        results, seconds = ranking(args, methods_for, NB201, [32, 64, 128, 256], dedup=False, test_size=None)
        data["protocol"], data["seconds"] = results, seconds
        quoted = "; ".join(f"{src}: " + ", ".join(f"{v:.3f} at n={n}" for n, v in figs.items())
                           for src, figs in PUBLISHED.items())
        caption = (f"## Published protocol (NAS-Bench-201, {args.splits} splits)\n\nTrain on n random architectures of "
                   "the full table (not deduplicated), rank all the remaining ones. Mean ± standard error over "
                   f"splits; best per row in bold. Published NB201 CIFAR-10 Kendall tau under this protocol: {quoted} "
                   "(PINAT's and FLAN's own training pipelines and splits; FLAN also pre-trains on other search "
                   "spaces).\n\nKendall tau:\n")
        parts.append(ranking_markdown(results, "tau", caption))
        parts.append(ranking_markdown(results, "rho", "Spearman rho:\n"))
        timing_rows = [[m, f"{np.median(v) * 1000:.0f}"] for m, v in seconds.items()]
        parts.append("### Fit + predict time per split (median, ms)\n\n"
                     + markdown_table(["method", "ms"], timing_rows))
    if "dedup" in args.sections:
        results, _ = ranking(args, methods_for, args.dedup_tables or DEDUP, args.dedup_sizes, dedup=True,
                             test_size=args.test_size)
        data["dedup"] = results
        parts.append(ranking_markdown(results, "tau", (
            f"## Other spaces (deduplicated, {args.splits} splits, up to {args.test_size} held out; CVPR 2022 Track 2: "
            "mean over its 8 tasks, whose targets are ranks)\n\nKendall tau:\n")))
    if not args.ablation and "calibration" in args.sections:
        data["calibration"] = calibration(args)
        parts.append(calibration_markdown(data["calibration"], args.splits))
        if any(name in TUNING for name in data["calibration"]):  # the choices were made on the tuning tables
            parts.append(choices_markdown(data["calibration"]))
    if not args.ablation and "proxies" in args.sections:
        data["proxies"] = proxies(args)
        parts.append(proxies_markdown(data["proxies"], args.splits))
    if not args.ablation and "timing" in args.sections:
        data["timing"], markdown = timing(args)
        parts.append(markdown)
    if not args.ablation and "transfer" in args.sections:
        data["transfer"], markdown = transfer(args)
        parts.append(markdown)
    markdown = "\n\n".join(parts)
    print(markdown)
    path = write_results(args.name or ("predictor_ablation" if args.ablation else "predictor"), markdown, data,
                         script="benchmarks/predictor.py")
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
