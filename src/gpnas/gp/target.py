"""Transforms of the measured performance into the units the GP models.

* ``"standardize"``: ``z = (y - mean) / std``, the usual target normalisation.
* ``"rank-gauss"`` (a Gaussian copula): ``z = Phi^-1((rank(y) - 1/2) / n)``, the normal score of each training value.
  Accuracy tables are skewed with long tails of broken networks (NAS-Bench-201 has cells at 10 % among cells at
  94 %); a GP with Gaussian noise fits the score better than the raw value and ranks held-out architectures markedly
  better (``benchmarks/predictor.py``).  New values are mapped by piecewise-linear interpolation between the training
  knots, extrapolated linearly beyond them, so the map is strictly increasing and ranks are preserved.
* ``"none"``: ``z = y``.

Predicted standard deviations are mapped back with the local slope of the inverse map (the delta method).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm, rankdata

TRANSFORMS = ("standardize", "rank-gauss", "none")


class TargetTransform:
    """A monotone map ``y -> z`` fitted on training targets, with its inverse and slope."""

    def __init__(self, kind: str = "standardize") -> None:
        if kind not in TRANSFORMS:
            raise ValueError(f"unknown target_transform {kind!r}; expected one of {TRANSFORMS}")
        self.kind = kind

    def fit(self, y: np.ndarray) -> "TargetTransform":
        y = np.asarray(y, dtype=float)
        if self.kind == "rank-gauss":
            z = norm.ppf((rankdata(y) - 0.5) / y.size)
            self.y_knots, first = np.unique(y, return_index=True)
            self.z_knots = z[first]
            if self.y_knots.size < 2:  # constant targets: fall back to an identity-like map
                self.y_knots = np.array([self.y_knots[0] - 0.5, self.y_knots[0] + 0.5])
                self.z_knots = np.array([-0.5, 0.5])
        elif self.kind == "standardize":
            scale = float(np.std(y))
            self.y_knots = np.array([np.mean(y), np.mean(y) + (scale if scale > 0 else 1.0)])
            self.z_knots = np.array([0.0, 1.0])
        else:
            self.y_knots, self.z_knots = np.array([0.0, 1.0]), np.array([0.0, 1.0])
        return self

    @classmethod
    def from_knots(cls, kind: str, y_knots: np.ndarray, z_knots: np.ndarray) -> "TargetTransform":
        transform = cls(kind)
        transform.y_knots, transform.z_knots = np.asarray(y_knots, float), np.asarray(z_knots, float)
        return transform

    @staticmethod
    def _map(v: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Piecewise-linear map through knots ``(a, b)``, extended by the end segments' lines."""
        v = np.asarray(v, dtype=float)
        out = np.interp(v, a, b)
        lo, hi = v < a[0], v > a[-1]
        out[lo] = b[0] + (v[lo] - a[0]) * (b[1] - b[0]) / (a[1] - a[0])
        out[hi] = b[-1] + (v[hi] - a[-1]) * (b[-1] - b[-2]) / (a[-1] - a[-2])
        return out

    def forward(self, y: np.ndarray) -> np.ndarray:
        return self._map(y, self.y_knots, self.z_knots)

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return self._map(z, self.z_knots, self.y_knots)

    def slope(self, z: np.ndarray) -> np.ndarray:
        """``dy/dz`` of the inverse map at ``z`` (the slope of the segment holding ``z``)."""
        z = np.asarray(z, dtype=float)
        dz, dy = np.diff(self.z_knots), np.diff(self.y_knots)
        segment = np.clip(np.searchsorted(self.z_knots, z) - 1, 0, dz.size - 1)
        return dy[segment] / dz[segment]
