"""Where studies live: an in-memory store, and SQLite as the embedded default (``sqlite:///gpnas.db``).

Schema version 1 (``PRAGMA user_version`` is not used: the version is a row of ``gpnas_meta`` so that a foreign SQLite
file is told apart from an old gpnas one):

* ``gpnas_meta(key, value)``: ``application = gpnas``, ``schema_version = 1``.
* ``studies(id, name UNIQUE, space JSON, settings JSON, created)``.
* ``trials(study_id, number, arch JSON, state, value, error, started, finished, worker, round, attempts)``, one row per
  trial, primary key ``(study_id, number)``; ``state`` is ``pending``, ``running``, ``done`` or ``failed``.
* ``models(study_id, round, n_done, created, info JSON, model BLOB)``: the fitted model after each round, as the
  portable ``.npz`` bytes of :mod:`gpnas.persistence`, and the round's summary (expected MSE, sigma, lengthscales).

The database runs in WAL mode with ``synchronous=NORMAL``: every commit survives a killed process (power loss may
drop the last commits, never corrupt the file).  Each trial state change is one transaction, which costs one fsync
of the WAL, so a study commits per trial, not per event.  A file that is not SQLite, or SQLite without the gpnas
tables (and not empty), or of another schema version, is refused with a clear error and never written to.
"""

from __future__ import annotations

import io
import json
import sqlite3
import threading
import time
from pathlib import Path

from gpnas.exceptions import GPNASError

SCHEMA_VERSION = 1
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
    PRIMARY KEY (study_id, number));
CREATE TABLE models (
    study_id INTEGER NOT NULL REFERENCES studies(id), round INTEGER NOT NULL, n_done INTEGER NOT NULL,
    created REAL NOT NULL, info TEXT NOT NULL, model BLOB NOT NULL, PRIMARY KEY (study_id, round));
"""

_TRIAL_FIELDS = ("number", "arch", "state", "value", "error", "started", "finished", "worker", "round", "attempts")


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
            self._studies[name]["trials"][trial["number"]] = dict(trial)

    def load_trials(self, name: str) -> list[dict]:
        return [dict(self._studies[name]["trials"][k]) for k in sorted(self._studies[name]["trials"])]

    def save_model(self, name: str, round_: int, n_done: int, info: dict, blob: bytes) -> None:
        self._studies[name]["models"].append((round_, n_done, dict(info), blob))

    def load_latest_model(self, name: str) -> tuple[int, int, bytes] | None:
        models = self._studies[name]["models"]
        return (models[-1][0], models[-1][1], models[-1][3]) if models else None

    def load_rounds(self, name: str) -> list[dict]:
        return [dict(info) for _, _, info, _ in self._studies[name]["models"]]

    def load_model_at(self, name: str, round_: int):
        """The model saved in round ``round_`` (counted from 1), or ``None``."""
        for r, _, _, blob in self._studies[name]["models"]:
            if r == round_:
                return model_from_bytes(blob)
        return None


class SQLiteStorage(InMemoryStorage):
    """Studies in one SQLite file.  Safe to share between threads of one process; each process opens its own."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._check_file()
        try:
            self._conn = sqlite3.connect(str(self.path), timeout=30.0, check_same_thread=False,
                                         isolation_level=None)
            self._init_schema()  # checks a foreign file before any pragma can change it
        except sqlite3.DatabaseError as err:
            raise StorageError(f"{str(self.path)!r} is not a usable SQLite database: {err}") from None

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

    def _check_schema(self, tables: set[str]) -> None:
        if "gpnas_meta" not in tables:
            raise StorageError(f"{str(self.path)!r} is an SQLite database of another application "
                               f"(tables {sorted(tables)}); refusing to write to it")
        meta = dict(self._conn.execute("SELECT key, value FROM gpnas_meta"))
        if meta.get("application") != "gpnas":
            raise StorageError(f"{str(self.path)!r} is not a gpnas database")
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
        rows = [(study_id, *(json.dumps(t[f]) if f == "arch" else t.get(f) for f in _TRIAL_FIELDS)) for t in trials]
        self._write(
            "INSERT INTO trials (study_id, " + ", ".join(_TRIAL_FIELDS) + ") VALUES (?" + ", ?" * len(_TRIAL_FIELDS)
            + ") ON CONFLICT (study_id, number) DO UPDATE SET "
            + ", ".join(f"{f} = excluded.{f}" for f in _TRIAL_FIELDS[1:]),
            rows,
        )

    def load_trials(self, name: str) -> list[dict]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT " + ", ".join(_TRIAL_FIELDS) + " FROM trials WHERE study_id = ? ORDER BY number",
                (self._study_id(name),)).fetchall()
        trials = [dict(zip(_TRIAL_FIELDS, row)) for row in rows]
        for t in trials:
            t["arch"] = json.loads(t["arch"])
        return trials

    def save_model(self, name: str, round_: int, n_done: int, info: dict, blob: bytes) -> None:
        self._write("INSERT OR REPLACE INTO models (study_id, round, n_done, created, info, model) "
                    "VALUES (?, ?, ?, ?, ?, ?)", (self._study_id(name), round_, n_done, time.time(), json.dumps(info),
                                                  sqlite3.Binary(blob)))

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

    def load_model_at(self, name: str, round_: int):
        with self._lock:
            row = self._conn.execute("SELECT model FROM models WHERE study_id = ? AND round = ?",
                                     (self._study_id(name), round_)).fetchone()
        return None if row is None else model_from_bytes(bytes(row[0]))

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def get_storage(url: str | None) -> InMemoryStorage:
    """A storage from a URL: ``None`` for in-memory, ``sqlite:///relative.db`` or ``sqlite:////absolute.db``."""
    if url is None:
        return InMemoryStorage()
    if isinstance(url, InMemoryStorage):
        return url
    if not isinstance(url, str) or not url.startswith("sqlite:///"):
        raise StorageError(f"unsupported storage URL {url!r}; expected sqlite:///PATH")
    path = url[len("sqlite:///"):]
    if not path:
        raise StorageError("storage URL sqlite:/// names no file")
    return SQLiteStorage(path)


def model_to_bytes(model) -> bytes:
    from gpnas.persistence import save_model

    buffer = io.BytesIO()
    save_model(model, buffer)
    return buffer.getvalue()


def model_from_bytes(blob: bytes):
    from gpnas.persistence import load_model

    return load_model(io.BytesIO(blob))
