"""The names of gpnas's zero-cost proxies and who votes, without torch (the command line reads them to pick the vote
of a table's proxy columns; :mod:`gpnas.nets.proxies` computes the proxies)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

#: The proxies :mod:`gpnas.nets.proxies` computes, in its column order.
PROXIES = ("params", "flops", "synflow", "nwot", "jacov", "snip", "grad_norm", "zen", "expressivity", "progressivity",
           "trainability")
#: The proxies whose vote picks a study's first trials: AZ-NAS's ensemble (its three, and FLOPs as its complexity),
#: each larger-is-better.  Chosen on the tuning tables NB201 CIFAR-10 and CIFAR-100 (seeds 0-19) over the vote of all
#: eleven (``benchmarks/results/search_tuning_proxies_own_vote.md``).
VOTERS = ("flops", "expressivity", "progressivity", "trainability")


def proxy_signs(names: Sequence[str]) -> np.ndarray:
    """The signs of proxies ``names`` as side features: +1 for :data:`VOTERS`, 0 for the others.  A sign only
    decides who votes (:meth:`SideFeatures.vote`, the first trials of a study); the model takes every proxy."""
    return np.array([1.0 if name in VOTERS else 0.0 for name in names])
