"""Per-choice latency tables (``choice,value,ms``, an optional ``_base`` row): a device model in which a network's
latency is the sum of its choices' entries.  ``gpnas select --latency DEVICE=LUT.csv`` checks budgets with it and
``gpnas search --latency DEVICE=LUT.csv`` makes it an objective (:class:`gpnas.nets.objectives.TrainedAndCounted`)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from gpnas.exceptions import DataError
from gpnas.space import SearchSpace


def read_latency_table(path: str | Path, space: SearchSpace) -> tuple[dict[tuple[int, int], float], float]:
    """Read a per-choice latency table; returns ``({(position, value index): ms}, base ms)``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"latency table {str(path)!r} does not exist")
    entries: dict[tuple[int, int], float] = {}
    base = 0.0
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            fieldnames = list(reader.fieldnames or [])
            rows = list(reader)
    except UnicodeDecodeError as err:
        raise DataError(f"latency table {str(path)!r} is not UTF-8 text: {err}") from None
    except csv.Error as err:
        raise DataError(f"latency table {str(path)!r} is not a readable CSV file: {err}") from None
    if not {"choice", "value", "ms"} <= set(fieldnames):
        raise DataError(f"latency table {str(path)!r} needs columns choice,value,ms")
    names = {n: j for j, n in enumerate(space.names)}
    for line, row in enumerate(rows, start=2):
        try:
            ms = float(row["ms"])
        except (TypeError, ValueError):
            raise DataError(f"{str(path)!r} line {line}: ms {row['ms']!r} is not a number") from None
        if not np.isfinite(ms) or ms < 0:
            raise DataError(f"{str(path)!r} line {line}: ms {row['ms']!r} is not a finite non-negative number")
        if row["choice"] == "_base":
            base = ms
            continue
        if row["choice"] not in names:
            raise DataError(f"{str(path)!r} line {line}: unknown choice {row['choice']!r}")
        j = names[row["choice"]]
        try:
            entries[(j, space.choices[j].index_of(row["value"]))] = ms
        except Exception as err:
            raise DataError(f"{str(path)!r} line {line}: {err}") from None
    missing = [f"{c.name}={v}" for j, c in enumerate(space.choices) for i, v in enumerate(c.values)
               if (j, i) not in entries]
    if missing:
        raise DataError(f"latency table {str(path)!r} lacks {len(missing)} entries, e.g. {missing[:3]}")
    return entries, base


def latency_of(X: np.ndarray, table: dict[tuple[int, int], float], base: float) -> np.ndarray:
    """Additive latency of architectures ``X (n, d)``."""
    d = X.shape[1]
    lut = np.zeros((d, int(X.max()) + 1 if X.size else 1))
    for (j, i), ms in table.items():
        if i < lut.shape[1]:
            lut[j, i] = ms
    return base + lut[np.arange(d)[None, :], X].sum(axis=1)
