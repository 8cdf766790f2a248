"""Training a child network as in §4.1: SGD (momentum 0.9, weight decay 3e-4), cosine learning rate, a held-out
validation split of the training set as the search's objective.

CPU facts that set the defaults (measured on 2-core machines): ``channels_last`` roughly halves a training step of
these depthwise-heavy networks; concurrent trainings with several threads each slow each other 3-20x, so every
worker uses one torch thread and there are never more workers than cores.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


@dataclass
class TrainConfig:
    epochs: int = 10
    batch_size: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 3e-4
    warmup_epochs: int = 0
    seed: int = 0
    device: str = "auto"
    channels_last: bool = True
    num_threads: int | None = 1
    progress: bool = False
    history: list = field(default_factory=list)


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def split_holdout(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded split of ``n`` indices into (train, validation)."""
    order = np.random.default_rng(seed).permutation(n)
    n_val = max(1, int(round(n * fraction)))
    return order[n_val:], order[:n_val]


def train_classifier(model: nn.Module, X: np.ndarray, y: np.ndarray, X_val: np.ndarray, y_val: np.ndarray,
                     config: TrainConfig, head: nn.Module | None = None) -> float:
    """Train ``model`` (with ``head`` on its output, if given) with cross-entropy; return validation accuracy."""
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    torch.manual_seed(config.seed)
    device = pick_device(config.device)
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    model = model.to(device=device, memory_format=memory_format)
    modules = nn.ModuleList([model] + ([head.to(device)] if head is not None else []))
    optimizer = torch.optim.SGD(modules.parameters(), lr=config.lr, momentum=config.momentum,
                                weight_decay=config.weight_decay, nesterov=True)
    steps_per_epoch = max(1, math.ceil(len(X) / config.batch_size))
    total = config.epochs * steps_per_epoch
    warmup = config.warmup_epochs * steps_per_epoch

    def lr_at(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)
    Xt, yt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)), torch.from_numpy(y.astype(np.int64))
    generator = torch.Generator().manual_seed(config.seed)
    bar = None
    if config.progress:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="step", leave=False)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(config.epochs):
        modules.train()
        order = torch.randperm(len(Xt), generator=generator)
        start, running = time.perf_counter(), 0.0
        for i in range(steps_per_epoch):
            idx = order[i * config.batch_size:(i + 1) * config.batch_size]
            xb = Xt[idx].to(device, memory_format=memory_format)
            yb = yt[idx].to(device)
            out = model(xb)
            loss = loss_fn(head(out, yb) if head is not None else out, yb)  # a margin head needs the labels
            if not torch.isfinite(loss):
                raise TrainingDiverged(f"loss became {loss.item()} in epoch {epoch + 1}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            running += loss.item()
            if bar is not None:
                bar.update(1)
        config.history.append({"epoch": epoch + 1, "loss": running / steps_per_epoch,
                               "seconds": time.perf_counter() - start})
    if bar is not None:
        bar.close()
    return accuracy(model if head is None else _Classify(model, head), X_val, y_val, device, memory_format)


class _Classify(nn.Module):
    def __init__(self, model, head):
        super().__init__()
        self.model, self.head = model, head

    def forward(self, x):
        return self.head(self.model(x))


@torch.no_grad()
def accuracy(model: nn.Module, X: np.ndarray, y: np.ndarray, device=None, memory_format=torch.contiguous_format,
             batch_size: int = 256) -> float:
    model.eval()
    device = device or next(model.parameters()).device
    correct = 0
    for start in range(0, len(X), batch_size):
        xb = torch.from_numpy(np.ascontiguousarray(X[start:start + batch_size], dtype=np.float32))
        pred = model(xb.to(device, memory_format=memory_format)).argmax(1).cpu().numpy()
        correct += int((pred == y[start:start + batch_size]).sum())
    return correct / len(X)


@torch.no_grad()
def embed(model: nn.Module, X: np.ndarray, batch_size: int = 256) -> np.ndarray:
    model.eval()
    device = next(model.parameters()).device
    out = [model(torch.from_numpy(np.ascontiguousarray(X[s:s + batch_size], dtype=np.float32)).to(device)).cpu()
           for s in range(0, len(X), batch_size)]
    return torch.cat(out).numpy()
