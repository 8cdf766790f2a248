"""Hyperparameter draws: a fitted model's hyperparameters marginalised by slice sampling instead of fixed.

With a few dozen points the evidence (or the posterior under the hyperprior) is broad, and one maximiser hides how
unsure the model is of its own lengthscales and signal strengths.  Snoek, Larochelle and Adams (NeurIPS 2012)
integrate the acquisition over slice-sampled hyperparameters; BoTorch's fully Bayesian models average it over NUTS
draws.  :func:`hyperparameter_draws` starts a slice-sampling chain (:func:`~gpnas.gp.slice_sampling.slice_sample`)
at the fit's estimate, on the very function the fit maximised (:meth:`GPNASRegressor.hyperparameter_posterior`),
and returns one model per draw, conditioned on the same data with those hyperparameters.
"""

from __future__ import annotations

import numpy as np

from gpnas.gp.regressor import GPNASRegressor
from gpnas.gp.slice_sampling import slice_sample

__all__ = ["hyperparameter_draws"]

#: Sweeps discarded before the first draw.  The chain starts at the posterior's mode, inside its bulk, so a few
#: sweeps suffice to leave it.
DEFAULT_BURN = 5
#: Initial slice width in log units (a factor of e): about the width of a hyperparameter's posterior at small n.
SLICE_WIDTH = 1.0


def hyperparameter_draws(model: GPNASRegressor, n_draws: int, random_state=None, burn: int = DEFAULT_BURN,
                         thin: int = 1) -> list[GPNASRegressor]:
    """``n_draws`` models like the fitted ``model``, each with its hyperparameters (every group's signal std and
    lengthscale, the noise, the weights' prior variance) drawn from their posterior given the model's data, the
    chain started at the model's estimate.  ``[model]`` where the model's fit was not an evidence estimate that can
    be sampled (:meth:`GPNASRegressor.hyperparameter_posterior` returns ``None``) or ``n_draws`` is 0."""
    if int(n_draws) < 0:
        raise ValueError(f"n_draws must be >= 0, got {n_draws!r}")
    posterior = model.hyperparameter_posterior()
    if posterior is None or int(n_draws) == 0:
        return [model]
    log_density, estimate, bounds = posterior
    draws = slice_sample(log_density, estimate, int(n_draws), random_state, bounds, SLICE_WIDTH, burn, thin)
    h = model.kernel_.n_groups
    base = {**model.get_params(), "optimize": False, "encoding": model.encoding_, "max_fit_samples": None}
    models = []
    for params in draws:
        fixed = {**base, "sigma": np.exp(params[:h]), "lengthscale": np.exp(params[h: 2 * h]),
                 "noise": float(np.exp(params[2 * h])), "weight_prior_var": float(np.exp(params[2 * h + 1]))}
        models.append(GPNASRegressor(**fixed).fit(model.X_train_, model.y_train_))
    return models
