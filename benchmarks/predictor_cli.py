"""The published NAS-Bench-201 protocol through the command line only: ``gpnas table``, ``fit``, ``predict``.

For each split: ``n`` random rows of the full table (15,625 cells, not deduplicated) are written to a training CSV,
the remaining rows to a query CSV; ``gpnas fit`` fits on the first with the exported space file (which declares the
cell), ``gpnas predict`` predicts the second, and Kendall tau is computed between the predicted means and the table's
accuracies.  The same splits as ``predictor.py``'s protocol section.  Writes ``results/predictor_cli.md``.

    python benchmarks/predictor_cli.py [--table nb201-cifar10] [--n 128] [--splits 5]
    python benchmarks/predictor_cli.py --own-proxies    # gpnas's own zero-cost proxies as side columns
    python benchmarks/predictor_cli.py --n 32 --hyperprior-scale none --out predictor_cli_ml_n32   # maximum likelihood

``--own-proxies``: ``gpnas table --own-proxies`` computes gpnas's own proxies of every cell (15-20 minutes on
2 cores), and ``gpnas fit --side-columns`` takes all of them; writes ``results/predictor_cli_own_proxies.md``.
``--hyperprior-scale S``: ``gpnas fit --hyperprior-scale S`` (maximum a posteriori hyperparameters); ``--out NAME``:
the results file's name.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, write_results  # noqa: E402


def gpnas(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "gpnas", *args], check=True, stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", default="nb201-cifar10")
    parser.add_argument("--n", type=int, default=128)
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--own-proxies", action="store_true", help="gpnas's own proxies as side columns")
    parser.add_argument("--hyperprior-scale", default=None, help="gpnas fit --hyperprior-scale (default: none)")
    parser.add_argument("--out", default=None,
                        help="results name (default: predictor_cli, or predictor_cli_own_proxies)")
    args = parser.parse_args()
    side: list[str] = []
    if args.hyperprior_scale is not None:
        side += ["--hyperprior-scale", args.hyperprior_scale]
    if args.own_proxies:
        from gpnas.nets.proxies import PROXIES

        side += ["--side-columns", ",".join(PROXIES)]
    taus = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        extra = ["--data-dir", args.data_dir] if args.data_dir else []
        gpnas("table", args.table, "--out", str(tmp / "all.csv"), "--space-out", str(tmp / "space.yaml"), *extra,
              *(["--own-proxies"] if args.own_proxies else []))
        with open(tmp / "all.csv", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            rows = list(reader)
        target = header.index("target")
        for split in range(args.splits):
            order = np.random.default_rng(1000 * split + args.n).permutation(len(rows))
            for name, part in (("train", order[: args.n]), ("query", order[args.n :])):
                with open(tmp / f"{name}.csv", "w", newline="") as handle:
                    writer = csv.writer(handle)
                    writer.writerow(header)
                    writer.writerows(rows[i] for i in part)
            gpnas("fit", "--space", str(tmp / "space.yaml"), "--data", str(tmp / "train.csv"), "--target", "target",
                  "--out", str(tmp / "model.npz"), "--seed", str(split), *side)
            gpnas("predict", "--model", str(tmp / "model.npz"), "--data", str(tmp / "query.csv"), "--out",
                  str(tmp / "pred.csv"))
            with open(tmp / "pred.csv", newline="") as handle:
                predicted = [float(r["mean"]) for r in csv.DictReader(handle)]
            truth = [float(rows[i][target]) for i in order[args.n :]]
            taus.append(float(kendalltau(predicted, truth)[0]))
            print(f"split {split}: tau {taus[-1]:.3f}", flush=True)
    mean, se = np.mean(taus), np.std(taus, ddof=1) / np.sqrt(len(taus))
    how = (" with gpnas's own zero-cost proxies (`gpnas table --own-proxies`, `gpnas fit --side-columns "
           f"{side[-1]}`)" if args.own_proxies else "")
    if args.hyperprior_scale is not None:
        how += f"{' and' if how else ' with'} `gpnas fit --hyperprior-scale {args.hyperprior_scale}`"
    markdown = (f"Published protocol through the CLI (`gpnas table {args.table}`, `gpnas fit`, `gpnas predict`){how}: "
                f"train on {args.n} random architectures, Kendall tau on all the other {len(rows) - args.n}. "
                f"Command: `python benchmarks/predictor_cli.py {' '.join(sys.argv[1:])}`.\n\n"
                + markdown_table(["split", "Kendall tau"], [[i, f"{t:.3f}"] for i, t in enumerate(taus)]
                                 + [["mean ± s.e.", f"**{mean:.3f} ± {se:.3f}**"]]))
    print(markdown)
    write_results(args.out or ("predictor_cli_own_proxies" if args.own_proxies else "predictor_cli"), markdown,
                  {"taus": taus, "args": vars(args)}, script="benchmarks/predictor_cli.py")


if __name__ == "__main__":
    main()
