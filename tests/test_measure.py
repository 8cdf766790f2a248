"""Filling a design's measurements with a callable (``gpnas.io.measure``), and timing a network
(``gpnas.nets.latency``)."""

import csv

import numpy as np
import pytest

from gpnas.exceptions import DataError
from gpnas.io.data import read_architectures, write_architectures
from gpnas.io.measure import fill_measurements
from gpnas.space import make_space


@pytest.fixture
def design(tmp_path):
    """A 4-position space and six of its architectures to measure (an empty ``ms`` column, as `gpnas design`
    writes) with a note column that must survive; the true latency is multiplicative in the choices."""
    space = make_space([(f"p{j}", ["a", "b", "c"], "op") for j in range(4)])
    X = space.sample(6, random_state=0)
    path = tmp_path / "phone.csv"
    write_architectures(path, space, X, {"ms": [""] * len(X), "note": [f"n{i}" for i in range(len(X))]})
    return space, X, path


def truth(space, arch):
    return float(np.exp(0.3 * space.from_dict_arch(arch).sum()))


def test_every_empty_row_is_measured_once_and_the_file_reads_back(design):
    space, X, path = design
    calls = []
    values = fill_measurements(path, space, lambda arch: calls.append(arch) or truth(space, arch))
    expected = np.exp(0.3 * X.sum(axis=1))  # computed from the indices, not through the dicts
    np.testing.assert_allclose(values, expected)
    assert len(calls) == len(X)
    X_read, ms, rows = read_architectures(path, space, "ms")
    np.testing.assert_array_equal(X_read, X)
    np.testing.assert_allclose(ms, expected)
    assert [r["note"] for r in rows] == [f"n{i}" for i in range(len(X))]  # other columns kept as they were
    # a filled file measures nothing again
    assert np.allclose(fill_measurements(path, space, lambda arch: pytest.fail("measured twice")), expected)


def test_a_crash_keeps_what_was_measured_and_a_rerun_measures_only_the_rest(design):
    space, X, path = design
    seen = []

    def flaky(arch):
        seen.append(arch)
        if len(seen) == 3:
            raise RuntimeError("device disconnected")
        return truth(space, arch)

    with pytest.raises(DataError, match=r"line 4 .*RuntimeError: device disconnected.*saved"):
        fill_measurements(path, space, flaky)
    with open(path, newline="") as handle:
        stored = [r["ms"] for r in csv.DictReader(handle)]
    assert [bool(v) for v in stored] == [True, True, False, False, False, False]
    assert not list(path.parent.glob("*.partial"))
    again = []
    values = fill_measurements(path, space, lambda arch: again.append(arch) or truth(space, arch))
    assert len(again) == 4 and again[0] == space.to_dict_arch(X[2])
    np.testing.assert_allclose(values, np.exp(0.3 * X.sum(axis=1)))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1.0, 0.0, "fast", None])
def test_a_value_that_is_no_latency_is_refused_with_its_row(design, bad):
    space, X, path = design
    values = iter([1.0, bad])
    with pytest.raises(DataError, match=r"line 3 \(.*not a finite number above zero"):
        fill_measurements(path, space, lambda arch: next(values))
    _, _, rows = read_architectures(path, space)
    assert rows[0]["ms"] == "1.0" and rows[1]["ms"] == ""  # the good measurement stays


def test_a_file_without_the_column_or_with_a_bad_stored_value_is_refused(design, tmp_path):
    space, X, path = design
    with pytest.raises(DataError, match="no 'latency' column"):
        fill_measurements(path, space, lambda arch: 1.0, column="latency")
    write_architectures(tmp_path / "bad.csv", space, X[:2], {"ms": ["2.5", "slow"]})
    with pytest.raises(DataError, match=r"line 3: its ms is 'slow'"):
        fill_measurements(tmp_path / "bad.csv", space, lambda arch: 1.0)


def test_filled_measurements_feed_the_latency_model(tmp_path):
    # the path `gpnas select --latency DEVICE=FILE` takes: twenty measured rows predict every architecture
    from scipy.stats import spearmanr

    from gpnas.study.select import latency_model

    space = make_space([(f"p{j}", ["a", "b", "c"], "op") for j in range(6)])
    weights = np.random.default_rng(1).uniform(0.05, 0.4, size=6)
    path = tmp_path / "device.csv"
    write_architectures(path, space, space.sample(20, random_state=1), {"ms": [""] * 20})
    fill_measurements(path, space, lambda arch: float(np.exp(space.from_dict_arch(arch) @ weights)))
    X = space.enumerate()
    median, upper, used = latency_model(path, space, X)
    assert used == 20 and spearmanr(median, np.exp(X @ weights))[0] > 0.9 and np.all(upper >= median)


torch = pytest.importorskip("torch", reason="the torch extra is not installed")


def test_latency_is_the_median_of_the_timed_passes_after_the_warmup(monkeypatch):
    from gpnas.nets import latency

    # a fake clock read before and after each timed pass: timed pass i takes durations[i] seconds
    durations = [0.004, 0.001, 0.003, 0.100, 0.002]
    readings = iter(np.cumsum([v for d in durations for v in (0.0, d)]))
    monkeypatch.setattr(latency, "perf_counter", lambda: float(next(readings)))
    passes = []
    net = torch.nn.Linear(3, 2)
    net.register_forward_hook(lambda module, inputs, output: passes.append((module.training, inputs[0].shape)))
    ms = latency.measure_latency(net, (3,), batch_size=4, repeats=5, warmup=2)
    assert ms == pytest.approx(3.0)  # the median: the slow pass left out
    assert passes == [(False, torch.Size([4, 3]))] * 7  # two warm-up passes, five timed; evaluation mode
    with pytest.raises(ValueError, match="repeats"):
        latency.measure_latency(net, (3,), repeats=0)


def test_a_measurer_builds_each_architecture_and_times_it(design):
    from gpnas.nets.latency import latency_measurer

    space, X, path = design
    built = []

    def build(arch):
        built.append(arch)
        width = 1 + space.from_dict_arch(arch).sum()
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, int(width)))

    values = fill_measurements(path, space, latency_measurer(build, (3, 2, 2), repeats=3, warmup=1))
    assert built == [space.to_dict_arch(x) for x in X] and np.all(values > 0)
    with pytest.raises(ValueError, match="repeats"):
        latency_measurer(build, (3, 2, 2), repeats=0)
