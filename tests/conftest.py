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


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server: the one ``.ci/run`` started (``GPNAS_TEST_POSTGRES_URL``), else one started here on a
    temporary directory for this test session.  Missing PostgreSQL fails under CI (GPNAS_REQUIRE_POSTGRES=1) and
    skips loudly elsewhere."""
    import shutil
    import tempfile

    import postgres_server as server

    url = os.environ.get("GPNAS_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    problem = None
    try:
        import psycopg  # noqa: F401
    except ImportError:
        problem = "the psycopg driver is not installed (pip install 'gpnas[postgres]')"
    if problem is None and server.binaries() is None:
        problem = "PostgreSQL's initdb/pg_ctl are not installed (Debian package 'postgresql')"
    folder = tempfile.mkdtemp(prefix="gpnas-pg-")
    if problem is None:
        try:
            url = server.start(folder)
        except Exception as err:  # noqa: BLE001  (any failure to start is reported, not hidden)
            problem = f"PostgreSQL did not start: {err}"
    if problem is not None:
        shutil.rmtree(folder, ignore_errors=True)
        if os.environ.get("GPNAS_REQUIRE_POSTGRES") == "1":
            pytest.fail(problem)
        pytest.skip(problem)
    yield url
    server.stop(folder)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def storage_url(request, tmp_path):
    """A fresh, empty study database: an SQLite file, and a database of its own on the PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'studies.db'}"
    import postgres_server as server

    return server.new_database(request.getfixturevalue("postgres_server"))
