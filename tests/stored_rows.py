"""The trials table of a test's database, read with the database's own driver (not through gpnas), so the process
tests check what is really stored: SQLite files (with SQLite's integrity check) and PostgreSQL databases alike."""

import sqlite3

COLUMNS = "number, arch, state, value, worker, attempts"


def rows(url: str, columns: str = COLUMNS) -> list[tuple]:
    """Every stored trial of every study, ordered by number; empty while the database or its tables do not exist."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        except sqlite3.OperationalError:
            return []
        try:
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'trials'").fetchone() is None:
                return []
            found = conn.execute(f"SELECT {columns} FROM trials ORDER BY number").fetchall()
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            return found
        except sqlite3.OperationalError:  # the file is being created
            return []
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('gpnas.trials')").fetchone()[0] is None:
            return []
        return [tuple(r) for r in conn.execute(f"SELECT {columns} FROM gpnas.trials ORDER BY number").fetchall()]
