"""Shared fixtures: small synthetic spaces and data, and the real benchmark tables from ``../shared/data``."""

import os

import numpy as np
import pytest

from gpnas.exceptions import DataError
from gpnas.space import make_space
from gpnas.io.tables import load_table


@pytest.fixture
def small_space():
    return make_space(
        [
            ("k0", [3, 5, 7], "kernel"),
            ("k1", [3, 5, 7], "kernel"),
            ("e0", [3, 6], "expansion"),
            ("e1", [3, 6], "expansion"),
            ("se0", ["off", "on"], "se"),
        ],
        name="small",
    )


@pytest.fixture
def synthetic_data(small_space):
    """A smooth non-linear function of the architecture plus small noise."""
    rng = np.random.default_rng(0)
    X = small_space.sample(40, random_state=rng)
    y = 0.5 * X[:, 0] - 0.3 * X[:, 1] * X[:, 2] + 0.8 * X[:, 4] + 0.05 * rng.standard_normal(40)
    return X, y


@pytest.fixture(scope="session")
def real_table():
    """Load a real table by name.  Missing data fails under CI (GPNAS_REQUIRE_DATA=1) and skips loudly elsewhere."""

    def load(name):
        try:
            return load_table(name)
        except DataError as err:
            if os.environ.get("GPNAS_REQUIRE_DATA") == "1":
                pytest.fail(f"benchmark data required but missing: {err}")
            pytest.skip(f"benchmark data not available: {err}")

    return load
