"""A latency model for an unseen device from a few measurements and the other devices' latencies."""

import numpy as np
from scipy.stats import spearmanr

from gpnas import GPNASRegressor
from gpnas.gp.side_features import SideFeatures
from gpnas.sampling.design import farthest_point_design


def test_farthest_point_design_is_maximin_by_brute_force():
    """Each new point maximises its distance to the chosen ones (checked against all candidates)."""
    rng = np.random.default_rng(0)
    X = np.arange(60)[:, None]
    side = SideFeatures(X, rng.standard_normal((60, 2)), ["a", "b"])
    chosen = farthest_point_design(side, 6, np.random.default_rng(1))
    from gpnas.gp.side_features import NormalScores

    S = NormalScores(side.values).transform(side.values)
    assert len(set(chosen.tolist())) == 6
    for i in range(1, 6):
        d = np.min(((S[:, None, :] - S[None, chosen[:i], :]) ** 2).sum(-1), axis=1)
        assert d[chosen[i]] == np.max(d)


def test_ten_measurements_rank_an_unseen_device(real_table):
    """HELP's protocol on one device: with the nine training devices as side features, ten measured cells of pixel2
    rank the rest better than the cell alone does (0.90 against 0.81 here)."""
    from gpnas.io.latency import HELP_TRAIN_DEVICES, latency_side_features, load_nb201_latency
    from gpnas.io.tables import nasbench201_space

    real_table("nb201-cifar10")
    side = latency_side_features(HELP_TRAIN_DEVICES)
    X, latency = load_nb201_latency(["pixel2"])
    y = np.log(latency["pixel2"])
    measured = farthest_point_design(side, 10, np.random.default_rng(0))
    rest = np.setdiff1d(np.arange(len(X)), measured)
    space = nasbench201_space()
    with_devices = GPNASRegressor(space=space, features=["choices"], side_features=side, random_state=0)
    alone = GPNASRegressor(space=space, random_state=0)
    rho = spearmanr(with_devices.fit(X[measured], y[measured]).predict(X[rest]), y[rest])[0]
    rho_alone = spearmanr(alone.fit(X[measured], y[measured]).predict(X[rest]), y[rest])[0]
    assert rho > 0.85 and rho > rho_alone + 0.05
