"""The training settings a search uses when none are given, and the objective built from them (one home for each).

Widths and input sizes per dataset: small digit sets train narrow children on 16x16 inputs (the CPU main job), CIFAR
and image folders the paper's width 1.0 on 32x32, faces a 0.75-wide MobileFaceNet.
"""

from __future__ import annotations

from pathlib import Path

from gpnas.exceptions import DataError
from gpnas.space import SearchSpace

#: ``dataset -> (width, resolution)`` defaults.
TRAINING_DEFAULTS = {"digits": (0.35, 16), "mnist5k": (0.35, 16), "cifar10": (1.0, 32), "imagefolder": (1.0, 32),
                     "faces": (0.75, 32)}


def make_training_objective(space: SearchSpace, dataset: str, data_dir: str | None, epochs: int,
                            width: float | None, resolution: int | None, lr: float | None, device: str, seed: int):
    """The objective that trains the children of ``space`` on ``dataset``, with every setting checked now.

    ``width`` and ``resolution`` default per dataset (:data:`TRAINING_DEFAULTS`).  A bad device, dataset path or
    space/dataset pairing raises :class:`DataError` here, before any trial, rather than failing every trial.
    """
    default_width, default_resolution = TRAINING_DEFAULTS.get(dataset, TRAINING_DEFAULTS["cifar10"])
    width = default_width if width is None else width
    resolution = default_resolution if resolution is None else resolution
    try:
        import torch
    except ImportError:
        raise DataError("training children needs the torch extra: pip install 'gpnas[torch]'") from None
    if device != "auto":  # checked before the first trial, not discovered by every trial failing
        try:
            parsed = torch.device(device)
        except (RuntimeError, ValueError) as err:
            raise DataError(f"--device {device!r} is not a torch device: {err}") from None
        if parsed.type == "cuda" and not torch.cuda.is_available():
            raise DataError(f"--device {device!r}: this machine has no CUDA device; use --device cpu or auto")
    if dataset == "faces" or space.name == "mobilefacenet":
        if dataset != "faces" or space.name != "mobilefacenet":
            raise DataError("face recognition search needs --dataset faces with the mobilefacenet space")
        if data_dir is None:
            raise DataError("--dataset faces needs --data-dir holding train/, lfw/ and pairs.txt")
        from gpnas.nets.face import FaceObjective

        base = Path(data_dir)
        objective = FaceObjective(str(base / "train"), str(base / "lfw"), str(base / "pairs.txt"),
                                  resolution=resolution, width=width, epochs=epochs, lr=lr, device=device, seed=seed)
    elif space.name == "mobilenetv3-large":
        from gpnas.nets.objectives import TrainingObjective

        objective = TrainingObjective(dataset=dataset, data_dir=data_dir, resolution=resolution, width=width,
                                      epochs=epochs, lr=lr, device=device, seed=seed)
    else:
        raise DataError(f"training search supports the mobilenetv3-large and mobilefacenet spaces, not "
                        f"{space.name!r}; use --table for other spaces")
    objective.data()  # fail now, with a clear line, on a bad dataset path
    return objective


def objective_from_settings(space: SearchSpace, stored: dict | None, width: float | None = None,
                            resolution: int | None = None):
    """The training objective a study was searched with, rebuilt from the settings it stored (``user_attrs``), with
    ``width``/``resolution`` overriding them; ``None`` for a table-replay study or one without stored settings."""
    stored = dict(stored or {})
    if not stored or "table" in stored:
        return None
    stored.update({k: v for k, v in (("width", width), ("resolution", resolution)) if v is not None})
    if space.name == "mobilefacenet":
        from gpnas.nets.face import FaceObjective

        return FaceObjective(**stored)
    from dataclasses import fields

    from gpnas.nets.objectives import TrainingObjective

    # studies written before the data-size training recipe stored warmup_epochs; only the MACs/params matter here
    known = {f.name for f in fields(TrainingObjective)}
    return TrainingObjective(**{k: v for k, v in stored.items() if k in known})
