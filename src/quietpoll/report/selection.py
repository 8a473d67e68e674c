"""Selection bounds of the report's headline proportions: the measure of unadjusted bias for proportions
(MUBP; Andridge et al. 2019, `quietpoll.estimators.mubp`) of each headline 0/1 share, from the population
margins the study already has ([weighting] targets).

For a headline proportion (the overall row of a `proportion` indicator) the outcome is 1 where the answer
is the indicator's level; the auxiliary covariates are the [weighting] target variables as factors, with
the population share of every level as its population mean and the [weighting] population as N. The range
is MUBP(phi) over phi in [0, 1]: from selection at random given those margins (phi = 0) to selection on the
answer itself (phi = 1), in the unweighted sample share's units. A row gets no range (and the report says
so) when the study has no [weighting] targets, when a target variable's levels were merged for min_cell or
do not cover the data's, or when MUBP is not defined (the answer is never or always given). Only
aggregates are computed here; nothing is written."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from ..errors import QuietpollError

__all__ = ["add_selection_bounds", "population_shares"]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_OUTCOME = "mubp_outcome_"


def population_shares(targets: Mapping[str, Any], frame: pl.DataFrame, merged: set[str]) -> dict[str, dict[str, float]]:
    """Each usable categorical [weighting] target as {level: population share}: a variable that is a
    column of the frame, whose name the formula can use, whose levels were not merged, and whose targets
    name every level the data holds."""
    out: dict[str, dict[str, float]] = {}
    for var, levels in targets.items():
        if var in merged or var not in frame.columns or not _NAME.match(var) or not isinstance(levels, Mapping):
            continue
        try:
            counts = {str(k): float(v) for k, v in levels.items()}
        except (TypeError, ValueError):
            continue
        total = sum(counts.values())
        seen = {str(v) for v in frame.get_column(var).drop_nulls().unique().to_list()}
        if total <= 0 or not seen <= set(counts):
            continue
        out[var] = {k: v / total for k, v in counts.items()}
    return out


def _dummies(frame: pl.DataFrame, variables: list[str]) -> tuple[np.ndarray, list[str]]:
    """The model matrix of `~ factor(v1) + factor(v2) ...` as R makes it: an intercept, then per variable
    one 0/1 column for every level seen but the first in sorted order (treatment contrasts), named
    `factor(v)level`. Equal to the formula's matrix (tests/report/test_selection.py), without loading a
    formula parser on the report's path."""
    cols, names = [np.ones(frame.height)], ["(Intercept)"]
    for v in variables:
        levels, codes = np.unique(frame.get_column(v).cast(pl.Utf8).to_numpy().astype(str), return_inverse=True)
        onehot = codes[:, None] == np.arange(1, len(levels))
        cols.extend(onehot.T.astype(float))
        names.extend(f"factor({v}){level}" for level in levels[1:])
    return np.asfortranarray(np.column_stack(cols)), names  # column-major, as the formula path gives it


def add_selection_bounds(
    rows: list[dict], frame: pl.DataFrame, shares: Mapping[str, Mapping[str, float]], population: float | None
) -> None:
    """Adds "mubp": {"low", "high", "sample_mean", "variables"} (or None) to each headline share (no domain;
    a `proportion` indicator's level, or the `mean` of a 0/1 answer): MUBP's range over phi in [0, 1]."""
    from ..estimators.mubp import mubp_matrix

    variables = sorted(shares)
    means = {f"factor({v}){level}": s for v in variables for level, s in shares[v].items()}
    formula = f"{_OUTCOME} ~ " + " + ".join(f"factor({v})" for v in variables)
    for r in rows:
        level_share = r.get("kind") == "proportion" and r.get("level") is not None
        zero_one = r.get("kind") == "mean" and bool(r.get("share"))  # the mean of a 0/1 answer is a share
        if r.get("domain") or not (level_share or zero_one):
            continue
        r["mubp"] = None
        var = r.get("variable")
        if not variables or var not in frame.columns or r.get("suppressed"):
            continue
        answers = frame.get_column(var)
        keep = answers.is_not_null()
        for v in variables:
            keep = keep & frame.get_column(v).is_not_null()
        kept = answers.filter(keep)
        if level_share:
            y = (kept.cast(pl.Utf8) == str(r["level"])).cast(pl.Float64).to_numpy()
        else:
            y = kept.cast(pl.Float64).to_numpy()
            if not np.isin(y, (0.0, 1.0)).all():
                continue
        X, names = _dummies(frame.filter(keep), variables)
        try:
            res = mubp_matrix(
                X, names, y, means, population_size=population, phi=(0.0, 0.5, 1.0), response=var, formula=formula
            )
        except QuietpollError:
            continue  # MUBP is not defined for this share (never or always given, or covariates aliased)
        low, high = res.interval
        if np.isfinite(low) and np.isfinite(high):
            r["mubp"] = {"low": low, "high": high, "sample_mean": res.sample_mean, "variables": variables}
