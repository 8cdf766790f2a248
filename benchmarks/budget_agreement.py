"""How much NAS-Bench-201's 12-epoch accuracies say about its 200-epoch ones, per dataset (no search, the table only).

For each dataset, over isomorphism classes (one cell per class, the table's first): how many classes beat the
200-epoch best at 12 epochs, and the Kendall tau between the 12- and 200-epoch accuracies over all classes and over
the 200 best at 200 epochs.  The multi-budget docs read these figures.

    python benchmarks/budget_agreement.py [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, write_results  # noqa: E402

from gpnas.io.tables import NB201_BUDGET_COLUMNS, load_nasbench201_budgets  # noqa: E402

TOP = 200


def agreement(dataset: str, data_dir: str | None) -> dict:
    table, values = load_nasbench201_budgets(dataset, data_dir)
    _, first = np.unique(table.dedup_key, return_index=True)
    short, long = values[12][first], values[200][first]
    best = int(np.argmax(long))
    top = np.argsort(-long)[:TOP]
    return {"classes": int(first.size), "beat_best_at_12": int(np.sum(short > short[best])),
            "tau_all": float(kendalltau(short, long)[0]), f"tau_top{TOP}": float(kendalltau(short[top], long[top])[0])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    results = {dataset: agreement(dataset, args.data_dir) for dataset in NB201_BUDGET_COLUMNS}
    rows = [[d, r["classes"], r["beat_best_at_12"], f"{r['tau_all']:.2f}", f"{r[f'tau_top{TOP}']:.2f}"]
            for d, r in results.items()]
    md = ("# NAS-Bench-201: 12-epoch against 200-epoch accuracy\n\nOver isomorphism classes (the table's first cell of "
          "each; `nats-bench-tss/commit-bca0282`). Command: `python benchmarks/budget_agreement.py`.\n\n"
          + markdown_table(["dataset", "classes", "classes ahead of the 200-epoch best at 12 epochs",
                            "Kendall tau, all classes", f"Kendall tau, the {TOP} best at 200 epochs"], rows))
    print(md)
    write_results("budget_agreement", md, {"command": "python benchmarks/budget_agreement.py", "top": TOP,
                                           "results": results})


if __name__ == "__main__":
    main()
