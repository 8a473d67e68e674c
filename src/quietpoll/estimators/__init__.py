"""Design-based estimators: each returns a Table of Estimate rows.

The names below are loaded on first use (module ``__getattr__``), so importing one estimator (as the
CLI does for ``estimate``) does not import the others and their libraries (scipy.stats for contrasts,
margins and the descriptive statistics)."""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "mean": "smooth",
    "total": "smooth",
    "proportion": "smooth",
    "ratio": "smooth",
    "quantile": "quantile",
    "list_experiment": "sensitive",
    "randomized_response": "sensitive",
    "Estimate": "table",
    "Table": "table",
    "CI_METHODS": "ci",
    "contrast": "contrast",
    "compare_domains": "contrast",
    "predictive_margins": "margins",
    "ame": "margins",
    "svyvar": "descriptives",
    "svytable": "descriptives",
}

__all__ = list(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
