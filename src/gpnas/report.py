"""An HTML report of a study, with PNG figures (needs matplotlib, the ``report`` extra).

Figures:

1. predicted against measured, with 2-sigma error bars: each trial is predicted by the model of the round that
   proposed it, i.e. before its own result was known (the paper's Fig. 1, held out honestly);
2. best value so far against trials;
3. Theorem 3's expected MSE after each round;
4. the learned signal scale sigma and lengthscale of each operation type, per round;
5. the Pareto front of predicted performance against a cost (FLOPs, params, latency), when costs are given.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Mapping

import numpy as np

from gpnas.sampling.multi_budget import MultiBudgetSampler
from gpnas.study.select import pareto_front
from gpnas.sampling.scalarization import pareto_front as pareto_front_of
from gpnas.space import compact_arch
from gpnas.study import Study


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"figure.dpi": 110, "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
                         "axes.spines.right": False, "font.size": 10})
    return plt


def held_out_predictions(study: Study) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(measured, mean, interval (k, 2), trial numbers)`` for done trials proposed by a fitted model, each predicted
    (mean, and the 95 % interval of a measurement) by that
    model (the one saved in the round the trial was asked in)."""
    measured, means, intervals, numbers = [], [], [], []
    models: dict[int, object] = {}
    for trial in study.trials_in("done"):
        if trial.round < 1:
            continue  # proposed before any model existed
        if trial.round not in models:
            models[trial.round] = study.model_at(trial.round)
        model = models[trial.round]
        if model is None:
            continue
        mean = model.predict(trial.arch[None], include_noise=True)
        lower, upper = model.predict_interval(trial.arch[None])
        measured.append(trial.value)
        means.append(mean[0])
        intervals.append((lower[0], upper[0]))
        numbers.append(trial.number)
    return np.array(measured), np.array(means), np.array(intervals).reshape(-1, 2), np.array(numbers)


def _front_figures(plt, study: Study, out: Path) -> list[tuple[str, str, str]]:
    """A multi-objective study's figures: the measured trials of the first two objectives with their Pareto front
    and the predicted front (a GP per objective over the candidate pool), and the hypervolume after each trial."""
    from matplotlib.ticker import MaxNLocator

    from gpnas.sampling.scalarization import hypervolume_2d

    names = (study.user_attrs.get("objective") or {}).get("objectives") or [
        f"objective {j + 1} ({d})" for j, d in enumerate(study.directions)]
    names = [n.split(":")[0] for n in names]
    done = sorted(study.trials_in("done"), key=lambda t: t.number)
    values = study.objective_values(done)
    front = pareto_front_of(values, study.signs)
    figures = []
    fig, ax = plt.subplots(figsize=(6, 4.4))
    ax.scatter(values[:, 0], values[:, 1], s=14, c="0.6", label="measured")
    ordered = front[np.argsort(values[front, 0])]
    # the staircase bounds what the front dominates: along a maximised first objective each step takes the next
    # point's second value (a point further right attains it), along a minimised one the previous point's
    steps = "steps-pre" if study.directions[0] == "maximize" else "steps-post"
    ax.plot(values[ordered, 0], values[ordered, 1], "ro-", ms=5, lw=1.2, drawstyle=steps,
            label="measured Pareto front")
    _, predicted = study.predicted_front()
    if predicted.shape[0]:
        ax.plot(predicted[:, 0], predicted[:, 1], "b--", lw=1, drawstyle=steps, label="predicted front")
    ax.set(xlabel=names[0], ylabel=names[1], title=f"{names[0]} against {names[1]}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    figures.append(("front.png", "Pareto front", "Every measured trial of the first two objectives, the measured "
                    "Pareto front, and the front the model predicts over the candidate pool (a GP per objective)."))
    fig.savefig(out / figures[-1][0])
    plt.close(fig)
    if values.shape[1] == 2:
        signs = study.signs
        # reference: the worst value measured on each objective (hypervolume relative to what was seen)
        reference = np.where(signs > 0, values.min(axis=0), values.max(axis=0))
        volume = [hypervolume_2d(values[: i + 1], signs, reference) for i in range(len(values))]
        fig, ax = plt.subplots(figsize=(6, 3.6))
        ax.plot(np.arange(1, len(volume) + 1), volume, "-", lw=2)
        ax.set(xlabel="finished trials", ylabel="hypervolume", title="Hypervolume of the measured front")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        fig.tight_layout()
        figures.append(("hypervolume.png", "Hypervolume so far", "The area the measured front dominates, up to the "
                        "worst value measured on each objective, after each finished trial."))
        fig.savefig(out / figures[-1][0])
        plt.close(fig)
    return figures


def write_report(study: Study, out_dir: str | Path, costs: Mapping[tuple, float] | None = None,
                 cost_name: str = "FLOPs") -> Path:
    """Write ``index.html`` and its PNG figures into ``out_dir``; returns the HTML path.  Without ``costs``, a study
    that trained the paper's networks gets its Pareto figure against their MACs."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    if costs is None:
        costs, cost_name = study_costs(study)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sign = study.sign
    figures: list[tuple[str, str, str]] = []
    done = study.trials_in("done")

    multi_budget = isinstance(study.sampler, MultiBudgetSampler)
    if multi_budget:
        study.refit()  # its model is refitted, not stored
        figures += _budget_figures(plt, study, out)
    # a multi-budget study keeps no per-round models to predict its trials before they ran
    measured, mean, interval, _ = held_out_predictions(study) if not multi_budget else (np.empty(0),) * 4
    if measured.size >= 2:
        fig, ax = plt.subplots(figsize=(5, 4.6))
        error = np.vstack([mean - interval[:, 0], interval[:, 1] - mean])
        ax.errorbar(measured, mean, yerr=error, fmt="o", ms=4, alpha=0.7, elinewidth=0.8, capsize=0)
        lo, hi = min(measured.min(), mean.min()), max(measured.max(), mean.max())
        ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="ideal")
        r = np.corrcoef(measured, mean)[0, 1]
        coverage = np.mean((measured >= interval[:, 0]) & (measured <= interval[:, 1]))
        ax.set(xlabel="measured", ylabel="predicted before measuring (95 % interval)")
        ax.set_title(f"Predicted vs measured\nr = {r:.2f}; {coverage:.0%} inside the 95 % intervals", fontsize=10)
        ax.legend(loc="upper left")
        figures.append(("predicted_vs_measured.png", "Predicted against measured",
                        "Each trial predicted by the model that proposed it, before its result was known."))
        fig.tight_layout()
        fig.savefig(out / figures[-1][0])
        plt.close(fig)

    if study.is_multi_objective and len(done) >= 2:
        figures += _front_figures(plt, study, out)
    elif done and not multi_budget:  # (a multi-budget study's best so far is drawn against cost, above)
        values = np.array([t.value for t in sorted(done, key=lambda t: t.number)])
        best = sign * np.maximum.accumulate(sign * values)
        fig, ax = plt.subplots(figsize=(6, 3.6))
        ax.plot(np.arange(1, values.size + 1), values, ".", alpha=0.4, label="trial")
        ax.plot(np.arange(1, values.size + 1), best, "-", lw=2, label="best so far")
        ax.set(xlabel="finished trials", ylabel="value", title="Best so far")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend()
        fig.tight_layout()
        figures.append(("best_so_far.png", "Best so far", "Every finished trial, and the best value up to it."))
        fig.savefig(out / figures[-1][0])
        plt.close(fig)

    if study.rounds:
        n = [r.n_done for r in study.rounds]
        fig, ax = plt.subplots(figsize=(6, 3.6))
        mse = [max(r.expected_mse, 1e-12) for r in study.rounds]
        ax.plot(n, mse, "o-", label="Theorem 3 plus noise")
        validated = [(r.n_done, max(r.expected_mse_validated, 1e-12)) for r in study.rounds
                     if r.expected_mse_validated is not None]
        if validated:  # where the Theorem 3 stop was on: the cross-validated value it compared
            ax.plot(*zip(*validated), "s--", label="cross-validated (the stop's)")
            mse += [v for _, v in validated]
        if max(mse) / min(mse) > 10:  # a log axis only where it spans a decade (else it shows one label)
            ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if study.mse_threshold:
            ax.axhline(study.mse_threshold, color="k", ls="--", lw=1, label="stop threshold")
        if study.mse_threshold or validated:
            ax.legend()
        ax.set(xlabel="finished trials at refit", ylabel="expected MSE (Theorem 3)", title="Expected error of the predictor")
        fig.tight_layout()
        figures.append(("expected_mse.png", "Expected MSE per round",
                        "Theorem 3's expected squared error of a new measurement over the pool, noise included."))
        fig.savefig(out / figures[-1][0])
        plt.close(fig)

        groups = study.model_.group_names_ if study.model_ is not None else [
            f"type {i}" for i in range(len(study.rounds[0].sigma))]
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
        for i, g in enumerate(groups):
            axes[0].semilogy(n, [r.sigma[i] for r in study.rounds], "o-", label=g)
            axes[1].semilogy(n, [r.lengthscale[i] for r in study.rounds], "o-", label=g)
        axes[0].set(xlabel="finished trials", ylabel="sigma (model units)", title="Signal scale per operation type")
        axes[1].set(xlabel="finished trials", ylabel="lengthscale", title="Lengthscale per operation type")
        axes[0].legend(fontsize=8)
        for axis in axes:
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        fig.tight_layout()
        figures.append(("hyperparameters.png", "Kernel hyperparameters",
                        "Large sigma / short lengthscale: performance is sensitive to that operation type."))
        fig.savefig(out / figures[-1][0])
        plt.close(fig)

    if costs and study.model_ is not None:
        keys = [k for k in costs if np.isfinite(costs[k])]
        X = np.array(keys, dtype=int)
        cost = np.array([costs[k] for k in keys], dtype=float)
        pred = study.model_.predict(X)
        front = pareto_front(cost, sign * pred)
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.scatter(cost, pred, s=4, alpha=0.25, label="predicted")
        ax.plot(cost[front], pred[front], "r.-", lw=1.5, label="Pareto front")
        measured_keys = {tuple(t.arch): t.value for t in done}
        if multi_budget:  # measured at the target budget, the one predicted
            measured_keys = {tuple(t.arch[:-1]): t.value for t in done if t.arch[-1] == study.sampler.target_index}
        mc = [(costs[k], v) for k, v in measured_keys.items() if k in costs]
        if mc:
            ax.scatter(*zip(*mc), s=14, c="k", marker="x", label="measured")
        ax.set(xlabel=cost_name, ylabel="predicted performance", title=f"Predicted performance against {cost_name}")
        ax.legend(fontsize=8)
        fig.tight_layout()
        figures.append(("pareto.png", f"Pareto front against {cost_name}",
                        "The best predicted architecture at each cost; crosses are measured trials."))
        fig.savefig(out / figures[-1][0])
        plt.close(fig)

    summary = study.summary()
    values = [t.value for t in done]
    d = display_decimals(values)

    def shown(t) -> str:
        if t.values is not None:
            return " / ".join(f"{v:.{display_decimals([v])}f}" for v in t.values)
        return "" if t.value is None else f"{t.value:.{d}f}"

    rows = "".join(
        f"<tr><td>{t.number}</td><td><code>{html.escape(compact_arch(t.params))}</code></td><td>{t.state}</td>"
        f"<td>{shown(t)}</td><td>{html.escape(t.error or '')}</td></tr>"
        for t in study.trials)
    best = summary["best_found"]
    pred = summary["best_predicted"]
    ways = (f"directions {', '.join(study.directions)}" if study.is_multi_objective
            else f"direction {summary['direction']}")
    facts = [f"strategy <b>{html.escape(str(summary['strategy']))}</b>, {ways}",
             f"{summary['n_done']} done, {summary['n_failed']} failed"
             + (f"; stopped: {html.escape(summary['stop_reason'])}" if summary["stop_reason"] else "")]
    if study.is_multi_objective:
        facts.append(f"Pareto front of the measured trials: {len(summary['pareto_front'])} of {summary['n_done']} "
                     "(trials " + ", ".join(str(p["number"]) for p in summary["pareto_front"]) + "); the model "
                     "figures are of the first objective")
    if best:
        facts.append(f"best found: <code>{html.escape(compact_arch(best['arch']))}</code> = {best['value']:.{d}f}")
    if pred:
        facts.append(f"best predicted: <code>{html.escape(compact_arch(pred['arch']))}</code> = "
                     f"{pred['mean']:.{d}f} (95 % interval for a measurement {pred['lower']:.{d}f} to "
                     f"{pred['upper']:.{d}f})")
    if summary["expected_mse"] is not None:
        facts.append(f"expected error of a new measurement against the model's mean over the space (Theorem 3 plus "
                     f"noise, cross-validated): root mean square "
                     f"{np.sqrt(summary['expected_mse']):.{d}f}, against a spread (sd) of {np.std(values):.{d}f} "
                     "among the measured values")
    if summary.get("noise_share") is not None:
        share = summary["noise_share"]
        facts.append(f"measurement noise explains {share:.0%} of the spread of the measured values"
                     + (": their ranking is mostly noise" if share > 0.5 else ""))
    correlation = None if multi_budget else held_out_correlation(study)
    if correlation is not None:
        r_value, tau, n_held, p_value = correlation
        facts.append(f"predicted before measuring against measured: Kendall tau {tau:.2f} over {n_held} trials "
                     f"(p = {p_value:.2g}" + ("" if p_value < 0.05 else ": indistinguishable from chance") + ")")
    if not any(name in ("pareto.png", "front.png") for name, _, _ in figures):
        facts.append("no Pareto figure: this study knows no cost of its architectures (a table replay, or a custom "
                     "objective); give one with <code>gpnas report NAME --costs FILE.csv --cost-column COLUMN</code>")
    if multi_budget:
        counts = ", ".join(f"{b['n_done']} at budget {b['budget']:g}" for b in summary["budgets"])
        facts.insert(2, f"evaluations: {counts}; cost {summary['cost']:g}; best found and best predicted are at "
                        f"the target budget {summary['target_budget']:g}")
        if summary["measured_correlation"] is not None:
            facts.append(f"model: a measurement at budget {summary['budgets'][0]['budget']:g} correlates at "
                         f"{summary['measured_correlation']:.2f} with the value at {summary['target_budget']:g} "
                         f"(fitted budget correlation {summary['budget_correlation']:.2f})")
    sections = "".join(
        f'<section><h2>{html.escape(title)}</h2><p>{html.escape(caption)}</p><img src="{name}" alt="{html.escape(title)}"></section>'
        for name, title, caption in figures)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gpnas report: {html.escape(study.study_name)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1000px; margin: 2em auto; color: #222; }}
img {{ max-width: 100%; border: 1px solid #ddd; }} section {{ margin: 2em 0; }}
table {{ border-collapse: collapse; font-size: 0.85em; }} td, th {{ border: 1px solid #ddd; padding: 2px 6px; }}
code {{ font-size: 0.9em; overflow-wrap: anywhere; }} li {{ margin: 0.3em 0; }}
</style></head><body>
<h1>Study {html.escape(study.study_name)} <small>({html.escape(study.space.name)}, {study.arch_space.size} architectures)</small></h1>
<ul>{''.join(f'<li>{f}</li>' for f in facts)}</ul>
{sections}
<details><summary>All {len(study.trials)} trials</summary>
<table><tr><th>#</th><th>architecture</th><th>state</th><th>value</th><th>error</th></tr>{rows}</table></details>
</body></html>
"""
    path = out / "index.html"
    path.write_text(page)
    return path


def _budget_figures(plt, study: Study, out: Path) -> list[tuple[str, str, str]]:
    """A multi-budget study's own figures: every evaluation and the best at the target budget against the cost
    spent, and, for the architectures evaluated at both, the cheapest budget's value against the target's."""
    from scipy.stats import kendalltau

    sampler, sign = study.sampler, study.sign
    finished = sorted(study.trials_in("done", "failed"), key=lambda t: t.number)
    if not finished:
        return []
    figures = []
    spent = np.cumsum([sampler.costs[t.arch[-1]] for t in finished])
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for j, budget in enumerate(sampler.budgets):
        at = [(c, t.value) for c, t in zip(spent, finished) if t.state == "done" and t.arch[-1] == j]
        if at:
            ax.plot(*zip(*at), ".", alpha=0.6, label=f"measured at {budget:g}")
    best, line = None, []
    for c, t in zip(spent, finished):
        if t.state == "done" and t.arch[-1] == sampler.target_index and (best is None or sign * t.value > sign * best):
            best = t.value
        if best is not None:
            line.append((c, best))
    if line:
        ax.step(*zip(*line), where="post", lw=2, color="k", label=f"best at {sampler.budgets[-1]:g}")
    ax.set(xlabel="cost spent (budget units)", ylabel="value", title="Evaluations and the best at the target budget")
    ax.legend(fontsize=8)
    fig.tight_layout()
    figures.append(("budgets_cost.png", "Evaluations against cost",
                    "Each evaluation at the cost spent when it finished, coloured by budget; the line is the best "
                    "measured at the target budget so far."))
    fig.savefig(out / figures[-1][0])
    plt.close(fig)

    cheapest, target = int(np.argmin(sampler.costs)), sampler.target_index
    by_budget: dict[int, dict[tuple, float]] = {cheapest: {}, target: {}}
    for t in study.trials_in("done"):
        if t.arch[-1] in by_budget:
            by_budget[t.arch[-1]][tuple(t.arch[:-1])] = t.value
    both = sorted(set(by_budget[cheapest]) & set(by_budget[target]))
    if len(both) >= 3:
        short = np.array([by_budget[cheapest][k] for k in both])
        long = np.array([by_budget[target][k] for k in both])
        tau, p_value = kendalltau(short, long)
        fig, ax = plt.subplots(figsize=(4.8, 4.4))
        ax.plot(short, long, "o", ms=4, alpha=0.7)
        ax.set(xlabel=f"value at budget {sampler.budgets[cheapest]:g}",
               ylabel=f"value at budget {sampler.budgets[target]:g}",
               title=f"Short against long\nKendall tau {tau:.2f} (p = {p_value:.2g}) over {len(both)} architectures")
        fig.tight_layout()
        figures.append(("short_vs_long.png", "Short trainings against long ones",
                        "The architectures evaluated at both the cheapest and the target budget: how well the cheap "
                        "result ranks the long one (those trained long were chosen for promise, so this sample "
                        "is not a random one)."))
        fig.savefig(out / figures[-1][0])
        plt.close(fig)
    return figures


def display_decimals(values) -> int:
    """Decimals to quote values at the resolution their data has: the fewest (up to 4) at which every value is
    exact (accuracies to 0.1 give 1), else enough for a hundredth of their spread."""
    import math

    values = np.asarray([v for v in values if v is not None], dtype=float)
    if values.size == 0:
        return 4
    for d in range(5):
        if np.all(np.abs(values * 10**d - np.round(values * 10**d)) < 1e-6 * max(1.0, np.abs(values).max())):
            return d
    spread = float(np.std(values)) or float(np.abs(values).max()) or 1.0
    return int(min(4, max(0, 2 - math.floor(math.log10(spread)))))


def study_costs(study: Study, pool_size: int = 2000) -> tuple[dict[tuple, float] | None, str]:
    """MACs of a pool of the study's space and of its evaluated architectures, when the study trained the paper's
    networks (its stored objective can count them); ``(None, "")`` otherwise."""
    from gpnas.nets.defaults import objective_from_settings
    from gpnas.sampling.pool import candidate_pool

    space = study.arch_space
    objective = objective_from_settings(space, study.user_attrs.get("objective"))
    if objective is None or not hasattr(objective, "costs"):
        return None, ""
    X = candidate_pool(space, None, pool_size, np.random.default_rng(study.seed))
    done = [t.arch[: space.n_positions] for t in study.trials_in("done")]
    X = np.unique(np.vstack([X] + ([np.array(done)] if done else [])), axis=0)
    return {tuple(int(v) for v in x): float(objective.costs(space.to_dict_arch(x))["macs"]) for x in X}, "MACs"


def held_out_correlation(study: Study) -> tuple[float, float, int, float] | None:
    """Pearson r and Kendall tau between measured values and the predictions made before them, their count, and
    the two-sided p-value of tau (exact for small counts; the chance of a tau at least this far from 0 if the
    predictions were unrelated to the measurements).  ``None`` under 3 such trials or when every measured value is
    the same."""
    from scipy.stats import kendalltau

    measured, mean, _, _ = held_out_predictions(study)
    if measured.size < 3 or np.ptp(measured) == 0:
        return None
    tau = kendalltau(measured, mean)
    return float(np.corrcoef(measured, mean)[0, 1]), float(tau[0]), int(measured.size), float(tau[1])
