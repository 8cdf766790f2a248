"""The storage interface every store implements, kept in this process only (the default without a storage URL).

A study's trials carry a *change clock*: each write to a study's trials advances the study's clock by one and stamps
the rows it wrote with it.  :meth:`InMemoryStorage.load_trials_since` then returns only the trials changed after a
clock value the caller read before, so a study shared by many workers re-reads what changed, not every trial.
"""

from __future__ import annotations

import io
import time
import zipfile

from gpnas.exceptions import GPNASError

TRIAL_FIELDS = ("number", "arch", "state", "value", "error", "started", "finished", "worker", "round", "attempts",
                "heartbeat", "objectives")
#: Fields stored as JSON text in the SQL stores: the architecture, and a multi-objective trial's values (``value``
#: holds the first of them, so that a reader of single values sees the first objective).
JSON_FIELDS = ("arch", "objectives")
STATES = ("pending", "running", "done", "failed")


class StorageError(GPNASError):
    """A storage URL or database is unusable (corrupt, foreign, wrong schema version, unknown study, unreachable)."""


class StorageNotFoundError(StorageError):
    """Opened for reading only (``create=False``), the database does not exist or holds no gpnas studies."""


class InMemoryStorage:
    """Keeps studies in this process only (the default when no storage URL is given)."""

    def __init__(self) -> None:
        self._studies: dict[str, dict] = {}

    def create_study(self, name: str, space: dict, settings: dict) -> None:
        if name in self._studies:
            raise StorageError(f"study {name!r} already exists")
        self._studies[name] = {"space": space, "settings": settings, "trials": {}, "models": [],
                               "created": time.time(), "clock": 0}

    def _study(self, name: str) -> dict:
        if name not in self._studies:
            raise StorageError(f"no study named {name!r}")
        return self._studies[name]

    def _tick(self, name: str) -> int:
        study = self._study(name)
        study["clock"] += 1
        return study["clock"]

    def has_study(self, name: str) -> bool:
        return name in self._studies

    def load_study(self, name: str) -> dict:
        s = self._study(name)
        return {"name": name, "space": s["space"], "settings": s["settings"], "created": s["created"]}

    def list_studies(self) -> list[dict]:
        return [self.study_summary(n) for n in self._studies]

    def study_summary(self, name: str) -> dict:
        states = [t["state"] for t in self._study(name)["trials"].values()]
        return {"name": name, "n_trials": len(states), **{s: states.count(s) for s in STATES}}

    def save_trials(self, name: str, trials: list[dict]) -> None:
        clock = self._tick(name)
        for trial in trials:
            self._study(name)["trials"][trial["number"]] = {"heartbeat": None, **trial, "changed": clock}

    def add_trials(self, name: str, trials: list[dict], unique: bool = False, cap: int | None = None) -> list[int]:
        """Insert new trials with the next free numbers (ignoring theirs); returns the numbers given.

        ``unique`` skips architectures the study already holds; ``cap`` stops once the study holds that many trials
        that are not free pending ones.  Both are checked in the inserting transaction, so processes asking at the
        same moment neither duplicate an architecture nor overshoot a shared budget.
        """
        store = self._study(name)["trials"]
        trials = admissible(list(store.values()), trials, unique, cap)
        first = max(store, default=-1) + 1
        numbers = list(range(first, first + len(trials)))
        self.save_trials(name, [{**t, "number": n} for t, n in zip(trials, numbers)])
        return numbers

    def claim_trials(self, name: str, numbers: list[int], owner: str, now: float) -> list[int]:
        """Move the given pending trials that are free or ``owner``'s to running, owned by ``owner``; returns those
        claimed (a compare-and-set per trial: of several claimants one wins)."""
        clock, claimed = self._tick(name), []
        for number in numbers:
            t = self._study(name)["trials"].get(number)
            if t is not None and t["state"] == "pending" and t["worker"] in (None, owner):
                t.update(state="running", worker=owner, started=now, heartbeat=now, changed=clock)
                claimed.append(number)
        return claimed

    def finish_trial(self, name: str, trial: dict) -> bool:
        """Record a result unless the trial is already finished; returns whether it was recorded."""
        t = self._study(name)["trials"].get(trial["number"])
        if t is None or t["state"] in ("done", "failed"):
            return False
        t.update({k: v for k, v in trial.items() if k not in ("heartbeat", "changed")}, heartbeat=None,
                 changed=self._tick(name))
        return True

    def heartbeat(self, name: str, numbers: list[int], owner: str, now: float) -> None:
        clock = self._tick(name)
        for number in numbers:
            t = self._study(name)["trials"].get(number)
            if t is not None and t["state"] == "running" and t["worker"] == owner:
                t.update(heartbeat=now, changed=clock)

    def requeue(self, name: str, trials: list[dict]) -> list[int]:
        """Put the given unfinished trials back in the queue, each only if its state and owner are still as read
        (pending and free, ``attempts`` + 1 if it was running); returns the numbers requeued."""
        clock, done = self._tick(name), []
        for trial in trials:
            t = self._study(name)["trials"].get(trial["number"])
            if t is not None and t["state"] in ("pending", "running") and t["state"] == trial["state"] \
                    and t["worker"] == trial["worker"]:  # a finished trial is never put back
                t.update(state="pending", worker=None, started=None, heartbeat=None, changed=clock,
                         attempts=t["attempts"] + (1 if t["state"] == "running" else 0))
                done.append(trial["number"])
        return done

    def load_trials(self, name: str) -> list[dict]:
        return self.load_trials_since(name, 0)[0]

    def load_trials_since(self, name: str, clock: int) -> tuple[list[dict], int]:
        """The trials changed after ``clock`` (all of them for 0), by number, and the study's clock now: pass it
        back next time to read only what changed meanwhile.  A trial may come back twice; never is one missed."""
        study = self._study(name)
        trials = study["trials"]
        return [_public(trials[k]) for k in sorted(trials) if trials[k]["changed"] > clock], study["clock"]

    def save_model(self, name: str, n_done: int, info: dict, blob: bytes) -> int:
        """Append a fitted model as the next round; returns its round number (from 1)."""
        models = self._study(name)["models"]
        round_ = (models[-1][0] if models else 0) + 1
        models.append((round_, n_done, dict(info), blob))
        return round_

    def load_latest_model(self, name: str) -> tuple[int, int, bytes] | None:
        models = self._study(name)["models"]
        return (models[-1][0], models[-1][1], models[-1][3]) if models else None

    def load_rounds(self, name: str) -> list[dict]:
        return [dict(info) for _, _, info, _ in self._study(name)["models"]]

    def check_integrity(self, name: str) -> None:
        """Raise :class:`StorageError` if study ``name`` cannot be read back whole (nothing to check in memory)."""

    def load_model_at(self, name: str, round_: int) -> bytes | None:
        """The model bytes saved in round ``round_`` (counted from 1), or ``None``."""
        for r, _, _, blob in self._study(name)["models"]:
            if r == round_:
                return blob
        return None

    def close(self) -> None:
        """Release the connection (nothing to release in memory)."""


def _public(trial: dict) -> dict:
    return {f: trial.get(f) for f in TRIAL_FIELDS}


def zip_damage(blob: bytes) -> str | None:
    """What is wrong with a stored model archive (an ``.npz``, a zip file with a CRC-32 per member), or ``None``."""
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        return str(err)[:120]
    return None if bad is None else f"member {bad!r}"


def admissible(existing: list[dict], new: list[dict], unique: bool, cap: int | None) -> list[dict]:
    """The new trials that :meth:`InMemoryStorage.add_trials` may insert next to ``existing`` ones."""
    seen = {tuple(t["arch"]) for t in existing} if unique else set()
    room = None if cap is None else cap - sum(1 for t in existing if t["state"] != "pending" or t["worker"])
    out = []
    for trial in new:
        key = tuple(trial["arch"])
        if (unique and key in seen) or (room is not None and len(out) >= room):
            continue
        seen.add(key)
        out.append(trial)
    return out
