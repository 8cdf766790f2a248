"""GP-NAS inside Optuna (and so inside Ray Tune): :class:`GPNASSampler`, an Optuna sampler.

    import optuna
    from gpnas.integrations.optuna import GPNASSampler

    study = optuna.create_study(direction="maximize", sampler=GPNASSampler(seed=0))
    study.optimize(objective, n_trials=100)   # objective calls trial.suggest_categorical(...) per choice

The architecture parameters, categorical ones and integer ones with at most ``max_int_choices`` values, are proposed
together (Optuna's "relative" sampling) by the GP-NAS model and a gpnas strategy (``strategy="auto"`` by default,
as ``gpnas search --strategy``).  Every other parameter (floats, wide integer ranges, parameters that appear in only
some trials) goes to an independent sampler, :class:`optuna.samplers.RandomSampler` unless given, as Optuna's own
``GPSampler`` and ``TPESampler`` do.

Needs the optional extra: ``pip install gpnas[optuna]``.
"""

from __future__ import annotations

import contextlib
import re
import threading
import warnings
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, IntDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.samplers._base import _CONSTRAINTS_KEY, _process_constraints_after_trial
from optuna.search_space import IntersectionSearchSpace
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from gpnas.gp.regressor import GPNASRegressor
from gpnas.sampling.candidates import CandidateSet
from gpnas.sampling.pool import candidate_pool
from gpnas.sampling.hypervolume import propose_by_ehvi
from gpnas.sampling.scalarization import chebyshev_utility, normalized_utilities, simplex_weights
from gpnas.sampling.strategies import SamplingContext, make_sampler
from gpnas.space import Choice, SearchSpace
from gpnas.space.networks import SeenNetworks
from gpnas.study.study import search_distinct_networks, search_model_defaults

#: System attribute holding the architecture a trial was given, so that running trials count as pending points.
ARCH_KEY = "gpnas:arch"

#: The model is fitted from this many completed trials on, whatever ``n_startup_trials`` says (a GP's
#: hyperparameters cannot be estimated from one point).
MIN_FIT_TRIALS = 2

GroupSpec = Mapping[str, str] | Callable[[str], str] | None


def default_group(name: str) -> str:
    """The operation type of a parameter when no ``groups`` are given: its name without digits, so that
    ``block3_kernel`` and ``block5_kernel`` share the group ``block_kernel`` and ``edge0 .. edge5`` share ``edge``."""
    return re.sub(r"\d+", "", name).strip("_-.") or "op"


def _checked_candidates(candidates: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]] | None:
    """``candidates`` as a list of dicts over one set of names, or ``ValueError`` saying what is wrong."""
    if candidates is None:
        return None
    checked = [dict(c) for c in candidates]
    if not checked:
        raise ValueError("GPNASSampler: candidates is empty; give at least one, or None for the whole space")
    names = set(checked[0])
    for i, candidate in enumerate(checked):
        if set(candidate) != names:
            raise ValueError(f"GPNASSampler: candidate {i} has the parameters {sorted(candidate)}, candidate 0 "
                             f"{sorted(names)}; every candidate needs the same ones")
    return checked


def _hashable(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)


class IndependentSamplingWarning(UserWarning):
    """A parameter that the model does not cover is sampled by the independent sampler (said once per name)."""


#: How a multi-objective study proposes: ParEGO (one model of a random scalarisation), a model per objective whose
#: optimistic predictions are scalarised (Paria et al., UAI 2019), or a model per objective and the expected
#: hypervolume improvement (two objectives; :mod:`gpnas.sampling.hypervolume`).
MULTI_OBJECTIVE_MODES = ("parego", "per-objective", "ehvi")

#: Optimism of the per-objective mode: each objective's prediction counts at its mean plus this many deviations.
PER_OBJECTIVE_BETA = 1.0


class GPNASSampler(BaseSampler):
    """An Optuna sampler driven by the GP-NAS model.

    Parameters
    ----------
    strategy:
        The gpnas strategy that proposes each architecture: ``"auto"`` (default; UCB with an evolution fallback),
        ``"mi"`` (the paper's mutual information), ``"ucb"``, ``"ei"``, ``"mi+ucb"``, ``"rea"``, ``"ls"``.
    groups:
        Operation types of the parameters: ``{group: regex}`` (the first pattern that fully matches a name wins), a
        callable ``name -> group``, or ``None`` for :func:`default_group`.  Positions of one group share a kernel
        term, as in the paper.
    n_startup_trials:
        Completed trials before the model is used (at least :data:`MIN_FIT_TRIALS`, 2, whatever is given: a GP
        cannot be fitted on one); until then the architecture choices are drawn at random by the independent
        sampler.
    seed:
        Seeds the model, the strategy and the default independent sampler; a study run with the same seed and
        objective proposes the same trials.
    independent_sampler:
        Samples what the model does not cover (default :class:`optuna.samplers.RandomSampler` with ``seed``).
    constraints_func:
        As in Optuna's samplers: ``trial -> sequence of floats``, feasible when all are ``<= 0``.  The values are
        stored with each finished trial; the model is fitted on the feasible trials, and a second GP on the largest
        constraint value decides: of the strategy's 30 best candidates (a greedy batch) the first predicted
        feasible (probability at least 0.5) is proposed, else the one most likely feasible.
    max_int_choices:
        Integer parameters with at most this many values are architecture choices; wider ones go to the
        independent sampler.
    pool_size, model_params:
        The strategy's candidate pool and keyword arguments of :class:`GPNASRegressor`.
    warm_start:
        Start each trial's hyperparameter fit from the last trial's values with one restart (cheaper per trial), as a
        gpnas study does, instead of a fresh fit with the model's restarts (the default).
    candidates:
        The only architectures to propose, when just some can be evaluated (a benchmark table's rows, a set of
        pretrained subnets): each a mapping from parameter name to value, as ``study.enqueue_trial`` takes, all over
        the same names.  Trials before the model is fitted draw unseen candidates at random, the model then chooses
        among the unseen ones, and once every candidate has been tried a random one is repeated.  A value that is not
        among its parameter's options raises ``ValueError`` naming the candidate when it is first drawn or scored.

    space:
        The gpnas :class:`~gpnas.space.SearchSpace` the study's parameters describe (one parameter per choice, named
        and valued as the choice, e.g. ``trial.suggest_categorical(c.name, list(c.values))``).  The model then sees
        the architecture as a gpnas study does (:func:`gpnas.study.study.search_model_defaults`: the choices one-hot
        and, where the space declares a cell such as NAS-Bench-201's, the cell's operation counts and, for one
        objective, the hyperparameter prior) with the space's groups; its mutations and crossovers respect the space.
        Without it (default) every categorical or narrow integer parameter is an unordered or ordered choice grouped
        by ``groups``.  A trial that does not suggest every choice, or suggests other values, raises ``ValueError``
        naming the parameter.
    multi_objective:
        How a multi-objective study (``optuna.create_study(directions=[...])``) proposes.  ``"ehvi"`` (default): a
        model per objective and the candidate of largest expected hypervolume improvement over the measured front
        (:mod:`gpnas.sampling.hypervolume`, in closed form), each objective in its model's units (its normal
        scores), the reference point a tenth of the measured values' range below their worst, running trials
        counted at their predicted means; for two objectives (with more, or with a ``constraints_func``, ParEGO).
        Chosen over ParEGO on the benchmark's tuning pairs (``benchmarks/multi_objective.py``).  The other two draw
        weights uniformly from the simplex and score by the augmented Chebyshev scalarisation of the objectives,
        each normalised to ``[0, 1]`` over the finished trials (:mod:`gpnas.sampling.scalarization`).
        ``"parego"`` (Knowles 2006): one model is fitted to the scalarised values and the strategy proposes as in a
        single-objective study.  ``"per-objective"`` (Paria et al. 2019): a model per objective; the candidate whose
        optimistic predictions (mean plus one deviation per objective) scalarise highest is proposed (with a
        ``constraints_func``, ParEGO).  ``study.best_trials`` is the Pareto front in every mode.

    Running trials (``n_jobs > 1``, or several processes on one storage) are pending points: their architectures are
    stored as a system attribute when proposed.  Failed and pruned trials are never proposed again and do not enter
    the model (a pruned trial's value is not its final one).
    distinct_networks:
        With ``space`` and one objective, propose no architecture whose network was tried under another vector
        (:mod:`gpnas.space.networks`; ``Study(distinct_networks=...)``); Optuna's own start, ``n_startup_trials``,
        is random and may.  ``None`` (the default): as a study in the space does
        (:func:`gpnas.study.study.search_distinct_networks`: on in a linked-cell space), off without a space.
    """

    def __init__(self, *, strategy: str = "auto", groups: GroupSpec = None, n_startup_trials: int = 10,
                 seed: int | None = None, independent_sampler: BaseSampler | None = None,
                 constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None,
                 max_int_choices: int = 32, pool_size: int = 20000,
                 model_params: Mapping[str, Any] | None = None, warm_start: bool = False,
                 multi_objective: str = "ehvi", candidates: Sequence[Mapping[str, Any]] | None = None,
                 space: SearchSpace | None = None, distinct_networks: bool | None = None) -> None:
        make_sampler(strategy)  # fails early on an unknown name
        if space is not None and not isinstance(space, SearchSpace):
            raise TypeError(f"GPNASSampler: space must be a gpnas SearchSpace, got {type(space).__name__}")
        self._user_space = space
        self._candidates = _checked_candidates(candidates)
        # search-space names -> (the candidates' distinct choice indices over them, each row's candidate numbers)
        self._candidate_sets: dict[tuple, tuple[CandidateSet, dict[tuple, list[int]]]] = {}
        self._chosen: dict[int, dict[str, Any]] = {}  # trial id -> the candidate it was given
        if multi_objective not in MULTI_OBJECTIVE_MODES:
            raise ValueError(f"multi_objective must be one of {MULTI_OBJECTIVE_MODES}, got {multi_objective!r}")
        self._multi_objective = multi_objective
        self._strategy = strategy
        self._groups = groups
        self._n_startup_trials = int(n_startup_trials)
        self._seed = seed
        self._rng = np.random.default_rng(seed)
        self._independent_sampler = independent_sampler or RandomSampler(seed=seed)
        self._constraints_func = constraints_func
        self._max_int_choices = int(max_int_choices)
        self._pool_size = int(pool_size)
        self._model_params = dict(model_params or {})
        self._search_space = IntersectionSearchSpace(include_pruned=True)
        self._warm_start = bool(warm_start)
        self._distinct_networks = (space is not None and search_distinct_networks(space) if distinct_networks is None
                                   else bool(distinct_networks))
        self._last_fit: dict[tuple, tuple] = {}  # search-space names -> the last fit's (sigma, lengthscale, noise)
        # (trial id, search-space names) -> the finished trial's choice indices: a finished trial never changes, so
        # each is decoded from its parameters once, not again at every later trial
        self._arch_cache: dict[tuple, list[int] | None] = {}
        self._arch_cache_owner: tuple | None = None
        self._warned_independent: set[str] = set()
        self._proposal_lock = threading.Lock()
        self._warned_fit: set[str] = set()

    def __getstate__(self) -> dict[str, Any]:  # picklable (Ray Tune checkpoints its searcher): a lock is not
        state = self.__dict__.copy()
        del state["_proposal_lock"]
        state["_arch_cache"], state["_arch_cache_owner"] = {}, None  # rebuilt where it is unpickled
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._proposal_lock = threading.Lock()
        self.__dict__.setdefault("_arch_cache", {})
        self.__dict__.setdefault("_arch_cache_owner", None)
        for name, default in (("_candidates", None), ("_candidate_sets", {}), ("_chosen", {}), ("_user_space", None)):
            self.__dict__.setdefault(name, default)

    # ------------------------------------------------------------------ Optuna's sampler interface
    def reseed_rng(self) -> None:
        self._rng = np.random.default_rng()
        self._seed = None
        self._independent_sampler.reseed_rng()

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return {name: dist for name, dist in self._search_space.calculate(study).items() if self._is_choice(dist)}

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        """A value for every parameter of ``search_space``: the architecture choices from the model (random until
        it can be fitted), any other parameter from the independent sampler."""
        if self._user_space is None:
            choices = {name: dist for name, dist in search_space.items() if self._is_choice(dist)}
        else:  # the space's choices only; any other parameter goes to the independent sampler
            choices = {c.name: search_space[c.name] for c in self._user_space.choices if c.name in search_space}
        # one proposal at a time (``n_jobs > 1`` runs trials in threads): each one reads the trials only after the
        # previous proposal was stored as that trial's pending architecture, so two threads never propose the same
        with self._proposal_lock:
            params = self._propose(study, trial, choices) if choices else {}
            for name, dist in search_space.items():
                if name not in params and self._candidates is not None and name in self._candidates[0]:
                    params[name] = self._candidate_value(study, trial, name, dist)
        for name, dist in search_space.items():
            if name not in params:
                params[name] = self._independent_sampler.sample_independent(study, trial, name, dist)
        return params

    def _propose(self, study: optuna.Study, trial: FrozenTrial,
                 search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        """The model's architecture over the choices of ``search_space``, or ``{}`` while it cannot be fitted."""
        names = self._names(search_space)
        space = self._space(names, search_space)
        trials = study._get_trials(deepcopy=False, use_cache=True)
        owner = (study.study_name, id(study._storage))
        if self._arch_cache_owner != owner:  # a sampler used for another study: trial ids mean other trials there
            self._arch_cache, self._arch_cache_owner = {}, owner
        X_done, y_done, violation, X_pending, X_failed = self._history(trials, trial, names, search_space, space)
        candidates = self._candidate_set(names, search_space) if self._candidates is not None else None
        rng = self._trial_rng(trial)
        if len(y_done) < max(MIN_FIT_TRIALS, self._n_startup_trials):
            if candidates is None:
                return {}
            seen = SeenNetworks(space, np.vstack([X_done, X_pending, X_failed]),
                                self._distinct_networks and len(study.directions) == 1)
            draw = candidates[0].sample(1, rng, seen)
            return self._give(study, trial, names, search_space, draw[0], rng) if draw.shape[0] else {}
        signs = np.array([1.0 if d == StudyDirection.MAXIMIZE else -1.0 for d in study.directions])
        if signs.size == 1:
            y_done, sign = y_done[:, 0], float(signs[0])
        elif self._multi_objective == "per-objective" and violation is None:
            arch = self._per_objective_proposal(space, X_done, y_done, signs, X_pending, X_failed, rng,
                                                candidates[0] if candidates is not None else None)
            if arch is None:
                return {}
            return self._give(study, trial, names, search_space, arch, rng)
        elif self._multi_objective == "ehvi" and violation is None and signs.size == 2:
            arch = self._ehvi_proposal(space, X_done, y_done, signs, X_pending, X_failed, rng,
                                       candidates[0] if candidates is not None else None)
            if arch is None:
                return {}
            return self._give(study, trial, names, search_space, arch, rng)
        else:  # ParEGO: this trial's random Chebyshev scalarisation of the objectives, larger is better
            y_done = chebyshev_utility(normalized_utilities(y_done, signs), simplex_weights(signs.size, rng))
            sign = 1.0
        feasible = violation <= 0 if violation is not None else np.ones(len(y_done), dtype=bool)
        if feasible.sum() < MIN_FIT_TRIALS:
            return {}
        params = self._fit_params(space, rng, signs.size > 1)  # ParEGO too: one model, but several objectives
        last = self._last_fit.get(tuple(names)) if self._warm_start else None
        if last is not None and "sigma" not in self._model_params:
            # warm start from the last trial's hyperparameters with one restart, as a gpnas study does
            params.update(sigma=last[0], lengthscale=last[1], noise=last[2], n_restarts=1)
        with self._warnings_once():
            model = GPNASRegressor(**params).fit(X_done[feasible], y_done[feasible])
        self._last_fit[tuple(names)] = (model.kernel_.sigma, model.kernel_.lengthscale, max(model.noise_, 1e-5))
        sampler = make_sampler(self._strategy, pool_size=self._pool_size)
        ctx = SamplingContext(space=space, X_done=X_done[feasible], y_done=sign * y_done[feasible],
                              X_pending=np.vstack([X_pending, X_done[~feasible]]), X_failed=X_failed, rng=rng,
                              model=model, sign=sign, candidates=candidates[0] if candidates is not None else None,
                              distinct_networks=self._distinct_networks and signs.size == 1)
        if violation is None or feasible.all():
            proposal = sampler.propose(ctx, 1)
        else:
            proposal = self._feasible_first(sampler, ctx, X_done, violation, params)
        if proposal.shape[0] == 0:
            return {}  # every architecture has been tried: let the independent sampler repeat one
        return self._give(study, trial, names, search_space, proposal[0], rng)

    def _give(self, study: optuna.Study, trial: FrozenTrial, names: list[str], search_space, arch,
              rng: np.random.Generator) -> dict[str, Any]:
        """Propose ``arch`` (choice indices over ``names``): stored as the trial's pending architecture and, with
        ``candidates``, the candidate it stands for kept for the trial's other parameters."""
        arch = [int(v) for v in arch]
        study._storage.set_trial_system_attr(trial._trial_id, ARCH_KEY, dict(zip(names, arch)))
        if self._candidates is not None:  # several candidates may agree on these names: one of them at random
            members = self._candidate_set(names, search_space)[1][tuple(arch)]
            self._chosen[trial._trial_id] = self._candidates[int(rng.choice(members))]
        return {name: self._value(search_space[name], index) for name, index in zip(names, arch)}

    def _candidate_set(self, names: list[str], search_space) -> tuple[CandidateSet, dict[tuple, list[int]]]:
        """The candidates as choice indices over ``names`` (each distinct row once) and, per row, the candidates
        it stands for."""
        key = tuple(names)
        if key not in self._candidate_sets:
            members: dict[tuple, list[int]] = {}
            for i, candidate in enumerate(self._candidates):
                row = []
                for name in names:
                    if name not in candidate:
                        raise ValueError(f"GPNASSampler: parameter {name!r} is not in the candidates (they hold "
                                         f"{sorted(candidate)})")
                    index = self._index(search_space[name], candidate[name])
                    if index is None:
                        raise ValueError(f"GPNASSampler: candidate {i} gives {name!r} the value "
                                         f"{candidate[name]!r}, not one of its options "
                                         f"{self._options(search_space[name])}")
                    row.append(index)
                members.setdefault(tuple(row), []).append(i)
            self._candidate_sets[key] = (CandidateSet(np.array(list(members), dtype=int)), members)
        return self._candidate_sets[key]

    def _candidate_value(self, study: optuna.Study, trial: FrozenTrial, name: str, dist: BaseDistribution) -> Any:
        """The value of ``name`` in the candidate of a trial the model did not propose, checked against ``dist``
        as the model's path checks it (the same message, not Optuna's)."""
        candidate = self._independent_candidate(study, trial)
        value = candidate[name]
        if self._is_choice(dist) and self._index(dist, value) is None:
            raise ValueError(f"GPNASSampler: candidate {self._candidates.index(candidate)} gives {name!r} the value "
                             f"{value!r}, not one of its options {self._options(dist)}")
        return value

    def _independent_candidate(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, Any]:
        """The candidate of a trial the model did not propose (before any trial finished, or with every
        architecture tried): an untried one at random, else any."""
        if trial._trial_id not in self._chosen:
            names = sorted(self._candidates[0])
            tried = {tuple(_hashable(t.params.get(n)) for n in names)
                     for t in study._get_trials(deepcopy=False, use_cache=True) if t.number != trial.number}
            fresh = [c for c in self._candidates if tuple(_hashable(c[n]) for n in names) not in tried]
            pool = fresh or self._candidates
            self._chosen[trial._trial_id] = pool[int(self._trial_rng(trial).integers(len(pool)))]
        return self._chosen[trial._trial_id]

    def _per_objective_proposal(self, space: SearchSpace, X_done: np.ndarray, values: np.ndarray, signs: np.ndarray,
                                X_pending: np.ndarray, X_failed: np.ndarray, rng,
                                candidates: CandidateSet | None = None) -> list[int] | None:
        """A model per objective (normalised utilities, larger is better); the unseen candidate whose optimistic
        utilities have the highest random Chebyshev scalarisation."""
        utilities = normalized_utilities(values, signs)
        weights = simplex_weights(signs.size, rng)
        parents = X_done[np.argsort(-chebyshev_utility(utilities, weights))[:5]]
        seen = np.vstack([X_done, X_pending, X_failed])
        pool = candidate_pool(space, seen, self._pool_size, rng, parents=parents,
                              n_mutations=self._pool_size // 10, n_crossovers=self._pool_size // 20,
                              candidates=candidates)
        if pool.shape[0] == 0:
            return None
        optimistic = []
        for j in range(signs.size):
            with self._warnings_once():
                model = GPNASRegressor(**self._fit_params(space, rng, True)).fit(X_done, utilities[:, j])
            mean, std = model.predict(pool, return_std=True)
            optimistic.append(mean + PER_OBJECTIVE_BETA * std)
        pick = int(np.argmax(chebyshev_utility(np.column_stack(optimistic), weights)))
        return [int(v) for v in pool[pick]]

    def _ehvi_proposal(self, space: SearchSpace, X_done: np.ndarray, values: np.ndarray, signs: np.ndarray,
                       X_pending: np.ndarray, X_failed: np.ndarray, rng,
                       candidates: CandidateSet | None = None) -> list[int] | None:
        """A model per objective; the unseen candidate of largest expected hypervolume improvement
        (:func:`gpnas.sampling.hypervolume.propose_by_ehvi`)."""
        def fit(X: np.ndarray, y: np.ndarray) -> GPNASRegressor:
            with self._warnings_once():
                return GPNASRegressor(**self._fit_params(space, rng, True)).fit(X, y)

        proposal = propose_by_ehvi(space, X_done, np.asarray(values, dtype=float) * signs, X_pending, X_failed, rng,
                                   fit, self._pool_size, candidates)
        return [int(v) for v in proposal[0]] if len(proposal) else None

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        if self._candidates is not None and param_name in self._candidates[0]:
            with self._proposal_lock:
                return self._candidate_value(study, trial, param_name, param_distribution)
        if param_name not in self._warned_independent and not self._is_choice(param_distribution):
            self._warned_independent.add(param_name)
            warnings.warn(f"GPNASSampler: parameter {param_name!r} ({type(param_distribution).__name__}) is not an "
                          "architecture choice (categorical, or integer with at most max_int_choices values); it is "
                          "sampled by the independent sampler", IndependentSamplingWarning,
                          stacklevel=2)
        return self._independent_sampler.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._independent_sampler.before_trial(study, trial)

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        if self._constraints_func is not None:
            _process_constraints_after_trial(self._constraints_func, study, trial, state)
        self._independent_sampler.after_trial(study, trial, state, values)

    # ------------------------------------------------------------------ helpers
    @contextlib.contextmanager
    def _warnings_once(self):
        """Show each kind of fit warning (jitter, convergence) once per sampler instead of once every trial."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
        for w in caught:
            if w.category.__name__ not in self._warned_fit:
                self._warned_fit.add(w.category.__name__)
                warnings.warn(f"GPNASSampler (shown once): {w.message}", w.category, stacklevel=4)

    def _is_choice(self, dist: BaseDistribution) -> bool:
        if isinstance(dist, CategoricalDistribution):
            return len(dist.choices) > 1
        if isinstance(dist, IntDistribution) and not dist.log:
            n = (dist.high - dist.low) // dist.step + 1
            return 1 < n <= self._max_int_choices
        return False

    @staticmethod
    def _options(dist: BaseDistribution) -> list:
        if isinstance(dist, CategoricalDistribution):
            return list(dist.choices)
        return list(range(dist.low, dist.high + 1, dist.step))

    def _value(self, dist: BaseDistribution, index: int) -> Any:
        return self._options(dist)[index]

    def _group(self, name: str) -> str:
        if callable(self._groups):
            return str(self._groups(name))
        for group, pattern in (self._groups or {}).items():
            if re.fullmatch(pattern, name):
                return group
        return default_group(name)

    def _names(self, search_space: dict[str, BaseDistribution]) -> list[str]:
        """The architecture parameters in the model's order: sorted, or the given space's choices in its order,
        each checked to have that choice's values in that order (else ``ValueError``)."""
        if self._user_space is None:
            return sorted(search_space)
        names = [c.name for c in self._user_space.choices]
        missing = [n for n in names if n not in search_space]
        if missing:
            raise ValueError(f"GPNASSampler: the space {self._user_space.name!r} has the choices {missing} that the "
                             "study's trials do not all suggest; suggest every choice of the space in every trial "
                             "(or give no space)")
        for choice in self._user_space.choices:
            options = self._options(search_space[choice.name])
            if list(options) != list(choice.values):
                raise ValueError(f"GPNASSampler: parameter {choice.name!r} has the options {options}, the space's "
                                 f"choice {list(choice.values)}; suggest the space's values in its order")
        return names

    def _fit_params(self, space: SearchSpace, rng: np.random.Generator,
                    multi_objective: bool = False) -> dict[str, Any]:
        """Keyword arguments of a :class:`GPNASRegressor` fit: with a given space, a study's search model
        (:func:`gpnas.study.study.search_model_defaults`: in a cell space the cell's operation counts too) under
        ``model_params``; without one, ``model_params`` alone, by maximum likelihood as the search's model outside
        cell spaces (:data:`gpnas.study.study.SEARCH_MODEL_DEFAULTS`), not under the predictor's prior."""
        base = (search_model_defaults(space, multi_objective) if self._user_space is not None
                else {"hyperprior_scale": None})
        return {"random_state": int(rng.integers(2**31)), **base, **self._model_params, "space": space}

    def _space(self, names: list[str], search_space: dict[str, BaseDistribution]) -> SearchSpace:
        """The given space, or a gpnas space over ``names``: numbers stay numbers (so ``encoding="auto"`` may use
        their order), anything else becomes the labels ``c0, c1, ...`` (unordered)."""
        if self._user_space is not None:
            return self._user_space
        choices = []
        for j, name in enumerate(names):
            options = self._options(search_space[name])
            numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in options)
            values = options if numeric else [f"c{i}" for i in range(len(options))]
            choices.append(Choice(f"p{j}", tuple(values), self._group(name).replace(",", "_").replace("=", "_")))
        return SearchSpace(choices, name="optuna")

    def _index(self, dist: BaseDistribution, value: Any) -> int | None:
        options = self._options(dist)
        for i, option in enumerate(options):
            if option == value and type(option) is type(value) or option is value:
                return i
        for i, option in enumerate(options):
            if option == value:
                return i
        return None

    def _arch(self, trial: FrozenTrial, names: list[str], search_space) -> list[int] | None:
        stored = trial.system_attrs.get(ARCH_KEY)
        if isinstance(stored, dict) and all(n in stored for n in names):
            return [int(stored[n]) for n in names]
        if not all(n in trial.params for n in names):
            return None
        arch = [self._index(search_space[n], trial.params[n]) for n in names]
        return None if any(a is None for a in arch) else arch

    def _history(self, trials, current: FrozenTrial, names, search_space, space):
        done, values, violations, pending, failed = [], [], [], [], []
        key_names = tuple(names)
        for t in trials:
            if t.number == current.number:
                continue
            if t.state.is_finished():
                key = (t._trial_id, key_names)
                if key not in self._arch_cache:
                    self._arch_cache[key] = self._arch(t, names, search_space)
                arch = self._arch_cache[key]
            else:
                arch = self._arch(t, names, search_space)
            if arch is None:
                continue
            if t.state == TrialState.COMPLETE and t.values is not None and np.all(np.isfinite(t.values)):
                done.append(arch)
                values.append([float(v) for v in t.values])
                constraints = t.system_attrs.get(_CONSTRAINTS_KEY)
                violations.append(max(constraints) if constraints else 0.0)
            elif t.state in (TrialState.RUNNING, TrialState.WAITING):
                pending.append(arch)
            else:  # failed, pruned, or complete with a non-finite value: never proposed again
                failed.append(arch)
        d = space.n_positions

        def arr(rows):
            return np.array(rows, dtype=int).reshape(-1, d)

        violation = np.array(violations, dtype=float) if self._constraints_func is not None else None
        k = len(values[0]) if values else 1
        return arr(done), np.array(values, dtype=float).reshape(-1, k), violation, arr(pending), arr(failed)

    def _trial_rng(self, trial: FrozenTrial) -> np.random.Generator:
        # derived from the seed and the trial number: the same study with the same seed proposes the same trials
        return self._rng if self._seed is None else np.random.default_rng([self._seed, trial.number])

    def _feasible_first(self, sampler, ctx: SamplingContext, X_all: np.ndarray, violation: np.ndarray,
                        params: dict) -> np.ndarray:
        from scipy.stats import norm

        candidates = sampler.propose(ctx, 30)
        if candidates.shape[0] == 0:
            return candidates
        with self._warnings_once():
            constraint = GPNASRegressor(**{**params, "target_transform": "standardize"}).fit(X_all, violation)
        mean, std = constraint.predict(candidates, return_std=True)
        p_feasible = norm.cdf(-mean / np.maximum(std, 1e-12))
        ok = np.flatnonzero(p_feasible >= 0.5)
        return candidates[[ok[0] if ok.size else int(np.argmax(p_feasible))]]
