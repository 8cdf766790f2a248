"""gpnas: Gaussian-process based neural architecture search (GP-NAS, Li et al., CVPR 2020)."""

from gpnas.exceptions import ArchitectureError, DataError, GPNASError, ModelFileError, NotFittedError, SpaceError
from gpnas.gp import GPNASRegressor, GroupedRBFKernel, JitterWarning
from gpnas.persistence import load_model, save_model
from gpnas.space import Choice, SearchSpace, make_space

__version__ = "0.1.0"

__all__ = [
    "ArchitectureError",
    "Choice",
    "DataError",
    "GPNASError",
    "GPNASRegressor",
    "GroupedRBFKernel",
    "JitterWarning",
    "ModelFileError",
    "NotFittedError",
    "SearchSpace",
    "SpaceError",
    "load_model",
    "make_space",
    "save_model",
]
