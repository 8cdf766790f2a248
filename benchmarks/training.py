"""How reliable is a child's measured accuracy as a ranking signal, and what does it cost?

For each training setting (dataset, resolution, width, epochs, recipe), the same ``--archs`` random MobileNetV3-large
architectures are trained with two seeds.  A seed changes everything the main job's ``--seed`` changes: the initial
weights, the data order and the held-out validation split (``split: fixed`` settings keep the split of seed 0 and
change only the weights and the order, as NAS-Bench-201's seeds do: they show how much of the noise is training
noise).  The seed-to-seed Kendall tau of the children's accuracies says how reproducible the ranking the GP learns
from is; the median seconds per child (one torch thread, as each search worker trains) says what it costs.

Also reported, from the same trainings: the tau of the held-out log loss and of the training loss of the last epoch
(each mini-batch's loss before its update: for one epoch a progressive-validation estimate over every training image,
the "training speed estimate" of Ru et al., NeurIPS 2021), and for each metric the intraclass correlation ``ICC =
var_between / (var_between + var_within)`` of the two seeds (the share of a single measurement's variance that is the
architecture's; with normal errors the expected tau is ``(2 / pi) arcsin(ICC)``, so tau 0.7 needs ICC 0.89).

Two samples of architectures: ``random`` (uniform; in a 15-block space they are nearly all alike, since each mixes
about as many large and small blocks) and ``diverse`` (architecture i picks the larger option of every position with
probability i / (n - 1): from nearly all-small to nearly all-large networks, the range a search moves across).

The settings include the recipe this replaced (batch 64, learning rate 0.1, one epoch of warm-up: the main job's
defaults before the data-size rule) side by side.  Results are cached per training in
``benchmarks/_cache/training_runs.jsonl``, so the script is incremental.  Writes ``results/training.md``/``.json``.

    python benchmarks/training.py [--archs 12] [--workers 2] [--only digits-r16-w0.35-e1 ...] [--summary-only]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, read_cached_runs, run_and_cache, write_results  # noqa: E402

CACHE = Path(__file__).resolve().parent / "_cache" / "training_runs.jsonl"
OLD_RECIPE = {"batch_size": 64, "lr": 0.1, "warmup_fraction": 1 / 3}  # 1 of 3 epochs of warm-up


def setting(dataset: str, resolution: int, width: float, epochs: int, recipe: str = "auto",
            sample: str = "random", split: str = "seeded") -> dict:
    name = f"{dataset}-r{resolution}-w{width}-e{epochs}" + ("" if recipe == "auto" else f"-{recipe}")
    name += ("" if sample == "random" else f"-{sample}") + ("" if split == "seeded" else "-fixedsplit")
    return {"name": name, "dataset": dataset, "resolution": resolution, "width": width, "epochs": epochs,
            "recipe": recipe, "sample": sample, "split": split}


#: In the order they run: the candidates for the main job's defaults first.
SETTINGS = [
    setting("digits", 16, 0.35, 1), setting("digits", 16, 0.35, 2), setting("mnist5k", 16, 0.35, 1),
    setting("digits", 16, 0.35, 3, "old"),
    setting("digits", 16, 0.35, 1, sample="diverse"), setting("digits", 16, 0.35, 2, sample="diverse"),
    setting("mnist5k", 16, 0.35, 1, sample="diverse"), setting("mnist5k", 16, 0.35, 2, sample="diverse"),
    setting("mnist5k", 16, 0.35, 1, sample="diverse", split="fixed"), setting("mnist5k", 16, 0.2, 1, sample="diverse"),
]
#: Metrics recorded per training; tau and ICC are computed for each.
METRICS = ("accuracy", "log_loss", "train_loss")


def architectures(space, n: int, sample: str) -> list[dict]:
    """``n`` architectures of ``space``: uniform, or from nearly all-small to nearly all-large (``diverse``)."""
    if sample == "random":
        return [space.to_dict_arch(x) for x in space.sample(n, 0)]
    rng = np.random.default_rng(0)
    archs = []
    for i in range(n):
        large = rng.random(space.n_positions) < i / max(1, n - 1)
        low = rng.integers(0, np.maximum(1, space.n_options // 2))  # the smaller half of each position's options
        high = space.n_options - 1 - rng.integers(0, np.maximum(1, space.n_options // 2))
        archs.append(space.to_dict_arch(np.where(large, high, low)))
    return archs


def train_one(config: dict, arch_index: int, arch: dict, seed: int) -> dict:
    import torch

    from gpnas.nets.objectives import TrainingObjective

    torch.set_num_threads(1)
    extra = OLD_RECIPE if config["recipe"] == "old" else {}
    from gpnas.io.tables import data_dir

    folder = str(data_dir(None) / "image-datasets") if config["dataset"] == "mnist5k" else None
    split_seed = 0 if config["split"] == "fixed" else None
    objective = TrainingObjective(dataset=config["dataset"], data_dir=folder, resolution=config["resolution"],
                                  width=config["width"], epochs=config["epochs"], seed=seed, split_seed=split_seed,
                                  device="cpu", **extra)
    objective.data()  # loading is not training time
    start = time.perf_counter()
    scores = objective.scores(arch)
    return {"setting": config["name"], "arch": arch_index, "seed": seed, **scores,
            "seconds": time.perf_counter() - start}


def intraclass_correlation(values: np.ndarray) -> float:
    """One-way ICC of ``values (archs, seeds)``: the share of one measurement's variance due to the architecture."""
    within = values.var(axis=1, ddof=1).mean()
    between = values.mean(axis=1).var(ddof=1) - within / values.shape[1]
    return float(between / (between + within))


def summarise(config: dict, runs: dict, n_archs: int) -> dict | None:
    values = {m: np.full((n_archs, 2), np.nan) for m in METRICS}
    seconds = []
    for (name, a, s), row in runs.items():
        if name == config["name"] and a < n_archs and s in (0, 1):
            for m in METRICS:
                values[m][a, s] = row.get(m, np.nan)
            seconds.append(row["seconds"])
    acc = values["accuracy"]
    complete = ~np.isnan(acc).any(axis=1)
    if complete.sum() < 4:
        return None
    a0, a1 = acc[complete, 0], acc[complete, 1]
    tau, p_value = stats.kendalltau(a0, a1)
    taus, iccs = {}, {}
    for m in METRICS:
        v = values[m][complete]
        recorded = not np.isnan(v).any()
        taus[m] = float(stats.kendalltau(v[:, 0], v[:, 1])[0]) if recorded else None
        iccs[m] = intraclass_correlation(v) if recorded else None
    return {**config, "n_archs": int(complete.sum()), "tau": float(tau), "p_value": float(p_value),
            "log_loss_tau": taus["log_loss"], "train_loss_tau": taus["train_loss"], "icc": iccs,
            "pearson": float(np.corrcoef(a0, a1)[0, 1]), "median_accuracy": float(np.median(acc[complete])),
            "min_accuracy": float(acc[complete].min()), "spread": float(np.ptp(acc[complete].mean(axis=1))),
            "seed_sd": float(np.std(a0 - a1, ddof=1) / np.sqrt(2)),
            "median_seconds": float(np.median(seconds))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", type=int, default=12)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", nargs="*", default=None, help="Setting names to run (default: all).")
    parser.add_argument("--summary-only", action="store_true", help="Write the tables from the cache; train nothing.")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from gpnas.nets.spaces import mobilenetv3_space

    space = mobilenetv3_space()
    archs = {sample: architectures(space, args.archs, sample) for sample in ("random", "diverse")}
    runs = read_cached_runs(CACHE, ("setting", "arch", "seed"))
    chosen = [c for c in SETTINGS if args.only is None or c["name"] in args.only]
    jobs = [] if args.summary_only else [
        (c, a, s) for c in chosen for a in range(args.archs) for s in (0, 1) if (c["name"], a, s) not in runs]
    run_and_cache(train_one, [(c, a, archs[c["sample"]][a], s) for c, a, s in jobs], args.workers, CACHE,
                  ("setting", "arch", "seed"), runs,
                  lambda row: f"{row['setting']} arch {row['arch']} seed {row['seed']}: {row['accuracy']:.1f} % in "
                              f"{row['seconds']:.1f} s")
    summaries = [s for c in SETTINGS if (s := summarise(c, runs, args.archs)) is not None]
    header = ["setting", "recipe", "sample", "split", "archs", "seed-to-seed tau", "p", "tau of the log loss",
              "tau of the train loss", "ICC acc / log loss / train loss", "median acc %", "min acc %",
              "spread of means (pp)", "seed sd (pp)", "s / child"]
    fmt = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    rows = [[s["name"], s["recipe"], s["sample"], s["split"], s["n_archs"], f"{s['tau']:.2f}", f"{s['p_value']:.2g}",
             fmt(s["log_loss_tau"]), fmt(s["train_loss_tau"]), " / ".join(fmt(s["icc"][m]) for m in METRICS),
             f"{s['median_accuracy']:.1f}", f"{s['min_accuracy']:.1f}", f"{s['spread']:.1f}",
             f"{s['seed_sd']:.2f}", f"{s['median_seconds']:.1f}"] for s in summaries]
    markdown = (
        "# Ranking reliability of trained children against their cost\n\n"
        f"{args.archs} MobileNetV3-large architectures per sample (`random`: uniform; `diverse`: from nearly all-small "
        "to nearly all-large, see the script), each trained twice (seeds 0 and 1: initial weights, data order and "
        "validation split all change; split `fixed`: the split stays, only weights and order change). tau: Kendall "
        "tau between the two seeds' accuracies (standard error about 0.2 over 12 architectures); tau of the log "
        "loss / train loss: the same for the held-out cross-entropy and for the last epoch's mean mini-batch loss "
        "before each update (a progressive-validation estimate at one epoch) of the same trainings; ICC: the share "
        "of one measurement's variance due to the architecture (tau 0.7 needs about 0.89); seed sd: the standard "
        "deviation of one child's accuracy across seeds; spread: max - min of the per-architecture means. Seconds per child with one torch thread, measured "
        "while other jobs shared the 2 cores (they overstate an idle machine). Recipe `auto`: batch and learning "
        "rate from the data size, 5 % warm-up; `old`: batch 64, learning rate 0.1, one epoch of three as warm-up "
        "(the defaults this replaced).\n\n"
        + markdown_table(header, rows))
    print(markdown)
    write_results("training", markdown, {"archs": args.archs, "settings": summaries})


if __name__ == "__main__":
    main()
