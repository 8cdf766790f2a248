import math

import numpy as np
import pytest

from gpnas.study import Study, create_study, load_study


def objective_of(space):
    def objective(arch):
        x = space.from_dict_arch(arch)
        return float(x[0] * 2 - x[1] + 3 * x[4] + 0.5 * x[2] * x[3])
    return objective


def test_ask_tell_loop(small_space):
    study = create_study(small_space, sampler="mi", seed=0, n_initial=4)
    f = objective_of(small_space)
    for _ in range(4):
        for trial in study.ask(3):
            assert trial.state == "pending"
            study.tell(trial, f(trial.params))
    assert len(study.trials_in("done")) == 12
    assert len({tuple(t.arch) for t in study.trials}) == 12
    assert study.rounds and study.model_ is not None
    with pytest.raises(ValueError, match="already told"):
        study.tell(study.trials[0], 1.0)


@pytest.mark.parametrize("strategy", ["auto", "mi", "ucb", "mi+ucb", "random", "rea", "ls", "ei"])
def test_optimize_spends_the_budget_and_reports(small_space, strategy):
    study = Study(small_space, sampler=strategy, seed=1, n_initial=5)
    study.optimize(objective_of(small_space), budget=20, batch_size=4)
    assert len(study.trials_in("done")) == 20
    assert "budget" in study.stop_reason
    summary = study.summary()
    assert summary["best_found"]["value"] == max(t.value for t in study.trials)
    assert summary["best_predicted"]["std"] >= 0
    assert study.to_dict()["trials"][0]["state"] == "done"


def test_ucb_finds_the_optimum_faster_than_random_on_average(small_space):
    f = objective_of(small_space)
    best = max(f(small_space.to_dict_arch(x)) for x in small_space.enumerate())

    def queries(strategy, seed):
        study = Study(small_space, sampler=strategy, seed=seed, n_initial=5, fit_model=False)
        study.optimize(f, budget=small_space.size, batch_size=2, callbacks=[
            lambda s, batch: s.stop("found") if any(t.value == best for t in batch) else None])
        return len(study.trials)

    ucb = np.mean([queries("ucb", s) for s in range(5)])
    random = np.mean([queries("random", s) for s in range(5)])
    assert ucb < random


def test_failing_and_nan_evaluations_are_recorded_and_do_not_stop(small_space):
    calls = {"n": 0}

    def flaky(arch):
        calls["n"] += 1
        if calls["n"] % 5 == 0:
            raise RuntimeError("CUDA out of memory")
        if calls["n"] % 7 == 0:
            return math.nan
        return objective_of(small_space)(arch)

    study = Study(small_space, sampler="mi", seed=0, n_initial=4)
    with pytest.warns(UserWarning, match="failed"):
        study.optimize(flaky, budget=25, batch_size=3, catch=(RuntimeError,))
    failed = study.trials_in("failed")
    assert len(study.trials_in("done", "failed")) == 25 and len(failed) >= 4
    assert any("out of memory" in t.error for t in failed)
    assert any("nan" in t.error for t in failed)
    assert all(np.isfinite(study.model_.y_train_))  # failures never reach the model


def test_stops_on_theorem3_expected_mse(small_space):
    study = Study(small_space, sampler="mi", seed=0, n_initial=5)
    study.optimize(objective_of(small_space), budget=small_space.size, batch_size=4, mse_threshold=0.05)
    assert "expected MSE" in study.stop_reason and "cross-validated" in study.stop_reason
    # the stop reads the validated value (Theorem 3 plus noise, cross-validated), not the model's own
    assert all(r.expected_mse_validated < 0.05 for r in study.rounds[-2:])
    assert len(study.trials) < small_space.size
    mses = [r.expected_mse_validated for r in study.rounds if r.expected_mse_validated is not None]
    assert mses[-1] < mses[0]
    assert study.summary()["expected_mse"] == pytest.approx(
        study.model_.expected_mse(study._mse_pool()))


def test_exhausting_a_space_ends_the_search(small_space):
    study = Study(small_space, sampler="random", seed=0)
    study.optimize(objective_of(small_space), budget=1000, batch_size=10)
    assert len(study.trials) == small_space.size and "exhausted" in study.stop_reason


def test_minimize_direction(small_space):
    study = Study(small_space, sampler="ucb", direction="minimize", seed=0, n_initial=5)
    study.optimize(objective_of(small_space), budget=15, batch_size=3)
    assert study.best_trial.value == min(t.value for t in study.trials)
    assert study.best_predicted(1)[0]["mean"] <= np.median([t.value for t in study.trials])


@pytest.mark.parametrize("strategy", ["auto", "ei"])
def test_minimize_studies_seek_low_values(small_space, strategy):
    f = objective_of(small_space)
    study = Study(small_space, sampler=strategy, direction="minimize", seed=0, n_initial=8)
    study.optimize(f, budget=24, batch_size=2)
    values = [t.value for t in study.trials]
    assert np.mean(values[8:]) < np.mean(values[:8])
    assert min(values) == min(f(small_space.to_dict_arch(x)) for x in small_space.enumerate())


def test_a_study_of_many_trials_models_the_better_half_and_a_random_rest(monkeypatch, small_space):
    import gpnas.study.study as study_module

    monkeypatch.setattr(study_module, "MAX_MODEL_TRIALS", 20)
    space = small_space
    study = create_study(space, sampler="ucb", seed=0, n_initial=5)
    values = {tuple(x): float(np.sin(3 * x).sum() + 0.1 * i) for i, x in enumerate(space.enumerate())}
    study.optimize(lambda a: values[tuple(space.from_dict_arch(a))], budget=45, batch_size=5)
    model = study.refit()
    assert model.X_train_.shape[0] == 20
    done = sorted(study.trials_in("done"), key=lambda t: -t.value)
    modelled = {tuple(x) for x in model.X_train_}
    assert all(tuple(t.arch) in modelled for t in done[:10])  # the better half of the limit, every one of them
    assert len(modelled) == 20 and modelled <= {tuple(t.arch) for t in done}
    assert study.ask()  # and the search goes on


def test_the_search_model_adds_the_cells_operation_counts_only_where_the_space_declares_a_cell(small_space, tmp_path,
                                                                                              monkeypatch):
    import gpnas.study.study as study_module
    from gpnas.io.tables import nasbench201_space
    from gpnas.study.study import SEARCH_CELL_FEATURES, SEARCH_MODEL_DEFAULTS, search_model_defaults

    cell_space = nasbench201_space()
    assert search_model_defaults(small_space)["features"] == SEARCH_MODEL_DEFAULTS["features"] == ["choices"]
    assert search_model_defaults(cell_space)["features"] == SEARCH_CELL_FEATURES == ["choices", "ops"]
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(cell_space.n_positions, 5))
    objective = lambda a: float(weights[np.arange(cell_space.n_positions), cell_space.from_dict_arch(a)].sum())
    study = create_study(cell_space, sampler="auto", seed=0, n_initial=5, storage=f"sqlite:///{tmp_path / 's.db'}",
                         study_name="cell")
    study.optimize(objective, budget=8)
    assert study.model_params["features"] == ["choices", "ops"]
    assert "cell:ops" in study.refit().group_names_ and not any("paths" in g for g in study.model_.group_names_)
    # stored with the study: a resumed study keeps the features it was created with, whatever the defaults become
    monkeypatch.setattr(study_module, "SEARCH_CELL_FEATURES", ["choices", "paths"])
    assert search_model_defaults(cell_space)["features"] == ["choices", "paths"]
    resumed = create_study(cell_space, sampler="auto", seed=0, storage=f"sqlite:///{tmp_path / 's.db'}",
                           study_name="cell", load_if_exists=True)
    assert resumed.model_params["features"] == ["choices", "ops"]
    # a study's own model_params still win
    flat = create_study(cell_space, seed=0, model_params={"features": ["choices"]})
    assert flat.model_params["features"] == ["choices"]


def test_the_search_model_in_a_linked_cell_space_sees_the_linked_cells_features_under_the_prior():
    from gpnas.space import Choice, SearchSpace
    from gpnas.space.linked_cell import LinkedCell
    from gpnas.study.study import SEARCH_LINKED_CELL_FEATURES, search_model_defaults

    nodes = ("n1", "n2", "n3")
    space = SearchSpace([Choice("wiring", ("012", "001", "011"), "links"),
                         *[Choice(n, ("a", "b", "skip"), "op") for n in nodes]], name="linked",
                        cell=LinkedCell("wiring", nodes, ("skip",)))
    params = search_model_defaults(space)
    assert params["features"] == SEARCH_LINKED_CELL_FEATURES == ["choices", "ops", "pairs", "outputs"]
    assert params["hyperprior_scale"] == 1.0
    assert search_model_defaults(space, multi_objective=True)["hyperprior_scale"] is None
    study = create_study(space, sampler="auto", seed=0, n_initial=5)
    study.optimize(lambda arch: float(space.from_dict_arch(arch) @ np.array([1.0, -0.5, 0.3, 0.8])), budget=8)
    groups = study.refit().group_names_
    assert study.model_params["features"] == SEARCH_LINKED_CELL_FEATURES
    assert {"cell:ops", "cell:pairs", "cell:outputs"} <= set(groups), groups


def test_the_search_model_has_a_hyperparameter_prior_in_a_cell_space_for_one_objective_only(small_space, tmp_path):
    from gpnas.io.tables import nasbench201_space
    from gpnas.study.study import SEARCH_CELL_HYPERPRIOR_SCALE, search_model_defaults

    cell_space = nasbench201_space()
    assert search_model_defaults(small_space)["hyperprior_scale"] is None  # maximum likelihood, said explicitly
    assert search_model_defaults(cell_space)["hyperprior_scale"] == SEARCH_CELL_HYPERPRIOR_SCALE == 1.0
    assert search_model_defaults(cell_space, multi_objective=True)["hyperprior_scale"] is None
    single = create_study(cell_space, seed=0)
    assert single.model_params["hyperprior_scale"] == 1.0
    two = create_study(cell_space, seed=0, directions=["maximize", "minimize"])
    assert two.model_params["hyperprior_scale"] is None
    assert create_study(cell_space, seed=0, model_params={"hyperprior_scale": None}).model_params[
        "hyperprior_scale"] is None  # a study's own model_params still win
    # the study's fitted model carries the prior, and every kernel group is on (no signal std at its lower bound)
    rng = np.random.default_rng(1)
    weights = rng.normal(size=(cell_space.n_positions, 5))
    objective = lambda a: float(weights[np.arange(cell_space.n_positions), cell_space.from_dict_arch(a)].sum())
    study = create_study(cell_space, seed=0, n_initial=12, storage=f"sqlite:///{tmp_path / 'p.db'}")
    study.optimize(objective, budget=12)
    model = study.refit()
    assert model.hyperprior_scale == 1.0
    # a group is on at the MAP estimate wherever the prior pulls it from the lower bound
    assert model.kernel_.sigma.min() > 10 * model.sigma_bounds[0]


def test_a_study_stored_before_the_prior_existed_resumes_without_it(tmp_path):
    import json
    import sqlite3

    from gpnas.io.tables import nasbench201_space

    url = f"sqlite:///{tmp_path / 'old.db'}"
    create_study(nasbench201_space(), seed=0, storage=url, study_name="old")
    assert load_study("old", url).model_params["hyperprior_scale"] == 1.0  # stored with the study
    with sqlite3.connect(tmp_path / "old.db") as conn:
        (settings,) = conn.execute("SELECT settings FROM studies WHERE name = 'old'").fetchone()
        stored = json.loads(settings)
        del stored["model_params"]["hyperprior_scale"]
        conn.execute("UPDATE studies SET settings = ? WHERE name = 'old'", (json.dumps(stored),))
    assert load_study("old", url).model_params["hyperprior_scale"] is None
