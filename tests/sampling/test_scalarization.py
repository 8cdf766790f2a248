"""ParEGO's scalarisation and the front utilities, against brute force."""

import itertools

import numpy as np
import pytest

from gpnas.sampling.scalarization import (
    chebyshev_utility,
    hypervolume_2d,
    normalized_utilities,
    pareto_front,
    simplex_weights,
)


def test_weights_lie_on_the_simplex_and_cover_it():
    rng = np.random.default_rng(0)
    draws = np.array([simplex_weights(3, rng) for _ in range(3000)])
    assert np.all(draws >= 0) and np.allclose(draws.sum(axis=1), 1.0)
    np.testing.assert_allclose(draws.mean(axis=0), [1 / 3] * 3, atol=0.02)  # a flat Dirichlet's mean


def test_utilities_are_oriented_and_scaled_per_objective():
    values = np.array([[0.9, 10.0], [0.7, 2.0], [0.8, 6.0]])
    u = normalized_utilities(values, np.array([1.0, -1.0]))  # maximise accuracy, minimise latency
    np.testing.assert_allclose(u, [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    np.testing.assert_allclose(normalized_utilities(np.ones((3, 2)), np.ones(2)), 0.5)


def test_chebyshev_utility_is_the_formula_and_never_prefers_a_dominated_point():
    rng = np.random.default_rng(1)
    u, w = rng.uniform(size=(30, 3)), simplex_weights(3, rng)
    expected = [min(w[j] * row[j] for j in range(3)) + 0.05 * sum(w[j] * row[j] for j in range(3)) for row in u]
    np.testing.assert_allclose(chebyshev_utility(u, w), expected)
    for a, b in itertools.permutations(range(30), 2):
        if np.all(u[a] >= u[b]) and np.any(u[a] > u[b]):
            assert chebyshev_utility(u[[a]], w)[0] > chebyshev_utility(u[[b]], w)[0]


def test_pareto_front_and_hypervolume_match_brute_force():
    rng = np.random.default_rng(2)
    values = rng.uniform(size=(40, 2))
    signs = np.array([1.0, -1.0])
    front = pareto_front(values, signs)
    brute = [i for i in range(40) if not any(values[j, 0] >= values[i, 0] and values[j, 1] <= values[i, 1]
                                             and (values[j, 0] > values[i, 0] or values[j, 1] < values[i, 1])
                                             for j in range(40))]
    assert front.tolist() == brute
    reference = np.array([0.0, 1.0])
    grid = (np.arange(400) + 0.5) / 400  # the dominated area by counting cells of a fine grid
    xs, ys = np.meshgrid(grid, grid)
    dominated = np.zeros_like(xs, dtype=bool)
    for a, c in values:
        dominated |= (xs <= a) & (ys >= c)
    assert hypervolume_2d(values, signs, reference) == pytest.approx(dominated.mean(), abs=5e-3)
    assert hypervolume_2d(values, signs, np.array([2.0, -1.0])) == 0.0  # nothing beats this reference
