"""Blocks of CSV lines read and written through Apache Arrow, where pyarrow is installed (the ``gpnas[fast]`` extra).

``gpnas predict`` streams millions of rows.  Python's csv module makes a string of every field and ``repr`` of every
float it writes, which costs ten times the reading itself.  Arrow's C++ reader parses a block on all cores, it
dictionary-encodes each choice column (each distinct text is made once, and looked up among the choice's values
once), its cast writes a float's shortest text that reads back to the same float, and its element-wise join builds each output line.  No
Python object per field or per row is made.

Anything the reader does not parse exactly as the csv module would (another number of fields on a line, a value
outside its choice, text that is not UTF-8) makes :meth:`ArrowBlocks.decode` return ``None``; the caller then takes
the csv module's path for the block, which names the line at fault.  Without pyarrow :func:`available` is false
and the NumPy decoder :mod:`gpnas.io.choice_columns` is used instead.
"""

from __future__ import annotations

import csv
import io

import numpy as np

from gpnas.space import SearchSpace

try:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv
except ImportError:  # the core needs NumPy and SciPy only
    pa = pc = pa_csv = None

#: Line end of every written row: the csv module's, so files match whichever path wrote them.
LINE_END = b"\r\n"


def available() -> bool:
    """Whether pyarrow can be imported (``pip install gpnas[fast]``)."""
    return pa is not None


def float_texts(values: np.ndarray) -> list[str]:
    """The shortest text of each float that reads back to the same float (Arrow's formatting where available,
    Python's ``repr`` otherwise); every path of ``gpnas predict`` formats its numbers with this."""
    values = np.asarray(values, dtype=float)
    if pa is None:
        return list(map(repr, values.tolist()))
    return pc.cast(pa.array(values, pa.float64()), pa.string()).to_pylist()


def _float_array(values: np.ndarray):
    return pc.cast(pa.array(values, pa.float64()), pa.large_string()).cast(pa.large_binary())


def _needs_quoting(text: str) -> bool:
    """Whether the csv module would quote ``text`` (minimal quoting, ``,`` and ``"``, ``\\r`` or ``\\n``)."""
    return any(c in text for c in ',"\r\n')


class ArrowBlocks:
    """Decodes the choice columns of blocks of CSV lines with the columns ``header``, and writes output lines.

    Requires :func:`available`.
    """

    def __init__(self, space: SearchSpace, header: list[str]) -> None:
        if pa is None:
            raise RuntimeError("pyarrow is not installed; pip install 'gpnas[fast]'")
        self.names = list(space.names)
        texts = [[str(v) for v in c.values] for c in space.choices]
        self.lookup = [{text: i for i, text in enumerate(values)} for values in texts]
        self.value_bytes = [pa.array([t.encode("utf-8") for t in values], pa.large_binary()) for values in texts]
        # a value the csv module would quote cannot be joined into a line as it is
        self.joinable = not any(_needs_quoting(t) for values in texts for t in values)
        self.read_options = pa_csv.ReadOptions(column_names=header, use_threads=True)
        self.parse_options = pa_csv.ParseOptions(ignore_empty_lines=False)  # an empty line is an error, as in csv
        self.convert_options = pa_csv.ConvertOptions(
            # dictionary-encoded: each distinct text is made once per block, and maps to a choice's index once
            column_types={name: pa.dictionary(pa.int32(), pa.string()) for name in header}, include_columns=self.names,
            strings_can_be_null=False, quoted_strings_can_be_null=False)

    def decode(self, block: bytes, n_lines: int) -> np.ndarray | None:
        """``X (n_lines, d)`` choice indices of ``block`` (``n_lines`` lines, each ending in ``\\n``), or ``None``
        where the block needs the csv module's path."""
        try:
            table = pa_csv.read_csv(pa.py_buffer(block), read_options=self.read_options,
                                    parse_options=self.parse_options, convert_options=self.convert_options)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        if table.num_rows != n_lines:  # a quoted line break, say: the csv module decides
            return None
        X = np.empty((n_lines, len(self.names)), dtype=np.intp)
        for j, (name, lookup) in enumerate(zip(self.names, self.lookup)):
            start = 0
            for piece in table.column(name).chunks:
                codes = np.array([lookup.get(text, -1) for text in piece.dictionary.to_pylist()], dtype=np.intp)
                if (codes < 0).any():  # a text the choice does not spell (its values only ever occur here)
                    return None
                X[start : start + len(piece), j] = codes[piece.indices.to_numpy()]
                start += len(piece)
        return X

    @staticmethod
    def lines(block: bytes):
        """The lines of ``block`` (each ending in ``\\n`` or ``\\r\\n``) without their line ends, as an Arrow array."""
        buf = np.frombuffer(block, dtype=np.uint8)
        ends = np.flatnonzero(buf == ord("\n"))
        returns = (buf[np.maximum(ends - 1, 0)] == ord("\r")) & (ends > 0)
        if returns.any() and not returns.all():  # both line ends in one block: make them one kind
            return ArrowBlocks.lines(block.replace(b"\r\n", b"\n"))
        offsets = np.concatenate([[0], ends + 1]).astype(np.int64)
        with_ends = pa.Array.from_buffers(pa.large_binary(), ends.size, [None, pa.py_buffer(offsets),
                                                                         pa.py_buffer(block)])
        return pc.binary_slice(with_ends, 0, -2 if returns.all() and ends.size else -1)

    def choice_columns(self, X: np.ndarray) -> list:
        """Each choice's value texts for the rows ``X``, one Arrow array per choice (requires :attr:`joinable`)."""
        return [pc.take(values, pa.array(X[:, j])) for j, values in enumerate(self.value_bytes)]

    @staticmethod
    def rows(prefix: list, numbers: tuple[np.ndarray, ...]) -> bytes:
        """Output lines: the ``prefix`` arrays (texts written as they are), then ``numbers`` formatted by
        :func:`float_texts`, joined by commas, each line ended by :data:`LINE_END`."""
        comma, empty, end = (pa.scalar(s, pa.large_binary()) for s in (b",", b"", LINE_END))
        texts = [_float_array(column) for column in numbers]
        texts[-1] = pc.binary_join_element_wise(texts[-1], empty, end)  # the line end after the last field
        joined = pc.binary_join_element_wise(*prefix, *texts, comma)
        offsets = np.frombuffer(joined.buffers()[1], dtype=np.int64)
        return memoryview(joined.buffers()[2])[offsets[joined.offset]: offsets[joined.offset + len(joined)]]


def csv_rows(rows) -> bytes:
    """``rows`` (sequences of strings) as the csv module writes them, UTF-8."""
    text = io.StringIO()
    csv.writer(text, lineterminator=LINE_END.decode()).writerows(rows)
    return text.getvalue().encode("utf-8")
