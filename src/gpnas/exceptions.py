"""Exceptions raised by gpnas.

Every error that bad input can cause derives from :class:`GPNASError`, so the command line can turn any of them into one
readable line and a non-zero exit instead of a traceback.
"""


class GPNASError(Exception):
    """Base class of every error gpnas raises on bad input."""


class SpaceError(GPNASError, ValueError):
    """A search-space definition (from Python or a file) is malformed."""


class ArchitectureError(GPNASError, ValueError):
    """An architecture lies outside its search space (wrong length, unknown value, index out of range)."""


class DataError(GPNASError, ValueError):
    """A data file or array is unusable: missing column, NaN target, too few rows, unreadable file."""


class NotFittedError(GPNASError, AttributeError):
    """A model was used before ``fit``."""


class ModelFileError(GPNASError, ValueError):
    """A saved model file is missing, corrupt, or of an unknown format version."""
