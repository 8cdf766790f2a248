"""Search across training budgets: which architecture to evaluate next, and for how long.

A multi-budget study's space is the architecture space plus one last position, ``budget`` (see
:func:`gpnas.study.multi_budget.budget_space`), so that the store, the executors and resuming work unchanged.  Each round:

1. Fit :class:`~gpnas.gp.multi_budget.MultiBudgetGP` on every evaluation, at whatever budget.
2. **Which architecture**: the one with the highest upper confidence bound ``mean + beta std`` of its value at the
   *target* budget (the largest), among those not yet evaluated there: the best long-trained network is the goal.
3. **Which budget**: the one whose evaluation teaches the most about that target value per unit of cost.  Observing
   the architecture at budget ``b`` shrinks the variance of its target value from ``v_T`` to
   ``v_T - c_b^2 / (v_b + noise)`` (``c_b`` the posterior covariance of the two, ``v_b`` the variance at ``b``); the
   information gained is ``0.5 log`` of the ratio, and the budget maximising ``gain / cost(b)`` wins.  A new
   architecture therefore gets a cheap training first; once it has been seen short, the short budget teaches little
   and a promising one is trained long.  This is the information-per-cost rule of multi-fidelity Bayesian
   optimisation (Kandasamy et al. 2016; Swersky et al. 2013's "cost-sensitive" entropy search), with UCB choosing
   the architecture.
4. Batches: each pick is added as a pending evaluation that returned its predicted mean (the variance shrinks, the
   mean stays), then the next is chosen, never the same architecture twice in one batch (its long training waits for
   its short result); running trials of other workers count the same way.

The first ``n_initial`` evaluations are random architectures at the cheapest budget.
"""

from __future__ import annotations

import numpy as np

from gpnas.gp.multi_budget import MAX_BUDGET_CORRELATION, MultiBudgetGP, check_max_correlation
from gpnas.sampling.pool import candidate_pool
from gpnas.sampling.strategies import Sampler, SamplingContext, _fresh_random
from gpnas.space import SearchSpace

#: Candidates whose upper bound is recomputed after each pick of a batch (conditioning only lowers upper bounds).
_BATCH_SHORTLIST = 512
#: Architectures per block when the pool's posterior is computed (bounds memory at a few hundred MB).
PREDICT_CHUNK = 2048


def arch_part(space: SearchSpace) -> SearchSpace:
    """The architecture space of a budget space (every position but the last, ``budget``)."""
    if space.choices[-1].name != "budget":
        raise ValueError(f"space {space.name!r} has no budget position; build it with gpnas.study.multi_budget.budget_space")
    return SearchSpace(space.choices[:-1], name=space.name, cell=space.cell)


class MultiBudgetSampler(Sampler):
    """Chooses (architecture, budget) pairs for a multi-budget study (see the module docstring).

    Parameters
    ----------
    budgets:
        The budgets (e.g. epochs) the study may evaluate at, in the order of the space's ``budget`` values.
    costs:
        The cost of one evaluation at each budget (default: the budget itself, as epochs cost in proportion).
    beta:
        Exploration weight of the upper confidence bound at the target budget (3, as the default ``auto``).
    n_initial:
        Random architectures at the cheapest budget before the model chooses.
    pool_size:
        Candidate architectures per round (the whole space when smaller).
    max_correlation:
        Bound of the model's correlation between the cheapest and the target budget
        (:class:`~gpnas.gp.multi_budget.MultiBudgetGP`).
    """

    name = "multi-budget"
    uses_model = False  # it fits its own multi-budget model

    def __init__(self, budgets, costs=None, beta: float = 3.0, n_initial: int = 10, pool_size: int = 20000,
                 max_correlation: float = MAX_BUDGET_CORRELATION) -> None:
        self.budgets = [float(b) for b in budgets]
        if len(self.budgets) < 1 or any(b <= 0 for b in self.budgets):
            raise ValueError("budgets must be positive numbers")
        self.costs = [float(c) for c in costs] if costs is not None else list(self.budgets)
        if len(self.costs) != len(self.budgets) or any(c <= 0 for c in self.costs):
            raise ValueError("costs need one positive number per budget")
        self.beta = float(beta)
        self.n_initial = int(n_initial)
        self.pool_size = int(pool_size)
        self.max_correlation = check_max_correlation(max_correlation)
        self.model_: MultiBudgetGP | None = None

    @property
    def target_index(self) -> int:
        return int(np.argmax(self.budgets))

    def fit(self, space: SearchSpace, X: np.ndarray, y: np.ndarray) -> MultiBudgetGP:
        """Fit the multi-budget GP on rows of the budget space ``X`` with values ``y`` (larger is better)."""
        from gpnas.gp.regressor import GPNASRegressor

        archs = arch_part(space)
        encoder = GPNASRegressor(space=archs, encoding="onehot").make_encoder(archs.n_options, archs.groups)
        model = MultiBudgetGP(encoder, self.budgets, self.max_correlation)
        warm = self.model_ is not None and len(self.model_.theta_) == len(model.theta_)
        if warm:
            model.theta_ = self.model_.theta_.copy()  # warm start: the hyperparameters move little between rounds
        budgets = np.asarray(self.budgets)[X[:, -1]]
        # cheap evaluations make n grow fast: past 50, the default start is retried only every tenth round
        restart = not warm or len(y) < 50 or len(y) % 10 == 0
        self.model_ = model.fit(X[:, :-1], budgets, y, restart=restart)
        return self.model_

    def propose(self, ctx: SamplingContext, k: int) -> np.ndarray:
        archs = arch_part(ctx.space)
        cheapest = int(np.argmin(self.costs))
        if len(ctx.X_done) < max(2, self.n_initial):
            fresh = _fresh_random(SamplingContext(archs, ctx.X_done[:, :-1], ctx.y_done, ctx.X_pending[:, :-1],
                                                  ctx.X_failed[:, :-1], ctx.rng), k)
            return np.column_stack([fresh, np.full(len(fresh), cheapest)]).astype(int) if len(fresh) else fresh
        model = self.fit(ctx.space, ctx.X_done, ctx.y_done)
        if len(ctx.X_pending):
            model = model.fantasize(ctx.X_pending[:, :-1], np.asarray(self.budgets)[ctx.X_pending[:, -1]])
        target = self.target_index
        taken = {tuple(x) for x in np.vstack([ctx.X_done, ctx.X_pending, ctx.X_failed])}
        at_target = np.array([x[:-1] for x in taken if x[-1] == target], dtype=int).reshape(-1, archs.n_positions)
        # parents of the pool's mutations: the evaluated architectures the model rates best at the target budget
        # (raw values would mix budgets, and short trainings score lower)
        evaluated = np.unique(ctx.X_done[:, :-1], axis=0)
        parents = evaluated[np.argsort(-self.target_mean(model, evaluated))[:10]]
        pool = candidate_pool(archs, at_target, self.pool_size, ctx.rng, parents=parents, n_mutations=2000,
                              n_crossovers=500)
        if len(pool) == 0:
            return np.empty((0, ctx.space.n_positions), dtype=int)
        ucb = np.concatenate([self._ucb(model, pool[i:i + PREDICT_CHUNK]) for i in range(0, len(pool), PREDICT_CHUNK)])
        shortlist = pool[np.argsort(-ucb)[:_BATCH_SHORTLIST]]
        picks: list[np.ndarray] = []
        for _ in range(k):
            if len(shortlist) == 0:
                break
            ucb = self._ucb(model, shortlist)
            best = int(np.argmax(ucb))
            arch = shortlist[best]
            budget = self.choose_budget(model, arch, taken)
            picks.append(np.append(arch, budget))
            taken.add(tuple(picks[-1]))
            model = model.fantasize(arch[None], [self.budgets[budget]])
            shortlist = np.delete(shortlist, best, axis=0)
        return np.array(picks, dtype=int).reshape(-1, ctx.space.n_positions)

    def target_mean(self, model: MultiBudgetGP, X: np.ndarray) -> np.ndarray:
        """Posterior mean at the target budget of architectures ``X`` (model units), in blocks."""
        target = self.budgets[self.target_index]
        return np.concatenate([model.predict_latent(X[i:i + PREDICT_CHUNK], target)[0] for i in range(0, len(X), PREDICT_CHUNK)])

    def _ucb(self, model: MultiBudgetGP, X: np.ndarray) -> np.ndarray:
        mean, var = model.predict_latent(X, self.budgets[self.target_index])
        return mean + self.beta * np.sqrt(var)

    def choose_budget(self, model: MultiBudgetGP, arch: np.ndarray, taken: set) -> int:
        """The budget index whose evaluation of ``arch`` gains the most information about its target value per cost
        (evaluations done or pending are excluded; the target is always allowed)."""
        _, cov = model.joint_latent(arch[None], self.budgets)
        cov = cov[0]
        target = self.target_index
        v_target = max(cov[target, target], 1e-12)
        best, best_score = target, -np.inf
        for j, cost in enumerate(self.costs):
            if j != target and tuple(np.append(arch, j)) in taken:
                continue
            noise = float(model.noise_at(model.coordinate([self.budgets[j]]))[0])
            after = v_target - cov[target, j] ** 2 / (cov[j, j] + noise)
            gain = 0.5 * np.log(v_target / max(after, 1e-12))
            if gain / cost > best_score:
                best, best_score = j, gain / cost
        return best

    def get_params(self) -> dict:
        return {"budgets": self.budgets, "costs": self.costs, "beta": self.beta, "n_initial": self.n_initial,
                "pool_size": self.pool_size, "max_correlation": self.max_correlation}
