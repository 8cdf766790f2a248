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


def test_the_search_benchmark_keys_a_linked_cell_default_by_what_it_runs():
    # the default strategy in a linked-cell space runs with the linked cell's features, the prior and distinct
    # networks: its runs are keyed as those options spelt out, and the earlier default is still reachable by its own
    from itertools import product

    from search import resolved

    from gpnas.io.tables import nasbench201_space
    from gpnas.space import Choice, SearchSpace
    from gpnas.space.linked_cell import LinkedCell

    nodes = ("n1", "n2", "n3")
    wirings = tuple("".join(map(str, w)) for w in product(range(1), range(2), range(3)))
    linked = SearchSpace([Choice("wiring", wirings, "links"), *[Choice(n, ("a", "b", "skip"), "op") for n in nodes]],
                         name="linked", cell=LinkedCell("wiring", nodes, ("skip",)))
    default = resolved("auto", space=linked)
    assert default == resolved("auto:features=choices+ops+pairs+outputs,hyperprior_scale=1,distinct_networks=1",
                               space=linked)
    assert default["distinct_networks"] is True and default["hyperprior_scale"] == 1.0
    earlier = resolved("auto:features=choices,hyperprior_scale=none,distinct_networks=0", space=linked)
    assert earlier["features"] == ["choices"] and not {"hyperprior_scale", "distinct_networks"} & set(earlier)
    # an NB201 cell keeps its default, and keys it as before the setting existed
    assert "distinct_networks" not in resolved("auto", space=nasbench201_space())
