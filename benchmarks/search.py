"""Replay searches on public NAS benchmark tables: gpnas's default against its peers, with the defaults tuned on some
tables and seeds and judged on others.

Protocol (``--phase``):

* ``tune``: the tuning tables (:data:`TUNING`) and seeds ``0, 1, ...``.  Variants of a strategy are written
  ``name:key=value,...`` (``auto:warm_start=0,features=choices``, feature blocks joined by ``+``; keys in
  :data:`SAMPLER_KEYS`, :data:`STUDY_KEYS`, :data:`MODEL_KEYS`; ``proxies=1`` gives an NB201 search the published
  zero-cost proxies as side features, ``proxies=own`` gpnas's own, ``proxies=own-all`` gpnas's own with all eleven
  voting for the first trials, ``proxies=own@N`` gpnas's own on the proxies' seed N); every default is chosen from
  this phase's table (``results/search_tuning.md``).
* ``report``: every table, tuning and held-out (:data:`HELD_OUT`), on fresh seeds ``1000, 1001, ...`` that no
  choice looked at (``results/search.md``).

Tables: NAS-Bench-201 (CIFAR-10, CIFAR-100, ImageNet16-120; 15,625 cells), NAS-Bench-Macro (6,561), Accel-NASBench's
measured rows (5,125 of 5.9e11), CVPR 2021 Track 2 (200), CVPR 2022 Track 2 per task (500 ViT subnets, ranks: lower
is better), an XGBoost surrogate of the whole Accel-NASBench space (see ``_accel_surrogate.py``), and NAS-Bench-Graph
on eight graph datasets (26,206 graph neural networks each, from the ``nas-bench-graph`` package; a space where the
model ranks poorly).  A table that
lists part of its space is searched as a candidate set: gpnas and REA/LS propose its rows only; Optuna, which
suggests one ``suggest_categorical`` per position, gets the value of the nearest row (Hamming distance, ties to the
first row), and that row counts as queried.  Every strategy queries unique architectures; Optuna's repeats are
answered from a cache and not counted.

Reported per table: queries until the global best's equivalence class and until a top-0.1 % architecture is found
(median, quartiles, share found within the budget), random search's expectation for both, the regret of the best
measured after 25/50/100/200 queries, milliseconds per new architecture (per query) and per trial (an Optuna
sampler's repeats cost a proposal each).  Runs stop at the global best (not on the
surrogate, whose optimum is an estimate).  Every run is cached by every setting that changes it (table, strategy
and every setting it resolves to, the code's defaults included; seed, budget, batch size).

    python benchmarks/search.py --phase tune --strategies auto auto:warm_start=0 --seeds 20
    python benchmarks/search.py --phase report [--seeds 100] [--peer-seeds 25]
"""

from __future__ import annotations

import os

# one BLAS thread per worker process: two workers on two cores, no oversubscription
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

# keep this folder behind site-packages, so that no script here can shadow a library it imports
_here = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p not in ("", _here)] + [_here]
from _common import append_cached_run, cached_rows, markdown_table, write_results  # noqa: E402

from gpnas.io.nas_bench_graph import NBGRAPH_DATASETS  # noqa: E402

TUNING = ["nb201-cifar10", "nb201-cifar100", "macro", "cvpr22-cplfw", "cvpr22-market1501"]
HELD_OUT = ["nb201-imagenet16-120", "accel", "cvpr21", "cvpr22-dukemtmc", "cvpr22-msmt17", "cvpr22-veri",
            "cvpr22-vehicleid", "cvpr22-veriwild", "cvpr22-sop", "accel-surrogate"] + [
    f"nbgraph-{d}" for d in NBGRAPH_DATASETS]
#: Tables that tuned the search's defaults in a linked-cell space alone (seeds 0-19: the model's features, the
#: prior, skipping tried networks; ``gpnas.study.study.SEARCH_LINKED_CELL_FEATURES``): marked T in every file, though
#: a plain ``--phase tune`` leaves them out.
LINKED_TUNING = ["nbgraph-cora", "nbgraph-citeseer"]
SEED_BASE = {"tune": 0, "report": 1000}
DEFAULT = "auto"
PEERS = ["random", "rea", "ls", "optuna-tpe", "optuna-gp", "optuna-gpnas"]
CHECKPOINTS = [25, 50, 100, 200]
SAMPLER_KEYS = {"beta": float, "min_loo_tau": float, "trust_radius": float, "trust_fail_tol": int,
                "trust_success_tol": int, "local_every": int, "thompson": lambda v: bool(int(v)),
                "hedge": lambda v: bool(int(v)), "batch_beta": lambda v: None if v == "none" else float(v),
                "hyper_draws": int, "candidate_moves": lambda v: bool(int(v))}


def _own_proxies_tag(value: str):
    """``proxies=own`` / ``own-all``: gpnas's own proxies of NB201 cells (``benchmarks/proxies.py``'s, from its cache,
    computed there first when missing), tagged with that cache's name and the voters, so that a run's cache key changes
    with either; ``own@N`` / ``own-all@N``: the proxies on random batch and initialisation seed N (default 0)."""
    kind, _, proxy_seed = value.partition("@")
    if kind not in ("own", "own-all"):
        return bool(int(value))
    from proxies import own_proxies_path

    from gpnas.nets.proxies import VOTERS

    seed = int(proxy_seed or 0)
    # the voters are part of the key: they choose the first trials
    return (f"{kind}{f'@{seed}' if seed else ''}:{own_proxies_path(seed=seed).stem}:vote-"
            + ("all" if kind == "own-all" else "-".join(VOTERS)))


#: ``proxies=1``: NAS-Bench-Suite-Zero's published proxies of NB201 cells as side features; ``proxies=own``: gpnas's
#: own, with their vote (:data:`gpnas.nets.proxies.VOTERS`, AZ-NAS's four); ``proxies=own-all``: the same, all eleven
#: voting for the first trials.
STUDY_KEYS = {"warm_start": lambda v: bool(int(v)), "n_initial": int, "proxies": _own_proxies_tag,
              "distinct_networks": lambda v: bool(int(v)), "learn_twins": lambda v: bool(int(v))}
MODEL_KEYS = {"features": lambda v: v if v == "auto" else v.split("+"), "n_restarts": int,
              "sigma_bounds": lambda v: [float(b) for b in v.split("/")], "side_grouping": str,
              "hyperprior_scale": lambda v: None if v == "none" else float(v),
              "hyperprior_center": lambda v: [float(c) for c in v.split("/")]}
#: Options of ``optuna-gpnas`` alone: ``candidates=1`` gives GPNASSampler a partial table's rows as its candidates
#: (otherwise it proposes over the whole space and the nearest row answers, as for the other Optuna samplers).
#: ``space=1`` names each parameter and value as the space's choice and gives GPNASSampler the space (its model then
#: sees the architecture as a gpnas study does: in a cell space, the cell's operation counts too).
OPTUNA_KEYS = {"candidates": lambda v: bool(int(v)), "space": lambda v: bool(int(v)),
               "distinct_networks": lambda v: bool(int(v))}
CACHE = Path(__file__).resolve().parent / "_cache" / "search_runs_v2.jsonl"


def parse_spec(spec: str) -> tuple[str, dict]:
    """``"auto:beta=2,warm_start=0"`` -> ``("auto", {"beta": 2.0, "warm_start": False})``."""
    name, _, rest = spec.partition(":")
    options = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        kinds = {**SAMPLER_KEYS, **STUDY_KEYS, **MODEL_KEYS, **(OPTUNA_KEYS if name == "optuna-gpnas" else {})}
        if key not in kinds:
            raise SystemExit(f"unknown option {key!r} in {spec!r}; expected one of {sorted(kinds)}")
        options[key] = kinds[key](value)
    return name, options


class Objective:
    """A table (or the surrogate) as an objective to maximise: the value and equivalence key of an architecture."""

    def __init__(self, name: str, data_dir=None):
        self.name, self.data_dir = name, data_dir
        if name == "accel-surrogate":
            from _accel_surrogate import AccelSurrogate

            self.surrogate = AccelSurrogate(data_dir)
            self.space = self.surrogate.space
            self.best_arch, self.best = self.surrogate.optimum
            self.best_key = ",".join(map(str, self.best_arch))
            sample = self.surrogate.value(self.space.sample(200_000, random_state=7))
            self.top = float(np.quantile(sample, 0.999))
            self.candidates = None
            self.random_to_best = None
            self.random_to_top = 1000.0  # a top-0.1 % draw is a 1-in-1,000 event
            return
        from gpnas.io.tables import load_table

        full = load_table(name, data_dir)
        table = full.deduplicated()  # one row per equivalence class: what "best" and "top" count
        sign = -1.0 if name.startswith("cvpr22-") else 1.0  # CVPR 2022 targets are ranks: 0 is the best
        self.surrogate = None
        self.space = table.space
        self.values = {tuple(int(v) for v in x): sign * float(y) for x, y in zip(full.X, full.y)}
        self.keys = {tuple(int(v) for v in x): str(k) for x, k in zip(full.X, full.dedup_key)}
        y = sign * table.y
        self.best = float(y.max())
        self.best_key = str(table.dedup_key[np.argmax(y)])
        self.top = float(np.quantile(y, 0.999))
        # random search draws rows (cells), not classes: (n + 1) / (m + 1) draws without repeats to hit one of the
        # m marked rows of n (the rows of the best class; the rows at or above the top-0.1 % threshold)
        raw = sign * full.y
        n = raw.size
        self.random_to_best = (n + 1) / (int(np.sum(full.dedup_key == table.dedup_key[np.argmax(y)])) + 1)
        self.random_to_top = (n + 1) / (int(np.sum(raw >= self.top - 1e-12)) + 1)
        covers = len(full.X) == self.space.size
        self.candidates = None if covers else np.array(list(self.values), dtype=int)

    def __call__(self, x) -> tuple[float, str]:
        if self.surrogate is not None:
            return float(self.surrogate.value(np.asarray(x)[None, :])[0]), ",".join(map(str, x))
        t = tuple(int(v) for v in x)
        return self.values[t], self.keys[t]

    def snap(self, x) -> tuple[int, ...]:
        """The table row nearest to ``x`` (itself when it is a row; Hamming distance, ties to the first row)."""
        t = tuple(int(v) for v in x)
        if self.candidates is None or t in self.values:
            return t
        distance = (self.candidates != np.asarray(t)[None, :]).sum(axis=1)
        return tuple(int(v) for v in self.candidates[int(np.argmin(distance))])


def run_gpnas(objective: Objective, spec: str, seed: int, budget: int, batch: int) -> list:
    from gpnas.sampling.strategies import SAMPLERS
    from gpnas.study import Study

    name, options = parse_spec(spec)
    sampler = SAMPLERS[name](**{k: v for k, v in options.items() if k in SAMPLER_KEYS})
    study_options = {k: v for k, v in options.items() if k in STUDY_KEYS}
    proxies = study_options.pop("proxies", False)
    if proxies and not objective.name.startswith("nb201-"):
        raise SystemExit(f"proxies={proxies} needs an NB201 table, not {objective.name!r}")
    if isinstance(proxies, str):  # gpnas's own proxies of every NB201 cell (one random batch, whatever the table)
        from proxies import own_proxies

        from gpnas.gp.side_features import SideFeatures

        kind, _, proxy_seed = proxies.partition(":")[0].partition("@")
        side = own_proxies(argparse.Namespace(batch_size=8, seed=int(proxy_seed or 0), workers=2,
                                              data_dir=objective.data_dir))[0]
        if kind == "own-all":  # every proxy votes for the first trials (gpnas's vote before VOTERS)
            side = SideFeatures(side.X, side.values, side.names, np.ones(len(side.names)))
        study_options["side_features"] = side
    elif proxies:  # NAS-Bench-Suite-Zero's proxies of NB201 cells as side features
        from gpnas.io.proxies import load_nb201_proxies

        # ImageNet16-120 has its own proxies; CIFAR-100 takes CIFAR-10's (the file has no CIFAR-100 ones)
        study_options["side_features"] = load_nb201_proxies(
            "imagenet16-120" if "imagenet" in objective.name else "cifar10", data_dir_=objective.data_dir)
    model_params = {k: v for k, v in options.items() if k in MODEL_KEYS}
    study = Study(objective.space, sampler=sampler, seed=seed, fit_model=False, heartbeat_interval=None,
                  candidates=objective.candidates, model_params=model_params, **study_options)
    archs: list = []

    def stop_at_best(st, finished):
        for t in finished:
            archs.append([int(v) for v in t.arch])
            if objective.surrogate is None and objective(t.arch)[1] == objective.best_key:
                st.stop("found the global best")

    study.optimize(lambda arch: objective(objective.space.from_dict_arch(arch))[0], budget, batch,
                   callbacks=[stop_at_best])
    return archs[:budget]


def run_optuna(objective: Objective, spec: str, seed: int, budget: int) -> list:
    import optuna

    from gpnas.integrations.optuna import GPNASSampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = objective.space
    name, options = parse_spec(spec)  # optuna-gpnas:warm_start=1
    if options.pop("space", False):  # the space's own names and values, and GPNASSampler is given the space
        names, values = [c.name for c in space.choices], [list(c.values) for c in space.choices]
        options["space"] = space
    else:  # positions x0, x1, ... valued 0, 1, ...
        names, values = [f"x{j}" for j in range(space.n_positions)], [list(range(int(k))) for k in space.n_options]
    archs: list = []
    seen: set = set()

    def evaluate(trial):
        x = objective.snap([values[j].index(trial.suggest_categorical(n, values[j])) for j, n in enumerate(names)])
        value, key = objective(x)
        if x not in seen:
            seen.add(x)
            archs.append(list(x))
            if (objective.surrogate is None and key == objective.best_key) or len(archs) >= budget:
                trial.study.stop()
        return value

    samplers = {"optuna-tpe": optuna.samplers.TPESampler, "optuna-gp": optuna.samplers.GPSampler,
                "optuna-gpnas": GPNASSampler}
    if options.pop("candidates", False) and objective.candidates is not None:
        options["candidates"] = [{n: values[j][int(v)] for j, (n, v) in enumerate(zip(names, row))}
                                 for row in objective.candidates]
    study = optuna.create_study(direction="maximize", sampler=samplers[name](seed=seed, **options))
    study.optimize(evaluate, n_trials=5 * budget)  # repeats are answered from the cache and not counted
    return archs, len(study.trials)


@functools.lru_cache(maxsize=None)
def objective_for(table_name: str, data_dir) -> Objective:
    """One objective per table and worker process (the surrogate's fit and optimum take seconds)."""
    return Objective(table_name, data_dir)


def run_one(job: dict) -> dict:
    warnings.filterwarnings("ignore")
    objective = objective_for(job["table"], job["data_dir"])
    start = time.perf_counter()
    if job["strategy"].startswith("optuna-"):
        archs, trials = run_optuna(objective, job["strategy"], job["seed"], job["budget"])
    else:
        archs = run_gpnas(objective, job["strategy"], job["seed"], job["budget"], job["batch"])
        trials = len(archs)  # a gpnas study never proposes an architecture twice
    seconds = time.perf_counter() - start
    values, keys = zip(*[objective(x) for x in archs]) if archs else ((), ())
    return {**{k: v for k, v in job.items() if k != "data_dir"}, "values": list(values), "keys": list(keys),
            "seconds": seconds, "trials": trials, "best": objective.best, "best_key": objective.best_key, "top": objective.top,
            "random_to_best": objective.random_to_best, "random_to_top": objective.random_to_top}


#: The settings the study and its model had by default before this file kept them in its cache keys: runs cached
#: then are keyed by what they actually ran with.
EARLIER_DEFAULTS = {"warm_start": True, "features": "auto", "batch_beta": None}


def resolved(spec: str, defaults: dict | None = None, space=None, batch: int = 1) -> dict:
    """Every setting a strategy spec runs with in ``space`` and batches of ``batch``: its options over the code's
    defaults (``defaults`` overrides those, for runs made when the code had others; the model's defaults depend on
    whether the space declares a cell).  Two specs that resolve alike run alike."""
    import inspect

    from gpnas.sampling.strategies import SAMPLERS
    from gpnas.study import Study
    from gpnas.study.study import SEARCH_MODEL_DEFAULTS, search_distinct_networks, search_model_defaults

    name, options = parse_spec(spec)
    if name.startswith("optuna-"):
        settings = {"name": name, **options}
        if options.get("space") and space is not None:
            # GPNASSampler given the space fits the study's search model: its settings are part of what ran
            settings["model"] = search_model_defaults(space)
            if "distinct_networks" not in settings and search_distinct_networks(space):
                settings["distinct_networks"] = True  # its default there, as a study's
        return settings
    study = inspect.signature(Study.__init__).parameters
    model = SEARCH_MODEL_DEFAULTS if space is None else search_model_defaults(space)
    settings = {"name": name, **SAMPLERS[name]().get_params(), "warm_start": study["warm_start"].default,
                "n_initial": study["n_initial"].default, **model, **(defaults or {}), **options}
    # where two vectors can build one network (a cell space) the study may skip a tried network's other vectors;
    # runs cached before the setting existed were made without it (their keys lack it), as is the default outside
    # linked cells
    if space is not None and space.cell is not None and "distinct_networks" not in settings:
        settings["distinct_networks"] = search_distinct_networks(space)
    if not settings.get("distinct_networks", False) or space is None or space.cell is None:
        settings.pop("distinct_networks", None)
        settings.pop("learn_twins", None)  # it acts with distinct_networks alone
    if not settings.get("learn_twins", False):
        settings.pop("learn_twins", None)
    # no hyperparameter prior is the model's own default: runs cached before the setting existed ran without one
    if settings.get("hyperprior_scale", 0) is None:
        del settings["hyperprior_scale"]
    if settings.get("local_every", 0) is None:  # nor local steps
        del settings["local_every"]
    for key in ("thompson", "hedge"):  # nor Thompson sampling, nor a portfolio
        if settings.get(key) is False:
            del settings[key]
    if settings.get("hyper_draws", 1) == 0:  # nor hyperparameter draws
        del settings["hyper_draws"]
    if settings.get("candidate_moves") is False:  # nor moves within a candidate set larger than the pool
        del settings["candidate_moves"]
    # a batch's own UCB weight: one at a time it changes nothing; in this benchmark's batches (every proposal asks
    # for the whole batch, the budget a multiple of it) it is the weight of every proposal
    if "batch_beta" in settings:
        batch_beta = settings.pop("batch_beta")
        if batch > 1 and batch_beta is not None:
            settings["beta"] = batch_beta
    # nor a trust region: without one its tolerances change nothing
    if settings.get("trust_radius", 0) is None:
        for key in ("trust_radius", "trust_fail_tol", "trust_success_tol"):
            settings.pop(key, None)
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in settings.items()}


def cache_key(run: dict) -> str:
    settings = run.get("resolved") or resolved(run["strategy"], EARLIER_DEFAULTS)
    return json.dumps([run["table"], sorted(settings.items()), run["seed"], run["budget"], run["batch"]])


def load_cache(path: Path) -> dict:
    done = {}
    for run in cached_rows(path):
        if run["strategy"].startswith("optuna-") and "trials" not in run:
            continue  # cached before trials were counted: its ms / trial is unknown, so it runs again
        done[cache_key(run)] = run
    return done


def run_all(jobs: list, workers: int, done: dict) -> None:
    """Run the jobs not cached yet in ``workers`` processes, appending each run to the cache as it finishes."""
    todo = [j for j in jobs if cache_key(j) not in done]
    todo.sort(key=lambda j: (j["strategy"] not in ("optuna-gp", "optuna-gpnas"), j["table"] != "accel-surrogate"))
    CACHE.parent.mkdir(exist_ok=True)
    with ProcessPoolExecutor(workers) as pool:
        futures = {pool.submit(run_one, job): job for job in todo}
        for future in as_completed(futures):
            try:
                run = future.result()
            except Exception as err:  # one broken run must not lose the others: say it, leave it uncached
                print(f"FAILED {futures[future]}: {type(err).__name__}: {err}", flush=True)
                continue
            done[cache_key(run)] = run
            append_cached_run(CACHE, run)
            print(f"{run['table']:22s} {run['strategy']:32s} b{run['batch']} seed {run['seed']:4d} "
                  f"{len(run['values']):4d} queries best {max(run['values']):.2f} ({run['seconds']:.1f} s)", flush=True)


def queries_until(run: dict, hit) -> float:
    for i, (v, k) in enumerate(zip(run["values"], run["keys"])):
        if hit(v, k):
            return i + 1
    return np.inf


def summarise(runs: list) -> dict:
    r0 = runs[0]
    to_best = np.array([queries_until(r, lambda v, k: k == r["best_key"]) for r in runs])
    to_top = np.array([queries_until(r, lambda v, k: v >= r["top"] - 1e-9) for r in runs])
    # a checkpoint past the budget was never reached: no regret there
    regret = {c: float(np.median([r0["best"] - max(r["values"][:c]) for r in runs])) if c <= r0["budget"] else None
              for c in CHECKPOINTS}
    return {"seeds": [int(r["seed"]) for r in runs], "to_best": to_best, "to_top": to_top,
            "median_to_best": float(np.median(to_best)), "median_to_top": float(np.median(to_top)),
            "regret": regret, "ms": float(np.median([1000 * r["seconds"] / max(1, len(r["values"])) for r in runs])),
            # an Optuna sampler may suggest an architecture already measured (or, on a partial table, one whose
            # nearest row was): each such trial costs a proposal but brings no new architecture
            "ms_trial": float(np.median([1000 * r["seconds"] / max(1, r.get("trials", len(r["values"])))
                                         for r in runs])),
            "trials": float(np.median([r.get("trials", len(r["values"])) for r in runs])),
            # queries of a network already measured under another vector (the table's equivalence classes)
            "twins": float(np.median([len(r["keys"]) - len(set(r["keys"])) for r in runs])),
            "twins_before_top": float(np.median([_twins_before(r, lambda v, k: v >= r["top"] - 1e-9)
                                                 for r in runs]))}


def _twins_before(run: dict, hit) -> int:
    """Queries of an already measured network before the first query that ``hit`` accepts (all, if none does)."""
    seen, twins = set(), 0
    for v, k in zip(run["values"], run["keys"]):
        if hit(v, k):
            break
        twins += k in seen
        seen.add(k)
    return twins


def quartiles(values, budget) -> str:
    q = np.percentile(values, [25, 50, 75])
    return " / ".join(f">{budget}" if not np.isfinite(v) else f"{v:.0f}" for v in q)


def render(runs_by: dict, tables: list, strategies: list, batches: list, args, name: str) -> None:
    sections, data = [], {"args": vars(args), "tables": {}}
    overview = []
    for table in tables:
        role = "tuning" if table in TUNING + LINKED_TUNING else "held-out"
        rows = []
        first = None
        for batch in batches:
            for strategy in strategies:
                runs = runs_by.get((table, strategy, batch))
                if not runs:
                    continue
                first = first or runs[0]
                s = summarise(runs)
                budget = runs[0]["budget"]
                rows.append([strategy + (f" (batch {batch})" if batch > 1 else ""), len(runs),
                             f"{min(s['seeds'])}-{max(s['seeds'])}",
                             quartiles(s["to_best"], budget) if first["random_to_best"] else "-",
                             f"{int(np.isfinite(s['to_best']).sum())}/{len(runs)}" if first["random_to_best"] else "-",
                             quartiles(s["to_top"], budget), f"{int(np.isfinite(s['to_top']).sum())}/{len(runs)}",
                             f"{first['random_to_top'] / s['median_to_top']:.1f}x" if np.isfinite(s["median_to_top"])
                             else "<" + f"{first['random_to_top'] / budget:.1f}x",
                             " / ".join("-" if s["regret"][c] is None else f"{s['regret'][c]:.2f}"
                                        for c in CHECKPOINTS), f"{s['ms']:.0f}",
                             f"{s['trials']:.0f}", f"{s['ms_trial']:.0f}",
                             f"{s['twins']:.0f} / {s['twins_before_top']:.0f}"])
                data["tables"].setdefault(table, {"role": role})[f"{strategy}|{batch}"] = {
                    "seeds": s["seeds"], "queries_to_best": [None if not np.isfinite(v) else float(v) for v in s["to_best"]],
                    "queries_to_top_0.1pct": [None if not np.isfinite(v) else float(v) for v in s["to_top"]],
                    "regret": s["regret"], "ms_per_query": s["ms"], "trials": s["trials"],
                    "ms_per_trial": s["ms_trial"], "twins": s["twins"], "twins_before_top": s["twins_before_top"]}
                overview.append((table, role, strategy, batch, s["median_to_best"], s["median_to_top"]))
        if not rows:
            continue
        data["tables"][table].update(best=first["best"], top=first["top"], random_to_best=first["random_to_best"],
                                     random_to_top=first["random_to_top"])
        expect = (f"random search expects {first['random_to_best']:.0f} queries to the best and "
                  if first["random_to_best"] else "") + f"{first['random_to_top']:.0f} to a top-0.1 % one"
        sections.append(
            f"### {table} ({role}; best {first['best']:.2f}, top-0.1 % threshold {first['top']:.2f}; {expect})\n\n"
            + markdown_table(["strategy", "seeds", "seed range", "queries to the best (q25 / median / q75)", "found",
                              "queries to top-0.1 %", "found", "vs random (median)",
                              "regret of the best measured at " + " / ".join(map(str, CHECKPOINTS)),
                              "ms / query (new architecture)", "trials (median)", "ms / trial",
                              "queries of a measured network again (median: all / before a top-0.1 % one)"],
                             rows))
    columns = [t for t in tables if any(o[0] == t for o in overview)]
    head = ["strategy"] + [f"{t} ({'T' if t in TUNING + LINKED_TUNING else 'H'})" for t in columns] + [
        "geometric mean, queries to the best (not found: 2x budget)"]
    summary_rows = []
    for batch in batches:
        for strategy in strategies:
            cells = []
            for t in columns:
                hit = [o for o in overview if o[0] == t and o[2] == strategy and o[3] == batch]
                cells.append("-" if not hit else
                             f"{'-' if not np.isfinite(hit[0][4]) and t == 'accel-surrogate' else _q(hit[0][4])}"
                             f" / {_q(hit[0][5])}")
            logs = []
            for table in columns:
                runs = runs_by.get((table, strategy, batch))
                if runs and table != "accel-surrogate":
                    queries = summarise(runs)["to_best"]
                    logs.append(np.mean(np.log(np.where(np.isfinite(queries), queries, 2 * runs[0]["budget"]))))
            if any(c != "-" for c in cells):
                summary_rows.append([strategy + (f" (batch {batch})" if batch > 1 else "")] + cells
                                    + [f"{np.exp(np.mean(logs)):.1f}" if logs else "-"])
    header = (f"Phase `{args.phase}`: seeds from {SEED_BASE[args.phase]}; budget {args.budget} unique queries. "
              "T = a tuning table (the defaults were chosen on it, on seeds below 1000), H = held out (never looked at when "
              "choosing). Command: `python benchmarks/search.py " + " ".join(sys.argv[1:]) + "`.\n\n"
              "Median queries to the global best / to a top-0.1 % architecture (`inf`: not found by the median "
              "run within the budget):\n\n" + markdown_table(head, summary_rows))
    markdown = header + "\n\n" + "\n\n".join(sections)
    print(markdown)
    write_results(name, markdown, data, script="benchmarks/search.py")


def _q(v: float) -> str:
    return "inf" if not np.isfinite(v) else f"{v:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phase", choices=sorted(SEED_BASE), default="report")
    parser.add_argument("--tables", nargs="+", default=None, help="default: the phase's tables")
    parser.add_argument("--strategies", nargs="+", default=None, help="default: the default strategy and its peers")
    parser.add_argument("--seeds", type=int, default=100, help="seeds of the default strategy (and of variants)")
    parser.add_argument("--peer-seeds", type=int, default=25, help="seeds of each peer")
    parser.add_argument("--slow-peer-seeds", type=int, default=10,
                        help="seeds of Optuna's GPSampler and GPNASSampler (seconds per trial)")
    parser.add_argument("--surrogate-seeds", type=int, default=10, help="seeds of any strategy on the surrogate")
    parser.add_argument("--gpnas-sampler-tables", nargs="+", default=None,
                        help="tables GPNASSampler runs on (default: all; in Optuna it cannot see a table's rows and "
                             "searches the whole 25-28 position space there, slowly)")
    parser.add_argument("--gp-tables", nargs="+", default=None,
                        help="tables Optuna's GPSampler runs on (default: all; one run of it on the 25-position "
                             "CVPR 2022 tables did not finish in minutes on 2 cores)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1], help="batches of the gpnas strategies")
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=None, help="results name (default: search, or search_tuning)")
    args = parser.parse_args()
    tables = args.tables or (TUNING if args.phase == "tune" else TUNING + HELD_OUT)
    strategies = args.strategies or [DEFAULT] + PEERS
    base = SEED_BASE[args.phase]
    jobs = []
    for table in tables:
        for strategy in strategies:
            n = (args.slow_peer_seeds if strategy.split(":")[0] in ("optuna-gp", "optuna-gpnas") else
                 args.seeds if ":" in strategy or strategy == DEFAULT else args.peer_seeds)
            if table == "accel-surrogate":  # seconds per query (a local search over 5.9e11 architectures)
                n = min(n, args.surrogate_seeds)
            if strategy == "optuna-gp" and args.gp_tables is not None and table not in args.gp_tables:
                n = 0  # said in the results: GPSampler's cost on the wide tables
            if strategy == "optuna-gpnas" and args.gpnas_sampler_tables is not None \
                    and table not in args.gpnas_sampler_tables:
                n = 0  # said in the results: GPNASSampler's cost there (it cannot see the table's rows)
            for batch in args.batch_sizes if not strategy.startswith("optuna-") else [1]:
                if strategy in ("random", "rea", "ls") and batch > 1:
                    continue
                space = objective_for(table, args.data_dir).space if n else None
                settings = resolved(strategy, space=space, batch=batch)
                jobs += [{"table": table, "strategy": strategy, "resolved": settings,
                          "seed": base + i, "budget": args.budget, "batch": batch, "data_dir": args.data_dir}
                         for i in range(n)]
    done = load_cache(CACHE)
    run_all(jobs, args.workers, done)
    runs_by: dict = {}
    missing = [job for job in jobs if cache_key(job) not in done]
    if missing:
        raise SystemExit(f"{len(missing)} runs failed (see above); nothing is rendered")
    for job in jobs:  # by the spec asked for: a cached run may have been asked for under another spelling
        runs_by.setdefault((job["table"], job["strategy"], job["batch"]), []).append(done[cache_key(job)])
    render(runs_by, tables, strategies, sorted(set(args.batch_sizes)), args,
           args.out or ("search_tuning" if args.phase == "tune" else "search"))


if __name__ == "__main__":
    main()
