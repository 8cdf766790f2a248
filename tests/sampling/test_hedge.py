"""GP-Hedge (``AutoSampler(hedge=True)``): gains from the posterior mean at every arm's nominee, softmax choice."""

import numpy as np
import pytest

from gpnas.sampling.hedge import PORTFOLIO, Hedge
from gpnas.sampling.strategies import AutoSampler, SamplingContext
from additive import additive_study  # tests/sampling is on sys.path (pytest prepends a test file's folder)


def test_gains_add_the_new_model_s_mean_at_every_nominee_and_the_choice_is_a_softmax():
    hedge = Hedge(3, eta=2.0)
    np.testing.assert_allclose(hedge.probabilities(), [1 / 3] * 3)
    hedge.update(lambda X: X.sum(axis=1))  # nothing nominated yet: no change
    assert np.all(hedge.gains == 0)
    nominees = np.array([[1, 0], [0, 0], [2, 1]])
    hedge.choose(nominees, np.random.default_rng(0))
    hedge.update(lambda X: X.sum(axis=1).astype(float))
    np.testing.assert_allclose(hedge.gains, [1.0, 0.0, 3.0])
    expected = np.exp(2.0 * np.array([1.0, 0.0, 3.0]))
    np.testing.assert_allclose(hedge.probabilities(), expected / expected.sum())
    hedge.update(lambda X: X.sum(axis=1))  # each nominee counts once
    np.testing.assert_allclose(hedge.gains, [1.0, 0.0, 3.0])
    # the choice follows the probabilities
    counts = np.bincount([hedge.choose(nominees, np.random.default_rng(s)) for s in range(2000)], minlength=3)
    np.testing.assert_allclose(counts / 2000, hedge.probabilities(), atol=0.03)
    with pytest.raises(ValueError, match="eta"):
        Hedge(3, eta=0.0)


def test_auto_sampler_with_hedge_proposes_with_one_of_its_arms_and_learns_gains():
    space, X, y, model = additive_study(20)
    sampler = AutoSampler(hedge=True)
    ctx = SamplingContext(space, X, y, X[:0], X[:0], np.random.default_rng(1), model)
    batch = sampler.propose(ctx, 3)
    assert batch.shape == (3, 5) and not {tuple(x) for x in batch} & {tuple(x) for x in X}
    assert sampler._hedge.last.shape == (len(PORTFOLIO), 5)
    last = sampler._hedge.last.copy()
    sampler.propose(ctx, 1)  # the same model again: the gains are its means at the last nominees
    np.testing.assert_allclose(sampler._hedge.gains, model.predict_latent(last, return_var=False)[0])
    with pytest.raises(ValueError, match="thompson or hedge"):
        AutoSampler(thompson=True, hedge=True)
    assert AutoSampler(hedge=True).get_params()["hedge"] is True
