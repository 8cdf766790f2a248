"""NAS-Bench-201 cells as PyTorch networks, built as NAS-Bench-201 builds them (the optional ``torch`` extra).

Dong & Yang (ICLR 2020), ``TinyNetwork`` with an ``InferCell``: a 3x3 stem convolution to ``C`` channels, three
stages of ``N`` cells (``C``, ``2C``, ``4C`` channels) joined by two residual reduction blocks (stride 2), then
batch norm, ReLU, global average pooling and a linear classifier.  A cell has four nodes; node ``j`` sums the
operations of its edges from the earlier nodes, in :data:`~gpnas.io.tables.NB201_EDGES` order.  Operations:
``none`` (zeros), ``skip_connect`` (identity), ``nor_conv_1x1`` and ``nor_conv_3x3`` (ReLU, convolution, batch norm),
``avg_pool_3x3`` (stride 1, padding excluded from the average).  With ``C = 16``, ``N = 5`` and 10 classes the
parameter count of every cell equals NAS-Bench-201's own (tested against NAS-Bench-Suite-Zero's ``params``).

``batch_norm=False`` builds the same network without batch norm, as synflow is computed (Tanaka et al. 2020;
NASLib builds its synflow copy so).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

#: Operation names in choice-index order (as :data:`gpnas.io.tables.NB201_OPS`).
OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: ``(from node, to node)`` of the six edges, in choice order (as :data:`gpnas.io.tables.NB201_EDGES`).
EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))


def _norm(channels: int, batch_norm: bool) -> nn.Module:
    return nn.BatchNorm2d(channels) if batch_norm else nn.Identity()


class ReLUConvBN(nn.Sequential):
    def __init__(self, cin: int, cout: int, kernel: int, stride: int, batch_norm: bool) -> None:
        super().__init__(nn.ReLU(inplace=False), nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False),
                         _norm(cout, batch_norm))


class AveragePool3x3(nn.Module):
    """``nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)``, the same values, faster on the CPU.

    For float32 on the CPU the window sums come from a depthwise convolution with a kernel of ones, divided by the
    number of pixels inside the image: oneDNN's depthwise convolution is 3-5x faster, forward and backward, than
    ATen's ``avg_pool2d`` (which took a third of a NAS-Bench-201 network's zero-cost proxy time).  Other dtypes and
    devices use ``avg_pool2d`` itself (in float64 it is the faster of the two).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype != torch.float32 or x.device.type != "cpu" or x.dim() != 4:
            return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
        channels, height, width = x.shape[1:]
        window_sums = F.conv2d(x, _ones_kernel(channels), padding=1, groups=channels)
        return window_sums / _pixels_inside(height, width)


# The cached constants are made outside inference mode: an inference tensor could not take part in a later pass
# that autograd records.
@lru_cache(maxsize=16)
def _ones_kernel(channels: int) -> torch.Tensor:
    with torch.inference_mode(False):
        return torch.ones((channels, 1, 3, 3))


@lru_cache(maxsize=16)
def _pixels_inside(height: int, width: int) -> torch.Tensor:
    """How many of each pixel's 3x3 window lie inside a ``height x width`` image (2 or 3 along each axis)."""
    def along(size: int) -> torch.Tensor:
        counts = torch.full((size,), 3.0)
        counts[0] -= 1
        counts[-1] -= 1  # an axis of one pixel: 3 - 1 - 1
        return counts
    with torch.inference_mode(False):
        return along(height)[:, None] * along(width)[None, :]


class Zero(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def _operation(name: str, channels: int, batch_norm: bool) -> nn.Module:
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1, batch_norm)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1, batch_norm)
    if name == "avg_pool_3x3":
        return AveragePool3x3()
    raise ValueError(f"unknown NAS-Bench-201 operation {name!r}; expected one of {OPS}")


class Cell(nn.Module):
    """One NAS-Bench-201 cell: ``ops[k]`` on edge ``EDGES[k]``."""

    def __init__(self, ops: Sequence[str], channels: int, batch_norm: bool = True) -> None:
        super().__init__()
        self.edges = nn.ModuleList(_operation(op, channels, batch_norm) for op in ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for target in (1, 2, 3):
            nodes.append(sum(op(nodes[source]) for op, (source, to) in zip(self.edges, EDGES) if to == target))
        return nodes[3]


class ResidualReduction(nn.Module):
    """NAS-Bench-201's ``ResNetBasicblock`` with stride 2 between stages."""

    def __init__(self, cin: int, cout: int, batch_norm: bool = True) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(cin, cout, 3, 2, batch_norm)
        self.conv_b = ReLUConvBN(cout, cout, 3, 1, batch_norm)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(cin, cout, 1, 1, 0, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class NB201Network(nn.Module):
    """The NAS-Bench-201 network of one cell ``ops`` (six operation names, or choice indices into :data:`OPS`)."""

    def __init__(self, ops: Sequence[str | int], channels: int = 16, cells_per_stage: int = 5, num_classes: int = 10,
                 in_channels: int = 3, batch_norm: bool = True) -> None:
        super().__init__()
        ops = [OPS[int(o)] if not isinstance(o, str) else o for o in ops]
        if len(ops) != len(EDGES):
            raise ValueError(f"a NAS-Bench-201 cell has {len(EDGES)} edges, got {len(ops)} operations")
        self.stem = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1, bias=False),
                                  _norm(channels, batch_norm))
        layers, c = [], channels
        for stage in range(3):
            if stage:
                layers.append(ResidualReduction(c, 2 * c, batch_norm))
                c *= 2
            layers += [Cell(ops, c, batch_norm) for _ in range(cells_per_stage)]
        self.cells = nn.Sequential(*layers)
        self.head = nn.Sequential(_norm(c, batch_norm), nn.ReLU(inplace=False), nn.AdaptiveAvgPool2d(1),
                                  nn.Flatten())
        self.classifier = nn.Linear(c, num_classes)

    def feature_blocks(self) -> list[nn.Module]:
        """The stem and every cell and residual block, in order (the blocks AZ-NAS's proxies read)."""
        return [self.stem, *self.cells]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.head(self.cells(self.stem(x))))
