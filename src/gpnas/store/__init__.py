"""Studies in a store (in memory, SQLite or PostgreSQL, behind one interface) and portable model files."""

from gpnas.store.memory import StorageError, StorageNotFoundError
from gpnas.store.model_files import load_model, save_model
from gpnas.store.urls import get_storage

__all__ = ["StorageError", "StorageNotFoundError", "get_storage", "load_model", "save_model"]
