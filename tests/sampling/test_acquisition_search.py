"""Moves of the acquisition search, checked against brute force on small spaces."""

import numpy as np

from gpnas import GPNASRegressor
from gpnas.sampling.acquisition_search import all_neighbours, crossover, local_search, mutations
from gpnas.sampling.mutual_information import greedy_batch
from gpnas.sampling.pool import candidate_pool
from gpnas.sampling.strategies import AutoSampler, SamplingContext, UCBSampler
from gpnas.space import make_space
from gpnas.io.tables import accel_nasbench_space


def test_all_neighbours_equals_the_space_s_neighbours_row_by_row(small_space):
    X = small_space.sample(6, random_state=0)
    rows, owner = all_neighbours(small_space, X)
    for i, x in enumerate(X):
        mine = {tuple(r) for r in rows[owner == i]}
        assert mine == {tuple(r) for r in small_space.neighbours(x)}
        assert len(mine) == int(np.sum(small_space.n_options - 1)) == int(np.sum(owner == i))


def test_mutations_change_exactly_one_position_and_stay_in_the_space(small_space):
    rng = np.random.default_rng(1)
    parents = small_space.sample(3, random_state=rng)
    children = mutations(small_space, parents, 500, rng)
    small_space.validate(children)
    changed = [min((c != p).sum() for p in parents) for c in children]
    assert set(changed) == {1}
    # every position gets mutated, and every other value of a position appears
    assert len({int(np.flatnonzero(c != parents[np.argmin((c != parents).sum(1))])[0]) for c in children}) == 5


def test_crossover_takes_each_position_from_one_of_its_two_parents():
    rng = np.random.default_rng(2)
    parents = np.array([[0, 0, 0, 0], [1, 1, 1, 1]])
    children = crossover(parents, 300, rng)
    assert set(np.unique(children)) == {0, 1}
    assert 0.35 < children.mean() < 0.65  # uniform crossover (pairs of the same parent give that parent)
    assert crossover(parents[:1], 5, rng).shape == (0, 4)


def test_local_search_ends_in_local_optima_and_finds_a_separable_maximum(small_space):
    weights = np.random.default_rng(3).standard_normal((small_space.n_positions, 3))

    def score(X):
        return weights[np.arange(X.shape[1]), X].sum(axis=1)

    visited = local_search(small_space, score, small_space.sample(4, random_state=0))
    brute = small_space.enumerate()
    assert np.isclose(score(visited).max(), score(brute).max())  # separable: one climb reaches the optimum
    best = visited[np.argmax(score(visited))]
    assert np.all(score(small_space.neighbours(best)) <= score(best[None, :])[0])


def test_local_search_stops_at_a_local_optimum_of_a_rugged_score():
    space = make_space([(f"p{i}", list(range(4)), "op") for i in range(4)])
    table = np.random.default_rng(5).standard_normal(space.size)
    index = {tuple(x): i for i, x in enumerate(space.enumerate())}

    def score(X):
        return table[[index[tuple(x)] for x in X]]

    visited = local_search(space, score, space.sample(3, random_state=1), max_steps=50)
    for start in space.sample(3, random_state=1):
        path = local_search(space, score, start[None, :], max_steps=50)
        end = path[np.argmax(score(path))]
        assert np.all(score(space.neighbours(end)) < score(end[None, :])[0])
        assert tuple(end) in {tuple(v) for v in visited}


def test_local_search_within_allowed_rows_climbs_as_a_brute_force_climb_over_them():
    """Moves limited to a subset (a candidate set): every visited row is allowed, and each start's climb follows the
    steepest allowed neighbour, checked by a brute-force climb written out here."""
    space = make_space([(f"p{i}", list(range(4)), "op") for i in range(4)])
    rng = np.random.default_rng(6)
    table = rng.standard_normal(space.size)
    every = space.enumerate()
    index = {tuple(x): i for i, x in enumerate(every)}
    members = {tuple(x) for x in every[rng.random(space.size) < 0.5]}

    def score(X):
        return table[[index[tuple(x)] for x in X]]

    def allowed(X):
        return np.array([tuple(x) in members for x in X], dtype=bool)

    starts = [x for x in every if tuple(x) in members][:5]
    for start in starts:
        path = local_search(space, score, start[None, :], max_steps=50, allowed=allowed)
        assert all(tuple(x) in members for x in path)
        current = tuple(start)
        climbed = {current}
        while True:  # brute force: the best allowed neighbour while it improves
            near = [tuple(x) for x in space.neighbours(np.array(current)) if tuple(x) in members]
            if not near:
                break
            best = max(near, key=lambda t: table[index[t]])
            if table[index[best]] <= table[index[current]] + 1e-12:
                break
            current = best
            climbed.add(current)
        assert {tuple(x) for x in path} == climbed


def _huge_ctx(n=40, seed=0):
    space = accel_nasbench_space()
    rng = np.random.default_rng(seed)
    X = space.sample(n, random_state=rng)
    w = rng.standard_normal(space.n_positions)
    y = X @ w + 0.1 * rng.standard_normal(n)
    model = GPNASRegressor(space=space, random_state=0).fit(X, y)
    return SamplingContext(space, X, y, X[:0], X[:0], rng, model), w


def test_local_search_raises_the_acquisition_above_the_random_pool_in_a_huge_space():
    ctx, _ = _huge_ctx()
    with_search = UCBSampler(pool_size=2000)
    without = UCBSampler(pool_size=2000, local_starts=0)
    score = with_search._score(ctx.model, {"ucb"}, None)
    best_with = score(with_search.propose(ctx, 1))[0]
    ctx.rng = np.random.default_rng(0)
    best_without = score(without.propose(ctx, 1))[0]
    assert best_with > best_without
    # the pick is a local maximum of the acquisition
    pick = with_search.propose(SamplingContext(**{**vars(ctx), "rng": np.random.default_rng(0)}), 1)[0]
    assert np.all(score(ctx.space.neighbours(pick)) <= score(pick[None, :])[0] + 1e-9)


def test_auto_falls_back_to_evolution_when_the_model_cannot_rank():
    space = make_space([(f"p{i}", list(range(3)), "op") for i in range(6)])
    rng = np.random.default_rng(0)
    X = space.sample(40, random_state=rng)
    structured = X @ np.arange(1, 7) + 0.1 * rng.standard_normal(40)
    noise = rng.standard_normal(40)
    sampler = AutoSampler()
    good = GPNASRegressor(space=space, random_state=0).fit(X, structured)
    bad = GPNASRegressor(space=space, random_state=0).fit(X, noise)
    assert sampler.model_ranks(good) and not sampler.model_ranks(bad)
    ctx = SamplingContext(space, X, noise, X[:0], X[:0], np.random.default_rng(1), bad)
    batch = sampler.propose(ctx, 6)
    newest = X[-20:]  # regularized evolution mutates tournament winners among the 20 newest
    assert all(min((x != p).sum() for p in newest) == 1 for x in batch)


def test_a_single_pick_reuses_the_local_search_s_scores_and_picks_what_the_greedy_batch_picks():
    """With a local search, the pool's acquisition is already known; a single pick takes its maximiser, which must be
    the greedy batch's pick over the same pool (and the known scores must be the acquisition of the rows)."""
    ctx, _ = _huge_ctx()
    sampler = UCBSampler(pool_size=2000)
    pool = candidate_pool(ctx.space, ctx.X_seen, 2000, np.random.default_rng(5))
    best = float(ctx.y_done.max())
    rows, known = sampler._refine_pool(ctx, pool, ctx.X_done[:5], 1, best)
    assert len(np.unique(rows, axis=0)) == len(rows) and len(rows) > len(pool)
    np.testing.assert_allclose(known, sampler._score(ctx.model, {"ucb"}, best)(rows), rtol=1e-12)

    class WithoutReuse(UCBSampler):
        def _refine_pool(self, *args):
            return super()._refine_pool(*args)[0], None

    def seeded(seed):
        return SamplingContext(**{**vars(ctx), "rng": np.random.default_rng(seed)})

    for seed in range(3):
        fast, slow = sampler.propose(seeded(seed), 1), WithoutReuse(pool_size=2000).propose(seeded(seed), 1)
        np.testing.assert_array_equal(fast, slow)


def test_a_reused_score_breaks_exact_ties_by_pool_order_and_nothing_else():
    """Exact ties scored in different parts of the pool differ by rounding: the first of them is taken, as one pass
    over the pool takes it; a real difference, however small against the scores' scale, still decides."""
    ctx, _ = _huge_ctx()
    sampler = UCBSampler(pool_size=2000)
    pool = ctx.space.sample(20, random_state=3)
    known = np.linspace(0.0, 1.0, 20)
    known[[4, 11]] = 2.5, 2.5 + 4e-16
    assert sampler._pick(ctx, pool, ctx.model.X_train_, 1, None, known) == [4]
    known[11] = 2.5 + 1e-9
    assert sampler._pick(ctx, pool, ctx.model.X_train_, 1, None, known) == [11]
    # with a pending architecture the known scores do not apply: the greedy batch conditions on it
    pending = np.vstack([ctx.model.X_train_, pool[11:12]])
    expected = greedy_batch(ctx.model, pool, pending, 1, ["ucb"], beta=sampler.beta, sign=ctx.sign)
    assert sampler._pick(ctx, pool, pending, 1, None, known) == expected
