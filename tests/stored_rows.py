"""The trials table of a test's database, read with the database's own driver (not through gpnas), so the process
tests check what is really stored: SQLite files (with SQLite's integrity check) and PostgreSQL databases alike."""

import os
import sqlite3
import time
from contextlib import closing

COLUMNS = "number, arch, state, value, worker, attempts"


def rows(url: str, columns: str = COLUMNS) -> list[tuple]:
    """Every stored trial of every study, ordered by number; empty while the database or its tables do not exist."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if not os.path.exists(path):
            return []
        # a read-write connection (SELECTs only): a read-only one cannot recover the write-ahead log that a killed or
        # interrupted writer leaves, and would fail where the data is sound.  A lock held past the timeout is retried,
        # and raised at the deadline, never read as "no rows".
        deadline = time.monotonic() + 60
        while True:
            try:
                with closing(sqlite3.connect(path, timeout=10)) as conn:
                    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'trials'").fetchone() is None:
                        return []
                    found = conn.execute(f"SELECT {columns} FROM trials ORDER BY number").fetchall()
                    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                    return found
            except sqlite3.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('gpnas.trials')").fetchone()[0] is None:
            return []
        return [tuple(r) for r in conn.execute(f"SELECT {columns} FROM gpnas.trials ORDER BY number").fetchall()]


def edit_settings(path, study_name: str, edit) -> None:
    """Rewrite the stored settings of ``study_name`` in the SQLite file ``path``: ``edit(settings)`` changes the
    decoded dictionary in place (a study as an earlier gpnas stored it, without a setting that exists now)."""
    import json

    with closing(sqlite3.connect(path)) as conn, conn:
        (settings,) = conn.execute("SELECT settings FROM studies WHERE name = ?", (study_name,)).fetchone()
        stored = json.loads(settings)
        edit(stored)
        conn.execute("UPDATE studies SET settings = ? WHERE name = ?", (json.dumps(stored), study_name))
