"""The paper's search spaces (§4.1 MobileNetV3-large, §4.4 MobileFaceNet), defined without importing torch.

Each block's fixed skeleton (output channels, stride, activation) follows the original network; the searched choices
per block are grouped by operation type, which gives the kernel of Eq. 7 one term per type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from gpnas.space import Choice, SearchSpace

#: MobileNetV3-large's 15 inverted-residual blocks: (output channels, stride, activation), Howard et al. 2019, Table 1.
MBV3_BLOCKS = (
    (16, 1, "relu"), (24, 2, "relu"), (24, 1, "relu"), (40, 2, "relu"), (40, 1, "relu"), (40, 1, "relu"),
    (80, 2, "hswish"), (80, 1, "hswish"), (80, 1, "hswish"), (80, 1, "hswish"), (112, 1, "hswish"),
    (112, 1, "hswish"), (160, 2, "hswish"), (160, 1, "hswish"), (160, 1, "hswish"),
)
#: MobileFaceNet's 15 bottlenecks: (output channels, stride), Chen et al. 2018, Table 1 (expansion searched).
MFN_BLOCKS = ((64, 2),) + ((64, 1),) * 4 + ((128, 2),) + ((128, 1),) * 6 + ((128, 2),) + ((128, 1),) * 2


def mobilenetv3_space() -> SearchSpace:
    """Per block: kernel {3, 5, 7} x expansion {3, 6} x SE {off, on}; 15 blocks, 12^15 architectures."""
    choices = []
    for b in range(len(MBV3_BLOCKS)):
        choices += [Choice(f"b{b}_kernel", (3, 5, 7), "kernel"), Choice(f"b{b}_expansion", (3, 6), "expansion"),
                    Choice(f"b{b}_se", ("off", "on"), "se")]
    return SearchSpace(choices, name="mobilenetv3-large")


def mobilefacenet_space() -> SearchSpace:
    """Per bottleneck: expansion {2, 4, 6} x SE {off, on}; 15 bottlenecks, 6^15 architectures."""
    choices = []
    for b in range(len(MFN_BLOCKS)):
        choices += [Choice(f"b{b}_expansion", (2, 4, 6), "expansion"), Choice(f"b{b}_se", ("off", "on"), "se")]
    return SearchSpace(choices, name="mobilefacenet")


@dataclass(frozen=True)
class BlockPlan:
    """One inverted-residual block: channels, kernel, stride, SE, activation, and its input resolution."""

    cin: int
    expanded: int
    cout: int
    kernel: int
    stride: int
    se: bool
    activation: str
    size: int

    @property
    def residual(self) -> bool:
        return self.stride == 1 and self.cin == self.cout


@dataclass(frozen=True)
class NetPlan:
    """Everything needed to build or count a network: stem, blocks, head."""

    family: str
    in_channels: int
    input_size: int
    stem_channels: int
    stem_stride: int
    blocks: tuple
    head_channels: int
    last_channels: int
    num_outputs: int
    final_size: int


def _values(space: SearchSpace, arch: Mapping[str, Any] | Sequence[int]) -> dict[str, Any]:
    if isinstance(arch, Mapping):
        return space.to_dict_arch(space.from_dict_arch(arch))
    return space.to_dict_arch(arch)


def mobilenetv3_plan(arch, width: float = 1.0, input_size: int = 224, num_classes: int = 1000,
                     in_channels: int = 3) -> NetPlan:
    """MobileNetV3-large with the searched kernels, expansions and SE.  For inputs of 64 pixels or less the stem
    keeps the resolution, and for 32 or less so does the second block, so small images (digits, CIFAR) keep a
    spatial map through the network; the number of blocks and their activations never change."""
    from gpnas.nets.counting import make_divisible

    values = _values(mobilenetv3_space(), arch)
    stem = make_divisible(16 * width)
    stem_stride = 2 if input_size > 64 else 1
    size = -(-input_size // stem_stride)
    cin, blocks = stem, []
    for b, (channels, stride, act) in enumerate(MBV3_BLOCKS):
        if b == 1 and input_size <= 32:
            stride = 1
        cout = make_divisible(channels * width)
        expanded = make_divisible(cin * values[f"b{b}_expansion"])
        blocks.append(BlockPlan(cin, expanded, cout, values[f"b{b}_kernel"], stride, values[f"b{b}_se"] == "on",
                                act, size))
        size = -(-size // stride)
        cin = cout
    head = make_divisible(960 * width)
    last = make_divisible(1280 * width) if width > 1.0 else 1280
    return NetPlan("mobilenetv3", in_channels, input_size, stem, stem_stride, tuple(blocks), head, last,
                   num_classes, size)


def mobilefacenet_plan(arch, width: float = 0.75, input_size: int = 112, embedding: int = 128,
                       in_channels: int = 3) -> NetPlan:
    """MobileFaceNet with the searched expansions and SE; ``width`` scales every layer before the embedding."""
    from gpnas.nets.counting import make_divisible

    values = _values(mobilefacenet_space(), arch)
    stem = make_divisible(64 * width)
    size = -(-input_size // 2)
    cin, blocks = stem, []
    for b, (channels, stride) in enumerate(MFN_BLOCKS):
        cout = make_divisible(channels * width)
        expanded = make_divisible(cin * values[f"b{b}_expansion"])
        blocks.append(BlockPlan(cin, expanded, cout, 3, stride, values[f"b{b}_se"] == "on", "prelu", size))
        size = -(-size // stride)
        cin = cout
    head = make_divisible(512 * width)
    return NetPlan("mobilefacenet", in_channels, input_size, stem, 2, tuple(blocks), head, head, embedding, size)
