"""Training a child network as in §4.1: SGD (momentum 0.9, weight decay 3e-4), cosine learning rate, a held-out
validation split of the training set as the search's objective.

Small data sets must learn in the first epoch, so the batch size and learning rate follow the number of training
images (:func:`auto_batch_size`, :func:`auto_learning_rate`): a fixed batch of 64 gave the 1,437 digits images 23
optimiser steps per epoch, and one-epoch children sat at chance.  The warm-up is a fraction of the steps, not whole
epochs, for the same reason.  Every child of a study sees the same data order and starts from the same weights seed
(common random numbers), so their differences come from the architectures.

CPU facts that set the defaults (measured on 2-core machines): ``channels_last`` roughly halves a training step of
these depthwise-heavy networks; concurrent trainings with several threads each slow each other 3-20x, so parallel
trials share the cores (``GPNAS_TORCH_THREADS``, set per worker by :mod:`gpnas.run.executors`: cores / workers) and a
single in-process trial uses them all.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from gpnas.threads import training_threads


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


#: Steps per epoch the automatic batch size aims at, and its bounds (powers of two).
TARGET_STEPS_PER_EPOCH = 64
MIN_BATCH, MAX_BATCH = 16, 128
#: Learning rate at the smallest batch; larger batches scale it by the square root of the batch ratio.
BASE_LR = 0.05


def auto_batch_size(n_train: int) -> int:
    """The power of two nearest below ``n_train / 64``, within [16, 128]: at least ~64 steps per epoch on small
    sets (digits: 16, the MNIST sample: 32) and batches of 128 on CIFAR-sized ones."""
    if n_train < 1:
        raise ValueError("no training images")
    batch = 2 ** int(math.floor(math.log2(max(1.0, n_train / TARGET_STEPS_PER_EPOCH))))
    return int(min(MAX_BATCH, max(MIN_BATCH, batch)))


def auto_learning_rate(batch_size: int) -> float:
    """``0.05 * sqrt(batch / 16)``: the square-root scaling rule (0.05 at 16, 0.14 at 128)."""
    return BASE_LR * math.sqrt(batch_size / MIN_BATCH)


@dataclass
class TrainConfig:
    """Settings of one training; ``batch_size``/``lr`` of ``None`` follow the data size (see the module docstring)."""

    epochs: int = 10
    batch_size: int | None = None
    lr: float | None = None
    momentum: float = 0.9
    weight_decay: float = 3e-4
    warmup_fraction: float = 0.05
    seed: int = 0
    device: str = "auto"
    channels_last: bool = True
    num_threads: int | None = None
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
    # the executor's or the command line's share of the cores, else the cores free now: more threads than free
    # cores make torch's threads wait for each other and slow a training many times over
    torch.set_num_threads(config.num_threads or training_threads())
    torch.manual_seed(config.seed)
    device = pick_device(config.device)
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    model = model.to(device=device, memory_format=memory_format)
    modules = nn.ModuleList([model] + ([head.to(device)] if head is not None else []))
    batch_size = config.batch_size or auto_batch_size(len(X))
    lr = config.lr if config.lr is not None else auto_learning_rate(batch_size)
    optimizer = torch.optim.SGD(modules.parameters(), lr=lr, momentum=config.momentum,
                                weight_decay=config.weight_decay, nesterov=True)
    steps_per_epoch = max(1, math.ceil(len(X) / batch_size))
    total = config.epochs * steps_per_epoch
    warmup = int(round(config.warmup_fraction * total))

    def lr_at(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)
    Xt, yt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)), torch.from_numpy(y.astype(np.int64))
    orders = batch_orders(len(Xt), config.epochs, config.seed)
    bar = None
    if config.progress:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="step", leave=False)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(config.epochs):
        modules.train()
        order = orders[epoch]
        start, running = time.perf_counter(), 0.0
        for i in range(steps_per_epoch):
            idx = order[i * batch_size:(i + 1) * batch_size]
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
    scores = evaluate(model if head is None else _Classify(model, head), X_val, y_val, device, memory_format)
    config.history.append({"validation": scores})
    return scores["accuracy"]


def batch_orders(n: int, epochs: int, seed: int) -> list[torch.Tensor]:
    """The image order of each epoch: a function of the seed only, so every child of a study sees the same batches."""
    generator = torch.Generator().manual_seed(seed)
    return [torch.randperm(n, generator=generator) for _ in range(epochs)]


class _Classify(nn.Module):
    def __init__(self, model, head):
        super().__init__()
        self.model, self.head = model, head

    def forward(self, x):
        return self.head(self.model(x))


@torch.no_grad()
def evaluate(model: nn.Module, X: np.ndarray, y: np.ndarray, device=None, memory_format=torch.contiguous_format,
             batch_size: int = 256) -> dict[str, float]:
    """Held-out ``accuracy`` (fraction correct) and ``log_loss`` (mean cross-entropy, nats) of a classifier."""
    model.eval()
    device = device or next(model.parameters()).device
    correct, loss = 0, 0.0
    for start in range(0, len(X), batch_size):
        xb = torch.from_numpy(np.ascontiguousarray(X[start:start + batch_size], dtype=np.float32))
        logits = model(xb.to(device, memory_format=memory_format)).float().cpu()
        yb = torch.from_numpy(np.asarray(y[start:start + batch_size], dtype=np.int64))
        correct += int((logits.argmax(1) == yb).sum())
        loss += float(nn.functional.cross_entropy(logits, yb, reduction="sum"))
    return {"accuracy": correct / len(X), "log_loss": loss / len(X)}



@torch.no_grad()
def embed(model: nn.Module, X: np.ndarray, batch_size: int = 256) -> np.ndarray:
    model.eval()
    device = next(model.parameters()).device
    out = [model(torch.from_numpy(np.ascontiguousarray(X[s:s + batch_size], dtype=np.float32)).to(device)).cpu()
           for s in range(0, len(X), batch_size)]
    return torch.cat(out).numpy()
