"""gpnas: Gaussian-process based neural architecture search (GP-NAS, Li et al., CVPR 2020).

The package is layered; each layer imports only the ones listed before it:

* :mod:`gpnas.exceptions`, :mod:`gpnas.threads`: errors and CPU threads, used everywhere;
* :mod:`gpnas.space`: the search space, cells and encodings;
* :mod:`gpnas.gp`: the GP-NAS model (kernel, linear mean, posterior, hyperparameter fit);
* :mod:`gpnas.sampling`: what to evaluate next (acquisitions, MI, pools, acquisition search);
* :mod:`gpnas.nets`: the paper's networks and their training (torch);
* :mod:`gpnas.store`: studies on disk and model files;
* :mod:`gpnas.io`: data files, public benchmark tables, built-in spaces;
* :mod:`gpnas.run`: executors (in process, process pool, Ray) and objectives;
* :mod:`gpnas.study`: studies, the search loop, multi-budget studies, recommendation, selection;
* :mod:`gpnas.integrations`: Optuna (and Ray Tune through it);
* :mod:`gpnas.report`, :mod:`gpnas.dashboard`, :mod:`gpnas.cli`: the HTML report, its live view, the command line.

The names below are the public API; the optional ones (``GPNASSampler`` needs Optuna) are imported on first use.
"""

from typing import Any

from gpnas.exceptions import ArchitectureError, DataError, GPNASError, ModelFileError, NotFittedError, SpaceError
from gpnas.gp import GPNASRegressor, GroupedRBFKernel, JitterWarning, SideFeatures, TransferRegressor
from gpnas.io.data import read_architectures, write_architectures
from gpnas.io.tables import load_table
from gpnas.run.ray import RayExecutor
from gpnas.space import Choice, SearchSpace, make_space
from gpnas.store import load_model, save_model
from gpnas.study import Study, create_study, load_study
from gpnas.study.multi_budget import AtBudget, multi_budget_study

__version__ = "0.1.0"

__all__ = [
    "ArchitectureError",
    "AtBudget",
    "Choice",
    "DataError",
    "GPNASError",
    "GPNASRegressor",
    "GPNASSampler",
    "GroupedRBFKernel",
    "JitterWarning",
    "ModelFileError",
    "NotFittedError",
    "RayExecutor",
    "SearchSpace",
    "SideFeatures",
    "SpaceError",
    "Study",
    "TransferRegressor",
    "create_study",
    "load_model",
    "load_study",
    "load_table",
    "make_space",
    "multi_budget_study",
    "read_architectures",
    "save_model",
    "write_architectures",
]


def __getattr__(name: str) -> Any:
    if name == "GPNASSampler":  # needs the optuna extra: imported when first asked for
        from gpnas.integrations.optuna import GPNASSampler

        return GPNASSampler
    raise AttributeError(f"module 'gpnas' has no attribute {name!r}")
