"""Checks of a model's inputs: ``X (n, d)`` non-negative integer choice indices, ``y (n,)`` finite values.

Each problem is named in scikit-learn's words where scikit-learn has a convention (sparse input, complex data, NaN
or infinity, zero features, a single sample, negative values, a missing ``y``), so that tools built on its checks
read gpnas's errors as they read any estimator's.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from gpnas.exceptions import ArchitectureError, ArchitectureTypeError, DataError, data_conversion_warning


def choice_matrix(X: Any, estimator: str = "GPNASRegressor") -> np.ndarray:
    """``X`` as an ``(n, d)`` integer array of choice indices, or an :class:`ArchitectureError` naming the problem.

    Whole-valued floats (``3.0``) are accepted as indices; anything else that is not a non-negative integer is not.
    """
    if hasattr(X, "tocsr") or hasattr(X, "sparse"):  # scipy.sparse matrices and arrays, pandas sparse frames
        raise ArchitectureError(f"{estimator} does not accept sparse input: pass a dense array of choice indices")
    try:
        arr = np.asarray(X)
    except (TypeError, ValueError) as err:
        raise ArchitectureError(f"{estimator}: X is not an array of choice indices ({err})") from None
    if np.iscomplexobj(arr):
        raise ArchitectureError(f"{estimator}: Complex data not supported; X must hold choice indices")
    if arr.dtype.kind == "O":
        try:
            arr = arr.astype(float)
        except (TypeError, ValueError) as err:
            raise ArchitectureTypeError(f"{estimator}: X holds non-numeric values ({err}); expected integer choice "
                                        "indices (read a CSV of values with gpnas.read_architectures)") from None
    if arr.dtype.kind not in "biuf":
        raise ArchitectureTypeError(f"{estimator}: X has dtype {arr.dtype}; expected integer choice indices")
    if arr.ndim != 2:
        hint = ". Reshape your data: one architecture is arch.reshape(1, -1)" if arr.ndim == 1 else ""
        raise ArchitectureError(f"{estimator}: Expected 2D array of choice indices (n, d), got {arr.ndim}D array "
                                f"of shape {arr.shape} instead{hint}")
    if arr.shape[1] == 0:
        raise ArchitectureError(f"{estimator}: found array with 0 feature(s) (shape={arr.shape}) while a minimum "
                                "of 1 is required.")
    if arr.dtype.kind == "f":
        if np.isnan(arr).any():
            raise ArchitectureError(f"{estimator}: X contains NaN ({int(np.isnan(arr).sum())} entries); expected "
                                    "integer choice indices")
        if np.isinf(arr).any():
            raise ArchitectureError(f"{estimator}: X contains infinity ({int(np.isinf(arr).sum())} entries); "
                                    "expected integer choice indices")
    if arr.size and arr.min() < 0:
        raise ArchitectureError(f"Negative values in data passed to {estimator}: choice indices count from 0")
    if arr.dtype.kind == "f":
        if not np.all(arr == np.round(arr)):
            raise ArchitectureError(f"{estimator}: X holds fractional values; expected whole-numbered choice "
                                    "indices (0, 1, ... per position), not continuous features")
    return arr.astype(int)


def target_vector(y: Any, n: int, estimator: str = "GPNASRegressor") -> np.ndarray:
    """``y`` as ``(n,)`` finite floats, or a :class:`DataError` naming the problem."""
    if y is None:
        raise DataError(f"{estimator} requires y to be passed, but the target y is None")
    try:
        y = np.asarray(y, dtype=float)
    except (TypeError, ValueError) as err:
        raise DataError(f"{estimator}: y is not numeric ({err})") from None
    if y.ndim > 1 and not (y.ndim == 2 and y.shape[1] == 1):
        raise DataError(f"{estimator}: y should be a 1d array of performances, got shape {y.shape}")
    if y.ndim == 2:
        warnings.warn(f"A column-vector y was passed when a 1d array was expected; {estimator} reads it as (n,)",
                      data_conversion_warning(), stacklevel=3)
    y = y.ravel()
    if y.shape[0] != n:
        raise DataError(f"X has {n} rows but y has {y.shape[0]} values")
    if not np.all(np.isfinite(y)):
        raise DataError(f"y has {int(np.sum(~np.isfinite(y)))} non-finite value(s) (NaN or inf)")
    return y
