"""Zero-cost proxies (:mod:`gpnas.nets.proxies`) and NAS-Bench-201 networks (:mod:`gpnas.nets.nb201`)."""

import csv
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the torch extra is not installed")
from torch import nn  # noqa: E402

from gpnas.nets.nb201 import NB201Network  # noqa: E402
from gpnas.nets.proxies import (  # noqa: E402
    PROXIES,
    VOTERS,
    ZEN_GAMMA,
    batch_proxies,
    block_proxies,
    expressivity_of,
    feature_blocks,
    gaussian_init,
    network_proxies,
    random_batch,
    score_architectures,
    synflow_and_flops,
    zen_score,
)


def _two_layers():
    net = nn.Sequential(nn.Linear(2, 2, bias=False), nn.ReLU(), nn.Linear(2, 1, bias=False))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, -2.0], [3.0, 0.5]]))
        net[2].weight.copy_(torch.tensor([[2.0, -1.0]]))
    return net


def test_synflow_and_flops_by_hand():
    """|W1| = [[1, 2], [3, .5]], |W2| = [2, 1], input ones: hidden h = (3, 3.5), R = 2*3 + 1*3.5 = 9.5.
    dR/dW2 = h, so sum |W2 * h| = 9.5; dR/dW1[i, j] = |W2|_i, so sum |W1 * dR/dW1| = 2*3 + 1*3.5 = 9.5; synflow 19.
    Multiply-accumulates: 2*2 + 2*1 = 6."""
    synflow, flops = synflow_and_flops(_two_layers(), (2,))
    assert synflow == pytest.approx(19.0)
    assert flops == pytest.approx(6e-6)


def test_batch_proxies_by_hand():
    """Identity first layer: the ReLU's inputs are the inputs.  Codes (1, 0) and (1, 1) agree on 1 of 2 units:
    K = [[2, 1], [1, 2]], log det 3.  The Jacobians against finite differences; snip and grad_norm against a
    cross-entropy computed by hand."""
    net = nn.Sequential(nn.Linear(2, 2, bias=False), nn.ReLU(), nn.Linear(2, 3, bias=False))
    with torch.no_grad():
        net[0].weight.copy_(torch.eye(2))
        net[2].weight.copy_(torch.tensor([[0.5, -1.0], [2.0, 0.3], [-0.7, 1.1]]))
    x = torch.tensor([[1.0, -1.0], [2.0, 3.0]])
    labels = torch.tensor([2, 0])
    values = batch_proxies(net, x, labels)
    nwot, jacov, snip, grad_norm = (values[k] for k in ("nwot", "jacov", "snip", "grad_norm"))
    # no blocks given: AZ-NAS's proxies are not computed
    assert all(np.isnan(values[k]) for k in ("expressivity", "progressivity", "trainability"))
    assert nwot == pytest.approx(math.log(3.0))
    W2 = net[2].weight.detach().numpy().astype(float)

    def f(v):  # sum of the outputs of one input
        return float(W2.sum(axis=0) @ np.maximum(v, 0.0))
    eps = 1e-6
    jac = np.array([[(f(v + eps * e) - f(v - eps * e)) / (2 * eps) for e in np.eye(2)] for v in x.numpy()])
    v = np.maximum(np.linalg.eigvalsh(np.corrcoef(jac)), 0.0)
    assert jacov == pytest.approx(float(-np.sum(np.log(v + 1e-5) + 1.0 / (v + 1e-5))), rel=1e-6)
    h = np.maximum(x.numpy().astype(float), 0.0)
    logits = h @ W2.T
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    d_logits = (p - np.eye(3)[labels.numpy()]) / 2  # mean cross-entropy over the batch of 2
    g2 = d_logits.T @ h
    g1 = ((d_logits @ W2) * (x.numpy() > 0)).T @ x.numpy().astype(float)
    assert snip == pytest.approx(np.abs(W2 * g2).sum() + np.abs(np.eye(2) * g1).sum(), rel=1e-5)
    assert grad_norm == pytest.approx(np.linalg.norm(g2) + np.linalg.norm(g1), rel=1e-5)


def _entropy_of_covariance(feature_map: np.ndarray) -> float:
    # numpy's own covariance (biased, channels as variables) and eigenvalues, then the Shannon entropy
    c = feature_map.shape[1]
    samples = feature_map.transpose(0, 2, 3, 1).reshape(-1, c)
    v = np.clip(np.linalg.eigvalsh(np.cov(samples, rowvar=False, bias=True)), 0.0, None)
    p = v / v.sum()
    return float(-(p * np.log(p + 1e-8)).sum())


def test_expressivity_against_numpy_and_its_bounds():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(4, 6, 5, 3)) @ np.eye(3)  # (B, C, H, W) with correlated channels below
    f[:, 1] = 2 * f[:, 0] + 0.1 * f[:, 1]
    assert expressivity_of(torch.tensor(f, dtype=torch.float32)) == pytest.approx(_entropy_of_covariance(f), rel=1e-5)
    # isotropic channels: log C (up to sampling); one direction: 0; constant features: 0
    white = rng.normal(size=(64, 8, 16, 16))
    assert expressivity_of(torch.tensor(white)) == pytest.approx(np.log(8), abs=2e-3)
    line = np.repeat(rng.normal(size=(4, 1, 5, 5)), 3, axis=1) * np.array([1.0, -2.0, 0.5])[None, :, None, None]
    assert expressivity_of(torch.tensor(line)) == pytest.approx(0.0, abs=1e-6)
    assert expressivity_of(torch.ones((2, 3, 4, 4))) == 0.0


def test_block_proxies_against_a_hand_computed_jacobian():
    """Two blocks after an input map: a 1x1 convolution (Jacobian W per position) and a 2x2 stride-2 convolution
    (downsampling: the input cotangent is pixel-unshuffled, channel c*4 + 2i + j).  ``M = g_in^T g_out / P`` and its
    largest singular value computed here with NumPy from the same seeded Rademacher cotangents."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn((3, 2, 4, 4), generator=gen, requires_grad=True)
    conv1 = nn.Conv2d(2, 3, 1, bias=False)
    conv2 = nn.Conv2d(3, 2, 2, stride=2, bias=False)
    with torch.no_grad():
        conv1.weight.copy_(torch.randn((3, 2, 1, 1), generator=gen))
        conv2.weight.copy_(torch.randn((2, 3, 2, 2), generator=gen))
    f0 = x * 1.0
    f1 = conv1(f0)
    f2 = conv2(f1)
    values = block_proxies([f0, f1, f2], seed=7)
    draws = torch.Generator().manual_seed(7)
    g1 = (torch.randint(0, 2, f1.shape, generator=draws).double() * 2 - 1).numpy()
    g2 = (torch.randint(0, 2, f2.shape, generator=draws).double() * 2 - 1).numpy()
    W1 = conv1.weight.detach().double().numpy()[:, :, 0, 0]  # (3, 2)
    W2 = conv2.weight.detach().double().numpy()  # (2, 3, 2, 2)
    # block 1: g_in = W1^T g_out at every position
    gin1 = np.einsum("oc,bohw->bchw", W1, g1)
    M1 = gin1.transpose(0, 2, 3, 1).reshape(-1, 2).T @ g1.transpose(0, 2, 3, 1).reshape(-1, 3) / (3 * 4 * 4)
    # block 2: input position (2h + i, 2w + j), channel c gets sum_o W2[o, c, i, j] g_out[o, h, w]
    gin2 = np.einsum("ocij,bohw->bcijhw", W2, g2).reshape(3, 3 * 4, 2, 2)  # unshuffled channel c*4 + 2i + j
    M2 = gin2.transpose(0, 2, 3, 1).reshape(-1, 12).T @ g2.transpose(0, 2, 3, 1).reshape(-1, 2) / (3 * 2 * 2)
    s1, s2 = (np.linalg.svd(m, compute_uv=False)[0] for m in (M1, M2))
    expected = np.mean([-s - 1 / (s + 1e-6) + 2 for s in (s1, s2)])
    assert values["trainability"] == pytest.approx(expected, rel=1e-5)
    e = [_entropy_of_covariance(f.detach().double().numpy()) for f in (f0, f1, f2)]
    assert values["expressivity"] == pytest.approx(sum(e), rel=1e-5)
    assert values["progressivity"] == pytest.approx(min(e[1] - e[0], e[2] - e[1]), rel=1e-5, abs=1e-6)


def test_block_proxies_leave_out_a_block_that_ignores_its_input():
    x = torch.randn((2, 3, 4, 4), requires_grad=True)
    f0 = x * 2.0
    f1 = torch.zeros((2, 3, 4, 4), requires_grad=True) + 1.0  # made without f0
    values = block_proxies([f0, f1])
    assert np.isnan(values["trainability"]) and np.isfinite(values["expressivity"])
    one = block_proxies([f0])
    assert np.isnan(one["progressivity"]) and np.isnan(one["trainability"])
    assert all(np.isnan(v) for v in block_proxies([]).values())


def test_feature_blocks_of_the_built_in_networks_and_the_fallback():
    net = NB201Network([3] * 6)
    blocks = feature_blocks(net)
    assert blocks[0] is net.stem and blocks[1:] == list(net.cells) and len(blocks) == 1 + 3 * 5 + 2
    plain = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Sequential(nn.Conv2d(4, 4, 1)), nn.Flatten())
    assert feature_blocks(plain) == list(plain)
    assert feature_blocks(nn.Linear(2, 2)) == []
    # through network_proxies: finite AZ-NAS values on a real cell, NaN on a network with no feature maps
    inputs, labels = random_batch((3, 32, 32), 4, 10, seed=0)
    values = dict(zip(PROXIES, network_proxies(NB201Network, [3, 1, 0, 2, 4, 1], inputs, labels)))
    assert all(np.isfinite(values[k]) for k in ("expressivity", "progressivity", "trainability"))
    assert 0 < values["expressivity"] <= len(blocks) * np.log(64)


def test_zen_score_against_numpy():
    """A 1x1 convolution, batch norm (training mode: the batch's own statistics), ReLU, pooling: the Zen-score
    computed with NumPy from the same weights and inputs; the batch norm's running statistics do not matter."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 3, 1, bias=False), nn.BatchNorm2d(3), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                        nn.Flatten(), nn.Linear(3, 2))
    gaussian_init(net)
    net[1].running_var.fill_(123.0)
    x, noise = torch.randn(4, 2, 3, 3), torch.randn(4, 2, 3, 3)
    W = net[0].weight.detach().numpy()[:, :, 0, 0].astype(float)

    def pre_pool(inputs):
        y = np.einsum("oi,bihw->bohw", W, inputs.numpy().astype(float))
        var = y.var(axis=(0, 2, 3), keepdims=True)
        return np.maximum((y - y.mean(axis=(0, 2, 3), keepdims=True)) / np.sqrt(var + 1e-5), 0.0), var
    clean, var = pre_pool(x)
    perturbed, _ = pre_pool(x + ZEN_GAMMA * noise)
    unbiased = var * 36 / 35  # 4 inputs of 3x3 values per channel
    expected = np.log(np.abs(clean - perturbed).reshape(4, -1).sum(axis=1).mean()) + np.log(np.sqrt(unbiased.mean()))
    assert zen_score(net, x, noise) == pytest.approx(expected, rel=1e-5)
    assert net[1].momentum == 0.1  # the network's batch norm is left as it was configured
    # without a pooling layer the network's output is compared
    flat = nn.Sequential(nn.Flatten(), nn.Linear(18, 2, bias=False))
    V = flat[1].weight.detach().numpy().astype(float)
    out = (x.numpy().reshape(4, -1).astype(float) - (x + ZEN_GAMMA * noise).numpy().reshape(4, -1)) @ V.T
    assert zen_score(flat, x, noise) == pytest.approx(np.log(np.abs(out).sum(axis=1).mean()), rel=1e-4)


class _PoolTwice(nn.Module):
    """The same pooling module called twice in a pass (as a shared squeeze-and-excite pool would be)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 1, bias=False)
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        y = self.conv(x)
        y = y * self.pool(y)
        return self.pool(torch.relu(y)).flatten(1)


def test_zen_score_takes_the_pool_input_of_its_last_call_in_each_pass():
    torch.manual_seed(0)
    net = gaussian_init(_PoolTwice())
    x, noise = torch.randn(4, 2, 3, 3), torch.randn(4, 2, 3, 3)

    def pre_pool(inputs):
        with torch.no_grad():
            y = net.conv(inputs)
            return torch.relu(y * y.mean((2, 3), keepdim=True)).double()
    expected = np.log(float((pre_pool(x) - pre_pool(x + ZEN_GAMMA * noise)).abs().reshape(4, -1).sum(1).mean()))
    assert zen_score(net, x, noise) == pytest.approx(expected, rel=1e-6)


def test_gaussian_init_draws_unit_weights():
    net = gaussian_init(nn.Sequential(nn.Conv2d(16, 32, 3), nn.BatchNorm2d(32), nn.Linear(8, 4)))
    assert net[0].weight.std().item() == pytest.approx(1.0, abs=0.05)
    assert abs(net[0].weight.mean().item()) < 0.05 and torch.all(net[0].bias == 0)
    assert torch.all(net[1].weight == 1) and torch.all(net[1].bias == 0) and torch.all(net[2].bias == 0)


def _listed_cells(n):
    """NB201 cells NAS-Bench-Suite-Zero lists itself (no borrowed values), with their published proxies."""
    from gpnas.io.tables import NB201_OPS, data_dir

    path = data_dir() / "nb201-zero-cost" / "nb201_cifar10_zc_proxies.csv"
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows = [rows[i] for i in np.random.default_rng(0).choice(len(rows), n, replace=False)]
    X = np.array([[NB201_OPS.index(t.split("~")[0]) for t in r["net_str"].split("|") if "~" in t] for r in rows])
    return X, {k: np.array([float(r[k]) for r in rows]) for k in ("params", "flops", "synflow", "zen")}


def test_nb201_networks_match_the_published_params_flops_and_synflow(real_table):
    """The project's NB201 networks against NAS-Bench-Suite-Zero on 25 cells: parameter counts equal, FLOPs,
    synflow and zen rank alike (NB201's FLOPs also count what is not a convolution or linear layer)."""
    from scipy.stats import spearmanr

    real_table("nb201-cifar10")
    X, published = _listed_cells(25)
    params = np.array([sum(p.numel() for p in NB201Network(x).parameters()) / 1e6 for x in X])
    np.testing.assert_allclose(params, published["params"], rtol=1e-9)
    ours = np.array([synflow_and_flops(NB201Network(x, batch_norm=False), (3, 32, 32)) for x in X])
    assert spearmanr(ours[:, 1], published["flops"])[0] > 0.95
    assert spearmanr(ours[:, 0], published["synflow"])[0] > 0.95
    # zen on seeded Gaussian inputs (NAS-Bench-Suite-Zero's used its own draws and batch size)
    x, noise = random_batch((3, 32, 32), 8, 10, seed=0)[0], random_batch((3, 32, 32), 8, 10, seed=1)[0]
    zen = np.array([zen_score(gaussian_init(NB201Network(cell)), x, noise) for cell in X])
    assert spearmanr(zen, published["zen"])[0] > 0.85


def test_nb201_network_shapes_and_operations():
    net = NB201Network(["nor_conv_3x3"] * 6)
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in NB201Network([3] * 6, batch_norm=False).modules()) == 0
    with pytest.raises(ValueError, match="6 edges"):
        NB201Network([1, 2, 3])
    with pytest.raises(ValueError, match="unknown NAS-Bench-201 operation"):
        NB201Network(["conv_7x7"] * 6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [(8, 16, 32, 32), (2, 3, 5, 7), (1, 2, 1, 1), (3, 4, 2, 1)])
def test_average_pool_equals_torchs_without_padding(dtype, shape):
    # the NAS-Bench-201 operation against nn.AvgPool2d(count_include_pad=False), values and input gradients
    from gpnas.nets.nb201 import AveragePool3x3

    x = torch.randn(shape, dtype=dtype, generator=torch.Generator().manual_seed(0)).requires_grad_(True)
    cotangent = torch.randn(shape, dtype=dtype, generator=torch.Generator().manual_seed(1))
    ours, reference = AveragePool3x3()(x), nn.AvgPool2d(3, 1, 1, count_include_pad=False)(x)
    tolerance = 1e-6 if dtype == torch.float32 else 1e-13
    np.testing.assert_allclose(ours.detach().numpy(), reference.detach().numpy(), rtol=tolerance, atol=tolerance)
    (grad_ours,) = torch.autograd.grad(ours, x, cotangent)
    (grad_reference,) = torch.autograd.grad(reference, x, cotangent)
    np.testing.assert_allclose(grad_ours.numpy(), grad_reference.numpy(), rtol=tolerance, atol=tolerance)
    with torch.inference_mode():  # the cached constants are made here first: a later recorded pass still works
        AveragePool3x3()(torch.ones((1, 5, 6, 6)))
    AveragePool3x3()(torch.ones((1, 5, 6, 6), requires_grad=True)).sum().backward()


def test_scores_are_reproducible_and_one_per_distinct_network():
    X = np.array([[3, 1, 0, 2, 4, 1], [1, 1, 1, 1, 1, 1], [3, 1, 0, 2, 4, 1]])
    inputs, labels = random_batch((3, 32, 32), 4, 10, seed=1)
    a = score_architectures(NB201Network, X, inputs, labels, workers=1, progress=False)
    b = score_architectures(NB201Network, X[::-1], inputs, labels, workers=2, chunk=1, progress=False)
    assert len(a) == 2 and a.names == list(PROXIES)
    # AZ-NAS's four vote (+1), the others are model inputs only (0)
    np.testing.assert_array_equal(a.signs, [1.0 if n in VOTERS else 0.0 for n in PROXIES])
    assert set(VOTERS) == {"flops", "expressivity", "progressivity", "trainability"}
    np.testing.assert_allclose(a.vote(), a.subset(list(VOTERS)).vote())
    np.testing.assert_allclose(a.lookup(X), b.lookup(X), rtol=1e-10)
    np.testing.assert_allclose(a.lookup(X[:1])[0], network_proxies(NB201Network, X[0], inputs, labels), rtol=1e-10)
    # a cell whose output ignores its input (all-none edges) has no Jacobian correlation: the worst value is used
    dead = score_architectures(NB201Network, np.array([[0] * 6, [3] * 6]), inputs, labels, workers=1,
                               progress=False)
    jacov = PROXIES.index("jacov")
    assert dead.values[0, jacov] == dead.values[:, jacov].min() and np.isfinite(dead.values).all()


def test_one_network_per_class_when_keys_are_given():
    X = np.array([[3, 1, 0, 2, 4, 1], [1, 1, 1, 1, 1, 1], [3, 1, 0, 2, 4, 2]])
    inputs, labels = random_batch((3, 32, 32), 4, 10)
    side = score_architectures(NB201Network, X, inputs, labels, workers=1, progress=False, keys=["a", "b", "a"])
    assert len(side) == 3
    np.testing.assert_array_equal(side.lookup(X[2:]), side.lookup(X[:1]))  # the class's first row's values
    with pytest.raises(ValueError, match="one class per architecture"):
        score_architectures(NB201Network, X, inputs, labels, workers=1, progress=False, keys=["a"])
