"""Weighting targets: study.toml's ``[weighting.targets]`` (or a targets CSV) checked against the data.

A target is either a table ``{level: count}`` (a categorical margin) or a number (the population
total of a numeric column)::

    [weighting.targets]
    stype = { E = 4421, H = 755, M = 1018 }
    api99 = 3914069

Levels are matched to the column's values as text: integer 1 and float 1.0 are both ``"1"``,
2.5 is ``"2.5"``, booleans are ``"true"``/``"false"``. A categorical margin whose values sum to 1
(within 1e-9) holds shares, multiplied by ``population`` (which is then required).

A margin's ``levels`` are the data's levels in sorted order (numbers numerically, text by code
point), which is the order R gives the factor's levels in C collation.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..codes import combine_codes, joint_sums, small_codes
from ..errors import WeightingError

__all__ = ["Margin", "parse_targets", "read_targets_csv", "margin_codes", "level_text"]

SHARE_TOL = 1e-9
TOTAL_RTOL = 1e-6


@dataclass(frozen=True, eq=False)
class Margin:
    """One weighting margin: a categorical variable's level counts, or a numeric column's total."""

    variable: str
    kind: str  # "categorical" | "numeric"
    levels: tuple[str, ...]  # categorical: level names as text, data's sorted order; numeric: ()
    totals: np.ndarray  # categorical: population count per level; numeric: shape (1,)
    codes: np.ndarray | None = None  # categorical: each row's index into levels (-1: no target), if known

    @property
    def total(self) -> float:
        return float(np.sum(self.totals))


def _num_text(x: float) -> str:
    if math.isfinite(x) and float(x).is_integer():
        return str(int(x))
    return repr(float(x))


def _distinct_text(values: np.ndarray | pl.Series) -> tuple[np.ndarray, list[str]]:
    """Each row's index into the distinct values, and those values as the text targets are matched
    against; the text is made for the distinct values only."""
    from ..codes import factorize

    s = values if isinstance(values, pl.Series) else pl.Series(values)
    dt = s.dtype
    if dt == pl.Boolean:
        codes = s.cast(pl.Int64).to_numpy()
        return codes, ["false", "true"]
    if dt.is_numeric():
        arr = s.to_numpy()
        codes, _, labels = factorize(arr)
        return codes, [_num_text(float(t[0])) for t in labels]
    codes, _, labels = factorize(s.cast(pl.String))
    return codes, [str(t[0]) for t in labels]


def text_series(col: pl.Series) -> pl.Series:
    """A column as the text margin levels are matched against (the rule of :func:`level_text`), as a
    polars Series; missing values (null, NaN) stay null. Only distinct numbers are formatted."""
    if col.dtype == pl.Boolean or not col.dtype.is_numeric():
        return col.cast(pl.String)
    x = col.cast(pl.Float64).fill_nan(None)
    uniq = x.drop_nulls().unique()
    txt = pl.Series([_num_text(u) for u in uniq.to_list()], dtype=pl.String)
    return x.replace_strict(uniq, txt, return_dtype=pl.String)


def level_text(values: np.ndarray | pl.Series) -> np.ndarray:
    """Values as the text targets are matched against (vectorised over the distinct values only)."""
    codes, text = _distinct_text(values)
    return np.asarray(text, dtype=object)[codes] if len(codes) else np.zeros(0, dtype=object)


def _column(frame: pl.DataFrame, name: str) -> pl.Series:
    if name not in frame.columns:
        raise WeightingError(
            f"weighting variable '{name}' is not a column of the data; check the name in [weighting.targets]"
        )
    col = frame.get_column(name)
    nmiss = col.null_count() + (int(col.is_nan().sum()) if col.dtype.is_float() else 0)
    if nmiss:
        raise WeightingError(
            f"weighting variable '{name}' has {nmiss} missing value(s); impute or drop those rows before weighting"
        )
    return col


def _as_number(var: str, level: str | None, value: Any) -> float:
    where = f"'{var}'" + (f" level '{level}'" if level is not None else "")
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        try:
            value = float(str(value).strip())
        except ValueError:
            raise WeightingError(f"target for {where} is {value!r}, not a number; give a population count")
    x = float(value)
    if not math.isfinite(x):
        raise WeightingError(f"target for {where} is {value!r}; give a finite population count")
    return x


def parse_targets(
    targets: Mapping[str, Any],
    frame: pl.DataFrame,
    *,
    population: float | None = None,
    weights: np.ndarray | None = None,
    allow_empty: bool = False,
) -> list[Margin]:
    """Check targets against the data and return one Margin per target, in the order given.

    ``weights`` (optional): rows with zero weight may carry levels absent from the targets.
    ``allow_empty``: a target level no interview has is kept as an empty level (after the data's levels)
    instead of an error, for ``min_cell`` to merge (a small sample rarely has every province).
    """
    if not targets:
        raise WeightingError("no weighting targets given; add a [weighting.targets] table")
    if population is not None:
        population = _as_number("population", None, population)
        if population <= 0:
            raise WeightingError(f"weighting population is {population}; it must be positive")
    w = None if weights is None else np.asarray(weights, dtype=float)
    fast = _target_order_codes(targets, frame)
    margins: list[Margin] = []
    for var, spec in targets.items():
        col = _column(frame, var)
        if isinstance(spec, Mapping):
            margins.append(_categorical(var, spec, col, population, w, fast.get(var), allow_empty))
        else:
            if not col.dtype.is_numeric():
                raise WeightingError(
                    f"weighting variable '{var}' has a single total ({spec!r}) but is not "
                    "numeric; give a table of level counts for a categorical variable"
                )
            total = _as_number(var, None, spec)
            margins.append(Margin(var, "numeric", (), np.array([total])))
    cats = [m for m in margins if m.kind == "categorical"]
    if not cats:
        return margins
    ref_total = population if population is not None else cats[0].total
    for m in cats:
        if abs(m.total - ref_total) > TOTAL_RTOL * max(abs(ref_total), 1.0):
            against = (
                ("population " + _num_text(ref_total))
                if population is not None
                else f"'{cats[0].variable}' totals {_num_text(cats[0].total)}"
            )
            raise WeightingError(
                f"targets for '{m.variable}' total {_num_text(m.total)} but {against}; "
                "categorical margins must describe the same population"
            )
    return margins


def _target_order_codes(targets: Mapping[str, Any], frame: pl.DataFrame) -> dict[str, np.ndarray]:
    """The common case in one parallel polars pass: each text column whose values are all target
    levels and that has every target level, as codes into its sorted target levels (polars Enum
    physical codes, one byte a row for up to 255 levels; an Enum column's own codes through a lookup
    table). Other columns are left out: their margins take the general path, which also names what
    is wrong."""
    exprs, levels, codes = [], {}, {}
    for var, spec in targets.items():
        if not isinstance(spec, Mapping) or not spec or var not in frame.columns:
            continue
        col = frame.get_column(var)
        if col.null_count() or not isinstance(col.dtype, (pl.String, pl.Categorical, pl.Enum)):
            continue
        levels[var] = sorted({str(k) for k in spec})
        if isinstance(col.dtype, pl.Enum):
            # already coded (e.g. typed from the form): the categories mapped to the target order
            pos = {lev: i for i, lev in enumerate(levels[var])}
            lut = small_codes(np.array([pos.get(c, -1) for c in col.dtype.categories.to_list()]), len(pos))
            c = np.take(lut, col.to_physical().to_numpy())
            if len(c) and int(c.min()) >= 0:
                codes[var] = c
            continue
        e = pl.col(var) if col.dtype == pl.String else pl.col(var).cast(pl.String)
        exprs.append(e.cast(pl.Enum(levels[var]), strict=False).to_physical().alias(var))
    if not frame.height:
        return {}
    if exprs:
        try:
            out = frame.select(exprs)
        except pl.exceptions.PolarsError:  # a level text polars will not take as a category
            out = pl.DataFrame()
        codes.update({c.name: c.to_numpy() for c in out.iter_columns() if not c.null_count()})  # null: no target
    codes = {v: codes[v] for v in levels if v in codes}  # in the order of the targets
    if not codes:
        return {}
    # which levels occur: one count of the joint cells of all these columns, then per column
    ks = [len(levels[v]) for v in codes]
    joint, digits = combine_codes(list(codes.values()), ks)
    per_cell = joint_sums(joint, len(digits[0]))
    return {
        v: c for (v, c), d, k in zip(codes.items(), digits, ks) if np.bincount(d, weights=per_cell, minlength=k).all()
    }


def _categorical(
    var: str,
    spec: Mapping[str, Any],
    col: pl.Series,
    population: float | None,
    w: np.ndarray | None,
    fast: np.ndarray | None = None,
    allow_empty: bool = False,
) -> Margin:
    given = {str(k): _as_number(var, str(k), v) for k, v in spec.items()}
    if not given:
        raise WeightingError(f"targets for '{var}' are empty; give a count for each level")
    if fast is not None and all(x > 0 for x in given.values()):
        # every row's value is a target level and every target level occurs: the data's levels are
        # the targets', sorted as text (as polars sorts the data's values)
        levels = tuple(sorted(given))
        return Margin(
            var,
            "categorical",
            levels,
            _shares_to_counts(var, levels, given, population),
            codes=small_codes(fast, len(levels)),
        )
    codes, text = _distinct_text(col)  # one pass over the column: levels in sorted order, row codes
    data_levels = list(text)
    if w is not None:
        seen = np.bincount(codes[w != 0], minlength=len(text)) > 0 if len(codes) else np.zeros(0, bool)
        weighted = {t for t, k in zip(text, seen) if k}
    else:
        weighted = set(data_levels)
    for lev, x in given.items():
        if x <= 0:
            raise WeightingError(
                f"target for '{var}' level '{lev}' is {_num_text(x)}; targets must be positive "
                "(drop the level from the data or merge it with another)"
            )
        if lev not in data_levels and not allow_empty:
            raise WeightingError(
                f"target level '{lev}' of '{var}' does not occur in the data (data levels: "
                f"{', '.join(data_levels)}); fix the level name or drop it"
            )
    missing = [lev for lev in data_levels if lev not in given and lev in weighted]
    if missing:
        raise WeightingError(
            f"'{var}' level '{missing[0]}' occurs in the data but has no target (targets: "
            f"{', '.join(given)}); add a target for it or recode it"
        )
    levels = tuple(lev for lev in data_levels if lev in given)
    levels += tuple(lev for lev in given if lev not in data_levels)  # empty levels (allow_empty only)
    totals = _shares_to_counts(var, levels, given, population)
    pos = {lev: i for i, lev in enumerate(levels)}
    lookup = small_codes(np.array([pos.get(t, -1) for t in text], dtype=np.int64), len(levels))
    return Margin(var, "categorical", levels, totals, codes=lookup[codes] if len(codes) else lookup[:0])


def _shares_to_counts(var: str, levels: tuple[str, ...], given: dict[str, float], population: float | None):
    totals = np.array([given[lev] for lev in levels], dtype=float)
    s = float(totals.sum())
    if abs(s - 1.0) <= SHARE_TOL:
        if population is None:
            raise WeightingError(
                f"targets for '{var}' are shares (they sum to 1); give the population size "
                "([weighting] population = N) to turn them into counts"
            )
        totals = totals * population
    return totals


def margin_codes(frame: pl.DataFrame, margin: Margin) -> np.ndarray:
    """Each row's index into margin.levels (-1 for a level without a target: rows of zero weight)."""
    if margin.kind != "categorical":
        raise WeightingError(f"'{margin.variable}' is a numeric total, not a categorical margin")
    if margin.codes is not None and len(margin.codes) == frame.height:
        return margin.codes
    codes, text = _distinct_text(_column(frame, margin.variable))
    pos = {lev: i for i, lev in enumerate(margin.levels)}
    lookup = small_codes(np.array([pos.get(u, -1) for u in text], dtype=np.int64), len(margin.levels))
    return lookup[codes] if len(codes) else lookup[:0]


def read_targets_csv(path: str | Path) -> dict[str, Any]:
    """A targets CSV (columns variable, level, target; level empty for a numeric total) as the
    mapping study.toml's [weighting.targets] gives."""
    p = Path(path)
    try:
        with p.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
            header = [h.strip().lower() for h in (rows[0].keys() if rows else [])]
    except OSError as e:
        raise WeightingError(f"cannot read targets file {p}: {e.strerror or e}")
    if not rows:
        raise WeightingError(f"targets file {p} has no rows; it needs columns variable, level, target")
    need = {"variable", "level", "target"}
    if not need <= set(header):
        raise WeightingError(f"targets file {p} has columns {', '.join(header)}; it needs variable, level, target")
    out: dict[str, Any] = {}
    for i, raw in enumerate(rows, start=2):
        r = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
        var, lev, tgt = r["variable"], r["level"], r["target"]
        if not var:
            raise WeightingError(f"targets file {p} line {i}: the variable is empty")
        value = _as_number(var, lev or None, tgt)
        if lev == "":
            if var in out:
                raise WeightingError(f"targets file {p} line {i}: '{var}' is given more than once")
            out[var] = value
        else:
            cur = out.setdefault(var, {})
            if not isinstance(cur, dict):
                raise WeightingError(f"targets file {p} line {i}: '{var}' has both a total and level targets")
            if lev in cur:
                raise WeightingError(f"targets file {p} line {i}: '{var}' level '{lev}' is given twice")
            cur[lev] = value
    return out
