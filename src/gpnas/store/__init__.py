"""Studies on disk (in memory or SQLite, behind one interface) and portable model files."""

from gpnas.store.model_files import load_model, save_model
from gpnas.store.sqlite import StorageError, get_storage

__all__ = ["StorageError", "get_storage", "load_model", "save_model"]
