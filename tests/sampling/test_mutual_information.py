import numpy as np
import pytest

from gpnas import GPNASRegressor
from gpnas.sampling.mutual_information import (
    CovarianceFunction,
    _Conditioner,
    acquisition_scores,
    greedy_batch,
    mutual_information,
)


@pytest.fixture
def fitted(small_space, synthetic_data):
    X, y = synthetic_data
    return GPNASRegressor(space=small_space, random_state=0).fit(X[:8], y[:8])


def test_greedy_gain_equals_brute_force_eq12_increment(small_space, fitted):
    """M(s + y, u - y) - M(s, u) = 1/2 log(sigma^2(y|s) / sigma^2(y|u - y)) for every candidate y."""
    observed = fitted.X_train_
    seen = {tuple(x) for x in observed}
    pool = np.array([x for x in small_space.enumerate() if tuple(x) not in seen])[:30]
    universe = np.vstack([observed, pool])
    cov = CovarianceFunction(fitted)
    C = cov(cov.encode(universe))
    s = np.arange(len(observed))
    base = mutual_information(C, s)
    gains = np.array([mutual_information(C, np.r_[s, len(observed) + j]) - base for j in range(len(pool))])
    for j in range(len(pool)):
        y = len(observed) + j
        u = np.setdiff1d(np.arange(len(universe)), np.r_[s, y])
        var_s = C[y, y] - C[y, s] @ np.linalg.solve(C[np.ix_(s, s)], C[s, y])
        var_u = C[y, y] - C[y, u] @ np.linalg.solve(C[np.ix_(u, u)], C[u, y])
        assert gains[j] == pytest.approx(0.5 * np.log(var_s / var_u), rel=1e-6, abs=1e-9)
    # with the default settings the greedy picks the brute-force argmax, step after step
    picks = greedy_batch(fitted, pool, observed, 4, ["mi"] * 4)
    chosen = list(s)
    for pick in picks:
        current = mutual_information(C, np.array(chosen))
        candidates = [j for j in range(len(pool)) if len(observed) + j not in chosen]
        brute = {j: mutual_information(C, np.r_[chosen, len(observed) + j]) - current for j in candidates}
        assert brute[pick] == pytest.approx(max(brute.values()), rel=1e-7, abs=1e-10)
        chosen.append(len(observed) + pick)


def test_larger_pools_are_searched_exactly_over_a_random_universe(small_space, fitted):
    """Above ``universe_size`` the MI picks come from a uniform subset, where they are the exact greedy's picks."""
    pool = small_space.enumerate()
    picks = greedy_batch(fitted, pool, fitted.X_train_, 4, ["mi"] * 4, universe_size=30, random_state=3)
    members = np.sort(np.random.default_rng(3).choice(len(pool), 30, replace=False))
    assert set(picks) <= set(members)
    exact = greedy_batch(fitted, pool[members], fitted.X_train_, 4, ["mi"] * 4)
    assert [int(members[j]) for j in exact] == picks


def test_pending_points_spread_ucb_batches(small_space, fitted):
    pool = small_space.enumerate()
    picks = greedy_batch(fitted, pool, fitted.X_train_, 6, ["ucb"] * 6)
    assert len(set(picks)) == 6
    batch = pool[picks]
    # conditioning on earlier picks keeps the batch from collapsing onto one region
    assert np.mean([(a != b).sum() for i, a in enumerate(batch) for b in batch[i + 1:]]) >= 1.5


@pytest.mark.parametrize("kind", ["ucb", "ei"])
def test_a_single_pick_given_the_model_s_data_is_the_conditioner_s_pick(small_space, fitted, kind):
    """One UCB / EI pick given exactly the training set takes the model's posterior variance: it must be the
    conditioner's ``sigma^2(y | s)`` minus the noise, and pick what the conditioner's scores pick."""
    pool = small_space.enumerate()
    cov = CovarianceFunction(fitted)
    Z_pool = cov.encode(pool)
    numerators = _Conditioner(cov, Z_pool, cov.encode(fitted.X_train_))
    mean, variance = fitted.predict_latent(pool)
    np.testing.assert_allclose(variance, numerators.variance - fitted.noise_, rtol=1e-6, atol=1e-9)
    best = float(mean.max()) - 0.1
    # a large fixed noise, so that a variance with the noise left in would rank the pool differently
    noisy = GPNASRegressor(space=small_space, noise=1.0, optimize=False).fit(fitted.X_train_, fitted.y_train_)
    noisy_numerators = _Conditioner(CovarianceFunction(noisy), noisy.encode(pool), noisy.encode(noisy.X_train_))
    noisy_mean = noisy.predict_latent(pool)[0]
    for model, numerator, m in ((fitted, numerators, mean), (noisy, noisy_numerators, noisy_mean)):
        for sign in (1.0, -1.0):
            for beta in (0.3, 1.0, 3.0, 10.0):
                expected = acquisition_scores(kind, sign * m, np.maximum(numerator.variance - model.noise_, 1e-18),
                                              sign * best, beta)
                pick = greedy_batch(model, pool, model.X_train_, 1, [kind], beta=beta, best=sign * best, sign=sign)
                assert expected[pick[0]] == pytest.approx(expected.max(), rel=1e-9)
    # with a pending point the shortcut does not apply: the pick conditions on it
    pending = np.vstack([fitted.X_train_, pool[:1]])
    pick = greedy_batch(fitted, pool, pending, 1, [kind], beta=3.0, best=best)[0]
    numerators = _Conditioner(cov, Z_pool, cov.encode(pending))
    scores = acquisition_scores(kind, mean, np.maximum(numerators.variance - fitted.noise_, 1e-18), best, 3.0)
    assert scores[pick] == pytest.approx(scores.max(), rel=1e-9)
