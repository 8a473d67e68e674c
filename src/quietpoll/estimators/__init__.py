"""Design-based estimators: each returns a Table of Estimate rows."""

from .ci import CI_METHODS
from .contrast import compare_domains, contrast
from .descriptives import svytable, svyvar
from .margins import ame, predictive_margins
from .quantile import quantile
from .sensitive import list_experiment, randomized_response
from .smooth import mean, proportion, ratio, total
from .table import Estimate, Table

__all__ = [
    "mean",
    "total",
    "proportion",
    "ratio",
    "quantile",
    "list_experiment",
    "randomized_response",
    "Estimate",
    "Table",
    "CI_METHODS",
    "contrast",
    "compare_domains",
    "predictive_margins",
    "ame",
    "svyvar",
    "svytable",
]
