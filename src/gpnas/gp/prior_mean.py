"""Transfer by a prior model's predictions in the linear mean (Kennedy and O'Hagan, 2001).

The paper's transfer (§1) makes a source model's weight posterior the prior of the target's weights; when the two
tasks rank alike but their linear means differ, that prior can pull the target below what the source model alone
predicts.  Here the source model's prediction ``f_src(x)``, standardised over the training architectures, is one more
column of the linear mean's design::

    y(x) = w_0 + w^T z(x) + rho * (f_src(x) - c) / s + g(x),    g ~ GP(0, K)

so that its scale ``rho`` gets a posterior like every weight (Theorems 1-2) and the GP ``g`` models the
discrepancy.  With few target points the data decide ``rho`` (a single number) long before they could decide the
``p`` weights; with many the discrepancy takes over.  The column belongs to no kernel group: the kernel is unchanged.
"""

from __future__ import annotations

import numpy as np

from gpnas.space.encoding import Encoder


class PriorMeanEncoder:
    """An :class:`Encoder` with one more column, the standardised prediction of ``source`` (a fitted model of the
    same space).  ``center`` and ``scale`` standardise it over the training architectures (given when rebuilt)."""

    def __init__(self, base: Encoder, source, X_train: np.ndarray | None = None, center: float | None = None,
                 scale: float | None = None) -> None:
        if list(np.asarray(source.n_options_)) != list(base.n_options):
            raise ValueError("the prior_mean model must be fitted on the same space (options per position) as this one")
        self.base, self.source = base, source
        if center is None or scale is None:
            values = source.predict(X_train)
            center, scale = float(values.mean()), float(values.std())
        self.center, self.scale = float(center), float(scale) if scale and scale > 0 else 1.0
        self.n_options, self.group_names, self.group_columns = base.n_options, base.group_names, base.group_columns
        self.onehot_positions, self.encoding = base.onehot_positions, base.encoding
        self.n_features = base.n_features + 1

    @property
    def n_positions(self) -> int:
        return self.base.n_positions

    def transform(self, X: np.ndarray) -> np.ndarray:
        """``[Z_base, (f_src(X) - center) / scale]`` ``(n, p + 1)``."""
        column = (self.source.predict(X) - self.center) / self.scale
        return np.hstack([self.base.transform(X), column[:, None]])

    def masks(self) -> np.ndarray:
        return np.hstack([self.base.masks(), np.zeros((len(self.group_names), 1))])
