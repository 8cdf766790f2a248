"""Linked cells (gpnas.space.linked_cell): a DAG of operation nodes wired by a choice, and its structural features."""

from itertools import product

import numpy as np
import pytest

from gpnas import GPNASRegressor
from gpnas.exceptions import SpaceError
from gpnas.space import Choice, SearchSpace
from gpnas.space.encoding import Encoder
from gpnas.space import linked_cell
from gpnas.space.linked_cell import LinkedCell

OPS = ("a", "b", "c", "skip")
WIRINGS = tuple("".join(map(str, w)) for w in product(range(1), range(2), range(3), range(4)))


def _space(ops=OPS, wirings=WIRINGS, identity=("skip",)) -> SearchSpace:
    nodes = tuple(f"n{i}" for i in range(1, 5))
    return SearchSpace([Choice("wiring", wirings, "links"), *[Choice(n, ops, "op") for n in nodes]], name="linked",
                       cell=LinkedCell("wiring", nodes, identity))


def _brute_force(wiring: str, ops: list[str], identity=("skip",)) -> dict:
    """Walk every chain from the input to the output by hand: ops counted, (feeder, op) pairs, chain ends and
    lengths, identities skipped and identity-only chains dropped."""
    parent = {i + 1: int(d) for i, d in enumerate(wiring)}
    counts: dict = {}

    def add(key):
        counts[key] = counts.get(key, 0) + 1

    def chain(node):  # the non-identity operations from the input to ``node``, in order
        seq = []
        while node:
            if ops[node - 1] not in identity:
                seq.append(ops[node - 1])
            node = parent[node]
        return seq[::-1]

    for node in range(1, len(ops) + 1):
        seq = chain(node)
        if ops[node - 1] not in identity:
            add(("ops", ops[node - 1]))
            add(("pairs", f"{seq[-2] if len(seq) > 1 else 'input'}>{seq[-1]}"))
        if node not in parent.values() and seq:
            add(("outputs", f"end:{seq[-1]}"))
            add(("outputs", f"length:{len(seq)}"))
    return counts


@pytest.mark.parametrize("limit", [linked_cell.TABULATE_LIMIT, 0], ids=["tabulated", "traced"])
def test_features_equal_a_hand_walk_of_every_chain(monkeypatch, limit):
    # a space this small has its features tabulated once and looked up; with no table they are traced each time
    monkeypatch.setattr(linked_cell, "TABULATE_LIMIT", limit)
    space = _space()
    features = space.cell_features()
    X = space.sample(400, random_state=0)
    blocks = features.transform(X, ["ops", "pairs", "outputs"])
    for x, *rows in zip(X, blocks["ops"], blocks["pairs"], blocks["outputs"]):
        arch = space.to_dict_arch(x)
        expected = _brute_force(arch["wiring"], [arch[f"n{i}"] for i in range(1, 5)])
        got = {(block, name): value for block, row in zip(("ops", "pairs", "outputs"), rows)
               for name, value in zip(features.names[block], row) if value}
        assert got == expected, arch


def test_looked_up_features_equal_traced_ones_where_the_cell_is_not_the_whole_space():
    # positions outside the cell and the cell's own in another order than the space's: the table is indexed by the
    # cell's positions alone, so every other position must leave the features as traced
    nodes = tuple(f"n{i}" for i in range(1, 5))
    choices = [Choice("n3", OPS, "op"), Choice("width", (16, 32, 64), "width"), Choice("wiring", WIRINGS, "links"),
               Choice("n1", OPS, "op"), Choice("n4", OPS, "op"), Choice("n2", OPS, "op")]
    space = SearchSpace(choices, name="mixed", cell=LinkedCell("wiring", nodes, ("skip",)))
    features = space.cell_features()
    X = space.sample(500, random_state=1)
    looked_up = features.transform(X, ["pairs", "outputs", "ops"])
    traced = features.trace(X[:, features.positions], ["pairs", "outputs", "ops"])
    assert list(looked_up) == list(traced)
    for block in traced:
        np.testing.assert_array_equal(looked_up[block], traced[block])
        assert looked_up[block].dtype == np.float64
    # a position outside the cell changes nothing
    other_width = X.copy()
    other_width[:, 1] = (other_width[:, 1] + 1) % 3
    np.testing.assert_array_equal(features.transform(other_width, ["pairs"])["pairs"], looked_up["pairs"])


def test_a_hand_computed_chain_through_identities():
    space = _space()
    features = space.cell_features()
    # node 1 = a on the input; node 2 = skip reading node 1; node 3 = b reading node 2 (so fed by a); node 4 = skip
    # on the input, a leaf of identities alone
    x = space.from_dict_arch({"wiring": "0120", "n1": "a", "n2": "skip", "n3": "b", "n4": "skip"})
    blocks = features.transform(x[None], ["ops", "pairs", "outputs"])
    named = {b: dict(zip(features.names[b], blocks[b][0])) for b in blocks}
    assert named["ops"] == {"a": 1, "b": 1, "c": 0}
    assert {k for k, v in named["pairs"].items() if v} == {"input>a", "a>b"}
    assert {k: v for k, v in named["outputs"].items() if v} == {"end:b": 1, "length:2": 1}


def test_relabelled_nodes_give_the_same_features():
    # the same network written twice: nodes 1 and 2 swapped (the wiring rewritten to match)
    space = _space()
    features = space.cell_features()
    one = space.from_dict_arch({"wiring": "0012", "n1": "a", "n2": "b", "n3": "c", "n4": "skip"})
    two = space.from_dict_arch({"wiring": "0021", "n1": "b", "n2": "a", "n3": "c", "n4": "skip"})
    both = features.transform(np.stack([one, two]), ["ops", "pairs", "outputs"])
    for block in both.values():
        np.testing.assert_array_equal(block[0], block[1])
    # and a different network differs
    three = space.from_dict_arch({"wiring": "0012", "n1": "a", "n2": "b", "n3": "skip", "n4": "c"})
    assert not np.array_equal(features.transform(np.stack([one, three]), ["pairs"])["pairs"][0],
                              features.transform(np.stack([one, three]), ["pairs"])["pairs"][1])


def test_nas_bench_graph_codes_of_one_class_get_the_same_features(real_table):
    table = real_table("nbgraph-cora")
    features = table.space.cell_features()
    Z = np.hstack(list(features.transform(table.X, ["ops", "pairs", "outputs"]).values()))
    _, first, inverse = np.unique(table.dedup_key, return_index=True, return_inverse=True)
    np.testing.assert_array_equal(Z, Z[first][inverse])


def test_the_encoder_lays_out_one_kernel_group_per_block():
    space = _space()
    encoder = Encoder(space.n_options, space.groups, "onehot", ["choices", "ops", "pairs", "outputs"],
                      space.cell_features())
    assert encoder.group_names == ["links", "op", "cell:ops", "cell:pairs", "cell:outputs"]
    m = 3  # a, b, c
    assert [len(c) for c in encoder.group_columns[2:]] == [m, (m + 1) * m, m + 4]
    assert encoder.transform(space.sample(5, random_state=1)).shape == (5, encoder.n_features)
    with pytest.raises(ValueError, match="not features of this space's LinkedCell"):
        Encoder(space.n_options, space.groups, "onehot", ["paths"], space.cell_features())


def test_a_model_on_a_linked_cell_space_uses_its_structure_by_default():
    space = _space()
    X = space.sample(40, random_state=2)
    y = space.cell_features().transform(X, ["pairs"])["pairs"] @ np.linspace(-1, 1, 12)
    model = GPNASRegressor(space=space, random_state=0).fit(X, y)
    assert model.group_names_[-3:] == ["cell:ops", "cell:pairs", "cell:outputs"]


def test_a_linked_cell_round_trips_through_a_space_file(tmp_path):
    space = _space()
    for suffix in (".yaml", ".json"):
        path = tmp_path / f"space{suffix}"
        space.save(path)
        loaded = SearchSpace.load(path)
        assert loaded.cell == space.cell
        assert loaded == space


@pytest.mark.parametrize("spec, message", [
    ({"links": "wiring", "nodes": ["n1", "n2", "n3", "missing"]}, "are not choices of the space"),
    ({"links": "wiring", "nodes": "n1"}, "'nodes' must be a list"),
    ({"nodes": ["n1"]}, "missing 'links'"),
    ({"links": "wiring", "nodes": ["n1", "n2", "n3", "n4"], "edges": {}}, "unknown keys"),
])
def test_a_malformed_linked_cell_is_refused_by_name(spec, message):
    base = _space().to_dict()
    base["cell"] = spec
    with pytest.raises(SpaceError, match=message):
        SearchSpace.from_dict(base)


@pytest.mark.parametrize("wiring", ["0030", "012", "00a1", "1000"])
def test_a_wiring_that_reads_a_later_node_or_is_not_digits_is_refused(wiring):
    with pytest.raises(SpaceError, match=f"wiring '{wiring}'"):
        _space(wirings=("0000", wiring))


def test_the_command_line_fits_nas_bench_graph_with_its_linked_cell_and_names_a_foreign_feature(tmp_path, real_table):
    from click.testing import CliRunner

    from gpnas.cli import main
    from gpnas.store.model_files import load_model

    real_table("nbgraph-cora")  # skip/fail consistently when the package is absent

    def run(*args):
        return CliRunner().invoke(main, [str(a) for a in args])

    data, space = tmp_path / "cora.csv", tmp_path / "cora.yaml"
    result = run("table", "nbgraph-cora", "--out", data, "--space-out", space, "--dedup")
    assert result.exit_code == 0, result.output
    assert SearchSpace.load(space).cell == LinkedCell("links", ("node1", "node2", "node3", "node4"), ("skip",))
    common = ("fit", "--space", space, "--data", data, "--target", "target", "--max-rows", 60)
    result = run(*common, "--features", "choices,paths", "--out", tmp_path / "bad.json")
    assert result.exit_code != 0 and "['paths'] are not features of the space's LinkedCell" in result.output
    assert not (tmp_path / "bad.json").exists()
    result = run(*common, "--out", tmp_path / "model.json")
    assert result.exit_code == 0, result.output
    assert load_model(tmp_path / "model.json").group_names_[-3:] == ["cell:ops", "cell:pairs", "cell:outputs"]


def test_a_wiring_written_as_a_yaml_number_is_refused_with_a_hint_to_quote_it(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text("choices:\n  - {name: wiring, values: [0000, 0012], group: links}\n"
                    "  - {name: n, values: [a, skip], group: op, repeat: 4}\n"
                    "cell: {links: wiring, nodes: [n_0, n_1, n_2, n_3], identity: [skip]}\n")
    with pytest.raises(SpaceError, match="quote it in a space file"):
        SearchSpace.load(path)
    path.write_text(path.read_text().replace("[0000, 0012]", "['0000', '0012']"))
    space = SearchSpace.load(path)
    assert space.cell_features().transform(space.sample(3, random_state=0), ["pairs"])["pairs"].shape == (3, 2)


def test_one_identity_given_as_a_string_is_one_operation():
    assert LinkedCell("wiring", ("n1", "n2"), identity="skip").identity == ("skip",)
