"""The acquisition integrated over hyperparameter draws, and AutoSampler(hyper_draws=...)."""

import numpy as np
import pytest

from gpnas import create_study
from gpnas.gp.hyperparameter_draws import hyperparameter_draws
from gpnas.sampling.integrated import integrated_greedy_batch
from gpnas.sampling.mutual_information import greedy_batch
from gpnas.sampling.strategies import AutoSampler, SamplingContext
from additive import additive_study  # tests/sampling is on sys.path (pytest prepends a test file's folder)


def _setup(n=10):
    space, X, y, model = additive_study(n)
    pool = np.array([x for x in space.enumerate() if not any((x == X).all(axis=1))])
    return space, X, y, model, pool


@pytest.mark.parametrize("kind", ["ucb", "ei"])
def test_one_model_picks_what_the_greedy_batch_picks(kind):
    _, X, y, model, pool = _setup()
    best = float(model.target_.forward(np.array([y.max()]))[0])
    expected = greedy_batch(model, pool, X, 4, [kind] * 4, beta=3.0, best=best)
    assert integrated_greedy_batch([model], pool, X, 4, kind, beta=3.0, best=best) == expected
    assert integrated_greedy_batch([model, model], pool, X, 4, kind, beta=3.0, best=best) == expected


def test_the_first_pick_maximises_the_mean_ucb_over_the_models():
    _, X, y, model, pool = _setup()
    models = hyperparameter_draws(model, 4, random_state=0)
    # brute force: each model's own posterior (predict_latent conditions on its training data, which is X)
    scores = np.mean([m.predict_latent(pool)[0] + 3.0 * np.sqrt(m.predict_latent(pool)[1]) for m in models], axis=0)
    assert integrated_greedy_batch(models, pool, X, 1, "ucb", beta=3.0)[0] == int(np.argmax(scores))


def test_a_batch_has_distinct_picks_and_bad_arguments_are_refused():
    _, X, y, model, pool = _setup()
    models = hyperparameter_draws(model, 3, random_state=0)
    picks = integrated_greedy_batch(models, pool, X, 6, "ucb", beta=2.0)
    assert len(set(picks)) == 6
    with pytest.raises(ValueError, match="ucb"):
        integrated_greedy_batch(models, pool, X, 2, "mi")
    with pytest.raises(ValueError, match="at least one"):
        integrated_greedy_batch([], pool, X, 2)


def test_auto_sampler_with_draws_integrates_and_differs_from_one_estimate():
    space, X, y, model = additive_study(8)

    def context(seed):
        return SamplingContext(space, X, y, X[:0], X[:0], np.random.default_rng(seed), model)
    integrated = AutoSampler(hyper_draws=6).propose(context(0), 1)
    np.testing.assert_array_equal(integrated, AutoSampler(hyper_draws=6).propose(context(0), 1))  # seeded
    # the pick is the integrated acquisition's over the whole (small) space's unseen architectures
    pool = np.array([x for x in space.enumerate() if not any((x == X).all(axis=1))])
    models = hyperparameter_draws(model, 6, np.random.default_rng(0))
    best = float(model.target_.forward(np.array([y.max()]))[0])
    np.testing.assert_array_equal(integrated[0], pool[integrated_greedy_batch(models, pool, X, 1, "ucb", 3.0, best)[0]])
    # and here the draws change the pick: the option is not the single estimate under another name
    assert not np.array_equal(integrated, AutoSampler().propose(context(0), 1))


@pytest.mark.parametrize("kwargs", [{"hyper_draws": -1}, {"hyper_draws": 1.5}, {"hyper_draws": None},
                                    {"hyper_draws": "4"}, {"hyper_draws": 4, "thompson": True},
                                    {"hyper_draws": 4, "hedge": True}])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(ValueError, match="hyper_draws"):
        AutoSampler(**kwargs)


def test_a_study_with_draws_runs_and_stores_the_setting():
    space, *_ = additive_study(2)
    study = create_study(space, sampler=AutoSampler(hyper_draws=3), n_initial=4, seed=0)
    study.optimize(lambda arch: float(sum(arch.values())), n_trials=8)
    archs = {tuple(t.arch) for t in study.trials}
    assert len(archs) == 8
    assert study.sampler.get_params()["hyper_draws"] == 3
