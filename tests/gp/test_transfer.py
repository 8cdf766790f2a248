"""Co-kriging transfer (TransferRegressor): it is the joint GP it claims to be, it uses a related source and learns
that an unrelated one is unrelated, and it rejects bad input."""

import numpy as np
import pytest
from scipy.stats import kendalltau

from gpnas import ArchitectureError, DataError, GPNASRegressor, NotFittedError
from gpnas.gp.transfer import SOURCE_TASK, TARGET_TASK, TransferRegressor
from gpnas.space import make_space


@pytest.fixture(scope="module")
def toy():
    space = make_space([(f"p{i}", [0, 1, 2], "a" if i % 2 else "b") for i in range(5)], name="toy")
    X = space.enumerate()
    rng = np.random.default_rng(0)
    weights = rng.standard_normal(5)
    truth = X @ weights + 0.5 * np.sin(X.sum(axis=1))
    source_rows = rng.choice(len(X), 100, replace=False)
    source = GPNASRegressor(space=space, random_state=0).fit(X[source_rows], truth[source_rows])
    other = rng.standard_normal(5)
    other -= (other @ weights) / (weights @ weights) * weights  # a linear task orthogonal to the source's
    return space, X, truth, source, X @ other


@pytest.mark.parametrize("task_scale", [True, False])
def test_the_prediction_is_the_joint_gp_conditioned_on_both_tasks(toy, task_scale):
    """The target's latent mean and variance, rebuilt from the fitted hyperparameters by the textbook formulas (GPML
    2.25-2.26 with the GLS mean) over the source's and the target's data stacked, each task in its own normal
    scores."""
    space, X, truth, source, unrelated = toy
    train = np.random.default_rng(1).choice(len(X), 8, replace=False)
    target = -2.0 * truth[train] + 5.0 + 0.3 * np.cos(X[train, 0])
    model = TransferRegressor(source, task_scale=task_scale).fit(X[train], target)
    gp = model.model_
    assert gp.scale_slope == task_scale
    Xall = np.vstack([source.X_train_, X[train]])
    s = np.r_[np.zeros(len(source.y_train_)), np.ones(len(train))]
    y = np.r_[model.source_transform_.forward(source.y_train_), model.target_transform_.forward(target)]
    K = gp.covariance(gp.encoder.transform(Xall), s) + np.diag(gp.noise_at(s))
    Phi = np.column_stack([np.ones(len(s)), s])
    from gpnas.gp.multi_budget import MEAN_RIDGE

    beta = np.linalg.solve(Phi.T @ np.linalg.solve(K, Phi) + MEAN_RIDGE * np.eye(2), Phi.T @ np.linalg.solve(K, y))
    tests = X[:7]
    Zt = gp.encoder.transform(tests)
    Ks = gp.covariance(gp.encoder.transform(Xall), s, Zt, np.ones(len(tests)))
    Kss = gp.covariance(Zt, np.ones(len(tests)))
    mean = beta[0] + beta[1] + Ks.T @ np.linalg.solve(K, y - Phi @ beta)
    var = np.diag(Kss - Ks.T @ np.linalg.solve(K, Ks))
    got_mean, got_var = model.predict_latent(tests)
    np.testing.assert_allclose(got_mean, mean, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(got_var, var, rtol=1e-6, atol=1e-8)
    assert (SOURCE_TASK, TARGET_TASK) == tuple(gp.budgets)


def test_a_related_source_carries_over_and_an_unrelated_one_is_learnt_as_such(toy):
    """Target = an affine map of the source's truth plus a small discrepancy: from 6 points the
    transfer ranks the space better than a model of the 6 alone, about as well as the source does, with a high
    task correlation.  A target unrelated to the source (another linear function, orthogonal to the source's) gets a low
    one and ranks as well as a model of its own points alone."""
    space, X, truth, source, unrelated = toy
    related = 3.0 * truth + 7.0 + 0.2 * np.sin(3 * X[:, 1])
    taus, gains, correlations = [], [], []
    for seed in range(4):
        train = np.random.default_rng(10 + seed).choice(len(X), 6, replace=False)
        transfer = TransferRegressor(source).fit(X[train], related[train])
        plain = GPNASRegressor(space=space, random_state=0).fit(X[train], related[train])
        tau_transfer, tau_plain = (kendalltau(m.predict(X), related)[0] for m in (transfer, plain))
        taus.append(tau_transfer)
        gains.append(tau_transfer - tau_plain)
        correlations.append(transfer.task_correlation_)
    assert np.mean(taus) > kendalltau(source.predict(X), related)[0] - 0.05
    assert np.mean(gains) > 0.1  # a model of the 6 points alone already ranks at about 0.6 here
    assert min(correlations) > 0.5
    assert abs(kendalltau(truth, unrelated)[0]) < 0.15
    train = np.random.default_rng(20).choice(len(X), 40, replace=False)
    transfer = TransferRegressor(source).fit(X[train], unrelated[train])
    plain = GPNASRegressor(space=space, random_state=0).fit(X[train], unrelated[train])
    assert transfer.task_correlation_ < 0.3
    assert kendalltau(transfer.predict(X), unrelated)[0] > kendalltau(plain.predict(X), unrelated)[0] - 0.05


def test_outputs_and_errors(toy):
    space, X, truth, source, unrelated = toy
    train = np.arange(0, 200, 20)
    model = TransferRegressor(source).fit(X[train], truth[train] * 2)
    mean, std = model.predict(X[:30], return_std=True)
    lower, upper = model.predict_interval(X[:30], coverage=0.9)
    assert mean.shape == std.shape == lower.shape == (30,) and np.all(std > 0)
    assert np.all(lower < mean) and np.all(mean < upper)
    wide = model.predict_interval(X[:30], coverage=0.99)
    assert np.all(wide[0] < lower) and np.all(wide[1] > upper)
    assert model.score(X, truth * 2) > 0.8
    with pytest.raises(NotFittedError):
        TransferRegressor(source).predict(X[:2])
    with pytest.raises(NotFittedError):
        TransferRegressor(GPNASRegressor(space=space)).fit(X[train], truth[train])
    with pytest.raises(TypeError, match="GPNASRegressor"):
        TransferRegressor(object()).fit(X[train], truth[train])
    with pytest.raises(ArchitectureError):
        TransferRegressor(source).fit(np.c_[X[:3, :4], [[3], [0], [0]]], truth[:3])
    bad = truth[train].copy()
    bad[2] = np.nan
    with pytest.raises(DataError):
        TransferRegressor(source).fit(X[train], bad)
    with pytest.raises(ValueError, match="max_correlation"):
        TransferRegressor(source, max_correlation=1.5).fit(X[train], truth[train])
    with pytest.raises(ValueError, match="coverage"):
        model.predict_interval(X[:2], coverage=1.0)


def test_save_and_load_round_trip_with_the_source_inside(toy, tmp_path):
    from gpnas import load_model, save_model
    from gpnas.exceptions import ModelFileError

    space, X, truth, source, _ = toy
    train = np.arange(3, 240, 17)
    model = TransferRegressor(source, max_correlation=0.9, task_scale=False).fit(X[train], 2 * truth[train] + 1)
    again = load_model(save_model(model, tmp_path / "t.npz"))
    assert isinstance(again, TransferRegressor)
    assert (again.max_correlation, again.task_scale) == (0.9, False)
    np.testing.assert_allclose(again.model_.theta_, model.model_.theta_)
    for a, b in zip(again.predict_summary(X), model.predict_summary(X)):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(again.source.predict(X), source.predict(X), rtol=1e-9, atol=1e-9)
    # a damaged file names the problem
    import io
    import json

    with np.load(tmp_path / "t.npz", allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    arrays["theta"] = arrays["theta"][:-1]
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    buffer.seek(0)
    with pytest.raises(ModelFileError, match="damaged"):
        load_model(buffer)
    del arrays["source_model"]
    arrays["theta"] = model.model_.theta_
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    buffer.seek(0)
    with pytest.raises(ModelFileError, match="not a gpnas model"):
        load_model(buffer)
    assert json.loads(str(arrays["meta"]))["kind"] == "transfer"


def test_summary_matches_predict_and_interval(toy):
    space, X, truth, source, _ = toy
    model = TransferRegressor(source).fit(X[:40:3], truth[:40:3])
    mean, std, lower, upper = model.predict_summary(X[:50], coverage=0.8)
    np.testing.assert_allclose(mean, model.predict(X[:50]))
    np.testing.assert_allclose(std, model.predict(X[:50], return_std=True)[1])
    want = model.predict_interval(X[:50], coverage=0.8)
    np.testing.assert_allclose(lower, want[0])
    np.testing.assert_allclose(upper, want[1])


def test_leave_one_out_residuals_and_the_jackknife_width(toy):
    """The target's standardized leave-one-out residuals equal the brute-force ones (condition the joint GP on all
    data but one target point, offsets held, predict that point's measurement); the interval widens to their
    ceil(0.95 (n + 1))-th smallest where it exceeds the Gaussian quantile, and stays Gaussian below 19 points."""
    from scipy.special import ndtri

    space, X, truth, source, _ = toy
    rng = np.random.default_rng(5)  # a draw whose largest residual exceeds the Gaussian quantile (most do)
    train = rng.choice(len(X), 24, replace=False)
    target = 2 * truth[train] + rng.standard_normal(24) * 0.8 + np.sin(4 * X[train, 2])  # noisy, partly new
    model = TransferRegressor(source).fit(X[train], target)
    gp = model.model_
    Xall = np.vstack([source.X_train_, X[train]])
    s = gp.s_train_
    C = gp.covariance(gp.encoder.transform(Xall), s) + np.diag(gp.noise_at(s))
    r = gp.y_model_ - gp._mean_design(s) @ gp.mean_weights_
    brute = []
    for i in np.flatnonzero(s == 1.0):
        rest = np.arange(len(s)) != i
        k = C[i, rest]
        mean = k @ np.linalg.solve(C[np.ix_(rest, rest)], r[rest])
        var = C[i, i] - k @ np.linalg.solve(C[np.ix_(rest, rest)], k)
        brute.append(abs(r[i] - mean) / np.sqrt(var))
    np.testing.assert_allclose(model.loo_standardized_residuals_, np.sort(brute), rtol=1e-6)
    residuals = model.loo_standardized_residuals_
    rank = int(np.ceil(0.95 * 25))
    assert residuals[rank - 1] > ndtri(0.975)
    assert model.interval_halfwidth(0.95) == pytest.approx(residuals[rank - 1])
    mean, var = model.predict_latent(X[:5], include_noise=True)
    lower, upper = model.predict_interval(X[:5])
    width = model.interval_halfwidth(0.95)
    np.testing.assert_allclose(lower, model.target_transform_.inverse(mean - width * np.sqrt(var)))
    small = TransferRegressor(source).fit(X[train[:10]], target[:10])
    assert small.interval_halfwidth(0.95) == pytest.approx(ndtri(0.975))  # no rank 11 among 10 residuals
