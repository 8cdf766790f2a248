"""The predictor against PaddleSlim's GPNAS, scikit-learn's GP, BayesianRidge and XGBoost, in one run.

Sections (``--sections``, all by default), each written to ``results/predictor.md`` and ``results/predictor.json``:

* ``protocol``: the published protocol on NAS-Bench-201 (as in PINAT and FLAN): train on ``n`` random
  architectures of the full table (15,625 cells, *not* deduplicated), Kendall tau and Spearman rho on all the
  remaining ones; ``n`` = 32, 64, 128, 256; 5 splits.  Published figures are quoted beside it.
* ``dedup``: NAS-Bench-Macro, Accel-NASBench and CVPR 2022 Track 2 (mean over its 8 tasks), deduplicated first (so
  equivalent networks never sit on both sides of a split); up to ``--test-size`` held-out architectures.
* ``calibration``: for gpnas and scikit-learn's GP on every table: coverage of nominal 95 % intervals, mean log
  predictive density of held-out values, and Theorem 3's expected MSE against the realised MSE.
* ``timing``: fit time against ``n`` and prediction throughput, gpnas next to scikit-learn's GP.
* ``transfer``: the paper's transfer (§1): ImageNet16-120 tau against ``n`` with the weights' prior from a model
  fitted on 200 CIFAR-10 architectures, without it, and the CIFAR-10 model alone.

PaddleSlim's ``paddleslim/nas/gp_nas.py`` is taken from the ``paddleslim==2.6.0`` wheel, fetched with
``pip download --no-deps`` into ``benchmarks/_cache`` (never installed: the wheel pins an old OpenCV) and loaded by
file path with ``np.mat = np.asmatrix`` (removed in NumPy 2).  It is run as in its demo: ordinal encodings, the
initial mean from half the training set, the posterior from the other half, and the joint (kernel) predictor.

    python benchmarks/predictor.py [--sections protocol dedup calibration timing transfer] [--splits 5]
    python benchmarks/predictor.py --ablation    # gpnas's own choices one at a time -> results/predictor_ablation.md
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau, norm, spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, write_results  # noqa: E402

from gpnas import GPNASRegressor  # noqa: E402
from gpnas.space.encoding import Encoder  # noqa: E402
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
    source = CACHE / "gp_nas.py"
    with zipfile.ZipFile(wheels[0]) as wheel:
        source.write_bytes(wheel.read("paddleslim/nas/gp_nas.py"))
    np.mat = np.asmatrix  # removed in NumPy 2; the module uses it throughout
    spec = importlib.util.spec_from_file_location("paddleslim_gp_nas", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.GPNAS


def make_methods(space, seed):
    """Each method: fit(X_train, y_train) -> predict(X_test) on integer choice indices."""
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
        model = GPNASRegressor(space=space, encoding="ordinal", estimation="alternating", features=["choices"],
                               target_transform="standardize", random_state=seed)
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

    methods = {"gpnas": gpnas}
    if space.cell is not None:
        methods["gpnas one-hot only"] = gpnas_choices
    methods.update({"gpnas (paper config)": gpnas_paper, "PaddleSlim GPNAS": paddleslim, "sklearn GP": sklearn_gp,
                    "BayesianRidge one-hot": bayes_ridge, "XGBoost one-hot": xgboost})
    return methods


def make_ablation(space, seed):
    """gpnas's defaults against each choice beyond the paper undone (or added), one at a time."""
    variants = {"gpnas defaults": {}}
    if space.cell is not None:
        variants.update({
            "one-hot choices only (no cell features)": {"features": ["choices"]},
            "paths only": {"features": ["paths"]},
            "+ effective one-hot": {"features": ["effective", "paths", "ops"]},
            "+ one-hot choices": {"features": ["choices", "paths", "ops"]},
        })
    variants.update({
        "+ interactions term": {"features": [*GPNASRegressor(space=space).resolved_features(), "interactions"]},
        "standardize targets": {"target_transform": "standardize"},
        "alternating estimation": {"estimation": "alternating"},
        "ordinal encoding": {"encoding": "ordinal", "features": ["choices"]},
        "paper config (ordinal, alternating, standardize, no cell features)": {
            "target_transform": "standardize", "estimation": "alternating", "encoding": "ordinal",
            "features": ["choices"]},
    })

    def runner(params):
        return lambda Xtr, ytr, Xte: GPNASRegressor(space=space, random_state=seed, **params).fit(Xtr, ytr).predict(Xte)

    return {name: runner(params) for name, params in variants.items()}


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


def calibration(args):
    """95 % coverage, MLPD and expected vs realised MSE for gpnas and scikit-learn's GP."""
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    out = {}
    for name in NB201 + DEDUP:
        tables = _tables(name, args.data_dir, dedup=True)
        for n in (50, 100, 200):
            if n >= len(tables[0].y):
                continue
            rows: dict = {}
            for split in range(args.splits):
                order = np.random.default_rng(1000 * split + n).permutation(len(tables[0].y))
                tr, te = order[:n], order[n : n + args.test_size]
                for table in tables:
                    yte = table.y[te]
                    model = GPNASRegressor(space=table.space, random_state=split).fit(table.X[tr], table.y[tr])
                    lo, hi = model.predict_interval(table.X[te])
                    mean = model.predict(table.X[te])
                    gp_stats = [np.mean((yte >= lo) & (yte <= hi)),
                                np.mean(model.log_predictive_density(table.X[te], yte)),
                                model.expected_mse(table.X[te]), np.mean((mean - yte) ** 2)]
                    onehot = Encoder(table.space.n_options, table.space.groups, "onehot").transform
                    kernel = ConstantKernel() * RBF(1.0) + WhiteKernel(1e-2)
                    sk = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=2,
                                                  random_state=split).fit(onehot(table.X[tr]), table.y[tr])
                    mu, sd = sk.predict(onehot(table.X[te]), return_std=True)  # includes the fitted white noise
                    noise = float(sk.kernel_.k2.noise_level) * float(np.var(table.y[tr]))
                    sk_stats = [np.mean(np.abs(yte - mu) <= 1.96 * sd), np.mean(norm.logpdf(yte, mu, sd)),
                                np.mean(np.maximum(sd**2 - noise, 0.0)), np.mean((mu - yte) ** 2)]
                    for method, stats in (("gpnas", gp_stats), ("sklearn GP", sk_stats)):
                        rows.setdefault(method, []).append([float(v) for v in stats])
            out.setdefault(name, {})[str(n)] = {m: np.mean(v, axis=0).tolist() for m, v in rows.items()}
            print(name, n, {m: np.round(v, 3).tolist() for m, v in out[name][str(n)].items()}, flush=True)
    return out


def calibration_markdown(out):
    rows = []
    for name, by_n in out.items():
        for n, by_method in by_n.items():
            for method, (cov, mlpd, emse, mse) in by_method.items():
                rows.append([name, n, method, f"{cov:.3f}", f"{mlpd:.2f}", f"{emse:.4g}", f"{mse:.4g}"])
    return ("### Calibration (deduplicated tables, mean over splits; CVPR 2022: mean over its 8 tasks)\n\n"
            "Coverage: share of held-out values inside the nominal 95 % predictive interval of a measurement. "
            "MLPD: mean log predictive density of the held-out values (higher is better). Expected MSE: Theorem 3's "
            "(the noise-free predictive variance, mean over the held-out set), against the realised MSE of the "
            "predicted mean.\n\n"
            + markdown_table(["table", "n", "method", "95 % coverage", "MLPD", "expected MSE", "realised MSE"], rows))


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


def transfer(args):
    """ImageNet16-120 tau with a CIFAR-10 prior (Theorems 1-2 transfer), without, and the CIFAR-10 model alone."""
    source_table = load_table("nb201-cifar10", args.data_dir).deduplicated()
    target_table = load_table("nb201-imagenet16-120", args.data_dir).deduplicated()
    rows, out = [], {}
    for n in (10, 20, 50, 100):
        taus: dict = {}
        for split in range(args.splits):
            rng = np.random.default_rng(7000 + split)
            order = rng.permutation(len(target_table.y))
            src, tr, te = order[:200], order[200 : 200 + n], order[200 + n : 200 + n + args.test_size]
            source = GPNASRegressor(space=source_table.space, random_state=split).fit(
                source_table.X[src], source_table.y[src])
            with_prior = GPNASRegressor(space=target_table.space, random_state=split).fit(
                target_table.X[tr], target_table.y[tr], prior=source)
            without = GPNASRegressor(space=target_table.space, random_state=split).fit(
                target_table.X[tr], target_table.y[tr])
            in_mean = GPNASRegressor(space=target_table.space, random_state=split).fit(
                target_table.X[tr], target_table.y[tr], prior_mean=source)
            for method, model in (("with CIFAR-10 prior (weights, the paper's)", with_prior),
                                  ("CIFAR-10 predictions in the mean (prior_mean)", in_mean), ("without prior", without),
                                  ("CIFAR-10 model alone", source)):
                taus.setdefault(method, []).append(float(kendalltau(model.predict(target_table.X[te]),
                                                                    target_table.y[te])[0]))
        out[n] = taus
        rows.append([n] + [f"{np.mean(v):.3f} ± {np.std(v, ddof=1) / np.sqrt(len(v)):.3f}" for v in taus.values()])
        print("transfer", n, {m: round(float(np.mean(v)), 3) for m, v in taus.items()}, flush=True)
    markdown = ("### Transfer: NB201 ImageNet16-120, n training architectures (deduplicated; the 200 CIFAR-10 "
                "architectures of the prior are disjoint from the ImageNet16-120 ones). Kendall tau on 2,000 held-out "
                f"architectures, mean ± standard error over {args.splits} splits. Command: `python "
                "benchmarks/predictor.py --sections transfer --name predictor_transfer`.\n\n"
                + markdown_table(["n"] + list(next(iter(out.values()))), rows))
    return out, markdown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sections", nargs="+", default=["protocol", "dedup", "calibration", "timing", "transfer"])
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--test-size", type=int, default=2000)
    parser.add_argument("--predict-size", type=int, default=1_000_000)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--ablation", action="store_true", help="compare gpnas variants instead of other methods")
    parser.add_argument("--name", default=None, help="results file name (default predictor or predictor_ablation)")
    args = parser.parse_args()
    warnings.simplefilter("default")  # every kind of warning shown, each once per place
    data: dict = {"args": vars(args)}
    parts = []
    methods_for = make_ablation if args.ablation else make_methods
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
        results, _ = ranking(args, methods_for, DEDUP, [20, 50, 100, 200], dedup=True, test_size=args.test_size)
        data["dedup"] = results
        parts.append(ranking_markdown(results, "tau", (
            f"## Other spaces (deduplicated, {args.splits} splits, up to {args.test_size} held out; CVPR 2022 Track 2: "
            "mean over its 8 tasks, whose targets are ranks)\n\nKendall tau:\n")))
    if not args.ablation and "calibration" in args.sections:
        data["calibration"] = calibration(args)
        parts.append(calibration_markdown(data["calibration"]))
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
