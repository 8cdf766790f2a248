"""Latency of a built network on this machine: the ``measure`` of :func:`gpnas.io.measure.fill_measurements`.

A latency model of a new device (``gpnas select --latency DEVICE=FILE``, README) learns from a handful of measured
architectures; on the device itself, these functions time them.
"""

from __future__ import annotations

from time import perf_counter
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn


def measure_latency(net: nn.Module, input_shape: Sequence[int], batch_size: int = 1, repeats: int = 30,
                    warmup: int = 5) -> float:
    """Milliseconds of one forward pass of ``net`` (evaluation mode, no gradients) on a batch of ``batch_size``
    zero inputs of ``input_shape``: the median of ``repeats`` timed passes after ``warmup`` untimed ones (the first
    passes pay for allocation and kernel selection; the median ignores a pass the scheduler interrupted)."""
    if int(repeats) < 1 or int(warmup) < 0 or int(batch_size) < 1:
        raise ValueError(f"need repeats >= 1, warmup >= 0 and batch_size >= 1, got {repeats}, {warmup}, {batch_size}")
    net.eval()
    x = torch.zeros((int(batch_size), *input_shape))
    times = []
    with torch.no_grad():
        for _ in range(int(warmup)):
            net(x)
        for _ in range(int(repeats)):
            start = perf_counter()
            net(x)
            times.append(perf_counter() - start)
    return 1000.0 * float(np.median(times))


def latency_measurer(build: Callable[[Mapping[str, Any]], nn.Module], input_shape: Sequence[int],
                     **timing) -> Callable[[Mapping[str, Any]], float]:
    """``measure(arch) -> ms``: ``build(arch)`` (the architecture as a dict, as an objective gets it) timed by
    :func:`measure_latency` with ``timing`` (``batch_size``, ``repeats``, ``warmup``)."""
    measure_latency(nn.Identity(), input_shape, **timing)  # a bad timing setting fails now, not at the first row

    def measure(arch: Mapping[str, Any]) -> float:
        return measure_latency(build(arch), input_shape, **timing)

    return measure
