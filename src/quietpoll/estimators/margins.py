"""Predictive margins and average marginal effects of a design-based GLM.

Predictive margins (R's svypredmeans, Korn and Graubard 1999): for each level g of a grouping
variable, the design-weighted mean over the fit's rows of the response-scale prediction with the
group set to g for every row. When the variable is not in the model, the model is refitted with it
added as the last term (R's update(adjustmodel, . ~ . + .groupfactor)), levels in the order they
first appear (R's unique); when it is already in the model, the model is used as it is. Variance as
svypredmeans: the design variance of the mean of the predictions with the coefficients held fixed
(Taylor influence values or replicate re-evaluation, through the design) plus the delta-method term
G' V G, G the mean derivative of the predictions with respect to the coefficients (R adds the two
parts and ignores their covariance; so does quietpoll).

Average marginal effects, with variance built the same way:
- of a numeric variable: the weighted mean over the fit's rows of d mu_i / d x_i, the derivative of
  the response-scale prediction; the derivative of the model matrix by central differences (exact
  for terms linear or quadratic in x, as x, I(x^2), poly(x, 2), x:z), the rest analytic;
- of a factor: for each level, the mean prediction at that level minus the mean prediction at the
  reference level (the first in R's order): differences of predictive margins with their joint
  covariance.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import polars as pl

from ..errors import ColumnError, EstimationError
from .contrasts import ContrastResult, Estimates, compare_domains
from .smooth import evaluate, ratio_stat


def _fit_rows(res) -> np.ndarray:
    return np.flatnonzero(res.frame.complete)


def _model_columns(res, frame: pl.DataFrame) -> list[str]:
    from .formula import _columns, _python_syntax

    return _columns(_python_syntax(res.formula), frame.columns)[1]


def _matrix(res, data: pl.DataFrame) -> np.ndarray:
    from .glm_infer import _new_matrix

    return _new_matrix(res, data)[:, ~res.aliased]


def _is_factor(res, var: str, s: pl.Series) -> bool:
    if not s.dtype.is_numeric():
        return True
    v = re.escape(var)
    return bool(re.search(rf"(factor|C|as\.factor)\(\s*`?{v}`?\s*[,)]", res.formula))


def _check(res, var: str):
    if res.design_obj is None:
        raise EstimationError("margins need the fit's design (fit the model with quietpoll.glm)")
    if var not in res.design_obj.data.columns:
        raise ColumnError(f"margins: column '{var}' is not in the data")


def _margins_at(res, var: str, levels, rows, frame) -> tuple[np.ndarray, np.ndarray]:
    """Mean predictions at each level (G,) and their covariance (G, G)."""
    design = res.design_obj
    w = np.asarray(design.weights, float)[rows]
    b = res.coef[~res.aliased]
    dtype = frame.schema[var]
    fits = np.empty((len(rows), len(levels)))
    dg = np.empty((len(b), len(levels)))
    for i, g in enumerate(levels):
        X = _matrix(res, frame.with_columns(pl.lit(g, dtype=dtype).alias(var)))
        eta = X @ b
        fits[:, i] = res.family.linkinv(eta)
        dg[:, i] = (w * res.family.mu_eta(eta)) @ X / w.sum()
    Y = np.column_stack([fits, np.ones(len(rows))])
    est, Vcond = evaluate(design, rows, Y, ratio_stat(len(levels)))
    return est, dg.T @ res.vcov @ dg + Vcond


def predictive_margins(res, var: str, *, levels=None) -> Estimates:
    """R's svypredmeans(model, ~var): mean predicted response at each level of `var` (names: the
    levels as text), with the joint covariance; df the residual df of the model used."""
    from .glm import glm

    _check(res, var)
    design = res.design_obj
    model = res
    if var not in _model_columns(res, design.data):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the adjustment model has already warned
            model = glm(design, f"{res.formula} + `{var}`", res.family, subset=res.subset, level=res.level)
    rows = _fit_rows(res)
    cols = [c for c in _model_columns(model, design.data)]
    frame = design.data.select(cols)[rows]
    if levels is None:
        s = frame.get_column(var)
        levels = s.drop_nulls().unique(maintain_order=True).to_list()
        if s.dtype.is_float():
            levels = [v for v in levels if not math.isnan(v)]
    if not levels:
        raise EstimationError(f"margins: '{var}' has no observed values in the rows of the fit")
    est, V = _margins_at(model, var, list(levels), rows, frame)
    return Estimates(tuple(_text(v) for v in levels), est, V, float(model.df_residual), res.level)


def _text(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def margins_rows(res, var: str) -> list[dict]:
    """Predictive margins as JSON rows {"variable", "level", "estimate", "se", "ci_low", "ci_high",
    "df"}."""
    m = predictive_margins(res, var)
    out = ContrastResult(m.names, m.coef(), m.vcov(), m.df, m.level).rows()
    return [
        {
            "variable": var,
            "level": r["contrast"],
            "estimate": r["estimate"],
            "se": r["se"],
            "ci_low": r["ci_low"],
            "ci_high": r["ci_high"],
            "level_ci": m.level,
            "df": r["df"],
        }
        for r in out
    ]


def _mu_eta2(family, eta: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """d^2 mu / d eta^2."""
    if family.link == "identity":
        return np.zeros_like(eta)
    if family.link == "logit":
        return family.mu_eta(eta) * (1 - 2 * mu)
    if family.link == "log":
        return mu
    if family.link == "inverse":
        return 2 / eta**3
    h = 1e-6 * (1 + np.abs(eta))  # pragma: no cover - every family here has one of the links above
    return (family.mu_eta(eta + h) - family.mu_eta(eta - h)) / (2 * h)


def ame(res, var: str) -> list[dict]:
    """Average marginal effects of `var` as JSON rows {"variable", "level", "reference", "estimate",
    "se", "statistic", "p", "ci_low", "ci_high", "df"}: one row (level null) for a numeric variable,
    one per non-reference level for a factor."""
    _check(res, var)
    design = res.design_obj
    if var not in _model_columns(res, design.data):
        raise EstimationError(f"ame: '{var}' is not a variable of the model '{res.formula}'")
    rows = _fit_rows(res)
    frame = design.data.select(_model_columns(res, design.data))[rows]
    s = frame.get_column(var)
    if _is_factor(res, var, s):
        levels = sorted(s.drop_nulls().unique().to_list())
        m = predictive_margins(res, var, levels=levels)
        out = compare_domains(m)
        return [
            {
                "variable": var,
                "level": r["domain"],
                "reference": r["reference"],
                "estimate": r["estimate"],
                "se": r["se"],
                "statistic": r["t"],
                "p": r["p"],
                "ci_low": r["ci_low"],
                "ci_high": r["ci_high"],
                "level_ci": r["level_ci"],
                "df": r["df"],
            }
            for r in out
        ]
    x = s.cast(pl.Float64).to_numpy()
    h = 1e-5 * max(float(np.std(x)), float(np.abs(x).max()) * 1e-3, 1e-8)
    up = _matrix(res, frame.with_columns((pl.col(var).cast(pl.Float64) + h).alias(var)))
    dn = _matrix(res, frame.with_columns((pl.col(var).cast(pl.Float64) - h).alias(var)))
    D = (up - dn) / (2 * h)
    X = _matrix(res, frame)
    b = res.coef[~res.aliased]
    eta = X @ b
    mu = res.family.linkinv(eta)
    d1 = res.family.mu_eta(eta)
    slope = D @ b
    me = d1 * slope
    w = np.asarray(design.weights, float)[rows]
    g = ((w * _mu_eta2(res.family, eta, mu) * slope) @ X + (w * d1) @ D) / w.sum()
    est, Vcond = evaluate(design, rows, np.column_stack([me, np.ones(len(rows))]), ratio_stat(1))
    V = g @ res.vcov @ g + Vcond[0, 0]
    r = ContrastResult((var,), est, np.array([[V]]), float(res.df_residual), res.level).rows()[0]
    return [
        {
            "variable": var,
            "level": None,
            "reference": None,
            "estimate": r["estimate"],
            "se": r["se"],
            "statistic": r["statistic"],
            "p": r["p"],
            "ci_low": r["ci_low"],
            "ci_high": r["ci_high"],
            "level_ci": res.level,
            "df": r["df"],
        }
    ]
