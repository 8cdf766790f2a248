"""PostgreSQL, the store that workers on many machines share (``postgresql://user:password@host:5432/db``).

It holds the same schema and gives the same guarantees as SQLite (:mod:`gpnas.store.sql`): atomic claims,
compare-and-set results, heartbeats, requeueing of dead workers' trials, exact resume.  The tables live in their own
PostgreSQL schema, ``gpnas``, so a database that also holds other applications' tables (Optuna's ``studies`` and
``trials`` among them) is shared without a clash.  Writers to one study take turns on the study's row lock, taken
by the clock update that opens every write; the schema is created under a transaction-scoped advisory lock, so
workers starting at once create it exactly once.  The driver is psycopg 3 (``pip install "gpnas[postgres]"``).
"""

from __future__ import annotations

import re
import threading
from typing import Any, Callable

from gpnas.store.memory import StorageError, StorageNotFoundError
from gpnas.store.sql import SCHEMA, SCHEMA_VERSION, SQLStorage

PG_SCHEMA = "gpnas"
_DDL = SCHEMA.format(id="BIGSERIAL PRIMARY KEY", real="DOUBLE PRECISION", blob="BYTEA")
_INIT_LOCK = 0x67706E6173  # "gpnas": the advisory lock held while the schema is checked or created


def redact(url: str) -> str:
    """``url`` without its password, as messages show it."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)


class _Connection:
    """A psycopg connection that takes the ``?`` placeholders the shared SQL is written with."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, sql: str, params: tuple = ()) -> Any:
        return self._conn.execute(sql.replace("?", "%s"), params)

    def executemany(self, sql: str, rows: list[tuple]) -> None:
        with self._conn.cursor() as cursor:
            cursor.executemany(sql.replace("?", "%s"), rows)


class PostgresStorage(SQLStorage):
    """Studies in a PostgreSQL database.  Safe to share between threads of one process; each process connects."""

    null_safe_equal = "IS NOT DISTINCT FROM"

    def __init__(self, url: str, create: bool = True) -> None:
        try:
            import psycopg
        except ImportError:
            raise StorageError("PostgreSQL storage needs the psycopg driver: pip install \"gpnas[postgres]\"") \
                from None
        self._psycopg = psycopg
        self.url = url
        self.where = redact(url)
        self.read_only = False
        self._lock = threading.RLock()
        try:
            self._raw = psycopg.connect(url, autocommit=True, connect_timeout=15)
        except psycopg.Error as err:
            raise StorageError(f"cannot connect to PostgreSQL at {self.where!r}: {_first_line(err)}") from None
        self._conn = _Connection(self._raw)
        try:
            self._init_schema(create)
        except BaseException:
            self._raw.close()
            raise

    # ------------------------------------------------------------------ dialect
    def _transaction(self, work: Callable[[Any], Any]) -> Any:
        with self._lock:
            try:
                with self._raw.transaction():
                    return work(self._conn)
            except self._psycopg.errors.IntegrityError as err:
                raise StorageError(_first_line(err)) from None
            except self._psycopg.OperationalError as err:
                raise StorageError(f"lost the PostgreSQL connection to {self.where!r}: {_first_line(err)}; the "
                                   "transaction was not applied or was applied whole, never in part") from None
            except KeyboardInterrupt:
                self._reconnect()
                raise

    def _query(self, work: Callable[[Any], Any]) -> Any:
        with self._lock:
            try:
                return work(self._conn)
            except self._psycopg.OperationalError as err:
                raise StorageError(f"lost the PostgreSQL connection to {self.where!r}: {_first_line(err)}") \
                    from None
            except KeyboardInterrupt:
                self._reconnect()
                raise

    def _reconnect(self) -> None:
        """A fresh connection after Ctrl-C interrupted a command: libpq may still count the old one as busy
        ("another command is already in progress"), and the interrupted study's clean-up (re-queueing its running
        trials) must still reach the database.  The interrupted transaction was applied whole or not at all."""
        try:
            self._raw.close()
        except Exception:  # already broken: closing it is all that is left to do
            pass
        try:
            self._raw = self._psycopg.connect(self.url, autocommit=True, connect_timeout=15)
            self._conn = _Connection(self._raw)
        except self._psycopg.Error:
            pass  # the next command reports the lost connection, as before

    # ------------------------------------------------------------------ opening
    def _init_schema(self, create: bool) -> None:
        def work(conn):
            conn.execute("SELECT pg_advisory_xact_lock(?)", (_INIT_LOCK,))
            tables = {r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables WHERE "
                                                 "table_schema = ?", (PG_SCHEMA,)).fetchall()}
            if not tables:
                if not create:
                    raise StorageNotFoundError(f"no gpnas studies in {self.where!r} (its schema {PG_SCHEMA!r} is empty "
                                       "or missing)")
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {PG_SCHEMA}")
                conn.execute(f"SET LOCAL search_path TO {PG_SCHEMA}")
                for statement in _DDL.strip().split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.executemany("INSERT INTO gpnas_meta VALUES (?, ?)",
                                 [("application", "gpnas"), ("schema_version", str(SCHEMA_VERSION))])
                tables = {"gpnas_meta"}
            elif "gpnas_meta" in tables and create:  # a reading command (create=False) changes nothing
                _migrate(conn)
            return tables

        tables = self._transaction(work)
        self._raw.execute(f"SET search_path TO {PG_SCHEMA}")
        if "gpnas_meta" not in tables:
            raise StorageError(f"schema {PG_SCHEMA!r} of {self.where!r} holds another application's tables "
                               f"({sorted(tables)}); refusing to write to it")
        meta = dict(self._query(lambda c: c.execute("SELECT key, value FROM gpnas_meta").fetchall()))
        if meta.get("application") != "gpnas":
            raise StorageError(f"schema {PG_SCHEMA!r} of {self.where!r} is not a gpnas database")
        if meta.get("schema_version") == "3" and not create:
            self.has_objectives = False  # read as it is: single-objective studies only, as before version 4
        elif meta.get("schema_version") != str(SCHEMA_VERSION):
            raise StorageError(f"{self.where!r} has gpnas schema version {meta.get('schema_version')}, "
                               f"this gpnas reads version {SCHEMA_VERSION}")

    def check_integrity(self, name: str) -> None:
        """Read study ``name`` back whole (every trial row, every model's CRC-32) before anything is written to it;
        PostgreSQL checks its own pages."""
        self._check_rows(name)

    def close(self) -> None:
        with self._lock:
            self._raw.close()


def _migrate(conn: Any) -> None:
    """Version 3 to 4 (the objectives column of multi-objective trials), under the schema's advisory lock: adding a
    column leaves every row as it was.  Any other version is left for the check that follows to refuse."""
    row = conn.execute(f"SELECT value FROM {PG_SCHEMA}.gpnas_meta WHERE key = 'schema_version'").fetchone()
    if row is not None and row[0] == "3":
        conn.execute(f"ALTER TABLE {PG_SCHEMA}.trials ADD COLUMN IF NOT EXISTS objectives TEXT")
        conn.execute(f"UPDATE {PG_SCHEMA}.gpnas_meta SET value = ? WHERE key = 'schema_version'",
                     (str(SCHEMA_VERSION),))


def _first_line(err: Exception) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]
