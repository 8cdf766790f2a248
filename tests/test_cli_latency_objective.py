"""`gpnas search --latency DEVICE=LUT.csv --objective latency_DEVICE:min`: a device's latency table as an objective of
a training search (counted from the child's choices, not measured)."""

import csv

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("torch", reason="the torch extra is not installed")

from gpnas.cli import main  # noqa: E402
from gpnas.nets.spaces import mobilenetv3_space  # noqa: E402
from gpnas.study import load_study  # noqa: E402

TINY = ["--dataset", "digits", "--width", "0.25", "--resolution", "12", "--n-initial", "2", "--batch-size", "1",
        "--seed", "5"]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def write_lut(path, space, scale=1.0):
    """Every (choice, value) of ``space`` with a made-up latency; returns the table as an array ``(d, max options)``
    and its base, for an independent sum."""
    lut = np.zeros((space.n_positions, max(space.n_options)))
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["choice", "value", "ms"])
        writer.writerow(["_base", "", 2.5 * scale])
        for j, choice in enumerate(space.choices):
            for i, value in enumerate(choice.values):
                lut[j, i] = scale * (0.01 * (j % 7) + 0.1 * i)
                writer.writerow([choice.name, value, lut[j, i]])
    return lut, 2.5 * scale


def test_a_training_search_minimises_a_device_s_latency_from_its_table(tmp_path):
    space = mobilenetv3_space()
    lut, base = write_lut(tmp_path / "phone.csv", space)
    url = f"sqlite:///{tmp_path / 's.db'}"
    common = ["--latency", f"phone={tmp_path / 'phone.csv'}", "--objective", "accuracy:max", "--objective",
              "latency_phone:min", "--storage", url, "--study", "lat", *TINY]
    result = run("search", "--budget", 3, *common)
    assert result.exit_code == 0, result.output
    study = load_study("lat", url)
    assert study.directions == ["maximize", "minimize"]
    done = study.trials_in("done")
    assert len(done) == 3
    for trial in done:  # the table summed over the child's choices, computed here from the array
        expected = base + lut[np.arange(space.n_positions), trial.arch].sum()
        assert trial.values[1] == pytest.approx(expected)
        assert 0.0 <= trial.values[0] <= 100.0  # trained: a held-out accuracy in %
    resumed = run("search", "--budget", 4, *common)
    assert resumed.exit_code == 0, resumed.output
    write_lut(tmp_path / "other.csv", space, scale=2.0)
    other = run("search", "--budget", 5, *[str(a).replace("phone.csv", "other.csv") for a in common])
    assert other.exit_code != 0 and "latency" in other.output  # another table: another objective


def test_latency_options_that_do_not_fit_are_refused(tmp_path, small_space):
    space = mobilenetv3_space()
    write_lut(tmp_path / "phone.csv", space)
    url = f"sqlite:///{tmp_path / 'r.db'}"
    lut = ["--latency", f"phone={tmp_path / 'phone.csv'}"]
    cases = [
        ([*lut, "--objective", "accuracy:max"], "no --objective latency_phone:min uses it"),
        (["--objective", "accuracy:max", "--objective", "latency_phone:min"], "latency_DEVICE with --latency"),
        ([*lut, "--objective", "accuracy:max", "--objective", "latency_pixel:min"], "latency_phone"),
        (["--latency", "phone", "--objective", "accuracy:max"], "expected DEVICE=FILE.csv"),
    ]
    for extra, message in cases:
        result = run("search", "--storage", url, *TINY, *extra)
        assert result.exit_code != 0 and message in result.output, (extra, result.output)
    small_space.save(tmp_path / "space.yaml")
    table = run("search", "--space", tmp_path / "space.yaml", "--table", tmp_path / "phone.csv", "--target", "ms",
                "--storage", url, *lut)
    assert table.exit_code != 0 and "--latency applies to training searches" in table.output
    bad = tmp_path / "bad.csv"
    bad.write_text("choice,value,ms\n_base,,1\n")
    short = run("search", "--storage", url, *TINY, "--latency", f"phone={bad}", "--objective", "accuracy:max",
                "--objective", "latency_phone:min", "--budget", 2)
    assert short.exit_code != 0 and "lacks" in short.output
    assert not (tmp_path / "r.db").exists()  # nothing was created for a refused command
