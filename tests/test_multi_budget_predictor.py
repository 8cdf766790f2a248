"""What comes out of a multi-budget study: its predictor at the target budget, and what reads it (best predicted,
recommendation, ``select``, ``report``)."""

import csv

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.stats import norm

from gpnas.cli import main
from gpnas.study.multi_budget import AtBudget, TargetBudgetPredictor, multi_budget_study
from gpnas.study.select import Constraint, select_for_study
from gpnas.space import make_space
from gpnas.study import load_study


def _space():
    return make_space([(f"p{j}", [0, 1, 2], "op") for j in range(5)], name="toy")


def _quality(x):
    return float(np.dot(x, [0.9, 0.5, -0.7, 0.4, 0.3]) + 0.6 * (x[0] == x[1]))


def _objective(space, sign=1.0):
    """Value at budget b: the quality, shrunk and noisier at the short budget (deterministic per pair)."""

    def evaluate(arch, budget):
        x = space.from_dict_arch(arch)
        wobble = np.random.default_rng([int(budget)] + [int(v) for v in x]).normal(0, 0.05 if budget == 100 else 0.3)
        return sign * ((1.0 if budget == 100 else 0.7) * _quality(x) + wobble)

    return evaluate


def _study(direction="maximize", sign=1.0, budget=40, **kwargs):
    space = _space()
    study = multi_budget_study(space, [10, 100], n_initial=10, seed=3, direction=direction, **kwargs)
    study.optimize(AtBudget(_objective(space, sign)), budget=budget)
    return study


@pytest.fixture(scope="module")
def fitted():
    return _study()


def test_the_predictor_is_the_multi_budget_model_at_the_target_budget(fitted):
    predictor = fitted.refit()
    assert isinstance(predictor, TargetBudgetPredictor) and fitted.model_ is predictor
    X = fitted.arch_space.enumerate()
    model = predictor.model
    latent_mean, latent_var = model.predict_latent(X, 100)
    # moments of the back-transformed Gaussian against a Monte Carlo estimate through the transform's inverse
    mean, std = predictor.predict(X[:5], return_std=True)
    draws = latent_mean[:5, None] + np.sqrt(latent_var[:5, None]) * np.random.default_rng(0).standard_normal((5, 40000))
    values = model.transform_.inverse(draws)
    np.testing.assert_allclose(mean, values.mean(axis=1), atol=4 * values.std(axis=1).max() / 200)
    np.testing.assert_allclose(std, values.std(axis=1), rtol=0.03)
    # the interval of a measurement: the latent Gaussian's quantiles with the target budget's noise, mapped back
    noise = model.noise_at(model.coordinate([100.0]))
    lower, upper = predictor.predict_interval(X)
    z = norm.ppf(0.975)
    np.testing.assert_allclose(lower, model.transform_.inverse(latent_mean - z * np.sqrt(latent_var + noise)))
    np.testing.assert_allclose(upper, model.transform_.inverse(latent_mean + z * np.sqrt(latent_var + noise)))
    # the model's own measured-units prediction agrees
    value, lo, hi = model.predict(X)
    np.testing.assert_allclose(predictor.predict(X, include_noise=True), value)
    np.testing.assert_allclose(lower, lo)
    np.testing.assert_allclose(upper, hi)
    # it ranks the toy's true quality well (the long budget is nearly noise-free)
    from scipy.stats import kendalltau

    assert kendalltau(predictor.predict(X), [_quality(x) for x in X])[0] > 0.7
    with pytest.raises(Exception, match="length 5"):
        predictor.predict(np.zeros((1, 6), dtype=int))  # a row of the budget space is not an architecture


def test_a_minimised_study_predicts_in_its_own_units():
    up = _study()
    down = _study(direction="minimize", sign=-1.0)
    assert [t.arch.tolist() for t in up.trials] == [t.arch.tolist() for t in down.trials]
    X = up.arch_space.enumerate()
    np.testing.assert_allclose(down.refit().predict(X), -up.refit().predict(X), rtol=1e-6, atol=1e-8)
    lower, upper = down.refit().predict_interval(X)
    assert np.all(lower < upper)
    np.testing.assert_allclose(lower, -up.refit().predict_interval(X)[1], rtol=1e-6, atol=1e-8)
    assert down.best_predicted(1)[0]["arch"] == up.best_predicted(1)[0]["arch"]


def test_best_predicted_and_recommendations_read_the_target_budget(fitted):
    space, target = fitted.arch_space, fitted.sampler.target_index
    predictor = fitted.refit()
    X = space.enumerate()  # the pool is the whole space here
    best = fitted.best_predicted(1)[0]
    assert "budget" not in best["arch"]
    assert space.from_dict_arch(best["arch"]).tolist() == X[np.argmax(predictor.predict(X))].tolist()
    long = [t for t in fitted.trials_in("done") if t.arch[-1] == target]
    measured = fitted.recommend("measured")
    assert measured["measured"] == max(t.value for t in long)
    lcb = fitted.recommend("lcb")
    Xl = np.array([t.arch[:-1] for t in long])
    mean, std = predictor.predict(Xl, return_std=True)
    assert space.from_dict_arch(lcb["arch"]).tolist() == Xl[np.argmax(mean - 2 * std)].tolist()
    assert fitted.recommend("predicted")["arch"] == best["arch"]
    summary = fitted.summary()
    assert summary["best_predicted"]["arch"] == best["arch"] and summary["recommended"]["arch"] == measured["arch"]


def test_select_picks_the_best_predicted_under_each_budget(fitted, tmp_path):
    space = fitted.arch_space
    X = space.enumerate()
    with open(tmp_path / "costs.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(space.names + ["flops"])
        for x in X:
            writer.writerow(list(space.to_dict_arch(x).values()) + [int(x.sum())])
    result = select_for_study(fitted, [Constraint.parse("flops<=4")], {}, str(tmp_path / "costs.csv"), top=2)
    mean = fitted.refit().predict(X)
    feasible = np.flatnonzero(X.sum(axis=1) <= 4)
    expected = feasible[np.argsort(-mean[feasible])[:2]]
    assert [result.X[i].tolist() for i in result.chosen["flops<=4"]] == [X[i].tolist() for i in expected]


def test_select_and_report_commands_read_a_stored_multi_budget_study(tmp_path):
    pytest.importorskip("matplotlib")
    url = f"sqlite:///{tmp_path / 'mb.db'}"
    _study(storage=url, study_name="mb", budget=50)
    study = load_study("mb", url)
    assert study.model_ is None and study.rounds == []  # refitted on demand, never read from the store
    space = study.arch_space
    with open(tmp_path / "costs.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(space.names + ["flops"])
        for x in space.enumerate():
            writer.writerow(list(space.to_dict_arch(x).values()) + [int(x.sum())])
    runner = CliRunner()
    selected = runner.invoke(main, ["select", "mb", "--storage", url, "--costs", str(tmp_path / "costs.csv"),
                                    "--budget", "flops<=3"])
    assert selected.exit_code == 0, selected.output
    assert "flops<=3  #1" in selected.output and "budget=" not in selected.output
    report = runner.invoke(main, ["report", "mb", "--storage", url, "--out", str(tmp_path / "rep"),
                                  "--costs", str(tmp_path / "costs.csv")])
    assert report.exit_code == 0, report.output
    page = (tmp_path / "rep" / "index.html").read_text()
    for figure in ("budgets_cost.png", "short_vs_long.png", "pareto.png"):
        assert (tmp_path / "rep" / figure).exists() and figure in page
    assert "at budget 100" in page and f"{space.size} architectures" in page


def test_a_theorem_3_stop_is_refused():
    with pytest.raises(ValueError, match="no Theorem 3 stop"):
        multi_budget_study(_space(), [10, 100], mse_threshold=0.1)
