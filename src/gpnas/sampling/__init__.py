"""Choosing which architectures to evaluate next.

* :mod:`gpnas.sampling.strategies`: the samplers a study uses (``mi``, ``random``, ``ucb``, ``ei``, ``mi+ucb``,
  ``rea``, ``ls``);
* :mod:`gpnas.sampling.mutual_information`: what to score (Eq. 12's mutual information, UCB, EI) and the greedy batch
  with pending points;
* :mod:`gpnas.sampling.pool`: the candidate pool.
"""

from gpnas.sampling.mutual_information import greedy_batch, mutual_information
from gpnas.sampling.pool import candidate_pool

__all__ = ["candidate_pool", "greedy_batch", "mutual_information"]
