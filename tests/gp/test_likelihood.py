import numpy as np
import pytest
from scipy.stats import multivariate_normal

from gpnas.space.encoding import Encoder
from gpnas.gp.kernel import GroupedRBFKernel
from gpnas.gp.likelihood import log_marginal_likelihood


@pytest.fixture
def setup(small_space):
    enc = Encoder(small_space.n_options, small_space.groups, "onehot")
    Z = enc.transform(small_space.sample(15, random_state=5))
    kernel = GroupedRBFKernel(enc.group_columns)
    r = np.random.default_rng(6).standard_normal(15)
    return Z, kernel, kernel.distances(Z), r


def _fd_check(fun, params, eps=1e-6):
    value, grad = fun(params)
    for j in range(params.size):
        up, down = params.copy(), params.copy()
        up[j] += eps
        down[j] -= eps
        fd = (fun(up)[0] - fun(down)[0]) / (2 * eps)
        assert grad[j] == pytest.approx(fd, rel=1e-5, abs=1e-6), f"parameter {j}"


def test_alternating_likelihood_value_and_gradient(setup):
    Z, kernel, D, r = setup
    params = np.log(np.array([0.8, 1.2, 0.5, 0.7, 1.5, 2.0, 0.1]))
    value = log_marginal_likelihood(params, kernel, D, r)
    C = kernel.from_distances(D) + 0.1 * np.eye(r.size)
    assert value == pytest.approx(multivariate_normal(np.zeros(r.size), C).logpdf(r), rel=1e-10)
    _fd_check(lambda p: log_marginal_likelihood(p, kernel, D, r, eval_gradient=True), params)


def test_evidence_likelihood_value_and_gradient(setup):
    Z, kernel, D, r = setup
    fixed = 0.5 * np.ones((r.size, r.size))
    gram = Z @ Z.T
    params = np.log(np.array([0.8, 1.2, 0.5, 0.7, 1.5, 2.0, 0.1, 0.3]))
    value = log_marginal_likelihood(params, kernel, D, r, fixed_cov=fixed, weight_gram=gram)
    C = kernel.from_distances(D) + 0.1 * np.eye(r.size) + fixed + 0.3 * gram
    assert value == pytest.approx(multivariate_normal(np.zeros(r.size), C).logpdf(r), rel=1e-10)
    _fd_check(lambda p: log_marginal_likelihood(p, kernel, D, r, True, fixed, gram), params)


def test_distance_levels_give_the_dense_value_and_gradient(small_space):
    from gpnas.gp.kernel import DistanceLevels

    ordinal = Encoder(small_space.n_options, small_space.groups, "ordinal")
    Zo = ordinal.transform(small_space.sample(60, random_state=7))
    Do = GroupedRBFKernel(ordinal.group_columns).distances(Zo)
    assert DistanceLevels.of(Do) is Do  # scaled ordinal distances are not whole numbers: the dense path
    enc = Encoder(small_space.n_options, small_space.groups, "onehot")
    Z = enc.transform(small_space.sample(60, random_state=7))
    kernel = GroupedRBFKernel(enc.group_columns)
    D = kernel.distances(Z)
    levels = DistanceLevels.of(D)
    assert isinstance(levels, DistanceLevels)  # whole-number distances: stored as levels
    r = np.random.default_rng(8).standard_normal(60)
    gram = Z @ Z.T
    rng = np.random.default_rng(9)
    for _ in range(3):
        params = rng.uniform(-1.5, 1.0, size=2 * kernel.n_groups + 2)
        dense = log_marginal_likelihood(params, kernel, D, r, eval_gradient=True, weight_gram=gram)
        fast = log_marginal_likelihood(params, kernel, levels, r, eval_gradient=True, weight_gram=gram)
        assert fast[0] == pytest.approx(dense[0], rel=1e-12)
        np.testing.assert_allclose(fast[1], dense[1], rtol=1e-9, atol=1e-12)
        _fd_check(lambda p: log_marginal_likelihood(p, kernel, levels, r, eval_gradient=True, weight_gram=gram),
                  params)
    assert DistanceLevels.of(D + 0.25) is not levels and not isinstance(DistanceLevels.of(D + 0.25), DistanceLevels)
