"""NAS-Bench-Graph tables from the nas-bench-graph package (the test extra installs it)."""

import sys

import numpy as np
import pytest

from gpnas.exceptions import DataError
from gpnas.io.nas_bench_graph import NBGRAPH_DATASETS, load_nasbench_graph, nasbench_graph_space
from gpnas.io.tables import load_table


def _row(table, links, ops):
    """The table row of a code given as the package writes it (a link list and operation names)."""
    space = table.space
    code = [space.choices[0].index_of("".join(map(str, links)))] + [space.choices[i + 1].index_of(op)
                                                                    for i, op in enumerate(ops)]
    (index,) = np.flatnonzero((table.X == code).all(axis=1))
    return index


def test_every_code_but_the_all_skip_ones_is_a_row_of_one_of_26206_classes(real_table):
    table = real_table("nbgraph-cora")
    assert table.space.size == 9 * 9**4
    assert table.X.shape == (9 * 9**4 - 9, 5)
    table.space.validate(table.X)
    assert len({tuple(x) for x in table.X}) == len(table.X)
    skip = table.space.choices[1].index_of("skip")
    assert not (table.X[:, 1:] == skip).all(axis=1).any()
    dedup = table.deduplicated()
    assert len(dedup.y) == 26206
    # rows of one class are one trained network: the same value in every column
    for column in [table.y] + list(table.extra.values()):
        _, inverse = np.unique(table.dedup_key, return_inverse=True)
        spread = np.zeros(inverse.max() + 1)
        np.maximum.at(spread, inverse, np.abs(column - column[np.unique(inverse, return_index=True)[1]][inverse]))
        assert spread.max() == 0.0


def test_isomorphic_codes_share_a_class_and_the_package_example_reads_its_value(real_table):
    import nas_bench_graph

    table = real_table("nbgraph-cora")
    # four nodes that all read the input are interchangeable: any order of their operations is one network
    a = _row(table, [0, 0, 0, 0], ["gcn", "gat", "sage", "fc"])
    b = _row(table, [0, 0, 0, 0], ["fc", "sage", "gat", "gcn"])
    assert table.dedup_key[a] == table.dedup_key[b]
    c = _row(table, [0, 0, 0, 1], ["gcn", "gin", "cheb", "fc"])
    assert table.dedup_key[c] != table.dedup_key[a]
    # the package README's example, gin(gcn(x)) -> fc and gcn(x) -> cheb, is not one of the nine link patterns; as a
    # row the same network is 0112: node 2 (gin) and node 3 (cheb) read node 1 (gcn), node 4 (fc) reads node 2
    bench = nas_bench_graph.light_read("cora")
    expected = bench[nas_bench_graph.Arch([0, 1, 2, 1], ["gcn", "gin", "fc", "cheb"]).valid_hash()]
    row = _row(table, [0, 1, 1, 2], ["gcn", "gin", "cheb", "fc"])
    assert table.y[row] == expected["perf"]
    assert table.extra["valid_perf"][row] == expected["valid_perf"]
    assert table.extra["params"][row] == expected["para"]


def test_every_dataset_loads_by_name(real_table):
    for dataset in NBGRAPH_DATASETS:
        table = real_table(f"nbgraph-{dataset}")
        assert len(np.unique(table.dedup_key)) == 26206
        assert 0.0 < table.y.min() < table.y.max() <= 1.0


def test_unknown_dataset_and_missing_package_are_clear_errors(monkeypatch):
    with pytest.raises(DataError, match="unknown NAS-Bench-Graph dataset 'proteins'"):
        load_nasbench_graph("proteins")
    with pytest.raises(DataError, match="unknown benchmark table"):
        load_table("nbgraph")
    monkeypatch.setitem(sys.modules, "nas_bench_graph", None)  # as if it were not installed
    with pytest.raises(DataError, match=r"pip install 'gpnas\[graph\]'"):
        nasbench_graph_space()


def test_the_space_survives_a_space_file(tmp_path):
    """The link patterns are digit strings: a space file must keep them strings (``0012`` is no number)."""
    from gpnas.space import SearchSpace

    space = nasbench_graph_space()
    path = tmp_path / "graph.yaml"
    space.save(path)
    again = SearchSpace.load(path)
    assert again.choices[0].values == space.choices[0].values
    assert again.choices[0].values[3] == "0012"


def test_the_space_is_built_in_by_name():
    from gpnas.io.builtin import BUILTIN_SPACES, resolve_space

    assert "nas-bench-graph" in BUILTIN_SPACES
    space = resolve_space("nas-bench-graph")
    assert space.size == 9 * 9**4 and [c.group for c in space.choices] == ["links"] + ["op"] * 4


def test_the_command_line_exports_and_replays_a_table(tmp_path, real_table):
    """`gpnas table nbgraph-cora` writes the codes with the link patterns as digit strings, and `gpnas search`
    replays a short search on the export (every value read back matches the package's)."""
    import csv

    from click.testing import CliRunner

    from gpnas.cli import main

    table = real_table("nbgraph-cora")
    runner = CliRunner()
    result = runner.invoke(main, ["table", "nbgraph-cora", "--out", str(tmp_path / "g.csv"), "--space-out",
                                  str(tmp_path / "g.yaml")])
    assert result.exit_code == 0, result.output
    with open(tmp_path / "g.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(table.y) and rows[3]["links"] == "0000"
    assert {"valid_perf", "latency", "params"} <= set(rows[0])
    result = runner.invoke(main, ["search", "--space", str(tmp_path / "g.yaml"), "--table", str(tmp_path / "g.csv"),
                                  "--target", "target", "--budget", "8", "--storage",
                                  f"sqlite:///{tmp_path / 'g.db'}", "--out", str(tmp_path / "run.json")])
    assert result.exit_code == 0, result.output
    import json

    trials = json.loads((tmp_path / "run.json").read_text())["trials"]
    assert len(trials) == 8
    values = {tuple(str(v) for v in r.values())[:5]: float(r["target"]) for r in rows}
    for trial in trials:
        arch = trial["arch"]
        assert values[(str(arch["links"]), *(arch[f"node{i}"] for i in range(1, 5)))] == trial["value"]
