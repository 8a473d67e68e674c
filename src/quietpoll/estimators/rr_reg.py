"""Regression analysis of randomized response (Blair, Imai & Zhou 2015, JASA, "Design and analysis
of the randomized response technique"; R package `rr`, `rrreg`), with design-based SEs.

The true answer Z | x ~ Bernoulli(h(x' beta)), h logistic. The answer recorded is "yes" with a
probability that is a known affine transform of h:
    lambda(x) = c + a h(x' beta)
    forced     a = p_truth,     c = p_yes                 (rrreg's p and p1; p0 = 1 - p - p1)
    warner     a = 2p - 1,      c = 1 - p                 (p: chance of the sensitive statement)
    unrelated  a = p,           c = (1 - p) p_unrelated   (p_unrelated: known "yes" share of the other question)
A row's log-likelihood is y log lambda + (1 - y) log(1 - lambda); its score is
u m x with u = (y - lambda) / (lambda (1 - lambda)) and m = a h (1 - h); its Hessian is
(du/dlambda m^2 + u a h (1 - h)(1 - 2h)) xx'. The design-weighted likelihood is maximized and its
covariance is the model's (inverse information, rrreg's on a simple random sample) or the design's
(sandwich through the design's variance engine, or replicate refits), as in mlreg.py.

Probabilities that do not identify the model are refused with the parameter named: warner with
p = 0.5 (the answer is independent of the truth), forced with p_truth = 0 (nobody answers
truthfully), a design probability outside its range.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy.special import expit, log_expit, logit

from ..errors import ColumnError, EstimationError
from .mlreg import (
    RegressionFit,
    RowModel,
    check_level_variance,
    design_df,
    design_variance,
    maximize,
    model_vcov,
    warn_boundary,
)

RR_DESIGNS = ("forced", "warner", "unrelated")
_NEEDS = {"forced": ("p_truth", "p_yes"), "warner": ("p",), "unrelated": ("p", "p_unrelated")}


def _prob(name: str, x, low_open: bool, high_open: bool, why: str = "") -> float:
    if x is None:
        raise EstimationError("{" + name + "} is required for this randomized-response design", param=name)
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise EstimationError("{" + name + "} must be a probability, got " + repr(x), param=name) from None
    ok = (v > 0 if low_open else v >= 0) and (v < 1 if high_open else v <= 1)
    if not ok or v != v:
        lo, hi = ("(0" if low_open else "[0"), ("1)" if high_open else "1]")
        raise EstimationError("{" + name + "} must be in " + f"{lo}, {hi}{why}, got {v:g}", param=name)
    return v


def rr_affine(rr_design: str, *, p_truth=None, p_yes=None, p=None, p_unrelated=None) -> tuple[float, float]:
    """(a, c) with P(yes | x) = c + a h(x); EstimationError naming the parameter when the design's
    probabilities are missing, surplus, out of range, or do not identify the model."""
    if rr_design not in _NEEDS:
        raise EstimationError(
            "{rr_design} must be one of " + ", ".join(RR_DESIGNS) + f", got {rr_design!r}", param="rr_design"
        )
    given = {"p_truth": p_truth, "p_yes": p_yes, "p": p, "p_unrelated": p_unrelated}
    for k, v in given.items():
        if v is not None and k not in _NEEDS[rr_design]:
            raise EstimationError(
                "{"
                + k
                + "} does not apply to the "
                + rr_design
                + " design (it takes "
                + ", ".join(_NEEDS[rr_design])
                + ")",
                param=k,
            )
    if rr_design == "forced":
        pt = _prob(
            "p_truth",
            p_truth,
            True,
            True,
            " (at 0 nobody answers truthfully and the model is not identified; at 1 the question is asked directly)",
        )
        py = _prob("p_yes", p_yes, False, True)
        if pt + py > 1 + 1e-12:
            raise EstimationError(
                "{p_yes}: p_truth + p_yes must be at most 1, got " + f"{pt + py:g}", param="p_yes", also=("p_truth",)
            )
        return pt, py
    if rr_design == "warner":
        pw = _prob("p", p, True, True)
        if abs(2 * pw - 1) < 1e-9:
            raise EstimationError(
                "{p} = 0.5 does not identify the warner model: the answer is then independent of the truth", param="p"
            )
        return 2 * pw - 1, 1 - pw
    pu = _prob("p", p, True, True, " (at 0 nobody gets the sensitive question and the model is not identified)")
    q = _prob("p_unrelated", p_unrelated, False, False)
    return pu, (1 - pu) * q


def rr_model(X: np.ndarray, y: np.ndarray, a: float, c: float) -> RowModel:
    """Per-row log-likelihood, scores and weighted Hessian of the randomized-response logistic model."""
    y = y.astype(float)

    def lam(theta):
        eta = X @ theta
        h = expit(eta)
        return eta, h, c + a * h

    def loglik_rows(theta):
        eta, h, lm = lam(theta)
        with np.errstate(divide="ignore", invalid="ignore"):
            if c == 0 and a > 0:  # forced with p_yes = 0 or unrelated with q = 0: log lambda exact
                ll1 = np.log(a) + log_expit(eta)
            else:
                ll1 = np.log(lm)
            return y * ll1 + (1 - y) * np.log1p(-lm)

    def score_rows(theta):
        eta, h, lm = lam(theta)
        u = (y - lm) / (lm * (1 - lm))
        return X * (u * a * h * (1 - h))[:, None]

    def hessian(theta, w):
        eta, h, lm = lam(theta)
        v = lm * (1 - lm)
        u = (y - lm) / v
        du = (-v - (y - lm) * (1 - 2 * lm)) / v**2
        m = a * h * (1 - h)
        coef = du * m * m + u * m * (1 - 2 * h)
        return (X * (w * coef)[:, None]).T @ X

    return RowModel(X.shape[1], loglik_rows, score_rows, hessian)


def rr_regression(
    design,
    formula: str,
    *,
    rr_design: str,
    p_truth=None,
    p_yes=None,
    p=None,
    p_unrelated=None,
    variance: str = "design",
    level: float = 0.95,
) -> RegressionFit:
    """Fit the logistic randomized-response regression `answer ~ x1 + x2` (see the module text).
    `answer` is 0/1, Boolean, or two text values one of which is "1"/"yes"/"y"/"true". The result's
    `prevalence(design, by)` predicts the sensitive attribute's prevalence by group."""
    from .list_reg import _frame, _split_formula
    from .sensitive import YES_VALUES, _binary

    a, c = rr_affine(rr_design, p_truth=p_truth, p_yes=p_yes, p=p, p_unrelated=p_unrelated)
    check_level_variance(level, variance)
    answer, _ = _split_formula(formula)
    if answer not in design.data.columns:
        raise ColumnError("{formula}: the answer column '" + answer + "' is not in the data", param="formula")
    yall, missing = _binary(design.data, answer, "randomized-response answer", YES_VALUES)
    # the model frame reads the answer as 0/1 (a text answer would otherwise be refused)
    data = design.data.with_columns(pl.Series(answer, np.where(missing, np.nan, yall)))
    mf = _frame(data, formula, missing)
    rows = np.flatnonzero(mf.complete)
    y = yall[rows]
    w = np.asarray(design.weights, float)[rows]
    if not w.sum() > 0:
        raise EstimationError("{formula}: no rows with positive weight to fit", param="formula")
    X = mf.X
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise EstimationError(
            f"{{formula}}: the covariates of '{formula}' are collinear (drop a term)", param="formula"
        )

    def make():
        return rr_model(X, y, a, c)

    model = make()
    start = np.zeros(X.shape[1])
    if "(Intercept)" in mf.names:
        lam = float(w @ y / w.sum())
        start[mf.names.index("(Intercept)")] = logit(min(max((lam - c) / a, 0.05), 0.95))
    theta, ok, its = maximize(model, w, start)
    if not ok:
        raise EstimationError(
            f"the randomized-response regression of '{formula}' did not converge (the data "
            "may say nothing about a covariate: try fewer terms)",
            param="formula",
        )
    boundary = warn_boundary(X @ theta, w, "randomized-response regression")
    Vm = model_vcov(model, theta, w)
    infl = reps = None
    if variance == "model":
        V = Vm
    else:  # the design's own engine: influence values (sandwich) or refits under each replicate
        V, infl, reps = design_variance(design, rows, model, make, theta, w, "randomized-response regression")
    k = X.shape[1]
    return RegressionFit(
        "rr",
        formula,
        mf.names,
        ("sensitive",) * k,
        theta,
        V,
        Vm,
        variance,
        design_df(design, rows, k, reps is not None),
        len(rows),
        float(level),
        float(w @ model.loglik_rows(theta)),
        ok,
        design.describe(),
        {"rr_design": rr_design, "a": a, "c": c, "iterations": its, "boundary": boundary},
        rows,
        X,
        np.arange(k),
        "logit",
        infl,
        reps,
    )
