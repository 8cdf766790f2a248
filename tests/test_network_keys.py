"""Vectors that build one network: the keys, the seen-set, and searches that never try one network twice."""

from itertools import product

import numpy as np
import pytest

from gpnas.io.tables import nasbench201_space
from gpnas.space import Choice, SearchSpace
from gpnas.space.linked_cell import LinkedCell
from gpnas.space.networks import SeenNetworks, first_of_each_network, network_keys
from gpnas.study import Study

# every operation as a fixed scalar function, the same on every edge: equal networks compute equal functions
FUNCTIONS = {"none": lambda x: 0.0 * x, "skip_connect": lambda x: x, "nor_conv_1x1": lambda x: np.sin(3 * x) + x * x,
             "nor_conv_3x3": lambda x: np.tanh(2 * x + 0.3), "avg_pool_3x3": lambda x: 0.5 * x + np.cos(x)}
INPUTS = np.array([-1.3, -0.2, 0.4, 1.7])
NB201_EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))


def _nb201_function(ops: list[str]) -> np.ndarray:
    """The cell's output on :data:`INPUTS`, node by node, every edge's function applied to its source's value."""
    nodes = [INPUTS]
    for target in (1, 2, 3):
        nodes.append(sum(FUNCTIONS[op](nodes[src]) for op, (src, dst) in zip(ops, NB201_EDGES) if dst == target))
    return nodes[3]


def test_nb201_vectors_with_one_key_compute_one_function():
    space = nasbench201_space()
    X = space.enumerate()
    keys = network_keys(space, X)
    values = np.array([_nb201_function([space.choices[j].values[v] for j, v in enumerate(x)]) for x in X])
    groups: dict = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    assert 6466 < len(groups) < len(X)  # fewer keys than vectors; not fewer than NATS-Bench's classes
    for members in groups.values():
        np.testing.assert_allclose(values[members], values[members[0]][None, :].repeat(len(members), 0),
                                   rtol=1e-12, atol=1e-12)
    # and the vectors whose output is cut (every edge into node 3 none, 125 of them) are one network
    dead = [i for i, x in enumerate(X) if all(space.choices[j].values[x[j]] == "none" for j in (3, 4, 5))]
    assert len({keys[i] for i in dead}) == 1 and len(dead) == 5 ** 3


def test_nb201_swapping_the_inner_nodes_keeps_the_key():
    space = nasbench201_space()
    index = {op: i for i, op in enumerate(space.choices[0].values)}
    # node 1 <- conv3(input), node 2 <- avg(input), output <- conv1(node 1) + skip(node 2); edge 1->2 none
    one = [index[o] for o in ("nor_conv_3x3", "avg_pool_3x3", "none", "none", "nor_conv_1x1", "skip_connect")]
    two = [index[o] for o in ("avg_pool_3x3", "nor_conv_3x3", "none", "none", "skip_connect", "nor_conv_1x1")]
    other = [index[o] for o in ("avg_pool_3x3", "nor_conv_3x3", "none", "none", "nor_conv_1x1", "skip_connect")]
    keys = network_keys(space, np.array([one, two, other]))
    assert keys[0] == keys[1] != keys[2]


OPS = ("a", "b", "c", "skip")
LINKED_FUNCTIONS = {"a": lambda x: np.sin(3 * x) + x * x, "b": lambda x: np.tanh(2 * x + 0.3),
                    "c": lambda x: 0.5 * x + np.cos(x), "skip": lambda x: x}


def _linked_space() -> SearchSpace:
    wirings = tuple("".join(map(str, w)) for w in product(range(1), range(2), range(3), range(4)))
    nodes = tuple(f"n{i}" for i in range(1, 5))
    return SearchSpace([Choice("wiring", wirings, "links"), *[Choice(n, OPS, "op") for n in nodes]], name="linked",
                       cell=LinkedCell("wiring", nodes, ("skip",)))


def _linked_function(wiring: str, ops: list[str]) -> np.ndarray:
    """The sum of the unread nodes' values, a node that carries the raw input through identities alone left out."""
    values, raw = [INPUTS], [True]
    for i, (d, op) in enumerate(zip(wiring, ops)):
        values.append(LINKED_FUNCTIONS[op](values[int(d)]))
        raw.append(raw[int(d)] and op == "skip")
    read = {int(d) for d in wiring}
    return sum((values[i] for i in range(1, 5) if i not in read and not raw[i]), 0.0 * INPUTS)


def test_linked_vectors_with_one_key_compute_one_function():
    space = _linked_space()
    X = space.enumerate()
    keys = network_keys(space, X)
    values = np.array([_linked_function(space.choices[0].values[x[0]], [OPS[v] for v in x[1:]]) for x in X])
    groups: dict = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    assert len(groups) < len(X)
    for members in groups.values():
        np.testing.assert_allclose(values[members], values[members[0]][None, :].repeat(len(members), 0),
                                   rtol=1e-12, atol=1e-12)
    # a chain a -> b and a chain b -> a are different networks
    a_b = space.from_dict_arch({"wiring": "0120", "n1": "a", "n2": "b", "n3": "skip", "n4": "skip"})
    b_a = space.from_dict_arch({"wiring": "0120", "n1": "b", "n2": "a", "n3": "skip", "n4": "skip"})
    assert network_keys(space, np.array([a_b, b_a]))[0] != network_keys(space, np.array([a_b, b_a]))[1]


def test_linked_keys_are_nas_bench_graphs_own_classes(real_table):
    table = real_table("nbgraph-cora")
    keys = np.array([hash(k) for k in network_keys(table.space, table.X)])
    _, by_key = np.unique(keys, return_inverse=True)
    _, by_class = np.unique(table.dedup_key, return_inverse=True)
    # the same partition: each key is one class and each class one key
    pairs = set(zip(by_key.tolist(), by_class.tolist()))
    assert len(pairs) == by_key.max() + 1 == by_class.max() + 1 == 26206


@pytest.mark.parametrize("make_space", [nasbench201_space, _linked_space])
def test_the_seen_mask_equals_a_brute_force_lookup_of_keys(make_space):
    space = make_space()
    rng = np.random.default_rng(3)
    X = space.enumerate()
    tried = X[rng.choice(len(X), 40, replace=False)]
    keys = network_keys(space, X)
    tried_keys = set(network_keys(space, tried))
    expected = np.array([k in tried_keys for k in keys])
    seen = SeenNetworks(space, tried)
    np.testing.assert_array_equal(seen.mask(X), expected)
    assert expected.sum() > len(tried)  # other vectors of the tried networks are there to be found
    exact = SeenNetworks(space, tried, distinct=False).mask(X)
    assert exact.sum() == len(tried)
    # membership, copies and additions agree with the mask
    i = int(np.flatnonzero(expected & ~exact)[0])
    assert tuple(X[i]) in seen
    fresh = int(np.flatnonzero(~expected)[0])
    copy = seen.copy()
    copy.add(X[fresh])
    assert tuple(X[fresh]) in copy and tuple(X[fresh]) not in seen


def test_a_space_without_a_cell_counts_vectors():
    space = SearchSpace([Choice("k", (3, 5, 7), "kernel"), Choice("e", (3, 6), "expand")])
    seen = SeenNetworks(space, np.array([[0, 1]]))
    np.testing.assert_array_equal(seen.mask(space.enumerate()), [False, True, False, False, False, False])
    assert network_keys(space, np.array([[2, 0]])) == [(2, 0)]


def _value(space, arch):
    """A fixed function of the architecture's choices (the search's objective in these tests)."""
    x = space.from_dict_arch(arch)
    return float(np.sin(x @ np.arange(1, space.n_positions + 1)))


@pytest.mark.parametrize("sampler, batch", [("random", 1), ("auto", 1), ("auto", 4), ("rea", 1), ("ls", 1)])
def test_a_search_never_tries_one_network_twice(sampler, batch):
    space = nasbench201_space()
    study = Study(space, sampler=sampler, seed=0, n_initial=10, heartbeat_interval=None, distinct_networks=True)
    study.optimize(lambda arch: _value(space, arch), n_trials=100, batch_size=batch)
    X = np.array([t.arch for t in study.trials])
    keys = network_keys(space, X)
    assert len(X) == 100 and len(set(keys)) == len(keys)


def test_without_distinct_networks_a_random_search_tries_twins():
    # the check above could fail: with the setting off, 100 random NB201 cells hold two vectors of one network (4.8
    # such pairs expected)
    space = nasbench201_space()
    study = Study(space, sampler="random", seed=0, heartbeat_interval=None)  # the default: off
    study.optimize(lambda arch: _value(space, arch), n_trials=100)
    keys = network_keys(space, np.array([t.arch for t in study.trials]))
    assert len(set(keys)) < len(keys)


def test_the_setting_is_stored_and_resumed(tmp_path):
    from gpnas.study import load_study

    space = nasbench201_space()
    url = f"sqlite:///{tmp_path / 'study.db'}"
    Study(space, sampler="random", seed=0, storage=url, study_name="s", heartbeat_interval=None,
          distinct_networks=True)
    assert load_study("s", url).distinct_networks is True


def test_first_of_each_network_keeps_order():
    space = nasbench201_space()
    dead = [0, 0, 0, 0, 0, 0]  # every edge none
    also_dead = [3, 2, 1, 0, 0, 0]  # the output cut all the same
    live = [3, 3, 3, 3, 3, 3]
    np.testing.assert_array_equal(first_of_each_network(space, np.array([dead, live, also_dead])), [0, 1])


def test_optuna_gpnas_sampler_given_the_space_never_tries_one_network_twice():
    optuna = pytest.importorskip("optuna")
    from gpnas.integrations.optuna import GPNASSampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = nasbench201_space()
    archs = []

    def objective(trial):
        arch = {c.name: trial.suggest_categorical(c.name, list(c.values)) for c in space.choices}
        archs.append(space.from_dict_arch(arch))
        return _value(space, arch)

    study = optuna.create_study(direction="maximize",
                                sampler=GPNASSampler(space=space, seed=0, distinct_networks=True))
    study.optimize(objective, n_trials=40)
    model_steered = np.array(archs[10:])  # after Optuna's independent start
    keys = network_keys(space, model_steered)
    tried_before = set(network_keys(space, np.array(archs[:10])))
    assert len(set(keys)) == len(keys) and not tried_before & set(keys)


def _write_space_and_table(space: SearchSpace, folder) -> None:
    """``space.yaml`` and ``table.csv`` (every architecture, ``acc`` a fixed function of its choices) in ``folder``."""
    import csv

    space.save(folder / "space.yaml")
    with open(folder / "table.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(space.names + ["acc"])
        for x in space.enumerate():
            writer.writerow(list(space.to_dict_arch(x).values()) + [float(np.sin(x @ np.arange(1, x.size + 1)))])


def test_the_command_line_search_skips_twins_with_the_flag(tmp_path):
    import json

    from click.testing import CliRunner

    from gpnas.cli import main

    space = nasbench201_space()
    _write_space_and_table(space, tmp_path)
    for flag in ("--distinct-networks", "--no-distinct-networks"):
        out = tmp_path / f"{flag}.json"
        url = f"sqlite:///{tmp_path / flag}.db"
        result = CliRunner().invoke(main, ["search", "--space", str(tmp_path / "space.yaml"), "--table",
                                           str(tmp_path / "table.csv"), "--target", "acc", "--strategy", "random",
                                           "--budget", "100", "--storage", url, "--out", str(out), flag,
                                           "--learn-twins", "--study", "s"])
        assert result.exit_code == 0, result.output
        X = np.array([space.from_dict_arch(t["arch"]) for t in json.loads(out.read_text())["trials"]])
        keys = network_keys(space, X)
        assert len(X) == 100
        assert (len(set(keys)) == len(keys)) == (flag == "--distinct-networks")
        from gpnas.study import load_study

        stored = load_study("s", url)
        assert stored.distinct_networks == (flag == "--distinct-networks") and stored.learn_twins


def test_the_twin_index_gives_other_vectors_of_each_network_and_none_measured():
    from gpnas.space.networks import TwinIndex

    space = _linked_space()
    index = TwinIndex(space)
    X = space.enumerate()
    keys = network_keys(space, X)
    members: dict = {}
    for x, key in zip(map(tuple, X.tolist()), keys):
        members.setdefault(key, []).append(x)
    measured = X[np.random.default_rng(5).choice(len(X), 30, replace=False)]
    measured_keys = network_keys(space, measured)
    for limit in (2, 4, 1000):
        twins, source = index.twins(measured, limit=limit)
        twin_rows = [tuple(t) for t in twins.tolist()]
        assert not set(twin_rows) & set(map(tuple, measured.tolist()))
        assert [network_keys(space, twins)[j] for j in range(len(twins))] == [measured_keys[s] for s in source]
        for i, key in enumerate(measured_keys):  # as many as the network has, up to the limit
            expected = [m for m in members[key] if m not in set(map(tuple, measured.tolist()))]
            got = [t for t, s in zip(twin_rows, source) if s == i]
            assert got == expected[: limit - 1]


def test_a_study_that_learns_twins_fits_them_at_their_networks_value():
    space = nasbench201_space()
    study = Study(space, sampler="auto", seed=0, n_initial=10, heartbeat_interval=None, distinct_networks=True,
                  learn_twins=True)
    study.optimize(lambda arch: _value(space, arch), n_trials=20)
    done = np.array([t.arch for t in study.trials_in("done")])
    values = {k: t.value for k, t in zip(network_keys(space, done), study.trials_in("done"))}
    X_train, y_train = study.model_.X_train_, study.model_.y_train_
    assert len(X_train) > len(done)
    for key, y in zip(network_keys(space, X_train), y_train):
        assert values[key] == y


def test_by_default_a_study_skips_twins_in_a_linked_cell_space_only():
    from gpnas.study.study import search_distinct_networks

    linked, cell = _linked_space(), nasbench201_space()
    assert search_distinct_networks(linked) and not search_distinct_networks(cell)
    assert Study(linked, heartbeat_interval=None).distinct_networks is True
    assert Study(cell, heartbeat_interval=None).distinct_networks is False
    assert Study(linked, heartbeat_interval=None, distinct_networks=False).distinct_networks is False  # asked: kept
    # a random search in the linked space by default: 30 vectors, 30 networks (the check can fail: with the setting
    # off the same search tries twins)
    X = _linked_space().enumerate()
    assert len(set(network_keys(linked, X))) < len(X)
    for distinct in (None, False):
        study = Study(linked, sampler="random", seed=0, heartbeat_interval=None, distinct_networks=distinct)
        study.optimize(lambda arch: _value(linked, arch), n_trials=30)
        keys = network_keys(linked, np.array([t.arch for t in study.trials]))
        assert (len(set(keys)) == len(keys)) == (distinct is None)


def test_a_study_stored_before_the_setting_existed_resumes_without_it(tmp_path):
    import json
    import sqlite3

    from gpnas.study import load_study

    space = _linked_space()
    url = f"sqlite:///{tmp_path / 'study.db'}"
    Study(space, sampler="random", seed=0, storage=url, study_name="s", heartbeat_interval=None)
    assert load_study("s", url).distinct_networks is True  # the default there, stored
    # the settings as an earlier version stored them: no distinct_networks key
    with sqlite3.connect(tmp_path / "study.db") as db:
        (text,) = db.execute("SELECT settings FROM studies WHERE name = 's'").fetchone()
        settings = json.loads(text)
        del settings["distinct_networks"]
        db.execute("UPDATE studies SET settings = ? WHERE name = 's'", (json.dumps(settings),))
    assert load_study("s", url).distinct_networks is False


def test_gpnas_sampler_given_a_linked_space_skips_twins_by_default():
    optuna = pytest.importorskip("optuna")
    from gpnas.integrations.optuna import GPNASSampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    linked = _linked_space()
    assert GPNASSampler(space=linked)._distinct_networks is True
    assert GPNASSampler(space=nasbench201_space())._distinct_networks is False
    assert GPNASSampler()._distinct_networks is False  # no space: nothing to key networks by
    archs = []

    def objective(trial):
        arch = {c.name: trial.suggest_categorical(c.name, list(c.values)) for c in linked.choices}
        archs.append(linked.from_dict_arch(arch))
        return _value(linked, arch)

    study = optuna.create_study(direction="maximize", sampler=GPNASSampler(space=linked, seed=0, n_startup_trials=5))
    study.optimize(objective, n_trials=25)
    keys = network_keys(linked, np.array(archs[5:]))
    assert len(set(keys)) == len(keys) and not set(network_keys(linked, np.array(archs[:5]))) & set(keys)


@pytest.mark.parametrize("make_space, skips", [(_linked_space, True), (nasbench201_space, False)])
def test_the_command_line_search_skips_twins_by_default_in_a_linked_cell_space_only(tmp_path, make_space, skips):
    import json

    from click.testing import CliRunner

    from gpnas.cli import main
    from gpnas.study import load_study

    space = make_space()
    _write_space_and_table(space, tmp_path)
    url = f"sqlite:///{tmp_path / 's.db'}"
    result = CliRunner().invoke(main, ["search", "--space", str(tmp_path / "space.yaml"), "--table",
                                       str(tmp_path / "table.csv"), "--target", "acc", "--strategy", "random",
                                       "--budget", "40", "--storage", url, "--out", str(tmp_path / "out.json"),
                                       "--study", "s"])
    assert result.exit_code == 0, result.output
    assert load_study("s", url).distinct_networks is skips
    X = np.array([space.from_dict_arch(t["arch"]) for t in json.loads((tmp_path / "out.json").read_text())["trials"]])
    if skips:
        keys = network_keys(space, X)
        assert len(X) == 40 and len(set(keys)) == len(keys)
