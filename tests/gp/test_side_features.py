"""Side features (zero-cost proxies, a table's extra columns) as model inputs (:mod:`gpnas.gp.side_features`)."""

import numpy as np
import pytest
from scipy.stats import kendalltau, norm, rankdata

from gpnas import GPNASRegressor, load_model, save_model
from gpnas.exceptions import ArchitectureError, DataError
from gpnas.gp.side_features import NormalScores, SideFeatures


def _side_for_all(space, seed=0):
    """Every architecture of a small space with two side numbers: one informative, one noise."""
    X = space.enumerate()
    rng = np.random.default_rng(seed)
    hidden = np.sin(3.0 * rng.standard_normal(len(X)))  # what the target follows, invisible in the choices
    return X, hidden, SideFeatures(X, np.column_stack([np.exp(4 * hidden), rng.standard_normal(len(X))]),
                                   ["proxy", "noise"])


def test_lookup_finds_each_architecture_and_names_a_missing_one(small_space):
    X, _, side = _side_for_all(small_space)
    order = np.random.default_rng(1).permutation(len(X))[:10]
    np.testing.assert_array_equal(side.lookup(X[order]), side.values[order])
    partial = SideFeatures(X[:5], side.values[:5], side.names)
    with pytest.raises(ArchitectureError, match=r"no side features \(proxy, noise\).*and 1 more"):
        partial.lookup(X[3:7])


def test_bad_side_tables_are_refused_clearly(small_space):
    X = small_space.enumerate()[:4]
    with pytest.raises(DataError, match="finite"):
        SideFeatures(X, [[1.0], [np.nan], [2.0], [3.0]], ["p"])
    with pytest.raises(DataError, match="twice with different"):
        SideFeatures(np.vstack([X, X[:1]]), [[1.0], [2.0], [3.0], [4.0], [9.0]], ["p"])
    with pytest.raises(DataError, match="one distinct name"):
        SideFeatures(X, np.ones((4, 2)), ["p", "p"])
    with pytest.raises(DataError, match="unknown side features"):
        SideFeatures(X, np.ones((4, 1)), ["p"]).subset(["q"])


def test_normal_scores_are_the_mid_rank_normal_quantiles():
    """Against scipy's rankdata (average ranks for ties): Phi^-1((rank - 1/2) / N) at every population value."""
    population = np.random.default_rng(2).integers(0, 30, size=(200, 2)).astype(float)
    scores = NormalScores(population).transform(population)
    for j in range(2):
        expected = norm.ppf((rankdata(population[:, j]) - 0.5) / len(population))
        np.testing.assert_allclose(scores[:, j], expected, rtol=1e-12, atol=1e-12)
    beyond = NormalScores(population).transform(np.array([[-100.0, 1e6]]))  # clamped to the end scores
    assert beyond[0, 0] == pytest.approx(scores[:, 0].min()) and beyond[0, 1] == pytest.approx(scores[:, 1].max())


@pytest.mark.parametrize("grouping", ["one", "each"])
def test_an_informative_side_feature_is_used(small_space, grouping):
    """The target follows a number the choices cannot show: with the side features the model ranks held-out
    architectures well, without them it cannot."""
    X, hidden, side = _side_for_all(small_space)
    y = 70 + 5 * hidden + 0.05 * np.random.default_rng(3).standard_normal(len(X))
    tr, te = np.arange(0, len(X), 2), np.arange(1, len(X), 2)
    with_side = GPNASRegressor(space=small_space, side_features=side, side_grouping=grouping,
                               random_state=0).fit(X[tr], y[tr])
    without = GPNASRegressor(space=small_space, random_state=0).fit(X[tr], y[tr])
    assert kendalltau(with_side.predict(X[te]), y[te])[0] > 0.8
    assert kendalltau(without.predict(X[te]), y[te])[0] < 0.4
    expected_groups = ["side"] if grouping == "one" else ["side:proxy", "side:noise"]
    assert with_side.group_names_[-len(expected_groups):] == expected_groups


def test_a_model_with_side_features_saves_and_loads(small_space, tmp_path):
    X, hidden, side = _side_for_all(small_space)
    y = 3 * hidden + 0.1 * X[:, 0]
    model = GPNASRegressor(space=small_space, side_features=side, side_grouping="each", random_state=0).fit(
        X[:30], y[:30])
    path = save_model(model, tmp_path / "m.npz")
    loaded = load_model(path)
    assert loaded.side_features.names == side.names and loaded.side_grouping == "each"
    for a, b in zip(model.predict(X, return_std=True), loaded.predict(X, return_std=True)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_an_architecture_outside_the_lookup_cannot_be_predicted(small_space):
    X, hidden, side = _side_for_all(small_space)
    small = SideFeatures(X[:40], side.values[:40], side.names)
    model = GPNASRegressor(space=small_space, side_features=small, random_state=0).fit(X[:30], hidden[:30])
    with pytest.raises(ArchitectureError, match="no side features"):
        model.predict(X[40:45])


def test_published_nb201_proxies_lift_the_ranking(real_table):
    """NAS-Bench-Suite-Zero's 13 proxies of NB201 cells as side features: a better ranking at 64 cells."""
    from gpnas.io.proxies import load_nb201_proxies

    table = real_table("nb201-cifar10")
    side = load_nb201_proxies("cifar10")
    assert len(side) == 14921 and side.n_features == 13
    known = side.covers(table.X)
    assert known.sum() == 14921
    X, y = table.X[known], table.y[known]
    order = np.random.default_rng(0).permutation(len(y))
    tr, te = order[:64], order[64:3064]
    plain = GPNASRegressor(space=table.space, random_state=0).fit(X[tr], y[tr])
    proxied = GPNASRegressor(space=table.space, side_features=side, random_state=0).fit(X[tr], y[tr])
    gain = kendalltau(proxied.predict(X[te]), y[te])[0] - kendalltau(plain.predict(X[te]), y[te])[0]
    assert gain > 0.02


def test_standardized_side_features_are_z_scores(small_space):
    """``side_scaling="standardize"``: each column as scipy's z-score over the lookup's population; a constant
    column maps to 0; an unknown scaling is refused by name."""
    from scipy.stats import zscore

    from gpnas.gp.side_features import SideFeatureEncoder
    X, _, side = _side_for_all(small_space)
    values = np.column_stack([side.values, np.full(len(X), 7.0)])
    side3 = SideFeatures(X, values, ["proxy", "noise", "constant"])
    model = GPNASRegressor(space=small_space, side_features=side3, side_scaling="standardize", random_state=0)
    encoder = model.fit(X[:20], side.values[:20, 0]).encoder_
    assert isinstance(encoder, SideFeatureEncoder) and encoder.scaling == "standardize"
    appended = encoder.transform(X)[:, -3:]
    np.testing.assert_allclose(appended[:, :2], zscore(side.values, axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(appended[:, 2], 0.0)
    with pytest.raises(ValueError, match="unknown side feature scaling 'ranks'"):
        GPNASRegressor(space=small_space, side_features=side, side_scaling="ranks").fit(X[:10], X[:10, 0] * 1.0)


def test_standardized_side_features_keep_a_linear_map_that_ranks_bend():
    """The target is the sum of two side numbers, one heavy-tailed (as a latency is): standardised, the linear mean
    recovers the sum from a few points; as normal scores the heavy tail is squeezed and the sum is ranked worse."""
    from gpnas.space import make_space
    space = make_space([(f"p{i}", list(range(4)), "op") for i in range(4)])
    X = space.enumerate()
    rng = np.random.default_rng(4)
    values = np.column_stack([np.exp(1.5 * rng.standard_normal(len(X))), rng.standard_normal(len(X))])
    side = SideFeatures(X, values, ["heavy", "plain"])
    y = values[:, 0] + values[:, 1]
    taus = {}
    for scaling in ("normal_scores", "standardize"):
        per_seed = []
        for seed in range(5):
            train = np.random.default_rng(seed).choice(len(X), 15, replace=False)
            rest = np.setdiff1d(np.arange(len(X)), train)
            model = GPNASRegressor(space=space, features=["choices"], side_features=side, side_grouping="each",
                                   side_scaling=scaling, target_transform="standardize", random_state=seed)
            per_seed.append(kendalltau(model.fit(X[train], y[train]).predict(X[rest]), y[rest])[0])
        taus[scaling] = float(np.mean(per_seed))
    assert taus["standardize"] > 0.9
    assert taus["standardize"] > taus["normal_scores"] + 0.03, taus


def test_a_model_with_standardized_side_features_saves_and_loads(small_space, tmp_path):
    X, hidden, side = _side_for_all(small_space)
    model = GPNASRegressor(space=small_space, side_features=side, side_scaling="standardize", random_state=0).fit(
        X[:30], 3 * hidden[:30])
    loaded = load_model(save_model(model, tmp_path / "m.npz"))
    assert loaded.side_scaling == "standardize"
    for a, b in zip(model.predict(X, return_std=True), loaded.predict(X, return_std=True)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
