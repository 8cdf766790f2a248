"""What a multi-budget study predicts: the model read at the target budget, and the study's summary.

Kept apart from :mod:`gpnas.study.multi_budget` (which makes such studies) so that :class:`~gpnas.study.Study` can
read a multi-budget model without importing the module that imports it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gpnas.gp.multi_budget import MultiBudgetGP
from gpnas.sampling.multi_budget import PREDICT_CHUNK, MultiBudgetSampler, arch_part
from gpnas.space import SearchSpace


class TargetBudgetPredictor:
    """A multi-budget study's predictor of an architecture's value *at the target budget*, with the prediction
    interface of :class:`~gpnas.gp.regressor.GPNASRegressor` (``predict``, ``predict_interval``, in the study's own
    units and direction), so that what reads a study's model (``gpnas select``, ``gpnas report``,
    :meth:`~gpnas.study.Study.best_predicted`, :meth:`~gpnas.study.Study.recommend`) reads this one the same way.

    Its inputs are rows of the *architecture* space (without the budget position).  ``model`` was fitted on the
    study's values times ``sign`` (larger is better), as :class:`~gpnas.sampling.multi_budget.MultiBudgetSampler`
    fits it.  The intervals are the Gaussian ones of the latent model mapped back through the target transform
    (exact quantiles); unlike the single-budget regressor's they are not widened by a jackknife of the residuals.
    """

    def __init__(self, model: MultiBudgetGP, sign: float, space: SearchSpace) -> None:
        self.model = model
        self.sign = float(sign)
        self.space = space
        self.budget = float(model.budgets[-1])

    def _latent(self, X, include_noise: bool) -> tuple[np.ndarray, np.ndarray]:
        X = np.atleast_2d(self.space.validate(X))
        parts = [self.model.predict_latent(X[i:i + PREDICT_CHUNK], self.budget) for i in range(0, len(X), PREDICT_CHUNK)]
        mean, var = (np.concatenate(p) for p in zip(*parts)) if parts else (np.empty(0), np.empty(0))
        if include_noise:
            var = var + self.model.noise_at(self.model.coordinate([self.budget]))
        return mean, np.sqrt(var)

    def predict(self, X, return_std: bool = False, include_noise: bool = False):
        """Predicted value at the target budget ``(m,)`` and, if asked, its standard deviation: the mean and
        standard deviation of the predictive distribution in measured units (of a new measurement with
        ``include_noise``)."""
        mean, std = self._latent(X, include_noise)
        out_mean, out_var = self.model.transform_.moments(mean, std)
        out_mean = self.sign * np.asarray(out_mean)
        return (out_mean, np.sqrt(out_var)) if return_std else out_mean

    def predict_interval(self, X, coverage: float = 0.95, include_noise: bool = True):
        """Central ``coverage`` interval ``(lower, upper)`` of the value at the target budget (of a new measurement
        by default)."""
        if not 0.0 < coverage < 1.0:
            raise ValueError(f"coverage must be in (0, 1), got {coverage!r}")
        mean, std = self._latent(X, include_noise)
        ends = [self.sign * self.model.transform_.quantiles(mean, std, q) for q in ((1 - coverage) / 2,
                                                                                     (1 + coverage) / 2)]
        return np.minimum(*ends), np.maximum(*ends)

    @property
    def group_names_(self) -> list[str]:
        return list(self.model.encoder.group_names)


def fit_target_predictor(study) -> TargetBudgetPredictor | None:
    """Fit a multi-budget study's model on its finished trials (``None`` under 3 of them)."""
    done = study.trials_in("done")
    if len(done) < 3:
        return None
    X = np.array([t.arch for t in done], dtype=int)
    model = study.sampler.fit(study.space, X, study.sign * np.array([t.value for t in done], dtype=float))
    return TargetBudgetPredictor(model, study.sign, arch_part(study.space))


def multi_budget_summary(study) -> dict[str, Any]:
    """The summary of a multi-budget study: the best measured and the best predicted at the target budget, the
    evaluations and cost per budget, and how much the short trainings say about the long ones."""
    sampler: MultiBudgetSampler = study.sampler
    space = arch_part(study.space)
    target = sampler.target_index
    done = study.trials_in("done")
    finished = done + study.trials_in("failed")
    best = study.best_trial  # the best at the target budget
    per_budget = [{"budget": b, "cost": c, "n_done": sum(1 for t in done if t.arch[-1] == j)}
                  for j, (b, c) in enumerate(zip(sampler.budgets, sampler.costs))]
    summary = {
        "space": space.name, "strategy": sampler.name, "direction": study.direction,
        "n_done": len(done), "n_failed": len(study.trials_in("failed")), "stop_reason": study.stop_reason,
        "target_budget": sampler.budgets[target], "budgets": per_budget,
        "cost": float(sum(sampler.costs[t.arch[-1]] for t in finished)),
        "best_found": None if best is None else {"number": best.number, "arch": space.to_dict_arch(best.arch[:-1]),
                                                 "value": best.value, "budget": sampler.budgets[target]},
        "best_predicted": None, "budget_correlation": None, "measured_correlation": None, "recommended": None,
        "expected_mse": None,
    }
    predictor = study.refit()
    summary["recommended"] = study.recommend()  # the best measured at the target budget
    if predictor is not None:
        best_predicted = study.best_predicted(1)[0]
        summary["best_predicted"] = {**best_predicted, "budget": sampler.budgets[target]}
        summary["budget_correlation"] = predictor.model.budget_correlation_
        summary["measured_correlation"] = predictor.model.measured_correlation_
    return summary
