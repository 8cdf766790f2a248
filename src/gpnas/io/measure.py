"""Measuring architectures with a callable, one row of a CSV at a time, so that nothing measured is lost.

``gpnas design`` writes the architectures worth measuring on a new device with an empty ``ms`` column, and
``gpnas select --latency DEVICE=FILE`` reads them back filled in.  :func:`fill_measurements` fills the column by
calling the user's ``measure(arch) -> value`` (for latency, e.g. :func:`gpnas.nets.latency.latency_measurer`): the
file is rewritten after every measurement, so a crash or a kill keeps what was measured, and a rerun measures only
the rows still empty.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from gpnas.exceptions import DataError
from gpnas.io.data import read_architectures
from gpnas.space import SearchSpace
from gpnas.space.search_space import compact_arch


def fill_measurements(path: str | Path, space: SearchSpace, measure: Callable[[Mapping[str, Any]], float],
                      column: str = "ms") -> np.ndarray:
    """Fill in the empty ``column`` cells of the architecture CSV ``path`` with ``measure(arch)``, ``arch`` the row's
    architecture as a dict (as an objective gets it); rows already filled are kept, not measured again.

    Every value must be a finite number above zero (a latency, a cost).  A value that is not, or a ``measure`` that
    raises, stops the filling with a :class:`~gpnas.exceptions.DataError` naming the row and its architecture; what
    was measured before it is already in the file.  Returns the column, one value per row ``(n,)``.
    """
    path = Path(path)
    X, _, rows = read_architectures(path, space)
    with open(path, newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), [])
    if column not in header:
        raise DataError(f"{str(path)!r} has no {column!r} column to fill (columns: {', '.join(header)})")
    values = np.array([_stored_value(path, row[column], line, column) for line, row in enumerate(rows, start=2)])
    for i in np.flatnonzero(np.isnan(values)):
        arch = space.to_dict_arch(X[i])
        where = f"{str(path)!r} line {i + 2} ({compact_arch(arch)})"
        try:
            value = measure(arch)
        except Exception as err:  # the user's code: any failure is reported with the row it was measuring
            raise DataError(f"{where}: measuring raised {type(err).__name__}: {err}; the rows measured before it "
                            "are saved in the file") from err
        values[i] = _checked(value, where)
        rows[i][column] = repr(float(values[i]))
        _rewrite(path, header, rows)
    return values


def _stored_value(path: Path, text: str | None, line: int, column: str) -> float:
    """A cell already in the file: empty is NaN (to be measured); anything else must be a number above zero."""
    if text is None or not text.strip():
        return math.nan
    return _checked(text, f"{str(path)!r} line {line}", what=f"its {column}")


def _checked(value: Any, where: str, what: str = "the measurement") -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and number > 0):
        raise DataError(f"{where}: {what} is {value!r}, not a finite number above zero")
    return number


def _rewrite(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    """The whole file anew, written beside it and moved over it: a kill mid-write leaves the old file whole."""
    partial = path.with_name(path.name + ".partial")
    with open(partial, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
