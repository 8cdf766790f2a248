"""Maximum a posteriori hyperparameters: ``GPNASRegressor(hyperprior_scale=...)``'s log-normal prior."""

import numpy as np
import pytest
from scipy.stats import norm

from gpnas import GPNASRegressor


def _fit(space, X, y, **params):
    return GPNASRegressor(space=space, features=["choices"], random_state=0, **params).fit(X, y)


def test_log_prior_is_a_normal_density_of_the_logs_with_its_gradient():
    model = GPNASRegressor(hyperprior_scale=0.7, hyperprior_center=(0.5, 2.0))
    h, n_params = 3, 2 * 3 + 2  # three groups, the noise and the weights' variance
    log_prior = model._log_hyperprior(h, n_params)
    mean = np.r_[np.full(h, np.log(0.5)), np.full(h, np.log(2.0))]
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=n_params), rng.normal(size=n_params)
    # differences cancel the normalising constant: an independent computation with scipy's normal log density
    expected = norm.logpdf(a[:2 * h], mean, 0.7).sum() - norm.logpdf(b[:2 * h], mean, 0.7).sum()
    assert log_prior(a)[0] - log_prior(b)[0] == pytest.approx(expected, rel=1e-12)
    grad = log_prior(a)[1]
    step = 1e-6
    numeric = [(log_prior(a + step * e)[0] - log_prior(a - step * e)[0]) / (2 * step) for e in np.eye(n_params)]
    np.testing.assert_allclose(grad, numeric, atol=1e-7)
    assert np.all(grad[2 * h:] == 0.0)  # no prior on the noise or the weights' variance
    assert log_prior(np.r_[mean, 5.0, -3.0])[0] == 0.0  # the maximum sits at the centre


def test_without_a_scale_the_prior_is_flat():
    log_prior = GPNASRegressor(hyperprior_scale=None)._log_hyperprior(2, 5)
    value, grad = log_prior(np.arange(5.0))
    assert value == 0.0 and np.all(grad == 0.0)


def test_a_tight_prior_pins_the_hyperparameters_at_its_centre(small_space, synthetic_data):
    X, y = synthetic_data
    model = _fit(small_space, X, y, hyperprior_scale=1e-4, hyperprior_center=(0.7, 1.8))
    np.testing.assert_allclose(model.kernel_.sigma, 0.7, rtol=1e-2)
    np.testing.assert_allclose(model.kernel_.lengthscale, 1.8, rtol=1e-2)


def test_a_very_wide_prior_gives_the_maximum_likelihood_estimate(small_space, synthetic_data):
    X, y = synthetic_data
    ml = _fit(small_space, X, y, hyperprior_scale=None)
    wide = _fit(small_space, X, y, hyperprior_scale=1e4)
    assert wide.log_marginal_likelihood_value_ == pytest.approx(ml.log_marginal_likelihood_value_, abs=1e-4)
    # groups the evidence keeps on are estimated alike (switched-off ones sit anywhere on a flat ridge near 0)
    on = ml.kernel_.sigma > 0.01
    assert on.any()
    np.testing.assert_allclose(wide.kernel_.sigma[on], ml.kernel_.sigma[on], rtol=1e-3)
    np.testing.assert_allclose(wide.kernel_.lengthscale[on], ml.kernel_.lengthscale[on], rtol=1e-3)


def test_map_trades_evidence_for_prior_and_not_more(small_space, synthetic_data):
    """The MAP estimate has less evidence than the ML one, but more evidence plus log prior (each model's
    evidence as it reports it, the prior computed here with scipy)."""
    X, y = synthetic_data
    X, y = X[:12], y[:12]
    ml = _fit(small_space, X, y, hyperprior_scale=None)
    mapped = _fit(small_space, X, y, hyperprior_scale=0.5)

    def log_prior(model):
        logs = np.log(np.r_[model.kernel_.sigma, model.kernel_.lengthscale])
        return norm.logpdf(logs, 0.0, 0.5).sum()

    assert mapped.log_marginal_likelihood_value_ <= ml.log_marginal_likelihood_value_ + 1e-6
    assert (mapped.log_marginal_likelihood_value_ + log_prior(mapped)
            >= ml.log_marginal_likelihood_value_ + log_prior(ml) - 1e-6)
    assert not np.allclose(mapped.kernel_.sigma, ml.kernel_.sigma)  # the prior did move the estimate


def test_with_few_points_the_prior_keeps_groups_switched_on(small_space):
    rng = np.random.default_rng(3)
    X = small_space.sample(10, random_state=rng)
    y = 0.5 * X[:, 0] + 0.8 * X[:, 4] + 0.05 * rng.standard_normal(10)
    ml = _fit(small_space, X, y, hyperprior_scale=None)
    lower = GPNASRegressor().sigma_bounds[0]
    assert ml.kernel_.sigma.min() < 10 * lower  # maximum likelihood switches a group off here
    mapped = _fit(small_space, X, y, hyperprior_scale=1.0)
    assert mapped.kernel_.sigma.min() > 0.05


@pytest.mark.parametrize("params, message", [
    ({"hyperprior_scale": 0.0}, "hyperprior_scale must be a positive number"),
    ({"hyperprior_scale": float("nan")}, "hyperprior_scale must be a positive number"),
    ({"hyperprior_scale": 1.0, "hyperprior_center": (1.0,)}, "hyperprior_center must be two positive numbers"),
    ({"hyperprior_scale": 1.0, "hyperprior_center": (1.0, -2.0)}, "hyperprior_center must be two positive numbers"),
    ({"hyperprior_scale": "wide"}, "hyperprior_scale must be a positive number"),
    ({"hyperprior_center": ("a", "b")}, "hyperprior_center must be two positive numbers"),
    ({"hyperprior_scale": 1.0, "hyperprior_center": ("a", "b")}, "hyperprior_center must be two positive numbers"),
    ({"hyperprior_scale": [1.0, 2.0]}, "hyperprior_scale must be a positive number"),
])
@pytest.mark.parametrize("optimize", [True, False])
def test_bad_prior_settings_are_clear_errors(small_space, synthetic_data, params, message, optimize):
    # rejected even where the hyperparameters are kept as given: a setting that is no prior is a mistake either way
    X, y = synthetic_data
    with pytest.raises(ValueError, match=message):
        _fit(small_space, X, y, optimize=optimize, **params)


def test_the_predictor_fits_under_the_prior_by_default_and_older_model_files_load_as_they_were_fitted(
        tmp_path, small_space, synthetic_data):
    """The default is the prior of scale 1 (the same fit as asking for it); a model file written before the setting
    existed (no ``hyperprior_scale`` among its parameters) was a maximum-likelihood fit, and loads as one."""
    import json
    import zipfile

    from gpnas import load_model, save_model

    X, y = synthetic_data
    default = _fit(small_space, X, y)
    assert default.hyperprior_scale == 1.0
    asked = _fit(small_space, X, y, hyperprior_scale=1.0)
    np.testing.assert_array_equal(default.kernel_.theta, asked.kernel_.theta)
    ml = _fit(small_space, X, y, hyperprior_scale=None)
    assert not np.allclose(default.kernel_.theta, ml.kernel_.theta)  # the default is not maximum likelihood
    path = save_model(ml, tmp_path / "ml.npz")
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    meta = json.loads(str(arrays["meta"]))
    del meta["params"]["hyperprior_scale"]
    arrays["meta"] = np.array(json.dumps(meta))
    old = tmp_path / "old.npz"
    np.savez(old, **arrays)
    assert zipfile.is_zipfile(old)
    loaded = load_model(old)
    assert loaded.hyperprior_scale is None
    np.testing.assert_allclose(loaded.predict(X), ml.predict(X), rtol=1e-12)
    # refitted, it fits as it was made: by maximum likelihood
    np.testing.assert_allclose(GPNASRegressor(**loaded.get_params()).fit(X, y).kernel_.theta, ml.kernel_.theta)
