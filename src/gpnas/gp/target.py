"""Monotone maps of the measured performance into the units the GP models, and back.

The GP models ``z = T(y)`` with Gaussian noise; a prediction in *model units* is ``z* ~ N(mu, s^2)``.  Because ``T``
is strictly increasing, the predictive distribution in measured units is that of ``T^-1(z*)`` (a warped GP, Snelson et
al. 2004, with ``T`` fitted before the kernel):

* quantiles map exactly: the ``q``-quantile of ``y*`` is ``T^-1(mu + s Phi^-1(q))``, so intervals keep their coverage;
* the mean and variance of ``y*`` are integrals, exact for a piecewise-linear map (:meth:`TargetTransform.moments`).

Kinds:

* ``"copula"`` (default): ``z = Phi^-1(F(y))`` with ``F`` the kernel-smoothed empirical CDF of the training targets,
  ``F(y) = 1/n sum_i Phi((y - y_i) / h)``, ``h`` Silverman's robust bandwidth.  It is the normal-score ("rank-Gauss")
  transform made smooth: as ``h -> 0`` a training value maps to the normal score of its mid-rank.  Accuracy tables are
  skewed with long tails of broken networks (NAS-Bench-201 has cells at 10 % among cells at 94 %); the GP fits the
  scores far better than the raw values (``benchmarks/predictor.py``).  Smoothing matters for the way back: the map's
  slope never collapses where training values tie, and beyond the data ``F`` has the Gaussian tails of its end
  kernels, so ``T^-1`` grows with slope ``h`` per model unit: a prediction leaves the observed range by a few
  bandwidths at most, never by the length of a tail segment.
* ``"standardize"``: ``z = (y - mean) / std``.
* ``"none"``: ``z = y``.

Every kind is stored as a strictly increasing piecewise-linear map through knots ``(y_knots, z_knots)``, continued
beyond the end knots with the slopes ``dy/dz`` in ``tail_slopes``; the linear kinds need two knots.
"""

from __future__ import annotations

import threading

import numpy as np
from scipy.special import ndtr, ndtri

TRANSFORMS = ("copula", "standardize", "none")
_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)
#: (rows x segments) per block of the exact moments, to bound memory.
_SEGMENT_CELLS = 1 << 21
#: From this many predictions on, the moments come from a table over (mean, log std) built once per fitted map.
TABLE_THRESHOLD = 200_000
#: The table's mean step is this fraction of the smallest std it serves (bilinear interpolation errs by about
#: ``step^2 / std``, so the ratio keeps the error the same at every std); its std grid has at least
#: ``_TABLE_STD_POINTS`` points, and a log-std step of at most ``_TABLE_LOG_STD_STEP``.
_TABLE_STEP_PER_STD = 0.2
_TABLE_STD_POINTS = 48
_TABLE_LOG_STD_STEP = 0.1
#: At most this many mean points: predictions with a smaller std than the grid's step allows take the exact path.
_TABLE_MAX_MEANS = 4096
_TABLE_LOCK = threading.Lock()
#: Knots of the copula map: every training value shifted by these multiples of the bandwidth, and the far tails.
_OFFSETS = np.array([-3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0])
_TAIL_OFFSETS = np.array([4.0, 5.0, 6.0, 7.0, 8.0])


def silverman_bandwidth(y: np.ndarray) -> float:
    """Silverman's robust rule ``0.9 min(std, IQR / 1.34) n^-1/5``, with fallbacks for (near-)constant targets."""
    y = np.asarray(y, dtype=float)
    spread = min(float(np.std(y)), float(np.subtract(*np.percentile(y, [75, 25]))) / 1.34)
    if spread <= 0:
        spread = float(np.std(y))
    if spread <= 0:
        spread = max(abs(float(y[0])) * 1e-3, 1e-3) if y.size else 1.0
    return 0.9 * spread * y.size ** -0.2


class TargetTransform:
    """A strictly increasing map ``y -> z`` fitted on training targets, with its inverse and the predictive moments."""

    def __init__(self, kind: str = "copula") -> None:
        if kind not in TRANSFORMS:
            raise ValueError(f"unknown target_transform {kind!r}; expected one of {TRANSFORMS}")
        self.kind = kind

    # ------------------------------------------------------------------ fitting and state
    def fit(self, y: np.ndarray) -> "TargetTransform":
        y = np.asarray(y, dtype=float).ravel()
        if self.kind == "copula":
            self._fit_copula(y)
        elif self.kind == "standardize":
            scale = float(np.std(y))
            scale = scale if scale > 0 else 1.0
            self._set(np.array([np.mean(y), np.mean(y) + scale]), np.array([0.0, 1.0]), (scale, scale))
        else:
            self._set(np.array([0.0, 1.0]), np.array([0.0, 1.0]), (1.0, 1.0))
        return self

    def _fit_copula(self, y: np.ndarray) -> None:
        h = silverman_bandwidth(y)
        data = np.unique(y)
        # Knots at multiples of h/4 near the data (where F has its curvature), and in the tails; rounding to that
        # lattice keeps the count proportional to the data's range in bandwidths, not to n.
        near = np.unique(np.round((data[:, None] + h * _OFFSETS[None, :]).ravel() / (h / 4)))
        grid = np.unique(np.concatenate([near * (h / 4), data[0] - h * _TAIL_OFFSETS, data[-1] + h * _TAIL_OFFSETS]))
        u = (grid[:, None] - y[None, :]) / h
        lower = ndtr(u).mean(axis=1)  # F(y)
        upper = ndtr(-u).mean(axis=1)  # 1 - F(y), computed directly for accuracy in the upper tail
        z = np.where(lower < 0.5, ndtri(lower), -ndtri(upper))
        keep = np.isfinite(z)
        grid, z = grid[keep], z[keep]
        # Rounding can flatten the map between knots that are very close; keep it strictly increasing.
        strict = np.concatenate([[True], (np.diff(z) > 1e-12) & (np.diff(grid) > 0)])
        self._set(grid[strict], z[strict], (h, h))

    def _set(self, y_knots: np.ndarray, z_knots: np.ndarray, tail_slopes: tuple[float, float]) -> None:
        self.y_knots = np.asarray(y_knots, dtype=float)
        self.z_knots = np.asarray(z_knots, dtype=float)
        self.tail_slopes = np.asarray(tail_slopes, dtype=float)

    @classmethod
    def from_state(cls, kind: str, y_knots: np.ndarray, z_knots: np.ndarray,
                   tail_slopes: np.ndarray) -> "TargetTransform":
        """Rebuild a fitted transform from :meth:`state` (used by saved models); checks that the map is increasing."""
        transform = cls(kind)
        y_knots, z_knots = np.asarray(y_knots, dtype=float), np.asarray(z_knots, dtype=float)
        tail_slopes = np.asarray(tail_slopes, dtype=float)
        if (y_knots.ndim != 1 or y_knots.shape != z_knots.shape or y_knots.size < 2 or tail_slopes.shape != (2,)
                or not np.all(np.isfinite(y_knots)) or not np.all(np.isfinite(z_knots))
                or np.any(np.diff(y_knots) <= 0) or np.any(np.diff(z_knots) <= 0) or np.any(tail_slopes <= 0)):
            raise ValueError("target transform knots must be finite, strictly increasing, with positive tail slopes")
        transform._set(y_knots, z_knots, tuple(tail_slopes))
        return transform

    def state(self) -> dict[str, np.ndarray]:
        return {"y_knots": self.y_knots, "z_knots": self.z_knots, "tail_slopes": self.tail_slopes}

    @property
    def is_linear(self) -> bool:
        return self.kind != "copula"

    # ------------------------------------------------------------------ the map
    @staticmethod
    def _map(v: np.ndarray, a: np.ndarray, b: np.ndarray, slope_lo: float, slope_hi: float) -> np.ndarray:
        """Piecewise-linear map through knots ``(a, b)``, continued with slopes ``db/da`` beyond the ends."""
        v = np.asarray(v, dtype=float)
        out = np.interp(v, a, b)
        out = np.where(v < a[0], b[0] + (v - a[0]) * slope_lo, out)
        return np.where(v > a[-1], b[-1] + (v - a[-1]) * slope_hi, out)

    def forward(self, y: np.ndarray) -> np.ndarray:
        """``z = T(y)``."""
        return self._map(y, self.y_knots, self.z_knots, 1.0 / self.tail_slopes[0], 1.0 / self.tail_slopes[1])

    def inverse(self, z: np.ndarray) -> np.ndarray:
        """``y = T^-1(z)``."""
        return self._map(z, self.z_knots, self.y_knots, self.tail_slopes[0], self.tail_slopes[1])

    def log_jacobian(self, y: np.ndarray) -> np.ndarray:
        """``log dz/dy`` at ``y``: turns a model-unit density into a density of the measured value."""
        y = np.asarray(y, dtype=float)
        slopes = np.diff(self.z_knots) / np.diff(self.y_knots)
        segment = np.clip(np.searchsorted(self.y_knots, y) - 1, 0, slopes.size - 1)
        dz_dy = slopes[segment]
        dz_dy = np.where(y < self.y_knots[0], 1.0 / self.tail_slopes[0], dz_dy)
        dz_dy = np.where(y > self.y_knots[-1], 1.0 / self.tail_slopes[1], dz_dy)
        return np.log(dz_dy)

    # ------------------------------------------------------------------ predictive distributions
    def quantiles(self, mean: np.ndarray, std: np.ndarray, q: float | np.ndarray) -> np.ndarray:
        """Quantile ``q`` of ``T^-1(N(mean, std^2))``: exact, because ``T`` is increasing."""
        return self.inverse(np.asarray(mean) + np.asarray(std) * ndtri(q))

    def moments(self, mean: np.ndarray, std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of ``T^-1(N(mean, std^2))``, elementwise and exact (the map is piecewise linear); for
        batches of :data:`TABLE_THRESHOLD` or more, read from a table of exact values over ``(mean, log std)``."""
        mean, std = np.asarray(mean, dtype=float), np.asarray(std, dtype=float)
        if self.is_linear:
            return self.inverse(mean), (std * self.tail_slopes[0]) ** 2
        if mean.ndim == 1 and mean.size >= TABLE_THRESHOLD:
            return self._table_moments(mean, std)
        return self._exact_moments(mean, std)

    def _exact_moments(self, mean: np.ndarray, std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact moments of the piecewise-linear ``T^-1`` under ``N(mean, std^2)``, segment by segment.

        On a segment where ``T^-1(z) = c + d t`` with ``t = (z - mean) / std`` in ``[l, u]``, the Gaussian gives
        ``E[1] = Phi(u) - Phi(l)``, ``E[t] = phi(l) - phi(u)``, ``E[t^2] = E[1] + l phi(l) - u phi(u)``; the moments
        are sums over the segments (the two linear tails included).  ``O(knots)`` per prediction, in row chunks.
        """
        flat_mean, flat_std = mean.ravel(), np.maximum(std.ravel(), 1e-300)
        first, second = np.empty_like(flat_mean), np.empty_like(flat_mean)
        z, y = self.z_knots, self.y_knots
        slopes = np.concatenate([[self.tail_slopes[0]], np.diff(y) / np.diff(z), [self.tail_slopes[1]]])
        intercepts = np.concatenate([[y[0]], y[:-1], [y[-1]]]) - slopes * np.concatenate([[z[0]], z[:-1], [z[-1]]])
        edges = np.concatenate([[-np.inf], z, [np.inf]])
        # Rows sorted by std (in octaves), then by mean, and taken in blocks: each block sums only the segments
        # within 9 std of its rows (the rest carry less than 1e-18 of the mass).
        order = np.lexsort((flat_mean, np.floor(np.log2(flat_std))))
        rows = max(1, _SEGMENT_CELLS // slopes.size)
        for start in range(0, order.size, rows):
            block = order[start : start + rows]
            m, s = flat_mean[block, None], flat_std[block, None]
            lo = np.searchsorted(edges, float(np.min(m - 9 * s)), side="right") - 1
            hi = np.searchsorted(edges, float(np.max(m + 9 * s)), side="left")
            seg = slice(max(lo, 0), min(hi, slopes.size))
            t = (edges[seg.start : seg.stop + 1][None, :] - m) / s
            cdf = ndtr(t)
            pdf = np.exp(-0.5 * t * t) * _INV_SQRT_2PI
            with np.errstate(invalid="ignore"):  # t * pdf at t = +-inf is 0
                t_pdf = np.where(np.isfinite(t), t * pdf, 0.0)
            mass = np.diff(cdf, axis=1)
            m1 = -np.diff(pdf, axis=1)
            m2 = mass - np.diff(t_pdf, axis=1)
            c = intercepts[None, seg] + slopes[None, seg] * m
            d = slopes[None, seg] * s
            mu = np.sum(c * mass + d * m1, axis=1)
            first[block] = mu
            second[block] = np.maximum(np.sum(c * c * mass + 2 * c * d * m1 + d * d * m2, axis=1) - mu**2, 0.0)
        return first.reshape(mean.shape), second.reshape(mean.shape)

    def _build_table(self, lo_mean: float, hi_mean: float, lo_std: float, hi_std: float) -> None:
        """Build the table of :meth:`_table_moments` for means in ``[lo_mean, hi_mean]`` and stds in ``[lo_std,
        hi_std]``, unless the one there covers them."""
        table = getattr(self, "_table", None)
        if table is not None and (table[0][0] <= lo_mean and table[0][-1] >= hi_mean
                                 and np.exp(table[1][0]) <= lo_std and np.exp(table[1][-1]) >= hi_std):
            return
        if table is not None:  # a batch outside the table: one table over both ranges
            lo_mean, hi_mean = min(lo_mean, table[0][0] + 1.0), max(hi_mean, table[0][-1] - 1.0)
            lo_std, hi_std = min(lo_std, 2 * np.exp(table[1][0])), max(hi_std, 0.5 * np.exp(table[1][-1]))
        lo_mean, hi_mean, lo_std, hi_std = lo_mean - 1.0, hi_mean + 1.0, lo_std / 2, hi_std * 2
        step = max(_TABLE_STEP_PER_STD * lo_std, (hi_mean - lo_mean) / (_TABLE_MAX_MEANS - 3))
        lo_std = max(lo_std, step / _TABLE_STEP_PER_STD)
        grid_mean = lo_mean + step * np.arange(int(np.ceil((hi_mean - lo_mean) / step)) + 2)
        log_range = np.log(max(hi_std, 1.01 * lo_std) / lo_std)
        points = max(_TABLE_STD_POINTS, int(np.ceil(log_range / _TABLE_LOG_STD_STEP)) + 1)
        grid_log_std = np.log(lo_std) + np.linspace(0.0, log_range, points)
        m, s = np.meshgrid(grid_mean, np.exp(grid_log_std), indexing="ij")
        first, second = self._exact_moments(m.ravel(), s.ravel())
        self._table = (grid_mean, grid_log_std, first.reshape(m.shape), second.reshape(m.shape))

    def _table_moments(self, mean: np.ndarray, std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The exact moments interpolated bilinearly in a table over ``(mean, log std)``, built once.

        Both moments are smooth in ``mean`` on the scale of ``std`` (a Gaussian smoothing of the map), so a grid whose
        step is :data:`_TABLE_STEP_PER_STD` of the smallest std it serves is fine; the table spans the batch's range
        of both with margins (a model unit of mean each side, a factor 2 of std), so that the next batches of a
        stream reuse it instead of building it again.  Entries outside the table use the quadrature.
        """
        lo_mean, hi_mean = float(np.min(mean)), float(np.max(mean))
        positive = std[std > 0]
        lo_std = float(np.min(positive)) if positive.size else 1.0
        hi_std = max(float(np.max(std)), lo_std)
        with _TABLE_LOCK:  # threads predicting blocks of one stream build it once
            self._build_table(lo_mean, hi_mean, lo_std, hi_std)
        grid_mean, grid_log_std, first_table, second_table = self._table
        u = (mean - grid_mean[0]) / (grid_mean[1] - grid_mean[0])
        v = (np.log(np.maximum(std, 1e-300)) - grid_log_std[0]) / (grid_log_std[1] - grid_log_std[0])
        inside = (u >= 0) & (u <= grid_mean.size - 1) & (v >= 0) & (v <= grid_log_std.size - 1)
        i = np.minimum(u.astype(np.intp), grid_mean.size - 2)
        j = np.minimum(v.astype(np.intp), grid_log_std.size - 2)
        i, j = np.where(inside, i, 0), np.where(inside, j, 0)
        fu, fv = np.where(inside, u - i, 0.0), np.where(inside, v - j, 0.0)

        def bilinear(table):
            return ((1 - fu) * ((1 - fv) * table[i, j] + fv * table[i, j + 1])
                    + fu * ((1 - fv) * table[i + 1, j] + fv * table[i + 1, j + 1]))

        first, second = bilinear(first_table), bilinear(second_table)
        if not inside.all():
            first[~inside], second[~inside] = self._exact_moments(mean[~inside], std[~inside])
        return first, second
