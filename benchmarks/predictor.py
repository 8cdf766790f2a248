"""Kendall tau of held-out predictions: gpnas against PaddleSlim's GPNAS, scikit-learn's GP, BayesianRidge, XGBoost.

For each table (deduplicated first, so isomorphic / equivalent networks never sit on both sides of a split), each
training size and each of the random splits, every method is fitted on the same ``n`` architectures and ranks the
same held-out architectures (up to ``--test-size`` of the rest, drawn at random).  Prints a table of mean Kendall tau
(with the standard error over splits) and writes ``results/predictor.md`` and ``results/predictor.json``.

PaddleSlim's ``paddleslim/nas/gp_nas.py`` is taken from the ``paddleslim==2.6.0`` wheel, fetched with
``pip download --no-deps`` into ``benchmarks/_cache`` (never installed: the wheel pins an old OpenCV) and loaded by
file path with ``np.mat = np.asmatrix`` (removed in NumPy 2).  It is run as in its demo: ordinal encodings, the
initial mean from half the training set, the posterior from the other half, and the joint (kernel) predictor.

    python benchmarks/predictor.py [--splits 10] [--sizes 20 50 100 200] [--tables ...]
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
from scipy.stats import kendalltau

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, write_results  # noqa: E402

from gpnas import GPNASRegressor  # noqa: E402
from gpnas.encoding import Encoder  # noqa: E402
from gpnas.tables import load_table  # noqa: E402

CACHE = Path(__file__).resolve().parent / "_cache"
TABLES = ["nb201-cifar10", "nb201-cifar100", "nb201-imagenet16-120", "macro"]


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

    def gpnas_paper(Xtr, ytr, Xte):
        model = GPNASRegressor(space=space, encoding="ordinal", estimation="alternating",
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

    return {"gpnas": gpnas, "gpnas (paper config)": gpnas_paper, "PaddleSlim GPNAS": paddleslim,
            "sklearn GP": sklearn_gp, "BayesianRidge one-hot": bayes_ridge, "XGBoost one-hot": xgboost}


def make_ablation(space, seed):
    """gpnas's defaults against each choice beyond the paper undone, one at a time."""
    variants = {
        "gpnas defaults": {},
        "standardize targets": {"target_transform": "standardize"},
        "alternating estimation": {"estimation": "alternating"},
        "ordinal encoding": {"encoding": "ordinal"},
        "paper config (all three)": {"target_transform": "standardize", "estimation": "alternating",
                                     "encoding": "ordinal"},
    }

    def runner(params):
        return lambda Xtr, ytr, Xte: GPNASRegressor(space=space, random_state=seed, **params).fit(Xtr, ytr).predict(Xte)

    return {name: runner(params) for name, params in variants.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", nargs="+", default=TABLES)
    parser.add_argument("--sizes", nargs="+", type=int, default=[20, 50, 100, 200])
    parser.add_argument("--splits", type=int, default=10)
    parser.add_argument("--test-size", type=int, default=1000)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--ablation", action="store_true", help="compare gpnas variants instead of other methods")
    args = parser.parse_args()
    methods_for = make_ablation if args.ablation else make_methods
    warnings.filterwarnings("ignore")
    results: dict = {}
    seconds: dict = {}
    for name in args.tables:
        table = load_table(name, args.data_dir).deduplicated()
        for n in args.sizes:
            for split in range(args.splits):
                rng = np.random.default_rng(1000 * split + n)
                order = rng.permutation(len(table.y))
                tr, te = order[:n], order[n : n + args.test_size]
                for method, run in methods_for(table.space, split).items():
                    start = time.perf_counter()
                    pred = run(table.X[tr], table.y[tr], table.X[te])
                    seconds.setdefault(method, []).append(time.perf_counter() - start)
                    tau = kendalltau(pred, table.y[te])[0]
                    results.setdefault(name, {}).setdefault(str(n), {}).setdefault(method, []).append(
                        float(tau) if np.isfinite(tau) else 0.0)
            row = results[name][str(n)]
            print(f"{name:22s} n={n:4d} " + "  ".join(f"{m}={np.mean(v):.3f}" for m, v in row.items()), flush=True)
    methods = list(next(iter(next(iter(results.values())).values())))
    sections = [f"Kendall tau on held-out architectures (mean ± standard error over {args.splits} random splits; "
                f"up to {args.test_size} held-out architectures per split; deduplicated tables). Best per row in "
                "bold.\n"]
    for name, by_n in results.items():
        rows = []
        for n, by_method in by_n.items():
            means = {m: np.mean(v) for m, v in by_method.items()}
            best = max(means.values())
            cells = []
            for m in methods:
                v = by_method[m]
                text = f"{np.mean(v):.3f} ± {np.std(v, ddof=1) / np.sqrt(len(v)) if len(v) > 1 else 0:.3f}"
                cells.append(f"**{text}**" if means[m] == best else text)
            rows.append([n] + cells)
        sections.append(f"### {name}\n\n" + markdown_table(["n train"] + methods, rows))
    timing = [[m, f"{np.median(v) * 1000:.0f}"] for m, v in seconds.items()]
    sections.append("### Fit + predict time per split (median, ms)\n\n" + markdown_table(["method", "ms"], timing))
    markdown = "\n\n".join(sections)
    print(markdown)
    name = "predictor_ablation" if args.ablation else "predictor"
    path = write_results(name, markdown, {"kendall_tau": results, "seconds": seconds, "args": vars(args)})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
