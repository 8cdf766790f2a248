"""Out-of-sample calibration of a fitted GP's predictive distribution, by K-fold cross-validation.

Type-II maximum likelihood fits the kernel, the noise and the target transform to the same few points the GP then
predicts from, so its Gaussian predictive is judged on data it has already seen.  The closed-form leave-one-out
residuals inherit the problem: at the optimum their standardised root mean square is 1.0 on every table
(``benchmarks/results/predictor.md``), while on held-out architectures the model's squared errors run far beyond its
variances.  Held-out accuracy tables also have heavy tails: a broken network among good ones lands many predictive
standard deviations away, and a Gaussian density gives it a log density of -100 or less.

K-fold cross-validation refits everything (transform, hyperparameters warm-started from the full fit, weights) on
each fold's complement and predicts the fold, so every residual is out of sample.  From them:

* **Standardised scores** ``e_i = (T_f(y_i) - mu_f(x_i)) / s_f(x_i)`` (model units of the fold's fit, ``s`` the
  predictive standard deviation of a measurement) are fitted by a Student-t ``c t_nu`` by maximum likelihood (scale
  ``c``, degrees of freedom ``nu`` in ``[1, 100]``): the calibrated predictive of a new measurement is
  ``mu + c s t_nu``.  Heavy-tailed where the residuals say so (``nu`` of 1-3 on NAS-Bench-201 and NAS-Bench-Macro),
  close to Gaussian where they do not (``nu`` = 100 on most CVPR 2022 tasks).
* **The variance factor** ``c^2 nu / (nu - 2)``, the variance of ``c t_nu``, with ``nu`` floored at
  :data:`MSE_MIN_DOF` (a Student-t with ``nu <= 2`` has no variance): the expected squared error of a new
  measurement is the calibrated predictive's variance, mapped back through the target transform.  Chosen on the
  tuning tables over the realised-to-expected ratio of the fold models' squared errors (13 of 15 table-and-n cells
  within 0.67-1.5x against 10 of 15; ``benchmarks/results/predictor_calibration.md``).

Regressor-agnostic: the caller passes ``predict_fold(train_index, test_index)``, which fits a model on the training
rows and returns the standardised residuals of the test rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

#: Folds of the cross-validation (fewer when there are fewer points).
CV_FOLDS = 10
#: The fewest training architectures for which cross-validation is run: every fold model needs at least 2.
MIN_CV_N = 4
#: Bounds of the Student-t's degrees of freedom: 1 (Cauchy) to 100 (Gaussian to within 1 % in every quantile used).
DOF_BOUNDS = (1.0, 100.0)
#: The degrees of freedom the expected squared error assumes at least (a Student-t with 2 or fewer has no variance).
MSE_MIN_DOF = 3.0


@dataclass(frozen=True)
class Calibration:
    """What cross-validation says about a fitted model's predictive distribution.

    ``scores (n,)``: standardised out-of-sample residuals (NaN for rows whose fold could not be fitted); ``scale`` and
    ``dof``: the Student-t fitted to them; ``folds``: how many folds were fitted (0: too few points, and the identity
    calibration ``scale = 1``, ``dof = inf``).
    """

    scores: np.ndarray
    scale: float
    dof: float
    folds: int

    @classmethod
    def identity(cls, n: int = 0) -> "Calibration":
        """No correction: the model's own Gaussian."""
        return cls(np.full(n, np.nan), 1.0, float("inf"), 0)

    @property
    def variance_factor(self) -> float:
        """The variance of ``scale t_dof`` with ``dof`` floored at :data:`MSE_MIN_DOF`: multiplies a predictive
        variance into the calibrated one."""
        dof = max(self.dof, MSE_MIN_DOF)
        return self.scale**2 * (dof / (dof - 2.0) if np.isfinite(dof) else 1.0)

    def logpdf(self, z: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
        """Log density of model-unit values ``z`` under ``mean + scale std t_dof`` (Gaussian when ``dof`` is inf)."""
        from scipy.stats import t as student_t  # scipy.stats is slow to import: only where used

        return student_t.logpdf(z, self.dof, loc=mean, scale=self.scale * std)

    def quantile(self, q: float | np.ndarray) -> np.ndarray:
        """Quantile ``q`` of ``scale t_dof``, in predictive standard deviations."""
        from scipy.stats import t as student_t

        return self.scale * student_t.ppf(q, self.dof)


def fit_student_t(scores: np.ndarray) -> tuple[float, float]:
    """Maximum-likelihood scale and degrees of freedom ``(c, nu)`` of a zero-centred Student-t, ``nu`` in
    :data:`DOF_BOUNDS`.  Checked against ``scipy.stats.t.fit(scores, floc=0)`` in the tests."""
    from scipy.optimize import minimize
    from scipy.stats import t as student_t

    scores = np.asarray(scores, dtype=float)
    scores = scores[np.isfinite(scores)]
    if scores.size < 2:
        return 1.0, float("inf")

    def negative_log_likelihood(params: np.ndarray) -> float:
        return -float(np.sum(student_t.logpdf(scores, np.exp(params[1]), scale=np.exp(params[0]))))

    rms = float(np.sqrt(np.mean(scores**2))) or 1.0
    start = np.array([np.log(rms), np.log(10.0)])
    bounds = [(np.log(rms) - 10.0, np.log(rms) + 10.0), tuple(np.log(DOF_BOUNDS))]
    best = minimize(negative_log_likelihood, start, method="L-BFGS-B", bounds=bounds)
    return float(np.exp(best.x[0])), float(np.exp(best.x[1]))


def cross_validate(n: int, predict_fold: Callable[[np.ndarray, np.ndarray], np.ndarray],
                   rng: np.random.Generator, folds: int = CV_FOLDS) -> Calibration:
    """K-fold cross-validation of ``n`` training rows (``min(folds, n // 2)`` folds).

    ``predict_fold(train_index, test_index)`` returns the standardised residuals of the test rows
    ``(len(test_index),)``.  A fold whose fit raises ``ValueError`` or ``ArithmeticError`` (a degenerate subset)
    leaves its rows out.  Under :data:`MIN_CV_N` rows there is nothing to learn from: the identity calibration.
    """
    if n < MIN_CV_N:
        return Calibration.identity(n)
    k = min(int(folds), n // 2)
    scores = np.full(n, np.nan)
    fitted = 0
    for test in np.array_split(rng.permutation(n), k):
        train = np.setdiff1d(np.arange(n), test)
        try:
            scores[test] = predict_fold(train, test)
        except (ValueError, ArithmeticError):
            continue
        fitted += 1
    ok = np.isfinite(scores)
    if fitted == 0 or ok.sum() < 2:
        return Calibration.identity(n)
    scale, dof = fit_student_t(scores[ok])
    return Calibration(scores, scale, dof, fitted)
