"""Searching a finite candidate set (a table that lists part of its space): every strategy proposes members only."""

import numpy as np
import pytest

from gpnas import GPNASRegressor
from gpnas.sampling.candidates import CandidateSet
from gpnas.sampling.pool import candidate_pool
from gpnas.sampling.strategies import AutoSampler, SamplingContext, UCBSampler
from gpnas.space import make_space
from gpnas.space.networks import SeenNetworks
from gpnas.study import Study, load_study


@pytest.fixture
def big_space():
    return make_space([(f"p{i}", list(range(5)), "a" if i % 2 else "b") for i in range(10)])  # 9.8e6 architectures


def test_nearest_unseen_is_the_hamming_nearest_by_brute_force():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 3, size=(40, 6))
    cands = CandidateSet(X)
    seen = {tuple(x) for x in cands.X[:10]}
    for _ in range(20):
        arch = rng.integers(0, 3, size=6)
        got = cands.nearest_unseen(arch, rng, seen)
        distances = [int((x != arch).sum()) for x in cands.X if tuple(x) not in seen]
        assert tuple(got) not in seen and int((got != arch).sum()) == min(distances)
    assert cands.nearest_unseen(X[0], rng, {tuple(x) for x in cands.X}) is None
    assert all(int((n != cands.X[0]).sum()) == 1 for n in cands.neighbours(cands.X[0]))


@pytest.mark.parametrize("strategy", ["auto", "random", "rea", "ls", "mi", "ucb"])
def test_every_strategy_proposes_candidates_only(big_space, strategy):
    rng = np.random.default_rng(1)
    X = big_space.sample(300, random_state=rng)
    members = {tuple(x) for x in X}
    weights = rng.standard_normal(big_space.n_positions)
    study = Study(big_space, sampler=strategy, seed=0, n_initial=5, candidates=X, heartbeat_interval=None)
    study.optimize(lambda arch: float(big_space.from_dict_arch(arch) @ weights), budget=40)
    archs = [tuple(t.arch) for t in study.trials]
    assert len(archs) == 40 and len(set(archs)) == 40 and set(archs) <= members


def test_model_search_beats_random_within_candidates(big_space):
    rng = np.random.default_rng(2)
    X = big_space.sample(500, random_state=rng)
    weights = rng.standard_normal(big_space.n_positions)
    values = X @ weights
    rank_of = {tuple(x): int((values > v).sum()) for x, v in zip(X, values)}  # 0 = the best candidate

    def best_rank(strategy, seed):
        study = Study(big_space, sampler=strategy, seed=seed, n_initial=5, candidates=X, heartbeat_interval=None)
        study.optimize(lambda arch: float(big_space.from_dict_arch(arch) @ weights), budget=30)
        return min(rank_of[tuple(t.arch)] for t in study.trials)

    auto = [best_rank("auto", s) for s in range(3)]
    random = [best_rank("random", s) for s in range(3)]
    assert np.median(auto) <= 2 and np.median(auto) < np.median(random)


def test_candidates_are_stored_and_restored(big_space, tmp_path):
    X = big_space.sample(50, random_state=3)
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study(big_space, sampler="random", seed=0, candidates=X, storage=url, study_name="c",
                  heartbeat_interval=None)
    study.optimize(lambda arch: 1.0, budget=5)
    resumed = load_study("c", url)
    assert resumed.candidates is not None and resumed.candidates.fingerprint() == CandidateSet(X).fingerprint()
    resumed.optimize(lambda arch: 1.0, budget=50)
    assert {tuple(t.arch) for t in resumed.trials} == {tuple(x) for x in X}  # exactly the candidates, exhausted


def test_membership_of_many_rows_equals_the_set_s_own_lookup():
    space = make_space([(f"p{i}", list(range(6)), "op") for i in range(5)])
    rng = np.random.default_rng(4)
    cands = CandidateSet(rng.integers(0, 4, size=(300, 5)))
    queries = np.vstack([cands.X[:50], space.sample(2000, random_state=rng)])  # members, and rows of the space
    expected = np.array([tuple(q) in cands for q in queries])
    np.testing.assert_array_equal(cands.contains(queries, space), expected)
    assert expected[:50].all() and not expected.all()
    # a space too large for int64 row keys (2^64 architectures): the row-by-row lookup answers
    huge = make_space([(f"p{i}", [0, 1], "op") for i in range(64)])
    assert huge.row_keys(np.zeros((1, 64), dtype=int)) is None
    wide = CandidateSet(np.array([[0] * 64, [1] * 64]))
    np.testing.assert_array_equal(wide.contains(np.array([[1] * 64, [0] * 63 + [1]]), huge), [True, False])


def test_a_large_candidate_set_s_pool_holds_its_unseen_members_among_the_incumbents_moves(big_space):
    rng = np.random.default_rng(5)
    parents = big_space.sample(3, random_state=rng)
    near = np.vstack([big_space.neighbours(p) for p in parents[:2]])
    cands = CandidateSet(np.vstack([big_space.sample(3000, random_state=rng), near[::2]]))
    seen = SeenNetworks(big_space, np.vstack([parents, near[:4:2]]))  # two member neighbours already measured
    pool = candidate_pool(big_space, seen, 500, np.random.default_rng(0), parents=parents, n_mutations=50,
                          n_crossovers=25, candidates=cands, candidate_moves=True)
    members = {tuple(x) for x in cands.X}
    rows = {tuple(x) for x in pool}
    assert len(rows) == len(pool) and rows <= members and not rows & {tuple(x) for x in near[:4:2]}
    assert {tuple(x) for x in near[4::2]} <= rows  # every unseen member neighbour of the two best parents
    plain = candidate_pool(big_space, seen, 500, np.random.default_rng(0), parents=parents, n_mutations=50,
                           n_crossovers=25, candidates=cands)
    assert len(plain) == 500 and {tuple(x) for x in plain} <= members  # without moves: uniform draws only


def test_the_pick_in_a_large_candidate_set_beats_every_unseen_member_neighbour_of_the_incumbents(big_space):
    """With moves, the pool holds the incumbents' member neighbours, so a single UCB pick (a small weight, so that
    the incumbents' neighbourhood scores high) is at least as high as the best of them; from uniform draws alone it
    need not be."""
    rng = np.random.default_rng(6)
    weights = rng.standard_normal((big_space.n_positions, 5))
    X = big_space.sample(30, random_state=rng)
    # a table of uniform draws, the measured rows and half of their neighbours
    cands = CandidateSet(np.vstack([big_space.sample(6000, random_state=rng), X,
                                    np.vstack([big_space.neighbours(x) for x in X])[::2]]))
    y = weights[np.arange(big_space.n_positions), X].sum(axis=1)
    model = GPNASRegressor(space=big_space, random_state=0).fit(X, y)
    sampler = UCBSampler(pool_size=20, beta=0.5)
    score = sampler._score(model, {"ucb"}, None)
    near = np.vstack([cands.neighbours(x) for x in X[np.argsort(-y)[:2]]])
    near = near[~np.isin(near @ (5 ** np.arange(10)), X @ (5 ** np.arange(10)))]
    assert len(near)
    picks = {}
    for moves in (True, False):
        sampler.candidate_moves = moves
        ctx = SamplingContext(big_space, X, y, X[:0], X[:0], np.random.default_rng(0), model, candidates=cands)
        pick = sampler.propose(ctx, 1)
        assert tuple(pick[0]) in cands and not any((pick[0] == x).all() for x in X)
        picks[moves] = score(pick)[0]
    assert picks[True] >= score(near).max() - 1e-9
    assert picks[True] >= picks[False]
    assert picks[False] < score(near).max()  # this setting tells the two apart: twenty uniform draws fall short


@pytest.mark.parametrize("sampler", ["auto", "ucb", "mi"])
def test_a_study_stored_before_candidate_moves_existed_resumes_without_them(big_space, tmp_path, sampler):
    from stored_rows import edit_settings  # tests/ is on sys.path

    url = f"sqlite:///{tmp_path / 'old.db'}"
    Study(big_space, sampler=sampler, seed=0, storage=url, study_name="old", heartbeat_interval=None)
    assert load_study("old", url).sampler.candidate_moves is True  # stored with the study
    edit_settings(tmp_path / "old.db", "old", lambda stored: stored["sampler_params"].pop("candidate_moves"))
    assert load_study("old", url).sampler.candidate_moves is False


def test_candidate_moves_change_nothing_where_the_pool_holds_every_candidate(big_space):
    """A set no larger than the pool is scored whole either way (the CVPR, Accel-NASBench and Macro tables): the same
    proposals, trial by trial."""
    X = big_space.sample(400, random_state=7)
    weights = np.random.default_rng(7).standard_normal(big_space.n_positions)
    archs = {}
    for moves in (True, False):
        study = Study(big_space, sampler=AutoSampler(candidate_moves=moves), seed=0, n_initial=5, candidates=X,
                      heartbeat_interval=None)
        study.optimize(lambda arch: float(big_space.from_dict_arch(arch) @ weights), budget=20)
        archs[moves] = [tuple(t.arch) for t in study.trials]
    assert archs[True] == archs[False]
