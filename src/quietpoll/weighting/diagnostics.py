"""Weight diagnostics: design effect, effective sample size, weight distribution, balance, margins.

Every function is a pure function of numpy arrays and polars frames and returns plain Python
values (floats, ints, strings, ``None``, lists, dicts), so :func:`diagnostics` can be written with
``json.dumps`` as it is. Undefined numbers (a ratio with a zero denominator) are ``None``.

Margins are duck-typed: any object with ``variable`` (column name), ``kind`` (``"categorical"`` or
``"numeric"``), ``levels`` (tuple of str; empty for numeric) and ``totals`` (population totals: one
per level, or a single total for a numeric variable). Column values are matched to levels as text
(whole-number floats print as integers, booleans as ``"true"``/``"false"``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from quietpoll.errors import WeightingError
from quietpoll.weighting.targets import text_series

__all__ = [
    "QUANTILES",
    "kish_deff",
    "effective_n",
    "weight_summary",
    "smd",
    "margins_achieved",
    "dominant_weight_warnings",
    "diagnostics",
    "WeightDiagnostics",
]

#: Quantiles reported by :func:`weight_summary` (numpy's default, R's type 7).
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def _num(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def check_weights(w: Any, name: str = "weights", n: int | None = None) -> np.ndarray:
    """Weights as float64: one finite, non-negative number per row, not all zero."""
    try:
        arr = np.asarray(w, dtype=np.float64)
    except (TypeError, ValueError):
        raise WeightingError(f"{name} must be numbers, one per row") from None
    if arr.ndim != 1 or arr.size == 0:
        raise WeightingError(f"{name} must be a non-empty list of numbers, one per row")
    if n is not None and arr.size != n:
        raise WeightingError(f"{name} has {arr.size} values but the data have {n} rows; pass one weight per row")
    if not np.all(np.isfinite(arr)):
        raise WeightingError(f"{name} contains missing or infinite values; fill them in or drop those rows")
    if np.any(arr < 0):
        raise WeightingError(f"{name} contains negative values; weights must be zero or positive")
    if not arr.sum() > 0:
        raise WeightingError(f"{name} are all zero; at least one row needs a positive weight")
    return arr


# --------------------------------------------------------------------------------------------
# weight distribution
# --------------------------------------------------------------------------------------------


def kish_deff(w: Any) -> float:
    """Kish's design effect due to unequal weights: ``n * sum(w^2) / sum(w)^2`` (n counts all rows)."""
    a = check_weights(w)
    return float(a.size * np.dot(a, a) / a.sum() ** 2)


def effective_n(w: Any) -> float:
    """Kish's effective sample size ``sum(w)^2 / sum(w^2)`` (= n / deff)."""
    a = check_weights(w)
    return float(a.sum() ** 2 / np.dot(a, a))


def weight_summary(w: Any) -> dict:
    """Distribution of the weights.

    Keys: ``n``, ``sum``, ``min``, ``max``, ``mean``, ``quantiles`` (``{"0.01": ..., ...}``, numpy's
    linear interpolation = R type 7), ``ratio_max_min`` (``None`` when the smallest weight is 0) and
    ``cv`` (population standard deviation / mean, ddof=0).
    """
    a = check_weights(w)
    q = np.quantile(a, QUANTILES)
    mean = a.mean()
    lo, hi = a.min(), a.max()
    return {
        "n": int(a.size),
        "sum": float(a.sum()),
        "min": float(lo),
        "max": float(hi),
        "mean": float(mean),
        "quantiles": {str(p): float(v) for p, v in zip(QUANTILES, q)},
        "ratio_max_min": _num(hi / lo) if lo > 0 else None,
        "cv": float(a.std() / mean),
    }


def dominant_weight_warnings(w: Any, max_share: float = 0.05) -> list[str]:
    """One message per row carrying more than ``max_share`` of the total weight, largest first.

    Rows are numbered from 0, as in the frame.
    """
    if not (0 < max_share < 1):
        raise WeightingError(f"max_share must be between 0 and 1, not {max_share!r}")
    a = check_weights(w)
    share = a / a.sum()
    rows = np.flatnonzero(share > max_share)
    rows = rows[np.argsort(-share[rows], kind="stable")]
    return [
        f"row {int(i)} carries {100 * share[i]:.1f}% of the total weight (more than {100 * max_share:.1f}%); "
        "consider trimming the weights or collapsing weighting cells"
        for i in rows
    ]


# --------------------------------------------------------------------------------------------
# helpers for columns and margins
# --------------------------------------------------------------------------------------------


def _column(frame: pl.DataFrame, name: str, what: str = "data") -> pl.Series:
    if name not in frame.columns:
        raise WeightingError(f"column '{name}' is not in the {what}; check the spelling or add the column")
    return frame.get_column(name)


def _valid_mask(col: pl.Series) -> np.ndarray:
    valid = col.is_not_null()
    if col.dtype.is_float():
        valid = valid & col.is_not_nan().fill_null(False)
    return valid.to_numpy()


def _codes(text: pl.Series, levels: Sequence[str]) -> np.ndarray:
    """Integer code of each value in ``levels``; -1 for values not among them or missing."""
    lv = pl.Series(list(levels), dtype=pl.String)
    return (
        text.replace_strict(lv, pl.int_range(lv.len(), eager=True), default=-1, return_dtype=pl.Int64)
        .fill_null(-1)
        .to_numpy()
    )


def _level_totals(text: pl.Series, levels: Sequence[str], w: np.ndarray) -> np.ndarray:
    codes = _codes(text, levels)
    keep = codes >= 0
    return np.bincount(codes[keep], weights=w[keep], minlength=len(levels))


def _margin_levels(m: Any) -> tuple[list[str], np.ndarray]:
    levels = [str(v) for v in m.levels]
    totals = np.asarray(m.totals, dtype=np.float64).ravel()
    if totals.size != len(levels):
        raise WeightingError(
            f"margin for '{m.variable}' has {len(levels)} levels but {totals.size} totals; give one total per level"
        )
    return levels, totals


def _numeric_total(m: Any) -> float:
    totals = np.asarray(m.totals, dtype=np.float64).ravel()
    if totals.size != 1:
        raise WeightingError(f"numeric margin for '{m.variable}' must have exactly one total, not {totals.size}")
    return float(totals[0])


def _check_kind(m: Any) -> str:
    kind = getattr(m, "kind", None)
    if kind not in ("categorical", "numeric"):
        raise WeightingError(
            f"margin for '{getattr(m, 'variable', '?')}' has kind {kind!r}; use 'categorical' or 'numeric'"
        )
    return kind


# --------------------------------------------------------------------------------------------
# margins achieved
# --------------------------------------------------------------------------------------------


def margins_achieved(frame: pl.DataFrame, margins: Iterable[Any], w: Any) -> list[dict]:
    """Weighted totals against the targets, one row per categorical level or numeric margin.

    Each row: ``variable``, ``kind``, ``level`` (``None`` for numeric), ``target``, ``achieved``
    (sum of ``w`` over rows with that level, or sum of ``w * x`` for numeric; missing values count
    as nothing), ``difference`` (achieved - target) and ``relative_difference`` (difference / target,
    ``None`` when the target is 0).
    """
    a = check_weights(w, n=frame.height)
    out: list[dict] = []
    for m in margins:
        kind = _check_kind(m)
        col = _column(frame, m.variable)
        if kind == "categorical":
            levels, target = _margin_levels(m)
            achieved = _level_totals(text_series(col), levels, a)
            rows: Iterable[tuple[Any, float, float]] = zip(levels, target, achieved)
        else:
            if not col.dtype.is_numeric():
                raise WeightingError(
                    f"column '{m.variable}' has a numeric margin but holds {col.dtype}; convert it to numbers"
                )
            x = col.cast(pl.Float64).fill_nan(None).fill_null(0.0).to_numpy()
            rows = [(None, _numeric_total(m), float(np.dot(a, x)))]
        for level, t, ach in rows:
            diff = float(ach) - float(t)
            out.append(
                {
                    "variable": m.variable,
                    "kind": kind,
                    "level": level,
                    "target": float(t),
                    "achieved": float(ach),
                    "difference": diff,
                    "relative_difference": _num(diff / t) if t != 0 else None,
                }
            )
    return out


# --------------------------------------------------------------------------------------------
# standardized mean differences
# --------------------------------------------------------------------------------------------


def _wmean_var(x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    s = w.sum()
    if not s > 0:
        return math.nan, math.nan
    m = float(np.dot(w, x) / s)
    v = float(np.dot(w, (x - m) ** 2) / s)
    return m, v


def _smd_value(diff: float, denom: float) -> float | None:
    if not math.isfinite(diff) or not math.isfinite(denom):
        return None
    if denom > 0:
        return diff / denom
    return 0.0 if diff == 0 else None


def _smd_row(variable: str, level: str | None, target: float, before: float, after: float, denom: float) -> dict:
    target, before, after, denom = float(target), float(before), float(after), float(denom)
    return {
        "variable": variable,
        "level": level,
        "target": _num(target),
        "before": _num(before),
        "after": _num(after),
        "sd": _num(denom),
        "smd_before": _smd_value(before - target, denom),
        "smd_after": _smd_value(after - target, denom),
    }


def smd(
    frame: pl.DataFrame,
    covariates: Sequence[str],
    w_before: Any,
    w_after: Any,
    reference: pl.DataFrame | None = None,
    reference_weights: Any = None,
    *,
    margins: Iterable[Any] | None = None,
) -> list[dict]:
    """Standardized mean differences of the sample from the target, before and after weighting.

    The target is the ``reference`` sample (weighted by ``reference_weights``, default 1) when
    given, otherwise the population ``margins`` (categorical levels give target shares
    ``total / sum(totals)``; a numeric total becomes a mean by dividing by the population size, the
    sum of the totals of the first categorical margin).

    For each numeric covariate, and for each level of a categorical covariate (as a 0/1
    indicator, so means are shares), with weighted means and population-form weighted variances
    ``sum(w (x - m)^2) / sum(w)``::

        smd_before = (mean_sample(w_before) - mean_target) / sd
        smd_after  = (mean_sample(w_after)  - mean_target) / sd
        sd         = sqrt((var_sample(w_before) + var_target) / 2)

    i.e. the pooled standard deviation of ``balance`` (``std_type="pooled"``), computed once from the
    sample as weighted *before* adjustment so that both SMDs share one denominator and differ only
    through the means. For a categorical level the variances are ``p (1 - p)``. Against numeric
    margins the target variance is unknown, so ``sd`` is the sample's own standard deviation.
    The SMDs are signed (sample minus target). Rows with a missing value of the covariate are left
    out of that covariate's means. ``None`` marks an undefined value (``sd`` 0 with a nonzero
    difference).

    Each row: ``variable``, ``level`` (``None`` for numeric), ``target``, ``before``, ``after``,
    ``sd``, ``smd_before``, ``smd_after``.
    """
    if isinstance(covariates, str):
        covariates = [covariates]
    wb = check_weights(w_before, "w_before", frame.height)
    wa = check_weights(w_after, "w_after", frame.height)
    by_var: dict[str, Any] = {}
    pop_size: float | None = None
    if reference is not None:
        wr = check_weights(
            np.ones(reference.height) if reference_weights is None else reference_weights,
            "reference_weights",
            reference.height,
        )
    elif margins is not None:
        for m in margins:
            kind = _check_kind(m)
            by_var[m.variable] = m
            if kind == "categorical" and pop_size is None:
                pop_size = float(_margin_levels(m)[1].sum())
    else:
        raise WeightingError("smd needs a target: pass a reference sample or the population margins")

    out: list[dict] = []
    for name in covariates:
        col = _column(frame, name)
        valid = _valid_mask(col)
        if reference is not None:
            rcol = _column(reference, name, "reference")
            rvalid = _valid_mask(rcol)
            numeric = col.dtype.is_numeric() and rcol.dtype.is_numeric()
        else:
            if name not in by_var:
                raise WeightingError(
                    f"covariate '{name}' has no margin to compare with; add a margin for it or leave it out"
                )
            m = by_var[name]
            numeric = m.kind == "numeric"
            if numeric and not col.dtype.is_numeric():
                raise WeightingError(
                    f"column '{name}' has a numeric margin but holds {col.dtype}; convert it to numbers"
                )

        if numeric:
            x = col.cast(pl.Float64).to_numpy()
            xs = np.where(valid, x, 0.0)
            mb, vb = _wmean_var(xs[valid], wb[valid])
            ma, _ = _wmean_var(xs[valid], wa[valid])
            if reference is not None:
                xr = rcol.cast(pl.Float64).to_numpy()
                mt, vt = _wmean_var(xr[rvalid], wr[rvalid])
                denom = math.sqrt((vb + vt) / 2)
            else:
                if pop_size is None or pop_size <= 0:
                    raise WeightingError(
                        f"the total of '{name}' cannot become a mean without a population size; "
                        "add a categorical margin or compare against a reference sample"
                    )
                mt = _numeric_total(m) / pop_size
                denom = math.sqrt(vb)
            out.append(_smd_row(name, None, mt, mb, ma, denom))
            continue

        text = text_series(col)
        if reference is not None:
            rtext = text_series(rcol)
            levels = pl.concat([text.drop_nulls(), rtext.drop_nulls()]).unique().sort().to_list()
            t_tot = _level_totals(rtext, levels, wr)
        else:
            mlevels, mtot = _margin_levels(m)
            extra = sorted(set(text.drop_nulls().unique().to_list()) - set(mlevels))
            levels = mlevels + extra
            t_tot = np.concatenate([mtot, np.zeros(len(extra))])
        b_tot = _level_totals(text, levels, wb)
        a_tot = _level_totals(text, levels, wa)
        with np.errstate(divide="ignore", invalid="ignore"):
            pt = t_tot / t_tot.sum()
            pb = b_tot / b_tot.sum()
            pa = a_tot / a_tot.sum()
        denom = np.sqrt((pb * (1 - pb) + pt * (1 - pt)) / 2)
        out.extend(_smd_row(name, lvl, t, b, a_, d) for lvl, t, b, a_, d in zip(levels, pt, pb, pa, denom))
    return out


# --------------------------------------------------------------------------------------------
# everything
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeightDiagnostics:
    """What :func:`diagnostics` finds about a set of final weights; ``to_dict()`` is the JSON of
    ``quietpoll weight`` (before the command adds ``collapsed`` and ``excluded``)."""

    kish_deff: float
    effective_n: float
    weights: dict[str, Any]  # weight_summary
    margins: tuple[dict[str, Any], ...]  # margins_achieved: variable, level, target, achieved, ...
    smd: tuple[dict[str, Any], ...]
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kish_deff": self.kish_deff,
            "effective_n": self.effective_n,
            "weights": self.weights,
            "margins": list(self.margins),
            "smd": list(self.smd),
            "warnings": list(self.warnings),
        }

    def summary(self, keys: Sequence[str] = ("min", "max", "mean", "cv")) -> dict[str, Any]:
        """The weight distribution's ``keys`` that it has (the report's short form)."""
        return {k: self.weights.get(k) for k in keys if k in self.weights}

    def margin_table(self) -> list[dict[str, Any]]:
        """variable, level, target and achieved of every margin (the report's and the command's table)."""
        return [{k: m.get(k) for k in ("variable", "level", "target", "achieved")} for m in self.margins]


def diagnostics(
    frame: pl.DataFrame,
    w_before: Any,
    w_after: Any,
    margins: Iterable[Any] | None = None,
    covariates: Sequence[str] = (),
    max_share: float = 0.05,
    *,
    reference: pl.DataFrame | None = None,
    reference_weights: Any = None,
) -> WeightDiagnostics:
    """All diagnostics of the final weights ``w_after`` as one :class:`WeightDiagnostics` (JSON-able
    through ``to_dict()``).

    Fields: ``kish_deff``, ``effective_n``, ``weights`` (:func:`weight_summary`), ``margins``
    (:func:`margins_achieved`, empty without margins), ``smd`` (:func:`smd` for ``covariates``
    against ``reference`` if given, else against ``margins``; empty without covariates) and
    ``warnings`` (:func:`dominant_weight_warnings`).
    """
    wb = check_weights(w_before, "w_before", frame.height)
    wa = check_weights(w_after, "w_after", frame.height)
    margins = list(margins) if margins is not None else []
    if isinstance(covariates, str):
        covariates = [covariates]
    smd_rows: list[dict] = []
    if covariates:
        smd_rows = smd(
            frame,
            covariates,
            wb,
            wa,
            reference,
            reference_weights,
            margins=margins if reference is None else None,
        )
    return WeightDiagnostics(
        kish_deff=kish_deff(wa),
        effective_n=effective_n(wa),
        weights=weight_summary(wa),
        margins=tuple(margins_achieved(frame, margins, wa)) if margins else (),
        smd=tuple(smd_rows),
        warnings=tuple(dominant_weight_warnings(wa, max_share)),
    )
