"""Measured latencies of NAS-Bench-201 cells on many devices (HELP's data) as side features.

``../shared/data/help-latency/nasbench201_latency.csv`` (HELP, NeurIPS 2021; see its SOURCE.md) holds the latency in
milliseconds of every NAS-Bench-201 cell on 25 devices.  A latency model for a new device can take the other devices'
latencies as inputs (:class:`~gpnas.gp.side_features.SideFeatures`): networks that are slow on one device are mostly
slow on another, and a GP fitted on ten measurements of the new device learns how its latencies relate to theirs.
"""

from __future__ import annotations

import csv
import os
from typing import Sequence

import numpy as np

from gpnas.exceptions import DataError
from gpnas.gp.side_features import SideFeatures
from gpnas.io.tables import NB201_OPS, _require, data_dir

#: HELP's meta-training devices for NAS-Bench-201 (Lee et al., NeurIPS 2021, Table 3's protocol).
HELP_TRAIN_DEVICES = ("1080ti_1", "1080ti_32", "1080ti_256", "silver_4114", "silver_4210r", "samsung_a50", "pixel3",
                      "essential_ph_1", "samsung_s7")
#: HELP's unseen test devices for NAS-Bench-201.
HELP_TEST_DEVICES = ("titan_rtx_256", "gold_6226", "pixel2", "raspi4", "eyeriss", "fpga")


def load_nb201_latency(devices: Sequence[str] | None = None,
                       data_dir_: str | os.PathLike | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``(X (15625, 6), {device: latency ms (15625,)})`` for ``devices`` (default: all 25), cells as NB201 choice
    indices in the order of the NATS-Bench table."""
    path = _require(data_dir(data_dir_) / "help-latency" / "nasbench201_latency.csv")
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        available = [c for c in (reader.fieldnames or []) if c not in ("arch_index", "arch_str")]
        rows = list(reader)
    devices = list(available if devices is None else devices)
    unknown = [d for d in devices if d not in available]
    if unknown:
        raise DataError(f"no NAS-Bench-201 latencies for device(s) {unknown}; the file has {available}")
    X = np.array([[NB201_OPS.index(t.split("~")[0]) for t in r["arch_str"].split("|") if "~" in t] for r in rows])
    return X, {d: np.array([float(r[d]) for r in rows]) for d in devices}


def latency_side_features(devices: Sequence[str] = HELP_TRAIN_DEVICES,
                          data_dir_: str | os.PathLike | None = None) -> SideFeatures:
    """The log latencies of every NB201 cell on ``devices`` (default: HELP's nine meta-training devices) as side
    features of a model of another device's latency; signs +1 (slower there, slower here)."""
    X, latency = load_nb201_latency(devices, data_dir_)
    return SideFeatures(X, np.log(np.column_stack([latency[d] for d in devices])), list(devices),
                        signs=np.ones(len(devices)))
