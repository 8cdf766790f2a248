"""GPNASSampler inside Optuna, tested the way Optuna tests its samplers (needs the ``optuna`` extra)."""

import os
import itertools
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

optuna = pytest.importorskip("optuna", reason="the optuna extra is not installed") if os.environ.get(
    "GPNAS_REQUIRE_OPTUNA") != "1" else __import__("optuna")

from optuna.trial import TrialState  # noqa: E402

from gpnas.integrations.optuna import ARCH_KEY, GPNASSampler, default_group  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)
OPS = ["conv3", "conv5", "skip", "pool"]
SCORE = {"conv3": 2.0, "conv5": 3.0, "skip": 0.5, "pool": 1.0}


def categorical_objective(trial):
    """Six categorical choices and one small integer; the best is conv5 everywhere with width 4."""
    ops = [trial.suggest_categorical(f"layer{i}_op", OPS) for i in range(6)]
    width = trial.suggest_int("width", 1, 4)
    return sum(SCORE[o] for o in ops) + 0.5 * width - 0.3 * (ops[0] == ops[1] == "conv5")


def architecture(trial):
    return tuple(trial.params[f"layer{i}_op"] for i in range(6)) + (trial.params["width"],)


def test_default_groups_strip_the_digits():
    assert default_group("layer3_op") == default_group("layer12_op") == "layer_op"
    assert default_group("edge0") == "edge" and default_group("7") == "op"


def test_categorical_study_is_modelled_unique_and_beats_random():
    found = {}
    for name, factory in (("gpnas", GPNASSampler), ("random", optuna.samplers.RandomSampler)):
        values = []
        for seed in range(3):
            study = optuna.create_study(direction="maximize", sampler=factory(seed=seed))
            study.optimize(categorical_objective, n_trials=40)
            values.append(study.best_value)
            if name == "gpnas":
                modelled = [t for t in study.trials if ARCH_KEY in t.system_attrs]
                assert len(modelled) == 30  # every trial after the 10 start-up ones is proposed by the model
                archs = [architecture(t) for t in study.trials]
                assert len(set(archs)) == len(archs)  # the model never proposes an architecture again
        found[name] = np.mean(values)
    assert found["gpnas"] > found["random"]


def test_minimize_direction_is_respected():
    study = optuna.create_study(direction="minimize", sampler=GPNASSampler(seed=0, n_startup_trials=5))
    study.optimize(lambda t: -categorical_objective(t), n_trials=30)
    late = [t.value for t in study.trials[15:]]
    early = [t.value for t in study.trials[:5]]
    assert np.median(late) < np.median(early)


class Spy(optuna.samplers.RandomSampler):
    def __init__(self, seed):
        super().__init__(seed=seed)
        self.names = []

    def sample_independent(self, study, trial, param_name, param_distribution):
        self.names.append(param_name)
        return super().sample_independent(study, trial, param_name, param_distribution)


def test_mixed_study_delegates_floats_wide_ints_and_conditional_parameters():
    spy = Spy(seed=0)

    def objective(trial):
        value = categorical_objective(trial)
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        steps = trial.suggest_int("steps", 1, 1000)
        if trial.params["layer0_op"] == "conv5":
            value += trial.suggest_float("dropout", 0.0, 0.5)
        return value - abs(np.log10(lr) + 2) + steps / 1000

    study = optuna.create_study(direction="maximize", sampler=GPNASSampler(seed=0, independent_sampler=spy))
    study.optimize(objective, n_trials=25)
    late = set(spy.names[-30:])
    assert {"lr", "steps"} <= late and not any(n.startswith("layer") for n in late)
    assert all(1e-4 <= t.params["lr"] <= 1e-1 and 1 <= t.params["steps"] <= 1000 for t in study.trials)


def test_same_seed_same_trials_and_reseed_changes_them():
    def run(seed):
        study = optuna.create_study(direction="maximize", sampler=GPNASSampler(seed=seed))
        study.optimize(categorical_objective, n_trials=18)
        return [architecture(t) for t in study.trials]

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_n_jobs_two_runs_every_trial_with_pending_points():
    study = optuna.create_study(direction="maximize", sampler=GPNASSampler(seed=0, n_startup_trials=6))
    study.optimize(categorical_objective, n_trials=24, n_jobs=2)
    assert len(study.trials) == 24 and all(t.state == TrialState.COMPLETE for t in study.trials)
    archs = [architecture(t) for t in study.trials]
    assert len(set(archs)) == len(archs)  # a running trial is a pending point, never proposed twice
    assert sum(ARCH_KEY in t.system_attrs for t in study.trials) >= 16
    # within 2 of the optimum (19.7, by brute force): RandomSampler gets there in about 3 % of 24-trial runs
    optimum = max(sum(SCORE[o] for o in ops) + 2.0 - 0.3 * (ops[0] == ops[1] == "conv5")
                  for ops in itertools.product(OPS, repeat=6))
    assert optimum == pytest.approx(19.7) and study.best_value >= optimum - 2.0


def test_enqueued_pruned_and_failed_trials():
    study = optuna.create_study(direction="maximize", sampler=GPNASSampler(seed=0, n_startup_trials=6))
    fixed = {f"layer{i}_op": "skip" for i in range(6)} | {"width": 1}
    study.enqueue_trial(fixed)
    bad = ("pool",) * 6

    def objective(trial):
        value = categorical_objective(trial)
        arch = architecture(trial)
        if arch[:6] == bad or trial.number in (3, 9):
            raise RuntimeError("evaluation crashed")
        if trial.number in (4, 11):
            trial.report(value, step=0)
            raise optuna.TrialPruned()
        return value

    study.enqueue_trial({f"layer{i}_op": "pool" for i in range(6)} | {"width": 2})
    study.optimize(objective, n_trials=22, catch=(RuntimeError,))
    assert architecture(study.trials[0]) == ("skip",) * 6 + (1,)
    states = [t.state for t in study.trials]
    assert states.count(TrialState.FAIL) >= 2 and states.count(TrialState.PRUNED) == 2
    assert any(ARCH_KEY in t.system_attrs for t in study.trials)
    # no failed or pruned architecture is ever proposed again by a later trial
    for t in study.trials:
        if t.state != TrialState.COMPLETE:
            assert all(architecture(u) != architecture(t) for u in study.trials[t.number + 1:])


def test_constraints_are_stored_and_steer_the_model():
    def constraints(trial):
        return [float(trial.params["layer0_op"] != "conv3")]  # feasible only with conv3 first

    sampler = GPNASSampler(seed=0, n_startup_trials=8, constraints_func=constraints)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(categorical_objective, n_trials=30)
    assert all("constraints" in t.system_attrs for t in study.trials)
    late = study.trials[12:]
    feasible = [t.params["layer0_op"] == "conv3" for t in late]
    assert np.mean(feasible) >= 0.7  # random sampling would give 0.25


def test_two_processes_share_one_sqlite_storage(tmp_path):
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    optuna.create_study(study_name="shared", storage=url, direction="maximize")
    script = textwrap.dedent(f"""
        import optuna, sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from test_optuna_sampler import categorical_objective
        from gpnas.integrations.optuna import GPNASSampler
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.load_study(study_name="shared", storage={url!r},
                                  sampler=GPNASSampler(seed=int(sys.argv[1]), n_startup_trials=6))
        study.optimize(categorical_objective, n_trials=12)
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(i)]) for i in range(2)]
    assert all(p.wait(timeout=300) == 0 for p in procs)
    study = optuna.load_study(study_name="shared", storage=url)
    assert len(study.trials) == 24 and all(t.state == TrialState.COMPLETE for t in study.trials)
    assert sum(ARCH_KEY in t.system_attrs for t in study.trials) >= 12


def test_optuna_tools_work_on_a_gpnas_study(tmp_path):
    import json
    import wsgiref.util

    import matplotlib

    matplotlib.use("Agg")
    from optuna.visualization import matplotlib as plots
    from optuna_dashboard import wsgi

    url = f"sqlite:///{tmp_path / 'd.db'}"
    study = optuna.create_study(study_name="viz", storage=url, direction="maximize", sampler=GPNASSampler(seed=0))
    study.optimize(categorical_objective, n_trials=15)
    frame = study.trials_dataframe()
    assert len(frame) == 15 and "params_layer0_op" in frame.columns
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        for plot in (plots.plot_optimization_history, plots.plot_slice, plots.plot_param_importances):
            assert plot(study) is not None
    app = wsgi(url)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/studies"}
    wsgiref.util.setup_testing_defaults(environ)
    status = {}
    body = b"".join(app(environ, lambda s, h, *a: status.setdefault("s", s)))
    assert status["s"].startswith("200")
    studies = json.loads(body)["study_summaries"]
    assert [s["study_name"] for s in studies] == ["viz"]
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": f"/api/studies/{studies[0]['study_id']}"}
    wsgiref.util.setup_testing_defaults(environ)
    detail = json.loads(b"".join(app(environ, lambda s, h, *a: None)))
    assert len(detail["trials"]) == 15 and detail["trials"][0]["params"]


def test_sampler_pickles_and_keeps_working():
    import pickle

    sampler = pickle.loads(pickle.dumps(GPNASSampler(seed=0, n_startup_trials=3)))
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(categorical_objective, n_trials=6, n_jobs=2)
    assert sum(ARCH_KEY in t.system_attrs for t in study.trials) >= 2


COST = {"conv3": 1.0, "conv5": 2.6, "skip": 0.0, "pool": 0.2}  # better operations cost more: a trade-off


def accuracy_and_cost(trial):
    """Two objectives over the same choices: the score (maximise) and a latency-like cost (minimise)."""
    ops = [trial.suggest_categorical(f"layer{i}_op", OPS) for i in range(6)]
    width = trial.suggest_int("width", 1, 4)
    score = sum(SCORE[o] for o in ops) + 0.5 * width - 0.3 * (ops[0] == ops[1] == "conv5")
    return score, sum(COST[o] for o in ops) * (0.75 + 0.25 * width)


def _hypervolume(study):
    from gpnas.sampling.scalarization import hypervolume_2d

    values = np.array([t.values for t in study.trials if t.state == TrialState.COMPLETE])
    return hypervolume_2d(values, np.array([1.0, -1.0]), reference=np.array([0.0, 20.0]))


@pytest.mark.parametrize("mode", ["parego", "per-objective", "ehvi"])
def test_a_multi_objective_study_finds_a_better_front_than_random_search(mode):
    volumes = {"gpnas": [], "random": []}
    for seed in range(3):
        for name, sampler in [("gpnas", GPNASSampler(seed=seed, n_startup_trials=8, multi_objective=mode)),
                              ("random", optuna.samplers.RandomSampler(seed=seed))]:
            study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
            study.optimize(accuracy_and_cost, n_trials=40)
            volumes[name].append(_hypervolume(study))
            if name == "gpnas":  # the model proposed every trial after the start-up ones
                assert sum(ARCH_KEY in t.system_attrs for t in study.trials) == 32
                assert study.best_trials  # Optuna's Pareto front
    assert np.median(volumes["gpnas"]) > np.median(volumes["random"]), volumes


def test_ehvi_counts_running_trials_and_hands_three_objectives_to_parego():
    # two parallel workers: each proposal sees the other's running trial as pending, and no architecture repeats
    study = optuna.create_study(directions=["maximize", "minimize"],
                                sampler=GPNASSampler(seed=0, n_startup_trials=6, multi_objective="ehvi"))
    study.optimize(accuracy_and_cost, n_trials=20, n_jobs=2)
    proposed = [tuple(sorted(t.system_attrs[ARCH_KEY].items())) for t in study.trials if ARCH_KEY in t.system_attrs]
    assert len(proposed) >= 12 and len(set(proposed)) == len(proposed)

    def three(trial):
        score, cost = accuracy_and_cost(trial)
        return score, cost, -score * cost
    study = optuna.create_study(directions=["maximize", "minimize", "maximize"],
                                sampler=GPNASSampler(seed=0, n_startup_trials=6, multi_objective="ehvi"))
    study.optimize(three, n_trials=10)
    assert sum(ARCH_KEY in t.system_attrs for t in study.trials) == 4


def test_an_unknown_multi_objective_mode_is_refused():
    with pytest.raises(ValueError, match="multi_objective must be one of"):
        GPNASSampler(multi_objective="nsga")


def test_a_float_only_study_says_that_its_parameters_are_sampled_independently():
    study = optuna.create_study(sampler=GPNASSampler(seed=0))
    with pytest.warns(UserWarning, match="'lr'.*independent sampler") as record:
        study.optimize(lambda t: t.suggest_float("lr", 1e-4, 1.0, log=True), n_trials=5)
    assert sum("'lr'" in str(w.message) for w in record) == 1  # said once, not every trial


def test_startup_is_random_for_exactly_the_startup_trials():
    study = optuna.create_study(direction="maximize", sampler=GPNASSampler(seed=0, n_startup_trials=5))
    study.optimize(categorical_objective, n_trials=8)
    assert [ARCH_KEY in t.system_attrs for t in study.trials] == [False] * 5 + [True] * 3


def test_finished_trials_are_decoded_once_and_the_cache_changes_nothing(monkeypatch):
    def run(cached):
        sampler = GPNASSampler(seed=5)
        decoded = []
        original = GPNASSampler._arch

        def counting(self, trial, names, search_space):
            decoded.append(trial.number)
            return original(self, trial, names, search_space)

        monkeypatch.setattr(GPNASSampler, "_arch", counting)
        if not cached:  # each proposal starts from an empty cache: every finished trial is decoded again
            original_history = GPNASSampler._history

            def uncached(self, *args):
                self._arch_cache.clear()
                return original_history(self, *args)

            monkeypatch.setattr(GPNASSampler, "_history", uncached)
        study = optuna.create_study(direction="maximize", sampler=sampler)
        study.optimize(categorical_objective, n_trials=20)
        monkeypatch.undo()
        return [architecture(t) for t in study.trials], decoded, sampler

    with_cache, decoded, sampler = run(True)
    without, decoded_again, _ = run(False)
    assert with_cache == without  # the same proposals
    assert len(decoded) == len(set(decoded)) == 19  # each finished trial once (the last one is never read back)
    assert len(decoded_again) > 5 * len(decoded)
    other = optuna.create_study(direction="maximize", sampler=sampler)  # another study: the cache starts afresh
    other.optimize(categorical_objective, n_trials=12)
    assert sampler._arch_cache_owner == (other.study_name, id(other._storage))
    assert len(sampler._arch_cache) == 11


def test_warm_start_reuses_the_last_fit_and_stays_as_good(monkeypatch):
    from gpnas.gp.regressor import GPNASRegressor

    restarts = []
    original = GPNASRegressor.fit

    def recording(self, X, y, *args, **kwargs):
        restarts.append(self.n_restarts)
        return original(self, X, y, *args, **kwargs)

    monkeypatch.setattr(GPNASRegressor, "fit", recording)
    study = optuna.create_study(direction="maximize", sampler=GPNASSampler(seed=1, warm_start=True))
    study.optimize(categorical_objective, n_trials=25)
    # the first fit is fresh (the model's restarts); each later one starts at the previous fit with one restart
    assert restarts[0] != 1 and set(restarts[1:]) == {1} and len(restarts) == 15
    best = max(categorical_objective(optuna.trial.FixedTrial({f"layer{i}_op": "conv5" for i in range(6)}
                                                             | {"width": 4})), 0)
    assert study.best_value >= best - 1.0


def _candidates(n: int, seed: int = 0) -> list[dict]:
    """``n`` distinct architectures of :func:`categorical_objective`'s space, as ``enqueue_trial`` takes them."""
    rng = np.random.default_rng(seed)
    found: dict[tuple, dict] = {}
    while len(found) < n:
        c = {f"layer{i}_op": OPS[int(rng.integers(len(OPS)))] for i in range(6)} | {"width": int(rng.integers(1, 5))}
        found.setdefault(tuple(c.values()), c)
    return list(found.values())


def test_candidates_are_the_only_architectures_proposed_each_once_before_any_repeats():
    candidates = _candidates(25)
    allowed = {tuple(c.values()) for c in candidates}
    study = optuna.create_study(direction="maximize",
                                sampler=GPNASSampler(seed=0, n_startup_trials=5, candidates=candidates))
    study.optimize(categorical_objective, n_trials=30)
    archs = [architecture(t) for t in study.trials]
    assert set(archs) <= allowed
    assert len(set(archs[:25])) == 25  # every candidate once (model proposals included) before the first repeat
    best = max(categorical_objective(optuna.trial.FixedTrial(c)) for c in candidates)
    assert study.best_value == pytest.approx(best)


def test_the_model_proposes_among_candidates_and_finds_their_best_sooner_than_random():
    # 200 candidates, the best of them planted; the model (from trial 8 on) must reach it well before 100 trials,
    # where a uniform draw without repeats expects it at about trial 100
    candidates = _candidates(199, seed=1) + [{f"layer{i}_op": "conv5" for i in range(6)} | {"width": 4}]
    allowed = {tuple(c.values()) for c in candidates}
    first = []
    for seed in range(3):
        study = optuna.create_study(direction="maximize",
                                    sampler=GPNASSampler(seed=seed, n_startup_trials=8, candidates=candidates))
        study.optimize(categorical_objective, n_trials=40)
        archs = [architecture(t) for t in study.trials]
        assert set(archs) <= allowed
        first.append(next((i for i, a in enumerate(archs) if a == ("conv5",) * 6 + (4,)), 40))
    assert np.median(first) < 25


def test_bad_candidates_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="empty"):
        GPNASSampler(candidates=[])
    with pytest.raises(ValueError, match="candidate 1 has the parameters"):
        GPNASSampler(candidates=[{"a": 1, "b": 2}, {"a": 1}])
    candidates = _candidates(5)
    candidates[3] = dict(candidates[3], layer2_op="conv7")
    study = optuna.create_study(direction="maximize",
                                sampler=GPNASSampler(seed=0, n_startup_trials=2, candidates=candidates))
    with pytest.raises(ValueError, match="candidate 3 gives 'layer2_op' the value 'conv7'"):
        study.optimize(categorical_objective, n_trials=6)
    # drawn before any model (the first trial): the same message, not Optuna's own
    only_bad = [dict(candidates[3])]
    study = optuna.create_study(direction="maximize", sampler=GPNASSampler(seed=0, candidates=only_bad))
    with pytest.raises(ValueError, match="candidate 0 gives 'layer2_op' the value 'conv7'"):
        study.optimize(categorical_objective, n_trials=1)


def test_a_pickled_sampler_keeps_its_candidates():
    import pickle

    candidates = _candidates(12)
    sampler = pickle.loads(pickle.dumps(GPNASSampler(seed=0, n_startup_trials=3, candidates=candidates)))
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(categorical_objective, n_trials=8)
    assert {architecture(t) for t in study.trials} <= {tuple(c.values()) for c in candidates}
