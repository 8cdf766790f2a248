"""Measured latencies of networks on many devices (HELP's data: NAS-Bench-201, FBNet, OFA-MobileNetV3) as side features.

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
from gpnas.space import SearchSpace, make_space

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


#: FBNet's per-layer operations in HELP's (and HW-NAS-Bench's) order: kernel, expansion, groups; ``skip`` drops it.
FBNET_OPS = ("k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip")
#: HELP's FBNet protocol (Table 2): meta-training, validation and test devices.
FBNET_TRAIN_DEVICES = ("1080ti_1", "1080ti_32", "1080ti_64", "silver_4114", "silver_4210r", "samsung_a50", "pixel3",
                       "essential_ph_1", "samsung_s7")
FBNET_VALID_DEVICES = ("titanx_1", "titanx_32", "titanx_64", "gold_6240")
FBNET_TEST_DEVICES = ("fpga", "raspi4", "eyeriss")
#: HELP's OFA-MobileNetV3 protocol (its Table 5 searches; it publishes no correlation there).
OFA_TRAIN_DEVICES = ("2080ti_1", "2080ti_32", "2080ti_64", "titan_xp_1", "titan_xp_32", "titan_xp_64", "v100_1",
                     "v100_32", "v100_64")
OFA_VALID_DEVICES = ("titan_rtx_1", "titan_rtx_32")
OFA_TEST_DEVICES = ("titan_rtx_64",)
_OFA_STAGES, _OFA_SLOTS = 5, 4
_OFA_RESOLUTIONS = tuple(range(128, 225, 4))


def fbnet_space() -> SearchSpace:
    """HW-NAS-Bench's FBNet space as HELP measured it: 22 searchable layers, each one of :data:`FBNET_OPS`."""
    return make_space([(f"layer_{i}", list(FBNET_OPS), "op") for i in range(22)], name="fbnet")


def ofa_space() -> SearchSpace:
    """OFA's MobileNetV3 space (5 stages of 2-4 blocks, kernel 3/5/7 and expansion 3/4/6 per block, input 128-224):
    a block beyond its stage's depth takes ``off`` for its kernel and expansion, so that equal networks are equal
    rows; the depths and the resolution are positions of their own."""
    spec = [(f"d{s}", [2, 3, 4], "depth") for s in range(_OFA_STAGES)]
    for s in range(_OFA_STAGES):
        for b in range(_OFA_SLOTS):
            spec += [(f"s{s}b{b}_kernel", [3, 5, 7, "off"], "kernel"), (f"s{s}b{b}_expansion", [3, 4, 6, "off"],
                                                                          "expansion")]
    return make_space(spec + [("resolution", list(_OFA_RESOLUTIONS), "resolution")], name="ofa-mobilenetv3")


def _read_help(name: str, devices: Sequence[str] | None, data_dir_) -> tuple[list[dict], dict[str, np.ndarray]]:
    path = _require(data_dir(data_dir_) / "help-latency" / name)
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        available = [c for c in (reader.fieldnames or []) if c not in ("row", "arch", "ks", "e", "d", "r")]
        rows = list(reader)
    devices = list(available if devices is None else devices)
    unknown = [d for d in devices if d not in available]
    if unknown:
        raise DataError(f"no latencies in {name} for device(s) {unknown}; the file has {available}")
    return rows, {d: np.array([float(r[d]) for r in rows]) for d in devices}


def load_help_latency(space: str, devices: Sequence[str] | None = None,
                      data_dir_: str | os.PathLike | None = None) -> tuple[SearchSpace, np.ndarray,
                                                                         dict[str, np.ndarray]]:
    """``(space, X (N, d), {device: latency ms (N,)})`` of HELP's measurements in ``space``: ``"nasbench201"`` (every
    cell), ``"fbnet"`` or ``"ofa"`` (5,000 sampled networks each)."""
    if space == "nasbench201":
        from gpnas.io.tables import nasbench201_space

        X, latency = load_nb201_latency(devices, data_dir_)
        return nasbench201_space(), X, latency
    if space == "fbnet":
        rows, latency = _read_help("fbnet_latency.csv", devices, data_dir_)
        return fbnet_space(), np.array([[int(v) for v in r["arch"].split("-")] for r in rows]), latency
    if space == "ofa":
        rows, latency = _read_help("ofa_mbv3_latency.csv", devices, data_dir_)
        return ofa_space(), np.array([_ofa_row(r) for r in rows]), latency
    raise DataError(f"unknown HELP space {space!r}; expected nasbench201, fbnet or ofa")


def _ofa_row(row: dict) -> list[int]:
    kernels = [int(v) for v in row["ks"].split("-")]
    expansions = [int(v) for v in row["e"].split("-")]
    depths = [int(v) for v in row["d"].split("-")]
    out = [[2, 3, 4].index(d) for d in depths]
    for s in range(_OFA_STAGES):
        for b in range(_OFA_SLOTS):
            slot = s * _OFA_SLOTS + b
            active = b < depths[s]
            out += [[3, 5, 7].index(kernels[slot]) if active else 3, [3, 4, 6].index(expansions[slot]) if active else 3]
    return out + [_OFA_RESOLUTIONS.index(int(row["r"]))]


def help_side_features(space: str, devices: Sequence[str],
                       data_dir_: str | os.PathLike | None = None) -> SideFeatures:
    """The log latencies on ``devices`` of every network HELP measured in ``space`` as side features (signs +1)."""
    _, X, latency = load_help_latency(space, devices, data_dir_)
    return SideFeatures(X, np.log(np.column_stack([latency[d] for d in devices])), list(devices),
                        signs=np.ones(len(devices)))
