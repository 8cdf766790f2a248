"""A Gaussian process over (architecture, training budget): what short trainings say about long ones.

Symbols: ``Z (n, p)`` encoded architectures (:mod:`gpnas.space.encoding`), ``s (n,)`` the budget as ``log(b / b_min) /
log(b_max / b_min)`` in [0, 1], ``y (n,)`` measured values, ``h`` kernel groups of the architecture.

    f(z, s) = beta_0 + beta_1 s + g(z, s),   y = f(z, s) + eps,   eps ~ N(0, noise(s)),
    k_g((z, s), (z', s')) = k_arch(z, z') * exp(-(s - s')^2 / (2 l_b^2)),   noise(s) = noise_T exp(gamma (1 - s))

* ``k_arch`` is the grouped kernel of GP-NAS (:class:`~gpnas.gp.kernel.GroupedRBFKernel`, a signal std and a
  lengthscale per operation type).  The *product* with a squared exponential over the log budget means that the
  correlation between an architecture's short and long training is ``exp(-(s - s')^2 / (2 l_b^2))``, the same for
  every architecture and learned from the data: a large ``l_b`` says short trainings rank like long ones, a small one
  that they say little.  (An additive budget term could only shift every architecture alike.)
* ``beta_0 + beta_1 s`` is a mean linear in the log budget, so longer trainings may score higher on average without
  the kernel having to explain it (with two budgets: a free offset per budget).  It is estimated by generalised least
  squares inside the likelihood (profiled; a weak ridge keeps it defined before any long result exists) and then
  plugged in: its uncertainty is common to every architecture and cannot change which one is best, so leaving it
  out of the variances keeps the acquisition from paying for long trainings only to pin down the average.
* The noise may grow (or shrink) log-linearly towards the cheapest budget: short trainings are often noisier, and a
  short budget whose results are mostly noise must show up as uninformative, not as a perfect correlation.
* The targets go through the same smoothed normal-score map as :class:`~gpnas.gp.regressor.GPNASRegressor`
  (:mod:`gpnas.gp.target`), fitted on all budgets together, since degenerate architectures sit far below the rest.
* With ``linear=True`` the architecture kernel gains a linear term ``sigma_w^2 z^T z'``: GP-NAS's linear mean
  ``w^T z`` with its weights ``w ~ N(0, sigma_w^2 I)`` integrated out (the weights' prior variance learnt, as
  ``GPNASRegressor(estimation="evidence")`` does), shared by the budgets through the same budget factor.  It is what
  a model of the source task and the target task together (:mod:`gpnas.gp.transfer`) needs to rank as well as the
  single-task model on the source alone.
* With ``scale_slope=True`` the signal's amplitude may change along the budget axis, ``exp(alpha s)`` (a
  coregionalisation with a free variance per budget): two tasks put in model units each on its own (a transfer) need
  not have the same spread there.
* The hyperparameters ``[log sigma (h), log l (h), log l_b, log noise_T, gamma]`` (then ``log sigma_w^2`` with
  ``linear``, then ``alpha`` with ``scale_slope``) maximise the marginal likelihood
  (L-BFGS-B, analytic gradients, from the previous fit's values and from a default start), with a noise floor at
  the target budget of 1e-2 of the unit target variance, as in the single-budget model (``gamma >= -3`` bounds how
  much quieter the cheapest budget may be).

This is the autoregressive co-kriging model of Kennedy & O'Hagan (2000) in its product-kernel form, as used by
multi-fidelity Bayesian optimisation (Kandasamy et al. 2016, "Gaussian process bandit optimisation with
multi-fidelity evaluations"; Swersky et al. 2013).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cho_solve, solve_triangular

from gpnas.space.encoding import Encoder
from gpnas.gp.kernel import GroupedRBFKernel
from gpnas.gp.linalg import robust_cholesky
from gpnas.gp.target import TargetTransform

#: Ridge of the mean's generalised least squares: a N(0, 100) prior on its two weights (unit-variance targets).
MEAN_RIDGE = 1e-2
#: Search boxes of the hyperparameters, in model units.
SIGMA_BOUNDS, LENGTHSCALE_BOUNDS, BUDGET_LENGTHSCALE_BOUNDS, NOISE_BOUNDS = (1e-2, 1e1), (1e-2, 1e2), (0.05, 20.0), \
    (1e-2, 1.0)
#: Bounds of gamma, the log ratio of the noise at the cheapest budget to the noise at the target.
NOISE_SLOPE_BOUNDS = (-3.0, 5.0)
#: Bounds of the linear term's weight variance ``sigma_w^2`` (unit-variance targets), as GPNASRegressor's.
WEIGHT_VAR_BOUNDS = (1e-4, 1e2)
#: Bounds of ``alpha``, the log ratio of the signal's standard deviation at the target to that at the cheapest budget.
SCALE_SLOPE_BOUNDS = (-3.0, 3.0)
#: Largest prior correlation between an architecture's values at the cheapest and at the target budget (see
#: :class:`MultiBudgetGP`, ``max_correlation``).
MAX_BUDGET_CORRELATION = 0.95


def check_max_correlation(value: float) -> float:
    """``value`` as a float, if it is a correlation bound in (0, 1]."""
    if not 0.0 < value <= 1.0:
        raise ValueError(f"max_correlation must be in (0, 1], got {value!r}")
    return float(value)


def budget_coordinate(budgets: np.ndarray, lowest: float, highest: float) -> np.ndarray:
    """``log(b / lowest) / log(highest / lowest)``: 0 at the cheapest budget, 1 at the target (0 if only one)."""
    budgets = np.asarray(budgets, dtype=float)
    if highest <= lowest:
        return np.zeros_like(budgets)
    return np.log(budgets / lowest) / np.log(highest / lowest)


class MultiBudgetGP:
    """GP regression on architectures evaluated at several training budgets (see the module docstring).

    Parameters
    ----------
    encoder:
        Encodes choice indices ``X (n, d)`` into ``Z``; its groups are the kernel's operation types.
    budgets:
        The budgets the study may evaluate at; the largest is the target.
    max_correlation:
        The largest prior correlation ``exp(-1 / (2 l_b^2))`` between the cheapest and the target budget the fit may
        reach (it bounds ``l_b``).  Unbounded, type-II maximum likelihood drove it to 1.00 in the NAS-Bench-201
        searches (``benchmarks/multi_budget.py --sweep`` records it): most evaluations are of architectures where short and long trainings agree,
        while among the best ones they rank alike only weakly (Kendall tau 0.26-0.38 among the 200 best, 0.63-0.70
        over the table), and those differences are small in model units.  At 1.00 a short result pins the long value
        down and the search trains the architectures long in the order of their short results.  The bound keeps a
        residual uncertainty, ``1 - rho^2`` of the prior variance, about the long value of an architecture seen short;
        ``1.0`` removes it.
    linear:
        Add the linear term ``sigma_w^2 z^T z'`` to the architecture kernel (the module docstring).
    scale_slope:
        Let the signal's amplitude change along the budget axis (the module docstring).
    target_transform:
        The map of the pooled targets into model units (:class:`~gpnas.gp.target.TargetTransform`); ``"none"``
        when the caller has already put them there (a transfer maps each task on its own).
    """

    def __init__(self, encoder: Encoder, budgets, max_correlation: float = MAX_BUDGET_CORRELATION,
                 linear: bool = False, target_transform: str = "copula", scale_slope: bool = False) -> None:
        self.encoder = encoder
        self.linear, self.target_transform, self.scale_slope = bool(linear), target_transform, bool(scale_slope)
        self.budgets = np.sort(np.asarray(budgets, dtype=float))
        if self.budgets.size < 1 or np.any(self.budgets <= 0):
            raise ValueError("budgets must be positive numbers")
        self.max_correlation = check_max_correlation(max_correlation)
        self.theta_ = self._default_theta()

    def _default_theta(self) -> np.ndarray:
        h = len(self.encoder.group_columns)
        # l_b = 1 starts the budgets at correlation 0.61: until a long result exists the data cannot tell
        theta = np.concatenate([np.zeros(h), np.zeros(h), [0.0, np.log(0.1), 0.0]])
        # the linear term starts at GPNASRegressor's default weight variance, 1 / (number of positions)
        theta = np.append(theta, -np.log(len(self.encoder.n_options))) if self.linear else theta
        return np.append(theta, 0.0) if self.scale_slope else theta

    # ------------------------------------------------------------------ pieces
    @property
    def n_groups(self) -> int:
        return len(self.encoder.group_columns)

    def coordinate(self, budgets) -> np.ndarray:
        return budget_coordinate(budgets, self.budgets[0], self.budgets[-1])

    def _unpack(self, theta: np.ndarray):
        h = self.n_groups
        return np.exp(theta[:h]), np.exp(theta[h:2 * h]), float(np.exp(theta[2 * h])), float(np.exp(theta[2 * h + 1]))

    def noise_at(self, s: np.ndarray, theta: np.ndarray | None = None) -> np.ndarray:
        """Noise variance of a measurement at budget coordinates ``s`` (model units)."""
        theta = self.theta_ if theta is None else theta
        h = self.n_groups
        return np.exp(theta[2 * h + 1] + theta[2 * h + 2] * (1.0 - np.asarray(s, dtype=float)))

    def _bounds(self) -> list[tuple[float, float]]:
        h = self.n_groups
        logs = lambda b: (np.log(b[0]), np.log(b[1]))  # noqa: E731
        low, high = BUDGET_LENGTHSCALE_BOUNDS
        if self.max_correlation < 1.0:  # exp(-1 / (2 l_b^2)) <= rho  <=>  l_b <= (-2 log rho)^(-1/2)
            high = min(high, (-2.0 * np.log(self.max_correlation)) ** -0.5)
        bounds = [logs(SIGMA_BOUNDS)] * h + [logs(LENGTHSCALE_BOUNDS)] * h + [logs((low, high)), logs(NOISE_BOUNDS),
                                                                               NOISE_SLOPE_BOUNDS]
        bounds = bounds + [logs(WEIGHT_VAR_BOUNDS)] if self.linear else bounds
        return bounds + [SCALE_SLOPE_BOUNDS] if self.scale_slope else bounds

    def _scale_slope(self, theta: np.ndarray) -> float:
        """``alpha`` (0 without ``scale_slope``)."""
        return float(theta[2 * self.n_groups + 3 + int(self.linear)]) if self.scale_slope else 0.0

    def _budget_matrix(self, s1, s2, theta: np.ndarray) -> np.ndarray:
        """The budget factor ``exp(-(s - s')^2 / (2 l_b^2) + alpha (s + s'))`` between coordinates ``s1`` and
        ``s2``."""
        ell_b = self._unpack(theta)[2]
        s1, s2 = np.asarray(s1, dtype=float)[:, None], np.asarray(s2, dtype=float)[None, :]
        return np.exp(-(s1 - s2) ** 2 / (2 * ell_b ** 2) + self._scale_slope(theta) * (s1 + s2))

    def _weight_var(self, theta: np.ndarray) -> float:
        """``sigma_w^2``, the linear term's weight variance (0 without ``linear``)."""
        return float(np.exp(theta[2 * self.n_groups + 3])) if self.linear else 0.0

    def _arch_kernel(self, sigma, lengthscale) -> GroupedRBFKernel:
        return GroupedRBFKernel(self.encoder.group_columns, sigma, lengthscale)

    def covariance(self, Z1, s1, Z2=None, s2=None, theta=None) -> np.ndarray:
        """Prior covariance of the latent values (no noise) between ``(Z1, s1)`` and ``(Z2, s2)``."""
        theta = self.theta_ if theta is None else theta
        sigma, ell, ell_b, _ = self._unpack(theta)
        Z2, s2 = (Z1, s1) if Z2 is None else (Z2, s2)
        kernel = self._arch_kernel(sigma, ell)
        K_arch = kernel.from_distances(kernel.distances(Z1, Z2))
        if self.linear:
            K_arch = K_arch + self._weight_var(theta) * (Z1 @ Z2.T)
        return K_arch * self._budget_matrix(s1, s2, theta)

    # ------------------------------------------------------------------ fitting
    @staticmethod
    def _mean_design(s: np.ndarray) -> np.ndarray:
        return np.column_stack([np.ones(len(s)), s])

    @staticmethod
    def _gls(L: np.ndarray, Phi: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Ridge-regularised generalised least squares weights of the mean, given the Cholesky factor of K."""
        KiPhi = cho_solve((L, True), Phi)
        return np.linalg.solve(Phi.T @ KiPhi + MEAN_RIDGE * np.eye(Phi.shape[1]), KiPhi.T @ y)

    def _nll_and_grad(self, theta: np.ndarray, D: np.ndarray, S: np.ndarray, Phi: np.ndarray, y: np.ndarray,
                      s: np.ndarray, gram: np.ndarray | None = None):
        """Negative log marginal likelihood with the mean's weights profiled out, and its gradient (the weights
        are optimal, so their own derivative term vanishes: the envelope theorem).  ``gram`` is ``Z Z^T`` of the
        training architectures, needed with ``linear``."""
        sigma, ell, ell_b, _ = self._unpack(theta)
        noise = self.noise_at(s, theta)
        h = self.n_groups
        B = self._budget_matrix(s, s, theta)
        parts = self._arch_kernel(sigma, ell).terms(D)  # (h, n, n), summing to the architecture kernel
        K_arch = parts.sum(axis=0)
        if self.linear:
            linear_part = self._weight_var(theta) * gram
            K_arch = K_arch + linear_part
        K = K_arch * B + np.diag(noise)
        try:
            L = np.linalg.cholesky(K)
        except np.linalg.LinAlgError:
            return 1e25, np.zeros_like(theta)
        beta = self._gls(L, Phi, y)
        r = y - Phi @ beta
        alpha = cho_solve((L, True), r)
        ridge = 0.5 * MEAN_RIDGE * beta @ beta  # the weak prior on the weights, so the envelope argument holds
        nll = 0.5 * r @ alpha + ridge + np.log(np.diag(L)).sum() + 0.5 * len(y) * np.log(2 * np.pi)
        W = np.outer(alpha, alpha) - cho_solve((L, True), np.eye(len(y)))  # d nll / dK = -W / 2
        grad = np.empty_like(theta)
        for g in range(h):
            dK_sigma = 2 * parts[g] * B
            dK_ell = parts[g] * D[g] / ell[g] ** 2 * B
            grad[g] = -0.5 * np.sum(W * dK_sigma)
            grad[h + g] = -0.5 * np.sum(W * dK_ell)
        grad[2 * h] = -0.5 * np.sum(W * (K_arch * B * S / ell_b ** 2))
        grad[2 * h + 1] = -0.5 * np.sum(np.diag(W) * noise)
        grad[2 * h + 2] = -0.5 * np.sum(np.diag(W) * noise * (1.0 - s))
        if self.linear:
            grad[2 * h + 3] = -0.5 * np.sum(W * linear_part * B)
        if self.scale_slope:
            grad[-1] = -0.5 * np.sum(W * K_arch * B * (s[:, None] + s[None, :]))
        return float(nll), grad

    def fit(self, X: np.ndarray, budgets, y: np.ndarray, optimize: bool = True, restart: bool = True
            ) -> "MultiBudgetGP":
        """Fit on architectures ``X (n, d)`` evaluated at ``budgets (n,)`` with values ``y (n,)``.

        The hyperparameters start from the current ``theta_`` and, with ``restart``, also from the default start.
        """
        X = np.atleast_2d(np.asarray(X, dtype=int))
        y = np.asarray(y, dtype=float).ravel()
        if len(y) != len(X) or len(np.atleast_1d(budgets)) != len(X):
            raise ValueError("X, budgets and y need one row each per evaluation")
        if not np.all(np.isfinite(y)):
            raise ValueError("y has non-finite values")
        self.X_train_, self.b_train_ = X, np.asarray(budgets, dtype=float).ravel()
        self.Z_train_ = self.encoder.transform(X)
        self.s_train_ = self.coordinate(self.b_train_)
        kind = self.target_transform if self.target_transform != "copula" or len(y) >= 3 else "standardize"
        self.transform_ = TargetTransform(kind).fit(y)
        self.y_model_ = self.transform_.forward(y)
        if optimize and len(y) >= 2:
            D = self._arch_kernel(np.ones(self.n_groups), np.ones(self.n_groups)).distances(self.Z_train_)
            S = (self.s_train_[:, None] - self.s_train_[None, :]) ** 2
            Phi = self._mean_design(self.s_train_)
            from scipy.optimize import minimize  # imported where used: predictions do not need it

            gram = self.Z_train_ @ self.Z_train_.T if self.linear else None
            starts = [self.theta_] + ([self._default_theta()] if restart else [])
            best = None
            for start in starts:
                result = minimize(self._nll_and_grad, np.clip(start, *np.array(self._bounds()).T), jac=True,
                                  args=(D, S, Phi, self.y_model_, self.s_train_, gram), method="L-BFGS-B",
                                  bounds=self._bounds(),
                                  options={"maxiter": 200})
                if best is None or result.fun < best.fun:
                    best = result
            self.theta_ = best.x
            self.log_marginal_likelihood_ = -float(best.fun)
        self._factor()
        return self

    def _factor(self, refit_mean: bool = True) -> None:
        K = self.covariance(self.Z_train_, self.s_train_) + np.diag(self.noise_at(self.s_train_))
        self.L_ = robust_cholesky(K, "multi-budget covariance")
        if refit_mean:
            self.mean_weights_ = self._gls(self.L_, self._mean_design(self.s_train_), self.y_model_)
        self.alpha_ = cho_solve((self.L_, True), self.y_model_ - self._mean_design(self.s_train_) @ self.mean_weights_)

    @property
    def noise_(self) -> float:
        """Noise variance at the target budget (model units)."""
        return self._unpack(self.theta_)[3]

    @property
    def budget_correlation_(self) -> float:
        """Prior correlation of an architecture's latent value at the cheapest and at the target budget (the kernel's
        budget factor)."""
        ell_b = self._unpack(self.theta_)[2]
        return float(np.exp(-1.0 / (2 * ell_b ** 2)))

    @property
    def measured_correlation_(self) -> float:
        """Prior correlation of a *measurement* at the cheapest budget with the latent value at the target: the
        budget correlation times ``sqrt(k / (k + noise_short))``, ``k`` the prior variance of one architecture's
        value.  It says how much a short training tells about the long result, the short budget's noise included
        (a model may fit a high budget correlation and explain the disagreement as short-budget noise)."""
        sigma = self._unpack(self.theta_)[0]
        k = float(np.sum(sigma ** 2)) + self._weight_var(self.theta_) * float(
            np.mean(np.einsum("ij,ij->i", self.Z_train_, self.Z_train_)))
        noise_short = float(self.noise_at(np.zeros(1))[0])
        return self.budget_correlation_ * float(np.sqrt(k / (k + noise_short)))

    # ------------------------------------------------------------------ prediction (model units)
    def joint_latent(self, X: np.ndarray, budgets=None) -> tuple[np.ndarray, np.ndarray]:
        """Posterior of the latent values of each architecture at every budget, in model units.

        Returns ``mean (m, B)`` and ``cov (m, B, B)``: for architecture ``i``, the joint normal of its values at the
        ``B`` budgets (``self.budgets`` by default).
        """
        budgets = self.budgets if budgets is None else np.asarray(budgets, dtype=float)
        Z = self.encoder.transform(np.atleast_2d(X))
        m, nb = len(Z), len(budgets)
        s = self.coordinate(budgets)
        Zr, sr = np.repeat(Z, nb, axis=0), np.tile(s, m)
        Ks = self.covariance(self.Z_train_, self.s_train_, Zr, sr)  # (n, m B)
        mean = (Ks.T @ self.alpha_ + self._mean_design(sr) @ self.mean_weights_).reshape(m, nb)
        V = solve_triangular(self.L_, Ks, lower=True).reshape(len(self.y_model_), m, nb)
        # prior variance at distance zero: sum sigma^2, plus the linear term's sigma_w^2 |z|^2 (per architecture)
        variance = np.sum(self._unpack(self.theta_)[0] ** 2) + self._weight_var(self.theta_) * np.einsum(
            "ij,ij->i", Z, Z)
        prior = variance[:, None, None] * self._budget_matrix(s, s, self.theta_)[None]
        cov = prior - np.einsum("nib,nic->ibc", V, V)
        return mean, cov

    def predict_latent(self, X: np.ndarray, budget: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of the latent value at ``budget`` (the target by default), model units."""
        budget = self.budgets[-1] if budget is None else budget
        mean, cov = self.joint_latent(X, [budget])
        return mean[:, 0], np.maximum(cov[:, 0, 0], 1e-12)

    def predict(self, X: np.ndarray, budget: float | None = None, coverage: float = 0.95):
        """Predicted value at ``budget`` (the target by default) in measured units: ``mean``, ``lower``, ``upper``
        (the mean and central ``coverage`` interval of a new measurement, back-transformed)."""
        mean, var = self.predict_latent(X, budget)
        std = np.sqrt(var + self.noise_at(self.coordinate([budget if budget is not None else self.budgets[-1]])))
        value_mean, _ = self.transform_.moments(mean, std)
        lo, hi = (1 - coverage) / 2, (1 + coverage) / 2
        return (value_mean, self.transform_.quantiles(mean, std, lo), self.transform_.quantiles(mean, std, hi))

    def fantasize(self, X: np.ndarray, budgets) -> "MultiBudgetGP":
        """A copy conditioned on evaluations at ``(X, budgets)`` that returned their predicted mean: the posterior
        mean is unchanged and the variance shrinks as if they were done (pending evaluations in a batch)."""
        X = np.atleast_2d(np.asarray(X, dtype=int))
        if len(X) == 0:
            return self
        budgets = np.asarray(budgets, dtype=float).ravel()
        mean = np.array([self.predict_latent(x[None], b)[0][0] for x, b in zip(X, budgets)])
        other = object.__new__(MultiBudgetGP)
        other.__dict__.update(self.__dict__)
        other.X_train_ = np.vstack([self.X_train_, X])
        other.b_train_ = np.concatenate([self.b_train_, budgets])
        other.Z_train_ = np.vstack([self.Z_train_, self.encoder.transform(X)])
        other.s_train_ = np.concatenate([self.s_train_, self.coordinate(budgets)])
        other.y_model_ = np.concatenate([self.y_model_, mean])
        other._factor(refit_mean=False)
        return other
