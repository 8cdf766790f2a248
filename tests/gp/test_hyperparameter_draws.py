"""Hyperparameter draws: the sampled function is the fit's own, its draws make models conditioned on the same data."""

import numpy as np
import pytest

from gpnas import GPNASRegressor
from gpnas.gp.hyperparameter_draws import hyperparameter_draws
from gpnas.gp.likelihood import log_marginal_likelihood
from gpnas.gp.kernel import GroupedRBFKernel
from gpnas.space import make_space


def _data(n=30, seed=0):
    space = make_space([(f"p{i}", list(range(3)), "op" if i < 2 else "size") for i in range(4)])
    rng = np.random.default_rng(seed)
    X = space.sample(n, random_state=rng)
    y = X @ np.array([1.0, -2.0, 0.5, 1.5]) + 0.5 * (X[:, 0] == X[:, 1]) + 0.1 * rng.standard_normal(n)
    return space, X, y


@pytest.mark.parametrize("hyperprior_scale", [None, 1.0])
def test_the_log_density_is_the_evidence_the_fit_maximised(hyperprior_scale):
    space, X, y = _data()
    model = GPNASRegressor(space=space, hyperprior_scale=hyperprior_scale, random_state=0).fit(X, y)
    log_density, estimate, bounds = model.hyperparameter_posterior()
    h = model.kernel_.n_groups
    assert estimate.shape == (2 * h + 2,) and bounds.shape == (2 * h + 2, 2)
    # at the estimate, without the prior, it is the evidence the fitted model reports (an independent formula: the
    # whitened factors of the fit against a fresh factorisation here)
    prior = 0.0
    if hyperprior_scale is not None:
        centred = estimate[: 2 * h]  # the default centre (1, 1) is 0 in log units
        prior = -0.5 * centred @ centred / hyperprior_scale**2
    assert log_density(estimate) - prior == pytest.approx(model.log_marginal_likelihood_value_, abs=1e-6)
    # the estimate is a maximum: no small step along one coordinate inside the box climbs
    for j in range(estimate.size):
        for step in (-0.05, 0.05):
            moved = estimate.copy()
            moved[j] += step
            if bounds[j, 0] <= moved[j] <= bounds[j, 1]:
                assert log_density(moved) <= log_density(estimate) + 1e-4
    outside = estimate.copy()
    outside[0] = bounds[0, 1] + 1.0
    assert log_density(outside) == -np.inf


def test_the_log_density_matches_the_likelihood_module_away_from_the_estimate():
    space, X, y = _data()
    model = GPNASRegressor(space=space, random_state=0, hyperprior_scale=None).fit(X, y)  # the evidence alone
    log_density, estimate, bounds = model.hyperparameter_posterior()
    params = np.clip(estimate + 0.3, bounds[:, 0], bounds[:, 1])
    Z = model.Z_train_
    r = model.target_.forward(y) - model.design(Z) @ model.prior_mean_
    expected = log_marginal_likelihood(params, GroupedRBFKernel(model.kernel_.group_columns),
                                       model.kernel_.distances(Z), r,
                                       fixed_cov=model.prior_cov_[0, 0] * np.ones((len(y), len(y))),
                                       weight_gram=Z @ Z.T)
    assert log_density(params) == pytest.approx(expected, rel=1e-10)


def test_each_draw_is_a_model_with_the_drawn_hyperparameters_on_the_same_data():
    space, X, y = _data()
    model = GPNASRegressor(space=space, hyperprior_scale=1.0, random_state=0).fit(X, y)
    draws = hyperparameter_draws(model, 6, random_state=0)
    assert len(draws) == 6
    log_density, _, bounds = model.hyperparameter_posterior()
    thetas = []
    for m in draws:
        theta = np.concatenate([m.kernel_.theta, [np.log(m.noise_), np.log(m.prior_cov_[1, 1])]])
        assert np.all(theta >= bounds[:, 0] - 1e-9) and np.all(theta <= bounds[:, 1] + 1e-9)
        assert np.isfinite(log_density(theta))
        np.testing.assert_array_equal(m.X_train_, X)
        assert m.encoding_ == model.encoding_
        mean, var = m.predict_latent(space.sample(20, random_state=1))
        assert np.all(np.isfinite(mean)) and np.all(var > 0)
        thetas.append(theta)
    assert len({tuple(np.round(t, 12)) for t in thetas}) > 1  # the chain moves
    again = hyperparameter_draws(model, 6, random_state=0)
    np.testing.assert_allclose([m.noise_ for m in again], [m.noise_ for m in draws])


def test_draws_concentrate_where_the_data_pin_the_hyperparameters():
    # with 200 points the posterior of the noise is narrow: every draw lies near the estimate, whereas at 12 points
    # the draws spread further (the check below can fail if the chain ignored the data)
    space, X, y = _data(200, seed=1)
    big = GPNASRegressor(space=space, random_state=0).fit(X, y)
    small = GPNASRegressor(space=space, random_state=0).fit(X[:12], y[:12])

    def spread(model):
        return np.std([np.log(m.noise_) for m in hyperparameter_draws(model, 12, random_state=2)])
    assert spread(big) < 0.5 * spread(small)


def test_fits_that_are_not_an_evidence_estimate_give_the_model_itself():
    space, X, y = _data()
    alternating = GPNASRegressor(space=space, estimation="alternating", random_state=0).fit(X, y)
    assert alternating.hyperparameter_posterior() is None
    assert hyperparameter_draws(alternating, 4) == [alternating]
    with_prior = GPNASRegressor(space=space, random_state=0).fit(X, y, prior=alternating)
    assert with_prior.hyperparameter_posterior() is None
    evidence = GPNASRegressor(space=space, random_state=0).fit(X, y)
    assert hyperparameter_draws(evidence, 0) == [evidence]
    with pytest.raises(ValueError, match="n_draws"):
        hyperparameter_draws(evidence, -1)
