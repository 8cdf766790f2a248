"""Zero-cost proxies: what an untrained network says about itself, from one forward and backward pass.

For any architecture that can be built as a torch module (``build(arch) -> nn.Module``), :func:`network_proxies`
computes, with a fixed seed:

* ``params``: parameters, millions.
* ``flops``: multiply-accumulates of the convolutions and linear layers on one input, millions (as NAS-Bench-201
  and NAS-Bench-Suite-Zero count them).
* ``synflow`` (Tanaka et al., NeurIPS 2020; Abdelfattah et al., ICLR 2021): data-free.  The network without batch
  norm, in float64 (the product overflows float32), every weight replaced by its absolute value; with an all-ones
  input, ``R = sum(f(1))`` and the score is ``sum |theta * dR/dtheta|`` over convolution and linear weights.
* ``nwot`` (NASWOT, Mellor et al., ICML 2021): the binary ReLU activation codes ``c_i`` of the batch's inputs,
  ``K = C C^T + (1 - C)(1 - C)^T`` summed over ReLUs, score ``log |det K|``.
* ``jacov`` (Mellor et al. 2020, v1): the Jacobians ``J_i = d sum(f(x_i)) / d x_i``; score
  ``-sum_k [log(v_k + 1e-5) + 1 / (v_k + 1e-5)]`` over the eigenvalues ``v`` of their correlation matrix.
* ``snip`` (Lee et al., ICLR 2019): ``sum |theta * dL/dtheta|`` with the cross-entropy ``L`` of the batch.
* ``grad_norm``: ``sum ||dL/dtheta||`` over convolution and linear weights.
* ``zen`` (Zen-NAS, Lin et al., ICCV 2021): data-free.  The network with every convolution and linear weight drawn
  from ``N(0, 1)`` and batch norm at ``gamma = 1, beta = 0``, in training mode; Gaussian inputs ``x`` and ``x + 0.01
  e``; the features ``g`` that enter the global average pooling (the output where the network has no
  ``AdaptiveAvgPool2d``).  Score ``log mean_i ||g(x_i) - g(x_i + 0.01 e_i)||_1 + sum log sqrt(mean_c var_c)`` over
  the batch norms, ``var_c`` the (unbiased) variance of channel ``c`` in the clean pass (Zen-NAS reads the running
  variance after both passes, a fixed blend of the same batch variances).
* ``expressivity``, ``progressivity``, ``trainability`` (AZ-NAS, Lee and Ham, CVPR 2024): from the output feature
  maps of the network's primary blocks (:func:`feature_blocks`) in the batch's forward pass: how isotropic the
  channels are (the entropy of their covariance's spectrum, summed over blocks), its smallest increase from a block to
  the next, and how close each block's input-output Jacobian is to norm 1 (:func:`block_proxies`).  AZ-NAS's fourth
  proxy, complexity, is ``flops``.  Its rank aggregation is not used: the model weighs every proxy by the evidence,
  and AZ-NAS's four make the vote that picks a study's first trials (:data:`VOTERS`).

Data: a batch of the user's images and labels, or, when there are none, seeded standard-normal inputs and random
labels (then ``nwot``, ``jacov``, ``snip`` and ``grad_norm`` measure the network's response to noise).

:func:`score_architectures` scores many architectures in worker processes (one torch thread each), each distinct
architecture once, with a progress bar, and returns :class:`~gpnas.gp.side_features.SideFeatures` with the signs the
proxies' authors give to AZ-NAS's four (the vote's, :data:`VOTERS`) and 0 to the others (in the model, out of the
vote).
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from functools import partial
from typing import Callable, Iterable, Sequence

import numpy as np
import torch
from torch import nn

from gpnas.gp.side_features import SideFeatures
from gpnas.nets.proxy_names import PROXIES, VOTERS, proxy_signs
from gpnas.threads import available_cores

__all__ = ["PROXIES", "VOTERS", "ZEN_GAMMA", "batch_proxies", "block_proxies", "expressivity_of", "feature_blocks",
           "gaussian_init", "network_proxies", "proxy_signs", "random_batch", "score_architectures",
           "synflow_and_flops", "without_batch_norm", "zen_score"]

#: Zen-NAS's perturbation of the input (its ``mixup_gamma``).
ZEN_GAMMA = 1e-2
_WEIGHTED = (nn.Conv2d, nn.Linear)


def _weights(net: nn.Module) -> list[torch.Tensor]:
    return [m.weight for m in net.modules() if isinstance(m, _WEIGHTED)]


def synflow_and_flops(net: nn.Module, input_shape: Sequence[int]) -> tuple[float, float]:
    """``(synflow, flops in millions)`` of ``net`` (already without batch norm) on one all-ones input."""
    net = net.double()
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    macs = [0]

    def count(module, inputs, output):
        if isinstance(module, nn.Conv2d):
            macs[0] += output.numel() * module.in_channels // module.groups * module.kernel_size[0] \
                * module.kernel_size[1]
        else:
            macs[0] += module.in_features * module.out_features
    hooks = [m.register_forward_hook(count) for m in net.modules() if isinstance(m, _WEIGHTED)]
    net.zero_grad()
    out = net(torch.ones((1, *input_shape), dtype=torch.float64))
    torch.sum(out).backward()
    for h in hooks:
        h.remove()
    with torch.no_grad():
        score = sum(float(torch.sum(torch.abs(w * w.grad))) for w in _weights(net) if w.grad is not None)
    return score, macs[0] / 1e6


def batch_proxies(net: nn.Module, x: torch.Tensor, labels: torch.Tensor, blocks: Sequence[nn.Module] = (),
                  seed: int = 0) -> dict[str, float]:
    """``nwot``, ``jacov``, ``snip`` and ``grad_norm`` from one forward pass of the batch ``x`` and two backward passes
    (the input Jacobian of ``sum f(x)``, then the cross-entropy's weight gradients); with ``blocks`` (the network's
    primary blocks, :func:`feature_blocks`), also ``expressivity``, ``progressivity`` and ``trainability`` from the
    same forward pass (:func:`block_proxies`; NaN without blocks)."""
    n = x.shape[0]
    kernel = torch.zeros((n, n), dtype=torch.float64)

    def codes(module, inputs, output):
        # 0/1 codes: float32 products count agreements exactly (below 2^24 units per ReLU)
        c = (inputs[0].detach().reshape(n, -1) > 0).float()
        ones = c @ c.T
        kernel.add_((ones + (c.shape[1] - c.sum(1, keepdim=True) - c.sum(1)[None, :] + ones)).double())
    features: list[torch.Tensor] = []
    hooks = [m.register_forward_hook(codes) for m in net.modules() if isinstance(m, nn.ReLU)]
    hooks += [m.register_forward_hook(partial(_keep_feature_map, features)) for m in blocks]
    x = x.clone().requires_grad_(True)
    net.zero_grad()
    out = net(x)
    for h in hooks:
        h.remove()
    values = {"nwot": float(torch.linalg.slogdet(kernel)[1])}
    values.update(block_proxies(features, seed))  # while the graph is alive; its gradients touch no weight
    (jacobian,) = torch.autograd.grad(out.sum(), x, retain_graph=True)
    values["jacov"] = _jacov(jacobian.reshape(n, -1).double().numpy())
    nn.functional.cross_entropy(out, labels).backward()
    with torch.no_grad():
        weights = [w for w in _weights(net) if w.grad is not None]
        values["snip"] = sum(float(torch.sum(torch.abs(w * w.grad))) for w in weights)
        values["grad_norm"] = sum(float(torch.linalg.vector_norm(w.grad)) for w in weights)
    return values


def feature_blocks(net: nn.Module) -> list[nn.Module]:
    """The network's primary blocks, whose output feature maps the AZ-NAS proxies read: ``net.feature_blocks()``
    where the network defines it (NAS-Bench-201's stem and cells, MobileNetV3's inverted residual blocks), else the
    children of its longest ``nn.Sequential`` (the first of the longest, in module order); none without one."""
    if callable(getattr(net, "feature_blocks", None)):
        return list(net.feature_blocks())
    sequentials = [m for m in net.modules() if isinstance(m, nn.Sequential)]
    return list(max(sequentials, key=len)) if sequentials else []


def _keep_feature_map(features: list, module, inputs, output) -> None:
    # feature maps only: a flat output (a classifier, a flattened pool) is not a block in AZ-NAS's sense, and its
    # covariance over a batch of a few inputs says nothing
    if isinstance(output, torch.Tensor) and output.dim() == 4:
        features.append(output)


def expressivity_of(feature_map: torch.Tensor) -> float:
    """AZ-NAS's expressivity of one feature map ``(B, C, H, W)``: the entropy of the normalised eigenvalues of the
    channels' covariance over every position of every input (``B H W`` samples of ``C`` channels); ``log C`` when
    the features are isotropic, 0 when they lie on one direction (or are all equal)."""
    c = feature_map.shape[1]
    z = feature_map.detach().permute(0, 2, 3, 1).reshape(-1, c).double()
    z = z - z.mean(0, keepdim=True)
    eigenvalues = torch.linalg.eigvalsh(z.T @ z / z.shape[0]).clamp_min(0.0)
    if float(eigenvalues.sum()) <= 0.0:
        return 0.0
    p = eigenvalues / eigenvalues.sum()
    return float(-(p * torch.log(p + 1e-8)).sum())


def block_proxies(features: Sequence[torch.Tensor], seed: int = 0) -> dict[str, float]:
    """AZ-NAS's three data-dependent proxies (Lee and Ham, CVPR 2024) from the output feature maps of a network's
    primary blocks, in order, still attached to the graph that made them:

    * ``expressivity``: the sum over blocks of :func:`expressivity_of`;
    * ``progressivity``: the smallest increase of expressivity from one block to the next;
    * ``trainability``: for each block after the first, a Rademacher cotangent ``g_out`` (seeded) of its output is
      taken back to its input, ``g_in`` (pixel-unshuffled to the output's size where the block downsamples); with
      ``M = g_in^T g_out / P`` over the ``P`` positions, an estimate of the block's Jacobian, and ``s`` its largest
      singular value, the block scores ``-(s + 1/s - 2)`` (0 at ``s = 1``: gradients neither explode nor vanish); the
      mean over blocks.  A block whose output does not depend on its input scores nothing (left out of the mean).

    NaN where there are too few blocks (one for expressivity, two for the others)."""
    expressivity = np.array([expressivity_of(f) for f in features])
    generator = torch.Generator().manual_seed(seed)
    scores = []
    for f_in, f_out in zip(features[:-1], features[1:]):
        g_out = torch.randint(0, 2, f_out.shape, generator=generator).to(f_out.dtype) * 2 - 1
        (g_in,) = torch.autograd.grad(f_out, f_in, g_out, retain_graph=True, allow_unused=True) \
            if f_out.requires_grad and f_in.requires_grad else (None,)
        if g_in is None:
            scores.append(np.nan)
            continue
        if g_in.shape[2:] != g_out.shape[2:]:
            factor = g_in.shape[2] // g_out.shape[2]
            if factor < 1 or g_in.shape[2] != factor * g_out.shape[2] or g_in.shape[3] != factor * g_out.shape[3]:
                scores.append(np.nan)
                continue
            g_in = nn.functional.pixel_unshuffle(g_in, factor)
        positions = g_out.shape[0] * g_out.shape[2] * g_out.shape[3]
        jacobian = (g_in.permute(0, 2, 3, 1).reshape(positions, -1).T
                    @ g_out.permute(0, 2, 3, 1).reshape(positions, -1)) / positions
        s = float(torch.linalg.matrix_norm(jacobian.double(), ord=2))
        scores.append(-s - 1.0 / (s + 1e-6) + 2.0)
    finite = np.isfinite(scores)
    return {"expressivity": float(expressivity.sum()) if expressivity.size else np.nan,
            "progressivity": float(np.diff(expressivity).min()) if expressivity.size > 1 else np.nan,
            "trainability": float(np.mean(np.asarray(scores)[finite])) if finite.any() else np.nan}


def _jacov(jacobians: np.ndarray) -> float:
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(jacobians)
    if not np.all(np.isfinite(corr)):  # a network whose output ignores its input: no correlation to measure
        return float("nan")
    v = np.maximum(np.linalg.eigvalsh(corr), 0.0)
    k = 1e-5
    return float(-np.sum(np.log(v + k) + 1.0 / (v + k)))


def gaussian_init(net: nn.Module) -> nn.Module:
    """Zen-NAS's initialisation (in place): convolution and linear weights ``N(0, 1)``, their biases 0, batch norm
    scale 1 and shift 0."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, _WEIGHTED):
                nn.init.normal_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
    return net


def zen_score(net: nn.Module, x: torch.Tensor, noise: torch.Tensor, gamma: float = ZEN_GAMMA) -> float:
    """The Zen-score of ``net`` as it is initialised (see the module's docstring), in training mode: inputs ``x``
    and ``x + gamma * noise``; the features are the input of the last ``AdaptiveAvgPool2d`` in module order (at its
    last call in a pass).  The batch norms' running statistics are reset and then hold the clean pass's."""
    pools = [m for m in net.modules() if isinstance(m, nn.AdaptiveAvgPool2d)]
    norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    momenta = [m.momentum for m in norms]
    for m in norms:
        # a cumulative average over one batch is that batch's (unbiased) variance: read after the clean pass, with
        # no hook on every batch norm
        m.reset_running_stats()
        m.momentum = None
    captured: list[torch.Tensor] = []

    def features(module, inputs, output):
        captured.append(inputs[0])
    hooks = [pools[-1].register_forward_hook(features)] if pools else []
    net.train()
    try:
        with torch.no_grad():
            clean = net(x)
            in_clean = len(captured)
            scaling = sum(float(torch.log(torch.sqrt(m.running_var.double().mean()))) for m in norms)
            perturbed = net(x + gamma * noise)
    finally:
        for h in hooks:
            h.remove()
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
    if pools:
        clean, perturbed = captured[in_clean - 1], captured[-1]
    difference = (clean.double() - perturbed.double()).abs().reshape(len(x), -1).sum(dim=1).mean()
    with np.errstate(divide="ignore"):
        return float(np.log(float(difference))) + scaling


def network_proxies(build: Callable[..., nn.Module], arch, inputs: torch.Tensor, labels: torch.Tensor,
                    seed: int = 0) -> list[float]:
    """The :data:`PROXIES` of one architecture: ``build(arch)`` with batch norm (the batch's proxies and AZ-NAS's, on
    its :func:`feature_blocks`), ``build(arch, batch_norm=False)`` for synflow and FLOPs, the first again with
    :func:`gaussian_init` and seeded Gaussian inputs of the batch's shape for zen; the weights are initialised from
    ``seed`` (the same seed for every architecture), as is AZ-NAS's random cotangent."""
    torch.manual_seed(seed)
    net = build(arch)
    net.train()
    params = sum(p.numel() for p in net.parameters()) / 1e6
    batch = batch_proxies(net, inputs, labels, feature_blocks(net), seed)
    torch.manual_seed(seed)
    synflow, flops = synflow_and_flops(build(arch, batch_norm=False), inputs.shape[1:])
    generator = torch.Generator().manual_seed(seed)
    gaussian = [torch.randn(inputs.shape, generator=generator) for _ in range(2)]
    torch.manual_seed(seed)
    zen = zen_score(gaussian_init(net), *gaussian)  # the batch proxies' network, every weight drawn anew
    values = {"params": params, "flops": flops, "synflow": synflow, "zen": zen, **batch}
    return [values[name] for name in PROXIES]


def random_batch(input_shape: Sequence[int], batch_size: int, num_classes: int, seed: int = 0):
    """Seeded standard-normal inputs and uniform labels: the batch when the user has no images."""
    generator = torch.Generator().manual_seed(seed)
    return (torch.randn((batch_size, *input_shape), generator=generator),
            torch.randint(0, num_classes, (batch_size,), generator=generator))


def _score_chunk(build, inputs, labels, seed, archs) -> list[list[float]]:
    torch.set_num_threads(1)  # one thread per worker: the workers are the parallelism
    return [network_proxies(build, arch, inputs, labels, seed) for arch in archs]


def without_batch_norm(net: nn.Module) -> nn.Module:
    """``net`` with every batch norm replaced by the identity (in place): synflow's network (Tanaka et al. score
    the network without it, since its running statistics would rescale the all-ones input's signal)."""
    for name, child in list(net.named_children()):
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            setattr(net, name, nn.Identity())
        else:
            without_batch_norm(child)
    return net


def score_architectures(build: Callable[..., nn.Module], X: np.ndarray, inputs: torch.Tensor, labels: torch.Tensor,
                        seed: int = 0, workers: int | None = None, chunk: int = 32, progress: bool = True,
                        keys: Sequence | None = None,
                        mapper: Callable[[Callable, list], Iterable] | None = None) -> SideFeatures:
    """The :data:`PROXIES` of architectures ``X (N, d)`` (each distinct row once) as side features.

    ``keys (N,)``: an equivalence class per row (NAS-Bench-201's isomorphism classes): one network of each class is
    built and scored (its first row), and every row of the class gets its values.

    ``build(arch_row, batch_norm=True)`` makes the network; it must be picklable (a module-level function or a
    ``functools.partial``) when ``workers > 1``.  ``workers`` processes (default: the usable cores) score chunks of
    ``chunk`` architectures.  ``mapper(function, chunks)`` (an executor's ``map``: a process pool, a Ray cluster)
    spreads the chunks instead of a local pool of ``workers``.  A proxy that cannot be computed for a network
    (``jacov`` of a network whose output ignores its input, as a cell of ``none`` edges) takes the column's worst
    computed value: the network scored nothing.
    """
    X = np.asarray(X, dtype=np.int64)
    if keys is not None:
        keys = np.asarray(keys)
        if keys.shape != (len(X),):
            raise ValueError(f"keys must give one class per architecture ({len(X)}), got shape {keys.shape}")
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        side = score_architectures(build, X[first], inputs, labels, seed, workers, chunk, progress, mapper=mapper)
        return _as_side_features(X, side.lookup(X[first])[inverse])
    X = np.unique(X, axis=0)
    workers = available_cores() if workers is None else int(workers)
    chunks = [X[i : i + chunk] for i in range(0, len(X), chunk)]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(X), desc="zero-cost proxies", unit="net", ncols=80)
    rows: list[list[float]] = []
    score = partial(_score_chunk, build, inputs, labels, seed)
    with ExitStack() as stack:
        if mapper is None and workers <= 1:
            mapper = map
        elif mapper is None:
            mapper = stack.enter_context(ProcessPoolExecutor(workers)).map
        for archs, result in zip(chunks, mapper(score, chunks)):
            rows += result
            if bar is not None:
                bar.update(len(archs))
    if bar is not None:
        bar.close()
    values = np.array(rows, dtype=float)
    values[~np.isfinite(values)] = np.nan
    return _as_side_features(X, values)


def _as_side_features(X: np.ndarray, values: np.ndarray) -> SideFeatures:
    """Columns with a non-finite value get the column's worst finite value (the network scored nothing)."""
    for j in range(values.shape[1]):
        bad = ~np.isfinite(values[:, j])
        if bad.any():
            finite = values[~bad, j]
            values[bad, j] = finite.min() if finite.size else 0.0
    return SideFeatures(X, values, list(PROXIES), signs=proxy_signs(PROXIES))
