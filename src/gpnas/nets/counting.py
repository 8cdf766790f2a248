"""Analytic multiply-accumulate (MAC) and parameter counts of the paper's networks, without torch.

What is counted: every convolution and fully connected layer, MACs = output elements x (input channels / groups) x
kernel area, including the two 1x1 convolutions inside each squeeze-and-excitation module (on the pooled 1x1 map).
Parameters: all weights and biases, batch-norm scale and shift included.  Not counted as MACs: batch norm,
activations, the SE module's pooling and channel scaling, residual additions.  Counters disagree on these (fvcore,
thop and ptflops each include a different subset); ours matches ``torch.utils.flop_counter.FlopCounterMode``, which
counts only matrix products and convolutions, at 2 FLOPs per MAC (tested).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round channels to a multiple of ``divisor`` without going more than 10 % below (the MobileNet rule)."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * value else new


@dataclass
class Counter:
    macs: int = 0
    params: int = 0

    def conv(self, cin: int, cout: int, k: int, stride: int, size: int, groups: int = 1, bias: bool = False,
             bn: bool = True) -> int:
        out = math.ceil(size / stride)
        self.macs += out * out * cout * (cin // groups) * k * k
        self.params += cout * (cin // groups) * k * k + (cout if bias else 0) + (2 * cout if bn else 0)
        return out

    def linear(self, cin: int, cout: int, bias: bool = True) -> None:
        self.macs += cin * cout
        self.params += cin * cout + (cout if bias else 0)

    def se(self, channels: int) -> None:
        squeeze = make_divisible(channels // 4)
        self.linear(channels, squeeze)  # 1x1 convolutions with bias on the pooled map
        self.linear(squeeze, channels)


def count_plan(plan) -> Counter:
    """MACs and parameters of a :class:`~gpnas.nets.spaces.NetPlan`, as the torch builder lays it out."""
    c = Counter()
    size = c.conv(plan.in_channels, plan.stem_channels, 3, plan.stem_stride, plan.input_size)
    if plan.family == "mobilefacenet":
        c.conv(plan.stem_channels, plan.stem_channels, 3, 1, size, groups=plan.stem_channels)
        c.params += 2 * plan.stem_channels  # PReLU slopes of the stem and the depthwise layer
    for b in plan.blocks:
        c.conv(b.cin, b.expanded, 1, 1, b.size)
        out = c.conv(b.expanded, b.expanded, b.kernel, b.stride, b.size, groups=b.expanded)
        if b.se:
            c.se(b.expanded)
        c.conv(b.expanded, b.cout, 1, 1, out)
        if b.activation == "prelu":
            c.params += 2 * b.expanded
    last_in = plan.blocks[-1].cout
    c.conv(last_in, plan.head_channels, 1, 1, plan.final_size)
    if plan.family == "mobilenetv3":
        c.linear(plan.head_channels, plan.last_channels)
        c.linear(plan.last_channels, plan.num_outputs)
    else:
        c.params += plan.head_channels  # PReLU
        c.conv(plan.head_channels, plan.head_channels, plan.final_size, plan.final_size, plan.final_size,
               groups=plan.head_channels)  # global depthwise convolution (GDConv), linear
        c.conv(plan.head_channels, plan.num_outputs, 1, 1, 1)  # linear 1x1 to the embedding, with batch norm
    return c
