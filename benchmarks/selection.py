"""Choosing per device without searching again, on Accel-NASBench (ImageNet accuracy, MACs, params, throughput on six
accelerators, FPGA latency; the closest public match to the paper's MobileNetV3 space).

For each seed, ``n`` architectures are "trained" (drawn at random from the deduplicated table, their accuracy
revealed).  gpnas fits its predictor on them and, for every device target, picks the best *predicted* architecture of
the whole table that meets the target's budget (costs are known for every architecture, as a latency table or FLOPs
count would give them).  The baseline is what random search with the same ``n`` trainings picks: the best *measured*
of its ``n`` architectures that meets the budget.  Reported: regret (true best accuracy under the budget minus the
true accuracy of the pick, percentage points; 0 is perfect), median over seeds, and how often gpnas's pick is at least
as good.  Budgets are the 30th percentile of each cost (tight: 30 % of the table is feasible).

    python benchmarks/selection.py [--seeds 20] [--sizes 25 50 100 200]
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, write_results  # noqa: E402

from gpnas import GPNASRegressor  # noqa: E402
from gpnas.study.select import Constraint, select_per_target  # noqa: E402
from gpnas.io.tables import load_accel_nasbench  # noqa: E402

DEVICES = {  # cost column, direction of the budget
    "MACs": ("macs", "<="), "params": ("params", "<="),
    "A100 throughput": ("throughput_a100_mean", ">="), "RTX 3090 throughput": ("throughput_3090_mean", ">="),
    "TPUv2 throughput": ("throughput_tpuv2_mean", ">="), "TPUv3 throughput": ("throughput_tpuv3_mean", ">="),
    "ZCU102 latency": ("latency_zcu102_mean", "<="), "VCK190 latency": ("latency_vck190_mean", "<="),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--sizes", nargs="+", type=int, default=[25, 50, 100, 200])
    parser.add_argument("--quantile", type=float, default=0.3)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    table = load_accel_nasbench(data_dir_=args.data_dir).deduplicated()
    constraints, costs = [], {}
    for device, (column, op) in DEVICES.items():
        values = table.extra[column]
        limit = np.nanquantile(values, args.quantile if op == "<=" else 1 - args.quantile)
        costs[column] = np.where(np.isfinite(values), values, np.inf if op == "<=" else -np.inf)
        constraints.append((device, Constraint(column, op, float(limit))))
    true_best = {d: table.y[c.feasible(costs[c.cost])].max() for d, c in constraints}
    regret = {n: {d: {"gpnas": [], "random search": []} for d, _ in constraints} for n in args.sizes}
    for n in args.sizes:
        for seed in range(args.seeds):
            idx = np.random.default_rng(seed).choice(len(table.y), n, replace=False)
            model = GPNASRegressor(space=table.space, random_state=seed).fit(table.X[idx], table.y[idx])
            mean = model.predict(table.X)
            picks = select_per_target(mean, costs, [c for _, c in constraints])
            for device, c in constraints:
                pick = picks[str(c)][0]
                regret[n][device]["gpnas"].append(true_best[device] - table.y[pick])
                feasible = idx[c.feasible(costs[c.cost][idx])]
                measured = table.y[feasible].max() if feasible.size else table.y[c.feasible(costs[c.cost])].min()
                regret[n][device]["random search"].append(true_best[device] - measured)
        print(f"n={n} done", flush=True)
    rows = []
    for device, c in constraints:
        row = [device, str(c)]
        for n in args.sizes:
            g, r = np.array(regret[n][device]["gpnas"]), np.array(regret[n][device]["random search"])
            row.append(f"{np.median(g):.2f} / {np.median(r):.2f} ({np.mean(g <= r):.0%})")
        rows.append(row)
    markdown = (
        f"Accel-NASBench ({len(table.y)} distinct architectures), {args.seeds} seeds; budgets at the "
        f"{args.quantile:.0%} quantile of each cost. Cells: median regret in top-1 accuracy points, gpnas / random "
        "search with the same number of trainings (share of seeds where gpnas's pick is at least as good).\n\n"
        + markdown_table(["target", "budget"] + [f"n = {n}" for n in args.sizes], rows))
    print(markdown)
    write_results("selection", markdown, {"regret": {str(n): v for n, v in regret.items()}, "args": vars(args)})


if __name__ == "__main__":
    main()
