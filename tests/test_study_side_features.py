"""A study whose model takes side features (zero-cost proxies): first trials by their vote, stored, resumed."""

import numpy as np
import pytest

from gpnas.gp.side_features import SideFeatures
from gpnas.sampling.zero_shot import ZeroShotSampler
from gpnas.study import Study, load_study


def _setup(small_space, signs=(1.0, 0.0)):
    X = small_space.enumerate()
    rng = np.random.default_rng(0)
    quality = rng.standard_normal(len(X))
    values = {tuple(x): 70 + 3 * q for x, q in zip(X, quality)}
    proxy = quality + 0.3 * rng.standard_normal(len(X))  # a noisy zero-cost view of the quality
    side = SideFeatures(X, np.column_stack([proxy, rng.standard_normal(len(X))]), ["proxy", "noise"], signs)
    return X, values, proxy, side


def test_the_vote_is_the_signed_mean_normal_score(small_space):
    X, _, proxy, side = _setup(small_space, signs=(-1.0, 0.0))
    # only the signed column votes: its order reversed
    np.testing.assert_array_equal(np.argsort(side.vote(), kind="stable"), np.argsort(-proxy, kind="stable"))
    assert SideFeatures(X, side.values, side.names).vote() is None  # no signs: no vote


def test_first_trials_follow_the_vote_then_the_model(small_space, tmp_path):
    X, values, proxy, side = _setup(small_space)
    storage = f"sqlite:///{tmp_path / 's.db'}"
    study = Study(small_space, seed=0, n_initial=5, side_features=side, storage=storage, study_name="s",
                  heartbeat_interval=None)
    study.optimize(lambda arch: values[tuple(small_space.from_dict_arch(arch))], budget=12)
    first = [tuple(t.arch) for t in sorted(study.trials, key=lambda t: t.number)[:5]]
    assert first == [tuple(x) for x in X[np.argsort(-side.vote(), kind="stable")[:5]]]
    assert study.model_.side_features is side and study.model_.group_names_[-1] == "side"
    # stored with the study: a resumed study has the same lookup, signs included, without being given it
    resumed = load_study("s", storage=storage)
    np.testing.assert_array_equal(resumed.side_features.values, side.values)
    np.testing.assert_array_equal(resumed.side_features.signs, side.signs)
    resumed.optimize(lambda arch: values[tuple(small_space.from_dict_arch(arch))], budget=15)
    assert len(resumed.trials_in("done")) == 15


def test_only_architectures_with_side_features_are_proposed(small_space):
    X, values, _, side = _setup(small_space)
    half = SideFeatures(X[::2], side.values[::2], side.names, side.signs)
    study = Study(small_space, seed=1, n_initial=3, side_features=half, heartbeat_interval=None)
    study.optimize(lambda arch: values[tuple(small_space.from_dict_arch(arch))], budget=10)
    assert half.covers(np.array([t.arch for t in study.trials])).all()
    with pytest.raises(ValueError, match="needs side features; 2 have none"):
        Study(small_space, side_features=half, candidates=X[:4], heartbeat_interval=None)


def test_zero_shot_sampler_needs_signs(small_space):
    X, _, _, side = _setup(small_space, signs=(0.0, 0.0))
    with pytest.raises(ValueError, match="signs"):
        ZeroShotSampler(side)


def test_a_multi_objective_study_starts_at_random_not_by_the_vote(small_space):
    """A vote ranks one quantity; a front needs a spread start (signed latencies of other devices would start an
    accuracy-against-latency study at its slowest cells)."""
    X, values, _, side = _setup(small_space)
    study = Study(small_space, seed=0, n_initial=5, side_features=side, directions=["maximize", "minimize"],
                  heartbeat_interval=None)
    def objectives(arch):
        x = small_space.from_dict_arch(arch)
        return [values[tuple(x)], float(np.sum(x))]
    study.optimize(objectives, budget=8)
    first = {tuple(t.arch) for t in sorted(study.trials, key=lambda t: t.number)[:5]}
    assert first != {tuple(x) for x in X[np.argsort(-side.vote(), kind="stable")[:5]]}
    assert study.summary()["initial_by"] == "random"
    single = Study(small_space, seed=0, n_initial=5, side_features=side, heartbeat_interval=None)
    assert single.summary()["initial_by"] == "proxies"
