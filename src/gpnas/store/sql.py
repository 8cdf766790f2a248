"""What the SQL stores share: the schema, and every read and write of studies, trials and models.

Schema version 4 (the version is a row of ``gpnas_meta``, so that a foreign database is told apart from a gpnas one):

* ``gpnas_meta(key, value)``: ``application = gpnas``, ``schema_version = 4``.
* ``studies(id, name UNIQUE, space JSON, settings JSON, created, clock)``; ``clock`` counts the writes to the study's
  trials (see :mod:`gpnas.store.memory`).
* ``trials(study_id, number, arch JSON, state, value, error, started, finished, worker, round, attempts, heartbeat,
  changed, objectives JSON)``, one row per trial, primary key ``(study_id, number)``; ``objectives`` holds a
  multi-objective trial's values (``value`` is the first of them), ``NULL`` in a single-objective study; ``state`` is ``pending``, ``running``, ``done``
  or ``failed``; ``worker`` is the owner (``host:pid:token`` of the study object that asked for or claimed it,
  ``NULL`` when free) until the trial finishes, then the evaluating worker; ``changed`` is the study's clock when the
  row was last written.
* ``models(study_id, round, n_done, created, info JSON, model BLOB)``: the fitted model after each round as opaque
  bytes (the study stores the portable ``.npz`` of :mod:`gpnas.store.model_files`; the store never reads them), and
  the round's summary (expected MSE, sigma, lengthscales).

Several processes, on one machine or many, may share one study.  Every write to a study's trials is one transaction
that first advances the study's clock: that takes the study's write lock (SQLite's ``BEGIN IMMEDIATE`` takes the
file's; PostgreSQL locks the study's row), so writers to one study take turns and a read-then-write inside one is
atomic.  Trial numbers are assigned inside the inserting transaction (never twice), a free pending trial is claimed
with a compare-and-set update (one claimant wins), a result is written only if the trial is not finished yet (a
finished result is never overwritten), and trials whose owner died or stopped sending heartbeats are put back in the
queue by whichever process notices (see :mod:`gpnas.study.study`).
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable

from gpnas.store.memory import (
    JSON_FIELDS,
    STATES,
    TRIAL_FIELDS,
    InMemoryStorage,
    StorageError,
    admissible,
    zip_damage,
)

#: 4 added ``trials.objectives`` (multi-objective studies); 3 the change clock; 2 heartbeats.
SCHEMA_VERSION = 4

# {id}, {real} and {blob} are filled in by each dialect (SQLite: INTEGER PRIMARY KEY, REAL, BLOB; PostgreSQL:
# BIGSERIAL PRIMARY KEY, DOUBLE PRECISION, BYTEA): a trial's value is stored as the same 64-bit float everywhere.
SCHEMA = """
CREATE TABLE gpnas_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE studies (
    id {id}, name TEXT NOT NULL UNIQUE, space TEXT NOT NULL, settings TEXT NOT NULL, created {real} NOT NULL,
    clock BIGINT NOT NULL DEFAULT 0);
CREATE TABLE trials (
    study_id BIGINT NOT NULL REFERENCES studies(id), number INTEGER NOT NULL, arch TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')), value {real}, error TEXT,
    started {real}, finished {real}, worker TEXT, round INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0, heartbeat {real}, changed BIGINT NOT NULL DEFAULT 0, objectives TEXT,
    PRIMARY KEY (study_id, number));
CREATE INDEX trials_changed ON trials (study_id, changed);
CREATE TABLE models (
    study_id BIGINT NOT NULL REFERENCES studies(id), round INTEGER NOT NULL, n_done INTEGER NOT NULL,
    created {real} NOT NULL, info TEXT NOT NULL, model {blob} NOT NULL, PRIMARY KEY (study_id, round));
"""

_COLUMNS = ", ".join(TRIAL_FIELDS)


def _field(trial: dict, name: str) -> Any:
    """A trial field as a column value: JSON text for the architecture and the objectives (``NULL`` stays)."""
    value = trial.get(name)
    return json.dumps(value) if name in JSON_FIELDS and value is not None else value


class SQLStorage(InMemoryStorage):
    """Studies in an SQL database.  Subclasses open the connection and say how a transaction runs.

    Statements are written with ``?`` placeholders; :meth:`_transaction` and :meth:`_query` hand ``work`` a
    connection whose ``execute(sql, params)`` returns a cursor (``fetchone``, ``fetchall``, ``rowcount``) and whose
    ``executemany(sql, rows)`` runs one statement per row.
    """

    where: str = "?"  # the database, as error messages name it
    null_safe_equal = "IS"  # SQLite's spelling of IS NOT DISTINCT FROM
    incremental = True  # whether the schema has the change clock (a read-only old SQLite file has not)
    has_objectives = True  # whether it has the objectives column (a read-only file older than version 4 has not)

    # ------------------------------------------------------------------ dialect hooks
    def _transaction(self, work: Callable[[Any], Any]) -> Any:
        """Run ``work(conn)`` in one write transaction; returns what it returns."""
        raise NotImplementedError

    def _query(self, work: Callable[[Any], Any]) -> Any:
        """Run ``work(conn)`` as a read (no transaction needed)."""
        raise NotImplementedError

    def _blob(self, data: bytes) -> Any:
        return data

    # ------------------------------------------------------------------ studies
    def _study_id(self, name: str) -> int:
        row = self._query(lambda c: c.execute("SELECT id FROM studies WHERE name = ?", (name,)).fetchone())
        if row is None:
            raise StorageError(f"no study named {name!r} in {self.where!r}")
        return int(row[0])

    def _tick(self, conn: Any, study_id: int) -> int:
        """Advance the study's clock inside the current transaction (taking the study's write lock); returns it."""
        if not self.incremental:
            return 0
        return int(conn.execute("UPDATE studies SET clock = clock + 1 WHERE id = ? RETURNING clock",
                                (study_id,)).fetchone()[0])

    def create_study(self, name: str, space: dict, settings: dict) -> None:
        if self.has_study(name):
            raise StorageError(f"study {name!r} already exists in {self.where!r}")
        self._transaction(lambda c: c.execute(
            "INSERT INTO studies (name, space, settings, created) VALUES (?, ?, ?, ?)",
            (name, json.dumps(space), json.dumps(settings), time.time())))

    def has_study(self, name: str) -> bool:
        return self._query(lambda c: c.execute("SELECT 1 FROM studies WHERE name = ?", (name,)).fetchone()) \
            is not None

    def load_study(self, name: str) -> dict:
        row = self._query(lambda c: c.execute("SELECT space, settings, created FROM studies WHERE name = ?",
                                              (name,)).fetchone())
        if row is None:
            raise StorageError(f"no study named {name!r} in {self.where!r}")
        return {"name": name, "space": json.loads(row[0]), "settings": json.loads(row[1]), "created": row[2]}

    def list_studies(self) -> list[dict]:
        names = self._query(lambda c: [r[0] for r in c.execute("SELECT name FROM studies ORDER BY id").fetchall()])
        return [self.study_summary(n) for n in names]

    def study_summary(self, name: str) -> dict:
        study_id = self._study_id(name)
        counts = dict(self._query(lambda c: c.execute(
            "SELECT state, COUNT(*) FROM trials WHERE study_id = ? GROUP BY state", (study_id,)).fetchall()))
        return {"name": name, "n_trials": int(sum(counts.values())),
                **{s: int(counts.get(s, 0)) for s in STATES}}

    # ------------------------------------------------------------------ trials
    def _row(self, study_id: int, trial: dict, clock: int) -> tuple:
        return (study_id, *(_field(trial, f) for f in TRIAL_FIELDS), clock)

    def _insert(self, conflict: str = "") -> str:
        return (f"INSERT INTO trials (study_id, {_COLUMNS}, changed) VALUES (?" + ", ?" * (len(TRIAL_FIELDS) + 1)
                + ")" + conflict)

    def save_trials(self, name: str, trials: list[dict]) -> None:
        """Insert or update trials, all in one transaction."""
        study_id = self._study_id(name)
        upsert = self._insert(" ON CONFLICT (study_id, number) DO UPDATE SET "
                              + ", ".join(f"{f} = excluded.{f}" for f in (*TRIAL_FIELDS[1:], "changed")))

        def work(conn):
            clock = self._tick(conn, study_id)
            conn.executemany(upsert, [self._row(study_id, t, clock) for t in trials])

        self._transaction(work)

    def add_trials(self, name: str, trials: list[dict], unique: bool = False, cap: int | None = None) -> list[int]:
        study_id = self._study_id(name)

        def work(conn):
            clock = self._tick(conn, study_id)
            existing = [{"arch": json.loads(a), "state": st, "worker": w} for a, st, w in conn.execute(
                "SELECT arch, state, worker FROM trials WHERE study_id = ?", (study_id,)).fetchall()] \
                if unique or cap else []
            admitted = admissible(existing, trials, unique, cap)
            first = conn.execute("SELECT COALESCE(MAX(number), -1) + 1 FROM trials WHERE study_id = ?",
                                 (study_id,)).fetchone()[0]
            numbers = list(range(int(first), int(first) + len(admitted)))
            if admitted:
                conn.executemany(self._insert(), [self._row(study_id, {**t, "number": n}, clock)
                                                  for t, n in zip(admitted, numbers)])
            return numbers

        return self._transaction(work)

    def _compare_and_set(self, study_id: int, sql: str, rows: list[tuple], numbers: list[int]) -> list[int]:
        """Run ``sql`` (whose first parameter is the clock) once per row in one transaction; returns the
        ``numbers`` whose row it changed (claims and re-queues, where a condition in ``sql`` decides who wins)."""
        def work(conn):
            clock = self._tick(conn, study_id)
            return [number for number, row in zip(numbers, rows) if conn.execute(sql, (clock, *row)).rowcount == 1]

        return self._transaction(work)

    def claim_trials(self, name: str, numbers: list[int], owner: str, now: float) -> list[int]:
        study_id = self._study_id(name)
        return self._compare_and_set(
            study_id,
            "UPDATE trials SET changed = ?, state = 'running', worker = ?, started = ?, heartbeat = ? WHERE "
            "study_id = ? AND number = ? AND state = 'pending' AND (worker IS NULL OR worker = ?)",
            [(owner, now, now, study_id, number, owner) for number in numbers], numbers)

    def finish_trial(self, name: str, trial: dict) -> bool:
        study_id = self._study_id(name)
        fields = [f for f in TRIAL_FIELDS if f not in ("number", "arch", "heartbeat")]

        def work(conn):
            clock = self._tick(conn, study_id)
            cursor = conn.execute(
                "UPDATE trials SET " + ", ".join(f"{f} = ?" for f in fields) + ", heartbeat = NULL, changed = ? "
                "WHERE study_id = ? AND number = ? AND state IN ('pending', 'running')",
                (*(_field(trial, f) for f in fields), clock, study_id, trial["number"]))
            return cursor.rowcount == 1

        return self._transaction(work)

    def heartbeat(self, name: str, numbers: list[int], owner: str, now: float) -> None:
        if numbers:
            study_id = self._study_id(name)
            self._compare_and_set(
                study_id, "UPDATE trials SET changed = ?, heartbeat = ? WHERE study_id = ? AND number = ? "
                "AND state = 'running' AND worker = ?", [(now, study_id, n, owner) for n in numbers], numbers)

    def requeue(self, name: str, trials: list[dict]) -> list[int]:
        study_id = self._study_id(name)
        return self._compare_and_set(
            study_id,
            "UPDATE trials SET changed = ?, state = 'pending', worker = NULL, started = NULL, heartbeat = NULL, "
            "attempts = attempts + (CASE WHEN state = 'running' THEN 1 ELSE 0 END) WHERE study_id = ? AND "
            f"number = ? AND state IN ('pending', 'running') AND state = ? AND worker {self.null_safe_equal} ?",
            [(study_id, t["number"], t["state"], t["worker"]) for t in trials], [t["number"] for t in trials])

    def load_trials(self, name: str) -> list[dict]:
        return self.load_trials_since(name, 0)[0]

    def load_trials_since(self, name: str, clock: int) -> tuple[list[dict], int]:
        study_id = self._study_id(name)
        if not self.incremental:
            clock = 0

        def work(conn):
            # the clock is read first: a write committed after this read carries a later clock, so it comes back
            # next time if this read misses it
            now = conn.execute("SELECT clock FROM studies WHERE id = ?", (study_id,)).fetchone()[0] \
                if self.incremental else 0
            columns = _COLUMNS if self.has_objectives else _COLUMNS.replace("objectives", "NULL AS objectives")
            rows = conn.execute(f"SELECT {columns} FROM trials WHERE study_id = ?"
                                + (" AND changed > ?" if clock else "") + " ORDER BY number",
                                (study_id, clock) if clock else (study_id,)).fetchall()
            return rows, int(now)

        rows, now = self._query(work)
        trials = [dict(zip(TRIAL_FIELDS, row)) for row in rows]
        for t in trials:
            for f in JSON_FIELDS:
                t[f] = None if t[f] is None else json.loads(t[f])
        return trials, now

    # ------------------------------------------------------------------ models
    def save_model(self, name: str, n_done: int, info: dict, blob: bytes) -> int:
        study_id = self._study_id(name)

        def work(conn):
            self._tick(conn, study_id)  # the study's lock: two processes never take the same round number
            round_ = conn.execute("SELECT COALESCE(MAX(round), 0) + 1 FROM models WHERE study_id = ?",
                                  (study_id,)).fetchone()[0]
            conn.execute("INSERT INTO models (study_id, round, n_done, created, info, model) VALUES (?, ?, ?, ?, ?, ?)",
                         (study_id, round_, n_done, time.time(), json.dumps(info), self._blob(blob)))
            return int(round_)

        return self._transaction(work)

    def load_latest_model(self, name: str) -> tuple[int, int, bytes] | None:
        study_id = self._study_id(name)
        row = self._query(lambda c: c.execute("SELECT round, n_done, model FROM models WHERE study_id = ? "
                                              "ORDER BY round DESC LIMIT 1", (study_id,)).fetchone())
        return None if row is None else (int(row[0]), int(row[1]), bytes(row[2]))

    def load_rounds(self, name: str) -> list[dict]:
        study_id = self._study_id(name)
        rows = self._query(lambda c: c.execute("SELECT info FROM models WHERE study_id = ? ORDER BY round",
                                               (study_id,)).fetchall())
        return [json.loads(r[0]) for r in rows]

    def load_model_at(self, name: str, round_: int) -> bytes | None:
        study_id = self._study_id(name)
        row = self._query(lambda c: c.execute("SELECT model FROM models WHERE study_id = ? AND round = ?",
                                              (study_id, round_)).fetchone())
        return None if row is None else bytes(row[0])

    def _check_rows(self, name: str) -> None:
        """Every trial's architecture parses and every stored model passes its CRC-32 (a damaged page inside a
        model passes the database's own checks); raises :class:`StorageError` naming the damage."""
        study_id = self._study_id(name)
        for number, arch in self._query(lambda c: c.execute(
                "SELECT number, arch FROM trials WHERE study_id = ?", (study_id,)).fetchall()):
            try:
                json.loads(arch)
            except (TypeError, ValueError):
                raise StorageError(f"database {self.where!r} is damaged: trial {number} of study {name!r} cannot be "
                                   "read; it was left as it was") from None
        for round_, blob in self._query(lambda c: c.execute(
                "SELECT round, model FROM models WHERE study_id = ?", (study_id,)).fetchall()):
            damage = zip_damage(bytes(blob))
            if damage:
                raise StorageError(f"database {self.where!r} is damaged: the model of round {round_} of study "
                                   f"{name!r} fails its checksum ({damage}); it was left as it was")
