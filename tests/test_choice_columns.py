"""The NumPy decoder of choice columns against the csv module, and the blocks it leaves to the general path."""

import csv
import io

import numpy as np
import pytest

from gpnas.io.choice_columns import ChoiceColumns
from gpnas.space import make_space

SPACE = make_space([("op0", ["skip_connect", "conv3", "none"], "op"), ("k", [3, 5, 7], "kernel"),
                    ("se", ["off", "on"], "se"), ("op1", ["skip_connect", "conv3", "none"], "op")])


def _block(rows):
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    return text.getvalue().encode()


@pytest.mark.parametrize("sub_block", [7, 32768])  # lines decoded at once: across sub-block edges, and whole
def test_decoding_equals_the_csv_module_in_any_column_order(monkeypatch, sub_block):
    monkeypatch.setattr(ChoiceColumns, "SUB_BLOCK", sub_block)
    rng = np.random.default_rng(0)
    X = SPACE.sample(500, random_state=rng)
    header = ["acc", "se", "op1", "k", "extra", "op0"]  # another order, and columns that are not choices
    rows = []
    for x in X:
        arch = SPACE.to_dict_arch(x)
        rows.append([f"{rng.random():.17g}", arch["se"], arch["op1"], arch["k"], "some long text here", arch["op0"]])
    decoded = ChoiceColumns(SPACE, header).decode(_block(rows), len(rows))
    np.testing.assert_array_equal(decoded, X)


def test_blocks_it_cannot_decode_exactly_go_to_the_general_path():
    header = ["op0", "k", "se", "op1"]
    columns = ChoiceColumns(SPACE, header)
    good = [["conv3", "5", "on", "none"], ["none", "7", "off", "skip_connect"]]
    assert columns.decode(_block(good), 2).tolist() == [[1, 1, 1, 2], [2, 2, 0, 0]]
    assert columns.decode(_block(good + [["conv3", "5.0", "on", "none"]]), 3) is None  # another spelling
    assert columns.decode(_block(good + [["conv3", "9", "on", "none"]]), 3) is None  # not a value of the choice
    assert columns.decode(b'conv3,5,"on",none\n', 1) is None  # a quote
    assert columns.decode(b"conv3,5,on\n", 1) is None  # a field short
    assert columns.decode(b"conv3,5,on,none,x\nconv3,5,on\n", 2) is None  # the same total, other counts per line
    assert columns.decode(b"conv3,,on,none\n", 1) is None  # an empty field
    long_values = make_space([("op", ["an_operation_name_of_more_than_32_bytes", "b"], "op")])
    assert ChoiceColumns(long_values, ["op"]).decode(b"b\n", 1) is None  # values over 32 bytes: never keyed
