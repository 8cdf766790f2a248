"""Zero-cost proxies in the main job (issue #23): do they rank its children, what do they cost, and does the search
find better children with them?

1. **Ranking.**  ``--archs`` *diverse* MobileNetV3-large children (from nearly all-small to nearly all-large, as
   ``benchmarks/training.py`` samples them) and as many *uniform* ones, each trained as the main job trains it
   (mnist5k, 16x16, width 0.35, one epoch, seed 0, one torch thread) and scored by the proxies on the main job's
   proxy batch (64 training images, never a validation one).  Kendall tau of each proxy and of their vote (the mean
   signed normal score, :meth:`SideFeatures.vote`) with the held-out accuracy, and the seconds per child of each.
2. **Search.**  The main job as a whole process (``gpnas search``: 20 children, default strategy) with and without
   ``--proxies N``, on seeds ``0 .. --seeds - 1``: the best held-out accuracy found, and the wall time.

Every training and search is cached in ``benchmarks/_cache/main_job_proxies.jsonl`` under every setting that changes
it.  Writes ``results/main_job_proxies.md`` and ``.json``.

    python benchmarks/main_job_proxies.py [--archs 16] [--seeds 3] [--pool 200] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import append_cached_run, markdown_table, read_cached_runs, run_and_cache, write_results  # noqa: E402
from training import architectures  # noqa: E402

CACHE = Path(__file__).resolve().parent / "_cache" / "main_job_proxies.jsonl"
#: The main job's training (the CLI's defaults for mnist5k).
MAIN_JOB = {"dataset": "mnist5k", "resolution": 16, "width": 0.35, "epochs": 1, "seed": 0}
KEYS = ("part", "key")


def objective():
    from gpnas.nets.objectives import TrainingObjective

    return TrainingObjective(dataset=MAIN_JOB["dataset"], resolution=MAIN_JOB["resolution"],
                             width=MAIN_JOB["width"], epochs=MAIN_JOB["epochs"], seed=MAIN_JOB["seed"], device="cpu")


def proxy_set() -> str:
    """The proxies computed (a cache key part: adding one changes every scored child and every search with them)."""
    from gpnas.nets.proxies import PROXIES

    return "-".join(PROXIES)


def ranking_key(sample: str, n: int, index: int) -> str:
    return f"{sample}-{n}-{index}-{json.dumps(MAIN_JOB, sort_keys=True)}-{proxy_set()}"


def search_key(seed: int, pool: int | None, budget: int) -> str:
    from gpnas.sampling.strategies import AutoSampler

    key = f"{seed}-{pool}-{budget}" + (f"-{proxy_set()}" if pool else "")
    # the main job proposes two children at a time, with the default's UCB weight for batches (runs cached before
    # that weight existed used beta, and keep their keys)
    batch_beta = AutoSampler().batch_beta
    return key + (f"-batch_beta={batch_beta:g}" if batch_beta is not None else "")


def train_and_score(sample: str, n: int, index: int, arch: dict) -> dict:
    """One child: trained as the main job trains it, and its proxies on the main job's batch; seconds of each."""
    import torch

    from gpnas.nets.proxies import PROXIES, network_proxies
    from gpnas.nets.spaces import mobilenetv3_space

    torch.set_num_threads(1)
    space = mobilenetv3_space()
    target = objective()
    target.data()  # loading is neither training nor scoring time
    inputs, labels = target.proxy_batch()
    start = time.perf_counter()
    proxies = network_proxies(target.networks(space), space.from_dict_arch(arch), inputs, labels, MAIN_JOB["seed"])
    scored = time.perf_counter()
    accuracy = target(arch)
    return {"part": "ranking", "key": ranking_key(sample, n, index), "sample": sample,
            "index": index, "accuracy": accuracy, "proxies": dict(zip(PROXIES, proxies)),
            "proxy_seconds": scored - start, "train_seconds": time.perf_counter() - scored}


def search(seed: int, pool: int | None, budget: int) -> dict:
    """The main job as a whole process, with ``--proxies pool`` or without; its JSON summary and wall time."""
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "gpnas", "search", "--budget", str(budget), "--seed", str(seed),
                   "--storage", f"sqlite:///{folder}/s.db", "--out", f"{folder}/s.json"]
        command += ["--proxies", str(pool)] if pool else []
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{command} failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")
        summary = json.loads(Path(folder, "s.json").read_text())["summary"]
    proxy_line = next((line for line in done.stdout.splitlines() if line.startswith("zero-cost proxies of")), None)
    return {"part": "search", "key": search_key(seed, pool, budget), "seed": seed, "pool": pool, "budget": budget,
            "best": summary["best_found"]["value"], "values": summary["values"], "seconds": seconds,
            "proxy_line": proxy_line}


def ranking_table(rows: list[dict]) -> tuple[str, dict]:
    from gpnas.gp.side_features import SideFeatures
    from gpnas.nets.proxies import PROXIES

    out, data = [], {}
    for sample in ("diverse", "random", "both"):
        chosen = [r for r in rows if sample == "both" or r["sample"] == sample]
        accuracy = np.array([r["accuracy"] for r in chosen])
        values = np.array([[r["proxies"][p] for p in PROXIES] for r in chosen])
        vote = SideFeatures(np.arange(len(chosen))[:, None], values, list(PROXIES), np.ones(len(PROXIES))).vote()
        taus = [stats.kendalltau(values[:, j], accuracy)[0] for j in range(len(PROXIES))]
        taus.append(stats.kendalltau(vote, accuracy)[0])
        data[sample] = dict(zip(list(PROXIES) + ["vote"], taus), n=len(chosen))
        out.append([sample, len(chosen), f"{accuracy.min():.1f} - {accuracy.max():.1f}"]
                   + [f"{t:+.2f}" for t in taus])
    table = markdown_table(["children", "n", "accuracy range (%)"] + list(PROXIES) + ["vote"], out)
    return table, data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", type=int, default=16, help="children per sample (diverse and uniform)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds of the main job, with and without proxies")
    parser.add_argument("--pool", type=int, default=200, help="children scored by the proxies (--proxies N)")
    parser.add_argument("--budget", type=int, default=20, help="children the main job trains")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    from gpnas.nets.proxies import PROXIES
    from gpnas.nets.spaces import mobilenetv3_space

    space = mobilenetv3_space()
    runs = read_cached_runs(CACHE, KEYS)
    calls = [(sample, args.archs, i, arch) for sample in ("diverse", "random")
             for i, arch in enumerate(architectures(space, args.archs, sample))]
    todo = [c for c in calls if ("ranking", ranking_key(*c[:3])) not in runs]
    run_and_cache(train_and_score, todo, args.workers, CACHE, KEYS, runs,
                  lambda r: f"{r['sample']} {r['index']}: {r['accuracy']:.1f} % ({r['train_seconds']:.0f} s)")
    ranking = [runs[("ranking", ranking_key(*c[:3]))] for c in calls]
    searches = []
    for seed in range(args.seeds):
        for pool in (None, args.pool):
            key = ("search", search_key(seed, pool, args.budget))
            if key not in runs:
                runs[key] = search(seed, pool, args.budget)
                append_cached_run(CACHE, runs[key])
                print(f"search seed {seed} proxies {pool}: best {runs[key]['best']:.2f} "
                      f"({runs[key]['seconds']:.0f} s)", flush=True)
            searches.append(runs[key])
    table, taus = ranking_table(ranking)
    proxy_s = np.median([r["proxy_seconds"] for r in ranking])
    train_s = np.median([r["train_seconds"] for r in ranking])
    search_rows = []
    for pool in (None, args.pool):
        chosen = [r for r in searches if r["pool"] == pool]
        search_rows.append([f"--proxies {pool}" if pool else "without proxies", len(chosen),
                            ", ".join(f"{r['best']:.2f}" for r in chosen),
                            f"{np.median([r['best'] for r in chosen]):.2f}",
                            f"{np.median([r['seconds'] for r in chosen]):.0f}"])
    markdown = (
        f"The main job's children: MobileNetV3-large trained on the 5,000-image MNIST sample ({MAIN_JOB['resolution']}"
        f"x{MAIN_JOB['resolution']}, width {MAIN_JOB['width']}, {MAIN_JOB['epochs']} epoch, seed {MAIN_JOB['seed']}),"
        f" held-out accuracy; proxies on the main job's proxy batch (64 training images).\n\n"
        f"**Ranking**: Kendall tau of each proxy with the accuracy, {args.archs} diverse and {args.archs} uniform "
        "children:\n\n" + table
        + f"\n\nCost per child on one thread (median): the {len(PROXIES)} proxies {proxy_s:.2f} s, the one-epoch "
        "training "
        f"{train_s:.1f} s ({train_s / proxy_s:.0f}x).\n\n"
        f"**Search**: the main job ({args.budget} children) as a whole process, without and with `--proxies "
        f"{args.pool}` (the search proposes among {args.pool} random children scored first), seeds 0-"
        f"{args.seeds - 1}; best held-out accuracy found (%):\n\n"
        + markdown_table(["run", "seeds", "best per seed", "median best", "median wall s"], search_rows)
        + f"\n\nCommand: `python benchmarks/main_job_proxies.py {' '.join(sys.argv[1:])}`."
    )
    print(markdown)
    write_results("main_job_proxies", markdown, {"args": vars(args), "taus": taus, "ranking": ranking,
                                                  "searches": searches, "proxy_seconds": proxy_s,
                                                  "train_seconds": train_s})


if __name__ == "__main__":
    main()
