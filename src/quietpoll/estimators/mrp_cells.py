"""MRP's population cells: a poststratification table (file or frame) or the joint table of the study's
weighting margins, and how each model variable enters the model (the documented rule of mrp.py).

A **poststratification table** has one column per model variable and a count column ``N`` (the
``--poststrat FILE`` contract): one row per population cell, ``N`` its number of people (>= 0, no
missing values). Cell values are matched to the data's values as text, with the weighting targets'
rule (:func:`quietpoll.weighting.targets.text_series`: integer 1 and 1.0 are both "1").

**Without a table**, the cells are the study's ``[weighting.targets]`` margins (categorical margins
only) crossed into a full table under independence: the table a raking of a uniform table to the
margins converges to (iterative proportional fitting of a table with no interaction started flat
stops after one pass at ``N * prod_v share_v(level)``), which is what is computed here. The joint
distribution of the margins is unknown; independence is an assumption and the estimates inherit it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..errors import ColumnError, EstimationError, InputError

COUNT = "N"


@dataclass(frozen=True)
class Term:
    """One model variable: how it enters ("random": random intercepts over `levels`; "binary": one
    fixed effect for the second level; "numeric": one fixed effect of the value; "dummies": fixed
    effects for every level but the first, when forced fixed)."""

    name: str
    kind: str
    levels: tuple[str, ...] = ()


def read_poststrat(poststrat: str | Path | pl.DataFrame) -> pl.DataFrame:
    """The poststratification table as a frame, with its count column checked (param "poststrat")."""
    if isinstance(poststrat, pl.DataFrame):
        cells = poststrat
    else:
        path = Path(poststrat)
        if not path.is_file():
            raise InputError("{poststrat}: no such file: " + str(path), param="poststrat")
        try:
            cells = pl.read_csv(path, infer_schema_length=None)
        except (pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
            raise InputError(
                "{poststrat}: cannot read " + f"{path.name} as CSV ({type(exc).__name__})", param="poststrat"
            ) from None
    if COUNT not in cells.columns:
        raise ColumnError(
            "{poststrat}: the population cells have no count column 'N' (one row per cell, "
            "one column per model variable and N, the number of people in the cell)",
            param="poststrat",
        )
    n = cells.get_column(COUNT)
    if not n.dtype.is_numeric():
        raise ColumnError("{poststrat}: the count column 'N' must be numeric, found " + str(n.dtype), param="poststrat")
    nv = n.cast(pl.Float64)
    if nv.null_count() or bool(nv.is_nan().any()):
        raise ColumnError("{poststrat}: the count column 'N' has missing values", param="poststrat")
    if bool((nv < 0).any()):
        raise ColumnError(
            f"{{poststrat}}: the count column 'N' has a negative count ({nv.filter(nv < 0)[0]:g})", param="poststrat"
        )
    if float(nv.sum()) <= 0:
        raise ColumnError("{poststrat}: the population cells count nobody (N sums to 0)", param="poststrat")
    if cells.width < 2:
        raise ColumnError("{poststrat}: the population cells have no model variable, only 'N'", param="poststrat")
    return cells.with_columns(nv.alias(COUNT))


def cells_from_targets(
    targets: Mapping[str, Any], frame: pl.DataFrame, population: float | None = None
) -> pl.DataFrame:
    """The joint table of the categorical weighting margins under independence (module text)."""
    from ..weighting.targets import parse_targets

    margins = parse_targets(targets, frame, population=population)
    numeric = [m.variable for m in margins if m.kind != "categorical"]
    if numeric:
        raise EstimationError(
            "{poststrat}: the weighting target of " + f"'{numeric[0]}' is a numeric total, "
            "which gives no population cells; give a poststratification table",
            param="poststrat",
        )
    total = margins[0].total
    grids = np.meshgrid(*[np.arange(len(m.levels)) for m in margins], indexing="ij")
    share = np.ones(grids[0].shape)
    cols: dict[str, Any] = {}
    for m, g in zip(margins, grids):
        share = share * (np.asarray(m.totals, float) / m.total)[g]
        cols[m.variable] = np.asarray(m.levels, dtype=object)[g.ravel()].tolist()
    cols[COUNT] = (total * share).ravel()
    return pl.DataFrame(cols, schema={**{m.variable: pl.String for m in margins}, COUNT: pl.Float64})


def decide_terms(
    cells: pl.DataFrame, variables: Sequence[str], random: Sequence[str] | None, fixed: Sequence[str] | None
) -> list[Term]:
    """How each model variable enters (the rule of mrp.py): a text, Boolean or categorical variable with
    3 or more levels in the cells -> random intercepts; with 2 levels -> one fixed effect; a numeric
    variable with more than 2 distinct values -> a fixed effect of the value, with 2 -> a binary fixed
    effect. A variable with one level in the cells enters nowhere (it is constant in the population).
    `random` forces random intercepts, `fixed` forces fixed effects (one per level but the first)."""
    from ..weighting.targets import text_series

    random_set, fixed_set = set(random or ()), set(fixed or ())
    both = random_set & fixed_set
    if both:
        raise EstimationError(
            "{random}: " + f"'{sorted(both)[0]}' is also in " + "{fixed}", param="random", also=("fixed",)
        )
    for name, param in [(v, "random") for v in sorted(random_set)] + [(v, "fixed") for v in sorted(fixed_set)]:
        if name not in variables:
            raise ColumnError(
                "{poststrat}: " + f"grouping variable '{name}' (" + "{" + param + "}) is not a "
                "column of the population cells; add it to the cells or drop it",
                param="poststrat",
                also=(param,),
            )
    terms = []
    for v in variables:
        col = cells.get_column(v)
        if col.null_count():
            raise ColumnError(
                "{poststrat}: " + f"column '{v}' of the population cells has missing values", param="poststrat"
            )
        if col.dtype.is_numeric() and v not in random_set and v not in fixed_set:
            distinct = col.unique().sort()
            if len(distinct) > 2:
                terms.append(Term(v, "numeric"))
                continue
        levels = tuple(sorted(text_series(col).unique().to_list()))
        if v in random_set:
            terms.append(Term(v, "random", levels))
        elif len(levels) < 2:
            continue
        elif v in fixed_set:
            terms.append(Term(v, "binary" if len(levels) == 2 else "dummies", levels))
        else:
            terms.append(Term(v, "random" if len(levels) >= 3 else "binary", levels))
    return terms


def encode(frame: pl.DataFrame, terms: Sequence[Term], where: str):
    """(X, G, missing): the fixed-effect columns (unstandardized), the random-intercept level codes and
    the rows with a missing model value. `where` is "data" or "cells": on the data a level the cells
    do not have is an error (param "poststrat")."""
    from ..weighting.targets import text_series

    n = frame.height
    xs, gs = [], []
    missing = np.zeros(n, bool)
    for t in terms:
        col = frame.get_column(t.name)
        if t.kind == "numeric":
            if not col.dtype.is_numeric():
                raise ColumnError(
                    f"model variable '{t.name}' is numeric in the population cells but not in the "
                    f"{where} ({col.dtype})",
                    param="poststrat",
                )
            x = col.cast(pl.Float64).fill_null(np.nan).to_numpy().copy()
            miss = np.isnan(x)
            x[miss] = 0.0
            missing |= miss
            xs.append(x[:, None])
            continue
        txt = text_series(col)
        miss = txt.is_null().to_numpy()
        missing |= miss
        pos = {lev: i for i, lev in enumerate(t.levels)}
        seen = txt.drop_nulls().unique().to_list()
        unknown = sorted(v for v in seen if v not in pos)
        if unknown:
            raise ColumnError(
                "{poststrat}: " + f"level '{unknown[0]}' of '{t.name}' is in the {where} but not in the "
                f"population cells (cells have {', '.join(t.levels)}); add the cell or recode",
                param="poststrat",
            )
        codes = txt.replace_strict(pos, default=0, return_dtype=pl.Int64).fill_null(0).to_numpy()
        if t.kind == "random":
            gs.append(codes)
        elif t.kind == "binary":
            xs.append((codes == 1).astype(float)[:, None])
        else:
            xs.append((codes[:, None] == np.arange(1, len(t.levels))[None, :]).astype(float))
    X = np.hstack(xs) if xs else np.zeros((n, 0))
    G = np.column_stack(gs).astype(np.int32) if gs else np.zeros((n, 0), np.int32)
    return X, G, missing


def column_names(terms: Sequence[Term]) -> list[str]:
    """Names of the fixed-effect columns of :func:`encode`, in order."""
    out = []
    for t in terms:
        if t.kind == "numeric":
            out.append(t.name)
        elif t.kind == "binary":
            out.append(f"{t.name}={t.levels[1]}")
        elif t.kind == "dummies":
            out += [f"{t.name}={lev}" for lev in t.levels[1:]]
    return out
