"""``GPNASRegressor``: the GP-NAS predictor of §3.1-3.2 as a scikit-learn compatible estimator.

Notation (shapes as in the paper, ``n`` observed architectures, ``m`` queried ones):

* ``X (n, d)``: integer choice indices; ``Z (n, p')`` their encoding; ``Phi (n, p)``: ``[1, Z]``, bias first
  (``p = p' + 1``).
* ``x (n,)``: measured performance, mapped by the target transform (:mod:`gpnas.gp.target`); every
  hyperparameter and weight is in these *model units*.
* ``K (n, n)``: grouped kernel (Eq. 7) plus ``s2 I`` (noise variance); ``L`` its lower Cholesky factor.
* ``mu_w (p,), Sigma_w (p, p)``: prior of the linear mean's weights (Eq. 18); ``mu_hat, Sigma_hat``: posterior
  (Theorems 1-2, see :mod:`gpnas.gp.weights`).
* ``A = L^-1 Phi (n, p)``, ``b = L^-1 x (n,)``: whitened design and targets, cached for prediction.

Predictions at ``Phi_* (m, p)``, with ``v = L^-1 K(X, X_*) (n, m)``:

* ``predictor="full"`` (default), the GP posterior predictive around the posterior mean of ``w`` (Eq. 9-11 with the
  mean's uncertainty folded in, GPML eq. 2.42):
  ``mean = Phi_* mu_hat + v^T (b - A mu_hat)``,
  ``var = k(x_*, x_*) - ||v||^2 + diag(R Sigma_hat R^T)`` with ``R = Phi_* - v^T A``.
  This equals a zero-mean GP with kernel ``K + Phi Sigma_w Phi^T`` and mean ``Phi mu_w``.
* ``predictor="linear"``, the paper's Eq. 22: ``mean = Phi_* mu_hat`` and the variance of Theorem 3,
  ``diag(Phi_* Sigma_hat Phi_*^T) + k(x_*, x_*)``.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any, Callable, Sequence

import numpy as np
from scipy.linalg import solve_triangular
from scipy.special import ndtri
from threadpoolctl import threadpool_limits

from gpnas.space.encoding import ENCODINGS, Encoder
from gpnas.exceptions import ArchitectureError, DataError, not_fitted_error
from gpnas.gp.calibration import Calibration, cross_validate
from gpnas.gp.kernel import DistanceLevels, GroupedRBFKernel
from gpnas.gp.likelihood import log_marginal_likelihood
from gpnas.gp.linalg import extend_cholesky, robust_cholesky
from gpnas.gp.prior_mean import PriorMeanEncoder
from gpnas.gp.side_features import SideFeatureEncoder, SideFeatures
from gpnas.gp.target import TargetTransform
from gpnas.gp.validation import choice_matrix, target_vector
from gpnas.gp.weights import weight_posterior
from gpnas.space import SearchSpace
from gpnas.space.linked_cell import LinkedCell

PREDICTORS = ("full", "linear")
#: Default feature blocks without and with a declared cell (see ``features``).
AUTO_FEATURES: tuple[str, ...] = ("choices",)
AUTO_CELL_FEATURES: tuple[str, ...] = ("paths", "ops")
#: ... and with a declared linked cell (:mod:`gpnas.space.linked_cell`): the choices and the wiring's structure.
AUTO_LINKED_FEATURES: tuple[str, ...] = ("choices", "ops", "pairs", "outputs")
ESTIMATIONS = ("alternating", "evidence")
PREDICT_CHUNK = 4096  # rows of X_* per block in predictions, to bound memory on large pools
#: Below this many training architectures, ``encoding="auto"`` also tries the ordinal encoding of numeric spaces.
AUTO_ORDINAL_MAX_N = 100
#: The exact GP's largest training set: its kernel matrices take (groups + 4) n^2 doubles (about 2 GB at this n with
#: a dozen groups) and a fit O(n^3) time; beyond it ``fit`` refuses before it starts, rather than exhaust memory.
MAX_EXACT_N = 5000
#: Prior variance of the scale ``rho`` of a ``prior_mean`` model's standardised predictions (model units, where the
#: targets have unit variance): a source that ranks like the target gets ``rho`` near its correlation.
PRIOR_MEAN_SCALE_VAR = 1.0
#: Training sets smaller than this fit their hyperparameters with one BLAS thread.
SMALL_N = 500
#: L-BFGS-B's relative tolerance on the negative log marginal likelihood (about 1e-5 nats at typical values).
LBFGS_FTOL = 1e-7
#: Search box of the weights' prior variance under ``estimation="evidence"`` (model units).
WEIGHT_VAR_BOUNDS = (1e-4, 1e2)


class GPNASRegressor:
    """Gaussian process with a Bayesian linear mean and the grouped kernel of GP-NAS.

    Parameters
    ----------
    space:
        The search space; gives the operation type and option count of each position.  Alternatively pass
        ``groups`` and ``n_options``.
    groups, n_options:
        Operation type and number of options per position (``d`` entries each), when no ``space`` is given.
    encoding:
        ``"onehot"``, ``"ordinal"`` (the paper's), see :mod:`gpnas.space.encoding`, or ``"auto"`` (default): one-hot, except
        that below :data:`AUTO_ORDINAL_MAX_N` training architectures, in a space whose choices are all numbers, both
        encodings are fitted and the one with the higher evidence is kept (``encoding_`` says which).  With 20
        points an ordinal, nearly linear model of ordered choices is often the better prior; from about 50 on the
        one-hot one ranks better (``benchmarks/results/predictor.md``).
    features:
        The kernel's feature blocks, a subset of ``("choices", "effective", "paths", "ops", "pairs", "outputs",
        "interactions")`` (:mod:`gpnas.space.encoding`), or ``"auto"``: :data:`AUTO_CELL_FEATURES` when the space
        declares a cell, :data:`AUTO_LINKED_FEATURES` when it declares a linked cell, else the paper's per-position
        ``("choices",)``.  Chosen by measurement, see ``benchmarks/results/predictor_ablation.md``.
    predictor:
        ``"full"`` GP posterior predictive (default) or ``"linear"``, the paper's Eq. 22.
    weight_prior_var:
        Prior variance of each non-bias weight of the linear mean, in model units (after the target transform).
        ``None`` uses ``1 / d``, so the prior variance of ``w^T s`` is about 1 (one unit of the transformed target)
        whatever ``d``.  With ``estimation="evidence"`` this is the starting value of its estimate.
    bias_prior_var:
        Prior variance of the bias weight.
    sigma, lengthscale, noise:
        Initial kernel hyperparameters (per-type signal std, per-type lengthscale, noise variance), in model
        units; scalars broadcast over types.  They are the final values when ``optimize=False``.
    estimation:
        How the hyperparameters are estimated.  ``"alternating"`` is the paper's Algorithm 1: maximise Eq. 21 with
        ``w`` fixed, update the posterior of ``w`` (Theorems 1-2), repeat.  ``"evidence"`` integrates ``w`` out and
        maximises the marginal likelihood of ``sigma``, ``lengthscale``, ``noise`` *and* the weights' prior variance
        together (type-II maximum likelihood), then applies Theorems 1-2 once.  See :mod:`gpnas.gp.likelihood`.
    optimize:
        Estimate the hyperparameters by maximum marginal likelihood; otherwise keep the initial values.
    n_restarts:
        Random starts drawn log-uniformly within the bounds.  L-BFGS-B runs from the initial values, then from a
        random start only if that start's marginal likelihood already beats the optimum found.
    max_alternations, alternation_tol:
        Algorithm 1's alternation: fit the hyperparameters with ``w`` fixed, update the posterior of ``w``, repeat until
        its mean moves less than ``alternation_tol`` (relative, max-norm) or ``max_alternations`` rounds.
    target_transform:
        ``"copula"`` (default, a smoothed normal-score map), ``"standardize"`` or ``"none"``: the map from measured
        values to model units, see :mod:`gpnas.gp.target`.  Predictions are returned in the original units, as the
        moments and quantiles of the back-transformed predictive distribution.
    sigma_bounds, lengthscale_bounds, noise_bounds:
        Search boxes of the hyperparameters (model units).  The noise variance is at least 1 % of the targets'
        variance in model units by default: with 50 points and a dozen hyperparameters, type-II maximum likelihood
        otherwise sometimes drives the noise to zero and interpolates, and the intervals of such a fit held 18-49 %
        of held-out values on CVPR 2022 Track 2 tasks (``benchmarks/predictor.py``); the floor also ranks better
        there and on NAS-Bench-201, and costs 0.015-0.027 in Kendall tau on NAS-Bench-Macro at 100-200
        architectures.
    random_state:
        Seed of the restarts (and of the calibration's folds).
    side_features:
        A :class:`~gpnas.gp.side_features.SideFeatures` lookup of numbers known for every architecture before any is
        trained (zero-cost proxies, FLOPs, a table's extra columns): their normal scores join the kernel as groups of
        their own and the linear mean as columns (:mod:`gpnas.gp.side_features`).  Every architecture fitted or
        predicted must be in the lookup.
    side_grouping:
        ``"one"``: the side features form one kernel group (one signal variance, one lengthscale); ``"each"``: a group
        per feature, each weighed by the evidence.
    side_scaling:
        ``"normal_scores"`` (default): each side feature enters as the normal score of its rank in the lookup's
        population (right for proxies that span orders of magnitude); ``"standardize"``: as its value centred and
        scaled by the population's mean and standard deviation (right where the target is near-linear in it, as one
        device's log latency is in another's).
    max_fit_samples:
        ``None`` (default): the hyperparameters are estimated on every training point.  An integer ``m``: above ``m``
        points they are estimated on ``m`` drawn at random, then held fixed while the posterior conditions on all
        (subset-of-data estimation, for studies of thousands of trials: the estimation's few dozen factorisations
        cost ``O(m^3)``, the posterior's one ``O(n^3)``).  The points used are in ``fit_subset_``.
    hyperprior_scale, hyperprior_center:
        A positive number ``s`` (default 1): the kernel's hyperparameters are maximum a posteriori under a log-normal
        prior on every group's signal std and lengthscale, ``log sigma ~ N(log c_sigma, s^2)`` and
        ``log ell ~ N(log c_ell, s^2)``, ``(c_sigma, c_ell) = hyperprior_center`` (model units).  ``None``: type-II
        maximum likelihood (the default before; the search keeps it outside cell spaces, the latency model keeps it).
        With a few dozen points the likelihood alone often switches a group off (``sigma`` at its lower bound) or
        flattens it, and the model turns additive; a weakly informative prior keeps such fits near the values larger
        samples find, as BoTorch's default GP priors do.  The noise and the weights' variance have no prior.
        ``log_marginal_likelihood_value_`` stays the evidence, without the prior.  Chosen as the default on the
        predictor's tuning tables and judged on the held-out ones (README, Results, Predictor).
    """

    def __init__(
        self,
        space: SearchSpace | None = None,
        groups: Sequence[str] | None = None,
        n_options: Sequence[int] | None = None,
        encoding: str = "auto",
        features: str | Sequence[str] = "auto",
        predictor: str = "full",
        weight_prior_var: float | None = None,
        bias_prior_var: float = 1.0,
        sigma: float | Sequence[float] = 1.0,
        lengthscale: float | Sequence[float] = 1.0,
        noise: float = 0.1,
        estimation: str = "evidence",
        optimize: bool = True,
        n_restarts: int = 2,
        max_alternations: int = 10,
        alternation_tol: float = 1e-3,
        target_transform: str = "copula",
        sigma_bounds: tuple[float, float] = (1e-3, 1e1),
        lengthscale_bounds: tuple[float, float] = (1e-2, 1e2),
        noise_bounds: tuple[float, float] = (1e-2, 1e1),
        random_state: int | None = None,
        side_features: SideFeatures | None = None,
        side_grouping: str = "one",
        max_fit_samples: int | None = None,
        side_scaling: str = "normal_scores",
        hyperprior_scale: float | None = 1.0,
        hyperprior_center: tuple[float, float] = (1.0, 1.0),
    ) -> None:
        self.space = space
        self.groups = groups
        self.n_options = n_options
        self.encoding = encoding
        self.features = features
        self.predictor = predictor
        self.weight_prior_var = weight_prior_var
        self.bias_prior_var = bias_prior_var
        self.sigma = sigma
        self.lengthscale = lengthscale
        self.noise = noise
        self.estimation = estimation
        self.optimize = optimize
        self.n_restarts = n_restarts
        self.max_alternations = max_alternations
        self.alternation_tol = alternation_tol
        self.target_transform = target_transform
        self.sigma_bounds = sigma_bounds
        self.lengthscale_bounds = lengthscale_bounds
        self.noise_bounds = noise_bounds
        self.random_state = random_state
        self.side_features = side_features
        self.side_grouping = side_grouping
        self.max_fit_samples = max_fit_samples
        self.side_scaling = side_scaling
        self.hyperprior_scale = hyperprior_scale
        self.hyperprior_center = hyperprior_center

    # ------------------------------------------------------------------ scikit-learn protocol
    @classmethod
    def _get_param_names(cls) -> list[str]:
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters, as scikit-learn's ``BaseEstimator.get_params``."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any) -> "GPNASRegressor":
        """Set constructor parameters, as scikit-learn's ``BaseEstimator.set_params``."""
        valid = set(self._get_param_names())
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"invalid parameter {key!r} for GPNASRegressor; valid ones are {sorted(valid)}")
            setattr(self, key, value)
        return self

    def __sklearn_tags__(self):
        # Only scikit-learn calls this, so importing it here keeps it out of the core's dependencies.
        from sklearn.base import BaseEstimator, RegressorMixin

        class _Regressor(RegressorMixin, BaseEstimator):
            pass

        tags = _Regressor().__sklearn_tags__()
        # choice indices: non-negative whole numbers, each a category of its position; never sparse, never NaN
        tags.input_tags.positive_only = True
        tags.input_tags.categorical = True
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        tags.target_tags.required = True
        return tags

    def __repr__(self) -> str:
        defaults = {k: v.default for k, v in inspect.signature(type(self).__init__).parameters.items() if k != "self"}
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if not _same(v, defaults[k])]
        return f"GPNASRegressor({', '.join(changed)})"

    def score(self, X: np.ndarray, y: np.ndarray) -> float:
        """Coefficient of determination R^2 of the predicted mean, as scikit-learn regressors."""
        y = np.asarray(y, dtype=float)
        resid = y - self.predict(X)
        return float(1.0 - resid @ resid / np.sum((y - y.mean()) ** 2))

    # ------------------------------------------------------------------ structure and validation
    def structure(self, X: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
        """Options per position ``(d,)`` and operation type per position: from the space, from ``groups`` and
        ``n_options``, or, with neither, read from the training indices ``X`` (the largest index seen plus one, at
        least two options, and one operation type per position) and kept after ``fit``."""
        if self.space is not None:
            n_options, groups = self.space.n_options, self.space.groups
            if self.n_options is not None and list(self.n_options) != list(n_options):
                raise ValueError("n_options disagrees with the space; pass one or the other")
            if self.groups is not None and list(self.groups) != list(groups):
                raise ValueError("groups disagree with the space; pass one or the other")
            return n_options, groups
        if self.groups is not None and self.n_options is not None:
            return np.asarray(self.n_options, dtype=int), [str(g) for g in self.groups]
        if self.groups is not None or self.n_options is not None:
            raise ValueError("GPNASRegressor needs both groups and n_options, or a space, or neither (then the "
                             "options are read from the training data)")
        if X is not None:
            return np.maximum(X.max(axis=0) + 1, 2), [f"x{j}" for j in range(X.shape[1])]
        if hasattr(self, "n_options_"):
            return self.n_options_, self.groups_
        raise ValueError("GPNASRegressor needs a space, groups and n_options, or training data to read them from")

    def _validate_X(self, X: Any, n_options: np.ndarray) -> np.ndarray:
        if self.space is not None:
            if np.ndim(X) != 2:  # scikit-learn's convention: one architecture is a (1, d) batch
                choice_matrix(X)  # raises, naming the dimensions
            return self.space.validate(X)
        arr = choice_matrix(X)
        if arr.shape[1] != n_options.size:
            raise ArchitectureError(f"X has {arr.shape[1]} features, but GPNASRegressor is expecting "
                                    f"{n_options.size} features as input (choice indices of shape "
                                    f"(n, {n_options.size}))")
        bad = arr >= n_options
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise ArchitectureError(f"architecture {row}: index {arr[row, col]} at position {col} is outside "
                                    f"0..{n_options[col] - 1}")
        return arr

    def _encoding_candidates(self, n: int, prior) -> list[str]:
        if self.encoding != "auto":
            if self.encoding not in ENCODINGS:
                raise ValueError(f"unknown encoding {self.encoding!r}; expected 'auto' or one of {ENCODINGS}")
            return [self.encoding]
        if isinstance(prior, GPNASRegressor):
            return [prior.encoding_]
        numeric = self.space is not None and all(
            isinstance(v, (int, float)) for c in self.space.choices for v in c.values)
        return ["onehot", "ordinal"] if numeric and n < AUTO_ORDINAL_MAX_N else ["onehot"]

    def resolved_features(self) -> tuple[str, ...]:
        """The feature blocks ``features`` stands for with this model's space."""
        cell = self.space.cell if self.space is not None else None
        if isinstance(self.features, str):
            if self.features != "auto":
                raise ValueError(f"features must be 'auto' or a list of feature blocks, got {self.features!r}")
            if cell is None:
                return AUTO_FEATURES
            return AUTO_LINKED_FEATURES if isinstance(cell, LinkedCell) else AUTO_CELL_FEATURES
        return tuple(self.features)

    def make_encoder(self, n_options: np.ndarray, groups: list[str]) -> Encoder:
        """The encoder this model's settings (``encoding``, ``features``, the space's cell) stand for."""
        cell = self.space.cell_features() if self.space is not None else None
        encoder = Encoder(n_options, groups, getattr(self, "encoding_", self.encoding), self.resolved_features(), cell)
        if self.side_features is not None:
            encoder = SideFeatureEncoder(encoder, self.side_features, self.side_grouping,
                                         scaling=self.side_scaling)
        return encoder

    def add_side_features(self, X: Any, values: Any) -> "GPNASRegressor":
        """Make the side features ``values (m, q)`` of architectures ``X (m, d)`` known to this fitted model, so that
        it can predict them (a pool the lookup did not hold at fit time); the maps to model inputs stay as fitted,
        so predictions of the architectures already known do not change."""
        self.check_is_fitted()
        encoder = self.encoder_
        while not isinstance(encoder, SideFeatureEncoder):
            if not hasattr(encoder, "base"):
                raise ValueError("this model was fitted without side features")
            encoder = encoder.base
        encoder.extend(self._validate_X(X, self.encoder_.n_options), values)
        self.side_features = encoder.side
        return self

    def check_is_fitted(self) -> None:
        """Raise :class:`~gpnas.exceptions.NotFittedError` (scikit-learn's too, where it is loaded) before ``fit``."""
        if not hasattr(self, "weight_mean_"):
            raise not_fitted_error("this GPNASRegressor is not fitted yet; call fit first")

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, y: Any, prior: "GPNASRegressor | tuple[np.ndarray, np.ndarray] | None" = None,
            prior_mean: "GPNASRegressor | None" = None):
        """Fit on ``X (n, d)`` choice indices and ``y (n,)`` measured performance (Algorithm 1's estimation step).

        ``prior`` sets the prior of the linear mean's weights: another fitted model (its posterior becomes this
        model's prior; the paper's CIFAR-10 -> ImageNet transfer; it needs the same encoding) or a pair
        ``(mean (p,), cov (p, p))``, both in model units (after the target transform, so a prior learned on one
        dataset's accuracy scale carries over to another's).  ``None`` uses the default prior
        ``N(0, diag(bias_prior_var, weight_prior_var, ...))``; under ``estimation="evidence"`` the weights' variance
        is then estimated, while a given prior is kept as it is.

        ``prior_mean``, another fitted model of the same space, transfers differently: its predictions, standardised
        over ``X``, become one more column of the linear mean, whose scale gets a posterior like every weight, and the
        GP models the discrepancy (Kennedy-O'Hagan; :mod:`gpnas.gp.prior_mean`).  The model keeps the source model
        (``prior_mean_model_``) to predict.  Give ``prior`` or ``prior_mean``, not both.
        """
        if self.estimation not in ESTIMATIONS:
            raise ValueError(f"unknown estimation {self.estimation!r}; expected one of {ESTIMATIONS}")
        if self.predictor not in PREDICTORS:
            raise ValueError(f"unknown predictor {self.predictor!r}; expected one of {PREDICTORS}")
        self._check_hyperprior()  # before any work, and whether or not the hyperparameters are optimised
        X = X if self.space is not None else choice_matrix(X)
        n = np.atleast_2d(X).shape[0]
        if n < 2:
            raise DataError(f"need at least 2 architectures to fit, got n_samples={n}")
        if n > MAX_EXACT_N:
            raise DataError(f"{n} architectures are more than the exact GP fits ({MAX_EXACT_N}: its kernel "
                            f"matrices would take about {(16 * n * n * 8) / 1e9:.0f} GB and a fit hours); fit on a "
                            f"random subset of at most {MAX_EXACT_N} (gpnas fit --max-rows)")
        n_options, groups = self.structure(None if self.space is not None else X)
        X = self._validate_X(X, n_options)
        y = target_vector(y, X.shape[0])
        self.n_options_, self.groups_, self.n_features_in_ = np.asarray(n_options), list(groups), X.shape[1]
        if prior is not None and prior_mean is not None:
            raise ValueError("give prior (the paper's weight transfer) or prior_mean (the source's predictions in the "
                             "mean), not both")
        if prior_mean is not None:
            prior_mean.check_is_fitted()
        if self.max_fit_samples is not None and self.optimize and X.shape[0] > self.max_fit_samples:
            return self._fit_on_subset(X, y, prior, prior_mean)
        candidates = self._encoding_candidates(X.shape[0], prior)
        if len(candidates) > 1:  # model selection by the evidence (same targets, same transform: comparable)
            fits = [GPNASRegressor(**{**self.get_params(), "encoding": e}).fit(X, y, prior, prior_mean)
                    for e in candidates]
            best = max(fits, key=lambda m: m.log_marginal_likelihood_value_)
            for key, value in vars(best).items():
                if key not in self._get_param_names():
                    setattr(self, key, value)
            return self
        self.encoding_ = candidates[0]
        self.encoder_ = self.make_encoder(n_options, groups)
        if prior_mean is not None:
            self.encoder_ = PriorMeanEncoder(self.encoder_, prior_mean, X)
        self.prior_mean_model_ = prior_mean
        self.group_names_ = list(self.encoder_.group_names)
        self.target_ = TargetTransform(self.target_transform).fit(y)
        p = self.encoder_.n_features + 1
        self.prior_mean_, self.prior_cov_ = self._prior_model_units(prior, p, n_options.size)
        if prior_mean is not None:  # the source's scale rho: about the targets' own scale in model units
            self.prior_cov_[-1, -1] = PRIOR_MEAN_SCALE_VAR
        self.X_train_, self.y_train_ = X, y
        # Below SMALL_N every product and factorisation of a fit is small enough that a second BLAS thread costs
        # more than it saves (a whole fit at n = 200 takes about half the time on one thread here)
        with threadpool_limits(limits=1 if X.shape[0] < SMALL_N else None, user_api="blas"):
            Z = self.Z_train_ = self.encoder_.transform(X)
            Phi = self.design(Z)
            x = self.target_.forward(y)
            self.kernel_ = GroupedRBFKernel(self.encoder_.group_columns, self.sigma, self.lengthscale,
                                            self.encoder_.onehot_positions)
            params = np.concatenate([self.kernel_.theta, [np.log(self.noise)]])
            D = self.kernel_.distances(Z)
            rng = np.random.default_rng(self.random_state)
            self.alternation_history_ = []
            if self.estimation == "evidence":
                self._fit_evidence(params, D, Phi, Z, x, rng, learn_weight_var=prior is None)
            else:
                self._fit_alternating(params, D, Phi, x, rng)
        self.n_alternations_ = len(self.alternation_history_)
        return self

    def _fit_on_subset(self, X: np.ndarray, y: np.ndarray, prior, prior_mean) -> "GPNASRegressor":
        """Subset-of-data estimation: the encoding and hyperparameters (kernel, noise, the weights' prior variance)
        are estimated on ``max_fit_samples`` training points drawn at random, then held fixed while the posterior
        conditions on every point.  The estimation, a few dozen ``O(m^3)`` factorisations, is what grows fastest
        with n; the posterior stays exact, one ``O(n^3)`` factorisation."""
        m = int(self.max_fit_samples)
        if m < 2:
            raise ValueError(f"max_fit_samples must be at least 2, got {m}")
        subset = np.sort(np.random.default_rng(self.random_state).choice(X.shape[0], m, replace=False))
        params = {**self.get_params(), "max_fit_samples": None}
        estimated = GPNASRegressor(**params).fit(X[subset], y[subset], prior, prior_mean)
        fixed = {**params, "optimize": False, "encoding": estimated.encoding_, "sigma": estimated.kernel_.sigma,
                 "lengthscale": estimated.kernel_.lengthscale, "noise": estimated.noise_}
        if prior is None:  # the weights' variance was estimated too (the bias keeps its own)
            fixed["weight_prior_var"] = float(estimated.prior_cov_[1, 1])
        full = GPNASRegressor(**fixed).fit(X, y, prior, prior_mean)
        for key, value in vars(full).items():
            if key not in self._get_param_names():
                setattr(self, key, value)
        self.fit_subset_ = subset
        self.log_marginal_likelihood_subset_ = estimated.log_marginal_likelihood_value_
        return self

    def _fit_alternating(self, params: np.ndarray, D: np.ndarray, Phi: np.ndarray, x: np.ndarray, rng) -> None:
        """Algorithm 1: Eq. 21 with ``w`` fixed at its current mean, then Theorems 1-2, until the mean settles."""
        w_fixed = self.prior_mean_.copy()
        for round_ in range(max(1, int(self.max_alternations))):
            if self.optimize:
                restarts = self.n_restarts if round_ == 0 else 0
                params = self._optimise(params, D, x - Phi @ w_fixed, rng, restarts)
            self._set_hyperparameters(params)
            mu_hat = self._factor_and_posterior(D, Phi, x)
            change = float(np.max(np.abs(mu_hat - w_fixed)) / (1.0 + np.max(np.abs(w_fixed))))
            self._record_round(change)
            w_fixed = mu_hat
            if not self.optimize or change < self.alternation_tol:
                break

    def _fit_evidence(self, params, D, Phi, Z, x, rng, learn_weight_var: bool) -> None:
        """Type-II maximum likelihood with ``w`` integrated out, then Theorems 1-2 once."""
        if learn_weight_var:
            # the bias and a prior model's column keep their own variances; the other weights share a learnt one
            extra = 1 if isinstance(self.encoder_, PriorMeanEncoder) else 0
            fixed_cov = self.prior_cov_[0, 0] * np.ones((x.size, x.size))
            if extra:
                fixed_cov = fixed_cov + self.prior_cov_[-1, -1] * np.outer(Z[:, -1], Z[:, -1])
            shared = Z[:, : Z.shape[1] - extra]
            weight_gram = shared @ shared.T
            params = np.append(params, np.log(self.prior_cov_[1, 1]))
        else:
            fixed_cov, weight_gram = Phi @ self.prior_cov_ @ Phi.T, None
        if self.optimize:
            params = self._optimise(params, D, x - Phi @ self.prior_mean_, rng, self.n_restarts,
                                    fixed_cov=fixed_cov, weight_gram=weight_gram)
        self._set_hyperparameters(params)
        self.weight_var_learned_ = learn_weight_var
        if learn_weight_var:
            diag = np.full(Phi.shape[1], float(np.exp(params[-1])))
            diag[0] = self.prior_cov_[0, 0]
            if extra:
                diag[-1] = self.prior_cov_[-1, -1]
            self.prior_cov_ = np.diag(diag)
        mu_hat = self._factor_and_posterior(D, Phi, x)
        self._record_round(float(np.max(np.abs(mu_hat - self.prior_mean_))))

    def _record_round(self, change: float) -> None:
        self.alternation_history_.append(
            {"round": len(self.alternation_history_) + 1,
             "log_marginal_likelihood": float(self.log_marginal_likelihood_value_), "weight_change": change}
        )

    def _prior_model_units(self, prior, p: int, d: int) -> tuple[np.ndarray, np.ndarray]:
        if prior is None:
            var = (1.0 / d) if self.weight_prior_var is None else float(self.weight_prior_var)
            return np.zeros(p), np.diag(np.concatenate([[float(self.bias_prior_var)], np.full(p - 1, var)]))
        if isinstance(prior, GPNASRegressor):
            prior.check_is_fitted()
            if prior.encoder_.n_features + 1 != p or prior.encoding_ != self.encoding_:
                raise ValueError("the prior model must use the same space structure and encoding as this model")
            mean, cov = prior.weight_mean_.copy(), prior.weight_cov_.copy()
        else:
            mean, cov = (np.array(a, dtype=float) for a in prior)
        if mean.shape != (p,) or cov.shape != (p, p):
            raise ValueError(f"prior must be a mean ({p},) and a covariance ({p}, {p})")
        return mean, cov

    def _bounds(self, h: int, with_weight_var: bool) -> np.ndarray:
        bounds = (
            [np.log(self.sigma_bounds)] * h
            + [np.log(self.lengthscale_bounds)] * h
            + [np.log(self.noise_bounds)]
            + ([np.log(WEIGHT_VAR_BOUNDS)] if with_weight_var else [])
        )
        return np.array(bounds)

    def _optimise(self, start: np.ndarray, D: np.ndarray, r: np.ndarray, rng, restarts: int,
                  fixed_cov: np.ndarray | None = None, weight_gram: np.ndarray | None = None) -> np.ndarray:
        """Maximise the marginal likelihood over log hyperparameters with L-BFGS-B and analytic gradients."""
        h = D.shape[0]
        bounds = self._bounds(h, weight_gram is not None)
        kernel = GroupedRBFKernel(self.kernel_.group_columns)
        D = DistanceLevels.of(D)  # one-hot distances take a few values: each step's exponentials per value

        log_prior = self._log_hyperprior(h, bounds.shape[0])

        def objective(params):
            value, grad = log_marginal_likelihood(params, kernel, D, r, eval_gradient=True,
                                                  fixed_cov=fixed_cov, weight_gram=weight_gram)
            prior_value, prior_grad = log_prior(params)
            return -(value + prior_value), -(grad + prior_grad)

        # Restarts are screened, not each optimised: L-BFGS runs from the initial point, then from a random start
        # only if that start's value (no gradient, one factorisation) already beats the optimum found.  On four
        # benchmark tables full restarts improved the initial point's optimum once in 16 fits (0.8 nats, the same
        # ranking) while each cost a full optimisation (docs/model.md).
        options = {"ftol": LBFGS_FTOL}
        initial = np.clip(start, bounds[:, 0], bounds[:, 1])
        # Each step factors an (n, n) matrix; below SMALL_N a second BLAS thread costs more than it saves (a Cholesky
        # of 200 takes 0.15 ms on one thread and 0.7 ms on two here), so the optimisation runs on one.
        threads = 1 if r.shape[0] < SMALL_N else None
        from scipy.optimize import minimize  # imported where used: fits need it, predictions do not

        with threadpool_limits(limits=threads, user_api="blas"):
            best = minimize(objective, initial, jac=True, method="L-BFGS-B", bounds=bounds, options=options)
            for _ in range(int(restarts)):
                candidate = rng.uniform(bounds[:, 0], bounds[:, 1])
                value = -(log_marginal_likelihood(candidate, kernel, D, r, fixed_cov=fixed_cov,
                                                  weight_gram=weight_gram) + log_prior(candidate)[0])
                if value < best.fun:
                    result = minimize(objective, candidate, jac=True, method="L-BFGS-B", bounds=bounds,
                                      options=options)
                    if result.fun < best.fun:
                        best = result
        if not np.isfinite(best.fun):
            warnings.warn("hyperparameter optimisation failed; keeping the initial values")
            return initial
        return best.x

    def hyperparameter_posterior(self) -> tuple[Callable[[np.ndarray], float], np.ndarray, np.ndarray] | None:
        """``(log_density, estimate, bounds)``: the function this fit maximised over the log hyperparameters ``[log
        sigma (h), log ell (h), log noise, log weight variance]`` (the evidence with the weights integrated out, plus
        the hyperprior's log density when there is one) on the data the model now holds, the hyperparameters it
        holds (the maximiser its fit found; after :meth:`partial_fit`, the one found before the new batch), and the
        search box ``(2h + 2, 2)``; ``-inf`` outside the box.  For sampling the hyperparameters instead of fixing
        them (:mod:`gpnas.gp.hyperparameter_draws`).  ``None`` where the fit was not that estimate: the alternating
        estimation, a given weight prior or a prior model's predictions in the mean, hyperparameters estimated on a
        subset (``max_fit_samples``), or a model loaded from a file (:func:`gpnas.load_model`), whose fit is not
        known to have been one."""
        self.check_is_fitted()
        if (self.estimation != "evidence" or not getattr(self, "weight_var_learned_", False)
                or isinstance(self.encoder_, PriorMeanEncoder) or hasattr(self, "fit_subset_")):
            return None
        Z = self.Z_train_
        Phi = self.design(Z)
        h = self.kernel_.n_groups
        kernel = GroupedRBFKernel(self.kernel_.group_columns)
        D = DistanceLevels.of(self.kernel_.distances(Z))
        r = self.target_.forward(self.y_train_) - Phi @ self.prior_mean_
        fixed_cov, weight_gram = self.prior_cov_[0, 0] * np.ones((r.size, r.size)), Z @ Z.T
        bounds = self._bounds(h, True)
        log_prior = self._log_hyperprior(h, bounds.shape[0])

        def log_density(params: np.ndarray) -> float:
            if np.any(params < bounds[:, 0]) or np.any(params > bounds[:, 1]):
                return -np.inf
            value = log_marginal_likelihood(params, kernel, D, r, fixed_cov=fixed_cov, weight_gram=weight_gram)
            return float(value + log_prior(params)[0])

        estimate = np.concatenate([self.kernel_.theta, [np.log(self.noise_), np.log(self.prior_cov_[1, 1])]])
        return log_density, np.clip(estimate, bounds[:, 0], bounds[:, 1]), bounds

    def _check_hyperprior(self) -> tuple[float, np.ndarray]:
        """``(scale, center)`` of the hyperparameter prior, or a clear error for a setting that is not one (the
        scale is NaN without a prior)."""
        def as_floats(value, empty):
            try:
                return np.asarray(value, dtype=float)
            except (TypeError, ValueError):  # not numbers: reported below as the setting it is
                return empty

        scale = np.nan if self.hyperprior_scale is None else as_floats(self.hyperprior_scale, np.array(-1.0))
        center = as_floats(self.hyperprior_center, np.array([]))
        if self.hyperprior_scale is not None and not (scale.shape == () and np.isfinite(scale) and scale > 0):
            raise ValueError(f"hyperprior_scale must be a positive number or None, got {self.hyperprior_scale!r}")
        if center.shape != (2,) or not np.all(np.isfinite(center) & (center > 0)):
            raise ValueError("hyperprior_center must be two positive numbers (signal std, lengthscale), got "
                             f"{self.hyperprior_center!r}")
        return float(scale), center

    def _log_hyperprior(self, h: int, n_params: int) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
        """``params -> (log prior up to a constant, its gradient)`` over the log hyperparameters
        ``[log sigma (h), log ell (h), log noise, (log weight variance)]``: zero without ``hyperprior_scale``."""
        if self.hyperprior_scale is None:
            return lambda params: (0.0, np.zeros(n_params))
        scale, center = self._check_hyperprior()
        mean = np.concatenate([np.full(h, np.log(center[0])), np.full(h, np.log(center[1]))])

        def log_prior(params: np.ndarray) -> tuple[float, np.ndarray]:
            diff = params[: 2 * h] - mean
            grad = np.zeros(n_params)
            grad[: 2 * h] = -diff / scale**2
            return float(-0.5 * diff @ diff / scale**2), grad

        return log_prior

    def _set_hyperparameters(self, params: np.ndarray) -> None:
        h = self.kernel_.n_groups
        self.kernel_.theta = params[: 2 * h]
        self.noise_ = float(np.exp(params[2 * h]))

    def _factor_and_posterior(self, D: np.ndarray, Phi: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Factor ``K``, whiten the data, and update the weights' posterior from the prior (Theorems 1-2)."""
        n = x.shape[0]
        C = self.kernel_.from_distances(D) + self.noise_ * np.eye(n)
        self.L_ = robust_cholesky(C, what="kernel matrix of the training architectures")
        self._whiten_and_update(Phi, x)
        return self.weight_mean_

    def _whiten_and_update(self, Phi: np.ndarray, x: np.ndarray) -> None:
        """From ``L_``: whitened design and targets, Theorems 1-2, the prediction weights and the evidence.

        ``log_marginal_likelihood_value_`` is the evidence with ``w`` integrated out,
        ``log N(x; Phi mu_w, K + s2 I + Phi Sigma_w Phi^T)``: the value ``estimation="evidence"`` maximises with
        :func:`gpnas.gp.likelihood.log_marginal_likelihood` (tested equal), here in whitened form from the factors
        already computed (model units, without the target transform's Jacobian, which does not depend on the
        hyperparameters).
        """
        n = x.shape[0]
        self._calibration = None  # cross-validated lazily, on first use, from the data now held
        self.A_ = solve_triangular(self.L_, Phi, lower=True, check_finite=False)
        self.b_ = solve_triangular(self.L_, x, lower=True, check_finite=False)
        self.weight_mean_, self.weight_cov_, LS = weight_posterior(self.prior_mean_, self.prior_cov_, self.A_,
                                                                   self.b_, return_factor=True)
        u = solve_triangular(LS, self.b_ - self.A_ @ self.prior_mean_, lower=True, check_finite=False)
        # K + s2 I + Phi Sigma_w Phi^T = (L LS)(L LS)^T, so the evidence comes from the two factors already at hand
        # (no third factorisation; it uses the jittered L when jitter was needed).
        self.log_marginal_likelihood_value_ = float(
            -0.5 * u @ u - np.log(np.diag(self.L_)).sum() - np.log(np.diag(LS)).sum() - 0.5 * n * np.log(2 * np.pi))
        # Predictions use the equivalent GP with kernel k + phi^T Sigma_w phi and mean Phi mu_w, whose covariance
        # factors as (L LS)(L LS)^T.  Its inverse factor is formed once (O(n^3)) because applying it to a pool as a
        # matrix product runs about twice as fast as a triangular solve with as many right-hand sides.
        inverse_factor = solve_triangular(LS, solve_triangular(self.L_, np.eye(n), lower=True, check_finite=False),
                                          lower=True, check_finite=False)
        self._inverse_factor_T = np.ascontiguousarray(inverse_factor.T)
        self._alpha_combined = inverse_factor.T @ u
        self._prior_cov_design_T = self.prior_cov_ @ Phi.T
        # Leave-one-out residuals of the measurements, standardised (GPML eq. 5.12: r_i = alpha_i / [C^-1]_ii with
        # variance 1 / [C^-1]_ii), sorted by size: the jackknife quantiles of predict_interval.
        precision_diag = np.einsum("ij,ij->i", self._inverse_factor_T, self._inverse_factor_T)
        self.loo_standardized_residuals_ = np.sort(np.abs(self._alpha_combined) / np.sqrt(precision_diag))
        # the leave-one-out predictive means themselves (model units, training order; GPML eq. 5.12)
        self.loo_latent_mean_ = x - self._alpha_combined / precision_diag
        diag = np.diag(self.prior_cov_)
        isotropic = np.array_equal(self.prior_cov_, np.diag(diag)) and np.all(diag[1:] == diag[1:2])
        self._isotropic_prior = (float(diag[0]), float(diag[1]) if diag.size > 1 else 0.0) if isotropic else None

    def set_fitted_state(self, X_train: np.ndarray, y_train: np.ndarray, sigma: np.ndarray, lengthscale: np.ndarray,
                         noise: float, target: TargetTransform, prior_mean: np.ndarray,
                         prior_cov: np.ndarray, source: tuple | None = None) -> "GPNASRegressor":
        """Make this model fitted from saved state (no hyperparameter estimation): the kernel is refactored and the
        weights' posterior recomputed, exactly as :meth:`fit` leaves them (used by :func:`gpnas.load_model`).
        ``source``: ``(model, center, scale)`` of a ``prior_mean`` transfer."""
        n_options, groups = self.structure()
        self.n_options_, self.groups_, self.n_features_in_ = np.asarray(n_options), list(groups), len(groups)
        self.encoder_ = self.make_encoder(n_options, groups)
        if source is not None:
            self.encoder_ = PriorMeanEncoder(self.encoder_, source[0], center=source[1], scale=source[2])
        self.prior_mean_model_ = None if source is None else source[0]
        self.group_names_ = list(self.encoder_.group_names)
        self.target_ = target
        self.X_train_ = self._validate_X(X_train, n_options)
        self.y_train_ = target_vector(y_train, self.X_train_.shape[0])
        self.kernel_ = GroupedRBFKernel(self.encoder_.group_columns, sigma, lengthscale, self.encoder_.onehot_positions)
        self.noise_ = float(noise)
        self.prior_mean_, self.prior_cov_ = np.asarray(prior_mean, float), np.asarray(prior_cov, float)
        Z = self.Z_train_ = self.encoder_.transform(self.X_train_)
        D = self.kernel_.distances(Z)
        self._factor_and_posterior(D, self.design(Z), self.target_.forward(self.y_train_))
        self.alternation_history_, self.n_alternations_ = [], 0
        return self

    def partial_fit(self, X: Any, y: Any) -> "GPNASRegressor":
        """Condition on a new batch with the kernel hyperparameters and the weights' prior kept as they are.

        The kernel factor grows by an extend-Cholesky step (``O(n^2 m)``).  The target transform is refitted on all
        targets (a data-dependent map fitted on the first batch alone would turn values outside its range into
        outliers), so the whitened targets and Theorems 1-2 are recomputed from the prior over all the data.  The
        result equals one :meth:`fit` on both batches with these hyperparameters held fixed (tested).  For a fixed
        transform this is the paper's recursion, where the posterior after one batch is the prior of the next:
        Theorems 1-2 applied batch by batch give the same posterior.  Unfitted, it is :meth:`fit`.
        """
        if not hasattr(self, "weight_mean_"):
            return self.fit(X, y)
        X = self._validate_X(X, self.encoder_.n_options)
        y = target_vector(y, X.shape[0])
        Z_new = self.encoder_.transform(X)
        K12 = self.kernel_(self.Z_train_, Z_new)
        K22 = self.kernel_(Z_new) + self.noise_ * np.eye(Z_new.shape[0])
        self.L_ = extend_cholesky(self.L_, K12, K22)[0]
        self.X_train_ = np.vstack([self.X_train_, X])
        self.y_train_ = np.concatenate([self.y_train_, y])
        self.Z_train_ = np.vstack([self.Z_train_, Z_new])
        self.target_ = TargetTransform(self.target_transform).fit(self.y_train_)
        self._whiten_and_update(self.design(self.Z_train_), self.target_.forward(self.y_train_))
        return self

    # ------------------------------------------------------------------ predictions
    def predict(self, X: Any, return_std: bool = False, include_noise: bool = False):
        """Predicted performance ``(m,)`` of architectures ``X (m, d)``, and its standard deviation if asked.

        Both are the mean and standard deviation of the predictive distribution *in measured units*: the latent
        Gaussian ``N(mu, s^2)`` mapped back through the target transform (:meth:`TargetTransform.moments`), not the
        transform of the latent mean.  ``include_noise`` adds the noise variance before mapping back: the
        distribution of a new *measurement* rather than of the noise-free performance.  For intervals use
        :meth:`predict_interval`, whose ends are exact quantiles.
        """
        self.check_is_fitted()
        mean, var = self.predict_latent(X, return_var=return_std or not self.target_.is_linear,
                                        include_noise=include_noise)
        if self.target_.is_linear and not return_std:
            return self.target_.inverse(mean)
        out_mean, out_var = self.target_.moments(mean, np.sqrt(var))
        return (out_mean, np.sqrt(out_var)) if return_std else out_mean

    def predict_interval(self, X: Any, coverage: float = 0.95, include_noise: bool = True):
        """Central predictive interval ``(lower (m,), upper (m,))`` meant to hold a share ``coverage`` of values.

        In model units the interval is ``mu +- w s``, mapped back through the (increasing) target transform.  ``w``
        is the larger of the Gaussian quantile ``Phi^-1((1 + coverage) / 2)`` and the studentized jackknife quantile:
        the ``ceil(coverage (n + 1))``-th smallest of the ``n`` standardized leave-one-out residuals of the training
        data (:attr:`loo_standardized_residuals_`, closed form, no refit), as in split-conformal prediction (with
        fewer than ``1 / (1 - coverage) - 1`` training points there is no such rank and ``w`` is Gaussian).  Type-II
        maximum likelihood fits the hyperparameters to the same few points, so a plain Gaussian interval is too
        narrow at small ``n``; the jackknife widens it exactly as much as the training residuals show, and never
        narrows it.  By default the interval is for a new measurement (``include_noise=True``), the quantity a held-out
        benchmark value is; ``benchmarks/predictor.py`` measures how often it holds one.
        """
        if not 0.0 < coverage < 1.0:
            raise ValueError(f"coverage must be in (0, 1), got {coverage!r}")
        mean, var = self.predict_latent(X, include_noise=include_noise)
        std = np.sqrt(var)
        width = self.interval_halfwidth(coverage)
        return self.target_.inverse(mean - width * std), self.target_.inverse(mean + width * std)

    def predict_summary(self, X: Any, coverage: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(mean, std, lower, upper)``: :meth:`predict` with ``return_std=True`` and :meth:`predict_interval` (a new
        measurement's interval) from one pass over ``X``, half the work of calling both (what ``gpnas predict``
        writes)."""
        if not 0.0 < coverage < 1.0:
            raise ValueError(f"coverage must be in (0, 1), got {coverage!r}")
        mean, var = self.predict_latent(X)
        out_mean, out_var = self.target_.moments(mean, np.sqrt(var))
        width = self.interval_halfwidth(coverage) * np.sqrt(var + self.noise_)
        return out_mean, np.sqrt(out_var), self.target_.inverse(mean - width), self.target_.inverse(mean + width)

    def interval_halfwidth(self, coverage: float = 0.95) -> float:
        """``w`` of :meth:`predict_interval`, in predictive standard deviations (model units)."""
        self.check_is_fitted()
        gaussian = float(ndtri(0.5 * (1.0 + coverage)))
        residuals = self.loo_standardized_residuals_
        rank = int(np.ceil(coverage * (residuals.size + 1)))
        jackknife = float(residuals[rank - 1]) if rank <= residuals.size else np.inf
        return max(gaussian, jackknife) if np.isfinite(jackknife) else gaussian

    def log_predictive_density(self, X: Any, y: Any, calibrated: bool = True) -> np.ndarray:
        """``log p(y | X)`` of measured values ``y (m,)`` under the predictive distribution of a measurement.

        The latent density of ``T(y)`` plus the log-Jacobian of the target transform, so that densities of models
        with different transforms are comparable (the mean of this is the "MLPD" of the benchmarks).  The latent
        density is the cross-validated Student-t ``mu + c s t_nu`` of :attr:`calibration_` (``calibrated=False``: the
        model's own Gaussian ``N(mu, s^2)``); ``s^2`` includes the noise variance.
        """
        y = np.asarray(y, dtype=float).ravel()
        mean, var = self.predict_latent(X, include_noise=True)
        z = self.target_.forward(y)
        calibration = self.calibration_ if calibrated else Calibration.identity()
        return calibration.logpdf(z, mean, np.sqrt(var)) + self.target_.log_jacobian(y)

    @property
    def calibration_(self) -> Calibration:
        """The out-of-sample calibration of this model's predictive distribution (:mod:`gpnas.gp.calibration`).

        K-fold cross-validation (:data:`~gpnas.gp.calibration.CV_FOLDS` folds) of the training data, computed on first
        use and kept until the model is refitted: each fold model is fitted like this one, with its hyperparameters
        started from this model's, no random restarts, and the weights' prior (or ``prior_mean`` source) this model
        ended with.  It costs about ``CV_FOLDS`` fits without restarts, once.
        """
        self.check_is_fitted()
        if getattr(self, "_calibration", None) is None:
            seed = 0 if self.random_state is None else self.random_state
            self._calibration = cross_validate(self.y_train_.size, self._predict_fold, np.random.default_rng(seed))
        return self._calibration

    def _predict_fold(self, train: np.ndarray, test: np.ndarray) -> np.ndarray:
        """Fit a fold model on training rows ``train`` and return the standardised residuals of rows ``test`` (model
        units of the fold model)."""
        params = {**self.get_params(), "encoding": self.encoding_, "sigma": self.kernel_.sigma,
                  "lengthscale": self.kernel_.lengthscale, "noise": self.noise_, "n_restarts": 0}
        if self.space is None:  # the fold's own X may not show every option
            params.update(groups=self.groups_, n_options=self.n_options_)
        model = GPNASRegressor(**params)
        X, y = self.X_train_, self.y_train_
        if self.prior_mean_model_ is not None:
            model.weight_prior_var = float(self.prior_cov_[1, 1]) if self.prior_cov_.shape[0] > 2 else None
            model.fit(X[train], y[train], prior_mean=self.prior_mean_model_)
        else:
            model.fit(X[train], y[train], prior=(self.prior_mean_, self.prior_cov_))
        mean, var = model.predict_latent(X[test], include_noise=True)
        return (model.target_.forward(y[test]) - mean) / np.sqrt(var)

    def predict_latent(self, X: Any, return_var: bool = True, include_noise: bool = False,
                       predictor: str | None = None):
        """Predictive mean ``(m,)`` and variance ``(m,)`` in *model units* (before the target transform is undone).

        This is the Gaussian the model's formulas produce (GPML eq. 2.42 for ``predictor="full"``, Theorem 3 for
        ``"linear"``); acquisition functions and mutual-information sampling work with it.  The variance is
        ``None`` when ``return_var`` is false.
        """
        self.check_is_fitted()
        X = self._validate_X(X, self.encoder_.n_options)
        means, variances = [], []
        # 0/1 features are exact in single precision; every product on them is exact too (see GroupedRBFKernel.cross)
        # or promotes to double
        single = isinstance(self.encoder_, Encoder) and self.encoder_.exact_in_single_precision
        for start in range(0, X.shape[0], PREDICT_CHUNK):  # encoded in blocks: memory stays bounded for any pool
            Z = self.encoder_.transform(X[start : start + PREDICT_CHUNK], np.float32) if single else (
                self.encoder_.transform(X[start : start + PREDICT_CHUNK]))
            mean, var = self.predict_latent_encoded(Z, return_var, include_noise, predictor)
            means.append(mean)
            variances.append(var)
        if not means:
            return np.zeros(0), (np.zeros(0) if return_var else None)
        return np.concatenate(means), (np.concatenate(variances) if return_var else None)

    def predict_latent_encoded(self, Z: np.ndarray, return_var: bool = True, include_noise: bool = False,
                               predictor: str | None = None):
        """:meth:`predict_latent` on already encoded architectures ``Z (m, p')`` (see :meth:`encode`)."""
        self.check_is_fitted()
        predictor = predictor or self.predictor
        Z_train = self.Z_train_
        means, variances = [], []
        for start in range(0, Z.shape[0], PREDICT_CHUNK):
            Zc = Z[start : start + PREDICT_CHUNK]
            prior_var = self.kernel_.diag(Zc)
            if predictor == "linear":
                Phi = self.design(Zc)
                means.append(Phi @ self.weight_mean_)
                if return_var:
                    variances.append(np.sum((Phi @ self.weight_cov_) * Phi, axis=1) + prior_var)
                continue
            if self._isotropic_prior is not None:
                # Sigma_w = diag(b, v, ..., v): phi Sigma_w phi'^T = b + v z.z', which joins the kernel's lookup
                bias_var, weight_var = self._isotropic_prior
                c = self.kernel_.cross(Zc, Z_train, bias_var, weight_var)
                prior_mean = self.prior_mean_[0] + Zc @ self.prior_mean_[1:]
                linear_var = bias_var + weight_var * np.einsum("ij,ij->i", Zc, Zc, dtype=float) if return_var else None
            else:
                Phi = self.design(Zc)
                c = self.kernel_.cross(Zc, Z_train) + Phi @ self._prior_cov_design_T
                prior_mean = Phi @ self.prior_mean_
                linear_var = np.sum((Phi @ self.prior_cov_) * Phi, axis=1) if return_var else None
            # c (m, n): prior covariance of the pool with the training architectures
            means.append(prior_mean + c @ self._alpha_combined)
            if return_var:
                W = c @ self._inverse_factor_T
                variances.append(np.maximum(prior_var + linear_var - np.einsum("ij,ij->i", W, W), 0.0))
        mean = np.concatenate(means) if means else np.zeros(0)
        if not return_var:
            return mean, None
        var = np.concatenate(variances) if variances else np.zeros(0)
        return mean, (var + self.noise_ if include_noise else var)

    def encode(self, X: Any) -> np.ndarray:
        """Validate architectures ``X (m, d)`` and encode them into the features ``Z (m, p')`` the kernel sees."""
        self.check_is_fitted()
        return self.encoder_.transform(self._validate_X(X, self.encoder_.n_options))

    def design(self, Z: np.ndarray) -> np.ndarray:
        """The linear mean's design matrix ``Phi = [1, Z] (m, p)`` of encoded architectures."""
        return np.hstack([np.ones((Z.shape[0], 1)), Z])

    def expected_mse(self, X: Any, predictor: str | None = None, include_noise: bool = True,
                     calibrated: bool = True) -> float:
        """Expected squared error of :meth:`predict`'s mean over architectures ``X``, averaged, raw units^2.

        Theorem 3 gives the model-unit variance of the noise-free performance: for ``predictor="linear"`` the
        diagonal of ``Phi Sigma_hat Phi^T + K(s, s)``, for ``"full"`` the posterior predictive variance, the same
        quantity for the full predictor.  Three corrections make it the error one actually sees:

        * ``include_noise`` (default) adds the noise variance: the error against a new *measurement*, the only
          thing a held-out benchmark value or a new training run can be compared with;
        * each variance is mapped to raw units through the target transform (:meth:`TargetTransform.moments`), with
          the gap between the back-transformed mean and :meth:`predict`'s point;
        * ``calibrated`` (default) takes the variance of the cross-validated Student-t predictive
          (:attr:`calibration_`, its ``variance_factor``) instead of the model's own, for the model's own predictor.

        In raw units each architecture contributes ``Var[y*] + (E[y*] - yhat)^2`` under a Gaussian of that variance
        mapped through the transform, ``yhat`` being :meth:`predict`'s mean.  ``benchmarks/predictor.py`` checks the
        result against the realised error on tuning and held-out tables; the study's Theorem 3 stop uses it.
        """
        mean, var = self.predict_latent(X, predictor=predictor)
        point = self.target_.moments(mean, np.sqrt(var))[0]
        spread = var + self.noise_ if include_noise else var
        if calibrated and predictor in (None, self.predictor):
            spread = spread * self.calibration_.variance_factor
        moment_mean, moment_var = self.target_.moments(mean, np.sqrt(spread))
        return float(np.mean(moment_var + (moment_mean - point) ** 2))

    # ------------------------------------------------------------------ fitted quantities
    @property
    def sigma_(self) -> np.ndarray:
        """Per-type signal standard deviation ``(h,)``, model units."""
        self.check_is_fitted()
        return self.kernel_.sigma.copy()

    @property
    def lengthscale_(self) -> np.ndarray:
        """Per-type lengthscale ``(h,)``, in encoded-feature units."""
        self.check_is_fitted()
        return self.kernel_.lengthscale.copy()

    @property
    def loo_tau_(self) -> float:
        """Kendall tau between the closed-form leave-one-out predictions of the training data and its values: how
        well the model ranks each training architecture from the others (NaN under 3 points)."""
        self.check_is_fitted()
        loo = getattr(self, "loo_latent_mean_", None)
        if loo is None or loo.size < 3:
            return float("nan")
        from scipy.stats import kendalltau  # scipy.stats costs a third of a second to import: only where used

        return float(kendalltau(loo, self.target_.forward(self.y_train_))[0])

    @property
    def noise_share_(self) -> float:
        """The fitted noise variance over the variance of the training targets, both in model units: how much of
        the spread of the measured values the model puts down to measurement noise (about 0.01 at the noise floor;
        near 1, the measured differences between these architectures are mostly noise)."""
        self.check_is_fitted()
        spread = float(np.var(self.target_.forward(self.y_train_)))
        return float(min(1.0, self.noise_ / spread)) if spread > 0 else 1.0

    def prior_covariance(self, X1: Any, X2: Any = None, include_noise: bool = False) -> np.ndarray:
        """Prior covariance of the performances of ``X1 (n, d)`` and ``X2 (m, d)``.

        ``k(s, u) + phi(s)^T Sigma_w phi(u)`` (kernel plus the linear mean's prior uncertainty), plus the noise
        variance on the diagonal when ``include_noise`` and ``X2`` is omitted; model units.  This is the joint
        covariance that mutual-information sampling (Eq. 12) reasons about.
        """
        Z1 = self.encode(X1)
        return self.prior_covariance_encoded(Z1, None if X2 is None else self.encode(X2), include_noise)

    def prior_covariance_encoded(self, Z1: np.ndarray, Z2: np.ndarray | None = None,
                                 include_noise: bool = False) -> np.ndarray:
        """:meth:`prior_covariance` on encoded architectures (see :meth:`encode`)."""
        self.check_is_fitted()
        same = Z2 is None
        Z2 = Z1 if same else Z2
        if self._isotropic_prior is not None:  # the linear prior joins the kernel's table lookup (no design matrix)
            C = self.kernel_.cross(Z1, Z2, *self._isotropic_prior)
        else:
            C = self.kernel_(Z1, Z2) + self.design(Z1) @ self.prior_cov_ @ self.design(Z2).T
        if include_noise and same:
            C[np.diag_indices(C.shape[0])] += self.noise_
        return C

    def prior_variance_encoded(self, Z: np.ndarray, include_noise: bool = False) -> np.ndarray:
        """The diagonal of :meth:`prior_covariance_encoded` ``(m,)``, without forming the matrix."""
        self.check_is_fitted()
        noise = self.noise_ if include_noise else 0.0
        if self._isotropic_prior is not None:
            bias_var, weight_var = self._isotropic_prior
            return self.kernel_.diag(Z) + bias_var + weight_var * np.einsum("ij,ij->i", Z, Z) + noise
        P = self.design(Z)
        return self.kernel_.diag(Z) + np.sum((P @ self.prior_cov_) * P, axis=1) + noise


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(np.all(a == b)) and type(a) is type(b)
    except Exception:
        return a is b
