"""Latency on an unseen device from ten measurements, under HELP's protocol (NeurIPS 2021, Table 3), NAS-Bench-201.

Every NAS-Bench-201 cell's latency on HELP's nine meta-training devices is known; on each of the six test devices
ten cells are measured (chosen at random, or by a farthest-point design in the training devices' latencies,
:mod:`gpnas.sampling.design`), and every method ranks all the other cells by predicted latency (Spearman rho, mean
over ``--splits`` draws of the ten):

* gpnas with the training devices' log latencies as side features (one kernel group, or a group per device);
* gpnas on the cell alone (no other device);
* scikit-learn's BayesianRidge on the training devices' log latencies (a linear map between devices);
* FLOPs alone (NAS-Bench-Suite-Zero's, on the 14,921 cells it covers).

HELP's published figures are quoted beside them.

    python benchmarks/latency.py [--splits 5] [--measurements 10] [--name latency]
    python benchmarks/latency.py --measurements 5 --name latency_5    # and 20, 50: the curve of the README figure
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, write_results  # noqa: E402

from gpnas import GPNASRegressor  # noqa: E402
from gpnas.io.latency import HELP_TEST_DEVICES, HELP_TRAIN_DEVICES, latency_side_features, load_nb201_latency  # noqa
from gpnas.io.proxies import load_nb201_proxies  # noqa: E402
from gpnas.io.tables import nasbench201_space  # noqa: E402
from gpnas.sampling.design import farthest_point_design  # noqa: E402

#: HELP (NeurIPS 2021, Table 3): Spearman with 10 measurements on each unseen device; FLOPs alone; BRP-NAS with 900.
HELP = {"titan_rtx_256": 0.987, "gold_6226": 0.989, "pixel2": 0.802, "raspi4": 0.890, "eyeriss": 0.940,
        "fpga": 0.985}
PUBLISHED_MEANS = {"HELP (10 measurements, meta-trained)": 0.932, "FLOPs (HELP's table)": 0.787,
                   "BRP-NAS (900 measurements)": 0.789}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--measurements", type=int, default=10)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--name", default="latency", help="results file name (results/NAME.md and .json)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    from sklearn.linear_model import BayesianRidge

    space = nasbench201_space()
    side = latency_side_features(HELP_TRAIN_DEVICES, args.data_dir)
    X, latency = load_nb201_latency(HELP_TEST_DEVICES, args.data_dir)
    flops_side = load_nb201_proxies("cifar10", ["flops"], data_dir_=args.data_dir)
    has_flops = flops_side.covers(X)
    flops = np.full(len(X), np.nan)
    flops[has_flops] = flops_side.lookup(X[has_flops])[:, 0]
    F = side.lookup(X)
    results: dict = {}
    for device in HELP_TEST_DEVICES:
        y = np.log(latency[device])
        cell: dict = {}
        for split in range(args.splits):
            rng = np.random.default_rng(split)
            for design in ("random", "farthest point"):
                if design == "random":
                    measured = rng.choice(len(X), args.measurements, replace=False)
                else:
                    measured = farthest_point_design(side, args.measurements, np.random.default_rng(split))
                rest = np.setdiff1d(np.arange(len(X)), measured)

                def rho(prediction):
                    return float(spearmanr(prediction[rest], y[rest])[0])
                for label, params in (("gpnas + other devices", {"side_features": side}),
                                      ("gpnas + other devices, a group each",
                                       {"side_features": side, "side_grouping": "each"})):
                    model = GPNASRegressor(space=space, features=["choices"], random_state=split, **params)
                    cell.setdefault(f"{label} ({design})", []).append(rho(model.fit(X[measured],
                                                                                      y[measured]).predict(X)))
                if design == "random":
                    plain = GPNASRegressor(space=space, random_state=split).fit(X[measured], y[measured])
                    cell.setdefault("gpnas, cell only (random)", []).append(rho(plain.predict(X)))
                    ridge = BayesianRidge().fit(F[measured], y[measured])
                    cell.setdefault("BayesianRidge on other devices (random)", []).append(rho(ridge.predict(F)))
        keep = has_flops
        cell["FLOPs alone"] = [float(spearmanr(flops[keep], y[keep])[0])]
        results[device] = cell
        print(device, {k: round(float(np.mean(v)), 3) for k, v in cell.items()}, flush=True)
    methods = list(next(iter(results.values())))
    means = {m: float(np.mean([np.mean(results[d][m]) for d in HELP_TEST_DEVICES])) for m in methods}
    top = max(max(means.values()), float(np.mean(list(HELP.values()))))
    rows = []
    for method in methods:
        values = [float(np.mean(results[d][method])) for d in HELP_TEST_DEVICES]
        rows.append([method] + [f"{v:.3f}" for v in values]
                    + [f"**{means[method]:.3f}**" if means[method] == top else f"{means[method]:.3f}"])
    rows.append(["HELP, published (10 measurements)"] + [f"{HELP[d]:.3f}" for d in HELP_TEST_DEVICES]
                + [f"{np.mean(list(HELP.values())):.3f}"])
    markdown = (
        f"## Latency on unseen devices from {args.measurements} measurements (HELP's NAS-Bench-201 protocol)\n\n"
        f"Command: `python benchmarks/latency.py --splits {args.splits} --measurements {args.measurements}"
        + (f" --name {args.name}" if args.name != "latency" else "") + "`. "
        f"The nine training devices ({', '.join(HELP_TRAIN_DEVICES)}) are known for every cell; on each test "
        f"device {args.measurements} cells are measured and the other {len(X) - args.measurements:,} ranked "
        f"(Spearman rho of the log latency, mean over {args.splits} draws; FLOPs over the 14,921 cells with published FLOPs). Published means for "
        "reference: " + "; ".join(f"{k} {v:.3f}" for k, v in PUBLISHED_MEANS.items()) + ".\n\n"
        + markdown_table(["method"] + list(HELP_TEST_DEVICES) + ["mean"], rows))
    print(markdown)
    path = write_results(args.name, markdown, {"args": vars(args), "rho": results, "help": HELP},
                         script="benchmarks/latency.py")
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
