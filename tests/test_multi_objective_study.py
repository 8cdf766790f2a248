"""Multi-objective studies (``create_study(directions=[...])``): values stored per objective in every store, the
Pareto front checked against a brute-force one, resume, failures, and ParEGO and EHVI proposals that beat random
search."""

import json
import math

import numpy as np
import pytest

from gpnas.run.executors import evaluate
from gpnas.sampling.scalarization import hypervolume_2d
from gpnas.study import create_study, load_study

WAYS = ["maximize", "minimize"]


def two_objectives(space):
    """Accuracy grows with the kernels and the SE; cost grows faster with them: a real trade-off."""
    def objective(arch):
        x = space.from_dict_arch(arch)
        accuracy = 70.0 + 2.0 * x[0] + 1.5 * x[1] + x[2] + 0.5 * x[3] + 1.2 * x[4] - 0.4 * x[0] * x[1]
        cost = 1.0 + x[0] ** 2 + x[1] ** 2 + 0.8 * x[2] + 0.6 * x[3] + 0.5 * x[4]
        return accuracy, cost
    return objective


def brute_force_front(values, signs):
    """Rows no other row is at least as good as on every objective and better on one (a double loop)."""
    oriented = [[s * v for s, v in zip(signs, row)] for row in values]
    keep = []
    for i, a in enumerate(oriented):
        if not any(all(b_j >= a_j for a_j, b_j in zip(a, b)) and any(b_j > a_j for a_j, b_j in zip(a, b))
                   for k, b in enumerate(oriented) if k != i):
            keep.append(i)
    return keep


def test_values_front_and_resume_in_every_store(storage_url, small_space):
    study = create_study(small_space, directions=WAYS, storage=storage_url, study_name="mo", seed=0, n_initial=6)
    study.optimize(two_objectives(small_space), budget=24)
    done = study.trials_in("done")
    assert len(done) == 24 and len({tuple(t.arch) for t in done}) == 24
    objective = two_objectives(small_space)
    for t in done:  # every objective's value is stored; `value` is the first
        assert t.values == list(objective(t.params)) and t.value == t.values[0]
    expected = brute_force_front([t.values for t in done], [1, -1])
    assert [t.number for t in study.best_trials] == [done[i].number for i in expected]
    with pytest.raises(RuntimeError, match="best_trials is the Pareto front"):
        study.best_trial
    again = load_study("mo", storage_url)  # resumed: the directions and every value come back
    assert again.directions == WAYS and [t.record() for t in again.trials] == [t.record() for t in study.trials]
    assert [t.number for t in again.best_trials] == [t.number for t in study.best_trials]
    summary = again.summary()
    assert summary["best_found"] is None and summary["recommended"] is None
    assert [p["number"] for p in summary["pareto_front"]] == [t.number for t in study.best_trials]
    again.optimize(two_objectives(small_space), budget=30)
    assert len(again.trials_in("done")) == 30


def test_a_wrong_count_or_a_non_finite_value_fails_the_trial(small_space):
    study = create_study(small_space, directions=WAYS, seed=0)
    trials = study.ask(3)
    assert study.tell(trials[0], 1.0).error == "objective returned 1.0, not 2 values, one per objective"
    assert study.tell(trials[1], (1.0, math.nan)).state == "failed"
    told = study.tell(trials[2], np.array([2.0, 3.0]))
    assert told.state == "done" and told.values == [2.0, 3.0]
    assert evaluate(lambda a: (1, 2.5), {}).value == (1.0, 2.5)
    assert "objective returned" in evaluate(lambda a: [1.0, float("inf")], {}).error
    assert evaluate(lambda a: ("a", 1), {}).error.endswith("not a number")
    df = study.trials_dataframe()
    assert {"values_0", "values_1"} <= set(df.columns) and "value" not in df.columns


def test_settings_a_multi_objective_study_cannot_take_are_refused(small_space):
    with pytest.raises(ValueError, match="stops on its budget"):
        create_study(small_space, directions=WAYS, mse_threshold=0.1)
    with pytest.raises(ValueError, match="'maximize' or 'minimize'"):
        create_study(small_space, directions=["maximize", "up"])
    with pytest.raises(ValueError, match="not both"):
        create_study(small_space, direction="minimize", directions=["maximize", "minimize"])
    single = create_study(small_space, directions=["minimize"])
    assert not single.is_multi_objective and single.direction == "minimize"


@pytest.mark.parametrize("mode", ["parego", "ehvi"])
def test_model_proposals_find_more_of_the_front_than_random_search(small_space, mode):
    objective = two_objectives(small_space)
    every = [objective(small_space.to_dict_arch(x)) for x in small_space.enumerate()]
    reference = np.array([min(v[0] for v in every), max(v[1] for v in every)])
    signs = np.array([1.0, -1.0])
    whole = hypervolume_2d(np.array(every), signs, reference)

    def share(sampler, seed):
        study = create_study(small_space, directions=WAYS, sampler=sampler, seed=seed, n_initial=5,
                             multi_objective=mode)
        study.optimize(objective, budget=20)
        return hypervolume_2d(study.objective_values(), signs, reference) / whole

    gpnas = [share("auto", seed) for seed in range(3)]
    random = [share("random", seed) for seed in range(3)]
    # 20 of 72 architectures: the model's worst seed covers more of the true front's hypervolume than random
    # search's best
    assert min(gpnas) > max(random)


def test_ehvi_batches_are_distinct_resume_with_the_mode_and_an_unknown_mode_is_refused(tmp_path, small_space):
    url = f"sqlite:///{tmp_path / 'mo.db'}"
    study = create_study(small_space, directions=WAYS, seed=0, n_initial=5, multi_objective="ehvi", storage=url,
                         study_name="ehvi")
    study.optimize(two_objectives(small_space), budget=5)
    batch = study.ask(4)  # one proposal of four: each counts the ones before it at their predicted means
    assert len({tuple(t.arch) for t in batch}) == 4
    assert not {tuple(t.arch) for t in batch} & {tuple(t.arch) for t in study.trials_in("done")}
    for trial in batch:
        study.tell(trial, two_objectives(small_space)(trial.params))
    again = load_study("ehvi", url)
    assert again.multi_objective == "ehvi"
    # a study stored before the setting existed (its settings lack it) resumes with ParEGO, as it was made
    import sqlite3

    with sqlite3.connect(tmp_path / "mo.db") as conn:
        (settings,) = conn.execute("SELECT settings FROM studies WHERE name = 'ehvi'").fetchone()
        stored = json.loads(settings)
        del stored["multi_objective"]
        conn.execute("UPDATE studies SET settings = ? WHERE name = 'ehvi'", (json.dumps(stored),))
    assert load_study("ehvi", url).multi_objective == "parego"
    with pytest.raises(ValueError, match="multi_objective must be one of"):
        create_study(small_space, directions=WAYS, multi_objective="nsga")


class _Child:
    """A stand-in training objective: a score from training, costs from counting."""

    def __init__(self):
        self.trained = 0

    def __call__(self, arch):
        self.trained += 1
        return 90.0 + arch["k"]

    def costs(self, arch):
        return {"macs": 1000 * arch["k"], "params": 10 * arch["k"]}


def test_trained_and_counted_returns_each_named_objective_in_order():
    import pickle

    from gpnas.nets.objectives import TrainedAndCounted

    child = _Child()
    assert TrainedAndCounted(child, ("accuracy", "macs", "params"))({"k": 3}) == (93.0, 3000.0, 30.0)
    assert TrainedAndCounted(child, ("params", "accuracy"))({"k": 5}) == (50.0, 95.0)
    assert child.trained == 2
    assert TrainedAndCounted(child, ("macs",))({"k": 2}) == (2000.0,) and child.trained == 2  # counted, not trained
    with pytest.raises(ValueError, match="latency"):
        TrainedAndCounted(child, ("accuracy", "latency"))
    assert pickle.loads(pickle.dumps(TrainedAndCounted(child, ("accuracy",)))).names == ("accuracy",)


def test_trained_and_counted_sums_a_device_s_latency_table_over_the_choices():
    import pickle

    from gpnas.nets.objectives import TrainedAndCounted
    from gpnas.space import make_space

    space = make_space([("k", [1, 2, 3, 4, 5], "op"), ("e", ["a", "b"], "op")])
    table = {(0, i): 0.5 * i for i in range(5)} | {(1, 0): 0.0, (1, 1): 4.0}
    child = _Child()
    both = TrainedAndCounted(child, ("latency_phone", "accuracy"), {"phone": (table, 1.0)}, space)
    assert both({"k": 4, "e": "b"}) == (1.0 + 0.5 * 3 + 4.0, 94.0)
    latency_only = TrainedAndCounted(child, ("latency_phone",), {"phone": (table, 1.0)}, space)
    assert latency_only({"k": 1, "e": "a"}) == (1.0,) and child.trained == 1  # counted, not trained
    assert pickle.loads(pickle.dumps(both))({"k": 2, "e": "a"})[0] == 1.5
    with pytest.raises(ValueError, match="latency_phone"):
        TrainedAndCounted(child, ("latency_pixel",), {"phone": (table, 1.0)}, space)
    with pytest.raises(ValueError, match="need the space"):
        TrainedAndCounted(child, ("latency_phone",), {"phone": (table, 1.0)})
