"""The recommendation rules, checked against direct computations."""

import numpy as np
import pytest

from gpnas import GPNASRegressor
from gpnas.study.recommend import recommend
from gpnas.study import Study


@pytest.fixture
def fitted(small_space, synthetic_data):
    X, y = synthetic_data
    return X, y, GPNASRegressor(space=small_space, random_state=0).fit(X, y)


def test_measured_rule_takes_the_best_measurement_in_either_direction(fitted):
    X, y, model = fitted
    arch, info = recommend("measured", X, y)
    assert np.array_equal(arch, X[np.argmax(y)]) and info["measured"] == y.max()
    arch, info = recommend("measured", X, y, sign=-1.0)
    assert np.array_equal(arch, X[np.argmin(y)]) and info["measured"] == y.min()


def test_predicted_rule_maximises_the_posterior_mean_over_pool_and_evaluated(small_space, fitted):
    X, y, model = fitted
    pool = small_space.enumerate()
    arch, info = recommend("predicted", X, y, model, pool)
    means = model.predict(pool)
    assert np.isclose(info["mean"], means.max())
    assert np.isclose(model.predict(arch[None, :])[0], means.max())
    arch_min, _ = recommend("predicted", X, y, model, pool, sign=-1.0)
    assert np.isclose(model.predict(arch_min[None, :])[0], means.min())


def test_lcb_rule_maximises_mean_minus_two_std_over_the_evaluated(fitted):
    X, y, model = fitted
    arch, info = recommend("lcb", X, y, model)
    mean, std = model.predict(X, return_std=True)
    best = np.argmax(mean - 2 * std)
    assert np.array_equal(arch, X[best]) and np.isclose(info["std"], std[best])
    assert "measured" in info


def test_bad_rules_and_empty_studies_are_refused(fitted):
    X, y, model = fitted
    with pytest.raises(ValueError, match="unknown recommendation rule 'best'"):
        recommend("best", X, y, model)
    with pytest.raises(ValueError, match="nothing to recommend"):
        recommend("measured", X[:0], y[:0])


def test_study_recommends_by_rule(small_space):
    study = Study(small_space, seed=0, n_initial=5)
    assert study.recommend() is None

    def objective(arch):
        x = small_space.from_dict_arch(arch)
        return float(x[0] - x[1] + 2 * x[4])

    study.optimize(objective, budget=12, batch_size=3)
    measured = study.recommend()
    assert measured["rule"] == "measured" and measured["measured"] == study.best_trial.value
    predicted = study.recommend("predicted")
    assert predicted["mean"] >= max(p["mean"] for p in study.best_predicted(3)) - 1e-9
    assert study.summary()["recommended"] == measured
