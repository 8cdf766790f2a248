"""The Gaussian-process model of GP-NAS: kernel (Eq. 7), weight posterior (Theorems 1-2), likelihood (Eq. 21)."""

from gpnas.gp.kernel import GroupedRBFKernel
from gpnas.gp.linalg import JitterWarning
from gpnas.gp.regressor import GPNASRegressor
from gpnas.gp.side_features import SideFeatures
from gpnas.gp.transfer import TransferRegressor
from gpnas.gp.weights import weight_posterior

__all__ = ["GPNASRegressor", "GroupedRBFKernel", "JitterWarning", "SideFeatures", "TransferRegressor",
           "weight_posterior"]
