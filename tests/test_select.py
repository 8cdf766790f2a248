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
