"""Saving and loading fitted models as a portable ``.npz`` file (never pickle).

Format ``gpnas-model`` version 2: a NumPy ``.npz`` archive (read with ``allow_pickle=False``) holding

* ``meta``: a JSON string with ``format``, ``version``, the constructor parameters (the space as its dict form),
  ``group_names``, the ``encoding`` the model uses (``"auto"`` resolved) and the target transform's ``target_kind``;
* float arrays ``X_train (n, d)`` (choice indices), ``y_train (n,)``, ``log_sigma (h,)``, ``log_lengthscale (h,)``,
  ``log_noise ()`` (model units), ``target_y_knots (k,)``, ``target_z_knots (k,)``, ``target_tail_slopes (2,)`` (the
  target transform is the piecewise-linear map through these knots, continued with these slopes), ``prior_mean (p,)``
  and ``prior_cov (p, p)`` of the weights.

A :class:`~gpnas.gp.transfer.TransferRegressor` is saved in the same format with ``meta`` ``kind: "transfer"``,
its ``max_correlation`` and ``task_scale``, and the arrays ``X_train``, ``y_train`` (the target task's data),
``theta`` (the joint GP's hyperparameters) and ``source_model`` (the source model's own file, as bytes).

Loading refactors the kernel matrix from the stored data and hyperparameters and recomputes the weights' posterior
(Theorems 1-2), so the file stays small and any tool that reads ``.npz`` and JSON can use it.  Version 1 files
(before the copula transform and the cell features) are refused with a message to refit.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

from gpnas.space.encoding import ENCODINGS
from gpnas.exceptions import GPNASError, ModelFileError
from gpnas.gp.regressor import GPNASRegressor
from gpnas.gp.side_features import SideFeatures
from gpnas.gp.target import TargetTransform
from gpnas.gp.transfer import TransferRegressor
from gpnas.space import SearchSpace

FORMAT = "gpnas-model"
VERSION = 2
_ARRAYS = ("X_train", "y_train", "log_sigma", "log_lengthscale", "log_noise", "target_y_knots", "target_z_knots",
           "target_tail_slopes", "prior_mean", "prior_cov")
_TRANSFER_ARRAYS = ("X_train", "y_train", "theta", "source_model")


def save_model(model: GPNASRegressor | TransferRegressor, path: str | Path | BinaryIO) -> Path | BinaryIO:
    """Write a fitted model (a :class:`GPNASRegressor` or a :class:`TransferRegressor`) to exactly ``path`` (the
    ``.npz`` format whatever the suffix) or a binary file object; returns where."""
    model.check_is_fitted()
    if isinstance(path, (str, Path)):
        path = Path(path)
        with open(path, "wb") as handle:  # a file object, so that NumPy does not append ".npz" to the name
            _write(model, handle)
        return path
    _write(model, path)
    return path


def _write(model: GPNASRegressor | TransferRegressor, path: BinaryIO) -> None:
    if isinstance(model, TransferRegressor):
        meta = {"format": FORMAT, "version": VERSION, "kind": "transfer", "max_correlation": model.max_correlation,
                "task_scale": bool(model.task_scale)}
        np.savez(path, meta=np.array(json.dumps(meta)), X_train=model.X_train_, y_train=model.y_train_,
                 theta=model.model_.theta_, source_model=np.frombuffer(model_to_bytes(model.source), dtype=np.uint8))
        return
    params = model.get_params()
    params["space"] = None if model.space is None else model.space.to_dict()
    side = params.pop("side_features")
    for key in ("groups", "n_options", "sigma", "lengthscale", "sigma_bounds", "lengthscale_bounds", "noise_bounds",
                "features"):
        if params[key] is not None:
            params[key] = np.asarray(params[key]).tolist()
    meta = {"format": FORMAT, "version": VERSION, "params": params, "target_kind": model.target_.kind,
            "group_names": model.group_names_, "encoding": model.encoding_,
            "structure": {"n_options": np.asarray(model.n_options_).tolist(), "groups": list(model.groups_)}}
    source = getattr(model, "prior_mean_model_", None)
    extra = {}
    if source is not None:  # a prior_mean transfer predicts through its source model: it travels inside
        meta["prior_mean"] = {"center": model.encoder_.center, "scale": model.encoder_.scale}
        extra["prior_mean_model"] = np.frombuffer(model_to_bytes(source), dtype=np.uint8)
    if side is not None:  # the lookup travels inside: the model cannot encode an architecture without it
        meta["side_features"] = {"names": side.names, "signs": side.signs.tolist()}
        extra["side_X"], extra["side_values"] = side.X, side.values
    np.savez(
        path,
        meta=np.array(json.dumps(meta)),
        X_train=model.X_train_,
        y_train=model.y_train_,
        log_sigma=np.log(model.kernel_.sigma),
        log_lengthscale=np.log(model.kernel_.lengthscale),
        log_noise=np.array(np.log(model.noise_)),
        target_y_knots=model.target_.y_knots,
        target_z_knots=model.target_.z_knots,
        target_tail_slopes=model.target_.tail_slopes,
        prior_mean=model.prior_mean_,
        prior_cov=model.prior_cov_,
        **extra,
    )


def load_model(path: str | Path | BinaryIO) -> GPNASRegressor | TransferRegressor:
    """Read a model written by :func:`save_model`; raises :class:`ModelFileError` on a bad or damaged file."""
    where = repr(str(path)) if isinstance(path, (str, Path)) else "stream"
    if isinstance(path, (str, Path)):
        path = Path(path)
        if not path.is_file():
            raise ModelFileError(f"model file {where} does not exist")
        if not zipfile.is_zipfile(path):
            raise ModelFileError(f"model file {where} is not a gpnas model (not an .npz archive)")
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            transfer = isinstance(meta, dict) and meta.get("kind") == "transfer"
            arrays = {key: data[key] for key in (_TRANSFER_ARRAYS if transfer else _ARRAYS)}
            for key in ("prior_mean_model", "side_X", "side_values"):
                if key in data:
                    arrays[key] = data[key]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as err:
        detail = str(err) if len(str(err)) <= 160 else str(err)[:160] + "..."  # zip errors can quote raw bytes
        raise ModelFileError(f"model file {where} is not a gpnas model: {detail}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"model file {where} is not a gpnas model (format "
                             f"{meta.get('format') if isinstance(meta, dict) else None!r})")
    if meta.get("version") != VERSION:
        raise ModelFileError(f"model file {where} has format version {meta.get('version')}, expected {VERSION}; "
                             "refit it with this version of gpnas")
    try:
        return _rebuild_transfer(meta, arrays, where) if transfer else _rebuild(meta, arrays, where)
    except ModelFileError:
        raise
    except (GPNASError, KeyError, TypeError, ValueError, IndexError, AttributeError, np.linalg.LinAlgError) as err:
        raise ModelFileError(f"model file {where} is damaged: {type(err).__name__}: {err}") from None


def _rebuild(meta: dict, arrays: dict, where: str) -> GPNASRegressor:
    params = dict(meta["params"])
    # a file written before the hyperparameter prior existed holds a maximum-likelihood fit
    params.setdefault("hyperprior_scale", None)
    if params["space"] is not None:
        params["space"] = SearchSpace.from_dict(params["space"], source=f"model file {where}")
    for key in ("sigma_bounds", "lengthscale_bounds", "noise_bounds"):
        params[key] = tuple(params[key])
    if "side_features" in meta:
        if "side_X" not in arrays or "side_values" not in arrays:
            raise ModelFileError(f"model file {where} is damaged: its side features are missing")
        params["side_features"] = SideFeatures(arrays["side_X"], arrays["side_values"], meta["side_features"]["names"],
                                               meta["side_features"].get("signs"))
    model = GPNASRegressor(**params)
    model.encoding_ = meta.get("encoding", model.encoding)
    if model.encoding_ not in ENCODINGS or model.encoding not in ("auto",) + ENCODINGS:
        raise ModelFileError(f"model file {where} is damaged: encoding {model.encoding!r} / {model.encoding_!r}")
    if model.space is None and model.groups is None and model.n_options is None:  # read from the training data
        model.n_options_ = np.asarray(meta["structure"]["n_options"], dtype=int)
        model.groups_ = [str(g) for g in meta["structure"]["groups"]]
    n_options, groups = model.structure()
    source = None
    if "prior_mean" in meta:
        if "prior_mean_model" not in arrays:
            raise ModelFileError(f"model file {where} is damaged: its prior_mean model is missing")
        source = (model_from_bytes(arrays["prior_mean_model"].tobytes()), float(meta["prior_mean"]["center"]),
                  float(meta["prior_mean"]["scale"]))
    h = len(model.make_encoder(n_options, groups).group_names)
    p = model.make_encoder(n_options, groups).n_features + 1 + (source is not None)
    X_train, y_train = arrays["X_train"], arrays["y_train"]
    expected = {"X_train": (y_train.shape[0], len(n_options)), "y_train": (X_train.shape[0],), "log_sigma": (h,),
                "log_lengthscale": (h,), "log_noise": (), "prior_mean": (p,), "prior_cov": (p, p)}
    for key, shape in expected.items():
        if arrays[key].shape != shape:
            raise ModelFileError(f"model file {where} is damaged: {key} has shape {arrays[key].shape}, "
                                 f"expected {shape}")
    for key in ("y_train", "log_sigma", "log_lengthscale", "log_noise", "prior_mean", "prior_cov"):
        if not np.all(np.isfinite(arrays[key])):
            raise ModelFileError(f"model file {where} is damaged: {key} has non-finite values")
    try:
        target = TargetTransform.from_state(meta["target_kind"], arrays["target_y_knots"], arrays["target_z_knots"],
                                            arrays["target_tail_slopes"])
    except ValueError as err:
        raise ModelFileError(f"model file {where} has a bad target transform: {err}") from None
    return model.set_fitted_state(X_train, y_train, np.exp(arrays["log_sigma"]), np.exp(arrays["log_lengthscale"]),
                                  float(np.exp(arrays["log_noise"])), target, arrays["prior_mean"],
                                  arrays["prior_cov"], source)


def _rebuild_transfer(meta: dict, arrays: dict, where: str) -> TransferRegressor:
    source = model_from_bytes(arrays["source_model"].tobytes())
    if not isinstance(source, GPNASRegressor):
        raise ModelFileError(f"model file {where} is damaged: its source model is itself a transfer")
    X_train, y_train = arrays["X_train"], arrays["y_train"]
    if X_train.ndim != 2 or y_train.shape != (X_train.shape[0],):
        raise ModelFileError(f"model file {where} is damaged: X_train {X_train.shape} and y_train {y_train.shape}")
    model = TransferRegressor(source, float(meta["max_correlation"]), bool(meta["task_scale"]))
    return model.set_fitted_state(X_train.astype(int), y_train, arrays["theta"])


def model_to_bytes(model: GPNASRegressor | TransferRegressor) -> bytes:
    """The ``.npz`` of :func:`save_model` as bytes (how studies keep each round's model)."""
    buffer = io.BytesIO()
    save_model(model, buffer)
    return buffer.getvalue()


def model_from_bytes(blob: bytes) -> GPNASRegressor | TransferRegressor:
    """:func:`load_model` from bytes."""
    return load_model(io.BytesIO(blob))
