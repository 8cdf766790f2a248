"""The first trials of a study with side features: the best unseen architectures by the side features' vote.

Before any network is trained the GP has nothing to learn from, and a study's first ``n_initial`` trials are
usually random.  Zero-cost proxies rank networks without training (NAS-Bench-Suite-Zero measures Spearman 0.7-0.8
with CIFAR-10 accuracy for the best ones), so the first trials are better spent on the architectures they rank
highest: the GP then starts from good networks and learns how the proxies and the structure relate to accuracy.
"""

from __future__ import annotations

import numpy as np

from gpnas.gp.side_features import SideFeatures
from gpnas.sampling.strategies import SamplingContext, Sampler


class ZeroShotSampler(Sampler):
    """Propose the ``k`` unseen architectures of the lookup (within the study's candidates) with the highest
    :meth:`SideFeatures.vote`; ties keep the lookup's order."""

    name = "zero-shot"
    uses_model = False

    def __init__(self, side: SideFeatures) -> None:
        self.side = side
        self._vote = side.vote()
        if self._vote is None:
            raise ValueError("zero-shot proposals need side features with signs (which way is better)")

    def propose(self, ctx: SamplingContext, k: int) -> np.ndarray:
        seen = ctx.seen_networks()
        picked = []
        for i in np.argsort(-self._vote, kind="stable"):
            arch = tuple(int(v) for v in self.side.X[i])
            if (ctx.candidates is None or arch in ctx.candidates) and arch not in seen:
                seen.add(arch)  # and no second vector of its network in this batch
                picked.append(i)
                if len(picked) == k:
                    break
        return self.side.X[picked]
