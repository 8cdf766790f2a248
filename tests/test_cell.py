"""Structural cell features against hand computations on NAS-Bench-201 cells, and the cell in space files."""

import numpy as np
import pytest

from gpnas.space.cell import Cell
from gpnas.exceptions import SpaceError
from gpnas.space import SearchSpace
from gpnas.io.tables import NB201_OPS, nasbench201_space


def _arch(space, ops):
    return space.from_dict_arch({f"e_{j}": op for j, op in enumerate(ops)})


@pytest.fixture
def nb201():
    space = nasbench201_space()
    return space, space.cell_features()


def _named(features, X, block):
    out = features.transform(np.atleast_2d(X), [block])[block][0]
    names = features.path_names if block == "paths" else features.op_names
    return {name: value for name, value in zip(names, out) if value}


def test_chain_cell_by_hand(nb201):
    # 1<-0 conv3, 2<-1 skip, 3<-2 conv1, the rest none: one live path 0-1-2-3, the skip collapses
    space, features = nb201
    x = _arch(space, ["nor_conv_3x3", "none", "skip_connect", "none", "none", "nor_conv_1x1"])
    assert _named(features, x, "paths") == {"nor_conv_3x3>nor_conv_1x1": 1}
    assert _named(features, x, "ops") == {"nor_conv_3x3": 1, "skip_connect": 1, "nor_conv_1x1": 1}
    assert features.live_edges(np.atleast_2d(x)).tolist() == [[True, False, True, False, False, True]]


def test_dead_edge_is_pruned_by_hand(nb201):
    # node 1 has no live way out (2<-1 and 3<-1 are none), so 1<-0's conv3 does not matter
    space, features = nb201
    x = _arch(space, ["nor_conv_3x3", "avg_pool_3x3", "none", "skip_connect", "none", "nor_conv_1x1"])
    assert _named(features, x, "paths") == {"identity": 1, "avg_pool_3x3>nor_conv_1x1": 1}
    assert _named(features, x, "ops") == {"skip_connect": 1, "avg_pool_3x3": 1, "nor_conv_1x1": 1}
    effective = features.transform(np.atleast_2d(x), ["effective"])["effective"][0].reshape(6, 5)
    assert effective[0].sum() == 0  # the dead edge is all zeros
    assert effective[1, NB201_OPS.index("avg_pool_3x3")] == 1
    same_but_dead_changed = x.copy()
    same_but_dead_changed[0] = NB201_OPS.index("avg_pool_3x3")
    for block in ("effective", "paths", "ops"):
        a = features.transform(np.vstack([x, same_but_dead_changed]), [block])[block]
        np.testing.assert_array_equal(a[0], a[1])


def test_isomorphic_cells_coincide_and_different_ones_do_not(nb201):
    space, features = nb201
    via_node1 = _arch(space, ["nor_conv_3x3", "none", "none", "none", "nor_conv_1x1", "none"])
    via_node2 = _arch(space, ["none", "nor_conv_3x3", "none", "none", "none", "nor_conv_1x1"])
    swapped = _arch(space, ["nor_conv_1x1", "none", "none", "none", "nor_conv_3x3", "none"])
    blocks = features.transform(np.vstack([via_node1, via_node2, swapped]), ["paths", "ops"])
    np.testing.assert_array_equal(blocks["paths"][0], blocks["paths"][1])
    assert not np.array_equal(blocks["paths"][0], blocks["paths"][2])  # conv3 then conv1 is not conv1 then conv3
    np.testing.assert_array_equal(blocks["ops"][0], blocks["ops"][2])


def test_disconnected_cell_has_no_features(nb201):
    space, features = nb201
    x = _arch(space, ["nor_conv_3x3", "nor_conv_3x3", "nor_conv_3x3", "none", "none", "none"])
    for block, value in features.transform(np.atleast_2d(x), ["effective", "paths", "ops"]).items():
        assert value.sum() == 0, block


def test_path_vocabulary_and_counts_against_enumeration(nb201):
    space, features = nb201
    # 3 non-identity ops, paths of up to 3 steps: 1 + 3 + 9 + 27 sequences
    assert len(features.path_names) == 40
    X = space.enumerate()
    paths = features.transform(X, ["paths"])["paths"]
    ops = features.transform(X, ["ops"])["ops"]
    # brute force: count live input-output paths directly from the op strings
    routes = [[3], [0, 4], [1, 5], [0, 2, 5]]
    for i in np.random.default_rng(0).choice(len(X), 300, replace=False):
        names = [NB201_OPS[k] for k in X[i]]
        live_paths = [r for r in routes if all(names[e] != "none" for e in r)]
        assert paths[i].sum() == len(live_paths)
        live = {e for r in live_paths for e in r}
        assert ops[i].sum() == len(live)


def test_cell_in_space_file_round_trip_and_errors(tmp_path):
    space = nasbench201_space()
    path = tmp_path / "nb.yaml"
    space.save(path)
    assert SearchSpace.load(path) == space and SearchSpace.load(path).cell == space.cell
    with pytest.raises(SpaceError, match="not choices of the space"):
        SearchSpace(space.choices, cell=Cell(4, (("x", 0, 1),)))
    with pytest.raises(SpaceError, match="lower to a higher node"):
        Cell(4, (("e0", 2, 1),))
    with pytest.raises(SpaceError, match="both 'none' and 'identity'"):
        Cell(4, (("e0", 0, 1),), none=("none",), identity=("none",))
    bad = tmp_path / "bad.yaml"
    bad.write_text("choices:\n  - {name: e0, values: [a, b], group: op}\ncell: {nodes: 2, edges: {e0: [0]}}\n")
    with pytest.raises(SpaceError, match=r"must be \[src, dst\]"):
        SearchSpace.load(bad)


def test_interactions_are_kept_on_a_cell_space():
    """A requested interactions term on a cell space is a group over the cell's feature columns, not dropped."""
    from gpnas.io.tables import nasbench201_space
    from gpnas.space.encoding import Encoder

    space = nasbench201_space()
    plain = Encoder(space.n_options, space.groups, "onehot", ("paths", "ops"), space.cell_features())
    joint = Encoder(space.n_options, space.groups, "onehot", ("paths", "ops", "interactions"), space.cell_features())
    assert joint.group_names == plain.group_names + ["interactions"]
    np.testing.assert_array_equal(joint.group_columns[-1], np.arange(plain.n_features))
    assert joint.onehot_positions[-1] is None  # not a one-hot table lookup: the cell's columns are counts
