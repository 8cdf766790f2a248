"""GPNASSampler given a gpnas space: the model sees the architecture as a gpnas study does (needs the optuna extra)."""

import os

import pytest

optuna = pytest.importorskip("optuna", reason="the optuna extra is not installed") if os.environ.get(
    "GPNAS_REQUIRE_OPTUNA") != "1" else __import__("optuna")

import gpnas.integrations.optuna as sampler_module  # noqa: E402
from gpnas.integrations.optuna import ARCH_KEY, GPNASSampler  # noqa: E402
from gpnas.io.tables import nasbench201_space  # noqa: E402
from gpnas.space import Choice, SearchSpace  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)
SPACE = nasbench201_space()
OPS = list(SPACE.choices[0].values)


def cell_objective(trial):
    """An additive score of the cell's operation counts (what the counts feature sees directly), plus a float."""
    ops = [trial.suggest_categorical(c.name, list(c.values)) for c in SPACE.choices]
    trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    return float(sum({"nor_conv_3x3": 2.0, "nor_conv_1x1": 1.0, "skip_connect": 0.3}.get(o, 0.0) for o in ops))


@pytest.fixture
def recorded(monkeypatch):
    """The keyword arguments of every model the sampler builds (each still a real GPNASRegressor)."""
    calls = []
    real = sampler_module.GPNASRegressor

    def recording(**params):
        calls.append(params)
        return real(**params)

    monkeypatch.setattr(sampler_module, "GPNASRegressor", recording)
    return calls


def test_with_a_cell_space_the_model_counts_the_cells_operations(recorded):
    study = optuna.create_study(direction="maximize", sampler=GPNASSampler(seed=0, space=SPACE, n_startup_trials=4))
    study.optimize(cell_objective, n_trials=8)
    assert recorded, "the model was never fitted"
    assert all(p["features"] == ["choices", "ops"] and p["max_fit_samples"] == 300 and p["space"] is SPACE
               and p["hyperprior_scale"] == 1.0 for p in recorded)
    # the stored architecture is the space's own choice indices, in the space's order
    for trial in study.trials[4:]:
        stored = trial.system_attrs[ARCH_KEY]
        assert list(stored) == [c.name for c in SPACE.choices]
        assert [OPS[stored[c.name]] for c in SPACE.choices] == [trial.params[c.name] for c in SPACE.choices]
        assert 1e-4 <= trial.params["lr"] <= 1e-1  # the float still comes from the independent sampler


def test_model_params_override_the_space_defaults_and_no_space_keeps_the_old_model(recorded):
    sampler = GPNASSampler(seed=0, space=SPACE, n_startup_trials=4, model_params={"features": ["choices"]})
    optuna.create_study(direction="maximize", sampler=sampler).optimize(cell_objective, n_trials=6)
    assert recorded and all(p["features"] == ["choices"] for p in recorded)
    recorded.clear()
    optuna.create_study(direction="maximize", sampler=GPNASSampler(seed=0, n_startup_trials=4)).optimize(
        cell_objective, n_trials=6)
    assert recorded and all("features" not in p and p["space"].cell is None for p in recorded)


def test_a_study_finds_the_best_cell_with_the_space():
    study = optuna.create_study(direction="maximize", sampler=GPNASSampler(seed=1, space=SPACE))
    study.optimize(cell_objective, n_trials=40)
    assert study.best_value == pytest.approx(12.0)  # nor_conv_3x3 on all six edges


def test_the_same_seed_proposes_the_same_trials():
    runs = []
    for _ in range(2):
        study = optuna.create_study(direction="maximize", sampler=GPNASSampler(seed=3, space=SPACE))
        study.optimize(cell_objective, n_trials=14)
        runs.append([[t.params[c.name] for c in SPACE.choices] for t in study.trials])
    assert runs[0] == runs[1]


def test_options_in_another_order_are_a_clear_error():
    def shuffled(trial):
        return float(len([trial.suggest_categorical(c.name, list(reversed(c.values))) for c in SPACE.choices]))

    study = optuna.create_study(sampler=GPNASSampler(seed=0, space=SPACE))
    with pytest.raises(ValueError, match="'e_0' has the options .* suggest the space's values in its order"):
        study.optimize(shuffled, n_trials=5)
    assert len([t for t in study.trials if t.state.is_finished()]) >= 1  # finished trials are kept


def test_a_choice_the_trials_do_not_suggest_is_a_clear_error():
    def partial(trial):
        return float(sum(len(trial.suggest_categorical(c.name, list(c.values))) for c in SPACE.choices[:5]))

    study = optuna.create_study(sampler=GPNASSampler(seed=0, space=SPACE))
    with pytest.raises(ValueError, match=r"\['e_5'\] that the study's trials do not all suggest"):
        study.optimize(partial, n_trials=5)


def test_space_must_be_a_gpnas_space():
    with pytest.raises(TypeError, match="space must be a gpnas SearchSpace, got dict"):
        GPNASSampler(space={"e_0": OPS})


def test_a_space_without_a_cell_uses_its_groups_and_numeric_values(recorded):
    space = SearchSpace([Choice("k1", (3, 5, 7), "kernel"), Choice("k2", (3, 5, 7), "kernel"),
                         Choice("e1", (3, 6), "expand")], name="toy")

    def objective(trial):
        return float(sum(trial.suggest_categorical(c.name, list(c.values)) for c in space.choices))

    study = optuna.create_study(direction="maximize", sampler=GPNASSampler(seed=0, space=space, n_startup_trials=3))
    study.optimize(objective, n_trials=12)
    assert recorded and all(p["space"] is space and p["features"] == ["choices"] for p in recorded)
    assert study.best_value == 20.0


def test_a_multi_objective_study_with_the_space_keeps_maximum_likelihood(recorded):
    def two(trial):
        ops = [trial.suggest_categorical(c.name, list(c.values)) for c in SPACE.choices]
        return float(ops.count("nor_conv_3x3")), float(ops.count("none"))

    study = optuna.create_study(directions=["maximize", "maximize"],
                                sampler=GPNASSampler(seed=0, space=SPACE, n_startup_trials=4))
    study.optimize(two, n_trials=7)
    assert recorded and all(p["features"] == ["choices", "ops"] and p["hyperprior_scale"] is None for p in recorded)


def test_without_the_space_the_model_keeps_maximum_likelihood(recorded):
    """Without ``space``, the sampler's model is ``model_params`` alone, fitted by maximum likelihood as the search's
    model outside cell spaces, not under the predictor's default prior; ``model_params`` still win."""
    study = optuna.create_study(direction="maximize", sampler=GPNASSampler(seed=0, n_startup_trials=4))
    study.optimize(cell_objective, n_trials=6)
    assert recorded and all(p["hyperprior_scale"] is None for p in recorded)
    recorded.clear()
    study = optuna.create_study(direction="maximize", sampler=GPNASSampler(
        seed=0, n_startup_trials=4, model_params={"hyperprior_scale": 2.0}))
    study.optimize(cell_objective, n_trials=6)
    assert recorded and all(p["hyperprior_scale"] == 2.0 for p in recorded)
