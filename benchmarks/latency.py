"""Latency on an unseen device from ten measurements, under HELP's protocol (NeurIPS 2021): NAS-Bench-201 (Table 3),
FBNet (Table 2) and OFA-MobileNetV3 (``--space``).

Every network's latency on HELP's nine meta-training devices is known; on each test device (or, with ``--devices
validation``, each of HELP's validation devices, where variants are chosen) ten networks are measured (chosen at
random, or by a farthest-point design in the training devices' latencies,
:mod:`gpnas.sampling.design`), and every method ranks all the other cells by predicted latency (Spearman rho, mean
over ``--splits`` draws of the ten):

* gpnas with the training devices' log latencies as side features (one kernel group, or a group per device);
* on NAS-Bench-201, gpnas on the cell's operation counts with the training devices' log latencies standardised
  (``side_scaling="standardize"``, a group per device): chosen on the validation devices and the training devices
  left out one at a time (``--devices training``), never on the test devices;
* gpnas on the cell alone (no other device);
* scikit-learn's BayesianRidge on the training devices' log latencies (a linear map between devices);
* FLOPs alone (NAS-Bench-Suite-Zero's, on the 14,921 cells it covers; NAS-Bench-201 only).

HELP's published figures are quoted beside them (NAS-Bench-201: Table 3; FBNet: Table 2, with MAML and Meta-SGD;
HELP publishes no correlation for OFA).  FBNet and OFA hold 5,000 sampled networks each, not the whole space.
Every gpnas model here is fitted by maximum likelihood (``hyperprior_scale=None``), as ``gpnas select``'s latency
model is (:mod:`gpnas.study.select`), not under the predictor's default hyperparameter prior.

    python benchmarks/latency.py [--splits 5] [--measurements 10] [--name latency]
    python benchmarks/latency.py --measurements 5 --name latency_5    # and 20, 50: the curve of the README figure
    python benchmarks/latency.py --space fbnet --name latency_fbnet   # and --space ofa --name latency_ofa
    python benchmarks/latency.py --devices training --name latency_training   # each training device left out
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import changed_options, markdown_table, write_results  # noqa: E402

from gpnas import GPNASRegressor  # noqa: E402
from gpnas.io import latency as help_data  # noqa: E402
from gpnas.io.proxies import load_nb201_proxies  # noqa: E402
from gpnas.sampling.design import farthest_point_design  # noqa: E402

#: Per space: HELP's meta-training, validation and test devices, its published Spearman per test device with 10
#: measurements (NAS-Bench-201: Table 3; FBNet: Table 2), and published means of it and its baselines.
PROTOCOLS = {
    "nasbench201": (help_data.HELP_TRAIN_DEVICES, ("titanx_1", "titanx_32", "titanx_256", "gold_6240"),
                    help_data.HELP_TEST_DEVICES,
                    {"titan_rtx_256": 0.987, "gold_6226": 0.989, "pixel2": 0.802, "raspi4": 0.890, "eyeriss": 0.940,
                     "fpga": 0.985},
                    {"HELP (10 measurements, meta-trained)": 0.932, "FLOPs (HELP's table)": 0.787,
                     "BRP-NAS (900 measurements)": 0.789}),
    "fbnet": (help_data.FBNET_TRAIN_DEVICES, help_data.FBNET_VALID_DEVICES, help_data.FBNET_TEST_DEVICES,
              {"fpga": 0.892, "raspi4": 0.887, "eyeriss": 0.943},
              {"HELP (10 measurements, meta-trained)": 0.910, "Meta-SGD": 0.806, "MAML": 0.736}),
    "ofa": (help_data.OFA_TRAIN_DEVICES, help_data.OFA_VALID_DEVICES, help_data.OFA_TEST_DEVICES, {}, {}),
}


#: The row of the variant chosen on the validation and training devices (NAS-Bench-201 only: it needs the cell).
OPS_STANDARDIZED = "gpnas, op counts + other devices standardised, a group each"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--measurements", type=int, default=10)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--name", default="latency", help="results file name (results/NAME.md and .json)")
    parser.add_argument("--space", choices=sorted(PROTOCOLS), default="nasbench201")
    parser.add_argument("--devices", choices=["test", "validation", "training"], default="test",
                        help="HELP's test devices, its validation devices, or each of its training devices with the "
                             "other training devices as inputs (the last two are where variants are chosen)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    from sklearn.linear_model import BayesianRidge

    train_devices, valid_devices, test_devices, HELP, PUBLISHED_MEANS = PROTOCOLS[args.space]
    devices = {"test": test_devices, "validation": valid_devices, "training": train_devices}[args.devices]
    if args.devices != "test":
        HELP, PUBLISHED_MEANS = {}, {}
    space, X, latency = help_data.load_help_latency(args.space, devices, args.data_dir)
    flops = None
    if args.space == "nasbench201":
        flops_side = load_nb201_proxies("cifar10", ["flops"], data_dir_=args.data_dir)
        has_flops = flops_side.covers(X)
        flops = np.full(len(X), np.nan)
        flops[has_flops] = flops_side.lookup(X[has_flops])[:, 0]
    results: dict = {}
    for device in devices:
        inputs = [d for d in train_devices if d != device]  # all nine, or the other eight with --devices training
        side = help_data.help_side_features(args.space, inputs, args.data_dir)
        F = side.lookup(X)
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
                    model = GPNASRegressor(space=space, features=["choices"], random_state=split, hyperprior_scale=None,
                                           **params)
                    cell.setdefault(f"{label} ({design})", []).append(rho(model.fit(X[measured],
                                                                                      y[measured]).predict(X)))
                if design == "farthest point" and space.cell is not None:
                    model = GPNASRegressor(space=space, features=["ops"], side_features=side, side_grouping="each",
                                           side_scaling="standardize", random_state=split, hyperprior_scale=None)
                    cell.setdefault(f"{OPS_STANDARDIZED} ({design})", []).append(
                        rho(model.fit(X[measured], y[measured]).predict(X)))
                if design == "random":
                    plain = GPNASRegressor(space=space, random_state=split, hyperprior_scale=None).fit(
                        X[measured], y[measured])
                    cell.setdefault("gpnas, cell only (random)", []).append(rho(plain.predict(X)))
                    ridge = BayesianRidge().fit(F[measured], y[measured])
                    cell.setdefault("BayesianRidge on other devices (random)", []).append(rho(ridge.predict(F)))
        if flops is not None:
            cell["FLOPs alone"] = [float(spearmanr(flops[has_flops], y[has_flops])[0])]
        results[device] = cell
        print(device, {k: round(float(np.mean(v)), 3) for k, v in cell.items()}, flush=True)
    methods = list(next(iter(results.values())))
    means = {m: float(np.mean([np.mean(results[d][m]) for d in devices])) for m in methods}
    top = max(list(means.values()) + ([float(np.mean(list(HELP.values())))] if HELP else []))
    rows = []
    for method in methods:
        values = [float(np.mean(results[d][method])) for d in devices]
        rows.append([method] + [f"{v:.3f}" for v in values]
                    + [f"**{means[method]:.3f}**" if means[method] == top else f"{means[method]:.3f}"])
    if HELP:
        rows.append(["HELP, published (10 measurements)"] + [f"{HELP[d]:.3f}" for d in devices]
                    + [f"{np.mean(list(HELP.values())):.3f}"])
    title = {"nasbench201": "NAS-Bench-201", "fbnet": "FBNet", "ofa": "OFA-MobileNetV3"}[args.space]
    options = changed_options(args, {"space": "nasbench201", "devices": "test", "name": "latency"})
    markdown = (
        f"## Latency on {({'test': 'unseen'}).get(args.devices, args.devices)} devices from {args.measurements} "
        f"measurements (HELP's {title} protocol)\n\n"
        f"Command: `python benchmarks/latency.py --splits {args.splits} --measurements {args.measurements}{options}`. "
        f"The nine training devices ({', '.join(train_devices)}) are known for every network"
        + (" (each left out in turn: the other eight are the inputs)" if args.devices == "training" else "")
        + f"; on each {({'test': 'test', 'validation': 'validation'}).get(args.devices, 'left-out')} device "
        f"{args.measurements} networks are measured and the other {len(X) - args.measurements:,} "
        f"ranked (Spearman rho of the log latency, mean over {args.splits} draws"
        + ("; FLOPs over the 14,921 cells with published FLOPs" if flops is not None else "") + ")."
        + (" Published means for reference: " + "; ".join(f"{k} {v:.3f}" for k, v in PUBLISHED_MEANS.items()) + "."
           if PUBLISHED_MEANS else "") + "\n\n"
        + markdown_table(["method"] + list(devices) + ["mean"], rows))
    print(markdown)
    path = write_results(args.name, markdown, {"args": vars(args), "rho": results, "help": HELP},
                         script="benchmarks/latency.py")
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
