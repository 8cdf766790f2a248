"""Optuna's own sampler contract (``optuna.testing.pytest_samplers``, the suites Optuna and third-party samplers run)
applied to :class:`GPNASSampler`."""

import os

import pytest

if os.environ.get("GPNAS_REQUIRE_OPTUNA"):
    import optuna  # noqa: F401  (CI: the contract must run, never skip)
else:
    pytest.importorskip("optuna")

from optuna.testing.pytest_samplers import (  # noqa: E402
    BasicSamplerTestCase,
    MultiObjectiveSamplerTestCase,
    RelativeSamplerTestCase,
)

from gpnas.integrations.optuna import GPNASSampler  # noqa: E402


class TestBasicContract(BasicSamplerTestCase):
    @pytest.fixture
    def sampler(self):
        return lambda: GPNASSampler(seed=0)


class TestRelativeContract(RelativeSamplerTestCase):
    # as Optuna's own suite builds its relative samplers: the model is used from the first finished trial on
    @pytest.fixture
    def sampler(self):
        return lambda: GPNASSampler(seed=0, n_startup_trials=0)


class TestMultiObjectiveContract(MultiObjectiveSamplerTestCase):
    @pytest.fixture
    def sampler(self):
        return lambda: GPNASSampler(seed=0)


class TestMultiObjectiveEHVIContract(MultiObjectiveSamplerTestCase):
    @pytest.fixture
    def sampler(self):
        return lambda: GPNASSampler(seed=0, multi_objective="ehvi")
