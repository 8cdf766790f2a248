"""Samplers: the strategies that propose the next architectures to evaluate.

* :class:`AutoSampler` (``"auto"``, the default): UCB with a wide exploration weight, falling back to regularized
  evolution while the model ranks its own training data poorly (chosen by ``benchmarks/search.py``);
* :class:`MISampler` (``"mi"``), the paper's mutual-information sampling (Eq. 12), greedy over a candidate pool;
* :class:`RandomSampler` (``"random"``), the paper's GP-NAS-rdm baseline;
* :class:`UCBSampler` (``"ucb"``) and :class:`EISampler` (``"ei"``), which seek the best architecture rather than the
  best predictor;
* :class:`BlendSampler` (``"mi+ucb"``): each batch spends ``exploit_fraction`` of its picks on UCB and the rest on MI,
  in one greedy sequence so the two kinds of picks see each other as pending points;
* :class:`RegularizedEvolutionSampler` (``"rea"``, Real et al. 2019) and :class:`LocalSearchSampler` (``"ls"``,
  White et al. 2021), the baselines NAS users compare against.

Every sampler gets a :class:`SamplingContext` (done and pending trials, the fitted model when there is one) and
returns ``k`` architectures never evaluated or pending before, when the space still has that many.

The model-based samplers choose from a candidate pool: the whole space when it is small, otherwise uniform draws,
mutations and crossovers of the incumbents, and the architectures a local search over the acquisition visits
(:mod:`gpnas.sampling.acquisition_search`); then a greedy batch that conditions each pick on the earlier ones.
"""

from __future__ import annotations

import copy
import numbers
from dataclasses import dataclass, replace
from functools import partial

import numpy as np

from gpnas.gp.hyperparameter_draws import hyperparameter_draws
from gpnas.sampling.acquisition_search import local_search
from gpnas.sampling.candidates import CandidateSet
from gpnas.sampling.mutual_information import (
    MI_UNIVERSE_SIZE,
    acquisition_scores,
    greedy_batch,
    is_training_set,
)
from gpnas.sampling.integrated import integrated_greedy_batch
from gpnas.sampling.hedge import PORTFOLIO as HEDGE_PORTFOLIO
from gpnas.sampling.hedge import Hedge
from gpnas.sampling.pool import candidate_pool, unique_row_indices
from gpnas.sampling.thompson import thompson_picks
from gpnas.sampling.trust_region import check_tolerances, initial_radius, replay_radius, within_radius
from gpnas.space import SearchSpace
from gpnas.space.networks import SeenNetworks


@dataclass
class SamplingContext:
    """What a sampler may look at.  ``y_done`` is oriented so that larger is better; ``model`` is fitted on the
    measured values themselves, so ``sign`` (``+1`` maximise, ``-1`` minimise) orients its predictions."""

    space: SearchSpace
    X_done: np.ndarray
    y_done: np.ndarray
    X_pending: np.ndarray
    X_failed: np.ndarray
    rng: np.random.Generator
    model: object | None = None
    sign: float = 1.0
    candidates: CandidateSet | None = None  # when given, the only architectures that may be proposed
    n_initial: int = 0  # the study's random (or proxy-voted) start: trials no model steered
    #: Skip an architecture whose network was tried under another vector (:mod:`gpnas.space.networks`).
    distinct_networks: bool = False

    @property
    def X_seen(self) -> np.ndarray:
        return np.vstack([self.X_done, self.X_pending, self.X_failed])

    def seen_networks(self) -> SeenNetworks:
        """The architectures tried (finished, pending, failed), by network when :attr:`distinct_networks` (a new
        object each call: a few milliseconds in a cell space)."""
        return SeenNetworks(self.space, self.X_seen, self.distinct_networks)


def _fresh_random(ctx: SamplingContext, k: int, avoid: set | SeenNetworks | None = None) -> np.ndarray:
    """Up to ``k`` uniform architectures not seen before (rejection sampling; enumeration once the space runs low);
    ``avoid``: more architectures not to propose (a set of tuples, or the seen architectures themselves)."""
    seen = avoid.copy() if isinstance(avoid, SeenNetworks) else ctx.seen_networks()
    if avoid and not isinstance(avoid, SeenNetworks):
        seen.add_many(np.array(sorted(avoid), dtype=int))
    if ctx.candidates is not None:
        return ctx.candidates.sample(k, ctx.rng, seen)
    out: list[tuple] = []
    for _ in range(50):
        for x in ctx.space.sample(4 * k + 8, random_state=ctx.rng):
            t = tuple(int(v) for v in x)
            if t not in seen:
                seen.add(t)
                out.append(t)
                if len(out) == k:
                    return np.array(out, dtype=int)
    if ctx.space.size <= 2_000_000:  # small space nearly exhausted: take what is left
        every = ctx.space.enumerate()
        rest = [tuple(int(v) for v in x) for x in every[~seen.mask(every)]]
        ctx.rng.shuffle(rest)
        out += rest[: k - len(out)]
    return np.array(out, dtype=int).reshape(-1, ctx.space.n_positions)


class Sampler:
    """Base class.  ``uses_model`` tells the study whether to fit the GP before proposing."""

    name = "sampler"
    uses_model = False

    def propose(self, ctx: SamplingContext, k: int) -> np.ndarray:
        raise NotImplementedError

    def get_params(self) -> dict:
        """The constructor's arguments as stored with a study, so that a resumed study gets the same sampler."""
        import inspect

        names = [p for p in inspect.signature(type(self).__init__).parameters if p not in ("self", "kwargs")]
        for base in type(self).__mro__[1:]:  # keyword arguments passed on to a base class
            if "__init__" in vars(base) and base is not object:
                names += [p for p in inspect.signature(base.__init__).parameters if p not in ("self", "kwargs")]
        return {n: getattr(self, n) for n in dict.fromkeys(names) if hasattr(self, n)}


class RandomSampler(Sampler):
    """Uniform sampling of unseen architectures (GP-NAS-rdm when paired with the GP predictor)."""

    name = "random"

    def propose(self, ctx: SamplingContext, k: int) -> np.ndarray:
        return _fresh_random(ctx, k)


class GPSampler(Sampler):
    """Greedy batch selection over a candidate pool with the fitted GP.

    Parameters
    ----------
    pool_size:
        The whole space is the pool when it has at most this many architectures; otherwise this many random draws
        plus mutations and crossovers of the best architectures so far, refreshed every round.
    universe_size:
        MI is exact over at most this many candidates of the pool, a uniform subset when the pool is larger (see
        :mod:`gpnas.sampling.mutual_information`).
    beta:
        UCB's exploration weight.
    local_starts:
        In a space larger than the pool, a local search over the acquisition starts from the five best measured
        architectures and from this many of the pool's best-scoring candidates; what it visits joins the pool.
        ``0`` turns it off.
    candidate_moves:
        With a candidate set larger than the pool (a benchmark table's rows, most of a large space), build the pool
        as in a large space, within the set: the uniform draws of unseen members plus the members among the best
        architectures' mutations, neighbours and crossovers, and the acquisition's local search moving between
        members only.  ``False``: the pool is the uniform draws alone, without a local search (the behaviour before
        this option; on NAS-Bench-Graph's 59,040 rows it maximised the acquisition over a random third of them).
    """

    uses_model = True
    acquisition = "mi"

    def __init__(self, pool_size: int = 20000, universe_size: int = MI_UNIVERSE_SIZE, beta: float = 2.0,
                 local_starts: int = 10, candidate_moves: bool = True) -> None:
        self.pool_size, self.universe_size, self.beta = pool_size, universe_size, beta
        self.local_starts = local_starts
        self.candidate_moves = bool(candidate_moves)

    def acquisitions(self, k: int) -> list[str]:
        return [self.acquisition] * k

    def propose(self, ctx: SamplingContext, k: int) -> np.ndarray:
        if ctx.model is None:
            return _fresh_random(ctx, k)
        top = ctx.X_done[np.argsort(-ctx.y_done)[:5]] if len(ctx.y_done) else None
        seen = ctx.seen_networks()
        pool = candidate_pool(ctx.space, seen, self.pool_size, ctx.rng, parents=top,
                              n_mutations=self.pool_size // 10, n_crossovers=self.pool_size // 20,
                              candidates=ctx.candidates, candidate_moves=self.candidate_moves)
        # the best measurement in model units, oriented so that larger is better (for EI)
        best = (ctx.sign * float(ctx.model.target_.forward(np.array([ctx.sign * ctx.y_done.max()]))[0])
                if len(ctx.y_done) else None)
        known = None  # the local search's acquisition over the pool, when it ran
        large = (ctx.space.size > self.pool_size if ctx.candidates is None
                 else self.candidate_moves and len(ctx.candidates) > self.pool_size)
        if large and self.local_starts > 0 and pool.shape[0]:
            pool, known = self._refine_pool(ctx, pool, top, k, best, seen)
        restricted = self._restrict(ctx, pool, k)
        if restricted is not pool:
            known = None
        pool = restricted
        if pool.shape[0] == 0:
            return pool
        # the picks' variances condition on what the model conditions on (every finished trial, or its subset in a
        # study of thousands: its mean and variance then come from the same data) and on the pending trials
        observed = getattr(ctx.model, "X_train_", ctx.X_done)
        sampled = np.vstack([observed, ctx.X_pending]) if len(ctx.X_pending) else observed
        return pool[self._pick(ctx, pool, sampled, k, best, known)]

    def _pick(self, ctx: SamplingContext, pool: np.ndarray, sampled: np.ndarray, k: int,
              best: float | None, known: np.ndarray | None = None) -> list[int]:
        """``k`` pool indices by the sampler's acquisitions, greedily, each conditioning on the ones before.

        ``known`` is the acquisition the local search scored ``pool`` with (:meth:`_refine_pool`).  A single UCB or
        EI pick given exactly the model's own data is its maximiser: the greedy batch's first pick computes the same
        scores, so they are not computed twice."""
        acquisitions = self.acquisitions(k)
        if known is not None and k == 1 and acquisitions[0] != "mi" and is_training_set(ctx.model, sampled):
            # Candidates that tie exactly (symmetric to every measured one) differ here by rounding alone, the pool
            # having been scored in parts: the first of them, which one pass over the pool (argmax) would take.
            top = float(np.max(known))
            return [int(np.flatnonzero(known >= top - 1e-12 * max(1.0, abs(top)))[0])]
        return greedy_batch(ctx.model, pool, sampled, k, acquisitions, self.universe_size, self.beta,
                            best, ctx.rng, sign=ctx.sign)

    def _restrict(self, ctx: SamplingContext, pool: np.ndarray, k: int) -> np.ndarray:
        """The candidates the acquisition may pick from (all of the pool here)."""
        return pool

    def _score(self, model, kinds: set[str], best: float | None, sign: float = 1.0):
        """The local search's objective: UCB or EI, or for MI its numerator, the posterior variance."""
        kind = "ucb" if "ucb" in kinds else "ei" if "ei" in kinds else "variance"

        def score(X: np.ndarray) -> np.ndarray:
            mean, var = model.predict_latent(X)
            mean = sign * mean
            if kind == "variance":
                return var
            return acquisition_scores(kind, mean, var, mean.max() if best is None else best, self.beta)

        return score

    def _refine_pool(self, ctx: SamplingContext, pool: np.ndarray, top: np.ndarray | None, k: int,
                     best: float | None, seen: SeenNetworks | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The pool and the unseen architectures a local search over the acquisition visits from its best members
        and the incumbents, as distinct rows, with the acquisition of each (UCB or EI, or for MI the variance)."""
        score = self._score(ctx.model, set(self.acquisitions(k)), best, ctx.sign)
        values = score(pool)
        starts = pool[np.argsort(-values)[: self.local_starts]]
        if top is not None:
            starts = np.vstack([top, starts])
        allowed = partial(ctx.candidates.contains, space=ctx.space) if ctx.candidates is not None else None
        visited = np.asarray(local_search(ctx.space, score, starts, allowed=allowed)).reshape(
            -1, ctx.space.n_positions)
        fresh = visited[~(ctx.seen_networks() if seen is None else seen).mask(visited)]
        rows = np.vstack([pool, fresh])
        first = unique_row_indices(ctx.space, rows)
        return rows[first], np.concatenate([values, score(fresh)])[first]


class MISampler(GPSampler):
    """The paper's mutual-information sampling (Eq. 12)."""

    name = "mi"
    acquisition = "mi"


class UCBSampler(GPSampler):
    """Upper confidence bound ``mean + beta * std`` of the GP posterior."""

    name = "ucb"
    acquisition = "ucb"


class EISampler(GPSampler):
    """Expected improvement over the best value observed."""

    name = "ei"
    acquisition = "ei"


class BlendSampler(GPSampler):
    """MI for learning the space, UCB for finding its best: ``round(exploit_fraction * k)`` UCB picks first (at least
    one when ``exploit_fraction > 0``), then MI picks, in one greedy sequence."""

    name = "mi+ucb"

    def __init__(self, exploit_fraction: float = 0.5, **kwargs) -> None:
        super().__init__(**kwargs)
        self.exploit_fraction = exploit_fraction

    def acquisitions(self, k: int) -> list[str]:
        n_ucb = min(k, max(1 if self.exploit_fraction > 0 else 0, round(self.exploit_fraction * k)))
        return ["ucb"] * n_ucb + ["mi"] * (k - n_ucb)


class AutoSampler(UCBSampler):
    """The default: UCB with ``beta = 3``, and regularized evolution while the model cannot rank.

    After every refit the model's closed-form leave-one-out predictions of its own training data are compared with
    the measurements (Kendall tau).  While that tau is below ``min_loo_tau`` the model's ranking is no better than a
    guess, so its acquisition would steer at random; the batch then comes from regularized evolution around the best
    measured architectures instead (:class:`RegularizedEvolutionSampler`), which needs no model.  ``beta = 3`` (wider
    than the textbook 2) measured best in ``benchmarks/search.py``.

    ``trust_radius`` (a fraction of the positions; ``None``, the default, for none) confines the UCB picks to a
    Hamming trust region around the best measured architecture whose radius adapts to the search's successes and
    failures (:mod:`gpnas.sampling.trust_region`; ``trust_fail_tol`` failures in a row shrink it by one,
    ``trust_success_tol`` successes grow it).

    ``local_every`` (``None``, the default, for never) makes every ``local_every``-th model-steered proposal a local
    step instead: the unseen one-position neighbour of the best measured architecture with the highest posterior
    mean (a greedy local search on the model, interleaved with UCB; see :func:`local_steps`).

    ``thompson=True`` picks by Thompson sampling instead of UCB: each pick the maximiser of a posterior draw over the
    pool's candidates of highest UCB (:mod:`gpnas.sampling.thompson`).

    ``hedge=True`` chooses each batch's acquisition by GP-Hedge from a portfolio of UCB (``beta``), EI and the
    posterior mean (:mod:`gpnas.sampling.hedge`; the gains are this object's, so a resumed study starts them anew).

    ``batch_beta`` (2 by default; ``None`` for ``beta``) replaces ``beta`` when a proposal asks for several
    architectures at once (a batch, ``k > 1``): each pick already conditions on the batch's earlier picks, whose
    variance it shrinks as an observation would, so the batch spreads out without the wider bonus.  It measured
    best for batches of 8 on the tuning tables (``benchmarks/results/search_tuning_batch40.md``).  A single proposal
    made while other evaluations run (an asynchronous worker's) keeps ``beta``: that case was not measured.

    ``hyper_draws`` (0, the default, for none) integrates UCB over that many slice-sampled draws of the model's
    hyperparameters instead of scoring with the one estimate (:mod:`gpnas.gp.hyperparameter_draws`,
    :mod:`gpnas.sampling.integrated`; Snoek et al. 2012).
    """

    name = "auto"

    def __init__(self, beta: float = 3.0, min_loo_tau: float = 0.2, trust_radius: float | None = None,
                 trust_fail_tol: int = 3, trust_success_tol: int = 3, local_every: int | None = None,
                 thompson: bool = False, hedge: bool = False, batch_beta: float | None = 2.0, hyper_draws: int = 0,
                 **kwargs) -> None:
        super().__init__(beta=beta, **kwargs)
        whole = (isinstance(hyper_draws, numbers.Integral) and not isinstance(hyper_draws, bool)) or (
            isinstance(hyper_draws, float) and hyper_draws.is_integer())
        if not whole or hyper_draws < 0:
            raise ValueError(f"hyper_draws must be a whole number of draws >= 0, got {hyper_draws!r}")
        if hyper_draws and (thompson or hedge):
            raise ValueError("hyper_draws integrates UCB; give it without thompson or hedge")
        self.hyper_draws = int(hyper_draws)
        # every option checked here, before a study runs with it
        self.batch_beta = None if batch_beta is None else _non_negative("batch_beta", batch_beta)
        if local_every is not None and int(local_every) < 1:
            raise ValueError(f"local_every must be a positive number of proposals or None, got {local_every!r}")
        if thompson and hedge:
            raise ValueError("give thompson or hedge, not both")
        if trust_radius is not None:
            initial_radius(float(trust_radius), 1)  # a fraction of the positions in (0, 1]
            check_tolerances(int(trust_fail_tol), int(trust_success_tol))
        self.min_loo_tau, self.local_every, self.thompson = min_loo_tau, local_every, bool(thompson)
        self.hedge = bool(hedge)
        self._hedge = Hedge(len(HEDGE_PORTFOLIO)) if self.hedge else None
        self.trust_radius, self.trust_fail_tol, self.trust_success_tol = trust_radius, trust_fail_tol, \
            trust_success_tol

    def _pick(self, ctx: SamplingContext, pool: np.ndarray, sampled: np.ndarray, k: int,
              best: float | None, known: np.ndarray | None = None) -> list[int]:
        if self.hyper_draws:
            models = hyperparameter_draws(ctx.model, self.hyper_draws, ctx.rng)
            if len(models) > 1:
                return integrated_greedy_batch(models, pool, sampled, k, "ucb", self.beta, best, ctx.sign)
        if self.thompson:
            return thompson_picks(ctx.model, pool, sampled, k, ctx.rng, sign=ctx.sign, beta=self.beta)
        if self._hedge is None:
            return super()._pick(ctx, pool, sampled, k, best, known)
        self._hedge.update(lambda X: ctx.sign * ctx.model.predict_latent(X, return_var=False)[0])
        portfolio = [(kind, self.beta if beta is None else beta) for kind, beta in HEDGE_PORTFOLIO]
        nominees = [greedy_batch(ctx.model, pool, sampled, 1, [kind], self.universe_size, beta, best, ctx.rng,
                                 sign=ctx.sign)[0] for kind, beta in portfolio]
        kind, beta = portfolio[self._hedge.choose(pool[nominees], ctx.rng)]
        return greedy_batch(ctx.model, pool, sampled, k, [kind] * k, self.universe_size, beta, best, ctx.rng,
                            sign=ctx.sign)

    def _restrict(self, ctx: SamplingContext, pool: np.ndarray, k: int) -> np.ndarray:
        if self.trust_radius is None or len(ctx.y_done) == 0:
            return pool
        d = ctx.space.n_positions
        radius = replay_radius(ctx.y_done, ctx.n_initial, d, initial_radius(float(self.trust_radius), d),
                               int(self.trust_fail_tol), int(self.trust_success_tol))
        inside = within_radius(pool, ctx.X_done[int(np.argmax(ctx.y_done))], radius)
        # a region with fewer fresh candidates than the batch needs is spent: the whole pool then
        return inside if inside.shape[0] >= k else pool

    def model_ranks(self, model) -> bool:
        """Whether ``model``'s leave-one-out predictions rank its training data with tau >= ``min_loo_tau``."""
        loo = getattr(model, "loo_latent_mean_", None)
        if loo is None or loo.size < 5:
            return True
        from scipy.stats import kendalltau  # imported where used: scipy.stats is slow to import

        tau = kendalltau(loo, model.target_.forward(model.y_train_))[0]
        return bool(np.isfinite(tau) and tau >= self.min_loo_tau)

    def propose(self, ctx: SamplingContext, k: int) -> np.ndarray:
        if k > 1 and self.batch_beta is not None and self.batch_beta != self.beta:
            batch = copy.copy(self)  # the same sampler (its hedge gains included) with the batch's weight
            batch.beta, batch.batch_beta = self.batch_beta, None
            return batch.propose(ctx, k)
        if ctx.model is not None and not self.model_ranks(ctx.model):
            return RegularizedEvolutionSampler(population_size=min(20, len(ctx.y_done))).propose(ctx, k)
        if ctx.model is None or self.local_every is None or len(ctx.y_done) == 0:
            return super().propose(ctx, k)
        # the proposals' places among the model-steered trials decide which of them are local steps
        first = len(ctx.y_done) + len(ctx.X_pending) - ctx.n_initial
        n_local = sum(1 for i in range(first, first + k) if (i + 1) % int(self.local_every) == 0)
        local = local_steps(ctx, n_local)
        if len(local) == k:
            return local
        rest = replace(ctx, X_pending=np.vstack([ctx.X_pending.reshape(-1, local.shape[1]), local]))
        return np.vstack([local, super().propose(rest, k - len(local))])


def _non_negative(name: str, value) -> float:
    """``value`` as a float, if it is a finite number >= 0 (a UCB weight)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not (np.isfinite(number) and number >= 0):
        raise ValueError(f"{name} must be a non-negative number or None, got {value!r}")
    return number


def local_steps(ctx: SamplingContext, k: int) -> np.ndarray:
    """Up to ``k`` unseen one-position neighbours of the best measured architecture (among the candidates, when the
    study has a candidate set), those with the highest posterior mean first."""
    d = ctx.space.n_positions
    if k <= 0 or len(ctx.y_done) == 0:
        return np.zeros((0, d), dtype=int)
    incumbent = ctx.X_done[int(np.argmax(ctx.y_done))]
    near = ctx.candidates.neighbours(incumbent) if ctx.candidates is not None else ctx.space.neighbours(incumbent)
    near = near[~ctx.seen_networks().mask(near)] if len(near) else near
    if len(near) == 0:
        return np.zeros((0, d), dtype=int)
    mean = ctx.sign * ctx.model.predict_latent(near)[0]
    return near[np.argsort(-mean, kind="stable")[:k]]


class RegularizedEvolutionSampler(Sampler):
    """Aging evolution: a tournament of ``sample_size`` among the ``population_size`` newest done trials, the winner
    mutated in one position; random architectures until the population is full."""

    name = "rea"

    def __init__(self, population_size: int = 20, sample_size: int = 5) -> None:
        self.population_size, self.sample_size = population_size, sample_size

    def propose(self, ctx: SamplingContext, k: int) -> np.ndarray:
        n = len(ctx.y_done)
        if n < self.population_size:
            return _fresh_random(ctx, k)
        population = np.arange(n - self.population_size, n)  # the newest: older ones have aged out
        seen = ctx.seen_networks()
        out: list[tuple] = []
        for _ in range(50 * k):
            contestants = ctx.rng.choice(population, min(self.sample_size, population.size), replace=False)
            parent = ctx.X_done[contestants[np.argmax(ctx.y_done[contestants])]]
            child = tuple(int(v) for v in ctx.space.mutate(parent, random_state=ctx.rng))
            if ctx.candidates is not None and child not in ctx.candidates:
                nearest = ctx.candidates.nearest_unseen(np.array(child), ctx.rng, seen)
                if nearest is None:
                    break
                child = tuple(int(v) for v in nearest)
            if child not in seen:
                seen.add(child)
                out.append(child)
                if len(out) == k:
                    break
        if len(out) < k:
            out += [tuple(x) for x in _fresh_random(ctx, k - len(out), avoid=seen)]
        return np.array(out, dtype=int).reshape(-1, ctx.space.n_positions)


class LocalSearchSampler(Sampler):
    """Hill climbing: evaluate every neighbour of the current architecture, move to the best if it improves, else
    restart from a random architecture (White, Nolen & Savani, UAI 2021)."""

    name = "ls"

    def __init__(self) -> None:
        self.current: tuple | None = None

    def propose(self, ctx: SamplingContext, k: int) -> np.ndarray:
        done = {tuple(int(v) for v in x): float(y) for x, y in zip(ctx.X_done, ctx.y_done)}
        seen = ctx.seen_networks()
        tried = {tuple(int(v) for v in x) for x in ctx.X_seen}
        for _ in range(ctx.space.n_positions * 4 + 10):
            if self.current is None or self.current not in done:
                if self.current is not None and self.current in tried:
                    return _fresh_random(ctx, k)  # the start point is still running: fill the batch randomly
                start = _fresh_random(ctx, 1)
                if start.shape[0] == 0:
                    return start
                self.current = tuple(int(v) for v in start[0])
                return np.vstack([start, _fresh_random(ctx, k - 1, avoid={self.current})]) if k > 1 else start
            around = (ctx.space.neighbours(np.array(self.current)) if ctx.candidates is None
                      else ctx.candidates.neighbours(np.array(self.current)))
            neighbours = [tuple(int(v) for v in x) for x in around]
            unseen = [x for x, was in zip(neighbours, seen.mask(around)) if not was] if neighbours else []
            if unseen:
                order = ctx.rng.permutation(len(unseen))[:k]
                picks = [unseen[i] for i in order]
                if len(picks) < k:
                    picks += [tuple(x) for x in _fresh_random(ctx, k - len(picks), avoid=set(picks))]
                return np.array(picks, dtype=int)
            if any(x not in done and x in tried for x in neighbours):
                return _fresh_random(ctx, k)  # neighbours still pending
            # a neighbour seen only as another vector of a tried network has no value of its own: passed over
            neighbours = [x for x in neighbours if x in done]
            if not neighbours:  # a candidate with no candidate one position away: a local optimum of its own
                self.current = None
                continue
            best = max(neighbours, key=lambda x: done[x])
            self.current = best if done[best] > done[self.current] else None
        return _fresh_random(ctx, k)


SAMPLERS = {cls.name: cls for cls in (AutoSampler, MISampler, RandomSampler, UCBSampler, EISampler, BlendSampler,
                                      RegularizedEvolutionSampler, LocalSearchSampler)}


def make_sampler(name: str | Sampler, pool_size: int | None = None) -> Sampler:
    """A sampler by name (``auto``, ``mi``, ``random``, ``ucb``, ``ei``, ``mi+ucb``, ``rea``, ``ls``), or the
    instance given.

    ``pool_size`` sets the candidate pool of a model-based sampler made by name (an instance keeps its own).
    """
    if isinstance(name, Sampler):
        return name
    if name not in SAMPLERS:
        raise ValueError(f"unknown strategy {name!r}; expected one of {sorted(SAMPLERS)}")
    cls = SAMPLERS[name]
    if pool_size is not None and issubclass(cls, GPSampler):
        return cls(pool_size=pool_size)
    return cls()
