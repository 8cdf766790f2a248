"""The slice sampler against distributions whose moments and CDFs scipy knows."""

import numpy as np
import pytest
from scipy import stats

from gpnas.gp.slice_sampling import slice_sample


def test_draws_of_a_correlated_gaussian_have_its_mean_and_covariance():
    cov = np.array([[1.0, 0.8], [0.8, 2.0]])
    precision = np.linalg.inv(cov)
    mean = np.array([1.0, -2.0])

    def log_density(x):
        d = x - mean
        return -0.5 * d @ precision @ d

    draws = slice_sample(log_density, mean + 3.0, 4000, random_state=0, burn=50)
    assert draws.shape == (4000, 2)
    np.testing.assert_allclose(draws.mean(axis=0), mean, atol=0.15)
    np.testing.assert_allclose(np.cov(draws.T), cov, atol=0.25)


def test_draws_inside_a_box_follow_the_truncated_distribution():
    # a standard normal confined to [0.5, 3]: compared with scipy's truncated normal by a KS test on thinned draws
    draws = slice_sample(lambda x: -0.5 * float(x[0]) ** 2, np.array([1.0]), 1500, random_state=1,
                         bounds=np.array([[0.5, 3.0]]), burn=20, thin=3)[:, 0]
    assert draws.min() >= 0.5 and draws.max() <= 3.0
    assert stats.kstest(draws, stats.truncnorm(0.5, 3.0).cdf).pvalue > 0.01
    # and the test can fail: the untruncated normal is rejected
    assert stats.kstest(draws, stats.norm.cdf).pvalue < 1e-6


def test_a_seed_gives_the_same_chain_and_thinning_keeps_every_kth_sweep():
    log_density = lambda x: -0.5 * float(x @ x)  # noqa: E731
    a = slice_sample(log_density, np.zeros(3), 10, random_state=5, burn=2, thin=1)
    np.testing.assert_array_equal(a, slice_sample(log_density, np.zeros(3), 10, random_state=5, burn=2, thin=1))
    thinned = slice_sample(log_density, np.zeros(3), 5, random_state=5, burn=2, thin=2)
    np.testing.assert_array_equal(thinned, a[1::2])


@pytest.mark.parametrize("kwargs, message", [
    ({"n_samples": -1}, "n_samples"),
    ({"thin": 0}, "thin"),
    ({"width": 0.0}, "width"),
    ({"bounds": np.array([[1.0, 2.0]])}, "outside the bounds"),
])
def test_bad_settings_are_refused(kwargs, message):
    args = {"n_samples": 3, **kwargs}
    with pytest.raises(ValueError, match=message):
        slice_sample(lambda x: 0.0, np.array([0.0]), **args)


def test_a_start_with_zero_density_is_refused():
    with pytest.raises(ValueError, match="finite"):
        slice_sample(lambda x: -np.inf, np.array([0.0]), 3)
