"""Objectives that train the sampled child networks for real: the search's ``objective(arch) -> accuracy``.

Both are plain picklable objects, so they run unchanged in a process pool or as Ray tasks; the data set is loaded
once per worker process and cached.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Mapping

from gpnas.nets.latency_tables import latency_of
from gpnas.nets.counting import count_plan
from gpnas.nets.spaces import mobilenetv3_plan


@lru_cache(maxsize=4)
def _dataset(name: str, data_dir: str | None, resolution: int):
    from gpnas.nets.datasets import load_images

    return load_images(name, data_dir, resolution)


class ChildCosts:
    """``costs(arch)``: MACs and parameters of the child an objective would train (needs a ``plan`` method)."""

    def costs(self, arch: Mapping[str, Any]) -> dict[str, int]:
        counts = count_plan(self.plan(arch))
        return {"macs": counts.macs, "params": counts.params}


@dataclass
class TrainingObjective(ChildCosts):
    """Train a MobileNetV3 child on an image classification set; return the held-out validation accuracy (%).

    The validation split (``val_fraction`` of the training images, seeded by ``split_seed``, or by ``seed`` when
    that is ``None``) is what the search optimises; it is fixed for the whole study, so every child is judged on the
    same images.  ``seed`` also sets the initial weights and the data order.
    """

    dataset: str = "digits"
    data_dir: str | None = None
    resolution: int = 16
    width: float = 0.35
    epochs: int = 3
    batch_size: int | None = None
    lr: float | None = None
    warmup_fraction: float = 0.05
    val_fraction: float = 0.2
    seed: int = 0
    split_seed: int | None = None
    device: str = "auto"
    num_threads: int | None = None  # None: as the executor sets (cores / parallel trials), else torch's default
    progress: bool = False

    def data(self):
        return _dataset(self.dataset, self.data_dir, self.resolution)

    def split(self):
        """Indices ``(train, validation)`` of the data set: seeded by ``split_seed``, or ``seed`` when it is None."""
        from gpnas.nets.training import split_holdout

        split_seed = self.seed if self.split_seed is None else self.split_seed
        return split_holdout(len(self.data().labels), self.val_fraction, split_seed)

    def plan(self, arch: Mapping[str, Any]):
        data = self.data()
        return mobilenetv3_plan(arch, self.width, self.resolution, len(data.classes), data.in_channels)

    def __call__(self, arch: Mapping[str, Any], budget: float | None = None) -> float:
        """Train the child of ``arch`` for ``budget`` epochs (``epochs`` by default) and return its accuracy (%)."""
        return self.scores(arch, budget)["accuracy"]

    def scores(self, arch: Mapping[str, Any], budget: float | None = None) -> dict[str, float]:
        """Train the child and return its held-out ``accuracy`` (%) and ``log_loss`` (mean cross-entropy), and
        ``train_loss``: the mean cross-entropy of the last epoch's mini-batches, each measured before the update it
        drives.  In a one-epoch training no image has been seen when its loss is taken, so this is a progressive
        validation estimate over the whole training split (Blum, Kalai & Langford 1999), the "training speed
        estimate" of Ru et al. (NeurIPS 2021)."""
        from gpnas.nets.torch_models import build_network
        from gpnas.nets.training import TrainConfig, train_classifier

        data = self.data()
        train, val = self.split()
        epochs = self.epochs if budget is None else int(budget)
        if epochs != budget and budget is not None or epochs < 1:
            raise ValueError(f"a training budget is a whole number of epochs, got {budget!r}")
        config = TrainConfig(epochs=epochs, batch_size=self.batch_size, lr=self.lr,
                             warmup_fraction=self.warmup_fraction, seed=self.seed, device=self.device,
                             num_threads=self.num_threads, progress=self.progress)
        import torch

        torch.manual_seed(self.seed)  # the initial weights too, so a child's result is reproducible
        net = build_network(self.plan(arch))
        train_classifier(net, data.images[train], data.labels[train], data.images[val], data.labels[val], config)
        scores = config.history[-1]["validation"]
        return {"accuracy": 100.0 * scores["accuracy"], "log_loss": scores["log_loss"],
                "train_loss": config.history[-2]["loss"]}

    def describe(self) -> dict[str, Any]:
        return asdict(self)

    def proxy_batch(self, size: int = 64):
        """``(inputs, labels)`` torch tensors: ``size`` images of the training split (seeded by ``seed``), the batch
        the zero-cost proxies of the children see (:mod:`gpnas.nets.proxies`); never a validation image."""
        import numpy as np
        import torch

        data = self.data()
        train, _ = self.split()
        rows = np.sort(np.random.default_rng(self.seed).choice(train, min(size, len(train)), replace=False))
        return torch.as_tensor(data.images[rows], dtype=torch.float32), torch.as_tensor(data.labels[rows])

    def networks(self, space) -> "ChildNetworks":
        """The children this objective trains, built from choice indices of ``space`` (for the proxies)."""
        return ChildNetworks(self, space)


@dataclass(frozen=True)
class ChildNetworks:
    """``build(arch_row, batch_norm=True) -> nn.Module``: an objective's child of the choice indices ``arch_row``
    of ``space``, freshly initialised, as :func:`gpnas.nets.proxies.score_architectures` builds networks; without
    batch norm for synflow.  Picklable, so proxies can be scored in worker processes and on Ray."""

    objective: TrainingObjective
    space: Any

    def __call__(self, arch_row, batch_norm: bool = True):
        from gpnas.nets.proxies import without_batch_norm
        from gpnas.nets.torch_models import build_network

        net = build_network(self.objective.plan(self.space.to_dict_arch(arch_row)))
        return net if batch_norm else without_batch_norm(net)


#: What a training search can optimise besides nothing else: the child's trained score and its counted costs.
TRAINING_OBJECTIVES = ("accuracy", "macs", "params")


#: The prefix of a latency objective: ``latency_DEVICE``, from that device's per-choice latency table.
LATENCY_PREFIX = "latency_"


@dataclass(frozen=True)
class TrainedAndCounted:
    """Several objectives of one child: ``"accuracy"``, the training objective's score (its held-out accuracy, %),
    ``"macs"`` / ``"params"``, counted from the child's plan without training, and ``"latency_DEVICE"``, the
    device's per-choice latency table summed over the child's choices (``latencies``: ``{DEVICE: (table, base ms)}``
    as :func:`gpnas.nets.latency_tables.read_latency_table` reads it, with the ``space`` the table indexes).
    Returns one value per name, in order, for a multi-objective study.  Picklable (a dataclass of picklable parts),
    so it runs in worker processes and on Ray like the objective it wraps."""

    objective: ChildCosts
    names: tuple[str, ...]
    latencies: Mapping[str, tuple[Mapping[tuple[int, int], float], float]] | None = None
    space: Any = None

    def __post_init__(self) -> None:
        known = list(TRAINING_OBJECTIVES) + [LATENCY_PREFIX + d for d in (self.latencies or {})]
        unknown = [n for n in self.names if n not in known]
        if unknown:
            raise ValueError(f"a training search's objectives are {known}; got {unknown}"
                             + ("" if self.latencies else " (a latency needs a device's latency table)"))
        if self.latencies and self.space is None:
            raise ValueError("latency objectives need the space their tables index")

    def __call__(self, arch: Mapping[str, Any]) -> tuple[float, ...]:
        costs = self.objective.costs(arch) if any(n in ("macs", "params") for n in self.names) else {}
        score = self.objective(arch) if "accuracy" in self.names else None
        values = []
        for name in self.names:
            if name == "accuracy":
                values.append(score)
            elif name.startswith(LATENCY_PREFIX):
                values.append(self._latency(name[len(LATENCY_PREFIX):], arch))
            else:
                values.append(costs[name])
        return tuple(float(v) for v in values)

    def _latency(self, device: str, arch: Mapping[str, Any]) -> float:
        table, base = self.latencies[device]
        return float(latency_of(self.space.from_dict_arch(arch)[None, :], table, base)[0])
