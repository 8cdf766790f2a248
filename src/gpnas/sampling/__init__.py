"""Choosing which architectures to evaluate next: what to score (mutual information, UCB, EI) lives apart from how a
batch is picked (greedy sequential conditioning with pending points)."""

from gpnas.sampling.mutual_information import greedy_batch, mutual_information
from gpnas.sampling.pool import candidate_pool

__all__ = ["candidate_pool", "greedy_batch", "mutual_information"]
