"""Architecture CSV files: one column per choice (named as in the space, holding the value, not its index), plus
optional other columns such as a target.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from gpnas.exceptions import ArchitectureError, DataError
from gpnas.space import SearchSpace


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
        with open(path, newline="") as handle:
            reader = csv.DictReader(handle)
            columns = reader.fieldnames or []
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DataError(f"cannot read data file {str(path)!r}: {err}") from None
    needed = space.names + ([target] if target else [])
    missing = [c for c in needed if c not in columns]
    if missing:
        raise DataError(f"data file {str(path)!r} lacks column(s) {missing}; it has {columns}")
    X = np.empty((len(rows), space.n_positions), dtype=int)
    y = np.empty(len(rows)) if target else None
    for i, row in enumerate(rows):
        line = i + 2  # the header is line 1
        try:
            X[i] = [c.index_of(row[c.name]) for c in space.choices]
        except ArchitectureError as err:
            raise DataError(f"{str(path)!r} line {line}: {err}") from None
        if target:
            text = (row[target] or "").strip()
            try:
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
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(space.names + list(extra))
        for i, x in enumerate(np.atleast_2d(X)):
            arch = space.to_dict_arch(x)
            writer.writerow([arch[n] for n in space.names] + [extra[k][i] for k in extra])
