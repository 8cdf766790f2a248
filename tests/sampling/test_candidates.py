"""Searching a finite candidate set (a table that lists part of its space): every strategy proposes members only."""

import numpy as np
import pytest

from gpnas.sampling.candidates import CandidateSet
from gpnas.space import make_space
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
