"""Data in and out: architecture CSV files, the public benchmark tables, and the built-in spaces by name."""

from gpnas.io.data import read_architectures, write_architectures
from gpnas.io.tables import load_table

__all__ = ["load_table", "read_architectures", "write_architectures"]
