"""Which architecture to ship now: the recommendation rules of a study.

* ``"measured"``: the best measured architecture.  Right when measurements are exact or nearly (a benchmark table,
  long training): nothing the model says can beat a number already in hand.
* ``"predicted"``: the best posterior mean over the evaluated architectures and a pool of unevaluated ones.  The
  paper's workflow (fit the predictor, ship its best); the only rule that can recommend an architecture never
  trained, which is what pure MI sampling, which never seeks the best, is for.
* ``"lcb"``: among the evaluated architectures, the best lower confidence bound ``mean - 2 std`` of the noise-free
  performance.  For noisy measurements (short training): it discounts a lucky single measurement.

``benchmarks/search.py`` measures the regret of each rule after 25-200 evaluations for every strategy; the default
rule, ``"measured"``, is the one that measured best for the default strategy (see ``docs/search.md``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

RULES = ("measured", "predicted", "lcb")


def recommend(rule: str, X_done: np.ndarray, y_done: np.ndarray, model=None, pool: np.ndarray | None = None,
              sign: float = 1.0) -> tuple[np.ndarray, dict[str, Any]]:
    """The architecture ``rule`` recommends, and what backs it.

    ``y_done`` are the measured values and ``model`` a :class:`GPNASRegressor` fitted on them (needed by
    ``"predicted"`` and ``"lcb"``); ``sign`` is ``+1`` when larger is better, ``-1`` when smaller is; ``pool`` holds
    the unevaluated candidates of ``"predicted"``.  Returns ``(arch, info)`` where ``info`` has ``mean`` and ``std``
    of the noise-free performance when a model is used, and ``measured`` when the architecture was evaluated.
    """
    if rule not in RULES:
        raise ValueError(f"unknown recommendation rule {rule!r}; expected one of {RULES}")
    X_done = np.asarray(X_done, dtype=int)
    y_done = np.asarray(y_done, dtype=float)
    if X_done.shape[0] == 0:
        raise ValueError("nothing to recommend: no architecture has been evaluated")
    if rule == "measured" or model is None:
        best = int(np.argmax(sign * y_done))
        return X_done[best], {"measured": float(y_done[best])}
    if rule == "lcb":
        candidates = X_done
    else:
        extra = np.asarray(pool, dtype=int).reshape(-1, X_done.shape[1]) if pool is not None else X_done[:0]
        candidates = np.unique(np.vstack([X_done, extra]), axis=0)
    mean, std = model.predict(candidates, return_std=True)
    score = sign * mean - 2.0 * std if rule == "lcb" else sign * mean
    best = int(np.argmax(score))
    arch = candidates[best]
    info: dict[str, Any] = {"mean": float(mean[best]), "std": float(std[best])}
    hit = np.flatnonzero((X_done == arch).all(axis=1))
    if hit.size:
        info["measured"] = float(y_done[hit][np.argmax(sign * y_done[hit])])
    return arch, info
