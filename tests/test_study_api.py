"""The study API as an Optuna user expects it: n_trials, catch, best_params, trials_dataframe, trial.params."""

import math
import warnings

import pytest

from gpnas.study import Study, create_study
from gpnas.study.loop import TrialFailedWarning
from gpnas.store import StorageError


def objective(arch):
    return float(arch["k0"] + arch["e0"] + (arch["se0"] == "on"))


def test_n_trials_adds_trials_and_a_reached_budget_says_so(small_space, tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = create_study(small_space, storage=url, study_name="s", seed=0, sampler="random")
    study.optimize(objective, budget=6)
    resumed = create_study(small_space, storage=url, study_name="s", load_if_exists=True)
    with pytest.warns(UserWarning, match="already holds 6 trials, at or above budget=5: nothing to run"):
        resumed.optimize(objective, budget=5)
    assert len(resumed.trials) == 6
    resumed.optimize(objective, n_trials=4)
    assert len(resumed.trials_in("done")) == 10
    with pytest.raises(ValueError, match="one of budget"):
        resumed.optimize(objective)
    with pytest.raises(ValueError, match="one of budget"):
        resumed.optimize(objective, budget=20, n_trials=2)


def test_create_study_refuses_an_existing_name_unless_load_if_exists(small_space, tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    create_study(small_space, storage=url, study_name="s")
    with pytest.raises(StorageError, match="already exists"):
        create_study(small_space, storage=url, study_name="s")
    assert create_study(small_space, storage=url, study_name="s", load_if_exists=True).study_name == "s"


def test_a_failing_objective_is_raised_again_as_in_optuna(small_space):
    def crashing(arch):
        if arch["k0"] == 7:
            raise RuntimeError("CUDA OOM")
        return objective(arch)

    study = Study(small_space, sampler="random", seed=0, heartbeat_interval=None)
    with pytest.raises(RuntimeError, match="CUDA OOM"):
        study.optimize(crashing, budget=30)
    failed = study.trials_in("failed")
    assert len(failed) == 1 and failed[0].error == "RuntimeError: CUDA OOM" and failed[0].params["k0"] == 7
    assert not study.trials_in("running")


def test_caught_failures_and_nan_values_are_said_once_and_the_search_goes_on(small_space):
    def flaky(arch):
        if arch["k0"] == 7:
            raise RuntimeError("CUDA OOM")
        return math.nan if arch["k0"] == 5 else objective(arch)

    study = Study(small_space, sampler="random", seed=0, heartbeat_interval=None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study.optimize(flaky, budget=30, catch=(RuntimeError,))
    said = [str(w.message) for w in caught if issubclass(w.category, TrialFailedWarning)]
    assert len(study.trials) == 30 and study.trials_in("done")
    assert len(study.trials_in("failed")) > 2  # both kinds failed several times ...
    assert sum("CUDA OOM" in s for s in said) == 1 and sum("nan" in s for s in said) == 1  # ... and were said once


def test_best_params_value_dataframe_and_trial_params(small_space):
    study = Study(small_space, sampler="random", seed=0, heartbeat_interval=None)
    for trial in study.ask(3):
        study.tell(trial, objective(trial.params))  # trial.params is what the objective takes
    study.optimize(objective, n_trials=5)
    best = max(study.trials_in("done"), key=lambda t: t.value)
    assert study.best_params == best.params and study.best_value == best.value
    frame = study.trials_dataframe()
    assert list(frame["number"]) == list(range(8)) and set(frame["state"]) == {"COMPLETE"}
    assert {f"params_{n}" for n in small_space.names} <= set(frame.columns)
    assert frame["value"].max() == study.best_value and (frame["duration"].dt.total_seconds() >= 0).all()
