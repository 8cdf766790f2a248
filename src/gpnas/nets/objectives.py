"""Objectives that train the sampled child networks for real: the search's ``objective(arch) -> accuracy``.

Both are plain picklable objects, so they run unchanged in a process pool or as Ray tasks; the data set is loaded
once per worker process and cached.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Mapping

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

    The validation split (``val_fraction`` of the training images, seeded) is what the search optimises; it is fixed
    for the whole study, so every child is judged on the same images.
    """

    dataset: str = "digits"
    data_dir: str | None = None
    resolution: int = 16
    width: float = 0.35
    epochs: int = 3
    batch_size: int = 64
    lr: float = 0.1
    warmup_epochs: int = 1
    val_fraction: float = 0.2
    seed: int = 0
    device: str = "auto"
    num_threads: int | None = 1
    progress: bool = False

    def data(self):
        return _dataset(self.dataset, self.data_dir, self.resolution)

    def plan(self, arch: Mapping[str, Any]):
        data = self.data()
        return mobilenetv3_plan(arch, self.width, self.resolution, len(data.classes), data.in_channels)

    def __call__(self, arch: Mapping[str, Any]) -> float:
        from gpnas.nets.torch_models import build_network
        from gpnas.nets.training import TrainConfig, split_holdout, train_classifier

        data = self.data()
        train, val = split_holdout(len(data.labels), self.val_fraction, self.seed)
        config = TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                             warmup_epochs=self.warmup_epochs, seed=self.seed, device=self.device,
                             num_threads=self.num_threads, progress=self.progress)
        import torch

        torch.manual_seed(self.seed)  # the initial weights too, so a child's result is reproducible
        net = build_network(self.plan(arch))
        return 100.0 * train_classifier(net, data.images[train], data.labels[train], data.images[val],
                                        data.labels[val], config)

    def describe(self) -> dict[str, Any]:
        return asdict(self)
