"""The streaming predictor's input and output paths: Arrow's blocks, the NumPy decoder, the csv module, the block
reader and the threads, each against the csv module and against each other."""

import csv
import io

import numpy as np
import pyarrow  # noqa: F401  (the test extra installs it: these tests must not skip quietly)
import pytest

import gpnas.io.data as data_module
from gpnas.exceptions import DataError
from gpnas.gp import GPNASRegressor
from gpnas.io import arrow_blocks
from gpnas.io.arrow_blocks import ArrowBlocks, float_texts
from gpnas.io.data import line_blocks, predict_csv, write_architectures
from gpnas.space import make_space

SPACE = make_space([("op0", ["skip_connect", "conv3", "none"], "op"), ("k", [3, 5, 7], "kernel"),
                    ("se", ["off", "on"], "se"), ("op1", ["skip_connect", "conv3", "none"], "op")])


def _block(rows, end="\n"):
    text = io.StringIO()
    csv.writer(text, lineterminator=end).writerows(rows)
    return text.getvalue().encode()


@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_arrow_decoding_equals_the_csv_module_in_any_column_order(end):
    rng = np.random.default_rng(0)
    X = SPACE.sample(500, random_state=rng)
    header = ["acc", "se", "op1", "k", "extra", "op0"]
    rows = [[f"{rng.random():.17g}", a["se"], a["op1"], a["k"], "text, with a comma", a["op0"]]
            for a in map(SPACE.to_dict_arch, X)]
    np.testing.assert_array_equal(ArrowBlocks(SPACE, header).decode(_block(rows, end), len(rows)), X)


def test_arrow_decoding_leaves_what_it_cannot_read_exactly_to_the_csv_module():
    blocks = ArrowBlocks(SPACE, ["op0", "k", "se", "op1"])
    good = [["conv3", "5", "on", "none"], ["none", "7", "off", "skip_connect"]]
    assert blocks.decode(_block(good), 2).tolist() == [[1, 1, 1, 2], [2, 2, 0, 0]]
    assert blocks.decode(b'conv3,5,"on",none\n', 1).tolist() == [[1, 1, 1, 2]]  # quoted: still the same value
    assert blocks.decode(_block(good + [["conv3", "5.0", "on", "none"]]), 3) is None  # another spelling
    assert blocks.decode(_block(good + [["conv3", "9", "on", "none"]]), 3) is None  # not a value of the choice
    assert blocks.decode(b"conv3,5,on\n", 1) is None  # a field short
    assert blocks.decode(b"conv3,5,on,none,x\n", 1) is None  # a field more
    assert blocks.decode(b"conv3,5,on,none\n\nnone,5,on,none\n", 3) is None  # an empty line
    assert blocks.decode(b"conv3,5,on, none\n", 1) is None  # a space is part of the value
    assert blocks.decode(b"conv3,5,on,\xff\n", 1) is None  # not UTF-8
    assert blocks.decode(b'conv3,5,on,"no\nne"\n', 2) is None  # a quoted line break: one row, two lines


@pytest.mark.parametrize("block", [b"a,b\nc\n\nd,e,f\n", b"a,b\r\nc\r\n\r\nd,e,f\r\n", b"a\r\nb\nc\r\n", b""])
def test_lines_are_the_lines_without_their_ends(block):
    assert ArrowBlocks.lines(block).to_pylist() == block.replace(b"\r\n", b"\n").split(b"\n")[:-1]


def test_rows_read_back_as_the_csv_module_reads_them():
    rng = np.random.default_rng(1)
    numbers = (rng.normal(size=50), np.exp(rng.normal(scale=30, size=50)), np.zeros(50), -np.ones(50))
    prefix = [ArrowBlocks.lines(b"".join(f"{i},x{i}\n".encode() for i in range(50)))]
    rows = list(csv.reader(io.StringIO(bytes(ArrowBlocks.rows(prefix, numbers)).decode(), newline="")))
    assert [r[:2] for r in rows] == [[str(i), f"x{i}"] for i in range(50)]
    np.testing.assert_array_equal(np.array([[float(v) for v in r[2:]] for r in rows]), np.column_stack(numbers))


@pytest.mark.parametrize("arrow", [True, False])
def test_float_texts_read_back_to_the_same_floats(monkeypatch, arrow):
    if not arrow:
        monkeypatch.setattr(arrow_blocks, "pa", None)
    values = np.concatenate([np.random.default_rng(2).normal(size=1000) * 10.0 ** np.arange(-150, 150, 0.3),
                             [0.0, -0.0, 1.0, 0.1, 1e300, 5e-324]])
    texts = float_texts(values)
    assert [float(t) for t in texts] == values.tolist()
    if not arrow:
        assert texts == [repr(v) for v in values.tolist()]


def test_line_blocks_cut_whole_lines_of_at_most_the_asked_count():
    rng = np.random.default_rng(3)
    for _ in range(300):
        lines = [b"x" * int(rng.integers(0, 5)) for _ in range(int(rng.integers(0, 40)))]
        text = b"\n".join(lines) + (b"\n" if lines and rng.random() < 0.5 else b"")
        per_block, read_size = int(rng.integers(1, 10)), int(rng.integers(1, 20))
        blocks = list(line_blocks(io.BytesIO(text), per_block, read_size))
        expected = text if not text or text.endswith(b"\n") else text + b"\n"
        assert b"".join(b for b, _ in blocks) == expected
        assert all(n == b.count(b"\n") for b, n in blocks)
        assert all(n == per_block for _, n in blocks[:-1]) and all(0 < n <= per_block for _, n in blocks)


@pytest.fixture
def model_and_pool(tmp_path):
    rng = np.random.default_rng(4)
    X = SPACE.sample(40, random_state=rng)
    y = X @ np.array([0.3, -0.2, 0.5, 0.1]) + rng.normal(scale=0.05, size=40)
    model = GPNASRegressor(space=SPACE, random_state=0).fit(X, y)
    pool = SPACE.sample(500, random_state=rng)
    write_architectures(tmp_path / "pool.csv", SPACE, pool)
    return model, pool, tmp_path


def _predict(model, source, out, monkeypatch, path: str, chunk: int = 64, cores: int = 2):
    monkeypatch.setattr(data_module, "available_cores", lambda: cores)
    if path == "numpy":
        monkeypatch.setattr(arrow_blocks, "available", lambda: False)
    elif path == "csv module":  # neither fast decoder decodes anything
        monkeypatch.setattr(ArrowBlocks, "decode", lambda self, block, n: None)
    assert predict_csv(model, source, out, chunk=chunk) == 500
    monkeypatch.undo()
    return out.read_bytes()


def _table(written: bytes) -> tuple[list[list[str]], np.ndarray]:
    rows = list(csv.reader(io.StringIO(written.decode(), newline="")))
    return rows[0], [r[:-4] for r in rows[1:]], np.array([[float(v) for v in r[-4:]] for r in rows[1:]])


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_every_path_writes_the_same_file_in_any_chunks_and_threads(model_and_pool, monkeypatch, line_end):
    model, pool, tmp = model_and_pool
    source = tmp / "pool.csv"
    source.write_bytes(source.read_bytes().replace(b"\r\n", line_end.encode()))
    header, choices, numbers = _table(_predict(model, source, tmp / "a.csv", monkeypatch, "arrow", 1 << 20, 1))
    assert header == SPACE.names + ["mean", "std", "lower", "upper"]
    assert choices == [[str(v) for v in SPACE.to_dict_arch(x).values()] for x in pool]
    mean, std = model.predict(pool, return_std=True)
    lower, upper = model.predict_interval(pool)
    np.testing.assert_allclose(numbers, np.column_stack([mean, std, lower, upper]), rtol=1e-12, atol=1e-15)
    for chunk, cores in [(64, 1), (64, 4), (7, 2)]:
        written = {path: _predict(model, source, tmp / "b.csv", monkeypatch, path, chunk, cores)
                   for path in ("arrow", "numpy", "csv module")}
        assert written["numpy"] == written["arrow"] == written["csv module"], (chunk, cores)  # byte for byte
        assert written["arrow"].count(b"\r\n") == 501
        other = _table(written["arrow"])
        assert other[:2] == (header, choices)
        # other BLAS blockings: the last bits only, of values of order 1 (absolutely: a bound near 0 is a difference
        # of two such values, whose last bits are a large share of it)
        np.testing.assert_allclose(other[2], numbers, rtol=1e-12, atol=1e-13 * np.abs(numbers).max())


def test_a_bad_row_in_a_threaded_block_names_its_line_and_leaves_the_output(model_and_pool, monkeypatch):
    model, _, tmp = model_and_pool
    lines = (tmp / "pool.csv").read_bytes().split(b"\r\n")
    lines[321] = b"conv3,9,on,none"  # line 322 of the file: in the sixth block of 64
    bad = tmp / "bad.csv"
    bad.write_bytes(b"\r\n".join(lines))
    (tmp / "out.csv").write_text("kept")
    monkeypatch.setattr(data_module, "available_cores", lambda: 4)
    with pytest.raises(DataError, match="line 322: .*'9'"):
        predict_csv(model, bad, tmp / "out.csv", chunk=64)
    assert (tmp / "out.csv").read_text() == "kept" and not list(tmp.glob(".gpnas-*"))


def test_single_precision_encoding_predicts_exactly_what_double_does(model_and_pool):
    model, pool, _ = model_and_pool
    assert model.encoder_.exact_in_single_precision
    mean, var = model.predict_latent(pool)
    mean64, var64 = model.predict_latent_encoded(model.encoder_.transform(pool))
    np.testing.assert_array_equal(mean, mean64)
    np.testing.assert_array_equal(var, var64)
