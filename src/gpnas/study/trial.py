"""One evaluation of an architecture, as a study stores it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from gpnas.space import SearchSpace

#: A search stops when its first this-many trials failed with one and the same error (a bad setting, not bad luck).
FAIL_FAST = 3


@dataclass
class Trial:
    """One evaluation of an architecture."""

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

    def params(self, space: SearchSpace) -> dict[str, Any]:
        return space.to_dict_arch(self.arch)

    def to_dict(self, space: SearchSpace) -> dict[str, Any]:
        return {"number": self.number, "arch": self.params(space), "state": self.state, "value": self.value,
                "error": self.error, "round": self.round, "worker": self.worker, "attempts": self.attempts,
                "duration_s": (self.finished - self.started) if self.finished and self.started else None}

    def record(self) -> dict[str, Any]:
        """The storage row (architecture as indices)."""
        return {"number": self.number, "arch": [int(v) for v in self.arch], "state": self.state, "value": self.value,
                "error": self.error, "started": self.started, "finished": self.finished, "worker": self.worker,
                "round": self.round, "attempts": self.attempts, "heartbeat": self.heartbeat}

    @classmethod
    def from_record(cls, row: Mapping[str, Any]) -> "Trial":
        return cls(int(row["number"]), np.array(row["arch"], dtype=int), row["state"], row["value"], row["error"],
                   row["started"], row["finished"], int(row["round"] or 0), row["worker"], int(row["attempts"] or 0),
                   row.get("heartbeat"))
