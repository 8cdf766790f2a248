"""Choice columns of a CSV block decoded with NumPy, without a Python string per field.

``gpnas predict`` reads millions of rows of a dozen to a few dozen short fields ("3", "on", "skip_connect").  The
csv module makes a Python string of every field and a list of every row, which costs several times the reading
itself.  Here a block of lines stays bytes: the field separators are found with one vectorised comparison, each
needed field's bytes (at most 32) are hashed into a 64-bit key, the keys are looked up among the keys of the
choice's values with a binary search, and every byte of every field is then compared with the value found, so a
hash collision can never decode a wrong value.  Anything this does not handle exactly (a quote anywhere, a line with
another number of fields, a field longer than 32 bytes, a value spelled otherwise than the space spells it) returns
``None``, and the caller takes the csv module's path for that block, which names the problem.
"""

from __future__ import annotations

import numpy as np

from gpnas.space import SearchSpace

_COMMA, _NEWLINE, _QUOTE = ord(","), ord("\n"), ord('"')
_MAX_BYTES = 32
_PRIME = np.uint64(1099511628211)  # FNV-1a's 64-bit prime; the hash only narrows the search, the bytes decide


def _hash(byte_columns, lengths: np.ndarray) -> np.ndarray:
    """FNV-style 64-bit hashes of texts given as byte columns (``(n,)`` arrays, byte ``k`` of each text) and their
    ``lengths``; the bytes past a text's end do not enter its hash, so it does not depend on the padding."""
    key = np.zeros(lengths.shape, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k, column in enumerate(byte_columns):
            key = np.where(k < lengths, (key * _PRIME) ^ column.astype(np.uint64), key)
    return key


class ChoiceColumns:
    """Decodes the columns ``header.index(name)`` of each choice of ``space`` from blocks of CSV lines."""

    #: Lines decoded at once (bounds the ``(lines, choices)`` temporaries).
    SUB_BLOCK = 32768

    def __init__(self, space: SearchSpace, header: list[str]) -> None:
        self.width = len(header)
        self.where = np.array([header.index(name) for name in space.names])
        self.usable = True
        texts, owners, indices = [], [], []
        for j, choice in enumerate(space.choices):
            for i, value in enumerate(choice.values):
                texts.append(str(value).encode("utf-8"))
                owners.append(j)
                indices.append(i)
        if any(len(t) > _MAX_BYTES or len(t) == 0 or b"\0" in t for t in texts):
            self.usable = False
            return
        self.longest = max(len(t) for t in texts)
        padded = np.zeros((len(texts), self.longest), dtype=np.uint8)
        for r, t in enumerate(texts):
            padded[r, : len(t)] = np.frombuffer(t, dtype=np.uint8)
        lengths = np.array([len(t) for t in texts])
        # one table of every (choice, value): the choice's position is hashed in, so one search serves all columns
        keys = self._keys(list(padded.T), lengths, np.array(owners))
        if np.unique(keys).size != keys.size:  # two (choice, value) pairs share a hash: no fast path
            self.usable = False
            return
        order = np.argsort(keys)
        self.keys, self.texts, self.lengths = keys[order], padded[order], lengths[order]
        self.owner, self.index = np.array(owners)[order], np.array(indices)[order]

    @staticmethod
    def _keys(byte_columns, lengths: np.ndarray, owners: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return _hash(byte_columns, lengths) ^ (owners.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))

    def decode(self, block: bytes, n_lines: int) -> np.ndarray | None:
        """``X (n_lines, d)`` choice indices of ``block`` (``n_lines`` lines, each ending in ``\\n``), or ``None``
        where the block needs the general path."""
        if not self.usable or n_lines == 0:
            return None
        buf = np.frombuffer(block, dtype=np.uint8)
        if (buf == _QUOTE).any():
            return None
        separators = np.flatnonzero((buf == _COMMA) | (buf == _NEWLINE))
        if separators.size != n_lines * self.width:
            return None
        ends = separators.reshape(n_lines, self.width)
        if not (buf[ends[:, -1]] == _NEWLINE).all():  # every line has exactly the header's number of fields
            return None
        X = np.empty((n_lines, self.where.size), dtype=int)
        last = buf.size - 1
        for first in range(0, n_lines, self.SUB_BLOCK):
            rows = slice(first, min(first + self.SUB_BLOCK, n_lines))
            end = ends[rows][:, self.where]
            flat_end = ends[rows].ravel()
            previous = np.concatenate([[separators[first * self.width - 1] if first else -1], flat_end[:-1]])
            start = (previous + 1).reshape(end.shape[0], self.width)[:, self.where]
            length = end - start
            if int(length.max()) > self.longest or int(length.min()) == 0:
                return None  # longer than every value, or empty
            byte_columns = [np.where(k < length, buf[np.minimum(start + k, last)], 0)
                            for k in range(int(length.max()))]
            owners = np.broadcast_to(np.arange(self.where.size), length.shape)
            position = np.minimum(np.searchsorted(self.keys, self._keys(byte_columns, length, owners)),
                                  self.keys.size - 1)
            exact = (self.lengths[position] == length) & (self.owner[position] == owners)
            for k, column_bytes in enumerate(byte_columns):
                exact &= self.texts[position, k] == column_bytes
            if not exact.all():
                return None
            X[rows] = self.index[position]
        return X
