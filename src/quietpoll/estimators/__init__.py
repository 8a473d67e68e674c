"""Design-based estimators: each returns a Table of Estimate rows."""

from .ci import CI_METHODS
from .quantile import quantile
from .smooth import mean, proportion, ratio, total
from .table import Estimate, Table

__all__ = ["mean", "total", "proportion", "ratio", "quantile", "Estimate", "Table", "CI_METHODS"]
