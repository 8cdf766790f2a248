"""Maximising an acquisition over a space too large to enumerate: evolutionary moves and discrete local search.

A uniform pool of 20,000 draws is a vanishing fraction of a space of 1e11 architectures, and the acquisition's
maximisers sit near the good architectures already found.  So the candidates of a large space come from three moves,
as in BANANAS (White et al., AAAI 2021) and BoTorch's ``optimize_acqf_discrete_local_search``:

* **mutations** of the incumbents (one position changed) and **uniform crossover** between pairs of them;
* **local search**: from each start (the incumbents and the best-scoring candidates of the pool) move to the best
  one-position neighbour while the acquisition improves, up to ``max_steps`` moves.  Every visited architecture
  joins the candidates, so the greedy batch that follows (which conditions on pending points) can still spread its
  picks when one local optimum dominates.

The functions here know nothing about the model: they take a vectorised ``score(X) -> (N,)``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from gpnas.space import SearchSpace


def all_neighbours(space: SearchSpace, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every one-position neighbour of every row of ``X (m, d)``: ``(rows (m * q, d), owner (m * q,))`` with
    ``q = sum(n_options - 1)`` and ``owner`` the row each neighbour came from."""
    X = np.asarray(X, dtype=int).reshape(-1, space.n_positions)
    position = np.repeat(np.arange(space.n_positions), space.n_options - 1)
    # the q offsets 1 .. n_j - 1 of each position j, added modulo n_j: every other value exactly once
    offset = np.concatenate([np.arange(1, n) for n in space.n_options]) if position.size else np.zeros(0, int)
    rows = np.repeat(X, position.size, axis=0)
    col = np.tile(position, X.shape[0])
    rows[np.arange(rows.shape[0]), col] = (rows[np.arange(rows.shape[0]), col] + np.tile(offset, X.shape[0])) \
        % space.n_options[col]
    return rows, np.repeat(np.arange(X.shape[0]), position.size)


def mutations(space: SearchSpace, parents: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` one-position mutations of random ``parents (m, d)`` (vectorised :meth:`SearchSpace.mutate`)."""
    parents = np.asarray(parents, dtype=int).reshape(-1, space.n_positions)
    n_options = np.asarray(space.n_options)
    mutable = np.flatnonzero(n_options > 1)
    if parents.shape[0] == 0 or n <= 0 or mutable.size == 0:
        return parents[:0]
    children = parents[rng.integers(0, parents.shape[0], n)].copy()
    position = mutable[rng.integers(0, mutable.size, n)]
    step = 1 + np.floor(rng.random(n) * (n_options[position] - 1)).astype(int)  # uniform over the other values
    rows = np.arange(n)
    children[rows, position] = (children[rows, position] + step) % n_options[position]
    return children


def crossover(parents: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniform-crossover children of random pairs of ``parents (m, d)`` (each position from either parent)."""
    parents = np.asarray(parents, dtype=int)
    if parents.shape[0] < 2 or n <= 0:
        return np.zeros((0, parents.shape[1] if parents.ndim == 2 else 0), dtype=int)
    a = parents[rng.integers(0, parents.shape[0], n)]
    b = parents[rng.integers(0, parents.shape[0], n)]
    return np.where(rng.random(a.shape) < 0.5, a, b)


def local_search(space: SearchSpace, score: Callable[[np.ndarray], np.ndarray], starts: np.ndarray,
                 max_steps: int = 20, allowed: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """Steepest-ascent hill climbing of ``score`` from every row of ``starts``, all starts in lock step.

    Returns every architecture visited (the starts, and each accepted move), ``(v, d)``, unique.  A start stops when
    no neighbour scores higher or after ``max_steps`` moves.  ``allowed(X) -> (n,) bool`` (a candidate set's
    membership) keeps the moves to the architectures it allows: a neighbour outside is never scored nor visited.
    """
    current = np.unique(np.asarray(starts, dtype=int).reshape(-1, space.n_positions), axis=0)
    if current.shape[0] == 0:
        return current
    current_score = score(current)
    visited = [current]
    for _ in range(max_steps):
        rows, owner = all_neighbours(space, current)
        if allowed is not None and rows.shape[0]:
            keep = allowed(rows)
            rows, owner = rows[keep], owner[keep]
        if rows.shape[0] == 0:
            break
        values = score(rows)
        # the best neighbour of each start: sort by (owner, -value) and take each owner's first row
        order = np.lexsort((-values, owner))
        first = order[np.r_[True, owner[order][1:] != owner[order][:-1]]]
        improved = values[first] > current_score[owner[first]] + 1e-12
        if not improved.any():
            break
        moved = first[improved]
        current, current_score = rows[moved], values[moved]
        visited.append(current)
    return np.unique(np.vstack(visited), axis=0)
