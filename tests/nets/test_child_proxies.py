"""Zero-cost proxies of the main job's children: the networks, the batch, and scoring spread over an executor."""

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the torch extra is not installed")
from torch import nn  # noqa: E402

from gpnas.nets.objectives import TrainingObjective  # noqa: E402
from gpnas.nets.proxies import PROXIES, network_proxies, score_architectures, without_batch_norm  # noqa: E402
from gpnas.nets.spaces import mobilenetv3_space  # noqa: E402
from gpnas.run.executors import ProcessPoolExecutor  # noqa: E402

SPACE = mobilenetv3_space()


@pytest.fixture(scope="module")
def objective():
    return TrainingObjective(dataset="digits", resolution=12, width=0.25, epochs=1, seed=3)


def test_children_build_from_choice_indices_with_and_without_batch_norm(objective):
    build = pickle.loads(pickle.dumps(objective.networks(SPACE)))  # crosses a process boundary
    arch = SPACE.sample(1, random_state=0)[0]
    net, bare = build(arch), build(arch, batch_norm=False)
    norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert norms and not [m for m in bare.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    convs = [m.weight.shape for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert convs == [m.weight.shape for m in bare.modules() if isinstance(m, nn.Conv2d)]
    assert sum(p.numel() for p in net.parameters()) - sum(p.numel() for p in bare.parameters()) == sum(
        2 * m.num_features for m in norms)  # exactly the batch norms' scales and shifts are gone
    inputs, labels = objective.proxy_batch(16)
    assert net(inputs).shape == (16, 10) and bare(inputs).shape == (16, 10)
    assert all(np.isfinite(network_proxies(build, arch, inputs, labels)))


def test_the_proxy_batch_is_seeded_and_never_holds_a_validation_image(objective):
    inputs, labels = objective.proxy_batch(64)
    again, _ = objective.proxy_batch(64)
    assert torch.equal(inputs, again) and inputs.shape == (64, 1, 12, 12)
    data = objective.data()
    _, validation = objective.split()
    flat = data.images.reshape(len(data.images), -1)
    picked = [int(np.flatnonzero((flat == row.numpy().ravel()).all(axis=1))[0]) for row in inputs]
    assert not set(picked) & set(validation.tolist())
    np.testing.assert_array_equal(labels.numpy(), data.labels[picked])


def test_without_batch_norm_replaces_nested_norms_by_the_identity():
    net = nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2), nn.Sequential(nn.Conv2d(2, 2, 1), nn.BatchNorm2d(2)))
    bare = without_batch_norm(net)
    assert [type(m).__name__ for m in bare.modules()].count("Identity") == 2
    x = torch.randn(3, 1, 4, 4)
    assert torch.equal(bare(x), bare[2][0](bare[0](x)))


def test_scoring_over_an_executors_workers_equals_scoring_here(objective):
    build = objective.networks(SPACE)
    X = SPACE.sample(3, random_state=1)
    inputs, labels = objective.proxy_batch(8)
    here = score_architectures(build, X, inputs, labels, workers=1, chunk=1, progress=False)
    pool = ProcessPoolExecutor(2)
    try:
        spread = score_architectures(build, X[::-1], inputs, labels, chunk=1, progress=False, mapper=pool.map)
    finally:
        pool.shutdown()
    assert spread.names == list(PROXIES)
    np.testing.assert_allclose(spread.lookup(X), here.lookup(X), rtol=1e-9)
