"""The command line's predictor at scale (issue #25): ``gpnas predict`` on a million architectures as a whole process
against a bare read of the same CSV, and ``fit`` at n = 200 in process.

1. **predict.**  A model of 200 MobileNetV3-large architectures (45 choices; ``gpnas fit``), then ``--rows`` random
   architectures of the space in a CSV.  Timed as whole processes, ``--repeats`` times each, the median reported:
   ``gpnas predict`` (parse, encode, predict mean, std and the interval, write) with pyarrow and without it (the
   core install), Python's csv module reading the file (the yardstick of the issue), and pandas reading it.
2. **fit.**  ``GPNASRegressor.fit`` at n = 200 in process (the search model's defaults and the whole-space model's),
   ``--fit-repeats`` fits on fresh random training sets, median ms.

Writes ``results/predictor_cli_timing.md`` and ``.json``.

    python benchmarks/predictor_timing.py [--rows 1000000] [--repeats 3] [--fit-repeats 9]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, write_results  # noqa: E402

from gpnas.io.data import write_architectures  # noqa: E402
from gpnas.nets.spaces import mobilenetv3_space  # noqa: E402

CSV_READ = "import csv, sys\nwith open(sys.argv[1], newline='') as f:\n    n = sum(1 for _ in csv.reader(f))\n"
PANDAS_READ = "import pandas, sys\npandas.read_csv(sys.argv[1])\n"
#: gpnas predict as a user without pyarrow runs it (the core install: NumPy decodes the choice columns)
WITHOUT_ARROW = ("import sys\nimport gpnas.io.arrow_blocks as arrow\narrow.pa = None\nfrom gpnas.cli import main\n"
                 "main(sys.argv[1:])\n")


def _synthetic_accuracy(space, X: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(1)
    weights = rng.normal(size=X.shape[1])
    return 0.7 + 0.01 * (X / np.maximum(1, space.n_options - 1)) @ weights + 0.002 * rng.normal(size=X.shape[0])


def _time(command: list[str], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        out.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{command} failed: {done.stderr[-2000:]}")
    return out


def predict_section(rows: int, repeats: int, folder: Path) -> dict:
    space = mobilenetv3_space()
    space.save(folder / "space.yaml")
    X_train = space.sample(200, random_state=0)
    write_architectures(folder / "train.csv", space, X_train, {"acc": _synthetic_accuracy(space, X_train)})
    gpnas = [sys.executable, "-m", "gpnas"]
    subprocess.run(gpnas + ["fit", "--space", str(folder / "space.yaml"), "--data", str(folder / "train.csv"),
                            "--target", "acc", "--out", str(folder / "m.npz")], check=True, capture_output=True)
    X = space.sample(rows, random_state=2)
    write_architectures(folder / "pool.csv", space, X, {})
    size_mb = (folder / "pool.csv").stat().st_size / 1e6
    seconds = {
        "csv module read": _time([sys.executable, "-c", CSV_READ, str(folder / "pool.csv")], repeats),
        "pandas.read_csv": _time([sys.executable, "-c", PANDAS_READ, str(folder / "pool.csv")], repeats),
        "gpnas predict": _time(gpnas + ["predict", "--model", str(folder / "m.npz"), "--data",
                                        str(folder / "pool.csv"), "--out", str(folder / "out.csv")], repeats),
        "gpnas predict, without pyarrow": _time(
            [sys.executable, "-c", WITHOUT_ARROW, "predict", "--model", str(folder / "m.npz"), "--data",
             str(folder / "pool.csv"), "--out", str(folder / "out_numpy.csv")], repeats),
    }
    import pandas

    if not pandas.read_csv(folder / "out.csv").equals(pandas.read_csv(folder / "out_numpy.csv")):
        raise SystemExit("the Arrow and NumPy paths wrote different values")
    return {"rows": rows, "file_mb": size_mb, "seconds": seconds}


def fit_section(repeats: int) -> dict:
    from gpnas.gp import GPNASRegressor
    from gpnas.study.study import SEARCH_MODEL_DEFAULTS

    space = mobilenetv3_space()
    out = {}
    for label, params in [("search model (per-choice features)", dict(SEARCH_MODEL_DEFAULTS)),
                          ("whole-space model (defaults)", {})]:
        ms = []
        for seed in range(repeats):
            X = space.sample(200, random_state=100 + seed)
            y = _synthetic_accuracy(space, X)
            start = time.perf_counter()
            GPNASRegressor(space=space, random_state=seed, **params).fit(X, y)
            ms.append(1000 * (time.perf_counter() - start))
        out[label] = ms
        print(label, f"{np.median(ms):.0f} ms", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fit-repeats", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        predict = predict_section(args.rows, args.repeats, Path(folder))
    fits = fit_section(args.fit_repeats)
    base = float(np.median(predict["seconds"]["csv module read"]))
    rows = [[name, f"{np.median(s):.1f}", f"{np.median(s) / base:.1f}x", ", ".join(f"{v:.1f}" for v in s)]
            for name, s in predict["seconds"].items()]
    fit_rows = [[name, f"{np.median(ms):.0f}", f"{min(ms):.0f} - {max(ms):.0f}"] for name, ms in fits.items()]
    import pyarrow

    markdown = (
        f"Whole processes on a CSV of {args.rows:,} MobileNetV3-large architectures ({predict['file_mb']:.0f} MB, 45 "
        f"choices); `gpnas predict` with a model of 200 writes mean, std, lower and upper; median of {args.repeats} "
        f"runs (`gpnas predict` parses and writes with pyarrow {pyarrow.__version__}, the `gpnas[fast]` extra; the row "
        "without pyarrow is the core install, NumPy decoding the choice columns; both wrote the same values):\n\n"
        + markdown_table(["command", "median s", "vs csv module read", "each s"], rows)
        + f"\n\n`GPNASRegressor.fit` at n = 200 (MobileNetV3-large, synthetic accuracy), in process, {args.fit_repeats}"
        " fresh training sets:\n\n" + markdown_table(["model", "median ms", "range ms"], fit_rows)
        + f"\n\nCommand: `python benchmarks/predictor_timing.py {' '.join(sys.argv[1:])}`."
    )
    print(markdown)
    write_results("predictor_cli_timing", markdown, {"predict": predict, "fit_ms": fits, "args": vars(args)},
                  script="benchmarks/predictor_timing.py")


if __name__ == "__main__":
    main()
