"""What the search model's hyperparameters look like from few points, with and without the prior (issue #20).

On NAS-Bench-201 CIFAR-10 (a tuning table) and ImageNet16-120 (held out), the search model of a cell space
(``search_model_defaults``: one-hot choices and the cell's operation counts, two kernel groups) is fitted to ``n``
cells drawn at random (``--draws`` draws per ``n``), by type-II maximum likelihood (``hyperprior_scale=None``) and
with the log-normal prior the search uses (``hyperprior_scale=1``).  Reported per group: the median fitted signal
std and lengthscale, and how many fits put the signal std within 10x of its lower bound (the group switched off).
Random cells, not a search's, so this shows the fits, not the search (``benchmarks/search.py`` measures that).

    python benchmarks/hyperprior_fits.py            # writes results/hyperprior_fits.md and .json
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, write_results  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", nargs="+", default=["nb201-cifar10", "nb201-imagenet16-120"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 40, 300])
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()

    from gpnas.gp.regressor import GPNASRegressor
    from gpnas.io.tables import load_table
    from gpnas.study.study import search_model_defaults

    warnings.filterwarnings("ignore")
    rows, results = [], []
    for name in args.tables:
        table = load_table(name, args.data_dir)
        X, y = np.asarray(table.X), np.asarray(table.y)
        base = {k: v for k, v in search_model_defaults(table.space).items() if k != "hyperprior_scale"}
        for n in args.sizes:
            for scale in (None, 1.0):
                fits = []
                for draw in range(args.draws):
                    idx = np.random.default_rng([draw, n]).choice(len(y), n, replace=False)
                    model = GPNASRegressor(**base, space=table.space, random_state=draw,
                                           hyperprior_scale=scale).fit(X[idx], y[idx])
                    fits.append((model.kernel_.sigma, model.kernel_.lengthscale, model.group_names_,
                                 model.sigma_bounds[0]))
                sigma = np.array([f[0] for f in fits])
                ell = np.array([f[1] for f in fits])
                off = (sigma < 10 * fits[0][3]).sum(axis=0)
                for g, group in enumerate(fits[0][2]):
                    rows.append([name, n, "none" if scale is None else scale, group, f"{np.median(sigma[:, g]):.3f}",
                                 f"{np.median(ell[:, g]):.2f}", f"{off[g]}/{len(fits)}"])
                    results.append({"table": name, "n": n, "hyperprior_scale": scale, "group": group,
                                    "sigma": sigma[:, g].tolist(), "lengthscale": ell[:, g].tolist()})
                print(rows[-2:], flush=True)
    markdown = ("Fitted hyperparameters of the search model (one-hot choices and the cell's operation counts) on "
                f"random NB201 cells, {args.draws} draws per size (seeds 0-{args.draws - 1}); `hyperprior_scale` none "
                "= type-II maximum likelihood, 1 = the search's log-normal prior around 1:\n\n"
                + markdown_table(["table", "n", "hyperprior_scale", "kernel group", "signal std (median)",
                                  "lengthscale (median)", "switched off (std < 10x its lower bound)"], rows)
                + f"\n\nCommand: `python benchmarks/hyperprior_fits.py {' '.join(sys.argv[1:])}`.")
    print(markdown)
    write_results("hyperprior_fits", markdown, {"results": results, "args": vars(args)})


if __name__ == "__main__":
    main()
