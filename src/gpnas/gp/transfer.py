"""Transfer by co-kriging: the source task's data and the target task's in one Gaussian process.

The paper's transfer (§1) hands the target model a summary of the source: its weights' posterior as their prior
(``GPNASRegressor.fit(prior=...)``), or, in :mod:`gpnas.gp.prior_mean`, its predictions as a column of the linear
mean.  Either way the target model fits its own kernel to its own ``n`` points, and with ten or twenty of them both
ranked a new task *below* the source model alone (``benchmarks/results/predictor_transfer.md``): the fit to few points
undoes what the source knew.

Here the two tasks are two outputs of one GP over architectures, fitted to all the data at once (the autoregressive
co-kriging of Kennedy & O'Hagan, 2000, the multi-task GP of transfer Bayesian optimisation, e.g. Swersky, Snoek &
Adams, 2013)::

    f_task(z) = b_task + g(z, task),   cov(g(z, s), g(z', t)) = k(z, z') a_s a_t (1 if s == t else rho)

with ``k`` the grouped kernel of GP-NAS plus its linear mean integrated out (``sigma_w^2 z^T z'``), and a noise
variance, an amplitude ``a`` (``a_source = 1``) and a free offset ``b`` per task.  The hyperparameters, ``rho``
among them, maximise the marginal likelihood of both tasks' data together, so the source's many points set the
kernel and the target's few mostly say how far the tasks agree: with no target data the prediction is the source's
posterior, and as target data accumulate they correct it where they disagree.  ``rho`` is bounded by
``max_correlation`` (0.95 by default, the multi-budget model's bound, not tuned here): at 1 a target point could not
disagree with the source.  It cannot be negative: both tasks are taken to be "higher is better".

It is :class:`~gpnas.gp.multi_budget.MultiBudgetGP` with the source at the cheapest "budget" and the target at the
other; each task's values are first mapped to normal scores by their own target transform, since two tasks' scales
(CIFAR-10 accuracy near 94 %, ImageNet16-120's near 47 %) have nothing in common.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.linalg import cho_solve
from scipy.special import ndtri

from gpnas.gp.multi_budget import MAX_BUDGET_CORRELATION, MultiBudgetGP, check_max_correlation
from gpnas.gp.regressor import GPNASRegressor
from gpnas.gp.target import TargetTransform
from gpnas.exceptions import not_fitted_error
from gpnas.gp.validation import target_vector

#: The two tasks' coordinates on MultiBudgetGP's budget axis (any two positive numbers; the source is the lower).
SOURCE_TASK, TARGET_TASK = 1.0, 2.0


class TransferRegressor:
    """A model of a new task (the *target*) that shares a fitted model's data (the *source*) through co-kriging.

    Parameters
    ----------
    source:
        A fitted :class:`~gpnas.gp.regressor.GPNASRegressor` of the same space: its training architectures and
        values, its encoding (choices, cell features, side features) and its target transform are reused.
    max_correlation:
        Upper bound of the fitted correlation ``rho`` between the tasks.
    task_scale:
        Let the target's signal have its own amplitude (MultiBudgetGP's ``scale_slope``): each task's values are put in
        normal scores on their own, and ten target points put there need not spread as the same architectures would
        among the source's.  Without it, on NB201 the transfer ranked below the source model alone at ten target points
        (``benchmarks/results/predictor_transfer.md``).

    Attributes (after ``fit``)
    --------------------------
    model_:
        The joint :class:`~gpnas.gp.multi_budget.MultiBudgetGP`, in model units.
    task_correlation_:
        The fitted ``rho``: how closely the data say the two tasks rank alike.

    Examples
    --------
    >>> source = GPNASRegressor(space=space).fit(X_cifar10, y_cifar10)          # doctest: +SKIP
    >>> model = TransferRegressor(source).fit(X_imagenet, y_imagenet)          # doctest: +SKIP
    >>> model.predict(X_pool, return_std=True)                                  # doctest: +SKIP
    """

    def __init__(self, source: GPNASRegressor, max_correlation: float = MAX_BUDGET_CORRELATION,
                 task_scale: bool = True) -> None:
        self.source = source
        self.max_correlation = max_correlation
        self.task_scale = task_scale

    def fit(self, X: Any, y: Any) -> "TransferRegressor":
        """Fit on the target task's architectures ``X (n, d)`` and values ``y (n,)`` together with the source's
        training data (``n >= 1``)."""
        return self._fit(X, y, theta=None)

    def set_fitted_state(self, X_train: np.ndarray, y_train: np.ndarray, theta: np.ndarray) -> "TransferRegressor":
        """Make this model fitted from saved state: the joint GP with hyperparameters ``theta`` (``model_.theta_``)
        conditioned on the source's data and ``(X_train, y_train)``, exactly as :meth:`fit` leaves it (used by
        :func:`gpnas.load_model`)."""
        return self._fit(X_train, y_train, theta=np.asarray(theta, dtype=float))

    def _fit(self, X: Any, y: Any, theta: np.ndarray | None) -> "TransferRegressor":
        source = self.source
        if not isinstance(source, GPNASRegressor):
            raise TypeError(f"source must be a fitted GPNASRegressor, got {type(source).__name__}")
        source.check_is_fitted()
        max_correlation = check_max_correlation(self.max_correlation)
        X = source._validate_X(X, source.n_options_)
        y = target_vector(y, X.shape[0], "TransferRegressor")
        self.source_transform_ = source.target_  # the source model's own map of its values into model units
        self.target_transform_ = TargetTransform(_kind_for(source.target_transform, len(y))).fit(y)
        model = MultiBudgetGP(source.encoder_, [SOURCE_TASK, TARGET_TASK], max_correlation, linear=True,
                              target_transform="none", scale_slope=bool(self.task_scale))
        if theta is not None:
            if theta.shape != model.theta_.shape or not np.all(np.isfinite(theta)):
                raise ValueError(f"theta must be {model.theta_.shape[0]} finite numbers, got shape {theta.shape}")
            model.theta_ = theta
        n_source = len(source.y_train_)
        tasks = np.r_[np.full(n_source, SOURCE_TASK), np.full(len(y), TARGET_TASK)]
        values = np.r_[self.source_transform_.forward(source.y_train_), self.target_transform_.forward(y)]
        self.model_ = model.fit(np.vstack([source.X_train_, X]), tasks, values, optimize=theta is None)
        self.X_train_, self.y_train_ = X, y
        self.loo_standardized_residuals_ = self._loo_standardized_residuals()
        return self

    @property
    def space(self):
        """The source model's search space (what :func:`gpnas.io.data.predict_csv` reads architectures with)."""
        return self.source.space

    @property
    def side_features(self):
        """The source model's side features (``None`` when it has none)."""
        return self.source.side_features

    def check_is_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise not_fitted_error("this TransferRegressor is not fitted yet; call fit first")

    @property
    def task_correlation_(self) -> float:
        self.check_is_fitted()
        return self.model_.budget_correlation_

    def predict_latent(self, X: Any, include_noise: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of the target task's value in model units (normal scores of the target's values);
        ``include_noise`` adds the target's noise variance (a new measurement)."""
        self.check_is_fitted()
        X = self.source._validate_X(X, self.source.n_options_)
        mean, var = self.model_.predict_latent(X, TARGET_TASK)
        return mean, var + (self.model_.noise_ if include_noise else 0.0)

    def predict(self, X: Any, return_std: bool = False, include_noise: bool = False):
        """The target task's predicted value ``(m,)`` in measured units, and its standard deviation if asked: the
        moments of the latent Gaussian mapped back through the target's transform, as
        :meth:`GPNASRegressor.predict <gpnas.gp.regressor.GPNASRegressor.predict>`."""
        mean, var = self.predict_latent(X, include_noise)
        out_mean, out_var = self.target_transform_.moments(mean, np.sqrt(var))
        return (out_mean, np.sqrt(out_var)) if return_std else out_mean

    def _loo_standardized_residuals(self) -> np.ndarray:
        """``loo_standardized_residuals_`` (computed once per fit): the target task's leave-one-out residuals, each
        over its predictive standard deviation (a measurement's), sorted by size: ``|alpha_i| / sqrt([C^-1]_ii)``
        over the joint GP's data (GPML eq. 5.12, the offsets held at their fitted values), for the target's rows
        only; the source's residuals say nothing of the target."""
        gp = self.model_
        inverse = cho_solve((gp.L_, True), np.eye(len(gp.alpha_)))
        target = gp.s_train_ == 1.0
        return np.sort(np.abs(gp.alpha_[target]) / np.sqrt(np.diag(inverse)[target]))

    def interval_halfwidth(self, coverage: float = 0.95) -> float:
        """``w`` of :meth:`predict_interval` in predictive standard deviations: the larger of the Gaussian quantile
        and the ``ceil(coverage (n + 1))``-th smallest of the target's :attr:`loo_standardized_residuals_` (the
        jackknife rule of :meth:`GPNASRegressor.predict_interval <gpnas.gp.regressor.GPNASRegressor.predict_interval>`;
        Gaussian while ``n`` is too small for that rank, e.g. below 19 target points at 95 %)."""
        if not 0.0 < coverage < 1.0:
            raise ValueError(f"coverage must be in (0, 1), got {coverage!r}")
        self.check_is_fitted()
        gaussian = float(ndtri(0.5 * (1.0 + coverage)))
        residuals = self.loo_standardized_residuals_
        rank = int(np.ceil(coverage * (residuals.size + 1)))
        return max(gaussian, float(residuals[rank - 1])) if rank <= residuals.size else gaussian

    def predict_interval(self, X: Any, coverage: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """The central interval ``(lower, upper)`` of a new measurement of the target task: ``mean -+ w std`` in
        model units (:meth:`interval_halfwidth`), mapped back through the target's transform."""
        width = self.interval_halfwidth(coverage)
        mean, var = self.predict_latent(X, include_noise=True)
        std = np.sqrt(var)
        return self.target_transform_.inverse(mean - width * std), self.target_transform_.inverse(mean + width * std)

    def predict_summary(self, X: Any, coverage: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(mean, std, lower, upper)``: :meth:`predict` with ``return_std=True`` and :meth:`predict_interval` from
        one pass over ``X`` (what ``gpnas predict`` writes)."""
        width = self.interval_halfwidth(coverage)
        mean, var = self.predict_latent(X)
        out_mean, out_var = self.target_transform_.moments(mean, np.sqrt(var))
        half = width * np.sqrt(var + self.model_.noise_)
        return (out_mean, np.sqrt(out_var), self.target_transform_.inverse(mean - half),
                self.target_transform_.inverse(mean + half))

    def score(self, X: Any, y: Any) -> float:
        """Coefficient of determination R^2 of the predicted mean, as scikit-learn regressors."""
        y = np.asarray(y, dtype=float)
        resid = y - self.predict(X)
        return float(1.0 - resid @ resid / np.sum((y - y.mean()) ** 2))


def _kind_for(kind: str, n: int) -> str:
    """The copula needs a few points to estimate a distribution; below three, standardise (as MultiBudgetGP)."""
    return "standardize" if kind == "copula" and n < 3 else kind

