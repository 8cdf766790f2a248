"""What a newcomer reads: the search's last lines, show, select, fit and the progress bar, through the CLI."""

import csv
import os
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from gpnas.cli import main


def run(*args, cwd=None):
    old = os.getcwd()
    if cwd:
        os.chdir(cwd)
    try:
        return CliRunner().invoke(main, [str(a) for a in args])
    finally:
        os.chdir(old)


@pytest.fixture
def table(tmp_path, small_space):
    """Every architecture of the small space with a value at 0.1 resolution (an accuracy as a trainer prints it)."""
    small_space.save(tmp_path / "space.yaml")
    with open(tmp_path / "table.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(small_space.names + ["acc"])
        for x in small_space.enumerate():
            writer.writerow(list(small_space.to_dict_arch(x).values()) + [f"{90 + 0.7 * x.sum() + 0.1 * x[0]:.1f}"])
    return tmp_path


def test_search_summary_is_at_the_data_resolution_and_says_what_its_numbers_mean(table):
    url = f"sqlite:///{table / 'g.db'}"
    result = run("search", "--space", "space.yaml", "--table", "table.csv", "--target", "acc", "--budget", 12,
                 "--study", "s", "--storage", url, cwd=table)
    assert result.exit_code == 0, result.output
    value = re.search(r"best found: .* value (\S+)", result.output).group(1)
    assert re.fullmatch(r"\d+\.\d", value)  # 0.1-resolution values are quoted to one decimal, not four
    assert "root mean square" in result.output and "spread (sd)" in result.output
    assert re.search(r"replay: (reached the table's best|the best found ranks \d+ of 72)", result.output)
    assert not (table / "run.json").exists()  # nothing written beside the study unless --out says so
    shown = run("show", "s", "--storage", url, cwd=table)
    assert "stopped: budget reached; 12 done" in shown.output


def test_a_best_from_the_random_start_says_so_and_only_then(table):
    from gpnas.study import load_study

    url = f"sqlite:///{table / 'g.db'}"
    for seed in range(6):  # four random starts and a budget of six: some seeds keep a start as their best
        result = run("search", "--space", "space.yaml", "--table", "table.csv", "--target", "acc", "--budget", 6,
                     "--n-initial", 4, "--seed", seed, "--study", f"s{seed}", "--storage", url, cwd=table)
        assert result.exit_code == 0, result.output
        best = load_study(f"s{seed}", url).best_trial.number
        note = re.search(r"\(trial (\d+), one of the 4 random starting trials", result.output)
        assert (note is not None) == (best < 4) and (note is None or int(note.group(1)) == best)


def test_out_says_when_it_replaces_a_file(table):
    (table / "run.json").write_text("{}")
    result = run("search", "--space", "space.yaml", "--table", "table.csv", "--target", "acc", "--budget", 5,
                 "--out", "run.json", "--storage", f"sqlite:///{table / 'g.db'}", cwd=table)
    assert result.exit_code == 0 and "(replacing the file that was there)" in result.output
    assert len((table / "run.json").read_text()) > 2


def test_fit_says_how_well_the_model_ranks(table):
    result = run("fit", "--space", "space.yaml", "--data", "table.csv", "--target", "acc", "--out", "m.npz",
                 cwd=table)
    assert result.exit_code == 0, result.output
    tau = float(re.search(r"leave-one-out Kendall tau (-?[\d.]+)", result.output).group(1))
    assert tau > 0.8  # a smooth table: the model ranks each architecture from the others


def test_select_on_a_table_study_asks_for_costs_and_prints_compact_intervals(table, small_space):
    url = f"sqlite:///{table / 'g.db'}"
    assert run("search", "--space", "space.yaml", "--table", "table.csv", "--target", "acc", "--budget", 12,
               "--study", "s", "--storage", url, cwd=table).exit_code == 0
    plain = run("select", "s", "--budget", "macs<=3e6", "--storage", url, cwd=table)
    assert plain.exit_code != 0 and "--costs" in plain.output and "known: none" in plain.output
    with open(table / "costs.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(small_space.names + ["macs"])
        for x in small_space.enumerate():
            writer.writerow(list(small_space.to_dict_arch(x).values()) + [float(x.sum()) * 1e6])
    result = run("select", "s", "--budget", "macs<=3e6", "--costs", "costs.csv", "--storage", url, cwd=table)
    assert result.exit_code == 0, result.output
    assert "95 % interval for a measurement" in result.output and "±" not in result.output
    count = int(re.search(r"against macs: (\d+) architectures", result.output).group(1))
    listed = [line for line in result.output.splitlines() if line.startswith("  macs=")]
    assert len(listed) == count or f"{len(listed)} of them shown" in result.output
    assert all("=" not in line.split("  ")[-1] for line in listed)  # the compact form, not name=value pairs


def test_progress_bar_fits_80_columns_and_draws_once_per_trial(table):
    env = {**os.environ, "COLUMNS": "80"}
    proc = subprocess.run([sys.executable, "-m", "gpnas", "search", "--space", "space.yaml", "--table", "table.csv",
                           "--target", "acc", "--budget", "10", "--storage", f"sqlite:///{table / 'p.db'}"],
                          cwd=table, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    frames = [f for f in re.split(r"[\r\n]", proc.stderr) if "trials |" in f]
    assert frames and all(len(f.rstrip()) <= 80 for f in frames)
    assert len(frames) <= 10 + 3  # one draw per finished trial (plus the first and the last)
    assert any("best " in f for f in frames)
