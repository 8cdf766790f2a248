"""How well gpnas's own zero-cost proxies rank NAS-Bench-201 with no training at all, and how much that depends on
the proxies' seed.

For each seed of the proxies (the random batch and every network's initial weights; ``benchmarks/proxies.py``'s
values, from its cache, computed first when missing: 15-20 minutes on 2 cores each) and each NB201 table,
over all 15,625 cells:

* Kendall tau with the table's accuracy of the vote that picks a study's first trials (the mean normal score of
  :data:`gpnas.nets.proxies.VOTERS`, AZ-NAS's four; ``SideFeatures.vote``), of the vote of all eleven, and of each
  voter alone;
* where the table's global best falls in the vote (1 = its first pick), and the best accuracy among the vote's first
  10 (a study's ``n_initial``) against the table's best.

AZ-NAS's published training-free figures (CVPR 2024) are quoted beside: they score CIFAR-sized real images and
aggregate the four by a non-linear rank product; these values use 8 random inputs (the machine has no CIFAR-10) and
the mean of normal scores.

Then, per seed of the proxies, the predictor with them as side features under the published protocol on CIFAR-10 at
``--n`` (``benchmarks/proxies.py``'s protocol and cells, the 14,921 with published proxies), with maximum-likelihood
hyperparameters (``hyperprior_scale=None``): this comparison of proxy seeds was made before the predictor's default
became the hyperparameter prior, and the seeds' proxies take a third of an hour each to compute again.

    python benchmarks/proxies_vote.py [--proxy-seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau, spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, write_results  # noqa: E402
from proxies import own_proxies, protocol_taus  # noqa: E402

from gpnas.gp.side_features import SideFeatures  # noqa: E402
from gpnas.io.proxies import load_nb201_proxies  # noqa: E402
from gpnas.io.tables import load_table  # noqa: E402
from gpnas.nets.proxy_names import VOTERS  # noqa: E402

TABLES = ("nb201-cifar10", "nb201-cifar100", "nb201-imagenet16-120")
FIRST = 10  # a study's n_initial: the trials the vote picks
ANCHOR = ("AZ-NAS (CVPR 2024), training-free on real images: Kendall tau 0.741 on CIFAR-10 (the figure the issue "
          "quotes); Spearman 0.91 / 0.90 / 0.89 on CIFAR-10 / CIFAR-100 / ImageNet16-120 (as listed from the paper "
          "by wizwand.com)")


def vote_of(side: SideFeatures, names) -> np.ndarray:
    """The mean normal score of columns ``names`` (each larger-is-better), as ``SideFeatures.vote`` computes it."""
    sub = side.subset(list(names))
    return SideFeatures(sub.X, sub.values, sub.names, np.ones(len(sub.names))).vote()


def rows_for(side: SideFeatures, table) -> list[dict]:
    """One row per ranking (the four's vote, all eleven's, each voter alone) on ``table``."""
    values = side.lookup(table.X)
    aligned = SideFeatures(table.X, values, side.names)
    best = int(np.argmax(table.y))
    rankings = {"vote (AZ-NAS's four)": vote_of(aligned, VOTERS), "vote (all eleven)": vote_of(aligned, side.names)}
    rankings.update({name: values[:, side.names.index(name)] for name in VOTERS})
    rows = []
    for label, score in rankings.items():
        order = np.argsort(-score, kind="stable")  # ties keep the table's order, as the study's pick does
        rows.append({"ranking": label, "kendall": float(kendalltau(score, table.y)[0]),
                     "spearman": float(spearmanr(score, table.y)[0]),
                     "best_position": int(np.flatnonzero(order == best)[0]) + 1,
                     "first_best": float(table.y[order[:FIRST]].max()), "table_best": float(table.y[best])})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--proxy-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--workers", type=int, default=2, help="for proxies not yet cached")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--n", type=int, default=128, help="training cells of the predictor")
    parser.add_argument("--splits", type=int, default=5)
    args = parser.parse_args()
    tables = {name: load_table(name, args.data_dir) for name in TABLES}
    results, lines, predictor = [], [], {}
    c10 = tables["nb201-cifar10"]
    known = load_nb201_proxies("cifar10", data_dir_=args.data_dir).covers(c10.X)
    for seed in args.proxy_seeds:
        side = own_proxies(argparse.Namespace(batch_size=8, seed=seed, workers=args.workers,
                                              data_dir=args.data_dir))[0]
        for name, table in tables.items():
            for row in rows_for(side, table):
                results.append({"proxy_seed": seed, "table": name, **row})
        taus = protocol_taus(c10.space, c10.X[known], c10.y[known], args.n, args.splits, {"own": side},
                             hyperprior_scale=None)["own"]
        predictor[seed] = taus
        print(f"proxy seed {seed}: predictor at n = {args.n}: {np.mean(taus):.3f}", flush=True)
    header = ["table", "ranking"] + [f"seed {s}: tau / rho / best's place / best of first {FIRST}"
                                     for s in args.proxy_seeds]
    for name in TABLES:
        for label in dict.fromkeys(r["ranking"] for r in results):
            cells = []
            for seed in args.proxy_seeds:
                r = next(r for r in results if (r["proxy_seed"], r["table"], r["ranking"]) == (seed, name, label))
                cells.append(f"{r['kendall']:.3f} / {r['spearman']:.3f} / {r['best_position']} / "
                             f"{r['first_best']:.2f}")
            lines.append([name, label] + cells)
    bests = {name: f"{float(t.y.max()):.2f}" for name, t in tables.items()}
    command = "python benchmarks/proxies_vote.py --proxy-seeds " + " ".join(map(str, args.proxy_seeds))
    se = {s: np.std(t, ddof=1) / np.sqrt(len(t)) for s, t in predictor.items()}
    predictor_table = markdown_table(
        ["", *[f"seed {s}" for s in args.proxy_seeds]],
        [[f"predictor, CIFAR-10, n = {args.n}", *[f"{np.mean(predictor[s]):.3f} ± {se[s]:.3f}"
                                                   for s in args.proxy_seeds]]])
    markdown = (
        "gpnas's own proxies as a training-free ranking of all 15,625 NB201 cells, per seed of the proxies (the "
        "random batch of 8 inputs and the networks' initial weights; `benchmarks/proxies.py`'s values). Columns: "
        "Kendall tau and Spearman rho with the table's accuracy, the place of the table's global best in the ranking "
        f"(1 = first), and the best accuracy among the ranking's first {FIRST} (a study's first trials; the tables' "
        f"bests: {', '.join(f'{k} {v}' for k, v in bests.items())}). The vote is the mean normal score of the "
        f"voters (`SideFeatures.vote`). Published for reference: {ANCHOR}. Command: `{command}`.\n\n"
        + markdown_table(header, lines)
        + f"\n\nThe predictor with each seed's proxies as side features (the published protocol on the 14,921 CIFAR-10 "
        f"cells with published proxies, as `benchmarks/proxies.py`; Kendall tau, mean ± standard error over "
        f"{args.splits} splits):\n\n" + predictor_table)
    print(markdown)
    path = write_results("proxies_vote", markdown, {"command": command, "proxy_seeds": args.proxy_seeds,
                                                     "first": FIRST, "rows": results, "n": args.n,
                                                     "predictor_taus": {str(k): v for k, v in predictor.items()}})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
