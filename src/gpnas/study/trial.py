"""One evaluation of an architecture, as a study stores it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from gpnas.space import SearchSpace

#: A search stops when its first this-many trials failed with one and the same error (a bad setting, not bad luck).
FAIL_FAST = 3


@dataclass
class Trial:
    """One evaluation of an architecture.  ``arch`` holds choice indices; ``params`` the same architecture as
    ``{choice name: value}``, what the objective receives (Optuna's ``trial.params``)."""

    number: int
    arch: np.ndarray
    state: str = "pending"
    value: float | None = None
    error: str | None = None
    started: float | None = None
    finished: float | None = None
    round: int = 0
    worker: str | None = None
    attempts: int = 0
    heartbeat: float | None = None
    space: SearchSpace | None = field(default=None, repr=False, compare=False)
    #: A multi-objective trial's values, one per objective in the study's order (``value`` is the first); ``None``
    #: in a single-objective study and before the trial is done.
    values: list[float] | None = None

    @property
    def params(self) -> dict[str, Any]:
        """The architecture as ``{choice name: value}``."""
        if self.space is None:
            raise ValueError(f"trial {self.number} was made without its space; its indices are {list(self.arch)}")
        return self.space.to_dict_arch(self.arch)

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "arch": self.params, "state": self.state, "value": self.value,
                "error": self.error, "round": self.round, "worker": self.worker, "attempts": self.attempts,
                "duration_s": (self.finished - self.started) if self.finished and self.started else None,
                **({"values": list(self.values)} if self.values is not None else {})}

    def record(self) -> dict[str, Any]:
        """The storage row (architecture as indices)."""
        return {"number": self.number, "arch": [int(v) for v in self.arch], "state": self.state, "value": self.value,
                "error": self.error, "started": self.started, "finished": self.finished, "worker": self.worker,
                "round": self.round, "attempts": self.attempts, "heartbeat": self.heartbeat,
                "objectives": None if self.values is None else [float(v) for v in self.values]}

    @classmethod
    def from_record(cls, row: Mapping[str, Any], space: SearchSpace | None = None) -> "Trial":
        return cls(int(row["number"]), np.array(row["arch"], dtype=int), row["state"], row["value"], row["error"],
                   row["started"], row["finished"], int(row["round"] or 0), row["worker"], int(row["attempts"] or 0),
                   row.get("heartbeat"), space,
                   None if row.get("objectives") is None else [float(v) for v in row["objectives"]])
