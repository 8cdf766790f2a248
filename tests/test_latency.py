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


def test_fbnet_and_ofa_rows_decode_to_the_networks_help_measured(real_table):
    """HELP's FBNet rows are 22 op indices; OFA rows map to depths, per-block kernel/expansion (``off`` beyond a
    stage's depth) and the resolution, checked field by field against the file's first row."""
    import csv

    from gpnas.io.latency import FBNET_OPS, load_help_latency
    from gpnas.io.tables import _require, data_dir

    real_table("nb201-cifar10")
    space, X, latency = load_help_latency("fbnet", ["fpga"])
    assert X.shape == (5000, 22) and space.validate(X).shape == X.shape and len(np.unique(X, axis=0)) == 5000
    with open(_require(data_dir(None) / "help-latency" / "fbnet_latency.csv"), newline="") as handle:
        first = next(csv.DictReader(handle))
    assert [FBNET_OPS[i] for i in X[0]] == [FBNET_OPS[int(v)] for v in first["arch"].split("-")]
    assert latency["fpga"][0] == float(first["fpga"])
    space, X, latency = load_help_latency("ofa", ["titan_rtx_64"])
    with open(_require(data_dir(None) / "help-latency" / "ofa_mbv3_latency.csv"), newline="") as handle:
        first = next(csv.DictReader(handle))
    arch = space.to_dict_arch(X[0])
    depths = [int(v) for v in first["d"].split("-")]
    kernels = [int(v) for v in first["ks"].split("-")]
    assert [arch[f"d{s}"] for s in range(5)] == depths and arch["resolution"] == int(first["r"])
    for s in range(5):
        for b in range(4):
            assert arch[f"s{s}b{b}_kernel"] == (kernels[4 * s + b] if b < depths[s] else "off")
    assert latency["titan_rtx_64"][0] == float(first["titan_rtx_64"])
