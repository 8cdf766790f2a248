import warnings

import numpy as np
import pytest
from scipy.stats import kendalltau

from gpnas import DataError, GPNASRegressor, JitterWarning, NotFittedError, load_model, save_model
from gpnas.space.encoding import Encoder
from gpnas.exceptions import ArchitectureError, ModelFileError
from gpnas.gp.kernel import GroupedRBFKernel

FIXED = dict(optimize=False, target_transform="none", features=["choices"], sigma=[0.8, 1.1, 0.6],
             lengthscale=[1.2, 0.9, 1.5], noise=0.05)


def _combined_kernel_gp(model, Xtr, ytr, Xte):
    """GPML eq. 2.42 route: a GP with mean Phi mu_w and kernel k + phi^T Sigma_w phi, conditioned directly."""
    enc = Encoder(model.encoder_.n_options, model.encoder_.groups, model.encoding_)
    kern = GroupedRBFKernel(enc.group_columns, model.kernel_.sigma, model.kernel_.lengthscale)
    Ztr, Zte = enc.transform(Xtr), enc.transform(Xte)
    Ptr = np.hstack([np.ones((len(Ztr), 1)), Ztr])
    Pte = np.hstack([np.ones((len(Zte), 1)), Zte])
    S = model.prior_cov_
    Ctt = kern(Ztr) + Ptr @ S @ Ptr.T + model.noise_ * np.eye(len(Ztr))
    Cst = kern(Zte, Ztr) + Pte @ S @ Ptr.T
    Css = kern(Zte) + Pte @ S @ Pte.T
    mean = Pte @ model.prior_mean_ + Cst @ np.linalg.solve(Ctt, ytr - Ptr @ model.prior_mean_)
    cov = Css - Cst @ np.linalg.solve(Ctt, Cst.T)
    return mean, np.sqrt(np.diag(cov))


def test_full_predictor_equals_zero_mean_gp_with_combined_kernel(small_space, synthetic_data):
    X, y = synthetic_data
    model = GPNASRegressor(space=small_space, **FIXED).fit(X, y)
    Xte = small_space.sample(25, random_state=9)
    mean, std = model.predict(Xte, return_std=True)
    ref_mean, ref_std = _combined_kernel_gp(model, X, y, Xte)
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(std, ref_std, rtol=1e-6, atol=1e-8)


def test_full_predictor_with_a_full_prior_covariance(small_space, synthetic_data):
    """A prior taken from another model (a dense Sigma_w) goes through the general, not the lookup, path."""
    X, y = synthetic_data
    source = GPNASRegressor(space=small_space, **FIXED).fit(X[:20], y[:20])
    model = GPNASRegressor(space=small_space, **FIXED).fit(X[20:], y[20:], prior=source)
    assert model._isotropic_prior is None
    Xte = small_space.sample(25, random_state=9)
    mean, std = model.predict(Xte, return_std=True)
    ref_mean, ref_std = _combined_kernel_gp(model, X[20:], y[20:], Xte)
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(std, ref_std, rtol=1e-6, atol=1e-8)


def test_linear_predictor_is_eq22_with_theorem3_variance(small_space, synthetic_data):
    X, y = synthetic_data
    model = GPNASRegressor(space=small_space, predictor="linear", **FIXED).fit(X, y)
    Xte = small_space.sample(10, random_state=10)
    Phi = np.hstack([np.ones((10, 1)), model.encoder_.transform(Xte)])
    mean, std = model.predict(Xte, return_std=True)
    np.testing.assert_allclose(mean, Phi @ model.weight_mean_)
    theorem3 = Phi @ model.weight_cov_ @ Phi.T + model.kernel_(model.encoder_.transform(Xte))
    np.testing.assert_allclose(std**2, np.diag(theorem3), rtol=1e-10)
    assert model.expected_mse(Xte, include_noise=False, calibrated=False) == pytest.approx(np.mean(np.diag(theorem3)))
    # a new measurement adds the noise variance (the identity transform keeps units)
    assert model.expected_mse(Xte, calibrated=False) == pytest.approx(np.mean(np.diag(theorem3)) + model.noise_)


def test_recursive_updates_equal_one_fit_on_both_batches(small_space, synthetic_data):
    X, y = synthetic_data
    joint = GPNASRegressor(space=small_space, **FIXED).fit(X, y)
    rec = GPNASRegressor(space=small_space, **FIXED).fit(X[:15], y[:15])
    rec.partial_fit(X[15:28], y[15:28]).partial_fit(X[28:], y[28:])
    np.testing.assert_allclose(rec.weight_mean_, joint.weight_mean_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(rec.weight_cov_, joint.weight_cov_, rtol=1e-8, atol=1e-10)
    Xte = small_space.sample(20, random_state=11)
    for a, b in zip(rec.predict(Xte, return_std=True), joint.predict(Xte, return_std=True)):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)


def test_paper_recursion_is_exact_when_batches_are_uncorrelated(small_space, synthetic_data):
    """With a kernel that vanishes between batches, the posterior of w alone carries everything (the paper's case)."""
    X, y = synthetic_data
    params = dict(FIXED, sigma=1e-12)  # kernel ~ 0: only noise, so e is independent across batches
    first = GPNASRegressor(space=small_space, **params).fit(X[:20], y[:20])
    second = GPNASRegressor(space=small_space, **params).fit(X[20:], y[20:], prior=first)
    joint = GPNASRegressor(space=small_space, **params).fit(X, y)
    np.testing.assert_allclose(second.weight_mean_, joint.weight_mean_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(second.weight_cov_, joint.weight_cov_, rtol=1e-7, atol=1e-9)


def test_prior_from_another_model_is_its_posterior(small_space, synthetic_data):
    X, y = synthetic_data
    source = GPNASRegressor(space=small_space, random_state=0).fit(X, y)
    target = GPNASRegressor(space=small_space, random_state=0).fit(X[:10], y[:10] * 2 + 1, prior=source)
    np.testing.assert_array_equal(target.prior_mean_, source.weight_mean_)
    np.testing.assert_array_equal(target.prior_cov_, source.weight_cov_)
    with pytest.raises(ValueError, match="mean"):
        GPNASRegressor(space=small_space).fit(X, y, prior=(np.zeros(3), np.eye(3)))


@pytest.mark.parametrize("estimation", ["alternating", "evidence"])
def test_hyperparameter_fit_increases_likelihood(small_space, synthetic_data, estimation):
    X, y = synthetic_data
    fixed = GPNASRegressor(space=small_space, estimation=estimation, optimize=False, random_state=0).fit(X, y)
    fitted = GPNASRegressor(space=small_space, estimation=estimation, random_state=0).fit(X, y)
    assert fitted.log_marginal_likelihood_value_ > fixed.log_marginal_likelihood_value_
    assert fitted.sigma_.shape == (3,) and fitted.lengthscale_.shape == (3,)


def test_alternation_runs_until_weights_settle(small_space, synthetic_data):
    X, y = synthetic_data
    model = GPNASRegressor(space=small_space, estimation="alternating", max_alternations=30,
                           alternation_tol=1e-4, random_state=0).fit(X, y)
    history = model.alternation_history_
    assert len(history) >= 2
    assert history[-1]["weight_change"] < 1e-4 or len(history) == 30
    assert history[-1]["weight_change"] < history[0]["weight_change"]


def test_variances_with_repeated_architectures_match_the_direct_computation(small_space):
    """Each architecture measured three times: the variances are the combined-kernel GP's, computed directly."""
    X = np.repeat(small_space.sample(8, random_state=0), 3, axis=0)
    y = np.random.default_rng(0).standard_normal(X.shape[0])
    model = GPNASRegressor(space=small_space, **FIXED).fit(X, y)
    Xte = small_space.enumerate()
    mean, std = model.predict(Xte, return_std=True)
    ref_mean, ref_std = _combined_kernel_gp(model, X, y, Xte)
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(std, ref_std, rtol=1e-6, atol=1e-8)
    assert np.all(std > 0)


def test_jitter_only_on_failure_with_warning(small_space):
    X = np.repeat(small_space.sample(4, random_state=0), 2, axis=0)
    y = np.arange(8.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a well-conditioned fit adds no jitter and warns nothing
        GPNASRegressor(space=small_space, **dict(FIXED, noise=0.1)).fit(X, y)
    with pytest.warns(JitterWarning, match="jitter"):
        GPNASRegressor(space=small_space, **dict(FIXED, noise=1e-300)).fit(X, y)


def test_predictive_intervals_are_calibrated_on_gp_draws():
    """Data drawn from the model's own prior: 95 % intervals should hold about 95 % of held-out values."""
    from gpnas.space import make_space

    space = make_space([(f"p{j}", list(range(4)), "a" if j < 3 else "b") for j in range(6)])
    Xall = space.enumerate()
    truth = GPNASRegressor(space=space, optimize=False, target_transform="none", sigma=[1.0, 0.5],
                           lengthscale=[1.0, 1.5], noise=0.01).fit(Xall[:2], [0.0, 0.0])
    coverage = []
    for seed in range(5):
        rng = np.random.default_rng(seed)
        idx = rng.choice(len(Xall), 400, replace=False)
        C = truth.prior_covariance(Xall[idx], include_noise=True)
        f = np.linalg.cholesky(C) @ rng.standard_normal(len(idx))
        model = GPNASRegressor(space=space, target_transform="none", random_state=seed).fit(Xall[idx[:150]], f[:150])
        mean, std = model.predict(Xall[idx[150:]], return_std=True, include_noise=True)
        coverage.append(np.mean(np.abs(f[150:] - mean) < 1.96 * std))
    assert 0.88 < np.mean(coverage) < 0.99


def test_sklearn_cross_val_score_and_clone(small_space, synthetic_data):
    from sklearn.base import clone
    from sklearn.model_selection import cross_val_score

    X, y = synthetic_data
    model = GPNASRegressor(space=small_space, n_restarts=0, random_state=0)
    assert clone(model).get_params()["space"] == small_space
    scores = cross_val_score(model, X, y, cv=4)
    assert scores.shape == (4,) and np.all(np.isfinite(scores))
    assert np.mean(scores) > 0.5  # the synthetic function is learnable
    model.set_params(encoding="ordinal")
    assert model.get_params()["encoding"] == "ordinal"
    with pytest.raises(ValueError, match="invalid parameter"):
        model.set_params(colour="red")


def test_groups_and_options_without_a_space(synthetic_data, small_space):
    X, y = synthetic_data
    a = GPNASRegressor(groups=small_space.groups, n_options=small_space.n_options, random_state=0).fit(X, y)
    b = GPNASRegressor(space=small_space, random_state=0).fit(X, y)
    np.testing.assert_allclose(a.predict(X), b.predict(X))


def test_bad_inputs(small_space, synthetic_data):
    X, y = synthetic_data
    model = GPNASRegressor(space=small_space)
    with pytest.raises(NotFittedError):
        model.predict(X)
    with pytest.raises(DataError, match="non-finite"):
        model.fit(X, np.where(np.arange(len(y)) == 3, np.nan, y))
    with pytest.raises(DataError, match="at least 2"):
        model.fit(X[:1], y[:1])
    with pytest.raises(ArchitectureError):
        model.fit(X + 5, y)
    with pytest.raises(DataError, match="rows"):
        model.fit(X, y[:-1])


def test_save_and_load_round_trip(tmp_path, small_space, synthetic_data):
    X, y = synthetic_data
    model = GPNASRegressor(space=small_space, random_state=0).fit(X[:30], y[:30]).partial_fit(X[30:], y[30:])
    path = save_model(model, tmp_path / "model")
    assert path == tmp_path / "model" and path.is_file()  # exactly the path given
    loaded = load_model(path)
    Xte = small_space.sample(30, random_state=1)
    for a, b in zip(model.predict(Xte, return_std=True), loaded.predict(Xte, return_std=True)):
        np.testing.assert_allclose(a, b, rtol=1e-9)
    assert loaded.space == small_space
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(ModelFileError, match="not a gpnas model"):
        load_model(bad)
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "missing.npz")


def test_ranks_real_benchmark_better_than_onehot_ridge(real_table):
    """NAS-Bench-Macro, deduplicated: 100 training architectures, the rest held out."""
    from sklearn.linear_model import Ridge

    table = real_table("macro").deduplicated()
    enc = Encoder(table.space.n_options, table.space.groups, "onehot")
    gaps = []
    for seed in range(3):
        idx = np.random.default_rng(seed).permutation(len(table.y))
        tr, te = idx[:100], idx[100:]
        gp = GPNASRegressor(space=table.space, random_state=seed).fit(table.X[tr], table.y[tr])
        ridge = Ridge(alpha=1.0).fit(enc.transform(table.X[tr]), table.y[tr])
        tau_gp = kendalltau(gp.predict(table.X[te]), table.y[te])[0]
        tau_ridge = kendalltau(ridge.predict(enc.transform(table.X[te])), table.y[te])[0]
        gaps.append(tau_gp - tau_ridge)
    assert np.mean(gaps) > 0.04, gaps


def test_partial_fit_equals_a_joint_fit_under_the_defaults(small_space, synthetic_data):
    """Default settings (copula transform, evidence): the new batch reaches beyond the first batch's range."""
    X, y = synthetic_data
    order = np.argsort(y)
    first, rest = order[:25], order[25:]  # the first batch holds the 25 lowest values only
    model = GPNASRegressor(space=small_space, random_state=0).fit(X[first], y[first])
    joint = GPNASRegressor(space=small_space, optimize=False, sigma=model.sigma_, lengthscale=model.lengthscale_,
                           noise=model.noise_).fit(X[np.r_[first, rest]], y[np.r_[first, rest]],
                                                   prior=(model.prior_mean_, model.prior_cov_))
    model.partial_fit(X[rest], y[rest])
    Xte = small_space.enumerate()
    for a, b in zip(model.predict(Xte, return_std=True), joint.predict(Xte, return_std=True)):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(model.weight_mean_, joint.weight_mean_, rtol=1e-7, atol=1e-9)
    assert model.log_marginal_likelihood_value_ == pytest.approx(joint.log_marginal_likelihood_value_, rel=1e-9)
    # the best architecture is predicted near its measured value, not as an outlier of the first batch's map
    best = order[-1]
    assert abs(model.predict(X[best : best + 1])[0] - y[best]) < 0.2 * np.ptp(y)


def test_log_marginal_likelihood_is_the_optimised_evidence(small_space, synthetic_data):
    """The stored value is log N(x; Phi mu_w, K + s2 I + Phi Sigma_w Phi^T), computed here with scipy directly."""
    from scipy.stats import multivariate_normal

    X, y = synthetic_data
    # maximum likelihood (no hyperparameter prior): the fit maximises the evidence itself
    model = GPNASRegressor(space=small_space, random_state=0, hyperprior_scale=None).fit(X, y)
    Z = model.encode(X)
    Phi = model.design(Z)
    C = model.kernel_(Z) + model.noise_ * np.eye(len(y)) + Phi @ model.prior_cov_ @ Phi.T
    x = model.target_.forward(y)
    expected = multivariate_normal(Phi @ model.prior_mean_, C).logpdf(x)
    assert model.log_marginal_likelihood_value_ == pytest.approx(expected, rel=1e-9)
    # and it is the value of the function the optimiser maximised, at the fitted hyperparameters
    from gpnas.gp.likelihood import log_marginal_likelihood

    params = np.concatenate([model.kernel_.theta, [np.log(model.noise_)]])
    objective = log_marginal_likelihood(params, model.kernel_, model.kernel_.distances(Z), x - Phi @ model.prior_mean_,
                                        fixed_cov=Phi @ model.prior_cov_ @ Phi.T)
    assert model.log_marginal_likelihood_value_ == pytest.approx(objective, rel=1e-9)
    # it is the maximum: moving any hyperparameter lowers it
    for factor in (0.8, 1.25):
        other = GPNASRegressor(space=small_space, optimize=False, sigma=model.sigma_ * factor,
                               lengthscale=model.lengthscale_, noise=model.noise_).fit(
            X, y, prior=(model.prior_mean_, model.prior_cov_))
        assert other.log_marginal_likelihood_value_ < model.log_marginal_likelihood_value_


def test_calibrated_on_a_real_table(real_table):
    """NAS-Bench-201 CIFAR-10 (a long tail of broken cells): 95 % intervals of the defaults hold 90-98 % of held-out
    accuracies; predictions and interval ends stay within what accuracies can be; no std collapses to zero."""
    table = real_table("nb201-cifar10").deduplicated()
    coverage = []
    for seed in range(2):
        idx = np.random.default_rng(seed).permutation(len(table.y))
        tr, te = idx[:100], idx[100:2100]
        model = GPNASRegressor(space=table.space, random_state=seed).fit(table.X[tr], table.y[tr])
        lower, upper = model.predict_interval(table.X[te])
        coverage.append(np.mean((table.y[te] >= lower) & (table.y[te] <= upper)))
        mean, std = model.predict(table.X[te], return_std=True)
        assert np.all((lower <= mean) & (mean <= upper))
        assert lower.min() > 0 and upper.max() < 100
        assert std.min() > 0.01
    assert 0.90 <= np.mean(coverage) <= 0.98, coverage


def test_leave_one_out_residuals_equal_refits_without_each_point(small_space, synthetic_data):
    """The closed-form jackknife residuals of predict_interval against n refits on n - 1 points each."""
    X, y = synthetic_data
    model = GPNASRegressor(space=small_space, target_transform="none", random_state=0).fit(X[:25], y[:25])
    brute = []
    for i in range(25):
        keep = np.arange(25) != i
        other = GPNASRegressor(space=small_space, target_transform="none", optimize=False, sigma=model.sigma_,
                               lengthscale=model.lengthscale_, noise=model.noise_).fit(
            X[:25][keep], y[:25][keep], prior=(model.prior_mean_, model.prior_cov_))
        mean, var = other.predict_latent(X[i : i + 1], include_noise=True)
        brute.append(abs(y[i] - mean[0]) / np.sqrt(var[0]))
    np.testing.assert_allclose(model.loo_standardized_residuals_, np.sort(brute), rtol=1e-7)
    # the 95 % half-width is the 25th smallest of 25... i.e. ceil(0.95 * 26) = 25: the largest, or the Gaussian one
    assert model.interval_halfwidth(0.95) == pytest.approx(max(1.959964, np.max(brute)), rel=1e-6)
    assert model.interval_halfwidth(0.5) == pytest.approx(max(0.67449, np.sort(brute)[12]), rel=1e-5)


def test_auto_encoding_keeps_the_encoding_with_the_higher_evidence():
    from gpnas.space import make_space

    space = make_space([(f"k{j}", [3, 5, 7], "kernel") for j in range(4)] + [("e", [3, 6], "expansion")])
    X = space.sample(40, random_state=0)
    y = 0.8 * X[:, 0] - 0.5 * X[:, 1] + 0.3 * X[:, 4] + 0.05 * np.random.default_rng(1).standard_normal(40)
    auto = GPNASRegressor(space=space, random_state=0).fit(X, y)
    fits = {e: GPNASRegressor(space=space, encoding=e, random_state=0).fit(X, y) for e in ("onehot", "ordinal")}
    best = max(fits, key=lambda e: fits[e].log_marginal_likelihood_value_)
    assert auto.encoding_ == best and auto.encoding == "auto"
    np.testing.assert_allclose(auto.predict(space.enumerate()), fits[best].predict(space.enumerate()))
    # from AUTO_ORDINAL_MAX_N architectures on, and for spaces with categorical values, it is one-hot only
    from gpnas.gp.regressor import AUTO_ORDINAL_MAX_N

    many = space.sample(AUTO_ORDINAL_MAX_N, random_state=2)
    assert GPNASRegressor(space=space, random_state=0).fit(many, many.sum(axis=1)).encoding_ == "onehot"


def test_leave_one_out_means_equal_refits_without_the_point(small_space, synthetic_data):
    X, y = synthetic_data
    fixed = dict(space=small_space, optimize=False, target_transform="none", sigma=0.8, lengthscale=1.3, noise=0.05,
                 encoding="onehot")
    model = GPNASRegressor(**fixed).fit(X, y)
    for i in (0, 7, 23):
        keep = np.arange(len(y)) != i
        refit = GPNASRegressor(**fixed).fit(X[keep], y[keep])
        assert np.isclose(model.loo_latent_mean_[i], refit.predict(X[i : i + 1])[0], rtol=1e-6, atol=1e-8)


def test_noise_share_tells_signal_from_noise(small_space, synthetic_data):
    """The same architectures with their smooth targets, and with targets that are pure noise: the model puts a
    small share of the spread down to noise in the first case and most of it in the second."""
    X, y = synthetic_data
    smooth = GPNASRegressor(space=small_space, random_state=0).fit(X, y)
    noise = GPNASRegressor(space=small_space, random_state=0).fit(X, np.random.default_rng(5).normal(size=len(y)))
    assert smooth.noise_share_ < 0.1
    assert noise.noise_share_ > 0.6
    expected = smooth.noise_ / np.var(smooth.target_.forward(smooth.y_train_))
    assert smooth.noise_share_ == pytest.approx(expected)


def test_prior_mean_transfer_learns_the_scale_predicts_and_round_trips(tmp_path):
    """A source model's predictions as a mean column: with a perfectly related target (an affine map of the source's
    truth) a handful of points already rank like the source; the model saves and loads with its source inside."""
    from scipy.stats import kendalltau

    from gpnas.space import make_space

    space = make_space([(f"p{i}", [0, 1, 2], "a" if i % 2 else "b") for i in range(5)], name="toy")
    X = space.enumerate()
    rng = np.random.default_rng(0)
    truth = X @ rng.standard_normal(5) + 0.5 * np.sin(X.sum(axis=1))
    source_rows = rng.choice(len(X), 120, replace=False)
    source = GPNASRegressor(space=space, random_state=0).fit(X[source_rows], truth[source_rows])
    target = 3.0 * truth + 7.0  # the same ranking on another scale
    gains = []
    for seed in range(5):  # five training draws of 5 points
        train = np.random.default_rng(seed).choice(len(X), 5, replace=False)
        transfer = GPNASRegressor(space=space, random_state=0).fit(X[train], target[train], prior_mean=source)
        plain = GPNASRegressor(space=space, random_state=0).fit(X[train], target[train])
        tau_transfer, tau_plain = (kendalltau(m.predict(X), target)[0] for m in (transfer, plain))
        gains.append(tau_transfer - tau_plain)
        assert transfer.weight_mean_[-1] > 0.3  # the source's column gets a clearly positive scale
        assert tau_transfer > kendalltau(source.predict(X), target)[0] - 0.1  # close to the source from 5 points
    assert np.mean(gains) > 0.2
    path = save_model(transfer, tmp_path / "t.npz")
    again = load_model(path)
    np.testing.assert_allclose(again.predict(X), transfer.predict(X), rtol=1e-9, atol=1e-9)
    with pytest.raises(ValueError, match="not both"):
        GPNASRegressor(space=space).fit(X[train], target[train], prior=source, prior_mean=source)


def test_subset_estimation_fits_hyperparameters_on_the_subset_and_conditions_on_all(small_space, synthetic_data,
                                                                                      tmp_path):
    X, y = synthetic_data
    plain = GPNASRegressor(space=small_space, random_state=3).fit(X, y)
    same = GPNASRegressor(space=small_space, random_state=3, max_fit_samples=X.shape[0]).fit(X, y)
    np.testing.assert_array_equal(same.predict(X), plain.predict(X))  # at or under the limit: the ordinary fit
    model = GPNASRegressor(space=small_space, random_state=3, max_fit_samples=15).fit(X, y)
    subset = model.fit_subset_
    assert subset.size == 15 and np.unique(subset).size == 15
    # the hyperparameters are those of an ordinary fit on the subset alone ...
    on_subset = GPNASRegressor(space=small_space, random_state=3).fit(X[subset], y[subset])
    np.testing.assert_allclose(model.kernel_.sigma, on_subset.kernel_.sigma)
    np.testing.assert_allclose(model.kernel_.lengthscale, on_subset.kernel_.lengthscale)
    assert model.noise_ == pytest.approx(on_subset.noise_)
    # ... and the posterior is the exact one on all 40 points with them: the textbook GP (combined kernel, zero mean,
    # GPML eq. 2.25-2.26) built by hand
    assert model.X_train_.shape[0] == X.shape[0]
    Z = model.encode(X)
    K = model.prior_covariance_encoded(Z, Z) + model.noise_ * np.eye(X.shape[0])
    x = model.target_.forward(y)
    Zs = model.encode(small_space.enumerate())
    mean = model.prior_covariance_encoded(Zs, Z) @ np.linalg.solve(K, x)
    np.testing.assert_allclose(model.predict_latent_encoded(Zs, return_var=False)[0], mean, atol=1e-8)
    again = load_model(save_model(model, tmp_path / "m.npz"))
    np.testing.assert_allclose(again.predict(small_space.enumerate()), model.predict(small_space.enumerate()))
    with pytest.raises(ValueError, match="max_fit_samples"):
        GPNASRegressor(space=small_space, max_fit_samples=1).fit(X, y)


def test_predict_summary_is_predict_and_predict_interval_in_one_pass(small_space, synthetic_data):
    X, y = synthetic_data
    model = GPNASRegressor(space=small_space, random_state=0).fit(X, y)
    pool = small_space.enumerate()
    mean, std, lower, upper = model.predict_summary(pool, coverage=0.9)
    expected_mean, expected_std = model.predict(pool, return_std=True)
    expected_lower, expected_upper = model.predict_interval(pool, coverage=0.9)
    for got, expected in [(mean, expected_mean), (std, expected_std), (lower, expected_lower),
                          (upper, expected_upper)]:
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="coverage"):
        model.predict_summary(pool, coverage=1.0)
