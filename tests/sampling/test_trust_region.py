"""The Hamming trust region of ``AutoSampler(trust_radius=...)``: its radius replayed from the measurements, and
proposals that stay inside it."""

import numpy as np
import pytest

from gpnas.sampling.strategies import AutoSampler, SamplingContext
from gpnas.sampling.trust_region import initial_radius, replay_radius, within_radius
from gpnas.space import make_space
from additive import additive_study  # tests/sampling is on sys.path (pytest prepends a test file's folder)


def _replay_by_hand(y, start, d, initial, fail_tol, success_tol):
    """The state machine written out once more, trial by trial, to check the replay against."""
    radius, wins, losses = initial, 0, 0
    best = max(y[:start]) if start else float("-inf")
    for value in y[start:]:
        improved = value > best
        best = max(best, value)
        wins, losses = (wins + 1, 0) if improved else (0, losses + 1)
        if wins == success_tol:
            radius, wins = min(d, radius + 1), 0
        if losses == fail_tol:
            radius, losses = radius - 1, 0
            radius = initial if radius == 0 else radius
    return radius


def _additive_study(n: int):
    """Six 4-way positions, an additive objective."""
    return additive_study(n, n_options=4, weights=np.arange(1.0, 7.0))


def test_initial_radius_is_a_ceiling_of_the_fraction():
    assert initial_radius(0.5, 6) == 3 and initial_radius(0.5, 5) == 3 and initial_radius(1.0, 8) == 8
    assert initial_radius(0.01, 6) == 1
    for bad in (0.0, 1.5, float("nan")):
        with pytest.raises(ValueError, match="trust_radius"):
            initial_radius(bad, 6)


def test_failures_shrink_successes_grow_and_an_empty_region_restarts():
    # after the 2 start trials: 3 failures (3 -> 2), 3 more (2 -> 1), 3 more (1 -> 0: back to 3)
    y = [5.0, 4.0] + [1.0] * 3
    assert replay_radius(np.array(y), 2, 6, 3, 3, 3) == 2
    assert replay_radius(np.array([5.0, 4.0] + [1.0] * 6), 2, 6, 3, 3, 3) == 1
    assert replay_radius(np.array([5.0, 4.0] + [1.0] * 9), 2, 6, 3, 3, 3) == 3
    # three improvements in a row grow it, never past the number of positions
    assert replay_radius(np.array([0.0, 1.0, 2.0, 3.0]), 1, 6, 3, 3, 3) == 4
    assert replay_radius(np.arange(20.0), 1, 6, 3, 3, 3) == 6
    # a success resets the failures: two failures, a success, two failures do not shrink it
    assert replay_radius(np.array([5.0, 1.0, 1.0, 6.0, 1.0, 1.0]), 1, 6, 3, 3, 3) == 3
    # the start trials count as neither: they only set the best to beat
    assert replay_radius(np.array([1.0, 1.0, 1.0, 1.0]), 4, 6, 3, 3, 3) == 3


@pytest.mark.parametrize("seed", range(5))
def test_the_replay_matches_the_state_machine_on_random_histories(seed):
    rng = np.random.default_rng(seed)
    y = list(rng.standard_normal(60).cumsum() * rng.integers(0, 2, 60))
    for start, fail_tol, success_tol in ((0, 3, 3), (10, 2, 1), (5, 5, 2)):
        assert replay_radius(np.array(y), start, 6, 3, fail_tol, success_tol) == \
            _replay_by_hand(y, start, 6, 3, fail_tol, success_tol)
    with pytest.raises(ValueError, match="tolerances"):
        replay_radius(np.array(y), 0, 6, 3, 0, 3)


def test_within_radius_keeps_rows_at_most_radius_positions_away():
    pool = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [1, 1, 1]])
    assert within_radius(pool, np.array([0, 0, 0]), 1).tolist() == [[0, 0, 0], [1, 0, 0]]
    assert within_radius(pool[:0], np.array([0, 0, 0]), 1).shape == (0, 3)


def test_auto_sampler_proposes_inside_the_region_and_falls_back_when_it_is_spent():
    space, X, y, model = _additive_study(30)
    incumbent = X[np.argmax(y)]
    # ten start trials, then twenty: the replayed radius decides how far the proposals may go
    radius = replay_radius(y, 10, 6, 3, 3, 3)
    sampler = AutoSampler(trust_radius=0.5)
    assert sampler.model_ranks(model)
    ctx = SamplingContext(space, X, y, X[:0], X[:0], np.random.default_rng(1), model, n_initial=10)
    batch = sampler.propose(ctx, 4)
    assert len(batch) == 4 and all((x != incumbent).sum() <= radius for x in batch)
    # without the region the same model's UCB picks go further than radius 1 allows here
    free = AutoSampler().propose(SamplingContext(space, X, y, X[:0], X[:0], np.random.default_rng(1), model), 4)
    tight = AutoSampler(trust_radius=1 / 6, trust_fail_tol=1000)
    ctx_tight = SamplingContext(space, X, y, X[:0], X[:0], np.random.default_rng(1), model, n_initial=10)
    near = tight.propose(ctx_tight, 4)
    assert all((x != incumbent).sum() <= 1 for x in near)
    assert any((x != incumbent).sum() > 1 for x in free)
    # a batch larger than the region's fresh candidates (18 neighbours at radius 1) takes the whole pool
    wide = tight.propose(ctx_tight, 25)
    assert len(wide) == 25 and any((x != incumbent).sum() > 1 for x in wide)


def test_a_stored_study_resumes_with_its_trust_region(tmp_path):
    from gpnas import create_study, load_study

    space = make_space([(f"p{i}", list(range(3)), "op") for i in range(4)])
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = create_study(space, sampler=AutoSampler(trust_radius=0.5, trust_fail_tol=2), seed=0, storage=url,
                         study_name="tr", n_initial=4)
    study.optimize(lambda arch: float(sum(arch.values())), budget=10)
    params = load_study("tr", url).sampler.get_params()
    assert params["trust_radius"] == 0.5 and params["trust_fail_tol"] == 2


def test_local_steps_take_the_incumbent_s_unseen_neighbours_by_posterior_mean():
    from gpnas.sampling.strategies import local_steps

    space, X, y, model = additive_study(25, seed=2, noise=0.05)
    ctx = SamplingContext(space, X, y, X[:0], X[:0], np.random.default_rng(0), model)
    steps = local_steps(ctx, 3)
    incumbent = X[np.argmax(y)]
    seen = {tuple(x) for x in X}
    unseen = np.array([x for x in space.neighbours(incumbent) if tuple(x) not in seen])
    brute = unseen[np.argsort(-model.predict_latent(unseen)[0], kind="stable")[:3]]
    assert np.array_equal(steps, brute)
    # a minimised objective: y_done is oriented (larger is better), the model predicts the measured values
    low = SamplingContext(space, X, -y, X[:0], X[:0], np.random.default_rng(0), model, sign=-1.0)
    lowest = X[np.argmin(y)]
    unseen_low = np.array([x for x in space.neighbours(lowest) if tuple(x) not in seen])
    brute_low = unseen_low[np.argsort(model.predict_latent(unseen_low)[0], kind="stable")[:3]]
    assert np.array_equal(local_steps(low, 3), brute_low)


def test_every_local_every_th_model_steered_proposal_is_a_local_step():
    from gpnas.sampling.strategies import local_steps

    space, X, y, model = _additive_study(14)
    sampler = AutoSampler(local_every=2)
    # 14 done, 10 of them the start: this batch holds model-steered proposals 4, 5, 6, 7, and the 2nd and 4th of
    # them (places 5 and 7, counting from 0: every second) are local steps, put first
    ctx = SamplingContext(space, X, y, X[:0], X[:0], np.random.default_rng(1), model, n_initial=10)
    batch = sampler.propose(ctx, 4)
    assert np.array_equal(batch[:2], local_steps(ctx, 2))
    assert len({tuple(x) for x in batch}) == 4 and not any(tuple(x) in {tuple(s) for s in X} for x in batch)
    # a proposal alone at place 5 is a local step
    one = sampler.propose(SamplingContext(**{**vars(ctx), "n_initial": 9}), 1)
    assert np.array_equal(one, local_steps(ctx, 1))
    with pytest.raises(ValueError, match="local_every"):
        AutoSampler(local_every=0)


@pytest.mark.parametrize("params, message", [({"trust_radius": 0.0}, "trust_radius"),
                                             ({"trust_radius": 2.0}, "trust_radius"),
                                             ({"trust_radius": 0.5, "trust_fail_tol": 0}, "tolerances")])
def test_a_trust_region_that_is_none_is_refused_when_the_sampler_is_made(params, message):
    with pytest.raises(ValueError, match=message):
        AutoSampler(**params)
