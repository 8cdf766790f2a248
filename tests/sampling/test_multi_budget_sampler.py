"""Multi-budget search: the budget rule, the study around it (store, resume), and what it finds on a table."""

import numpy as np
import pytest

from gpnas.exceptions import DataError
from gpnas.study.multi_budget import AtBudget, budget_space, multi_budget_study, parse_budget_columns
from gpnas.sampling.multi_budget import MultiBudgetSampler, arch_part
from gpnas.space import make_space
from gpnas.study import load_study


def _space():
    return make_space([(f"p{j}", [0, 1, 2], "op") for j in range(5)], name="toy")


def _quality(x):
    return float(np.dot(x, [0.9, 0.5, -0.7, 0.4, 0.3]) + 0.6 * (x[0] == x[1]))


class ToyObjective:
    """Value at budget b: the quality shrunk toward 0 at short budgets, plus deterministic per-(arch, budget) noise."""

    def __init__(self, space):
        self.space = space
        self.calls = []

    def __call__(self, arch, budget):
        x = self.space.from_dict_arch(arch)
        self.calls.append(budget)
        wobble = np.random.default_rng([int(budget)] + [int(v) for v in x]).normal(0, 0.05 if budget == 100 else 0.3)
        return (1.0 if budget == 100 else 0.7) * _quality(x) + wobble


def test_budget_space_adds_one_sorted_position_and_refuses_bad_budgets():
    spaced = budget_space(_space(), [100, 10])
    assert spaced.names[-1] == "budget" and spaced.choices[-1].values == (10, 100)
    assert arch_part(spaced) == _space()
    with pytest.raises(DataError, match="positive"):
        budget_space(_space(), [0, 3])
    with pytest.raises(DataError, match="already has"):
        budget_space(spaced, [1, 2])
    with pytest.raises(ValueError, match="no budget position"):
        arch_part(_space())


def test_budget_columns_are_parsed_and_malformed_ones_refused():
    assert parse_budget_columns("12:a,200:b") == {12.0: "a", 200.0: "b"}
    for bad in ("12a,200:b", "x:a", "-1:a", "12:"):
        with pytest.raises(DataError, match="BUDGET:COLUMN"):
            parse_budget_columns(bad)
    with pytest.raises(DataError, match="given twice"):
        parse_budget_columns("12:a,12:b")
    with pytest.raises(DataError, match="at least two budgets"):
        parse_budget_columns("12:a")


def test_a_new_architecture_is_trained_short_and_a_seen_one_long():
    space = _space()
    objective = ToyObjective(space)
    study = multi_budget_study(space, [10, 100], n_initial=12, seed=0)
    study.optimize(AtBudget(objective), budget=30)
    assert objective.calls[:12] == [10] * 12 and 100 in objective.calls  # a cheap initial design, then both
    sampler = study.sampler
    X = np.array([t.arch for t in study.trials_in("done")])
    model = sampler.fit(study.space, X, np.array([t.value for t in study.trials_in("done")]))
    assert model.budget_correlation_ > 0.5
    long_done = {tuple(x[:-1]) for x in X if x[-1] == 1}
    seen = next(x[:-1] for x in X if x[-1] == 0 and tuple(x[:-1]) not in long_done)
    unseen = next(x for x in arch_part(study.space).enumerate() if not any((x == X[:, :-1]).all(1)))
    taken = {tuple(x) for x in X}
    assert sampler.choose_budget(model, unseen, taken) == 0
    assert sampler.choose_budget(model, seen, taken) == 1


def test_the_search_finds_the_long_budget_best_mostly_with_short_trainings(tmp_path):
    space = _space()
    best = max(_quality(x) for x in space.enumerate())
    objective = ToyObjective(space)
    storage = f"sqlite:///{tmp_path / 'mb.db'}"
    study = multi_budget_study(space, [10, 100], n_initial=10, seed=1, storage=storage, study_name="mb")
    study.optimize(AtBudget(objective), budget=60)
    summary = study.summary()
    assert summary["best_found"]["budget"] == 100
    assert _quality(space.from_dict_arch(summary["best_found"]["arch"])) == pytest.approx(best)
    short, long = (b["n_done"] for b in summary["budgets"])
    assert short > long > 0 and summary["cost"] == 10 * short + 100 * long
    assert study.best_trial.arch[-1] == 1  # the best trial is a long one
    # the study resumes from the store with the same sampler
    resumed = load_study("mb", storage)
    assert isinstance(resumed.sampler, MultiBudgetSampler) and resumed.sampler.budgets == [10.0, 100.0]
    resumed.optimize(AtBudget(objective), budget=64)
    assert len(resumed.trials_in("done")) == 64


def test_batches_do_not_repeat_a_pair_and_pending_trials_count():
    space = _space()
    study = multi_budget_study(space, [10, 100], n_initial=6, seed=2)
    study.optimize(AtBudget(ToyObjective(space)), budget=6)
    trials = study.ask(4)
    pairs = {tuple(t.arch) for t in trials}
    assert len(pairs) == 4
    assert len({tuple(t.arch[:-1]) for t in trials}) == 4  # no architecture twice: short and long in one batch
    done = {tuple(t.arch) for t in study.trials_in("done")}
    assert not pairs & done


def test_one_batch_never_trains_an_architecture_short_and_long_at_once(monkeypatch):
    """Even when one architecture stays the most attractive after its short training is pencilled in, the batch's
    next pick is another architecture: its long training waits for the short result."""
    space = _space()
    study = multi_budget_study(space, [10, 100], n_initial=6, seed=3)
    study.optimize(AtBudget(ToyObjective(space)), budget=20)
    # an acquisition that ignores the pending points: the same architecture would win every pick
    monkeypatch.setattr(study.sampler, "_ucb", lambda model, X: -np.asarray(X, dtype=float).sum(axis=1))
    trials = study.ask(3)
    archs = [tuple(t.arch[:-1]) for t in trials]
    assert archs[0] == (0, 0, 0, 0, 0)  # the stubbed acquisition's favourite goes first
    assert len(set(archs)) == 3
