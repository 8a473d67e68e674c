"""quietpoll: surveys of closed societies, from questionnaire to published numbers.

The public API is loaded on first use (module-level ``__getattr__``), so that importing a submodule,
such as the command line's, does not import numpy, polars and the estimators."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> the module that defines it
_EXPORTS = {
    "svydesign": ".api",
    "svrepdesign": ".api",
    "as_svrepdesign": ".api",
    "estimate": ".api",
    "glm": ".api",
    "DesignSpec": ".design",
    "ReplicateSpec": ".design",
    "TaylorDesign": ".design",
    "ReplicateDesign": ".design",
    "mean": ".estimators",
    "total": ".estimators",
    "proportion": ".estimators",
    "ratio": ".estimators",
    "quantile": ".estimators",
    "Estimate": ".estimators",
    "Table": ".estimators",
    "QuietpollError": ".errors",
    "Dataset": ".io",
    "read_data": ".io",
    "write_data": ".io",
}

__all__ = [
    "svydesign",
    "svrepdesign",
    "as_svrepdesign",
    "estimate",
    "glm",
    "DesignSpec",
    "ReplicateSpec",
    "TaylorDesign",
    "ReplicateDesign",
    "mean",
    "total",
    "proportion",
    "ratio",
    "quantile",
    "Estimate",
    "Table",
    "QuietpollError",
    "Dataset",
    "read_data",
    "write_data",
    "__version__",
]

if TYPE_CHECKING:
    from .api import as_svrepdesign, estimate, glm, svrepdesign, svydesign
    from .design import DesignSpec, ReplicateDesign, ReplicateSpec, TaylorDesign
    from .errors import QuietpollError
    from .estimators import Estimate, Table, mean, proportion, quantile, ratio, total
    from .io import Dataset, read_data, write_data


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'quietpoll' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
