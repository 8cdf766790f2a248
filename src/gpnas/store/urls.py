"""A store from a storage URL: in memory, SQLite or PostgreSQL."""

from __future__ import annotations

from gpnas.store.memory import InMemoryStorage, StorageError

SCHEMES = ("sqlite:///PATH", "postgresql://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE")


def get_storage(url: str | InMemoryStorage | None, create: bool = True) -> InMemoryStorage:
    """A storage from a URL: ``None`` for in-memory, ``sqlite:///relative.db``, ``sqlite:////absolute.db``, or
    ``postgresql://user:password@host:5432/db`` (``postgres://`` too; libpq's query parameters such as
    ``?sslmode=require`` pass through).  A storage object is returned as it is.

    ``create=False`` refuses a database that does not exist (or holds no gpnas studies) instead of creating an empty
    one (for commands that only read)."""
    if url is None:
        return InMemoryStorage()
    if isinstance(url, InMemoryStorage):
        return url
    if isinstance(url, str) and url.startswith("sqlite:///"):
        from gpnas.store.sqlite import SQLiteStorage

        path = url[len("sqlite:///"):]
        if not path:
            raise StorageError("storage URL sqlite:/// names no file")
        return SQLiteStorage(path, create=create)
    if isinstance(url, str) and url.startswith(("postgresql://", "postgres://")):
        from gpnas.store.postgres import PostgresStorage

        return PostgresStorage(url, create=create)
    raise StorageError(f"unsupported storage URL {url!r}; expected one of: {', '.join(SCHEMES)}")
