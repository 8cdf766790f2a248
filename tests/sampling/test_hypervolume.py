"""The closed-form two-objective EHVI (:mod:`gpnas.sampling.hypervolume`) against the hypervolume computed directly
(:func:`gpnas.sampling.scalarization.hypervolume_2d`, a sweep) and against Monte Carlo."""

import numpy as np
import pytest

from gpnas.sampling.hypervolume import expected_hypervolume_improvement_2d, nondominated_sorted
from gpnas.sampling.scalarization import hypervolume_2d, pareto_front

SIGNS = np.ones(2)


def _front(rng, n=8):
    t = np.sort(rng.uniform(0, 1, n))
    points = np.column_stack([t, 1 - t ** 1.5]) + 0.02 * rng.standard_normal((n, 2))
    return np.vstack([points, points[:3] - 0.1])  # and three dominated points


def _improvement(front, y, reference):
    return hypervolume_2d(np.vstack([front, y]), SIGNS, reference) - hypervolume_2d(front, SIGNS, reference)


def test_without_uncertainty_it_is_the_hypervolume_improvement():
    rng = np.random.default_rng(0)
    front, reference = _front(rng), np.array([-0.2, -0.1])
    points = np.vstack([rng.uniform(-0.3, 1.2, (40, 2)), front[:2], [[-0.5, 2.0], [2.0, -0.5]]])
    exact = np.array([_improvement(front, y, reference) for y in points])
    ours = expected_hypervolume_improvement_2d(points, np.zeros_like(points), front, reference)
    np.testing.assert_allclose(ours, exact, atol=1e-12)
    assert np.all(ours[-4:] == 0.0) and np.any(ours > 0)  # points on the front, and beyond the reference, gain nothing


@pytest.mark.parametrize("with_front", [True, False])
def test_matches_monte_carlo(with_front):
    rng = np.random.default_rng(1)
    front = _front(rng) if with_front else np.zeros((0, 2))
    reference = np.array([-0.2, -0.1])
    mean = np.array([[0.5, 0.6], [0.9, 0.2], [0.2, 0.2], [1.1, 1.0], [-0.4, 0.5]])
    std = np.array([[0.2, 0.1], [0.05, 0.3], [0.3, 0.3], [0.01, 0.02], [0.4, 0.2]])
    ours = expected_hypervolume_improvement_2d(mean, std, front, reference)
    draws = 20000
    for i in range(len(mean)):
        samples = mean[i] + std[i] * rng.standard_normal((draws, 2))
        gains = np.array([_improvement(front, y, reference) for y in samples])
        assert abs(ours[i] - gains.mean()) < 4 * gains.std() / np.sqrt(draws) + 1e-9, i


def test_the_front_is_kept_sorted_and_non_dominated():
    rng = np.random.default_rng(2)
    front, reference = _front(rng), np.array([0.1, 0.0])
    kept = nondominated_sorted(front, reference)
    beyond = front[np.all(front > reference, axis=1)]
    expected = beyond[pareto_front(beyond, SIGNS)]
    np.testing.assert_allclose(kept, expected[np.argsort(expected[:, 0])])
    assert np.all(np.diff(kept[:, 0]) > 0) and np.all(np.diff(kept[:, 1]) < 0)
    with pytest.raises(ValueError, match="two objectives"):
        expected_hypervolume_improvement_2d(np.zeros((2, 3)), np.zeros((2, 3)), front, reference)
