import json

import numpy as np
import pytest

from gpnas import ArchitectureError, Choice, SearchSpace, SpaceError
from gpnas.space.encoding import Encoder

NB201_YAML = """
name: nb201
choices:
  - {name: e0, values: [none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3], group: op}
  - {name: e1, values: [none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3], group: op}
"""


def test_yaml_file_from_the_issue_loads(tmp_path):
    path = tmp_path / "nb201.yaml"
    path.write_text(NB201_YAML)
    space = SearchSpace.load(path)
    assert space.name == "nb201"
    assert space.names == ["e0", "e1"]
    assert space.size == 25
    assert space.groups == ["op", "op"]


def test_repeat_shorthand_and_mixed_values(tmp_path):
    spec = {"name": "mb", "choices": [{"name": "k", "values": [3, 5, 7], "group": "kernel", "repeat": 3},
                                      {"name": "se", "values": ["off", "on"], "group": "se"}]}
    path = tmp_path / "mb.json"
    path.write_text(json.dumps(spec))
    space = SearchSpace.load(path)
    assert space.names == ["k_0", "k_1", "k_2", "se"]
    assert space.size == 3**3 * 2
    assert space.choices[0].values == (3, 5, 7)


def test_save_load_round_trip(tmp_path, small_space):
    for suffix in (".yaml", ".json"):
        path = tmp_path / f"s{suffix}"
        small_space.save(path)
        assert SearchSpace.load(path) == small_space


@pytest.mark.parametrize(
    "text, message",
    [
        ("name: x\nchoices: []\n", "non-empty list"),
        ("name: x\nchoices:\n  - {name: a, values: [1, 2]}\n", "missing 'group'"),
        ("name: x\nchoices:\n  - {name: a, values: [1, 1], group: g}\n", "duplicate values"),
        ("name: x\nchoices:\n  - {name: a, values: [1], group: g}\n  - {name: a, values: [2], group: g}\n",
         "duplicate choice names"),
        ("name: x\nchoices:\n  - {name: a, values: [1], group: g, repeat: 0}\n", "positive integer"),
        ("name: x\nchoices:\n  - {name: a, values: [1], group: g, colour: red}\n", "unknown keys"),
        ("name: x\nchoices: [\n", "not valid YAML"),
        ("- 1\n- 2\n", "expected a mapping"),
    ],
)
def test_malformed_space_files_give_clear_errors(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(SpaceError, match=message):
        SearchSpace.load(path)


def test_missing_file_and_bad_suffix(tmp_path):
    with pytest.raises(SpaceError, match="does not exist"):
        SearchSpace.load(tmp_path / "nope.yaml")
    (tmp_path / "s.txt").write_text("x")
    with pytest.raises(SpaceError, match="suffix"):
        SearchSpace.load(tmp_path / "s.txt")


def test_sampling_is_seeded_and_valid(small_space):
    a = small_space.sample(100, random_state=3)
    b = small_space.sample(100, random_state=3)
    np.testing.assert_array_equal(a, b)
    small_space.validate(a)
    # every option of every position shows up in 100 uniform draws of a space this small
    for j, n in enumerate(small_space.n_options):
        assert set(a[:, j]) == set(range(n))


def test_enumeration_is_complete_and_distinct(small_space):
    allx = small_space.enumerate()
    assert allx.shape == (small_space.size, small_space.n_positions)
    assert len({tuple(x) for x in allx}) == small_space.size


def test_enumeration_refuses_huge_spaces():
    space = SearchSpace([Choice(f"p{i}", (0, 1, 2), "g") for i in range(30)])
    with pytest.raises(SpaceError, match="too many"):
        space.enumerate()


def test_neighbours_differ_in_exactly_one_position(small_space):
    x = np.array([1, 2, 0, 1, 1])
    nb = small_space.neighbours(x)
    assert nb.shape[0] == int(np.sum(small_space.n_options - 1))
    assert np.all((nb != x).sum(axis=1) == 1)
    assert len({tuple(r) for r in nb}) == nb.shape[0]
    m = small_space.mutate(x, random_state=0)
    assert (m != x).sum() == 1


def test_string_round_trip_and_dict_forms(small_space):
    x = np.array([2, 0, 1, 0, 1])
    text = small_space.to_string(x)
    assert text == "k0=7,k1=3,e0=6,e1=3,se0=on"
    np.testing.assert_array_equal(small_space.from_string(text), x)
    assert small_space.to_dict_arch(x) == {"k0": 7, "k1": 3, "e0": 6, "e1": 3, "se0": "on"}
    np.testing.assert_array_equal(small_space.from_dict_arch({"k0": "7", "k1": 3.0, "e0": 6, "e1": 3, "se0": "on"}), x)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.array([0, 0, 0, 0]), "length 5"),
        (np.array([0, 3, 0, 0, 0]), "index 3 at position 'k1'"),
        (np.array([0, 0, 0, 0, -1]), "position 'se0'"),
        (np.array([0.5, 0, 0, 0, 0]), "whole numbers"),
    ],
)
def test_validation_names_the_problem(small_space, bad, message):
    with pytest.raises(ArchitectureError, match=message):
        small_space.validate(bad)


def test_string_parse_errors(small_space):
    with pytest.raises(ArchitectureError, match="unknown value '9'"):
        small_space.from_string("k0=9,k1=3,e0=6,e1=3,se0=on")
    with pytest.raises(ArchitectureError, match="missing choices"):
        small_space.from_string("k0=3")
    with pytest.raises(ArchitectureError, match="expected name=value"):
        small_space.from_string("k0")


@pytest.mark.parametrize("encoding", ["onehot", "ordinal"])
def test_encoding_masks_cover_each_group(small_space, encoding):
    enc = Encoder(small_space.n_options, small_space.groups, encoding)
    masks = enc.masks()
    assert masks.shape == (3, enc.n_features)
    np.testing.assert_array_equal(masks.sum(axis=0), np.ones(enc.n_features))  # each column in exactly one group
    Z = enc.transform(small_space.enumerate())
    # a change in one kernel-size position moves only kernel columns
    x = np.array([0, 0, 0, 0, 0])
    y = x.copy()
    y[1] = 2
    diff = enc.transform(y[None])[0] - enc.transform(x[None])[0]
    assert np.all(diff[masks[0] == 0] == 0) and np.any(diff[masks[0] == 1] != 0)
    if encoding == "onehot":
        np.testing.assert_array_equal(Z.sum(axis=1), np.full(Z.shape[0], small_space.n_positions))
    else:
        assert Z.min() == 0 and Z.max() == 1


def test_compact_arch_writes_blocks_and_falls_back_to_values():
    from gpnas.space import compact_arch

    arch = {"b0_kernel": 5, "b0_expansion": 6, "b0_se": "on", "b1_kernel": 3, "b1_expansion": 3, "b1_se": "off"}
    assert compact_arch(arch) == "k5e6+se k3e3"
    assert compact_arch({"block0_e": 1, "block0_se": 0}) == "e1s0"
    assert compact_arch({"e_0": "skip", "e_1": "none"}) == "skip,none"
