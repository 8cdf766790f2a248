"""Where studies live: an in-memory store, and SQLite as the embedded default (``sqlite:///gpnas.db``).

Schema version 2 (``PRAGMA user_version`` is not used: the version is a row of ``gpnas_meta`` so that a foreign SQLite
file is told apart from an old gpnas one; a version 1 file is migrated in place by adding the heartbeat column):

* ``gpnas_meta(key, value)``: ``application = gpnas``, ``schema_version = 2``.
* ``studies(id, name UNIQUE, space JSON, settings JSON, created)``.
* ``trials(study_id, number, arch JSON, state, value, error, started, finished, worker, round, attempts, heartbeat)``,
  one row per trial, primary key ``(study_id, number)``; ``state`` is ``pending``, ``running``, ``done`` or
  ``failed``; ``worker`` is the owner (``host:pid:token`` of the study object that asked for or claimed it, ``NULL``
  when free) until the trial finishes, then the evaluating worker.

Several processes may share one study.  Trial numbers are assigned inside the inserting transaction (never twice), a
free pending trial is claimed with a compare-and-set update (one claimant wins), a result is written only if the trial
is not finished yet (a finished result is never overwritten), and trials whose owner died or stopped sending
heartbeats are put back in the queue by whichever process notices (see :mod:`gpnas.study.study`).
* ``models(study_id, round, n_done, created, info JSON, model BLOB)``: the fitted model after each round as opaque
  bytes (the study stores the portable ``.npz`` of :mod:`gpnas.store.model_files`; the store never reads them), and the
  round's summary (expected MSE, sigma, lengthscales).

The database runs in WAL mode with ``synchronous=NORMAL``: every commit survives a killed process (power loss may
drop the last commits, never corrupt the file).  Each trial state change is one transaction, which costs one fsync
of the WAL, so a study commits per trial, not per event.  A file that is not SQLite, or SQLite without the gpnas
tables (and not empty), or of another schema version, is refused with a clear error and never written to.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import threading
import time
import zipfile
from pathlib import Path

from gpnas.exceptions import GPNASError

SCHEMA_VERSION = 2
_SQLITE_HEADER = b"SQLite format 3\x00"


class StorageError(GPNASError):
    """A storage URL or database file is unusable (corrupt, foreign, wrong schema version, unknown study)."""


_SCHEMA = """
CREATE TABLE gpnas_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE studies (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, space TEXT NOT NULL, settings TEXT NOT NULL,
    created REAL NOT NULL);
CREATE TABLE trials (
    study_id INTEGER NOT NULL REFERENCES studies(id), number INTEGER NOT NULL, arch TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')), value REAL, error TEXT,
    started REAL, finished REAL, worker TEXT, round INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,
    heartbeat REAL, PRIMARY KEY (study_id, number));
CREATE TABLE models (
    study_id INTEGER NOT NULL REFERENCES studies(id), round INTEGER NOT NULL, n_done INTEGER NOT NULL,
    created REAL NOT NULL, info TEXT NOT NULL, model BLOB NOT NULL, PRIMARY KEY (study_id, round));
"""

_TRIAL_FIELDS = ("number", "arch", "state", "value", "error", "started", "finished", "worker", "round", "attempts",
                 "heartbeat")


class InMemoryStorage:
    """Keeps studies in this process only (the default when no storage URL is given)."""

    def __init__(self) -> None:
        self._studies: dict[str, dict] = {}

    def create_study(self, name: str, space: dict, settings: dict) -> None:
        if name in self._studies:
            raise StorageError(f"study {name!r} already exists")
        self._studies[name] = {"space": space, "settings": settings, "trials": {}, "models": [],
                               "created": time.time()}

    def has_study(self, name: str) -> bool:
        return name in self._studies

    def load_study(self, name: str) -> dict:
        if name not in self._studies:
            raise StorageError(f"no study named {name!r}")
        s = self._studies[name]
        return {"name": name, "space": s["space"], "settings": s["settings"], "created": s["created"]}

    def list_studies(self) -> list[dict]:
        return [self.study_summary(n) for n in self._studies]

    def study_summary(self, name: str) -> dict:
        trials = self.load_trials(name)
        states = [t["state"] for t in trials]
        return {"name": name, "n_trials": len(trials), **{s: states.count(s) for s in
                                                          ("pending", "running", "done", "failed")}}

    def save_trials(self, name: str, trials: list[dict]) -> None:
        for trial in trials:
            self._studies[name]["trials"][trial["number"]] = {"heartbeat": None, **trial}

    def add_trials(self, name: str, trials: list[dict], unique: bool = False, cap: int | None = None) -> list[int]:
        """Insert new trials with the next free numbers (ignoring theirs); returns the numbers given.

        ``unique`` skips architectures the study already holds; ``cap`` stops once the study holds that many trials
        that are not free pending ones.  Both are checked in the inserting transaction, so processes asking at the
        same moment neither duplicate an architecture nor overshoot a shared budget.
        """
        store = self._studies[name]["trials"]
        trials = _admissible(list(store.values()), trials, unique, cap)
        first = max(store, default=-1) + 1
        numbers = list(range(first, first + len(trials)))
        self.save_trials(name, [{**t, "number": n} for t, n in zip(trials, numbers)])
        return numbers

    def claim_trials(self, name: str, numbers: list[int], owner: str, now: float) -> list[int]:
        """Move the given pending trials that are free or ``owner``'s to running, owned by ``owner``; returns those
        claimed (a compare-and-set per trial: of several claimants one wins)."""
        claimed = []
        for number in numbers:
            t = self._studies[name]["trials"].get(number)
            if t is not None and t["state"] == "pending" and t["worker"] in (None, owner):
                t.update(state="running", worker=owner, started=now, heartbeat=now)
                claimed.append(number)
        return claimed

    def finish_trial(self, name: str, trial: dict) -> bool:
        """Record a result unless the trial is already finished; returns whether it was recorded."""
        t = self._studies[name]["trials"].get(trial["number"])
        if t is None or t["state"] in ("done", "failed"):
            return False
        t.update({k: v for k, v in trial.items() if k != "heartbeat"}, heartbeat=None)
        return True

    def heartbeat(self, name: str, numbers: list[int], owner: str, now: float) -> None:
        for number in numbers:
            t = self._studies[name]["trials"].get(number)
            if t is not None and t["state"] == "running" and t["worker"] == owner:
                t["heartbeat"] = now

    def requeue(self, name: str, trials: list[dict]) -> list[int]:
        """Put the given unfinished trials back in the queue, each only if its state and owner are still as read
        (pending and free, ``attempts`` + 1 if it was running); returns the numbers requeued."""
        done = []
        for trial in trials:
            t = self._studies[name]["trials"].get(trial["number"])
            if t is not None and t["state"] == trial["state"] and t["worker"] == trial["worker"]:
                t.update(state="pending", worker=None, started=None, heartbeat=None,
                         attempts=t["attempts"] + (1 if t["state"] == "running" else 0))
                done.append(trial["number"])
        return done

    def load_trials(self, name: str) -> list[dict]:
        return [dict(self._studies[name]["trials"][k]) for k in sorted(self._studies[name]["trials"])]

    def save_model(self, name: str, n_done: int, info: dict, blob: bytes) -> int:
        """Append a fitted model as the next round; returns its round number (from 1)."""
        models = self._studies[name]["models"]
        round_ = (models[-1][0] if models else 0) + 1
        models.append((round_, n_done, dict(info), blob))
        return round_

    def load_latest_model(self, name: str) -> tuple[int, int, bytes] | None:
        models = self._studies[name]["models"]
        return (models[-1][0], models[-1][1], models[-1][3]) if models else None

    def load_rounds(self, name: str) -> list[dict]:
        return [dict(info) for _, _, info, _ in self._studies[name]["models"]]

    def check_integrity(self, name: str) -> None:
        """Raise :class:`StorageError` if study ``name`` cannot be read back whole (nothing to check in memory)."""

    def load_model_at(self, name: str, round_: int) -> bytes | None:
        """The model bytes saved in round ``round_`` (counted from 1), or ``None``."""
        for r, _, _, blob in self._studies[name]["models"]:
            if r == round_:
                return blob
        return None


class SQLiteStorage(InMemoryStorage):
    """Studies in one SQLite file.  Safe to share between threads of one process; each process opens its own."""

    def __init__(self, path: str | Path, create: bool = True) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        if not create and not self.path.exists():
            raise StorageError(f"database {str(self.path)!r} does not exist")
        self._check_file()
        # A file we may not write (or in a folder where SQLite cannot put its WAL index) is opened read-only: it
        # can be listed, shown and exported, never changed.
        self.read_only = self.path.exists() and not (os.access(self.path, os.W_OK)
                                                     and os.access(self.path.parent, os.W_OK))
        try:
            if self.read_only:
                self._conn = sqlite3.connect(f"file:{self.path}?mode=ro&immutable=1", uri=True, timeout=30.0,
                                             check_same_thread=False, isolation_level=None)
                tables = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                self._check_schema(tables, writable=False)
                self._quick_check()
            else:
                self._conn = sqlite3.connect(str(self.path), timeout=30.0, check_same_thread=False,
                                             isolation_level=None)
                self._init_schema()  # checks a foreign file before any pragma can change it
        except sqlite3.DatabaseError as err:
            raise StorageError(f"{str(self.path)!r} is not a usable SQLite database: {err}") from None

    def _quick_check(self) -> None:
        """SQLite's check of the file's structure (pages, cells, indexes): a damaged file fails here, not halfway
        through a search."""
        problems = [r[0] for r in self._conn.execute("PRAGMA quick_check(1)")]
        if problems != ["ok"]:
            first = " ".join(" ".join(problems).replace("*** in database main ***", "").split())[:160]
            raise StorageError(f"database {str(self.path)!r} is damaged ({first}); it was left as it was: restore a "
                               "backup or export what can be read with 'gpnas export'")

    def _check_file(self) -> None:
        if self.path.exists():
            if self.path.is_dir():
                raise StorageError(f"storage path {str(self.path)!r} is a directory")
            with open(self.path, "rb") as handle:
                header = handle.read(16)
            if header and header != _SQLITE_HEADER:
                raise StorageError(f"{str(self.path)!r} is not an SQLite database (refusing to touch it)")
        elif not self.path.parent.exists():
            raise StorageError(f"folder {str(self.path.parent)!r} for the database does not exist")

    def _init_schema(self) -> None:
        with self._lock:
            tables = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if tables:
                self._check_schema(tables)
                self._quick_check()
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            if not tables:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    tables = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                    if not tables:  # another process may have initialised it meanwhile; else check it below
                        for statement in _SCHEMA.strip().split(";"):
                            if statement.strip():
                                self._conn.execute(statement)
                        self._conn.executemany("INSERT INTO gpnas_meta VALUES (?, ?)",
                                               [("application", "gpnas"), ("schema_version", str(SCHEMA_VERSION))])
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                if tables:
                    self._check_schema(tables)

    def _check_schema(self, tables: set[str], writable: bool = True) -> None:
        if "gpnas_meta" not in tables:
            raise StorageError(f"{str(self.path)!r} is an SQLite database of another application "
                               f"(tables {sorted(tables)}); refusing to write to it")
        meta = dict(self._conn.execute("SELECT key, value FROM gpnas_meta"))
        if meta.get("application") != "gpnas":
            raise StorageError(f"{str(self.path)!r} is not a gpnas database")
        if meta.get("schema_version") == "1" and not writable:
            raise StorageError(f"{str(self.path)!r} has gpnas schema version 1 and is read-only; open it once with "
                               "write access to migrate it")
        if meta.get("schema_version") == "1":  # version 2 only adds the heartbeat column
            def migrate(conn):
                columns = {r[1] for r in conn.execute("PRAGMA table_info(trials)")}
                if "heartbeat" not in columns:
                    conn.execute("ALTER TABLE trials ADD COLUMN heartbeat REAL")
                conn.execute("UPDATE gpnas_meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))

            self._transaction(migrate)
            meta["schema_version"] = str(SCHEMA_VERSION)
        if meta.get("schema_version") != str(SCHEMA_VERSION):
            raise StorageError(f"{str(self.path)!r} has gpnas schema version {meta.get('schema_version')}, "
                               f"this gpnas reads version {SCHEMA_VERSION}")

    def _write(self, sql: str, params: tuple | list[tuple]) -> None:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                if isinstance(params, list):
                    self._conn.executemany(sql, params)
                else:
                    self._conn.execute(sql, params)
                self._conn.execute("COMMIT")
            except sqlite3.IntegrityError as err:
                self._conn.execute("ROLLBACK")
                raise StorageError(str(err)) from None
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def _study_id(self, name: str) -> int:
        row = self._conn.execute("SELECT id FROM studies WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise StorageError(f"no study named {name!r} in {str(self.path)!r}")
        return int(row[0])

    def create_study(self, name: str, space: dict, settings: dict) -> None:
        if self.has_study(name):
            raise StorageError(f"study {name!r} already exists in {str(self.path)!r}")
        self._write("INSERT INTO studies (name, space, settings, created) VALUES (?, ?, ?, ?)",
                    (name, json.dumps(space), json.dumps(settings), time.time()))

    def has_study(self, name: str) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM studies WHERE name = ?", (name,)).fetchone() is not None

    def load_study(self, name: str) -> dict:
        with self._lock:
            row = self._conn.execute("SELECT space, settings, created FROM studies WHERE name = ?",
                                     (name,)).fetchone()
        if row is None:
            raise StorageError(f"no study named {name!r} in {str(self.path)!r}")
        return {"name": name, "space": json.loads(row[0]), "settings": json.loads(row[1]), "created": row[2]}

    def list_studies(self) -> list[dict]:
        with self._lock:
            names = [r[0] for r in self._conn.execute("SELECT name FROM studies ORDER BY id")]
        return [self.study_summary(n) for n in names]

    def save_trials(self, name: str, trials: list[dict]) -> None:
        """Insert or update trials, all in one transaction."""
        study_id = self._study_id(name)
        rows = [self._row(study_id, t) for t in trials]
        self._write(
            "INSERT INTO trials (study_id, " + ", ".join(_TRIAL_FIELDS) + ") VALUES (?" + ", ?" * len(_TRIAL_FIELDS)
            + ") ON CONFLICT (study_id, number) DO UPDATE SET "
            + ", ".join(f"{f} = excluded.{f}" for f in _TRIAL_FIELDS[1:]),
            rows,
        )

    @staticmethod
    def _row(study_id: int, trial: dict) -> tuple:
        return (study_id, *(json.dumps(trial[f]) if f == "arch" else trial.get(f) for f in _TRIAL_FIELDS))

    def _transaction(self, work):
        """Run ``work(conn)`` in one ``BEGIN IMMEDIATE`` transaction (the write lock is taken first, so a
        read-then-write inside it is atomic across processes); returns what it returns."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                result = work(self._conn)
                self._conn.execute("COMMIT")
                return result
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def add_trials(self, name: str, trials: list[dict], unique: bool = False, cap: int | None = None) -> list[int]:
        study_id = self._study_id(name)

        def work(conn):
            existing = [{"arch": json.loads(a), "state": st, "worker": w} for a, st, w in conn.execute(
                "SELECT arch, state, worker FROM trials WHERE study_id = ?", (study_id,))] if unique or cap else []
            admitted = _admissible(existing, trials, unique, cap)
            first = conn.execute("SELECT COALESCE(MAX(number), -1) + 1 FROM trials WHERE study_id = ?",
                                 (study_id,)).fetchone()[0]
            numbers = list(range(first, first + len(admitted)))
            conn.executemany("INSERT INTO trials (study_id, " + ", ".join(_TRIAL_FIELDS) + ") VALUES (?"
                             + ", ?" * len(_TRIAL_FIELDS) + ")",
                             [self._row(study_id, {**t, "number": n}) for t, n in zip(admitted, numbers)])
            return numbers

        return self._transaction(work)

    def _compare_and_set(self, sql: str, rows: list[tuple], numbers: list[int]) -> list[int]:
        """Run ``sql`` once per row in one transaction; returns the ``numbers`` whose row it changed (the
        compare-and-set updates of claims and re-queues, where a condition in ``sql`` decides who wins)."""
        def work(conn):
            return [number for number, row in zip(numbers, rows) if conn.execute(sql, row).rowcount == 1]

        return self._transaction(work)

    def claim_trials(self, name: str, numbers: list[int], owner: str, now: float) -> list[int]:
        study_id = self._study_id(name)
        return self._compare_and_set(
            "UPDATE trials SET state = 'running', worker = ?, started = ?, heartbeat = ? WHERE study_id = ? "
            "AND number = ? AND state = 'pending' AND (worker IS NULL OR worker = ?)",
            [(owner, now, now, study_id, number, owner) for number in numbers], numbers)

    def finish_trial(self, name: str, trial: dict) -> bool:
        study_id = self._study_id(name)
        fields = [f for f in _TRIAL_FIELDS if f not in ("number", "arch", "heartbeat")]

        def work(conn):
            cursor = conn.execute(
                "UPDATE trials SET " + ", ".join(f"{f} = ?" for f in fields) + ", heartbeat = NULL "
                "WHERE study_id = ? AND number = ? AND state IN ('pending', 'running')",
                (*(trial.get(f) for f in fields), study_id, trial["number"]))
            return cursor.rowcount == 1

        return self._transaction(work)

    def heartbeat(self, name: str, numbers: list[int], owner: str, now: float) -> None:
        if not numbers:
            return
        study_id = self._study_id(name)
        self._write("UPDATE trials SET heartbeat = ? WHERE study_id = ? AND number = ? AND state = 'running' "
                    "AND worker = ?", [(now, study_id, n, owner) for n in numbers])

    def requeue(self, name: str, trials: list[dict]) -> list[int]:
        study_id = self._study_id(name)
        return self._compare_and_set(
            "UPDATE trials SET state = 'pending', worker = NULL, started = NULL, heartbeat = NULL, "
            "attempts = attempts + (CASE WHEN state = 'running' THEN 1 ELSE 0 END) WHERE study_id = ? AND "
            "number = ? AND state = ? AND worker IS ?",
            [(study_id, t["number"], t["state"], t["worker"]) for t in trials], [t["number"] for t in trials])

    def load_trials(self, name: str) -> list[dict]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT " + ", ".join(_TRIAL_FIELDS) + " FROM trials WHERE study_id = ? ORDER BY number",
                (self._study_id(name),)).fetchall()
        trials = [dict(zip(_TRIAL_FIELDS, row)) for row in rows]
        for t in trials:
            t["arch"] = json.loads(t["arch"])
        return trials

    def save_model(self, name: str, n_done: int, info: dict, blob: bytes) -> int:
        study_id = self._study_id(name)

        def work(conn):
            round_ = conn.execute("SELECT COALESCE(MAX(round), 0) + 1 FROM models WHERE study_id = ?",
                                  (study_id,)).fetchone()[0]
            conn.execute("INSERT INTO models (study_id, round, n_done, created, info, model) VALUES (?, ?, ?, ?, ?, ?)",
                         (study_id, round_, n_done, time.time(), json.dumps(info), sqlite3.Binary(blob)))
            return int(round_)

        return self._transaction(work)

    def load_latest_model(self, name: str) -> tuple[int, int, bytes] | None:
        with self._lock:
            row = self._conn.execute("SELECT round, n_done, model FROM models WHERE study_id = ? "
                                     "ORDER BY round DESC LIMIT 1", (self._study_id(name),)).fetchone()
        return None if row is None else (int(row[0]), int(row[1]), bytes(row[2]))

    def load_rounds(self, name: str) -> list[dict]:
        with self._lock:
            rows = self._conn.execute("SELECT info FROM models WHERE study_id = ? ORDER BY round",
                                      (self._study_id(name),)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def load_model_at(self, name: str, round_: int) -> bytes | None:
        with self._lock:
            row = self._conn.execute("SELECT model FROM models WHERE study_id = ? AND round = ?",
                                     (self._study_id(name), round_)).fetchone()
        return None if row is None else bytes(row[0])

    def check_integrity(self, name: str) -> None:
        """Read study ``name`` back whole before anything is written to it: SQLite's own check of the file's
        structure, every trial row, and the CRC-32 of every stored model (a damaged page inside a model passes
        SQLite's check).  Raises :class:`StorageError` naming the damage; the file is not changed."""
        where = str(self.path)
        with self._lock:
            try:
                self._quick_check()
                study_id = self._study_id(name)
                for number, arch in self._conn.execute("SELECT number, arch FROM trials WHERE study_id = ?",
                                                       (study_id,)):
                    try:
                        json.loads(arch)
                    except (TypeError, ValueError):
                        raise StorageError(f"database {where!r} is damaged: trial {number} of study {name!r} "
                                           "cannot be read; it was left as it was") from None
                for round_, blob in self._conn.execute("SELECT round, model FROM models WHERE study_id = ?",
                                                       (study_id,)):
                    damage = _zip_damage(bytes(blob))
                    if damage:
                        raise StorageError(f"database {where!r} is damaged: the model of round {round_} of study "
                                           f"{name!r} fails its checksum ({damage}); it was left as it was")
            except sqlite3.DatabaseError as err:
                raise StorageError(f"database {where!r} is damaged ({err}); it was left as it was") from None

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _zip_damage(blob: bytes) -> str | None:
    """What is wrong with a stored model archive (an ``.npz``, a zip file with a CRC-32 per member), or ``None``."""
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        return str(err)[:120]
    return None if bad is None else f"member {bad!r}"


def _admissible(existing: list[dict], new: list[dict], unique: bool, cap: int | None) -> list[dict]:
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


def get_storage(url: str | None, create: bool = True) -> InMemoryStorage:
    """A storage from a URL: ``None`` for in-memory, ``sqlite:///relative.db`` or ``sqlite:////absolute.db``.

    ``create=False`` refuses a database file that does not exist instead of creating an empty one (for commands
    that only read)."""
    if url is None:
        return InMemoryStorage()
    if isinstance(url, InMemoryStorage):
        return url
    if not isinstance(url, str) or not url.startswith("sqlite:///"):
        raise StorageError(f"unsupported storage URL {url!r}; expected sqlite:///PATH")
    path = url[len("sqlite:///"):]
    if not path:
        raise StorageError("storage URL sqlite:/// names no file")
    return SQLiteStorage(path, create=create)
