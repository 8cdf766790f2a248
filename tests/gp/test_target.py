"""The target transforms: the predictive distribution mapped back, checked against Monte Carlo and the definition."""

import numpy as np
import pytest
from scipy.stats import norm

from gpnas.gp.target import TargetTransform, silverman_bandwidth


@pytest.fixture
def skewed():
    """Accuracy-like: a cluster near 93 with a long tail of broken networks down to 10, and ties."""
    rng = np.random.default_rng(0)
    y = np.concatenate([93 - rng.gamma(2.0, 1.5, 80), rng.uniform(10, 60, 15), [10.0, 10.0, 10.0]])
    return np.round(y, 1)


def test_copula_is_the_normal_score_of_the_smoothed_ecdf(skewed):
    t = TargetTransform("copula").fit(skewed)
    h = silverman_bandwidth(skewed)
    probe = np.linspace(5, 100, 50)
    F = norm.cdf((probe[:, None] - skewed[None, :]) / h).mean(axis=1)
    expected = norm.ppf(F)
    finite = np.isfinite(expected) & (np.abs(expected) < 6)
    np.testing.assert_allclose(t.forward(probe)[finite], expected[finite], atol=0.05)
    z = t.forward(np.sort(skewed))
    assert np.all(np.diff(z) >= 0)
    np.testing.assert_allclose(t.inverse(t.forward(skewed)), skewed, atol=1e-9)


@pytest.mark.parametrize("mean,std", [(0.3, 0.4), (0.3, 0.2), (2.2, 0.6), (-2.0, 1.5), (3.5, 0.2), (-1.5, 0.3)])
def test_moments_and_quantiles_match_numerical_integration_and_monte_carlo(skewed, mean, std):
    t = TargetTransform("copula").fit(skewed)
    # a dense trapezoid over +-12 std, independent of the segment formulas
    z = np.linspace(mean - 12 * std, mean + 12 * std, 2_000_001)
    weight = norm.pdf(z, mean, std)
    g = t.inverse(z)
    ref_mean = np.trapezoid(g * weight, z)
    ref_std = np.sqrt(np.trapezoid((g - ref_mean) ** 2 * weight, z))
    m, v = t.moments(np.array([mean]), np.array([std]))
    assert m[0] == pytest.approx(ref_mean, rel=1e-6)
    assert np.sqrt(v[0]) == pytest.approx(ref_std, rel=1e-4)
    draws = t.inverse(np.random.default_rng(1).normal(mean, std, 400_000))
    for q in (0.025, 0.5, 0.975):
        assert t.quantiles(mean, std, q) == pytest.approx(np.quantile(draws, q), abs=0.01 * draws.std() + 1e-3)


def test_extrapolation_is_bounded_by_the_bandwidth(skewed):
    t = TargetTransform("copula").fit(skewed)
    h = silverman_bandwidth(skewed)
    z_top = t.forward(np.array([skewed.max()]))[0]
    z_bottom = t.forward(np.array([skewed.min()]))[0]
    # three model units beyond the best training value move the prediction by a few bandwidths, not by a tail segment
    assert t.inverse(np.array([z_top + 3.0]))[0] - skewed.max() < 5 * h
    assert skewed.min() - t.inverse(np.array([z_bottom - 3.0]))[0] < 5 * h


def test_linear_kinds_are_exact(skewed):
    t = TargetTransform("standardize").fit(skewed)
    np.testing.assert_allclose(t.forward(skewed), (skewed - skewed.mean()) / skewed.std())
    m, v = t.moments(np.array([0.5]), np.array([2.0]))
    assert m[0] == pytest.approx(skewed.mean() + 0.5 * skewed.std())
    assert v[0] == pytest.approx((2.0 * skewed.std()) ** 2)


def test_state_round_trip_and_bad_state(skewed):
    t = TargetTransform("copula").fit(skewed)
    back = TargetTransform.from_state("copula", **t.state())
    np.testing.assert_array_equal(back.inverse(np.linspace(-4, 4, 9)), t.inverse(np.linspace(-4, 4, 9)))
    with pytest.raises(ValueError, match="strictly increasing"):
        TargetTransform.from_state("copula", [1.0, 0.0], [0.0, 1.0], [1.0, 1.0])


def test_constant_targets_do_not_break_the_map():
    t = TargetTransform("copula").fit(np.full(5, 7.0))
    assert np.all(np.isfinite(t.forward(np.array([6.0, 7.0, 8.0]))))
    assert t.inverse(t.forward(np.array([7.0])))[0] == pytest.approx(7.0)


def test_moment_table_for_large_batches_matches_the_exact_moments(skewed):
    """Large batches read the moments from a (mean, log std) table; they agree with the exact moments."""
    from gpnas.gp import target

    t = TargetTransform("copula").fit(skewed)
    rng = np.random.default_rng(2)
    mean = rng.uniform(-3.5, 3.5, target.TABLE_THRESHOLD)
    std = np.exp(rng.uniform(np.log(0.005), np.log(20.0), mean.size))  # some outside the table's std range
    first, second = t.moments(mean, std)
    some = rng.choice(mean.size, 3000, replace=False)
    first, second, mean, std = first[some], second[some], mean[some], std[some]
    ref_first, ref_second = t._exact_moments(mean, std)
    scale = np.sqrt(ref_second) + 0.01 * np.std(skewed)
    assert np.max(np.abs(first - ref_first) / scale) < 0.02
    assert np.max(np.abs(np.sqrt(second) - np.sqrt(ref_second)) / scale) < 0.05
