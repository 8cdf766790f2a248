"""gpnas's own zero-cost proxies of every NAS-Bench-201 cell: their cost, how they compare with the published ones,
and what they do for the predictor under the published protocol.

1. Computes :data:`gpnas.nets.proxies.PROXIES` for all 15,625 cells, one network per isomorphism class (6,466),
   with ``--workers`` processes, on a seeded random batch (``--batch-size`` inputs of 3x32x32, 10 classes: the
   machine has no CIFAR-10), and times it.  The values are cached in ``benchmarks/_cache`` under a name that holds
   every setting that changes them.  Then, in the same run, where one network's time goes: zen's and AZ-NAS's
   share, on one thread over 100 random cells.
2. Spearman correlation of each with NAS-Bench-Suite-Zero's value on the 9,445 cells that file lists itself.
3. The published protocol (train on n random cells, Kendall tau on all the others; the 14,921 cells that have
   published proxies, so that every variant ranks the same cells), 5 splits: gpnas with no proxies, with its own
   without AZ-NAS's three (the eight it had before them), with all its own, with the published ones, with both; on
   CIFAR-10 and ImageNet16-120 (whose published proxies are ImageNet16-120's; gpnas's own are the same random-batch
   values for both).

    python benchmarks/proxies.py [--batch-size 8] [--workers 2] [--splits 5]
    python benchmarks/proxies.py --tuning     # how AZ-NAS's three were chosen (CIFAR-100, ImageNet16-120)
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau, spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, write_results  # noqa: E402

from gpnas import GPNASRegressor  # noqa: E402
from gpnas.gp.side_features import SideFeatures  # noqa: E402
from gpnas.io.proxies import load_nb201_proxies  # noqa: E402
from gpnas.io.tables import NB201_OPS, data_dir, load_table  # noqa: E402

CACHE = Path(__file__).resolve().parent / "_cache"
SIZES = (32, 64, 100, 128, 256)
#: gpnas's own proxies before AZ-NAS's three joined them (chosen on the tuning tables CIFAR-100 and ImageNet16-120,
#: judged here on CIFAR-10): the variant that shows what the three add, in the same run
AZ_FREE = ("params", "flops", "synflow", "nwot", "jacov", "snip", "grad_norm", "zen")
ANCHORS = ("GRAF + proxies + random forest (ICML 2024): 0.767 at n = 100 on CIFAR-10 validation accuracy; FLAN (ICML "
           "2024): 0.735 / 0.830 / 0.860 at 64 / 128 / 256; AZ-NAS (CVPR 2024), training-free: 0.741")


def own_proxies_path(batch_size: int = 8, seed: int = 0) -> Path:
    """The cache of gpnas's own proxies of every NB201 cell, named by every setting that changes a value, the proxies
    computed included; v3: the NB201 average pool as a depthwise convolution (equal values up to float32 rounding,
    and faster, so the cost is measured anew)."""
    from gpnas.nets.proxies import PROXIES

    return CACHE / f"nb201_own_proxies_b{batch_size}_s{seed}_random32_{'-'.join(PROXIES)}_v3.npz"


def own_proxies(args) -> tuple[SideFeatures, float, bool]:
    """All cells' proxies (from the cache when every setting matches), the seconds they took, and whether cached."""
    from gpnas.nets.nb201 import NB201Network
    from gpnas.nets.proxies import PROXIES, proxy_signs, random_batch, score_architectures

    table = load_table("nb201-cifar10", args.data_dir)
    path = own_proxies_path(args.batch_size, args.seed)
    if path.exists():
        with np.load(path) as data:
            return SideFeatures(data["X"], data["values"], list(PROXIES), proxy_signs(PROXIES)), \
                float(data["seconds"]), True
    inputs, labels = random_batch((3, 32, 32), args.batch_size, 10, seed=args.seed)
    start = time.perf_counter()
    side = score_architectures(NB201Network, table.X, inputs, labels, seed=args.seed, workers=args.workers,
                               keys=table.dedup_key)
    seconds = time.perf_counter() - start
    CACHE.mkdir(exist_ok=True)
    np.savez(path, X=side.X, values=side.values, seconds=seconds)
    return side, seconds, False


def cost_shares(X: np.ndarray, batch_size: int, seed: int, count: int = 100) -> dict:
    """Where a network's time goes, in this process on one thread, medians over ``count`` seeded random cells: the
    whole (the two builds, the batch's passes with AZ-NAS's block proxies, synflow, zen), zen (the Gaussian
    re-initialisation and its two passes), and AZ-NAS's three (the batch's passes with the block proxies against the
    same passes without them, on the same network)."""
    import torch

    from gpnas.nets.nb201 import NB201Network
    from gpnas.nets.proxies import (batch_proxies, feature_blocks, gaussian_init, random_batch, synflow_and_flops,
                                    zen_score)

    torch.set_num_threads(1)
    inputs, labels = random_batch((3, 32, 32), batch_size, 10, seed=seed)
    noise = random_batch((3, 32, 32), batch_size, 10, seed=seed + 1)[0]
    whole, zen, az = [], [], []
    for cell in X[np.random.default_rng(seed).choice(len(X), count, replace=False)]:
        start = time.perf_counter()
        net = NB201Network(cell)
        built = time.perf_counter()
        batch_proxies(net, inputs, labels)  # not counted in the whole: only to time the block proxies' addition
        plain = time.perf_counter()
        batch_proxies(net, inputs, labels, feature_blocks(net), seed)
        with_blocks = time.perf_counter()
        synflow_and_flops(NB201Network(cell, batch_norm=False), (3, 32, 32))
        synflowed = time.perf_counter()
        zen_score(gaussian_init(net), inputs, noise)
        end = time.perf_counter()
        whole.append((built - start) + (end - plain))
        az.append((with_blocks - plain) - (plain - built))
        zen.append(end - synflowed)
    whole_ms, zen_ms, az_ms = (1000 * float(np.median(v)) for v in (whole, zen, az))
    return {"count": count, "whole_ms": whole_ms, "zen_ms": zen_ms, "az_ms": az_ms, "zen_share": zen_ms / whole_ms,
            "az_share": az_ms / whole_ms}


def listed_cells(data_dir_) -> set:
    with open(data_dir(data_dir_) / "nb201-zero-cost" / "nb201_cifar10_zc_proxies.csv", newline="") as handle:
        return {tuple(NB201_OPS.index(t.split("~")[0]) for t in row["net_str"].split("|") if "~" in t)
                for row in csv.DictReader(handle)}


def combined(a: SideFeatures, b: SideFeatures, X: np.ndarray) -> SideFeatures:
    return SideFeatures(X, np.hstack([a.lookup(X), b.lookup(X)]), [f"own:{n}" for n in a.names] + b.names,
                        np.concatenate([a.signs, b.signs]))


def protocol_taus(space, X: np.ndarray, y: np.ndarray, n: int, splits: int, variants: dict, **params) -> dict:
    """The published protocol: per split, ``n`` random rows train each variant's model (side features or none; the
    model's defaults under ``params``), and Kendall tau is taken on all the others; ``{variant: [tau per split]}``."""
    cell: dict = {}
    for split in range(splits):
        order = np.random.default_rng(1000 * split + n).permutation(len(y))
        tr, te = order[:n], order[n:]
        for label, side in variants.items():
            model = GPNASRegressor(space=space, side_features=side, random_state=split, **params)
            cell.setdefault(label, []).append(float(kendalltau(model.fit(X[tr], y[tr]).predict(X[te]), y[te])[0]))
    return cell


def tuning(args) -> None:
    """The choice of AZ-NAS's proxies, on the tuning tables (NB201 CIFAR-100 and ImageNet16-120, the cells with
    published proxies, as the main run): the eight proxies before them, with expressivity, with trainability, with
    all three; n = 64 and 128, the same splits.  Writes ``results/proxies_tuning.md``."""
    own, _, _ = own_proxies(args)
    variants = {"eight (before)": own.subset(AZ_FREE), "+ expressivity": own.subset(AZ_FREE + ("expressivity",)),
                "+ trainability": own.subset(AZ_FREE + ("trainability",)), "+ all three": own}
    rows = []
    for dataset in ("cifar100", "imagenet16-120"):
        tab = load_table(f"nb201-{dataset}", args.data_dir)
        # CIFAR-100 has no published proxies of its own: CIFAR-10's file says which cells are listed
        known = load_nb201_proxies("imagenet16-120" if dataset == "imagenet16-120" else "cifar10",
                                   data_dir_=args.data_dir).covers(tab.X)
        X, y = tab.X[known], tab.y[known]
        for n in (64, 128):
            cell = protocol_taus(tab.space, X, y, n, args.splits, variants)
            print(dataset, n, {k: round(float(np.mean(v)), 3) for k, v in cell.items()}, flush=True)
            rows.append([dataset, n] + [f"{np.mean(v):.3f} ± {np.std(v, ddof=1) / np.sqrt(len(v)):.3f}"
                                        for v in cell.values()])
    markdown = (
        "## Choosing AZ-NAS's proxies on the tuning tables\n\nCommand: `python benchmarks/proxies.py --tuning "
        f"--batch-size {args.batch_size} --splits {args.splits}`. gpnas's own proxies as side features, published "
        f"protocol (the cells with published proxies), {args.splits} splits, Kendall tau, mean ± standard error. "
        "CIFAR-10, where the choice is judged, is not in this table (`results/proxies.md`).\n\n"
        + markdown_table(["table", "n train"] + list(variants), rows))
    print(markdown)
    write_results("proxies_tuning", markdown, {"args": vars(args), "rows": rows}, script="benchmarks/proxies.py")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--tuning", action="store_true",
                        help="only the choice of AZ-NAS's proxies on the tuning tables (results/proxies_tuning.md)")
    args = parser.parse_args()
    warnings.simplefilter("default")
    if args.tuning:
        tuning(args)
        return
    own, seconds, cached = own_proxies(args)
    table = load_table("nb201-cifar10", args.data_dir)
    n_classes = len(set(table.dedup_key))
    print(f"own proxies of {len(own)} cells ({n_classes} networks) in {seconds:.0f} s"
          + (" (cached)" if cached else ""), flush=True)
    share = cost_shares(table.X, args.batch_size, args.seed)
    print("zen's share of a network's time:", share, flush=True)
    published = load_nb201_proxies("cifar10", data_dir_=args.data_dir)
    listed_set = listed_cells(args.data_dir)
    listed = np.array([tuple(x) in listed_set for x in own.X])
    agreement = {}
    for j, name in enumerate(own.names):
        if name in published.names:
            agreement[name] = float(spearmanr(own.values[listed, j],
                                              published.lookup(own.X[listed])[:, published.names.index(name)])[0])
    print("Spearman with the published values:", {k: round(v, 3) for k, v in agreement.items()}, flush=True)
    results = {}
    for dataset in ("cifar10", "imagenet16-120"):
        tab = load_table(f"nb201-{dataset}", args.data_dir)
        pub = load_nb201_proxies(dataset, data_dir_=args.data_dir)
        known = pub.covers(tab.X)
        X, y = tab.X[known], tab.y[known]
        variants = {"no proxies": None, "own proxies without AZ-NAS's": own.subset(AZ_FREE), "own proxies": own,
                    "published proxies": pub, "both": combined(own, pub, X)}
        by_n = {}
        for n in SIZES:
            cell = protocol_taus(tab.space, X, y, n, args.splits, variants)
            by_n[str(n)] = cell
            print(dataset, n, {k: round(float(np.mean(v)), 3) for k, v in cell.items()}, flush=True)
        results[dataset] = by_n
    rows = []
    for dataset, by_n in results.items():
        for n, cell in by_n.items():
            means = {k: np.mean(v) for k, v in cell.items()}
            top = max(means.values())
            rows.append([dataset, n] + [(f"**{np.mean(v):.3f} ± {np.std(v, ddof=1) / np.sqrt(len(v)):.3f}**"
                                         if means[k] == top else
                                         f"{np.mean(v):.3f} ± {np.std(v, ddof=1) / np.sqrt(len(v)):.3f}")
                                        for k, v in cell.items()])
    per_net = seconds / n_classes
    markdown = (
        f"## gpnas's own zero-cost proxies of NAS-Bench-201\n\nCommand: `python benchmarks/proxies.py --batch-size "
        f"{args.batch_size} --workers {args.workers} --splits {args.splits}`.\n\n"
        f"**Cost**: the {len(own):,} cells, one network per isomorphism class ({n_classes:,} networks), "
        f"{len(own.names)} proxies ({', '.join(own.names)}), batch of {args.batch_size} seeded random 3x32x32 inputs, "
        f"{args.workers} worker processes of one thread: **{seconds / 60:.1f} min** ({per_net * 1000:.0f} ms a "
        f"network of wall time){' (from the cache of an earlier run of the same settings)' if cached else ''}. "
        f"Measured in this run, on one thread over {share['count']} random cells (medians): {share['whole_ms']:.0f} ms "
        f"a network, of which zen {share['zen_ms']:.0f} ms ({100 * share['zen_share']:.0f} %) and AZ-NAS's three "
        f"(expressivity, progressivity, trainability) {share['az_ms']:.0f} ms ({100 * share['az_share']:.0f} %).\n\n"
        "**Agreement** with NAS-Bench-Suite-Zero (Spearman over the 9,445 cells it lists; its data-dependent "
        "proxies used a CIFAR-10 batch, these a random one):\n\n"
        + markdown_table(["proxy", "Spearman"], [[k, f"{v:.3f}"] for k, v in agreement.items()])
        + f"\n\n**Predictor** (published protocol on the 14,921 cells with published proxies, {args.splits} splits, "
        f"Kendall tau, mean ± standard error; best per row in bold). Published for reference: {ANCHORS}.\n\n"
        + markdown_table(["table", "n train"] + list(next(iter(results["cifar10"].values()))), rows))
    print(markdown)
    path = write_results("proxies", markdown, {"args": vars(args), "seconds": seconds, "cached": cached,
                                               "cost_shares": share,
                                               "networks": n_classes, "agreement": agreement, "tau": results})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
