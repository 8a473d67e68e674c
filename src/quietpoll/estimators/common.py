"""What the estimators share: analysis variables with their missing values, analysis-domain rows,
degrees of freedom, and building an Estimate row."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from ..design.base import require_column
from ..errors import ColumnError, EstimationError
from .table import Estimate


@dataclass(frozen=True)
class Request:
    level: float = 0.95
    ci_method: str = "wald"
    df: str | float = "design"

    def __post_init__(self) -> None:
        if not 0 < float(self.level) < 1:
            raise EstimationError(f"{{level}} must be between 0 and 1 (e.g. 0.95), got {self.level}", param="level")
        if isinstance(self.df, str) and self.df not in ("design", "inf"):
            raise EstimationError(f"{{df}} must be 'design', 'inf' or a number, got '{self.df}'", param="df")


@dataclass(frozen=True)
class AnalysisVar:
    name: str
    values: np.ndarray | None  # float, for numeric statistics
    codes: np.ndarray | None  # int level codes, for proportions (-1 where missing)
    levels: tuple[str, ...]
    missing: np.ndarray  # bool

    @property
    def numbers(self) -> np.ndarray:
        """`values` of a numeric variable (analysis_variable(..., numeric=True))."""
        if self.values is None:
            raise AssertionError(f"'{self.name}' was not read as a numeric analysis variable")
        return self.values

    @property
    def level_codes(self) -> np.ndarray:
        """`codes` of a categorical variable (analysis_variable(..., numeric=False))."""
        if self.codes is None:
            raise AssertionError(f"'{self.name}' was not read as a categorical analysis variable")
        return self.codes

    def combined(self, other: AnalysisVar, name: str) -> AnalysisVar:
        return AnalysisVar(name, None, None, (), self.missing | other.missing)


def analysis_variable(frame: pl.DataFrame, name: str, *, numeric: bool) -> AnalysisVar:
    s = require_column(frame, name, "analysis")
    if numeric:
        if s.null_count() == s.len():
            s = s.cast(pl.Float64, strict=False)  # an empty column (read as text): no cases
        if s.dtype == pl.Boolean:
            s = s.cast(pl.Float64)
        if not s.dtype.is_numeric():
            raise ColumnError(
                f"analysis column '{name}' is not numeric ({s.dtype}); use a "
                "proportion ({prop}) for a categorical variable",
                param="prop",
            )
        if s.null_count():
            values = s.cast(pl.Float64).fill_null(np.nan).to_numpy().copy()
        else:
            values = s.cast(pl.Float64).to_numpy()  # no copy for a float column without nulls
        nan = np.isnan(values)
        if nan.any():
            values = values.copy()
            values[nan] = 0.0
        return AnalysisVar(name, values, None, (), nan)
    missing = s.is_null().to_numpy()
    levels, codes = _levels(s)
    codes = np.where(missing, -1, codes)
    return AnalysisVar(name, None, codes, levels, missing)


def _levels(s: pl.Series) -> tuple[tuple[str, ...], np.ndarray]:
    if isinstance(s.dtype, pl.Enum):
        cats = s.dtype.categories.to_list()  # the fixed level order of the Enum (as a factor's levels)
        codes = s.to_physical().fill_null(0).to_numpy().astype(np.int64)
        return tuple(cats), codes
    if s.dtype in (pl.Categorical, pl.Boolean):
        s = s.cast(pl.String)
    if s.dtype.is_numeric():
        levels_codes = _small_integer_levels(s)
        if levels_codes is not None:
            return levels_codes
    uniq = s.drop_nulls().unique().sort()
    code_series = s.replace_strict(uniq, pl.int_range(len(uniq), eager=True), default=0, return_dtype=pl.Int64)
    return tuple(str(v) for v in uniq.to_list()), code_series.to_numpy()


def _small_integer_levels(s: pl.Series):
    """Levels and codes of a numeric column holding small whole numbers (0/1, 1..5), without a sort;
    None if it holds anything else."""
    a = (s.fill_null(0) if s.null_count() else s).to_numpy()
    if a.dtype.kind == "f":
        if np.isnan(a).any():
            return None
        k = a.astype(np.int64)
        if not np.array_equal(k, a):
            return None
    else:
        k = a.astype(np.int64, copy=False)
    if s.null_count():
        k = np.where(s.is_null().to_numpy(), k.min() if len(k) else 0, k)
    lo, hi = int(k.min()), int(k.max())
    if hi - lo >= 1_000_000:
        return None
    if lo != 0:
        k = k - lo
    present = np.bincount(k) > 0
    if s.null_count():  # nulls were given a real value's code above; recount without them
        present = np.bincount(k[~s.is_null().to_numpy()], minlength=len(present)) > 0
    if present.all():
        codes = k
    else:
        codes = (np.cumsum(present) - 1)[k]
    return tuple(str(x + lo) for x in np.flatnonzero(present).tolist()), codes


def domain_rows(domains, g: int, var: AnalysisVar, design):
    """Rows of the analysis domain (domain g with the variable observed), n and n_missing."""
    keep = ~var.missing if var.missing.any() else None
    rows = domains.rows(g, keep)
    size = design.n if domains.codes is None else int(domains.bounds[g + 1] - domains.bounds[g])
    n = design.n if isinstance(rows, slice) else len(rows)
    if n == 0:
        if domains.codes is None or domains.count == 1:
            where = _where(domains.labels[g])
            raise EstimationError(f"no cases with a value of '{var.name}'{where}: nothing to estimate")
        return None, 0, size  # an empty domain gives no row, as R's svyby
    return rows, n, size - n


def resolve_df(design, rows, df) -> float:
    if df == "design":
        return design.degf(None if isinstance(rows, slice) else rows)
    if df == "inf":
        return math.inf
    return float(df)


def make_row(statistic, variable, level, domain, est, var, lo, hi, req: Request, df, deff, n, n_missing) -> Estimate:
    se = math.sqrt(var) if var >= 0 else math.nan
    cv = se / abs(est) if est else math.nan
    deff = None if deff is None else float(deff)
    n_eff = n / deff if deff and math.isfinite(deff) and deff > 0 else None
    return Estimate(
        statistic=statistic,
        variable=variable,
        level=level,
        domain=dict(domain),
        estimate=float(est),
        se=se,
        ci_low=lo,
        ci_high=hi,
        level_ci=float(req.level),
        ci_method=req.ci_method,
        df=float(df),
        deff=deff,
        n=int(n),
        n_missing=int(n_missing),
        cv=cv,
        n_eff=n_eff,
    )


def _where(label: dict) -> str:
    return (" in domain " + ", ".join(f"{k}={v}" for k, v in label.items())) if label else ""
