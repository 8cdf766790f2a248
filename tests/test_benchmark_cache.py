"""The benchmarks' JSON-lines caches: a run killed while writing its row loses that row only."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _common import append_cached_run, cached_rows, read_cached_runs  # noqa: E402


def test_a_last_line_cut_short_is_left_out_with_a_warning(tmp_path):
    path = tmp_path / "runs.jsonl"
    for seed in range(3):
        append_cached_run(path, {"seed": seed, "value": seed / 2})
    with path.open("a") as handle:
        handle.write(json.dumps({"seed": 3, "value": 1.5})[:9])  # killed mid-write
    with pytest.warns(UserWarning, match="last line is cut short"):
        runs = read_cached_runs(path, ("seed",))
    assert sorted(runs) == [(0,), (1,), (2,)] and runs[(2,)]["value"] == 1.0
    # the next finished run drops the cut line and starts a line of its own: nothing else is lost
    append_cached_run(path, {"seed": 4, "value": 2.0})
    assert sorted(read_cached_runs(path, ("seed",))) == [(0,), (1,), (2,), (4,)]
    assert path.read_text().count("\n") == 4


def test_a_bad_line_in_the_middle_is_an_error_naming_it(tmp_path):
    path = tmp_path / "runs.jsonl"
    path.write_text('{"seed": 0}\nnot json\n{"seed": 2}\n')
    with pytest.raises(ValueError, match=r"runs.jsonl, line 2: not a JSON row"):
        cached_rows(path)


def test_a_missing_cache_is_empty(tmp_path):
    assert cached_rows(tmp_path / "none.jsonl") == [] and read_cached_runs(tmp_path / "none.jsonl", ("seed",)) == {}
