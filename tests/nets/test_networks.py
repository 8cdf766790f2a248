import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the torch extra is not installed")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from gpnas.nets import count_plan, mobilefacenet_plan, mobilefacenet_space, mobilenetv3_plan, mobilenetv3_space  # noqa: E402
from gpnas.nets.torch_models import build_network  # noqa: E402


def test_spaces_have_the_papers_sizes_and_groups():
    mbv3, mfn = mobilenetv3_space(), mobilefacenet_space()
    assert mbv3.size == 12**15 and mbv3.group_names == ["kernel", "expansion", "se"]
    assert mfn.size == 6**15 and mfn.group_names == ["expansion", "se"]


@pytest.mark.parametrize("family, width, size, classes, channels", [
    ("mobilenetv3", 1.0, 224, 1000, 3), ("mobilenetv3", 0.35, 16, 10, 1), ("mobilenetv3", 0.5, 32, 10, 3),
    ("mobilefacenet", 0.75, 112, 128, 3), ("mobilefacenet", 0.6, 32, 64, 3)])
def test_analytic_counts_agree_with_torch(family, width, size, classes, channels):
    space = mobilenetv3_space() if family == "mobilenetv3" else mobilefacenet_space()
    for seed in range(3):
        x = space.sample(1, random_state=seed)[0]
        if family == "mobilenetv3":
            plan = mobilenetv3_plan(x, width, size, classes, channels)
        else:
            plan = mobilefacenet_plan(x, width, size, classes, channels)
        net = build_network(plan).eval()
        counts = count_plan(plan)
        with FlopCounterMode(display=False) as counter:
            out = net(torch.zeros(2, channels, size, size))
        assert out.shape == (2, classes)
        assert counter.get_total_flops() == 2 * 2 * counts.macs  # 2 FLOPs per MAC, batch of 2
        assert sum(p.numel() for p in net.parameters()) == counts.params


def test_search_choices_change_the_network():
    space = mobilenetv3_space()
    small = dict(space.to_dict_arch(np.zeros(space.n_positions, dtype=int)))
    big = {k: (7 if "kernel" in k else 6 if "expansion" in k else "on") for k in small}
    c_small = count_plan(mobilenetv3_plan(small, 0.5, 32, 10, 3))
    c_big = count_plan(mobilenetv3_plan(big, 0.5, 32, 10, 3))
    assert c_big.macs > 2 * c_small.macs and c_big.params > c_small.params
    se_only = dict(small, b3_se="on")
    net = build_network(mobilenetv3_plan(se_only, 0.5, 32, 10, 3))
    assert sum(type(m).__name__ == "SqueezeExcite" for m in net.modules()) == 1
