"""Exceptions raised by gpnas.

Every error that bad input can cause derives from :class:`GPNASError`, so the command line can turn any of them into one
readable line and a non-zero exit instead of a traceback.
"""

import functools
import sys


class GPNASError(Exception):
    """Base class of every error gpnas raises on bad input."""


class SpaceError(GPNASError, ValueError):
    """A search-space definition (from Python or a file) is malformed."""


class ArchitectureError(GPNASError, ValueError):
    """An architecture lies outside its search space (wrong length, unknown value, index out of range)."""


class ArchitectureTypeError(ArchitectureError, TypeError):
    """Architectures of a type that holds no choice indices at all (strings, dicts, complex numbers)."""


class DataError(GPNASError, ValueError):
    """A data file or array is unusable: missing column, NaN target, too few rows, unreadable file."""


class NotFittedError(GPNASError, ValueError, AttributeError):
    """A model was used before ``fit`` (a ``ValueError`` and an ``AttributeError``, as scikit-learn's)."""


def not_fitted_error(message: str) -> NotFittedError:
    """A :class:`NotFittedError` that is also ``sklearn.exceptions.NotFittedError`` whenever scikit-learn is loaded.

    gpnas's core does not import scikit-learn (1.3 s); but code that catches scikit-learn's error has imported it,
    so deriving from it only then is enough for ``except sklearn.exceptions.NotFittedError`` to catch ours.
    """
    sklearn_exceptions = sys.modules.get("sklearn.exceptions")
    if sklearn_exceptions is None:
        return NotFittedError(message)
    return _with_sklearn_base(sklearn_exceptions.NotFittedError, NotFittedError)(message)


class DataConversionWarning(UserWarning):
    """Input was converted to what the model reads (a column-vector ``y`` to a 1d one)."""


def data_conversion_warning() -> type[Warning]:
    """:class:`DataConversionWarning`, also scikit-learn's whenever it is loaded (see :func:`not_fitted_error`)."""
    sklearn_exceptions = sys.modules.get("sklearn.exceptions")
    if sklearn_exceptions is None:
        return DataConversionWarning
    return _with_sklearn_base(sklearn_exceptions.DataConversionWarning, DataConversionWarning)


@functools.cache
def _with_sklearn_base(sklearn_class: type, ours: type) -> type:
    return type(ours.__name__, (ours, sklearn_class), {"__module__": __name__, "__doc__": ours.__doc__})


class ModelFileError(GPNASError, ValueError):
    """A saved model file is missing, corrupt, or of an unknown format version."""
