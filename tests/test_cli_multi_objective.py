"""`gpnas search --objective NAME:max|min` (repeated): a multi-objective search over a table's columns, its Pareto
front in the summary, `show` and `export`, a resume, and the option combinations that are refused."""

import csv

import numpy as np
from click.testing import CliRunner

from gpnas.cli import main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def two_column_table(path, space):
    """Every architecture with an accuracy and a latency that grows with it (a trade-off)."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(space.names + ["acc", "lat"])
        for x in space.enumerate():
            acc = 70 + 2 * x[0] + 1.5 * x[1] + x[2] + 0.5 * x[3] + 1.2 * x[4]
            lat = 1 + x[0] ** 2 + x[1] ** 2 + 0.8 * x[2] + 0.5 * x[4]
            writer.writerow(list(space.to_dict_arch(x).values()) + [acc, lat])


def test_a_table_search_over_two_columns_prints_and_exports_its_front(tmp_path, small_space):
    small_space.save(tmp_path / "space.yaml")
    two_column_table(tmp_path / "t.csv", small_space)
    url = f"sqlite:///{tmp_path / 'g.db'}"
    common = ["--table", tmp_path / "t.csv", "--objective", "acc:max", "--objective", "lat:min", "--study", "mo",
              "--storage", url, "--batch-size", 2]
    first = run("search", "--space", tmp_path / "space.yaml", "--budget", 16, *common)
    assert first.exit_code == 0, first.output
    assert "Pareto front of the measured trials:" in first.output and "best found" not in first.output
    resumed = run("search", "--budget", 20, *common)
    assert resumed.exit_code == 0 and "resuming study 'mo': 16 done" in resumed.output, resumed.output
    other = run("search", "--budget", 24, *[a if a != "lat:min" else "lat:max" for a in common])
    assert other.exit_code != 0 and "other settings (objectives" in other.output
    shown = run("show", "mo", "--storage", url)
    assert shown.exit_code == 0 and "directions maximize, minimize (acc:maximize, lat:minimize)" in shown.output
    assert run("export", "mo", "--out", tmp_path / "e.csv", "--storage", url).exit_code == 0
    with open(tmp_path / "e.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 20 and {"values_0", "values_1", "pareto"} <= set(rows[0]) and "value" not in rows[0]
    values = np.array([[float(r["values_0"]), float(r["values_1"])] for r in rows])
    for r, (acc, lat) in zip(rows, values):  # a front row is dominated by no other row, and every other row is
        dominated = np.any((values[:, 0] >= acc) & (values[:, 1] <= lat) & ((values[:, 0] > acc) | (values[:, 1] < lat)))
        assert r["pareto"] == ("0" if dominated else "1")
    printed = [line for line in shown.output.splitlines() if line.startswith("  trial ")]
    assert len(printed) == sum(r["pareto"] == "1" for r in rows)
    report = run("report", "mo", "--storage", url, "--out", tmp_path / "rep")
    assert report.exit_code == 0, report.output
    page = (tmp_path / "rep" / "index.html").read_text()
    assert "directions maximize, minimize" in page and "Pareto front of the measured trials" in page
    assert (tmp_path / "rep" / "front.png").stat().st_size > 5000 and (tmp_path / "rep" / "hypervolume.png").exists()


def test_objective_options_that_do_not_fit_are_refused(tmp_path, small_space):
    small_space.save(tmp_path / "space.yaml")
    two_column_table(tmp_path / "t.csv", small_space)
    base = ["search", "--space", tmp_path / "space.yaml", "--table", tmp_path / "t.csv",
            "--storage", f"sqlite:///{tmp_path / 'g.db'}"]
    cases = [
        (["--objective", "acc"], "expected NAME:max or NAME:min"),
        (["--objective", "acc:up"], "expected NAME:max or NAME:min"),
        (["--objective", "acc:max", "--target", "acc"], "not both"),
        (["--objective", "acc:max", "--direction", "minimize"], "not both"),
        (["--objective", "acc:max", "--objective", "acc:min"], "twice"),
        (["--objective", "acc:max", "--objective", "lat:min", "--mse-threshold", "0.1"], "applies to one objective"),
        (["--objective", "acc:max", "--objective", "nope:min"], "lacks column"),
    ]
    for extra, message in cases:
        result = run(*base, *extra)
        assert result.exit_code != 0 and message in result.output, (extra, result.output)
    training = run("search", "--objective", "accuracy:max", "--objective", "latency:min",
                   "--storage", f"sqlite:///{tmp_path / 'g.db'}")
    assert training.exit_code != 0 and "accuracy, macs, params" in training.output
    assert not (tmp_path / "g.db").exists()  # nothing was created for a refused command


def test_a_single_objective_option_is_the_target_and_direction(tmp_path, small_space):
    small_space.save(tmp_path / "space.yaml")
    two_column_table(tmp_path / "t.csv", small_space)
    result = run("search", "--space", tmp_path / "space.yaml", "--table", tmp_path / "t.csv", "--objective",
                 "lat:min", "--budget", 12, "--storage", f"sqlite:///{tmp_path / 'g.db'}")
    assert result.exit_code == 0, result.output
    assert "best found" in result.output and "replay: " in result.output
