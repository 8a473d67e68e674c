"""Design-based estimators: each returns a Table of Estimate rows.

The names below are loaded on first use (module ``__getattr__``), so importing one estimator (as the
CLI does for ``estimate``) does not import the others and their libraries (scipy.stats for contrasts,
margins and the descriptive statistics)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE = {
    "mean": "smooth",
    "total": "smooth",
    "proportion": "smooth",
    "ratio": "smooth",
    "quantile": "quantiles",
    "list_experiment": "sensitive",
    "randomized_response": "sensitive",
    "Estimate": "table",
    "Table": "table",
    "CI_METHODS": "ci",
    "contrast": "contrasts",
    "compare_domains": "contrasts",
    "predictive_margins": "margins",
    "ame": "margins",
    "svyvar": "descriptives",
    "svytable": "descriptives",
}

__all__ = list(_WHERE)

if TYPE_CHECKING:  # the names as the type checker sees them (`quantile` the function, not its module)
    from .ci import CI_METHODS as CI_METHODS
    from .contrasts import compare_domains as compare_domains, contrast as contrast
    from .descriptives import svytable as svytable, svyvar as svyvar
    from .margins import ame as ame, predictive_margins as predictive_margins
    from .quantiles import quantile as quantile
    from .sensitive import list_experiment as list_experiment, randomized_response as randomized_response
    from .smooth import mean as mean, proportion as proportion, ratio as ratio, total as total
    from .table import Estimate as Estimate, Table as Table


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
