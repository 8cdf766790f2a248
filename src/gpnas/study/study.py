"""The search loop: Algorithm 1 (AEA) with ask/tell, as in Optuna.

Each round: fit the GP on every finished trial (kernel hyperparameters and the posterior of the linear mean, see
:class:`GPNASRegressor`), compute Theorem 3's expected MSE over the candidate pool, stop if it is under the threshold,
otherwise let the sampler propose the next batch (pending trials count as sampled), evaluate, tell, repeat.
"""

from __future__ import annotations

import math
import os
import socket
import time
import uuid
import warnings
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from gpnas.run.executors import Executor
from gpnas.gp.regressor import MAX_EXACT_N, GPNASRegressor
from gpnas.store.model_files import model_from_bytes, model_to_bytes
from gpnas.study.recommend import recommend
from gpnas.sampling.multi_budget import MultiBudgetSampler, arch_part
from gpnas.gp.side_features import SideFeatures
from gpnas.sampling.candidates import CandidateSet
from gpnas.sampling.pool import candidate_pool
from gpnas.sampling.hypervolume import propose_by_ehvi
from gpnas.sampling.scalarization import chebyshev_utility, normalized_utilities, pareto_front, simplex_weights
from gpnas.sampling.zero_shot import ZeroShotSampler
from gpnas.sampling.strategies import (
    SAMPLERS,
    GPSampler,
    RandomSampler,
    Sampler,
    SamplingContext,
    make_sampler,
)
from gpnas.space import SearchSpace
from gpnas.space.linked_cell import LinkedCell
from gpnas.space.networks import TWIN_INDEX_LIMIT, TwinIndex, first_of_each_network
from gpnas.store import StorageError, get_storage
from gpnas.study.target_budget import fit_target_predictor, multi_budget_summary
from gpnas.study.loop import optimize as run_search
from gpnas.study.trial import Trial


#: The model a study fits to search, under the ``model_params`` given, in a space without a cell: the choices of each
#: position, one-hot.  On the tuning tables of ``benchmarks/search.py`` (seeds 0-19) this, with fresh fits every round,
#: reached the global best in 10 % fewer queries (geometric mean over five tables) than path features with warm
#: starts; path features rank a cell space's *whole* table better (README: the predictor), which is what
#: ``GPNASRegressor``'s own default (``features="auto"``) is for.
#: Maximum likelihood (``hyperprior_scale=None``), not the predictor's default prior: see
#: :data:`SEARCH_CELL_HYPERPRIOR_SCALE`.
SEARCH_MODEL_DEFAULTS: dict[str, Any] = {"features": ["choices"], "max_fit_samples": 300, "hyperprior_scale": None}
#: The search model's features in a space that declares a cell: the choices, one-hot, and the cell's operation counts
#: as a kernel group of their own.  On NAS-Bench-201 CIFAR-10 and CIFAR-100 (tuning seeds 0-39) the counts cut the
#: median queries to the global best from 56 / 41 to 46 / 40.5 (``benchmarks/results/search_tuning_features.md``);
#: the cell's paths instead did worse on CIFAR-100.
SEARCH_CELL_FEATURES: list[str] = ["choices", "ops"]
#: The search model's hyperparameters in a cell space are maximum a posteriori under a log-normal prior of this
#: scale around 1 (``GPNASRegressor(hyperprior_scale=...)``), not maximum likelihood.  With 10-40 points the
#: likelihood alone switched the choices' kernel group off (signal std at its lower bound) in most NB201 fits, where
#: fits on 300 cells keep both groups on; the prior keeps small fits like large ones.  On the tuning tables (seeds
#: 0-19, ``benchmarks/results/search_tuning_hyperprior.md``) it cut the median queries to the NB201 best from 44 / 42
#: to 31 / 38 (CIFAR-10 / CIFAR-100); everywhere it would score a slightly better geometric mean (46.9 against 47.8
#: for cells only), but on CVPR 2022 CPLFW, where the model ranks poorly, its median run then misses the best within
#: 200 queries (187 without it; random search expects 250) and on Macro it needs 40 against 36, so it is kept to cell
#: spaces, where the default must also stay safe.  Judged on fresh seeds and the held-out ImageNet16-120 in
#: ``benchmarks/results/search_seeds.md``.  Multi-objective studies keep maximum likelihood: on the tuning pairs the
#: prior lifted the EHVI study at 25 trials but not at 50 or 100
#: (``benchmarks/results/multi_objective_prior_tuning.md``).
SEARCH_CELL_HYPERPRIOR_SCALE = 1.0
#: The search model's features in a linked-cell space (:mod:`gpnas.space.linked_cell`, NAS-Bench-Graph): the
#: choices, one-hot, and the linked cell's operation counts, operation pairs along its links and its outputs' operations
#: (:class:`~gpnas.space.linked_cell.LinkedCellFeatures`), each a kernel group, under the hyperparameter prior
#: :data:`SEARCH_CELL_HYPERPRIOR_SCALE` (one objective), in a study that skips a tried network's other vectors
#: (:func:`search_distinct_networks`).  Alone, neither the features (146 / 52 median queries to a top-0.1 % network on
#: the tuning tables Cora / CiteSeer, seeds 0-19, ``benchmarks/results/search_tuning_linked.md``; 98 / 42 with the
#: prior) nor the skipping (88 / 80) beat the choices alone (88 / 54); together they needed 68 / 56
#: (``search_tuning_distinct_graph.md``): a twin's measurement no longer spends a query, and the features say which
#: vectors are one network.  Judged on fresh seeds 1000-1024 over all eight NAS-Bench-Graph datasets
#: (``benchmarks/results/search_seeds_graph.md``): fewer queries than the choices alone on seven, 41-97 against 61-154,
#: and more on Cora (97 against 70), at about 2.5x the time per query (0.3 s on 2 cores).
SEARCH_LINKED_CELL_FEATURES: list[str] = ["choices", "ops", "pairs", "outputs"]


def search_model_defaults(space: SearchSpace, multi_objective: bool = False) -> dict[str, Any]:
    """The keyword arguments of the search's :class:`GPNASRegressor` in ``space`` before a study's ``model_params``:
    :data:`SEARCH_MODEL_DEFAULTS`, with :data:`SEARCH_CELL_FEATURES` where the space declares a cell
    (:data:`SEARCH_LINKED_CELL_FEATURES` for a linked cell) and, there and for one objective, the hyperparameter prior
    :data:`SEARCH_CELL_HYPERPRIOR_SCALE`."""
    if space.cell is None:
        return dict(SEARCH_MODEL_DEFAULTS)
    features = SEARCH_LINKED_CELL_FEATURES if isinstance(space.cell, LinkedCell) else SEARCH_CELL_FEATURES
    params = {**SEARCH_MODEL_DEFAULTS, "features": list(features)}
    if not multi_objective:
        params["hyperprior_scale"] = SEARCH_CELL_HYPERPRIOR_SCALE
    return params


def search_distinct_networks(space: SearchSpace) -> bool:
    """Whether a study in ``space`` skips, by default, an architecture whose network was tried under another vector
    (``Study(distinct_networks=None)``): in a linked-cell space, with :data:`SEARCH_LINKED_CELL_FEATURES`; not in an
    NB201-like cell, where on the tuning tables (CIFAR-10 / CIFAR-100, seeds 0-39) it changed nothing (33 / 40 median
    queries to the best either way, ``benchmarks/results/search_tuning_distinct_nb201.md``)."""
    return isinstance(space.cell, LinkedCell)


#: The most finished trials the model conditions on: above it, the better half of this many by value and a random
#: draw of the others (the exact posterior's O(n^3) factorisation and its O(n^2) predictions per candidate keep
#: ``ask`` in about a second at 5,000 finished trials; benchmarks/scale_workers.py).
MAX_MODEL_TRIALS = 1000

#: How a multi-objective study proposes: ParEGO's random scalarisations, or (two objectives) the expected
#: hypervolume improvement of a model per objective.
MULTI_OBJECTIVE_MODES = ("parego", "ehvi")

#: Samplers a stored study may name (the multi-budget one is made with its budgets, not by name on the CLI).
STORED_SAMPLERS = {**SAMPLERS, MultiBudgetSampler.name: MultiBudgetSampler}


#: Owner tokens of the Study objects alive in this process (an owner of another process is checked by its pid).
_LIVE_OWNERS: set[str] = set()
_HOST = socket.gethostname()


def _owner_alive(owner: str) -> bool:
    """Whether the study object named by ``owner`` (``host:pid:token``) may still be working on its trials.

    On this host: its process exists (and, for this process, the object is alive).  On another host we cannot tell,
    so only its heartbeats can show it is gone.
    """
    host, _, rest = owner.partition(":")
    pid_text, _, _token = rest.partition(":")
    if host != _HOST or not pid_text.isdigit():
        return True
    pid = int(pid_text)
    if pid == os.getpid():
        return owner in _LIVE_OWNERS
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Round:
    """What the model looked like after one refit (Algorithm 1's estimation step)."""

    n_done: int
    #: Theorem 3's expected squared error of a new measurement over the pool (noise included, raw units), as the
    #: model itself sees it (:meth:`GPNASRegressor.expected_mse` with ``calibrated=False``).
    expected_mse: float
    sigma: list[float]
    lengthscale: list[float]
    noise: float
    log_marginal_likelihood: float
    seconds: float = 0.0
    #: The same, cross-validated (``calibrated=True``): what the Theorem 3 stop compares with its threshold.  Computed
    #: only where that stop is on (it costs about ten fits); ``None`` elsewhere and in studies from before it existed.
    expected_mse_validated: float | None = None


@dataclass
class StopReason:
    reason: str = ""


class Study:
    """A GP-NAS search over a space.

    Parameters
    ----------
    space:
        The search space.
    sampler:
        A strategy name (``auto``, the default, ``mi``, ``random``, ``ucb``, ``ei``, ``mi+ucb``, ``rea``, ``ls``)
        or a :class:`Sampler`.
    direction:
        ``"maximize"`` (accuracy) or ``"minimize"`` (error).
    directions:
        Several objectives, each ``"maximize"`` or ``"minimize"`` (Optuna's ``directions``): the objective returns one
        value per objective and :attr:`best_trials` is the Pareto front of the finished trials.  How proposals are
        made: ``multi_objective``.  The study's own model (:attr:`model_`, :meth:`best_predicted`, the report's
        figures) is of the first objective.  Not with a multi-budget sampler or ``mse_threshold``.
    multi_objective:
        ``"ehvi"`` (default; two objectives and a model-driven strategy): a model per objective and the
        architectures of largest expected hypervolume improvement over the measured front
        (:func:`gpnas.sampling.hypervolume.propose_by_ehvi`; a batch counts its earlier picks at their predicted
        means).  ``"parego"`` (Knowles 2006), and the fallback with three or more objectives: the objectives
        normalised over the finished trials, a random augmented Chebyshev scalarisation of them
        (:mod:`gpnas.sampling.scalarization`), a GP fitted to it, and the strategy proposing as in a single-objective
        search.  EHVI was chosen on the tuning pairs of ``benchmarks/multi_objective.py`` (README: Results).
    n_initial:
        Random architectures before the first model-guided batch.
    model_params:
        Keyword arguments of :class:`GPNASRegressor` (the space and seed are filled in), over
        :func:`search_model_defaults`: the search's model sees each position's choice and, in a cell space, the
        cell's operation counts (not its paths; a linked cell's counts, linked pairs and outputs), its
        hyperparameters there (for one objective) maximum a posteriori under a weak log-normal prior
        (:data:`SEARCH_CELL_HYPERPRIOR_SCALE`).
    mse_threshold:
        Stop once Theorem 3's expected MSE over the pool (in squared target units) is below this for
        ``mse_patience`` consecutive rounds.
    mse_patience:
        Consecutive rounds under ``mse_threshold`` needed to stop.
    pool_size:
        Size of the candidate pool of the samplers and of the pool the best architecture is predicted over (the
        whole space when smaller).
    mse_pool_size:
        Number of architectures (a fixed random sample of the space, or all of it when smaller) over which Theorem
        3's expected MSE is averaged: a Monte Carlo estimate of the space-wide mean.
    seed:
        Seeds sampling and the model's restarts.
    fit_model:
        Fit the GP every round even for samplers that do not use it (the predictor and Theorem 3's stop are then
        available for every strategy).
    storage:
        ``None`` (in memory), a URL such as ``sqlite:///gpnas.db``, or a storage object.  Every trial state change
        and the model after every round are written through, so a killed search loses nothing finished.
    study_name:
        The study's name in the storage (a fresh one when omitted).  Use :func:`create_study` with
        ``load_if_exists=True`` or :func:`load_study` to resume.
    user_attrs:
        JSON-serialisable facts stored with the study (the command line keeps the objective's settings here, so a
        resumed study can check it is evaluated the same way).
    heartbeat_interval:
        Seconds between the heartbeats :meth:`optimize` writes for its running trials (``None``: none).  A running
        trial whose heartbeat is older than ``heartbeat_grace`` is put back in the queue by any process sharing the
        study, as Optuna's ``heartbeat_interval`` and ``fail_stale_trials`` do (gpnas re-queues rather than fails).
    heartbeat_grace:
        Seconds without a heartbeat after which a running trial counts as stale (default ``6 * heartbeat_interval``).
        Trials of a process that no longer exists on this host are re-queued at once, heartbeat or not.
    candidates:
        ``(N, d)`` choice indices: the only architectures the study may propose (a benchmark table's rows, when the
        table lists part of its space); ``None`` for the whole space.  Stored with the study.
    warm_start:
        Start each round's hyperparameter fit from the last round's values with one restart (``True``), or fit from
        the defaults with the model's own restarts every round (``False``, the default; chosen with
        :data:`SEARCH_MODEL_DEFAULTS` on the tuning tables of ``benchmarks/search.py``).
    side_features:
        A :class:`~gpnas.gp.side_features.SideFeatures` lookup (zero-cost proxies, a table's extra columns) that the
        model takes as inputs (``GPNASRegressor(side_features=...)``).  Without ``candidates`` the study proposes only
        architectures the lookup holds.  Where the lookup's columns have signs, the first ``n_initial`` trials are the
        best unseen architectures by their vote (:class:`~gpnas.sampling.zero_shot.ZeroShotSampler`) instead of random
        ones.  Stored with the study, so a resumed study has them without recomputing.
    distinct_networks:
        In a space that declares a cell, where two vectors can build one network (a dead edge's operation, relabelled
        nodes, identities moved; :mod:`gpnas.space.networks`), never propose an architecture whose network was
        tried under another vector, nor two vectors of one network in a batch (``True``): training it again would
        only measure the noise.  Single-objective studies only (two vectors of one network may differ in a
        measured cost).  ``False``: every vector is an architecture of its own.  ``None`` (the default):
        :func:`search_distinct_networks`, on in a linked-cell space (with the linked cell's features it found a top
        network sooner there), off elsewhere: with the choices alone a twin's measurement teaches the model about
        the twin's own neighbourhood, and on the NB201 tuning tables skipping changed nothing
        (``benchmarks/search.py``, ``results/search_tuning_distinct*.md``).
    learn_twins:
        With ``distinct_networks``, the model also learns up to
        :data:`~gpnas.space.networks.MAX_TWINS` ``- 1`` other vectors of each measured network at its measured
        value, measured for free (a space of at most :data:`~gpnas.space.networks.TWIN_INDEX_LIMIT` vectors).
    """

    def __init__(
        self,
        space: SearchSpace,
        sampler: str | Sampler = "auto",
        direction: str = "maximize",
        n_initial: int = 10,
        model_params: Mapping[str, Any] | None = None,
        mse_threshold: float | None = None,
        mse_patience: int = 2,
        pool_size: int = 20000,
        mse_pool_size: int = 2000,
        seed: int | None = None,
        fit_model: bool = True,
        storage: Any = None,
        study_name: str | None = None,
        user_attrs: Mapping[str, Any] | None = None,
        heartbeat_interval: float | None = 10.0,
        heartbeat_grace: float | None = None,
        candidates: Any = None,
        warm_start: bool = False,
        side_features: SideFeatures | Mapping[str, Any] | None = None,
        directions: Sequence[str] | None = None,
        multi_objective: str = "ehvi",
        distinct_networks: bool | None = None,
        learn_twins: bool = False,
    ) -> None:
        if multi_objective not in MULTI_OBJECTIVE_MODES:
            raise ValueError(f"multi_objective must be one of {MULTI_OBJECTIVE_MODES}, got {multi_objective!r}")
        if directions is not None:
            directions = [str(d) for d in directions]
            if not directions:
                raise ValueError("directions must name at least one objective")
            if direction != "maximize" and direction != directions[0]:
                raise ValueError(f"give direction or directions, not both (direction={direction!r}, "
                                 f"directions={directions!r})")
            direction = directions[0]
        for d in directions or [direction]:
            if d not in ("maximize", "minimize"):
                raise ValueError(f"direction must be 'maximize' or 'minimize', got {d!r}")
        self.space = space
        self.sampler = make_sampler(sampler, pool_size=pool_size)
        self.direction = direction
        #: One direction per objective (a single-objective study: ``[direction]``).
        self.directions = list(directions or [direction])
        if self.is_multi_objective and isinstance(self.sampler, MultiBudgetSampler):
            raise ValueError("a multi-budget study has one objective; directions names "
                             f"{len(self.directions)}")
        if self.is_multi_objective and mse_threshold is not None:
            raise ValueError("mse_threshold (Theorem 3's stop) applies to one objective; a multi-objective study "
                             "stops on its budget")
        self.n_initial = int(n_initial)
        self.model_params = {**search_model_defaults(space, self.is_multi_objective), **(model_params or {})}
        self.mse_threshold = mse_threshold
        self.mse_patience = max(1, int(mse_patience))
        self.pool_size = pool_size
        self.mse_pool_size = mse_pool_size
        self.fit_model = fit_model
        self.user_attrs = dict(user_attrs or {})
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.trials: list[Trial] = []
        self._records: dict[int, dict] = {}  # the stored rows as last read, by number
        self._trials_clock = 0  # the store's change clock at that read
        self.rounds: list[Round] = []
        self.model_: GPNASRegressor | None = None
        self._model_n_done = -1
        self._stop = StopReason()
        self._eval_pool: np.ndarray | None = None
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_grace = heartbeat_grace
        self.warm_start = bool(warm_start)
        self.distinct_networks = (search_distinct_networks(space) if distinct_networks is None
                                  else bool(distinct_networks))
        self.learn_twins = bool(learn_twins)
        self._twin_index: TwinIndex | None | bool = None  # built on first use; False: the space is too large
        self.multi_objective = multi_objective
        if isinstance(side_features, Mapping):  # as stored in the settings
            side_features = SideFeatures(np.asarray(side_features["X"]), np.asarray(side_features["values"]),
                                         side_features["names"], side_features.get("signs"))
        self.side_features = side_features
        if candidates is None and side_features is not None:
            candidates = side_features.X  # only architectures whose side features are known can be scored
        self.candidates = None if candidates is None else CandidateSet(space.validate(np.asarray(candidates)))
        if side_features is not None and not side_features.covers(self.candidates.X).all():
            raise ValueError("every candidate architecture needs side features; "
                             f"{int((~side_features.covers(self.candidates.X)).sum())} have none")
        self.owner = f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        _LIVE_OWNERS.add(self.owner)
        weakref.finalize(self, _LIVE_OWNERS.discard, self.owner)
        self.storage = get_storage(storage)
        self.study_name = study_name or f"study-{uuid.uuid4().hex[:8]}"
        if not self.storage.has_study(self.study_name):
            self.storage.create_study(self.study_name, space.to_dict(), self.settings())
        else:  # resuming: a damaged file fails here, before this process writes a byte to it
            self.storage.check_integrity(self.study_name)

    def settings(self) -> dict[str, Any]:
        """The constructor settings, as stored with the study (enough to rebuild it on resume)."""
        if self.sampler.name not in STORED_SAMPLERS or type(self.sampler) is not STORED_SAMPLERS[self.sampler.name]:
            name = None  # a custom sampler instance: the caller passes it again on resume
        else:
            name = self.sampler.name
        return {"sampler": name, "sampler_params": self.sampler.get_params() if name else None,
                "direction": self.direction, "n_initial": self.n_initial,
                "model_params": self.model_params, "mse_threshold": self.mse_threshold,
                "mse_patience": self.mse_patience, "pool_size": self.pool_size,
                "mse_pool_size": self.mse_pool_size, "seed": self.seed, "fit_model": self.fit_model,
                "user_attrs": self.user_attrs, "heartbeat_interval": self.heartbeat_interval,
                "heartbeat_grace": self.heartbeat_grace,
                "candidates": None if self.candidates is None else self.candidates.X.tolist(),
                "warm_start": self.warm_start, "distinct_networks": self.distinct_networks,
                "learn_twins": self.learn_twins,
                "directions": self.directions if self.is_multi_objective else None,
                "multi_objective": self.multi_objective,
                "side_features": None if self.side_features is None else {
                    "X": self.side_features.X.tolist(), "values": self.side_features.values.tolist(),
                    "names": self.side_features.names, "signs": self.side_features.signs.tolist()}}

    def save_trials(self, trials: list[Trial]) -> None:
        """Write trials this study object owns (an upsert of their whole rows)."""
        if trials:
            self.storage.save_trials(self.study_name, [t.record() for t in trials])

    def refresh(self) -> None:
        """Reload every trial and round from the storage (other processes may share the study), and put back in
        the queue the unfinished trials of owners that are gone: a dead process on this host, or a running trial
        whose heartbeat is older than the grace period."""
        records = self._load_changed_trials()
        now = time.time()
        grace = self._grace()
        orphans = [r for r in records if r["state"] in ("pending", "running") and r["worker"] is not None
                   and r["worker"] != self.owner
                   and (not _owner_alive(r["worker"])
                        or (grace is not None and r["state"] == "running" and r.get("heartbeat") is not None
                            and now - r["heartbeat"] > grace))]
        if orphans and self.storage.requeue(self.study_name, orphans):
            records = self._load_changed_trials()
        self.trials = [Trial.from_record(r, self.space) for r in records]
        # (a multi-budget study has no single-budget rounds; earlier versions stored one at its end: not read)
        self.rounds = [] if self._multi_budget else [Round(**r) for r in self.storage.load_rounds(self.study_name)]

    def _load_changed_trials(self) -> list[dict]:
        """Every trial's stored record, reading only those changed since the last read (the store's change clock):
        a refill of a study of thousands of trials reads a few rows, not all of them."""
        changed, self._trials_clock = self.storage.load_trials_since(self.study_name, self._trials_clock)
        for record in changed:
            self._records[record["number"]] = record
        return [self._records[k] for k in sorted(self._records)]

    def _grace(self) -> float | None:
        if self.heartbeat_grace is not None:
            return float(self.heartbeat_grace)
        return None if self.heartbeat_interval is None else 6.0 * float(self.heartbeat_interval)

    def _restore(self) -> None:
        """Load trials, rounds and the latest model; unfinished trials of dead owners are re-queued."""
        self.refresh()
        # a multi-budget study refits its own model (earlier versions stored a single-budget one for it: not read)
        latest = None if self._multi_budget else self.storage.load_latest_model(self.study_name)
        if latest is not None:
            _, n_done, blob = latest
            self.model_ = model_from_bytes(blob)
            self._model_n_done = n_done

    # ------------------------------------------------------------------ views
    @property
    def sign(self) -> float:
        """``+1`` when maximising, ``-1`` when minimising: ``sign * value`` is larger-is-better."""
        return 1.0 if self.direction == "maximize" else -1.0

    @property
    def is_multi_objective(self) -> bool:
        """Whether the study has several objectives (``directions``)."""
        return len(self.directions) > 1

    @property
    def signs(self) -> np.ndarray:
        """``+1`` per maximised objective, ``-1`` per minimised one."""
        return np.array([1.0 if d == "maximize" else -1.0 for d in self.directions])

    def trials_in(self, *states: str) -> list[Trial]:
        return [t for t in self.trials if t.state in states]

    def objective_values(self, trials: Sequence[Trial] | None = None) -> np.ndarray:
        """``(n, k)`` values of ``trials`` (default: the finished ones), one column per objective."""
        trials = self.trials_in("done") if trials is None else trials
        rows = [t.values if t.values is not None else [t.value] for t in trials]
        return np.array(rows, dtype=float).reshape(-1, len(self.directions))

    @property
    def best_trials(self) -> list[Trial]:
        """The finished trials no other finished trial dominates (Optuna's ``best_trials``): the Pareto front of a
        multi-objective study, in trial order; in a single-objective study, the best trial (and any tied with it)."""
        done = self.trials_in("done")
        if isinstance(self.sampler, MultiBudgetSampler):
            done = [t for t in done if t.arch[-1] == self.sampler.target_index]
        if not done:
            return []
        return [done[i] for i in pareto_front(self.objective_values(done), self.signs)]

    @property
    def best_trial(self) -> Trial | None:
        """The finished trial with the best value (in a multi-budget study, among those at the target budget).  A
        multi-objective study has no single best: :attr:`best_trials` is its Pareto front."""
        if self.is_multi_objective:
            raise RuntimeError(f"study {self.study_name!r} has {len(self.directions)} objectives, so no single best "
                               "trial: best_trials is the Pareto front")
        done = self.trials_in("done")
        if isinstance(self.sampler, MultiBudgetSampler):
            done = [t for t in done if t.arch[-1] == self.sampler.target_index]
        return max(done, key=lambda t: self.sign * t.value) if done else None

    @property
    def best_params(self) -> dict[str, Any]:
        """The best trial's architecture as ``{choice name: value}`` (Optuna's ``best_params``)."""
        best = self.best_trial
        if best is None:
            raise ValueError(f"study {self.study_name!r} has no finished trial yet")
        return best.params

    @property
    def best_value(self) -> float:
        """The best trial's value (Optuna's ``best_value``)."""
        best = self.best_trial
        if best is None:
            raise ValueError(f"study {self.study_name!r} has no finished trial yet")
        return float(best.value)

    def trials_dataframe(self):
        """Every trial as a row of a pandas ``DataFrame``, in Optuna's column names: ``number``, ``value``,
        ``datetime_start``, ``datetime_complete``, ``duration``, ``params_<choice>`` per choice, ``state`` (upper
        case, as Optuna's), and gpnas's ``worker``, ``attempts`` and ``error``; a multi-objective study has
        ``values_0``, ``values_1``, ... instead of ``value``.  Needs pandas."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("trials_dataframe needs pandas: pip install pandas") from None
        rows = []
        for trial in self.trials:
            start = pd.to_datetime(trial.started, unit="s") if trial.started else pd.NaT
            end = pd.to_datetime(trial.finished, unit="s") if trial.finished else pd.NaT
            if self.is_multi_objective:  # Optuna's columns values_0, values_1, ... of a multi-objective study
                values = trial.values or [None] * len(self.directions)
                scores = {f"values_{j}": v for j, v in enumerate(values)}
            else:
                scores = {"value": trial.value}
            rows.append({"number": trial.number, **scores, "datetime_start": start,
                         "datetime_complete": end, "duration": end - start,
                         **{f"params_{name}": value for name, value in trial.params.items()},
                         "state": {"done": "COMPLETE", "failed": "FAIL"}.get(trial.state, trial.state.upper()),
                         "worker": trial.worker, "attempts": trial.attempts, "error": trial.error})
        return pd.DataFrame(rows)

    def stop(self, reason: str = "stopped by the user") -> None:
        """Ask :meth:`optimize` to stop after the batch in flight (an empty reason clears a stop)."""
        self._stop.reason = reason

    @property
    def stop_reason(self) -> str:
        return self._stop.reason

    # ------------------------------------------------------------------ the model (Algorithm 1's estimation)
    def _arrays(self, *states: str) -> np.ndarray:
        rows = [t.arch for t in self.trials_in(*states)]
        return np.array(rows, dtype=int).reshape(-1, self.space.n_positions)

    @property
    def _multi_budget(self) -> bool:
        return isinstance(self.sampler, MultiBudgetSampler)

    @property
    def arch_space(self) -> SearchSpace:
        """The architecture space: the space the predictor reads (a multi-budget study's space without its budget
        position; otherwise the study's space)."""
        return arch_part(self.space) if self._multi_budget else self.space

    def _pool(self) -> np.ndarray:
        if self._eval_pool is None:
            self._eval_pool = candidate_pool(self.arch_space, None, self.pool_size,
                                             np.random.default_rng(self.seed), candidates=self.candidates)
        return self._eval_pool

    def _mse_pool(self) -> np.ndarray:
        pool = self._pool()
        if len(pool) <= self.mse_pool_size:
            return pool
        return pool[np.random.default_rng(self.seed).choice(len(pool), self.mse_pool_size, replace=False)]

    def refit(self, validate: bool = False) -> GPNASRegressor | None:
        """Refit the GP on every finished trial if new ones arrived; record the round.  ``None`` under 2 trials.

        ``validate`` also records the cross-validated expected error (:attr:`Round.expected_mse_validated`), for the
        Theorem 3 stop; on a round recorded without it, it is added (in memory) when asked for."""
        done = self.trials_in("done")
        if len(done) < 2 or len(done) == self._model_n_done:
            if validate and self.rounds and self.model_ is not None and not self._multi_budget \
                    and self.rounds[-1].expected_mse_validated is None:
                self.rounds[-1].expected_mse_validated = self.model_.expected_mse(self._mse_pool())
            return self.model_
        if self._multi_budget:
            # its model is the sampler's own (budget as an input); it predicts the target budget, and neither Theorem
            # 3's rounds nor the stored per-round models apply to it

            self.model_ = fit_target_predictor(self)
            self._model_n_done = len(done) if self.model_ is not None else -1
            return self.model_
        start = time.perf_counter()
        X = np.array([t.arch for t in done])
        y = np.array([t.value for t in done])
        if self._skips_twins and self.learn_twins:
            X, y = self._with_twins(X, y)
        self.model_ = self._fit(X, y, self.sign, warm=self.model_ if self.warm_start else None)
        self._model_n_done = len(done)
        pool = self._mse_pool()
        mse = self.model_.expected_mse(pool, calibrated=False)
        validated = self.model_.expected_mse(pool) if validate else None
        self.rounds.append(Round(len(done), mse, self.model_.sigma_.tolist(), self.model_.lengthscale_.tolist(),
                                 float(self.model_.noise_), float(self.model_.log_marginal_likelihood_value_),
                                 time.perf_counter() - start, validated))
        self.storage.save_model(self.study_name, len(done), vars(self.rounds[-1]), model_to_bytes(self.model_))
        return self.model_

    def _with_twins(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``X, y`` and, for ``learn_twins``, other vectors of each measured network at its measured value (a space
        of at most :data:`~gpnas.space.networks.TWIN_INDEX_LIMIT` vectors; larger ones get none)."""
        if self._twin_index is None:
            self._twin_index = TwinIndex(self.space) if self.space.size <= TWIN_INDEX_LIMIT else False
        if self._twin_index is False:
            return X, y
        twins, source = self._twin_index.twins(X)
        return np.vstack([X, twins]), np.concatenate([y, y[source]])

    def _fit(self, X: np.ndarray, y: np.ndarray, sign: float, warm: GPNASRegressor | None = None) -> GPNASRegressor:
        """The study's GP fitted to ``y`` (``sign * y`` larger is better): at most :data:`MAX_MODEL_TRIALS` points,
        the better half of them by value and a random draw of the rest; ``warm`` starts the hyperparameters from
        another fit's with one restart."""
        limit = min(MAX_MODEL_TRIALS, MAX_EXACT_N)
        if len(y) > limit:
            # the better half of the limit by value (where the search looks), the rest drawn from the others
            order = np.argsort(-sign * y)
            head, tail = order[: limit // 2], order[limit // 2:]
            rest = np.random.default_rng([self.seed or 0, len(y)]).choice(tail, limit - head.size, replace=False)
            X, y = X[np.concatenate([head, rest])], y[np.concatenate([head, rest])]
        params = {"random_state": self.seed, **self.model_params, "space": self.space}
        if self.side_features is not None:
            params["side_features"] = self.side_features
        if warm is not None and "sigma" not in self.model_params:
            # warm start from the last round's hyperparameters with fewer restarts: they move little between rounds
            params.update(sigma=warm.kernel_.sigma, lengthscale=warm.kernel_.lengthscale,
                          noise=max(warm.noise_, 1e-5), n_restarts=min(1, params.get("n_restarts", 1)))
        return GPNASRegressor(**params).fit(X, y)

    # ------------------------------------------------------------------ ask / tell
    def _round_rng(self) -> np.random.Generator:
        # derived from the seed and the number of trials so far, so a resumed study proposes what the original would
        return self.rng if self.seed is None else np.random.default_rng([self.seed, len(self.trials)])

    def ask(self, k: int = 1, cap: int | None = None) -> list[Trial]:
        """Propose ``k`` new trials (fewer if the space runs out); they stay pending, owned by this study object,
        until told.  Trials running in other processes sharing the study count as pending points, and an
        architecture another process proposed meanwhile is not proposed again.  ``cap`` bounds the study's trials
        (finished, running and owned pending ones, of every process): a shared budget is never overshot."""
        added: list[Trial] = []
        for _ in range(3):  # proposals that lost a race to another process are proposed anew, twice at most
            added += self._propose_and_add(k - len(added), cap)
            if len(added) >= k or cap is not None and self._committed() >= cap:
                break
        now = time.time()
        for trial in added:  # asked now: its evaluation starts now (a search loop's claim restamps it)
            trial.started = now
        return added

    def _committed(self) -> int:
        return sum(1 for t in self.trials if t.state != "pending" or t.worker)

    def _propose_and_add(self, k: int, cap: int | None) -> list[Trial]:
        self.refresh()
        n_done = len(self.trials_in("done"))
        rng = self._round_rng()
        done = self.trials_in("done")
        y_done, sign = self.sign * np.array([t.value for t in done], dtype=float), self.sign
        if self.is_multi_objective and done:
            # ParEGO: this proposal's random Chebyshev scalarisation of the normalised objectives, larger is better
            y_done = chebyshev_utility(normalized_utilities(self.objective_values(done), self.signs),
                                       simplex_weights(len(self.directions), rng))
            sign = 1.0
        if self._proposes_by_ehvi(n_done):
            archs = propose_by_ehvi(self.space, self._arrays("done"), self.objective_values(done) * self.signs,
                                    self._arrays("pending", "running"), self._arrays("failed"), rng,
                                    lambda X, y: self._fit(X, y, 1.0), self.pool_size, self.candidates, k)
            return self._add([np.asarray(x, dtype=int) for x in archs], owner=self.owner, unique=True, cap=cap)
        model = None
        if self.sampler.uses_model and n_done >= max(2, self.n_initial):
            model = self.refit() if not self.is_multi_objective else self._fit(self._arrays("done"), y_done, 1.0)
        ctx = SamplingContext(
            space=self.space,
            X_done=self._arrays("done"),
            y_done=y_done,
            X_pending=self._arrays("pending", "running"),
            X_failed=self._arrays("failed"),
            rng=rng,
            model=model,
            sign=sign,
            candidates=self.candidates,
            n_initial=self.n_initial,
            distinct_networks=self._skips_twins,
        )
        archs = self.sampler.propose(ctx, k) if n_done >= self.n_initial or not self.sampler.uses_model else None
        if archs is None and self._starts_from_vote:
            archs = ZeroShotSampler(self.side_features).propose(ctx, k)  # the proxies' pick, not random
        if archs is None:
            archs = RandomSampler().propose(ctx, k)
        if self._skips_twins and len(archs) > 1:  # two vectors of one network in a batch: the first only
            archs = np.asarray(archs)[first_of_each_network(self.space, np.asarray(archs))]
        return self._add([np.asarray(x, dtype=int) for x in archs], owner=self.owner, unique=True, cap=cap)

    def _proposes_by_ehvi(self, n_done: int) -> bool:
        """Whether this proposal is by expected hypervolume improvement: two objectives, ``multi_objective="ehvi"``,
        a model-driven strategy, past the random start."""
        return (self.multi_objective == "ehvi" and len(self.directions) == 2 and self.sampler.uses_model
                and n_done >= max(2, self.n_initial))

    @property
    def _skips_twins(self) -> bool:
        """Whether proposals skip architectures whose network was tried under another vector (``distinct_networks``
        in a single-objective study: with several objectives, two vectors of one network may differ in a measured
        cost, the parameters of an operation on a dead edge)."""
        return self.distinct_networks and not self.is_multi_objective

    @property
    def _starts_from_vote(self) -> bool:
        """Whether the starting trials are the side features' (proxies') best by their vote rather than random: only
        in a single-objective study.  A vote ranks one quantity, and a front needs a spread start: signed latencies
        of other devices would otherwise start an accuracy-against-latency study at its slowest cells."""
        return (not self.is_multi_objective and self.side_features is not None
                and self.side_features.vote() is not None)

    def _add(self, archs: list[np.ndarray], owner: str | None, unique: bool = False,
             cap: int | None = None) -> list[Trial]:
        """Insert pending trials; the storage numbers them (never twice, whatever other processes do)."""
        if not archs:
            return []
        records = [Trial(-1, x, round=len(self.rounds), worker=owner).record() for x in archs]
        numbers = self.storage.add_trials(self.study_name, records, unique=unique, cap=cap)
        self.refresh()
        return [self.trials[n] for n in numbers]

    def enqueue(self, arch: np.ndarray | Mapping[str, Any]) -> Trial:
        """Add a user-chosen architecture as a pending trial that any process sharing the study may evaluate."""
        x = self.space.from_dict_arch(arch) if isinstance(arch, Mapping) else self.space.validate(arch)
        return self._add([np.asarray(x, dtype=int)], owner=None)[0]

    def tell(self, trial: Trial | int, value: float | Sequence[float] | None, error: str | None = None) -> Trial:
        """Report a result: a number, or in a multi-objective study one number per objective.  ``None``, NaN or
        infinite values, the wrong count of values, or an ``error``, mark the trial failed.

        A result is recorded only if the trial is not finished yet: if another process finished it meanwhile (it was
        re-queued as stale and evaluated again), its result stays and this one is dropped, with a warning.
        """
        if isinstance(trial, (int, np.integer)):
            trial = self.trials[int(trial)]
        if trial.state in ("done", "failed"):
            raise ValueError(f"trial {trial.number} was already told ({trial.state})")
        trial.finished = time.time()
        values, problem = self._values_of(value) if error is None else (None, error)
        if problem is None:
            trial.state, trial.value = "done", values[0]
            trial.values = values if self.is_multi_objective else None
        else:
            trial.state = "failed"
            trial.error = problem
        trial.heartbeat = None
        if not self.storage.finish_trial(self.study_name, trial.record()):
            warnings.warn(f"trial {trial.number} was already finished by another process; this result is dropped")
            self.refresh()
            return self.trials[trial.number]
        if trial.number < len(self.trials) and self.trials[trial.number] is not trial:
            self.trials[trial.number] = trial
        return trial

    def _values_of(self, value: Any) -> tuple[list[float] | None, str | None]:
        """The objective's result as one float per objective, or ``None`` and why it fails the trial."""
        if value is None:
            return None, "objective returned None"
        many = isinstance(value, (list, tuple, np.ndarray))
        raw = list(np.asarray(value, dtype=object).ravel()) if many else [value]
        if len(raw) != len(self.directions):
            expected = f"{len(self.directions)} values, one per objective" if self.is_multi_objective else "a number"
            return None, f"objective returned {value!r}, not {expected}"
        try:
            values = [float(v) for v in raw]
        except (TypeError, ValueError):
            return None, f"objective returned {value!r}, not a number"
        if not all(math.isfinite(v) for v in values):
            return None, f"objective returned {value!r}"
        return values, None

    # ------------------------------------------------------------------ optimise
    def optimize(
        self,
        objective: Callable[[dict[str, Any]], float],
        budget: int | None = None,
        batch_size: int = 1,
        timeout: float | None = None,
        mse_threshold: float | None = None,
        callbacks: list[Callable[["Study", list[Trial]], None]] | None = None,
        show_progress: bool = False,
        executor: Executor | None = None,
        *,
        n_trials: int | None = None,
        catch: tuple[type[Exception], ...] | type[Exception] = (),
    ) -> "Study":
        """Run Algorithm 1 until the study holds ``budget`` trials in all (done or failed, of every process), or
        this call has run ``n_trials`` more (Optuna's ``n_trials``), or ``timeout`` seconds pass, the expected MSE
        falls below ``mse_threshold``, the space is exhausted, or a callback calls :meth:`stop`.  Give one of
        ``budget`` and ``n_trials``; a ``budget`` the study has already reached runs nothing, with a warning.

        ``objective`` takes the architecture as ``{choice name: value}`` and returns its performance.  A
        non-finite value marks the trial failed (with a warning) and the search goes on.  An exception marks the
        trial failed and, as in Optuna, is raised again unless its type is in ``catch`` (then a warning names it and
        the search goes on); the trials in flight are re-queued first.  ``executor`` runs the evaluations (default:
        in this process, a batch at a time); trials re-queued from an interrupted run go first.  Ctrl-C re-queues the
        trials in flight, then the ``KeyboardInterrupt`` propagates; everything finished is stored.

        Several processes (terminals, machines sharing the database file) may run ``optimize`` on one study at once:
        each claims trials atomically, sees the others' running trials as pending points, and the ``budget`` counts
        the trials of all of them.  The loop itself is :func:`gpnas.study.loop.optimize`.
        """
        if (budget is None) == (n_trials is None):
            raise ValueError("give one of budget (the study's total of trials) and n_trials (trials to add)")
        self.refresh()
        used = len(self.trials_in("done", "failed", "running"))
        if n_trials is not None:
            if int(n_trials) < 1:
                raise ValueError(f"n_trials must be at least 1, got {n_trials!r}")
            budget = used + int(n_trials)
        elif used >= int(budget):
            warnings.warn(f"study {self.study_name!r} already holds {used} trials, at or above budget={budget}: "
                          "nothing to run (budget is the total; n_trials=... adds trials)", stacklevel=2)
        catch = tuple(catch) if isinstance(catch, (tuple, list)) else (catch,)
        return run_search(self, objective, int(budget), batch_size, timeout, mse_threshold, callbacks, show_progress,
                          executor, catch)

    def model_at(self, round_: int) -> GPNASRegressor | None:
        """The model fitted in round ``round_`` (counted from 1), or ``None``."""
        blob = self.storage.load_model_at(self.study_name, round_)
        return None if blob is None else model_from_bytes(blob)

    # ------------------------------------------------------------------ results
    def best_predicted(self, n: int = 1) -> list[dict[str, Any]]:
        """The ``n`` architectures with the best predicted mean over the pool and the evaluated ones.

        Each comes with its predicted ``mean`` and ``std`` (of the noise-free performance) and the central 95 %
        predictive interval of a new measurement, ``lower`` and ``upper`` (exact quantiles; the interval that
        holds 90-98 % of held-out values in ``benchmarks/results/predictor.md``).
        """
        model = self.refit()
        if model is None:
            return []
        space = self.arch_space
        evaluated = self._arrays("done")[:, :space.n_positions]
        candidates = np.unique(np.vstack([self._pool(), evaluated]), axis=0)
        mean, std = model.predict(candidates, return_std=True)
        order = np.argsort(-self.sign * mean)[:n]
        lower, upper = model.predict_interval(candidates[order])
        return [{"arch": space.to_dict_arch(candidates[i]), "mean": float(mean[i]), "std": float(std[i]),
                 "lower": float(lo), "upper": float(hi)} for i, lo, hi in zip(order, lower, upper)]

    def recommend(self, rule: str = "measured") -> dict[str, Any] | None:
        """The architecture to ship now by ``rule`` (``"measured"``, ``"predicted"`` or ``"lcb"``, see
        :mod:`gpnas.study.recommend`), with ``mean`` and ``std`` of its predicted performance when a model exists and
        ``measured`` when it was evaluated.  ``None`` before the first result."""
        if self.is_multi_objective:
            return None  # no single architecture to ship: best_trials is the Pareto front
        done = self.trials_in("done")
        pool = self._pool() if rule == "predicted" else None
        if self._multi_budget:
            # what was measured counts at the target budget only; the rest of the evaluated architectures join
            # the candidates of "predicted"
            target = self.sampler.target_index
            if rule == "predicted":
                pool = np.vstack([pool, self._arrays("done")[:, :-1]])
            done = [t for t in done if t.arch[-1] == target]
        if not done:
            return None
        model = self.refit() if rule != "measured" else self.model_
        space = self.arch_space
        X = np.array([t.arch[:space.n_positions] for t in done], dtype=int)
        y = np.array([t.value for t in done], dtype=float)
        arch, info = recommend(rule, X, y, model, pool, self.sign)
        if model is not None and "mean" not in info:
            mean, std = model.predict(arch[None, :], return_std=True)
            info.update(mean=float(mean[0]), std=float(std[0]))
        return {"rule": rule, "arch": space.to_dict_arch(arch), **info}

    def summary(self) -> dict[str, Any]:
        if isinstance(self.sampler, MultiBudgetSampler):
            return multi_budget_summary(self)
        if self.is_multi_objective:
            return self._multi_objective_summary()
        best = self.best_trial
        return {
            "space": self.space.name,
            "strategy": self.sampler.name,
            "direction": self.direction,
            "n_done": len(self.trials_in("done")),
            "n_failed": len(self.trials_in("failed")),
            "stop_reason": self.stop_reason,
            "best_found": None if best is None else {"number": best.number, "arch": best.params,
                                                     "value": best.value},
            "best_predicted": self.best_predicted(1)[0] if self.model_ is not None else None,
            "recommended": self.recommend(),
            # the cross-validated expected error of a new measurement (Theorem 3 plus noise), computed once here
            "expected_mse": (self.model_.expected_mse(self._mse_pool())
                             if self.model_ is not None and self.rounds and not self._multi_budget else None),
            "noise_share": self.model_.noise_share_ if self.model_ is not None else None,
            "n_initial": self.n_initial,
            # how the starting trials were chosen: at random, or the side features' (proxies') best
            "initial_by": "proxies" if self._starts_from_vote else "random",
            "values": [t.value for t in self.trials_in("done")],
        }

    def objective_models(self) -> list[GPNASRegressor]:
        """A GP per objective, fitted on the finished trials (the first objective's is :attr:`model_`): what the
        report's predicted Pareto front is drawn from.  Empty under 2 finished trials."""
        first = self.refit()
        if first is None:
            return []
        X = self._arrays("done")
        values = self.objective_values()
        return [first] + [self._fit(X, values[:, j], float(self.signs[j])) for j in range(1, values.shape[1])]

    def predicted_front(self) -> tuple[np.ndarray, np.ndarray]:
        """The architectures of the candidate pool (and the evaluated ones) whose predicted means no other's
        dominate: ``(X (m, d), means (m, k))``, sorted by the first objective."""
        models = self.objective_models()
        if not models:
            return np.empty((0, self.space.n_positions), dtype=int), np.empty((0, len(self.directions)))
        X = np.unique(np.vstack([self._mse_pool(), self._arrays("done")]), axis=0)
        means = np.column_stack([m.predict(X) for m in models])
        front = pareto_front(means, self.signs)
        order = front[np.argsort(means[front, 0])]
        return X[order], means[order]

    def _multi_objective_summary(self) -> dict[str, Any]:
        """A multi-objective study's summary: its Pareto front instead of a best trial (and no single-objective
        recommendation or expected error)."""
        front = self.best_trials
        return {
            "space": self.space.name,
            "strategy": self.sampler.name,
            "direction": self.direction,
            "directions": self.directions,
            # the objectives' names where the study was told them (the command line stores NAME:direction)
            "objective_names": [spec.rsplit(":", 1)[0] for spec in
                                (self.user_attrs.get("objective") or {}).get("objectives") or []] or None,
            "n_done": len(self.trials_in("done")),
            "n_failed": len(self.trials_in("failed")),
            "stop_reason": self.stop_reason,
            "best_found": None,
            "pareto_front": [{"number": t.number, "arch": t.params, "values": list(t.values or [t.value])}
                             for t in front],
            "best_predicted": None,
            "recommended": None,
            "expected_mse": None,
            "noise_share": None,
            "n_initial": self.n_initial,
            "initial_by": "proxies" if self._starts_from_vote else "random",
            "values": self.objective_values().tolist(),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "trials": [t.to_dict() for t in self.trials],
            "rounds": [vars(r) for r in self.rounds],
            "group_names": None if self.model_ is None else self.model_.group_names_,
        }


def create_study(
    space: SearchSpace | None = None,
    sampler: str | Sampler = "auto",
    storage: Any = None,
    study_name: str | None = None,
    load_if_exists: bool = False,
    **kwargs: Any,
) -> Study:
    """Optuna-style: a new study; an existing ``study_name`` raises :class:`StorageError` unless ``load_if_exists``
    (then the stored study is resumed, as :func:`load_study`)."""
    store = get_storage(storage)
    if study_name is not None and store.has_study(study_name):
        if not load_if_exists:
            raise StorageError(f"study {study_name!r} already exists")
        return load_study(study_name, store, sampler=sampler if isinstance(sampler, Sampler) else None)
    if not isinstance(space, SearchSpace):
        raise TypeError(f"create_study needs a SearchSpace, got {type(space).__name__}")
    try:
        return Study(space, sampler=sampler, storage=store, study_name=study_name, **kwargs)
    except StorageError:
        # workers started at once: another one created the study between our look and our insert
        if load_if_exists and study_name is not None and store.has_study(study_name):
            return load_study(study_name, store, sampler=sampler if isinstance(sampler, Sampler) else None)
        raise


def load_study(study_name: str, storage: Any, sampler: Sampler | None = None) -> Study:
    """Resume a stored study: its space and settings, trials (pending and running ones re-queued) and last model."""
    store = get_storage(storage)
    record = store.load_study(study_name)
    settings = dict(record["settings"])
    name = settings.pop("sampler")
    sampler_params = settings.pop("sampler_params", None) or {}
    if name == "auto" and "batch_beta" not in sampler_params:
        # stored before batches had their own UCB weight: its batches used beta, and it resumes as it was made
        sampler_params["batch_beta"] = None
    if issubclass(STORED_SAMPLERS.get(name, Sampler), GPSampler) and "candidate_moves" not in sampler_params:
        # nor did one stored before a large candidate set's pool had the incumbents' moves and a local search
        sampler_params["candidate_moves"] = False
    # a study stored before the setting existed proposed by ParEGO: it resumes as it was made
    settings.setdefault("multi_objective", "parego")
    # nor did one stored before it could skip a tried network's other vectors
    settings.setdefault("distinct_networks", False)
    stored_model = settings.get("model_params")
    if sampler is None and name is None:
        raise StorageError(f"study {study_name!r} used a custom sampler; pass it to load_study")
    space = SearchSpace.from_dict(record["space"], source=f"study {study_name!r}")
    try:
        if sampler is None:
            if name not in STORED_SAMPLERS:
                raise ValueError(f"unknown sampler {name!r}")
            sampler = STORED_SAMPLERS[name](**sampler_params)
        study = Study(space, sampler=sampler, storage=store, study_name=study_name, **settings)
    except (TypeError, ValueError) as err:
        raise StorageError(f"study {study_name!r} has invalid stored settings: {err}") from None
    if stored_model is not None and "hyperprior_scale" not in stored_model and "hyperprior_scale" in study.model_params:
        # stored before the hyperparameter prior existed (the stored model_params hold every default the study ran
        # with): it fitted by maximum likelihood, and resumes as it was made
        study.model_params["hyperprior_scale"] = None
    study._restore()
    return study
