import csv

import numpy as np
import pytest
from click.testing import CliRunner

from gpnas.cli import main
from gpnas.exceptions import DataError
from gpnas.study.select import Constraint, latency_of, read_latency_table, select_per_target
from gpnas.study import Study


def test_constraint_parsing_and_errors():
    c = Constraint.parse("macs<=3e6")
    assert (c.cost, c.op, c.limit) == ("macs", "<=", 3e6)
    assert list(c.feasible(np.array([1e6, 4e6]))) == [True, False]
    assert Constraint.parse("tput >= 100").feasible(np.array([150.0]))[0]
    with pytest.raises(DataError, match="cannot parse"):
        Constraint.parse("macs < 3")


def test_selection_matches_brute_force():
    rng = np.random.default_rng(0)
    mean, cost = rng.random(500), rng.random(500)
    picks = select_per_target(mean, {"c": cost}, [Constraint("c", "<=", 0.3)], top=3)["c<=0.3"]
    feasible = [i for i in range(500) if cost[i] <= 0.3]
    assert list(picks) == sorted(feasible, key=lambda i: -mean[i])[:3]
    with pytest.raises(DataError, match="no candidate meets"):
        select_per_target(mean, {"c": cost}, [Constraint("c", "<=", -1)])
    with pytest.raises(DataError, match="unknown cost"):
        select_per_target(mean, {"c": cost}, [Constraint("d", "<=", 1)])


def _latency_csv(path, space, ms):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["choice", "value", "ms"])
        writer.writerow(["_base", "", 2.0])
        for j, c in enumerate(space.choices):
            for i, v in enumerate(c.values):
                writer.writerow([c.name, v, ms(j, i)])


def test_latency_table_is_additive(tmp_path, small_space):
    _latency_csv(tmp_path / "lut.csv", small_space, lambda j, i: 0.1 * (j + 1) * (i + 1))
    table, base = read_latency_table(tmp_path / "lut.csv", small_space)
    X = small_space.enumerate()
    expected = [2.0 + sum(0.1 * (j + 1) * (x[j] + 1) for j in range(len(x))) for x in X]
    np.testing.assert_allclose(latency_of(X, table, base), expected)
    lines = (tmp_path / "lut.csv").read_text().splitlines()
    (tmp_path / "short.csv").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(DataError, match="lacks 1 entries"):
        read_latency_table(tmp_path / "short.csv", small_space)


def test_select_and_report_commands(tmp_path, small_space):
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study(small_space, sampler="mi", seed=0, n_initial=5, storage=url, study_name="sel")
    study.optimize(lambda a: float(small_space.from_dict_arch(a).sum()), budget=20, batch_size=5)
    _latency_csv(tmp_path / "lut.csv", small_space, lambda j, i: 0.5 * i)
    with open(tmp_path / "costs.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(small_space.names + ["flops"])
        for x in small_space.enumerate():
            writer.writerow(list(small_space.to_dict_arch(x).values()) + [int(np.prod(x + 1))])
    runner = CliRunner()
    result = runner.invoke(main, ["select", "sel", "--storage", url, "--costs", str(tmp_path / "costs.csv"),
                                  "--budget", "flops<=4", "--budget", "phone<=3", "--latency",
                                  f"phone={tmp_path / 'lut.csv'}", "--top", "2", "--out", str(tmp_path / "sel.csv")])
    assert result.exit_code == 0, result.output
    assert "flops<=4  #1" in result.output and "phone<=3  #2" in result.output and "Pareto front" in result.output
    with open(tmp_path / "sel.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4
    assert all(float(r["flops"]) <= 4 for r in rows if r["target"] == "flops<=4")
    assert all(float(r["phone"]) <= 3 for r in rows if r["target"] == "phone<=3")
    impossible = runner.invoke(main, ["select", "sel", "--storage", url, "--costs", str(tmp_path / "costs.csv"),
                                      "--budget", "flops<=0.5"])
    assert impossible.exit_code != 0 and "no candidate meets budget flops<=0.5" in impossible.output
    pytest.importorskip("matplotlib")
    report = runner.invoke(main, ["report", "sel", "--storage", url, "--out", str(tmp_path / "rep"),
                                  "--costs", str(tmp_path / "costs.csv")])
    assert report.exit_code == 0, report.output
    assert (tmp_path / "rep" / "index.html").exists() and (tmp_path / "rep" / "pareto.png").exists()


def test_latency_from_a_few_measured_architectures(tmp_path):
    from scipy.stats import spearmanr

    from gpnas.space import make_space
    from gpnas.study.select import latency_model

    space = make_space([(f"k{j}", [3, 5, 7], "kernel") for j in range(4)]
                       + [(f"e{j}", [2, 4, 6], "expansion") for j in range(4)])
    weights = np.array([0.3, 0.5, 0.2, 0.4, 0.6, 0.1, 0.3, 0.2])

    def true_ms(X):
        return np.exp(0.5 + 0.25 * X @ weights + 0.05 * X[:, 0] * X[:, 4])

    rng = np.random.default_rng(0)
    measured = space.sample(20, random_state=rng)
    ms = true_ms(measured) * np.exp(0.02 * rng.standard_normal(20))  # a little measurement noise
    with open(tmp_path / "phone.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(space.names + ["ms"])
        for x, m in zip(measured, ms):
            writer.writerow(list(space.to_dict_arch(x).values()) + [m])
    X = space.enumerate()
    median, upper, used = latency_model(tmp_path / "phone.csv", space, X)
    truth = true_ms(X)
    assert used == 20 and spearmanr(median, truth)[0] > 0.9
    assert np.mean(upper >= truth) > 0.9 and np.all(upper >= median)

    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study(space, sampler="random", seed=0, storage=url, study_name="few", fit_model=False)
    study.optimize(lambda a: float(space.from_dict_arch(a) @ weights), budget=25)
    limit = float(np.quantile(truth, 0.3))
    result = CliRunner().invoke(main, ["select", "few", "--storage", url, "--budget", f"phone<={limit}",
                                       "--latency", f"phone={tmp_path / 'phone.csv'}", "--top", "3",
                                       "--out", str(tmp_path / "sel.csv")])
    assert result.exit_code == 0, result.output
    with open(tmp_path / "sel.csv") as handle:
        rows = list(csv.DictReader(handle))
    picks = np.array([[space.choices[j].index_of(r[n]) for j, n in enumerate(space.names)] for r in rows])
    assert len(rows) == 3 and all(float(r["phone"]) <= limit for r in rows)
    assert np.all(true_ms(picks) <= limit)  # the budget holds on the true latencies, not only on the predicted
    assert all(float(r["phone_predicted"]) <= float(r["phone"]) for r in rows)
    (tmp_path / "three.csv").write_text("\n".join((tmp_path / "phone.csv").read_text().splitlines()[:4]) + "\n")
    few = CliRunner().invoke(main, ["select", "few", "--storage", url, "--budget", "phone<=5",
                                    "--latency", f"phone={tmp_path / 'three.csv'}"])
    assert few.exit_code != 0 and "needs at least 5" in few.output


def test_latency_model_takes_the_studys_macs_and_params_as_side_features(tmp_path):
    pytest.importorskip("torch")
    from scipy.stats import spearmanr

    from gpnas.nets.defaults import objective_from_settings
    from gpnas.nets.spaces import mobilenetv3_space
    from gpnas.study.select import Constraint, latency_model, select_for_study

    space = mobilenetv3_space()
    stored = {"dataset": "digits", "resolution": 16, "width": 0.35, "epochs": 1, "batch_size": 64, "lr": 0.1,
              "val_fraction": 0.2, "seed": 0}
    study = Study(space, sampler="random", seed=0, user_attrs={"objective": stored}, heartbeat_interval=None)
    for trial in study.ask(12):
        study.tell(trial, float(np.random.default_rng(trial.number).random()))
    counter = objective_from_settings(space, stored)

    def device_ms(X):  # a device whose latency follows the work done, with a per-architecture wobble
        macs = np.array([counter.costs(space.to_dict_arch(x))["macs"] for x in X])
        return 0.5 + macs / 2e5 * np.exp(0.05 * np.sin(X.sum(axis=1)))

    measured = space.sample(12, random_state=3)
    with open(tmp_path / "phone.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(space.names + ["ms"])
        for x, ms in zip(measured, device_ms(measured)):
            writer.writerow(list(space.to_dict_arch(x).values()) + [ms])
    result = select_for_study(study, [Constraint.parse("phone<=1000")], {"phone": str(tmp_path / "phone.csv")},
                              pool_size=300)
    truth = device_ms(result.X)
    with_costs = spearmanr(result.costs["phone_predicted"], truth)[0]
    cell_only = spearmanr(latency_model(tmp_path / "phone.csv", space, result.X)[0], truth)[0]
    assert with_costs > 0.85 and with_costs > cell_only + 0.3  # twelve rows rank through the MACs; alone they cannot
    assert np.mean(result.costs["phone"] >= truth) > 0.9


def test_design_then_select_learns_a_new_device_from_a_costs_table(tmp_path):
    # HELP's setting through the CLI: other devices' latencies known for every row of a table, ten rows measured on
    # a new device (chosen by `gpnas design`), the rest predicted from those columns
    from scipy.stats import spearmanr

    from gpnas.io.data import write_architectures
    from gpnas.space import make_space
    from gpnas.study.select import Constraint, latency_model, select_for_study

    space = make_space([(f"p{j}", ["a", "b", "c"], "op") for j in range(6)])
    X = space.enumerate()
    rng = np.random.default_rng(0)
    effects = rng.uniform(0.0, 0.3, size=(2, 6))
    # what every device shares and the choices do not tell (memory layout, kernels picked per network)
    shared = 0.6 * rng.standard_normal(len(X))
    gpu, cpu = np.exp(X @ effects[0] + shared), np.exp(X @ effects[1] + 0.8 * shared + 0.3 * (X[:, 0] == 2))

    def phone_ms(rows):  # the new device: mostly like the CPU, partly like the GPU, a little of its own
        index = np.ravel_multi_index(rows.T, tuple(space.n_options))
        return np.exp(0.7 * np.log(cpu[index]) + 0.3 * np.log(gpu[index]) + 0.05 * np.sin(3.0 * index))

    table, space_file = tmp_path / "costs.csv", tmp_path / "space.yaml"
    space.save(space_file)
    write_architectures(table, space, X, {"gpu_ms": gpu, "cpu_ms": cpu, "note": ["x"] * len(X)})
    runner = CliRunner()
    made = runner.invoke(main, ["design", "--space", str(space_file), "--costs", str(table), "--count", "10",
                                "--out", str(tmp_path / "measure.csv")])
    assert made.exit_code == 0, made.output
    assert "cpu_ms, gpu_ms" in made.output  # the text column is not a cost
    with open(tmp_path / "measure.csv") as handle:
        rows = list(csv.DictReader(handle))
    chosen = np.array([[space.choices[j].index_of(r[n]) for j, n in enumerate(space.names)] for r in rows])
    assert len(rows) == 10 and all(r["ms"] == "" for r in rows) and len(np.unique(chosen, axis=0)) == 10
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study(space, sampler="random", seed=0, storage=url, study_name="table", fit_model=False)
    study.optimize(lambda a: float(space.from_dict_arch(a) @ effects[0]), budget=20)
    unfilled = runner.invoke(main, ["select", "table", "--storage", url, "--budget", "phone<=1", "--costs",
                                    str(table), "--latency", f"phone={tmp_path / 'measure.csv'}"])
    assert unfilled.exit_code != 0 and "ms" in unfilled.output  # the file still waits for its measurements
    write_architectures(tmp_path / "phone.csv", space, chosen, {"ms": phone_ms(chosen)})
    result = select_for_study(study, [Constraint.parse("phone<=1e9")], {"phone": str(tmp_path / "phone.csv")},
                              costs_path=str(table))
    truth = phone_ms(result.X)
    with_table = spearmanr(result.costs["phone_predicted"], truth)[0]
    alone = spearmanr(latency_model(tmp_path / "phone.csv", space, result.X)[0], truth)[0]
    assert with_table > 0.95 and with_table > alone + 0.2
    assert np.mean(result.costs["phone"] >= truth) > 0.9
    limit = float(np.quantile(truth, 0.3))
    picked = runner.invoke(main, ["select", "table", "--storage", url, "--budget", f"phone<={limit}", "--costs",
                                  str(table), "--latency", f"phone={tmp_path / 'phone.csv'}", "--top", "3",
                                  "--out", str(tmp_path / "sel.csv")])
    assert picked.exit_code == 0, picked.output
    with open(tmp_path / "sel.csv") as handle:
        picks = np.array([[space.choices[j].index_of(r[n]) for j, n in enumerate(space.names)]
                          for r in csv.DictReader(handle)])
    assert len(picks) == 3 and np.all(phone_ms(picks) <= limit)  # the budget holds on the true latencies

    # a measured row outside the table: its columns cannot be inputs; said, and the architectures alone are used
    rest = np.ones(len(X), dtype=bool)
    rest[np.ravel_multi_index(chosen[0], tuple(space.n_options))] = False
    write_architectures(tmp_path / "part.csv", space, X[rest], {"gpu_ms": gpu[rest], "cpu_ms": cpu[rest]})
    with pytest.warns(UserWarning, match="1 of 10 measured architectures are not rows of the costs table"):
        fallback = select_for_study(study, [Constraint.parse("phone<=1e9")], {"phone": str(tmp_path / "phone.csv")},
                                    costs_path=str(tmp_path / "part.csv"))
    np.testing.assert_allclose(fallback.costs["phone_predicted"],
                               latency_model(tmp_path / "phone.csv", space, fallback.X)[0])


def test_design_refuses_a_table_without_costs_and_too_many_rows(tmp_path):
    from gpnas.io.data import write_architectures
    from gpnas.space import make_space

    space = make_space([(f"p{j}", [1, 2], "op") for j in range(3)])
    space_file = tmp_path / "space.yaml"
    space.save(space_file)
    write_architectures(tmp_path / "costs.csv", space, space.enumerate(), {"ms": [1.0, 2.0, 0.0, 1, 1, 1, 1, 1]})
    runner = CliRunner()
    none = runner.invoke(main, ["design", "--space", str(space_file), "--costs", str(tmp_path / "costs.csv"),
                                "--out", str(tmp_path / "m.csv")])
    assert none.exit_code != 0 and "no column that is numeric and above zero" in none.output
    write_architectures(tmp_path / "costs.csv", space, space.enumerate(), {"ms": np.arange(1.0, 9.0)})
    many = runner.invoke(main, ["design", "--space", str(space_file), "--costs", str(tmp_path / "costs.csv"),
                                "--count", "9", "--out", str(tmp_path / "m.csv")])
    assert many.exit_code != 0 and "only 8 distinct architectures" in many.output
