"""A finite set of candidate architectures: the only ones a search may propose.

A benchmark table lists a few thousand architectures of a space of billions (Accel-NASBench: 5,125 of 5.9e11; CVPR
2022 Track 2: 500 subnets of a ViT supernet), and only those can be evaluated.  A study given such a set proposes
from it alone: random draws come from it, the model scores it, and an evolutionary move that lands outside it goes to
the nearest unseen member (Hamming distance, ties at random).
"""

from __future__ import annotations

import hashlib

import numpy as np


class CandidateSet:
    """The architectures ``X (N, d)`` (choice indices) a search may propose, without duplicates."""

    def __init__(self, X: np.ndarray) -> None:
        X = np.unique(np.asarray(X, dtype=int).reshape(len(X), -1), axis=0)
        if X.shape[0] == 0:
            raise ValueError("a candidate set needs at least one architecture")
        self.X = X
        self._index = {tuple(int(v) for v in x): i for i, x in enumerate(X)}
        self._sorted_keys: dict[tuple, np.ndarray] = {}  # the members' sorted row keys, per space (contains)

    def __len__(self) -> int:
        return self.X.shape[0]

    def __contains__(self, arch) -> bool:
        return tuple(int(v) for v in arch) in self._index

    def contains(self, X: np.ndarray, space) -> np.ndarray:
        """``(n,)``: whether each row of ``X (n, d)``, architectures of ``space`` (valid choice indices), is a
        member: one sorted search of the space's row keys (:meth:`~gpnas.space.SearchSpace.row_keys`, the members'
        computed once per space), or one lookup per row in a space too large for ``int64`` keys."""
        X = np.asarray(X, dtype=np.int64).reshape(-1, self.X.shape[1])
        keys = space.row_keys(X)
        if keys is None:
            return np.fromiter((tuple(x) in self._index for x in X.tolist()), dtype=bool, count=len(X))
        shape = tuple(int(n) for n in space.n_options)
        if shape not in self._sorted_keys:
            self._sorted_keys[shape] = np.sort(space.row_keys(self.X))
        members = self._sorted_keys[shape]
        where = np.searchsorted(members, keys).clip(max=len(members) - 1)
        return members[where] == keys

    def fingerprint(self) -> str:
        """A digest of the set (stored with a study, so that a resume with other candidates is refused)."""
        return hashlib.sha256(np.ascontiguousarray(self.X, dtype=np.int64).tobytes()).hexdigest()[:16]

    def _unseen_mask(self, seen) -> np.ndarray:
        """``seen``: a set of tuples, or an object whose ``mask(X)`` says which rows of ``X`` were seen
        (:class:`~gpnas.space.networks.SeenNetworks`)."""
        if hasattr(seen, "mask"):
            return ~seen.mask(self.X)
        mask = np.ones(len(self), dtype=bool)
        for t in seen:
            i = self._index.get(t)
            if i is not None:
                mask[i] = False
        return mask

    def unseen(self, seen: set[tuple]) -> np.ndarray:
        """The members not in ``seen`` ``(M, d)``."""
        return self.X[self._unseen_mask(seen)]

    def sample(self, k: int, rng: np.random.Generator, seen: set[tuple]) -> np.ndarray:
        """Up to ``k`` distinct unseen members, uniformly."""
        rest = np.flatnonzero(self._unseen_mask(seen))
        return self.X[rng.choice(rest, size=min(k, rest.size), replace=False)] if rest.size else self.X[:0]

    def nearest_unseen(self, arch: np.ndarray, rng: np.random.Generator, seen: set[tuple]) -> np.ndarray | None:
        """The unseen member closest to ``arch`` in Hamming distance (``arch`` itself when it is one), ties broken
        at random; ``None`` when every member has been seen."""
        mask = self._unseen_mask(seen)
        if not mask.any():
            return None
        distance = np.where(mask, (self.X != np.asarray(arch)[None, :]).sum(axis=1), np.iinfo(np.int64).max)
        closest = np.flatnonzero(distance == distance.min())
        return self.X[rng.choice(closest)]

    def neighbours(self, arch: np.ndarray) -> np.ndarray:
        """The members at Hamming distance 1 from ``arch``."""
        return self.X[(self.X != np.asarray(arch)[None, :]).sum(axis=1) == 1]
