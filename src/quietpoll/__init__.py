"""quietpoll: surveys of closed societies, from questionnaire to published numbers."""

from .api import as_svrepdesign, estimate, glm, svrepdesign, svydesign
from .design import DesignSpec, ReplicateDesign, ReplicateSpec, TaylorDesign
from .errors import QuietpollError
from .estimators import Estimate, Table, mean, proportion, quantile, ratio, total
from .io import Dataset, read_data, write_data

__version__ = "0.1.0"

__all__ = [
    "svydesign", "svrepdesign", "as_svrepdesign", "estimate", "glm",
    "DesignSpec", "ReplicateSpec", "TaylorDesign", "ReplicateDesign",
    "mean", "total", "proportion", "ratio", "quantile", "Estimate", "Table", "QuietpollError",
    "Dataset", "read_data", "write_data", "__version__",
]
