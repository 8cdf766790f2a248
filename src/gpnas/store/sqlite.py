"""SQLite, the embedded default store (``sqlite:///gpnas.db``): one file that several processes on one machine share.

The schema is :mod:`gpnas.store.sql`'s.  Older gpnas files are migrated in place when opened with write access
(version 1 lacks the heartbeat column, version 2 the change clock, version 3 the objectives of multi-objective
studies); a read-only version 2 file is read whole each time, and a read-only file before version 4 holds
single-objective studies only.  The database runs in WAL mode with ``synchronous=NORMAL``: every commit survives a killed process (power loss
may drop the last commits, never corrupt the file).  Each trial state change is one transaction, which costs one
fsync of the WAL, so a study commits per trial, not per event.  A file that is not SQLite, or SQLite without the gpnas
tables (and not empty), or of another schema version, is refused with a clear error and never written to.  SQLite
locks a file through the file system, which network file systems (NFS) do not do reliably: studies shared across
machines belong in PostgreSQL (:mod:`gpnas.store.postgres`).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Any, Callable

from gpnas.store.memory import InMemoryStorage, StorageError, StorageNotFoundError
from gpnas.store.sql import SCHEMA, SCHEMA_VERSION, SQLStorage

_SQLITE_HEADER = b"SQLite format 3\x00"
_DDL = SCHEMA.format(id="INTEGER PRIMARY KEY", real="REAL", blob="BLOB")


class SQLiteStorage(SQLStorage):
    """Studies in one SQLite file.  Safe to share between threads of one process; each process opens its own."""

    def __init__(self, path: str | Path, create: bool = True) -> None:
        self.path = Path(path)
        self.where = str(self.path)
        self._lock = threading.RLock()
        if not create and not self.path.exists():
            raise StorageNotFoundError(f"database {str(self.path)!r} does not exist")
        self._check_file()
        # A file we may not write (or in a folder where SQLite cannot put its WAL index) is opened read-only: it
        # can be listed, shown and exported, never changed.
        self.read_only = self.path.exists() and not (os.access(self.path, os.W_OK)
                                                     and os.access(self.path.parent, os.W_OK))
        try:
            if self.read_only:
                self._conn = sqlite3.connect(f"file:{self.path}?mode=ro&immutable=1", uri=True, timeout=30.0,
                                             check_same_thread=False, isolation_level=None)
                self._check_schema(self._tables(), writable=False)
                self._quick_check()
            else:
                self._conn = sqlite3.connect(str(self.path), timeout=30.0, check_same_thread=False,
                                             isolation_level=None)
                self._init_schema()  # checks a foreign file before any pragma can change it
        except sqlite3.DatabaseError as err:
            raise StorageError(f"{str(self.path)!r} is not a usable SQLite database: {err}") from None

    # ------------------------------------------------------------------ dialect
    def _transaction(self, work: Callable[[Any], Any]) -> Any:
        """Run ``work(conn)`` in one ``BEGIN IMMEDIATE`` transaction (the write lock is taken first, so a
        read-then-write inside it is atomic across processes); returns what it returns."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                result = work(self._conn)
                self._conn.execute("COMMIT")
                return result
            except sqlite3.IntegrityError as err:
                self._conn.execute("ROLLBACK")
                raise StorageError(str(err)) from None
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def _query(self, work: Callable[[Any], Any]) -> Any:
        with self._lock:
            return work(self._conn)

    def _blob(self, data: bytes) -> Any:
        return sqlite3.Binary(data)

    # ------------------------------------------------------------------ opening
    def _tables(self) -> set[str]:
        return {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}

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
            tables = self._tables()
            if tables:
                self._check_schema(tables)
                self._quick_check()
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            if not tables:
                def create(conn):
                    found = self._tables()
                    if not found:  # another process may have initialised it meanwhile; else check it below
                        for statement in _DDL.strip().split(";"):
                            if statement.strip():
                                conn.execute(statement)
                        conn.executemany("INSERT INTO gpnas_meta VALUES (?, ?)",
                                         [("application", "gpnas"), ("schema_version", str(SCHEMA_VERSION))])
                    return found

                tables = self._transaction(create)
                if tables:
                    self._check_schema(tables)

    def _check_schema(self, tables: set[str], writable: bool = True) -> None:
        if "gpnas_meta" not in tables:
            raise StorageError(f"{str(self.path)!r} is an SQLite database of another application "
                               f"(tables {sorted(tables)}); refusing to write to it")
        meta = dict(self._conn.execute("SELECT key, value FROM gpnas_meta"))
        if meta.get("application") != "gpnas":
            raise StorageError(f"{str(self.path)!r} is not a gpnas database")
        version = meta.get("schema_version")
        if version == "1" and not writable:
            raise StorageError(f"{str(self.path)!r} has gpnas schema version 1 and is read-only; open it once with "
                               "write access to migrate it")
        if version in ("2", "3") and not writable:
            self.incremental = version == "3"  # version 2 has no change clock: read whole each time
            self.has_objectives = False  # nor (before 4) the objectives column: single-objective studies only
            return
        if version in ("1", "2", "3"):
            self._transaction(self._migrate)
            version = str(SCHEMA_VERSION)
        if version != str(SCHEMA_VERSION):
            raise StorageError(f"{str(self.path)!r} has gpnas schema version {version}, "
                               f"this gpnas reads version {SCHEMA_VERSION}")

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        """Version 1, 2 or 3 to 4, in one transaction: the heartbeat column (2), the change clock (3), the
        objectives column (4).  Adding columns leaves every stored row as it was."""
        version = conn.execute("SELECT value FROM gpnas_meta WHERE key = 'schema_version'").fetchone()[0]
        if version not in ("1", "2", "3"):  # another process migrated it meanwhile
            return
        trial_columns = {r[1] for r in conn.execute("PRAGMA table_info(trials)")}
        if "heartbeat" not in trial_columns:
            conn.execute("ALTER TABLE trials ADD COLUMN heartbeat REAL")
        if "changed" not in trial_columns:
            conn.execute("ALTER TABLE trials ADD COLUMN changed BIGINT NOT NULL DEFAULT 0")
        if "objectives" not in trial_columns:
            conn.execute("ALTER TABLE trials ADD COLUMN objectives TEXT")
        if "clock" not in {r[1] for r in conn.execute("PRAGMA table_info(studies)")}:
            conn.execute("ALTER TABLE studies ADD COLUMN clock BIGINT NOT NULL DEFAULT 0")
        conn.execute("CREATE INDEX IF NOT EXISTS trials_changed ON trials (study_id, changed)")
        conn.execute("UPDATE gpnas_meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))

    # ------------------------------------------------------------------ integrity
    def check_integrity(self, name: str) -> None:
        """Read study ``name`` back whole before anything is written to it: SQLite's own check of the file's
        structure, every trial row, and the CRC-32 of every stored model.  Raises :class:`StorageError` naming the
        damage; the file is not changed."""
        with self._lock:
            try:
                self._quick_check()
                self._check_rows(name)
            except sqlite3.DatabaseError as err:
                raise StorageError(f"database {self.where!r} is damaged ({err}); it was left as it was") from None

    def close(self) -> None:
        with self._lock:
            self._conn.close()


__all__ = ["InMemoryStorage", "SQLiteStorage", "StorageError"]
