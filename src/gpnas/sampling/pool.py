"""The candidate pool the samplers choose from."""

from __future__ import annotations

import numpy as np

from gpnas.sampling.acquisition_search import crossover, mutations
from gpnas.sampling.candidates import CandidateSet
from gpnas.space import SearchSpace
from gpnas.space.networks import SeenNetworks


def candidate_pool(
    space: SearchSpace,
    exclude: np.ndarray | SeenNetworks | None,
    pool_size: int,
    rng: np.random.Generator,
    parents: np.ndarray | None = None,
    n_mutations: int = 0,
    n_crossovers: int = 0,
    candidates: CandidateSet | None = None,
    candidate_moves: bool = False,
) -> np.ndarray:
    """Candidates ``(N, d)`` not in ``exclude``: the whole space when it has at most ``pool_size`` architectures,
    otherwise ``pool_size`` uniform draws plus ``n_mutations`` random one-position mutations of ``parents`` (the
    current best), every neighbour of the two best parents and ``n_crossovers`` uniform crossovers between parents,
    so that the pool is refreshed around good architectures every round.  With ``candidates`` the pool is their
    unseen members (``pool_size`` of them at random when there are more; with ``candidate_moves``, also the unseen
    members among those moves of ``parents``, so that a large candidate set's pool is refreshed around good
    architectures as a large space's is).  ``exclude`` as
    :class:`~gpnas.space.networks.SeenNetworks` excludes the architectures it has seen (by network, where it counts
    by network).
    """
    if candidates is not None:
        if isinstance(exclude, SeenNetworks):
            seen = exclude
        else:
            seen = {tuple(x) for x in np.asarray(exclude)} if exclude is not None else set()
        rest = candidates.unseen(seen)
        if len(rest) <= pool_size:
            return rest
        pool = rest[rng.choice(len(rest), pool_size, replace=False)]
        if not (candidate_moves and parents is not None and len(parents) and n_mutations > 0):
            return pool
        moved = _moves(space, parents, n_mutations, n_crossovers, rng)
        moved = moved[candidates.contains(moved, space)]
        if isinstance(seen, SeenNetworks):
            moved = moved[~seen.mask(moved)] if len(seen) and len(moved) else moved
        elif seen and len(moved):
            moved = moved[~is_in(space, moved, np.array(list(seen), dtype=int))]
        return unique_rows(space, np.vstack([pool, moved]))
    if space.size <= pool_size:
        candidates = space.enumerate()
    else:
        parts = [space.sample(pool_size, random_state=rng)]
        if parents is not None and len(parents) and n_mutations > 0:
            parts.append(_moves(space, parents, n_mutations, n_crossovers, rng))
        candidates = unique_rows(space, np.vstack(parts))
    if isinstance(exclude, SeenNetworks):
        candidates = candidates[~exclude.mask(candidates)] if len(exclude) else candidates
    elif exclude is not None and len(exclude):
        candidates = candidates[~is_in(space, candidates, np.asarray(exclude))]
    return candidates


def _moves(space: SearchSpace, parents: np.ndarray, n_mutations: int, n_crossovers: int,
           rng: np.random.Generator) -> np.ndarray:
    """``n_mutations`` random one-position mutations of ``parents``, every neighbour of the two first parents and
    ``n_crossovers`` uniform crossovers between parents (rows may repeat)."""
    return np.vstack([mutations(space, parents, n_mutations, rng),
                      np.concatenate([space.neighbours(p) for p in parents[:2]]),
                      crossover(parents, n_crossovers, rng).reshape(-1, space.n_positions)])


def unique_rows(space: SearchSpace, X: np.ndarray) -> np.ndarray:
    """The distinct rows of ``X``, in lexicographic order (``np.unique(X, axis=0)``), through the space's exact
    integer keys where it has them: a sort of ``n`` integers instead of ``n`` rows."""
    return X[unique_row_indices(space, X)]


def unique_row_indices(space: SearchSpace, X: np.ndarray) -> np.ndarray:
    """The index of each distinct row's first occurrence in ``X``, in the order :func:`unique_rows` returns them (so
    that values computed for ``X`` follow its rows)."""
    keys = space.row_keys(X)
    if keys is None:
        return np.unique(X, axis=0, return_index=True)[1]
    return np.unique(keys, return_index=True)[1]


def is_in(space: SearchSpace, X: np.ndarray, others: np.ndarray) -> np.ndarray:
    """``(n,)``: whether each row of ``X`` is a row of ``others``."""
    if len(others) == 0:
        return np.zeros(len(X), dtype=bool)
    keys = space.row_keys(X)
    if keys is None:
        seen = {tuple(x) for x in others.tolist()}
        return np.fromiter((tuple(x) in seen for x in X.tolist()), dtype=bool, count=len(X))
    return np.isin(keys, space.row_keys(others))
