"""The multi-budget GP: its likelihood gradient, its posterior against the textbook formulas, and what it learns."""

import numpy as np
import pytest
from scipy.optimize import approx_fprime

from gpnas.space.encoding import Encoder
from gpnas.gp.multi_budget import MEAN_RIDGE, MultiBudgetGP, budget_coordinate


def _encoder():
    return Encoder([3, 3, 2, 2, 2], ["kernel", "kernel", "expansion", "expansion", "se"], "onehot")


def _data(n=30, seed=0, correlated=True):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.integers(0, k, n) for k in (3, 3, 2, 2, 2)])
    quality = X @ np.array([0.5, 0.3, 0.8, -0.4, 0.6])
    short = 0.6 * quality + 0.1 * rng.normal(0, 1, n) if correlated else rng.normal(0, 1.0, n)
    long = quality + 0.05 * rng.normal(0, 1, n)
    X2 = np.vstack([X, X])
    budgets = np.r_[np.full(n, 12.0), np.full(n, 200.0)]
    return X2, budgets, np.r_[short, long]


def test_coordinate_is_zero_at_the_cheapest_and_one_at_the_target():
    np.testing.assert_allclose(budget_coordinate([1, 3, 9], 1, 9), [0, 0.5, 1])
    np.testing.assert_allclose(budget_coordinate([5, 5], 5, 5), [0, 0])


@pytest.mark.parametrize("linear, scale_slope", [(False, False), (True, False), (True, True)])
def test_likelihood_gradient_matches_finite_differences(linear, scale_slope):
    X, b, y = _data(12)
    model = MultiBudgetGP(_encoder(), [12, 200], linear=linear, scale_slope=scale_slope).fit(X, b, y, optimize=False)
    D = model._arch_kernel(np.ones(3), np.ones(3)).distances(model.Z_train_)
    S = (model.s_train_[:, None] - model.s_train_[None, :]) ** 2
    lin = model._mean_design(model.s_train_)
    theta = np.array([0.2, -0.3, 0.1, 0.4, -0.2, 0.3, np.log(0.7), np.log(0.05), 0.8]
                     + ([np.log(0.3)] if linear else []) + ([0.4] if scale_slope else []))
    args = (D, S, lin, model.y_model_, model.s_train_, model.Z_train_ @ model.Z_train_.T)
    _, grad = model._nll_and_grad(theta, *args)
    numeric = approx_fprime(theta, lambda t: model._nll_and_grad(t, *args)[0], 1e-6)
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("linear, scale_slope", [(False, False), (True, False), (True, True)])
def test_posterior_matches_the_textbook_formulas(linear, scale_slope):
    """Mean phi*^T beta + k*^T A^-1 (y - Phi beta) and covariance k** - k*^T A^-1 k*, A = K + noise, beta the
    (ridge) generalised least squares weights, with the kernel written out entry by entry from its definition (with
    ``linear``, plus ``sigma_w^2 z^T z'``; with ``scale_slope``, times ``exp(alpha (s + s'))``)."""
    X, b, y = _data(10)
    model = MultiBudgetGP(_encoder(), [12, 200], linear=linear, scale_slope=scale_slope).fit(X, b, y)
    sigma, ell, ell_b, _ = model._unpack(model.theta_)
    weight_var = float(np.exp(model.theta_[9])) if linear else 0.0
    alpha = float(model.theta_[-1]) if scale_slope else 0.0
    enc = model.encoder

    def k(x1, s1, x2, s2):
        z1, z2 = enc.transform(x1[None])[0], enc.transform(x2[None])[0]
        arch = sum(sg ** 2 * np.exp(-np.sum((z1[c] - z2[c]) ** 2) / (2 * el ** 2))
                   for sg, el, c in zip(sigma, ell, enc.group_columns)) + weight_var * (z1 @ z2)
        return arch * np.exp(-(s1 - s2) ** 2 / (2 * ell_b ** 2) + alpha * (s1 + s2))

    s = model.coordinate(b)
    K = np.array([[k(X[i], s[i], X[j], s[j]) for j in range(len(X))] for i in range(len(X))])
    tests = np.array([[0, 1, 0, 1, 1], [2, 2, 1, 0, 0]])
    budgets = [12.0, 200.0]
    mean, cov = model.joint_latent(tests, budgets)
    for t, x in enumerate(tests):
        ks = np.array([[k(X[i], s[i], x, sb) for sb in model.coordinate(budgets)] for i in range(len(X))])
        kss = np.array([[k(x, a, x, c) for c in model.coordinate(budgets)] for a in model.coordinate(budgets)])
        A = K + np.diag(model.noise_at(s))
        Phi = np.column_stack([np.ones(len(s)), s])
        beta = np.linalg.solve(Phi.T @ np.linalg.solve(A, Phi) + MEAN_RIDGE * np.eye(2),
                               Phi.T @ np.linalg.solve(A, model.y_model_))
        phi_test = np.column_stack([np.ones(2), model.coordinate(budgets)])
        expected = phi_test @ beta + ks.T @ np.linalg.solve(A, model.y_model_ - Phi @ beta)
        np.testing.assert_allclose(mean[t], expected, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(cov[t], kss - ks.T @ np.linalg.solve(A, ks), rtol=1e-6, atol=1e-8)


def test_it_learns_whether_short_trainings_rank_like_long_ones():
    """Forty short trainings and six long ones: where the short results follow the long ones, the model learns a
    high correlation between budgets and ranks the whole space at the long budget well; where they are noise, it
    learns that they are, and ranks from the six long results alone."""
    from scipy.stats import kendalltau

    everything = np.array(np.meshgrid(*[range(k) for k in (3, 3, 2, 2, 2)])).reshape(5, -1).T
    truth = everything @ np.array([0.5, 0.3, 0.8, -0.4, 0.6])
    fitted = {}
    for correlated in (True, False):
        X, b, y = _data(40, correlated=correlated)
        keep = np.r_[np.arange(40), 40 + np.arange(6)]
        model = MultiBudgetGP(_encoder(), [12, 200]).fit(X[keep], b[keep], y[keep])
        fitted[correlated] = (model.budget_correlation_, kendalltau(model.predict_latent(everything)[0], truth)[0])
    assert fitted[True][0] > 0.7 and fitted[False][0] < 0.3
    assert fitted[True][1] > 0.6 and fitted[True][1] > fitted[False][1] + 0.2


def test_the_budget_correlation_stops_at_its_bound():
    """Short results that are the long ones plus a constant: unbounded, the likelihood drives the correlation to
    1; bounded, the fit stops exactly at the bound, and an architecture seen short keeps ``1 - rho^2`` of its prior
    variance at the target."""
    X, b, y = _data(30)
    y[:30] = y[30:] - 1.0
    free = MultiBudgetGP(_encoder(), [12, 200], max_correlation=1.0).fit(X, b, y)
    assert free.budget_correlation_ > 0.99
    bounded = MultiBudgetGP(_encoder(), [12, 200], max_correlation=0.9).fit(X, b, y)
    assert bounded.budget_correlation_ == pytest.approx(0.9, abs=1e-6)
    prior = bounded.covariance(bounded.Z_train_[:1], np.array([0.0, 1.0]))
    assert prior[0, 1] / np.sqrt(prior[0, 0] * prior[1, 1]) == pytest.approx(0.9, abs=1e-6)
    with pytest.raises(ValueError, match="max_correlation"):
        MultiBudgetGP(_encoder(), [12, 200], max_correlation=1.5)


def test_measured_correlation_counts_the_short_budgets_noise():
    """A short measurement's correlation with the long value, against the prior covariance written out: cov(f_short,
    f_long) / sqrt((var f_short + noise_short) var f_long); high where short results follow the long ones, low where
    they are noise, whatever the latent budget correlation."""
    measured = {}
    for correlated in (True, False):
        X, b, y = _data(40, correlated=correlated)
        model = MultiBudgetGP(_encoder(), [12, 200]).fit(X, b, y)
        C = model.covariance(model.Z_train_[:1], np.array([0.0, 1.0]))
        expected = C[0, 1] / np.sqrt((C[0, 0] + model.noise_at(np.zeros(1))[0]) * C[1, 1])
        assert model.measured_correlation_ == pytest.approx(expected, rel=1e-10)
        measured[correlated] = model.measured_correlation_
    assert measured[True] > 0.7 and measured[False] < 0.3


def test_fantasies_keep_the_mean_and_shrink_the_variance():
    X, b, y = _data(15)
    model = MultiBudgetGP(_encoder(), [12, 200]).fit(X, b, y)
    new = np.array([[1, 0, 1, 1, 0]])
    before_mean, before_var = model.predict_latent(new)
    after = model.fantasize(new, [12.0])
    after_mean, after_var = after.predict_latent(new)
    np.testing.assert_allclose(after_mean, before_mean, atol=1e-8)
    assert after_var[0] < before_var[0]
    assert len(model.y_model_) == 30  # the original is untouched


def test_predictions_in_measured_units_bracket_the_training_values():
    X, b, y = _data(30)
    model = MultiBudgetGP(_encoder(), [12, 200]).fit(X, b, y)
    mean, lower, upper = model.predict(X[30:], 200)
    inside = np.mean((y[30:] >= lower) & (y[30:] <= upper))
    assert inside > 0.9 and np.all(lower < mean) and np.all(mean < upper)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="positive"):
        MultiBudgetGP(_encoder(), [0, 10])
    X, b, y = _data(5)
    with pytest.raises(ValueError, match="one row each"):
        MultiBudgetGP(_encoder(), [12, 200]).fit(X, b[:-1], y)
    y[0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        MultiBudgetGP(_encoder(), [12, 200]).fit(X, b, y)
