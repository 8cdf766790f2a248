"""Architecture CSV files: one column per choice (named as in the space, holding the value, not its index), plus
optional other columns such as a target.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, Mapping

import numpy as np

from gpnas.exceptions import ArchitectureError, DataError
from gpnas.io import arrow_blocks
from gpnas.io.choice_columns import ChoiceColumns
from gpnas.space import SearchSpace
from gpnas.threads import available_cores


def read_architectures(
    path: str | Path, space: SearchSpace, target: str | None = None
) -> tuple[np.ndarray, np.ndarray | None, list[dict[str, str]]]:
    """Read ``X (n, d)`` choice indices (and the target column ``y (n,)`` if named) from a CSV file.

    Returns ``(X, y, rows)`` with the raw rows for passing other columns through.  Raises :class:`DataError` for an
    unreadable file, a missing column, an unknown value or a non-numeric / NaN target, naming the line.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file {str(path)!r} does not exist")
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = reader.fieldnames or []
            rows = list(reader)
    except UnicodeDecodeError as err:
        raise DataError(f"data file {str(path)!r} is not UTF-8 text: {err}") from None
    except (OSError, csv.Error) as err:
        raise DataError(f"cannot read data file {str(path)!r}: {err}") from None
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise DataError(f"data file {str(path)!r} has duplicated column(s) {duplicated}")
    needed = space.names + ([target] if target else [])
    missing = [c for c in needed if c not in columns]
    if missing:
        raise DataError(f"data file {str(path)!r} lacks column(s) {missing}; it has {columns}")
    X = np.empty((len(rows), space.n_positions), dtype=int)
    y = np.empty(len(rows)) if target else None
    for i, row in enumerate(rows):
        line = i + 2  # the header is line 1
        if None in row:
            raise DataError(f"{str(path)!r} line {line}: more fields than the header's {len(columns)}")
        if any(v is None for v in row.values()):
            raise DataError(f"{str(path)!r} line {line}: fewer fields than the header's {len(columns)}")
        try:
            X[i] = [c.index_of(row[c.name]) for c in space.choices]
        except ArchitectureError as err:
            raise DataError(f"{str(path)!r} line {line}: {err}") from None
        if target:
            text = (row[target] or "").strip()
            try:
                if "_" in text:  # Python's float() reads "1_000"; a data file should not
                    raise ValueError(text)
                value = float(text)
            except ValueError:
                raise DataError(f"{str(path)!r} line {line}: target {target!r} is {text!r}, not a number") from None
            if not math.isfinite(value):
                raise DataError(f"{str(path)!r} line {line}: target {target!r} is {text}")
            y[i] = value
    return X, y, rows


def write_architectures(
    path: str | Path, space: SearchSpace, X: np.ndarray, columns: Mapping[str, Iterable] | None = None
) -> None:
    """Write architectures as value columns, followed by extra ``columns`` (name -> one value per row)."""
    columns = dict(columns or {})
    extra = {k: list(v) for k, v in columns.items()}
    X = space.validate(np.atleast_2d(X)) if len(X) else np.zeros((0, space.n_positions), dtype=int)
    # column by column: each position's values looked up for every row at once
    out = [_object_array(c.values)[X[:, j]].tolist() for j, c in enumerate(space.choices)]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(space.names + list(extra))
        writer.writerows(zip(*out, *extra.values()))


def _object_array(values) -> np.ndarray:
    """The values as a 1-D object array (element by element: a value that is itself a sequence stays one element)."""
    array = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        array[i] = value
    return array


def conflicting_duplicates(X: np.ndarray, y: np.ndarray) -> list[list[int]]:
    """Groups of row numbers (0-based) that hold the same architecture with different targets."""
    groups: dict[tuple, list[int]] = {}
    for i, x in enumerate(np.asarray(X)):
        groups.setdefault(tuple(int(v) for v in x), []).append(i)
    return [rows for rows in groups.values() if len(rows) > 1 and len({float(y[i]) for i in rows}) > 1]


def refuse_conflicts(path: str | Path, X: np.ndarray, y: np.ndarray, hint: str = "") -> None:
    """Raise :class:`DataError` naming the lines of the first architecture listed with different targets."""
    conflicts = conflicting_duplicates(X, y)
    if conflicts:
        rows = conflicts[0]
        values = ", ".join(f"{y[i]:g} (line {i + 2})" for i in rows[:4])
        raise DataError(f"{str(path)!r}: {len(conflicts)} architecture(s) appear more than once with different "
                        f"targets, e.g. {values}{hint}")


def read_side_columns(path: str | Path, rows: list[dict[str, str]], names: list[str]) -> np.ndarray:
    """The numeric columns ``names`` of the raw ``rows`` of :func:`read_architectures` ``(n, q)``: side features
    (zero-cost proxies, FLOPs) a model takes as inputs.  A missing column or a value that is not a finite number is a
    :class:`DataError` naming the line."""
    if rows and (missing := [n for n in names if n not in rows[0]]):
        raise DataError(f"data file {str(path)!r} lacks side column(s) {missing}; it has {list(rows[0])}")
    values = np.empty((len(rows), len(names)))
    for i, row in enumerate(rows):
        for j, name in enumerate(names):
            try:
                values[i, j] = float(row[name])
            except (TypeError, ValueError):
                values[i, j] = np.nan
            if not np.isfinite(values[i, j]):
                raise DataError(f"{str(path)!r} line {i + 2}: side column {name!r} is {row[name]!r}, not a finite "
                                "number")
    return values


def _decode_rows(lines: list[str], header: list[str], where: list[int], lookup: list[dict], space: SearchSpace,
                 data_path: Path, count: int) -> tuple[np.ndarray, list[list[str]]]:
    """Choice indices ``X`` and the fields of each of ``lines`` through the csv module; a row with another number
    of fields than ``header``, or a value outside its choice, raises :class:`DataError` naming its line (``count``
    rows came before these)."""
    rows = list(csv.reader(lines))
    for i, row in enumerate(rows):
        if len(row) != len(header):
            raise DataError(f"{str(data_path)!r} line {count + i + 2}: {len(row)} fields, the header has "
                            f"{len(header)}")
    X = np.empty((len(rows), space.n_positions), dtype=int)
    for j, (column, table, choice) in enumerate(zip(where, lookup, space.choices)):
        for i, row in enumerate(rows):
            value = row[column]
            try:
                X[i, j] = table[value] if value in table else choice.index_of(value)
            except ArchitectureError as err:
                raise DataError(f"{str(data_path)!r} line {count + i + 2}: {err}") from None
    return X, rows


def line_blocks(source: BinaryIO, lines: int, read_size: int = 1 << 24) -> Iterator[tuple[bytes, int]]:
    """Blocks of at most ``lines`` whole lines of the binary file ``source`` and their line counts; every block ends
    with ``\n`` (one is added after a last line without it).  Read ``read_size`` bytes at a time and cut with NumPy,
    without a Python object per line."""
    pending = b""
    while True:
        data = source.read(read_size)
        if data:
            pending += data
            ends = np.flatnonzero(np.frombuffer(pending, dtype=np.uint8) == ord("\n"))
        else:
            if not pending:
                return
            if not pending.endswith(b"\n"):
                pending += b"\n"
            ends = np.flatnonzero(np.frombuffer(pending, dtype=np.uint8) == ord("\n"))
        start = 0
        while ends.size - start >= lines or (not data and start < ends.size):
            last = ends[min(start + lines, ends.size) - 1]
            first = ends[start - 1] + 1 if start else 0
            taken = min(lines, ends.size - start)
            yield pending[first : last + 1], int(taken)
            start += taken
        pending = pending[ends[start - 1] + 1 :] if start else pending
        if not data:
            return


def _in_order(blocks: Iterable[tuple[bytes, int]], work, workers: int) -> Iterator[tuple[bytes, int]]:
    """``(work(block, n_lines, rows_before), n_lines)`` for each block, in order, with up to ``workers`` blocks in
    threads at once (BLAS held to one thread each meanwhile, so that they do not oversubscribe the cores)."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    if workers <= 1:
        count = 0
        for block, n_lines in blocks:
            yield work(block, n_lines, count), n_lines
            count += n_lines
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="gpnas-predict") as pool, threadpool_limits(1, "blas"):
        running: deque = deque()
        count = 0
        try:
            for block, n_lines in blocks:
                running.append((pool.submit(work, block, n_lines, count), n_lines))
                count += n_lines
                if len(running) >= workers:
                    future, done = running.popleft()
                    yield future.result(), done
            while running:
                future, done = running.popleft()
                yield future.result(), done
        finally:  # an error or an abandoned stream: blocks not yet started are dropped
            for future, _ in running:
                future.cancel()


#: Rows per chunk when predictions are streamed (bounds memory whatever the file's length).
STREAM_CHUNK = 262144  # at least gpnas.gp.target.TABLE_THRESHOLD: the moments come from its table


def predict_csv(model, data_path: str | Path, out_path: str | Path, chunk: int = STREAM_CHUNK,
                coverage: float = 0.95) -> int:
    """Stream ``data_path`` through the model into ``out_path``: the choices, then ``mean`` and ``std`` (the
    predictive distribution of the architecture's noise-free performance, :meth:`GPNASRegressor.predict`), and
    ``lower`` and ``upper``, the central ``coverage`` interval a new *measurement* should fall in
    (:meth:`GPNASRegressor.predict_interval`, noise included).

    Reads, encodes and writes ``chunk`` rows at a time, so memory stays bounded for any number of rows.  Blocks are
    parsed and written by Arrow where pyarrow is installed (:mod:`gpnas.io.arrow_blocks`), by NumPy otherwise
    (:mod:`gpnas.io.choice_columns`), and by the csv module wherever those cannot decode a block exactly (it names
    the line at fault); the file written is the same whichever path wrote it.  The output goes to a temporary file
    beside ``out_path`` that replaces it only when every row succeeded; a bad row leaves ``out_path`` as it was.
    Returns the number of rows.
    """
    import os
    import tempfile

    space = model.space
    data_path, out_path = Path(data_path), Path(out_path)
    if not data_path.is_file():
        raise DataError(f"data file {str(data_path)!r} does not exist")
    values = [[str(v) for v in c.values] for c in space.choices]
    lookup = [{text: i for i, text in enumerate(texts)} for texts in values]
    fd, tmp = tempfile.mkstemp(dir=out_path.parent if str(out_path.parent) else ".", prefix=".gpnas-", suffix=".csv")
    count = 0
    try:
        with open(data_path, "rb") as source, os.fdopen(fd, "wb") as sink:
            header = next(csv.reader([source.readline().decode("utf-8")]), None) or []
            duplicated = sorted({c for c in header if header.count(c) > 1})
            if duplicated:
                raise DataError(f"data file {str(data_path)!r} has duplicated column(s) {duplicated}")
            side = list(model.side_features.names) if getattr(model, "side_features", None) is not None else []
            missing = [name for name in space.names + side if name not in header]
            if missing:
                what = " (the model's side features)" if set(missing) <= set(side) else ""
                raise DataError(f"data file {str(data_path)!r} lacks column(s) {missing}{what}; it has {header}")
            where = [header.index(name) for name in space.names]
            decoder = arrow_blocks.ArrowBlocks(space, header) if arrow_blocks.available() else ChoiceColumns(
                space, header)
            sink.write(arrow_blocks.csv_rows([space.names + ["mean", "std", "lower", "upper"]]))
            # Where the file holds exactly the space's columns in its order, each value spelled as the space spells
            # it, a line is its own output prefix: no field is split out of it or written again
            passthrough = header == space.names and not side
            def block_rows(block: bytes, n_lines: int, count: int) -> bytes:
                """The output lines of one block (``count`` rows came before it)."""
                if b"\r" in block and not isinstance(decoder, arrow_blocks.ArrowBlocks):  # Arrow reads both ends
                    block = block.replace(b"\r\n", b"\n")
                X = None if side else decoder.decode(block, n_lines)  # no Python string per field
                fast = X is not None
                if not fast:  # the general path: the csv module, each value checked, errors with line numbers
                    lines = block.replace(b"\r\n", b"\n").decode("utf-8").split("\n")[:-1]
                    X, rows = _decode_rows(lines, header, where, lookup, space, data_path, count)
                    if side:  # this chunk's side features join the model's lookup before it predicts them
                        model.add_side_features(X, read_side_columns(
                            data_path, [dict(zip(header, row)) for row in rows], side))
                summary = model.predict_summary(X, coverage)
                return _output_rows(block, X, summary, values, decoder, passthrough and fast and b'"' not in block)

            # Blocks are independent (save that side features join the model), so each core takes one: NumPy, BLAS
            # and Arrow release the GIL, and one thread alone leaves a core idle in the single-threaded steps
            workers = 1 if side else min(available_cores(), 4)
            for out, n_lines in _in_order(line_blocks(source, chunk), block_rows, workers):
                sink.write(out)
                count += n_lines
        os.replace(tmp, out_path)
    except UnicodeDecodeError as err:
        os.unlink(tmp)
        raise DataError(f"data file {str(data_path)!r} is not UTF-8 text: {err}") from None
    except BaseException:
        os.unlink(tmp)
        raise
    return count


def _output_rows(block: bytes, X: np.ndarray, summary: tuple[np.ndarray, ...], values: list[list[str]], decoder,
                 passthrough: bool) -> bytes:
    """The output lines of one block: its own lines where ``passthrough`` (see :func:`predict_csv`), the space's
    spelling of ``X`` otherwise, then the ``summary`` columns."""
    if isinstance(decoder, arrow_blocks.ArrowBlocks) and (passthrough or decoder.joinable):
        prefix = [decoder.lines(block)] if passthrough else decoder.choice_columns(X)
        return decoder.rows(prefix, summary)
    numbers = [arrow_blocks.float_texts(column) for column in summary]
    if passthrough:
        lines = block.decode("utf-8").split("\n")[:-1]
        end = arrow_blocks.LINE_END.decode()
        return (end.join(map(",".join, zip(lines, *numbers))) + end).encode("utf-8")
    out = [_object_array(values[j])[X[:, j]].tolist() for j in range(X.shape[1])]
    return arrow_blocks.csv_rows(zip(*out, *numbers))
