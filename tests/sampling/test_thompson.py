"""Thompson sampling (``AutoSampler(thompson=True)``): the posterior it draws from, and its picks."""

import numpy as np

from gpnas.sampling.mutual_information import CovarianceFunction
from gpnas.sampling.strategies import AutoSampler, SamplingContext
from gpnas.sampling.thompson import condition_on_pick, posterior_covariance, thompson_picks
from additive import WEIGHTS, additive_study  # tests/sampling is on sys.path (pytest prepends a test file's folder)


def _fitted(n=25, seed=0):
    return additive_study(n, seed=seed)


def test_the_posterior_covariance_has_the_model_s_predictive_variances_on_its_diagonal():
    space, X, y, model = _fitted()
    pool = space.sample(40, random_state=1)
    cov = CovarianceFunction(model)
    # conditioned on the model's own training data it is the model's posterior: predict_latent computes its
    # variances another way (the fitted factor and the linear mean's posterior, Theorems 1-2)
    posterior = posterior_covariance(cov, cov.encode(pool), cov.encode(X))
    np.testing.assert_allclose(np.diag(posterior), model.predict_latent(pool)[1], rtol=1e-6, atol=1e-9)
    assert np.all(np.linalg.eigvalsh(posterior) > -1e-8)
    # and it matches GPML eq. 2.24 written out with a dense solve
    C_ss, C_sp, C_pp = cov(cov.encode(X)), cov(cov.encode(X), cov.encode(pool)), cov(cov.encode(pool), cov.encode(pool))
    np.testing.assert_allclose(posterior, C_pp - C_sp.T @ np.linalg.solve(C_ss, C_sp), atol=1e-9)


def test_conditioning_on_a_pick_equals_the_posterior_with_the_pick_among_the_measured():
    space, X, y, model = _fitted()
    pool = space.sample(30, random_state=2)
    cov = CovarianceFunction(model)
    Z, Z_X = cov.encode(pool), cov.encode(X)
    updated = condition_on_pick(posterior_covariance(cov, Z, Z_X), 7, model.noise_)
    np.testing.assert_allclose(updated, posterior_covariance(cov, Z, np.vstack([Z_X, Z[7:8]])), atol=1e-9)


def test_picks_are_distinct_pool_members_and_follow_the_posterior():
    space, X, y, model = _fitted()
    seen = {tuple(x) for x in X}
    pool = np.array([x for x in space.enumerate() if tuple(x) not in seen])
    picks = thompson_picks(model, pool, X, 6, np.random.default_rng(0))
    assert len(set(picks)) == 6 and all(0 <= p < len(pool) for p in picks)
    # the objective's best architecture: the posterior is sure of it, so nearly every draw's argmax lands on it
    best = int(np.argmax(pool @ WEIGHTS))
    firsts = [thompson_picks(model, pool, X, 1, np.random.default_rng(s))[0] for s in range(20)]
    assert firsts.count(best) >= 15
    # minimising the same measurements turns the draws round: the worst architecture instead
    worst = int(np.argmin(pool @ WEIGHTS))
    lows = [thompson_picks(model, pool, X, 1, np.random.default_rng(s), sign=-1.0)[0] for s in range(20)]
    assert lows.count(worst) >= 15


def test_auto_sampler_with_thompson_proposes_fresh_architectures():
    space, X, y, model = _fitted()
    ctx = SamplingContext(space, X, y, X[:0], X[:0], np.random.default_rng(3), model)
    batch = AutoSampler(thompson=True).propose(ctx, 4)
    assert batch.shape == (4, 5) and len({tuple(x) for x in batch}) == 4
    assert not {tuple(x) for x in batch} & {tuple(x) for x in X}
