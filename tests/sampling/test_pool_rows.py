"""Rows as the space's exact integer keys: deduplication and membership equal NumPy's row-wise ones."""

import numpy as np

from gpnas.sampling.pool import is_in, unique_row_indices, unique_rows
from gpnas.space import make_space


def test_unique_rows_and_membership_equal_the_row_wise_computation():
    rng = np.random.default_rng(0)
    for _ in range(300):
        options = [int(rng.integers(1, 5)) for _ in range(int(rng.integers(1, 6)))]
        space = make_space([(f"p{i}", list(range(n)), "g") for i, n in enumerate(options)])
        X = space.sample(int(rng.integers(0, 40)), random_state=rng)
        others = space.sample(int(rng.integers(0, 10)), random_state=rng)
        np.testing.assert_array_equal(unique_rows(space, X), np.unique(X, axis=0))  # lexicographic, as NumPy's
        # the indices point at each distinct row's first occurrence, in the same order
        first = unique_row_indices(space, X)
        np.testing.assert_array_equal(X[first], unique_rows(space, X))
        assert all(not (X[:i] == X[i]).all(axis=1).any() for i in first)
        expected = np.array([any((x == o).all() for o in others) for x in X], dtype=bool)
        np.testing.assert_array_equal(is_in(space, X, others), expected)


def test_a_space_beyond_int64_keys_takes_the_row_wise_path():
    space = make_space([(f"p{i}", list(range(4)), "g") for i in range(40)])  # 4^40 > 2^63 architectures
    assert space.row_keys(space.sample(2, random_state=0)) is None
    X = space.sample(50, random_state=1)
    X = np.vstack([X, X[:7]])
    np.testing.assert_array_equal(unique_rows(space, X), np.unique(X, axis=0))
    np.testing.assert_array_equal(unique_row_indices(space, X), np.unique(X, axis=0, return_index=True)[1])
    assert is_in(space, X, X[3:5]).sum() == 2 + sum((X[:7] == X[3]).all(1)) + sum((X[:7] == X[4]).all(1))


def test_keys_count_in_the_spaces_order():
    space = make_space([("a", [0, 1, 2], "g"), ("b", ["x", "y"], "g")])
    np.testing.assert_array_equal(space.row_keys(space.enumerate()), np.arange(6))
