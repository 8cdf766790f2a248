"""Face recognition search (§4.4): train MobileFaceNet children on an identity-labelled image folder with an
additive angular margin head (ArcFace), and score them by verification accuracy on LFW-style pairs (10-fold).

Layouts (as distributed):

* training: ``train_dir/<identity>/<image>`` (the CASIA-WebFace layout);
* evaluation: ``lfw_dir/<name>/<name>_<4-digit index>.<ext>`` and a ``pairs.txt`` whose lines are
  ``name i j`` (same person) or ``name1 i name2 j`` (different people), optionally after a ``folds pairs`` header.

Verification: the cosine similarity of the two embeddings; in each of the 10 folds the threshold that maximises
accuracy on the other 9 folds is applied to the held-out fold, and the 10 accuracies are averaged (the standard LFW
protocol).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gpnas.exceptions import DataError
from gpnas.nets.datasets import IMAGE_SUFFIXES, _resize, load_images, read_image
from gpnas.nets.objectives import ChildCosts


def read_pairs(path: str | Path) -> list[tuple[str, int, str, int, bool]]:
    """Parse an LFW ``pairs.txt``: ``(name1, index1, name2, index2, same)`` per pair."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"pairs file {str(path)!r} does not exist")
    pairs = []
    for line_no, line in enumerate(path.read_text().splitlines(), start=1):
        parts = line.split()
        if not parts or (line_no == 1 and len(parts) == 2 and all(p.isdigit() for p in parts)):
            continue
        try:
            if len(parts) == 3:
                pairs.append((parts[0], int(parts[1]), parts[0], int(parts[2]), True))
            elif len(parts) == 4:
                pairs.append((parts[0], int(parts[1]), parts[2], int(parts[3]), False))
            else:
                raise ValueError
        except ValueError:
            raise DataError(f"{str(path)!r} line {line_no}: expected 'name i j' or 'name1 i name2 j'") from None
    if not pairs:
        raise DataError(f"pairs file {str(path)!r} lists no pairs")
    return pairs


def _find_image(lfw_dir: Path, name: str, index: int) -> Path:
    for suffix in sorted(IMAGE_SUFFIXES):
        candidate = lfw_dir / name / f"{name}_{index:04d}{suffix}"
        if candidate.is_file():
            return candidate
    raise DataError(f"pair image {name}_{index:04d} not found under {str(lfw_dir / name)!r}")


def load_pairs(lfw_dir: str | Path, pairs_path: str | Path, resolution: int, channels: int = 3):
    """Images of every pair, ``(A (P, C, H, W), B (P, C, H, W), same (P,))``."""
    lfw_dir = Path(lfw_dir)
    if not lfw_dir.is_dir():
        raise DataError(f"LFW folder {str(lfw_dir)!r} does not exist")
    pairs = read_pairs(pairs_path)
    cache: dict[Path, np.ndarray] = {}

    def image(name, index):
        path = _find_image(lfw_dir, name, index)
        if path not in cache:
            cache[path] = _resize(read_image(path, channels)[None], resolution)[0]
        return cache[path]

    A = np.stack([image(a, i) for a, i, _, _, _ in pairs])
    B = np.stack([image(b, j) for _, _, b, j, _ in pairs])
    return A, B, np.array([p[4] for p in pairs])


def verification_accuracy(emb_a: np.ndarray, emb_b: np.ndarray, same: np.ndarray, folds: int = 10) -> float:
    """10-fold LFW verification accuracy of cosine similarity with a threshold tuned on the other folds."""
    a = emb_a / np.linalg.norm(emb_a, axis=1, keepdims=True).clip(1e-12)
    b = emb_b / np.linalg.norm(emb_b, axis=1, keepdims=True).clip(1e-12)
    sim = np.sum(a * b, axis=1)
    fold_of = np.arange(len(sim)) % folds
    accuracies = []
    for k in range(folds):
        train, test = fold_of != k, fold_of == k
        if not test.any():
            continue
        candidates = np.unique(sim[train])
        thresholds = np.concatenate([[-1.0 - 1e-9], candidates])
        acc_train = [np.mean((sim[train] > t) == same[train]) for t in thresholds]
        best = thresholds[int(np.argmax(acc_train))]
        accuracies.append(np.mean((sim[test] > best) == same[test]))
    return float(np.mean(accuracies))


def arc_margin_head(embedding: int, classes: int, scale: float = 30.0, margin: float = 0.5):
    """ArcFace (Deng et al. 2019): logits ``s cos(theta + m)`` for the true class, ``s cos(theta)`` otherwise."""
    import torch
    from torch import nn

    class ArcMarginHead(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.randn(classes, embedding) * 0.01)

        def forward(self, features: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
            cosine = nn.functional.linear(nn.functional.normalize(features), nn.functional.normalize(self.weight))
            if labels is None:
                return scale * cosine
            sine = torch.sqrt((1.0 - cosine**2).clamp(1e-9, 1.0))
            with_margin = cosine * math.cos(margin) - sine * math.sin(margin)
            # beyond theta = pi - m, cos(theta + m) stops decreasing: use the usual linear fallback
            with_margin = torch.where(cosine > math.cos(math.pi - margin), with_margin,
                                      cosine - math.sin(math.pi - margin) * margin)
            one_hot = nn.functional.one_hot(labels, classes).to(cosine.dtype)
            return scale * (one_hot * with_margin + (1 - one_hot) * cosine)

    return ArcMarginHead()


@dataclass
class FaceObjective(ChildCosts):
    """Train a MobileFaceNet child with an ArcFace head; return LFW-style verification accuracy (%)."""

    train_dir: str
    lfw_dir: str
    pairs_path: str
    resolution: int = 32
    width: float = 0.75
    embedding: int = 128
    epochs: int = 10
    batch_size: int = 64
    lr: float = 0.1
    seed: int = 0
    device: str = "auto"
    num_threads: int | None = None

    def __post_init__(self) -> None:
        self._data = None

    def data(self):
        if self._data is None:
            train = load_images("imagefolder", self.train_dir, self.resolution)
            A, B, same = load_pairs(self.lfw_dir, self.pairs_path, self.resolution, train.in_channels)
            self._data = (train, A, B, same)
        return self._data

    def plan(self, arch):
        from gpnas.nets.spaces import mobilefacenet_plan

        train = self.data()[0]
        return mobilefacenet_plan(arch, self.width, self.resolution, self.embedding, train.in_channels)

    def __call__(self, arch) -> float:
        from gpnas.nets.torch_models import build_network
        from gpnas.nets.training import TrainConfig, embed, train_classifier

        train, A, B, same = self.data()
        import torch

        torch.manual_seed(self.seed)  # the initial weights too, so a child's result is reproducible
        net = build_network(self.plan(arch))
        head = arc_margin_head(self.embedding, len(train.classes))
        config = TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, seed=self.seed,
                             device=self.device, num_threads=self.num_threads)
        train_classifier(net, train.images, train.labels, train.images[:2], train.labels[:2], config, head=head)
        return 100.0 * verification_accuracy(embed(net, A), embed(net, B), same)
