"""The candidate pool the samplers choose from."""

from __future__ import annotations

import numpy as np

from gpnas.sampling.acquisition_search import crossover, mutations
from gpnas.sampling.candidates import CandidateSet
from gpnas.space import SearchSpace


def candidate_pool(
    space: SearchSpace,
    exclude: np.ndarray,
    pool_size: int,
    rng: np.random.Generator,
    parents: np.ndarray | None = None,
    n_mutations: int = 0,
    n_crossovers: int = 0,
    candidates: CandidateSet | None = None,
) -> np.ndarray:
    """Candidates ``(N, d)`` not in ``exclude``: the whole space when it has at most ``pool_size`` architectures,
    otherwise ``pool_size`` uniform draws plus ``n_mutations`` random one-position mutations of ``parents`` (the
    current best), every neighbour of the two best parents and ``n_crossovers`` uniform crossovers between parents,
    so that the pool is refreshed around good architectures every round.  With ``candidates`` the pool is their
    unseen members (``pool_size`` of them at random when there are more).
    """
    if candidates is not None:
        seen = {tuple(x) for x in np.asarray(exclude)} if exclude is not None else set()
        rest = candidates.unseen(seen)
        return rest if len(rest) <= pool_size else rest[rng.choice(len(rest), pool_size, replace=False)]
    if space.size <= pool_size:
        candidates = space.enumerate()
    else:
        parts = [space.sample(pool_size, random_state=rng)]
        if parents is not None and len(parents) and n_mutations > 0:
            parts.append(mutations(space, parents, n_mutations, rng))
            parts.append(np.concatenate([space.neighbours(p) for p in parents[:2]]))
            parts.append(crossover(parents, n_crossovers, rng).reshape(-1, space.n_positions))
        candidates = np.unique(np.vstack(parts), axis=0)
    if exclude is not None and len(exclude):
        seen = {tuple(x) for x in np.asarray(exclude)}
        keep = np.fromiter((tuple(x) not in seen for x in candidates), dtype=bool, count=len(candidates))
        candidates = candidates[keep]
    return candidates
