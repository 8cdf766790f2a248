"""Cross-validated calibration of the predictive distribution (:mod:`gpnas.gp.calibration`)."""

import numpy as np
import pytest
from scipy import integrate, stats

from gpnas import GPNASRegressor
from gpnas.gp.calibration import MIN_CV_N, Calibration, cross_validate, fit_student_t
from gpnas.space import make_space


def test_student_t_fit_agrees_with_scipy():
    """Maximum likelihood of a zero-centred Student-t, against scipy's own fit with the location held at 0."""
    scores = stats.t.rvs(4.0, scale=1.7, size=3000, random_state=np.random.default_rng(0))
    scale, dof = fit_student_t(scores)
    ref_dof, _, ref_scale = stats.t.fit(scores, floc=0)
    assert scale == pytest.approx(ref_scale, rel=0.02)
    assert dof == pytest.approx(ref_dof, rel=0.05)
    assert 3.0 < dof < 5.5 and 1.5 < scale < 1.9


def test_student_t_fit_of_gaussian_scores_is_gaussian():
    scale, dof = fit_student_t(np.random.default_rng(1).normal(0.0, 0.5, 2000))
    assert dof > 30 and scale == pytest.approx(0.5, rel=0.05)


def test_too_few_points_leave_the_model_as_it_is():
    calls = []
    cal = cross_validate(MIN_CV_N - 1, lambda tr, te: calls.append(te), np.random.default_rng(0))
    assert calls == [] and cal.folds == 0 and cal.scale == 1.0 and cal.variance_factor == 1.0 and np.isinf(cal.dof)


def test_folds_partition_the_rows_and_a_failed_fold_is_left_out():
    seen = []

    def predict_fold(train, test):
        assert np.intersect1d(train, test).size == 0 and train.size + test.size == 23
        seen.extend(test.tolist())
        if 0 in test:
            raise ValueError("degenerate fold")
        return test.astype(float)

    cal = cross_validate(23, predict_fold, np.random.default_rng(0), folds=5)
    assert sorted(seen) == list(range(23)) and cal.folds == 4
    assert np.isnan(cal.scores[0]) and np.isfinite(cal.scores).sum() < 23
    ok = np.isfinite(cal.scores)
    np.testing.assert_array_equal(cal.scores[ok], np.arange(23)[ok])  # each score lands on its own row


def test_variance_factor_is_the_student_t_variance_with_a_floor():
    assert Calibration(np.zeros(3), 2.0, 5.0, 3).variance_factor == pytest.approx(stats.t.var(5.0, scale=2.0))
    assert Calibration(np.zeros(3), 2.0, 1.5, 3).variance_factor == pytest.approx(stats.t.var(3.0, scale=2.0))
    assert Calibration(np.zeros(3), 0.5, np.inf, 3).variance_factor == pytest.approx(0.25)


def _gp_draws(seed, n_train, n_test=300, outliers=0):
    space = make_space([(f"p{j}", list(range(4)), "a" if j < 3 else "b") for j in range(6)])
    Xall = space.enumerate()
    truth = GPNASRegressor(space=space, optimize=False, target_transform="none", sigma=[1.0, 0.5],
                           lengthscale=[1.0, 1.5], noise=0.01).fit(Xall[:2], [0.0, 0.0])
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(Xall), n_train + n_test, replace=False)
    f = np.linalg.cholesky(truth.prior_covariance(Xall[idx], include_noise=True)) @ rng.standard_normal(idx.size)
    if outliers:  # gross errors, as broken networks are among good ones
        hit = rng.choice(idx.size, outliers * (idx.size // n_train), replace=False)
        f[hit] -= rng.uniform(8.0, 15.0, hit.size)
    return space, Xall[idx[:n_train]], f[:n_train], Xall[idx[n_train:]], f[n_train:]


def test_a_well_specified_model_needs_little_correction():
    """Data drawn from a GP of the model's own family: the cross-validated scale is near 1, the tails near
    Gaussian, and the expected error (noise included) near the realised one."""
    realised, expected, scales, dofs = [], [], [], []
    for seed in range(3):
        space, X, y, Xte, yte = _gp_draws(seed, 120)
        model = GPNASRegressor(space=space, target_transform="none", random_state=seed).fit(X, y)
        scales.append(model.calibration_.scale)
        dofs.append(model.calibration_.dof)
        realised.append(np.mean((model.predict(Xte) - yte) ** 2))
        expected.append(model.expected_mse(Xte))
    assert 0.75 < np.median(scales) < 1.35 and np.median(dofs) > 10
    assert 0.67 < np.mean(expected) / np.mean(realised) < 1.5


def test_heavy_tails_are_learnt_and_raise_the_held_out_density():
    space, X, y, Xte, yte = _gp_draws(0, 100, outliers=3)
    model = GPNASRegressor(space=space, target_transform="none", random_state=0).fit(X, y)
    assert model.calibration_.dof < 5
    calibrated = model.log_predictive_density(Xte, yte)
    gaussian = model.log_predictive_density(Xte, yte, calibrated=False)
    assert np.mean(calibrated) > np.mean(gaussian) + 0.5


def test_calibrated_density_integrates_to_one_in_measured_units(real_table):
    """The Student-t in model units with the copula's Jacobian is a density of the measured accuracy."""
    table = real_table("nb201-cifar100").deduplicated()
    idx = np.random.default_rng(3).permutation(len(table.y))[:60]
    model = GPNASRegressor(space=table.space, random_state=0).fit(table.X[idx[:50]], table.y[idx[:50]])
    for arch in table.X[idx[50:53]]:
        density = lambda v: float(np.exp(model.log_predictive_density(arch[None], [v])[0]))  # noqa: E731
        lo, hi = float(table.y.min()) - 20, float(table.y.max()) + 20
        knots = np.sort(np.concatenate([model.target_.y_knots[(model.target_.y_knots > lo)
                                                              & (model.target_.y_knots < hi)], [lo, hi]]))
        total = sum(integrate.quad(density, a, b, limit=200)[0] for a, b in zip(knots[:-1], knots[1:]))
        tail = stats.t.cdf(-((model.target_.forward(hi) - model.predict_latent(arch[None])[0][0])
                             / (model.calibration_.scale * np.sqrt(model.predict_latent(
                                 arch[None], include_noise=True)[1][0]))), model.calibration_.dof)
        assert total == pytest.approx(1.0, abs=2 * tail + 2e-3)


def test_scores_are_those_of_independent_refits(small_space, synthetic_data):
    """Each score against a model fitted afresh on the fold's complement, as cross-validation means."""
    X, y = synthetic_data
    model = GPNASRegressor(space=small_space, random_state=4).fit(X, y)
    cal = model.calibration_
    folds = np.array_split(np.random.default_rng(4).permutation(len(y)), 10)
    for test in folds[:3]:
        train = np.setdiff1d(np.arange(len(y)), test)
        refit = GPNASRegressor(space=small_space, encoding=model.encoding_, sigma=model.sigma_,
                               lengthscale=model.lengthscale_, noise=model.noise_, n_restarts=0,
                               random_state=4).fit(X[train], y[train], prior=(model.prior_mean_, model.prior_cov_))
        mean, var = refit.predict_latent(X[test], include_noise=True)
        np.testing.assert_allclose(cal.scores[test], (refit.target_.forward(y[test]) - mean) / np.sqrt(var),
                                   rtol=1e-6, atol=1e-8)


def test_refitting_forgets_the_calibration(small_space, synthetic_data):
    X, y = synthetic_data
    model = GPNASRegressor(space=small_space, random_state=0).fit(X[:30], y[:30])
    first = model.calibration_
    assert model.calibration_ is first  # computed once
    model.partial_fit(X[30:], y[30:])
    assert model.calibration_ is not first and model.calibration_.scores.size == 40


def test_identity_calibration_is_the_gaussian():
    cal = Calibration.identity()
    z = np.linspace(-3, 3, 7)
    np.testing.assert_allclose(cal.logpdf(z, 0.5, 2.0), stats.norm.logpdf(z, 0.5, 2.0))
    assert cal.quantile(0.975) == pytest.approx(stats.norm.ppf(0.975))
