import numpy as np
import pytest

from gpnas import GPNASRegressor
from gpnas.sampling.strategies import SAMPLERS, SamplingContext, make_sampler


def _ctx(space, n_done=20, n_pending=3, model=False):
    rng = np.random.default_rng(0)
    allx = space.enumerate()
    order = rng.permutation(len(allx))
    X_done, X_pending = allx[order[:n_done]], allx[order[n_done:n_done + n_pending]]
    y = X_done.sum(axis=1).astype(float) + 0.1 * rng.standard_normal(n_done)
    fitted = GPNASRegressor(space=space, random_state=0).fit(X_done, y) if model else None
    return SamplingContext(space, X_done, y, X_pending, np.zeros((0, space.n_positions), int), rng, fitted)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_every_sampler_proposes_fresh_distinct_valid_architectures(small_space, name):
    sampler = make_sampler(name)
    ctx = _ctx(small_space, model=sampler.uses_model)
    batch = sampler.propose(ctx, 5)
    assert batch.shape == (5, small_space.n_positions)
    small_space.validate(batch)
    seen = {tuple(x) for x in ctx.X_seen}
    assert all(tuple(x) not in seen for x in batch)
    assert len({tuple(x) for x in batch}) == 5


def test_samplers_take_exactly_what_is_left_when_the_space_runs_out(small_space):
    ctx = _ctx(small_space, n_done=small_space.size - 2, n_pending=0, model=True)
    seen = {tuple(x) for x in ctx.X_seen}
    left = {tuple(x) for x in small_space.enumerate()} - seen
    for name in SAMPLERS:
        batch = make_sampler(name).propose(ctx, 5)
        assert {tuple(x) for x in batch} == left, name  # the two unseen architectures, nothing else


def test_regularized_evolution_mutates_tournament_winners(small_space):
    sampler = make_sampler("rea")
    ctx = _ctx(small_space, n_done=30)
    batch = sampler.propose(ctx, 10)
    population = ctx.X_done[-sampler.population_size:]
    # every child is one mutation away from a member of the population
    assert all(min((x != p).sum() for p in population) == 1 for x in batch)


def test_local_search_climbs_neighbours(small_space):
    sampler = make_sampler("ls")
    ctx = _ctx(small_space, n_done=0, n_pending=0)
    start = sampler.propose(ctx, 1)
    ctx.X_done, ctx.y_done = start, np.array([0.0])
    batch = sampler.propose(ctx, 4)
    assert np.all((batch != start[0]).sum(axis=1) == 1)


def test_unknown_strategy():
    with pytest.raises(ValueError, match="unknown strategy"):
        make_sampler("bogus")
