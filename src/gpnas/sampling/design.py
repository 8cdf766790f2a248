"""Which few architectures to measure first, before any measurement: a space-filling design in the side features.

With no measurement yet, the GP's hyperparameters are unknown.  Under a stationary kernel with one lengthscale,
greedily adding the point of largest posterior variance (the information-driven choice of mutual-information
sampling, with negligible noise) picks each time the point farthest from those chosen: a farthest-point (maximin)
design.  Here the distance is Euclidean in the side features' normal scores, so the measured architectures span
what the side features (other devices' latencies, zero-cost proxies) say about the space.
"""

from __future__ import annotations

import numpy as np

from gpnas.gp.side_features import NormalScores, SideFeatures


def farthest_point_design(side: SideFeatures, k: int, rng: np.random.Generator) -> np.ndarray:
    """Row indices ``(k,)`` into ``side.X``: a random first row, then each time the row farthest (in normal scores)
    from the rows chosen."""
    scores = NormalScores(side.values).transform(side.values)
    chosen = [int(rng.integers(len(scores)))]
    distance = np.sum((scores - scores[chosen[0]]) ** 2, axis=1)
    while len(chosen) < min(k, len(scores)):
        nxt = int(np.argmax(distance))
        chosen.append(nxt)
        distance = np.minimum(distance, np.sum((scores - scores[nxt]) ** 2, axis=1))
    return np.array(chosen)
