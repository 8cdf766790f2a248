"""PyTorch networks built from a :class:`~gpnas.nets.spaces.NetPlan` (the optional ``torch`` extra)."""

from __future__ import annotations

import torch
from torch import nn

from gpnas.nets.counting import make_divisible


def _activation(name: str, channels: int) -> nn.Module:
    if name == "relu":
        return nn.ReLU(inplace=True)
    if name == "hswish":
        return nn.Hardswish(inplace=True)
    return nn.PReLU(channels)


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        squeeze = make_divisible(channels // 4)
        self.reduce = nn.Conv2d(channels, squeeze, 1)
        self.expand = nn.Conv2d(squeeze, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean((2, 3), keepdim=True)
        return x * nn.functional.hardsigmoid(self.expand(nn.functional.relu(self.reduce(s))))


def _conv_bn(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, padding: int | None = None):
    return [nn.Conv2d(cin, cout, k, stride, k // 2 if padding is None else padding, groups=groups, bias=False),
            nn.BatchNorm2d(cout)]


class InvertedResidual(nn.Module):
    """Expand (1x1), depthwise (k x k), optional SE, project (1x1); residual when shapes allow."""

    def __init__(self, block) -> None:
        super().__init__()
        act = block.activation
        layers = _conv_bn(block.cin, block.expanded, 1) + [_activation(act, block.expanded)]
        layers += _conv_bn(block.expanded, block.expanded, block.kernel, block.stride, block.expanded)
        layers += [_activation(act, block.expanded)]
        if block.se:
            layers.append(SqueezeExcite(block.expanded))
        layers += _conv_bn(block.expanded, block.cout, 1)
        self.body = nn.Sequential(*layers)
        self.residual = block.residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


class MobileNetV3(nn.Module):
    def __init__(self, plan, dropout: float = 0.2) -> None:
        super().__init__()
        stem = _conv_bn(plan.in_channels, plan.stem_channels, 3, plan.stem_stride) + [nn.Hardswish(inplace=True)]
        blocks = [InvertedResidual(b) for b in plan.blocks]
        head = _conv_bn(plan.blocks[-1].cout, plan.head_channels, 1) + [nn.Hardswish(inplace=True)]
        self.features = nn.Sequential(*stem, *blocks, *head)
        self.classifier = nn.Sequential(nn.Linear(plan.head_channels, plan.last_channels), nn.Hardswish(inplace=True),
                                        nn.Dropout(dropout), nn.Linear(plan.last_channels, plan.num_outputs))

    def feature_blocks(self) -> list[nn.Module]:
        """The inverted residual blocks, in order (the blocks AZ-NAS's proxies read)."""
        return [m for m in self.features if isinstance(m, InvertedResidual)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).mean((2, 3)))


class MobileFaceNet(nn.Module):
    """Outputs an embedding of ``plan.num_outputs`` dimensions (the classifier is a separate margin head)."""

    def __init__(self, plan) -> None:
        super().__init__()
        c = plan.stem_channels
        layers = _conv_bn(plan.in_channels, c, 3, 2) + [nn.PReLU(c)]
        layers += _conv_bn(c, c, 3, 1, c) + [nn.PReLU(c)]
        layers += [InvertedResidual(b) for b in plan.blocks]
        layers += _conv_bn(plan.blocks[-1].cout, plan.head_channels, 1) + [nn.PReLU(plan.head_channels)]
        layers += _conv_bn(plan.head_channels, plan.head_channels, plan.final_size, 1, plan.head_channels, padding=0)
        layers += _conv_bn(plan.head_channels, plan.num_outputs, 1)
        self.features = nn.Sequential(*layers)

    def feature_blocks(self) -> list[nn.Module]:
        """The inverted residual blocks, in order (the blocks AZ-NAS's proxies read)."""
        return [m for m in self.features if isinstance(m, InvertedResidual)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).flatten(1)


def build_network(plan) -> nn.Module:
    """The ``nn.Module`` of a plan (MobileNetV3 classifier or MobileFaceNet embedder)."""
    return MobileNetV3(plan) if plan.family == "mobilenetv3" else MobileFaceNet(plan)
