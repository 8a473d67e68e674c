"""Regression analysis of a list experiment (item count technique): Imai (2011, JASA, "Multivariate
regression analysis for the item count technique") and Blair & Imai (2012, Political Analysis,
"Statistical analysis of list experiments"; R package `list`, `ictreg`), with design-based SEs.

`formula` is `count ~ x1 + x2` (R's formula language, formula.py); the same covariates X enter the
control-item model and the sensitive-item model. J is the number of control items.

method "lm" (the linear model of Imai 2011, ictreg(method = "lm")): the regression
    count ~ (x1 + x2) * treat
by design-based least squares (R's svyglm, glm.py): the sensitive-item coefficients are the terms
with the treatment (`treat` is the sensitive model's intercept, `x1:treat` its x1 slope), the control
coefficients the others; the sensitive item's prevalence in a row is x' delta (a linear probability).

method "ml" (the maximum-likelihood model, ictreg(method = "ml"), standard design): the control
count Y(0) | x ~ Binomial(J, g(x' psi)) and the sensitive answer Z | x ~ Bernoulli(h(x' delta)),
g and h logistic, independent given x; Y = Y(0) + T Z. A row's log-likelihood is
    control:  log b(y; g)                              b(k; g) = C(J, k) g^k (1 - g)^(J - k)
    treated:  log[ h b(y - 1; g) + (1 - h) b(y; g) ]   b(-1) = b(J + 1) = 0
With zeta = P(Z = 1 | T = 1, Y = y, x) = h b(y - 1) / f (logit zeta = x'delta + log(y / (J - y + 1))
- x'psi), the scores are (zeta - h) T x for delta and (y - T zeta - J g) x for psi, and with
v = zeta (1 - zeta) the Hessian blocks are T (v - h(1 - h)) xx', -T v xx' and (T v - J g(1 - g)) xx'.
It is maximized with the design weights (mlreg.py). Model SEs are the inverse observed information
(what ictreg reports on a simple random sample); design SEs are the sandwich through the design's
variance engine (Taylor designs) or refits under every replicate weight (replicate designs).

Rows with a missing count, treatment or covariate are outside the fit; the design keeps them (and
every PSU), so variances are those of a domain.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
from scipy.special import expit, gammaln, log_expit, logit

from ..errors import ColumnError, EstimationError
from .formula import ModelFrame, _split_top, model_frame
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

METHODS = ("lm", "ml")


def list_regression(
    design,
    formula: str,
    treatment: str,
    *,
    method: str = "ml",
    control_items: int | None = None,
    variance: str = "design",
    level: float = 0.95,
) -> RegressionFit:
    """Fit a list-experiment regression (see the module text). `treatment` is the column marking the
    long list (0/1, Boolean, or two text values one of which is "1"/"treatment"/"treated"/"true").
    `variance` "design" (default) gives design-based SEs, "model" the ML (or OLS) SEs of ictreg.
    The result's `prevalence(design, by)` predicts the sensitive item's prevalence by group."""
    from .sensitive import list_counts

    if method not in METHODS:
        raise EstimationError("{method} must be 'lm' or 'ml', got " + repr(method), param="method")
    check_level_variance(level, variance)
    if not treatment or treatment not in design.data.columns:
        raise ColumnError(
            "{treatment}: a list experiment needs its treatment column (which list each "
            f"respondent saw); '{treatment}' is not in the data",
            param="treatment",
        )
    count, rhs = _split_formula(formula)
    if count not in design.data.columns:
        raise ColumnError("{formula}: the item-count column '" + count + "' is not in the data", param="formula")
    if count == treatment or treatment in _rhs_columns(design.data, formula):
        raise EstimationError(
            "{treatment} must not appear in {formula}: the treatment enters the model by itself",
            param="treatment",
            also=("formula",),
        )
    y, t, missing, J = list_counts(design.data, count, treatment, control_items)
    if method == "lm":
        return _fit_lm(design, formula, count, rhs, treatment, t, missing, J, variance, level)
    mf = _frame(design.data, formula, missing)
    rows = np.flatnonzero(mf.complete)
    yr, tr = y[rows], t[rows]
    w = np.asarray(design.weights, float)[rows]
    if not (w[tr == 1].sum() > 0 and w[tr == 0].sum() > 0):
        raise EstimationError(
            "{treatment}: the list experiment needs treated and control rows with weight", param="treatment"
        )
    X = mf.X
    p = X.shape[1]
    if np.linalg.matrix_rank(X) < p:
        raise EstimationError(
            f"{{formula}}: the covariates of '{formula}' are collinear (drop a term)", param="formula"
        )

    def make():
        return list_model(X, yr, tr, J)

    model = make()
    theta, ok, its = maximize(model, w, _start(X, yr, tr, J, w, mf.names))
    if not ok:
        raise EstimationError(
            f"the ML list regression of '{formula}' did not converge (try method 'lm', or fewer covariates)",
            param="method",
        )
    boundary = warn_boundary(X @ theta[:p], w, "ML list regression")
    Vm = model_vcov(model, theta, w)
    infl = reps = None
    if variance == "model":
        V = Vm
    else:  # the design's own engine: influence values (sandwich) or refits under each replicate
        V, infl, reps = design_variance(design, rows, model, make, theta, w, "ML list regression")
    ll = float(w @ model.loglik_rows(theta))
    names = mf.names + mf.names
    parts = ("sensitive",) * p + ("control",) * p
    return RegressionFit(
        "list_ml",
        formula,
        names,
        parts,
        theta,
        V,
        Vm,
        variance,
        design_df(design, rows, 2 * p, reps is not None),
        len(rows),
        float(level),
        ll,
        ok,
        design.describe(),
        {"method": "ml", "treatment": treatment, "control_items": J, "iterations": its, "boundary": boundary},
        rows,
        X,
        np.arange(p),
        "logit",
        infl,
        reps,
    )


def list_model(X: np.ndarray, y: np.ndarray, t: np.ndarray, J: int) -> RowModel:
    """The ML list model's per-row log-likelihood, scores and weighted Hessian; theta = (delta, psi)."""
    p = X.shape[1]
    y = y.astype(float)
    t = t.astype(float)
    tr = t == 1
    lc_y = _lchoose(J, y)
    lc_y1 = _lchoose(J, y - 1)
    # log(y / (J - y + 1)) for treated rows: -inf at y = 0, +inf at y = J + 1
    with np.errstate(divide="ignore"):
        lratio = np.log(y) - np.log(J - y + 1)

    def parts(theta):
        ed, ep = X @ theta[:p], X @ theta[p:]
        return ed, ep

    def zeta_of(ed, ep):
        z = ed + lratio - ep
        return np.where(
            np.isposinf(lratio), 1.0, np.where(np.isneginf(lratio), 0.0, expit(np.where(np.isfinite(z), z, 0.0)))
        )

    def loglik_rows(theta):
        ed, ep = parts(theta)
        lg, l1g = log_expit(ep), log_expit(-ep)
        lb_y = lc_y + y * lg + (J - y) * l1g
        lb_y1 = lc_y1 + (y - 1) * lg + (J - y + 1) * l1g
        with np.errstate(invalid="ignore"):
            lf = np.logaddexp(log_expit(ed) + lb_y1, log_expit(-ed) + lb_y)
        return np.where(tr, lf, lb_y)

    def score_rows(theta):
        ed, ep = parts(theta)
        h, g = expit(ed), expit(ep)
        zeta = zeta_of(ed, ep)
        sd = t * (zeta - h)
        sp = y - t * zeta - J * g
        return np.hstack([X * sd[:, None], X * sp[:, None]])

    def hessian(theta, w):
        ed, ep = parts(theta)
        h, g = expit(ed), expit(ep)
        zeta = zeta_of(ed, ep)
        v = zeta * (1 - zeta)
        cdd = w * t * (v - h * (1 - h))
        cdp = -w * t * v
        cpp = w * (t * v - J * g * (1 - g))
        H = np.empty((2 * p, 2 * p))
        H[:p, :p] = (X * cdd[:, None]).T @ X
        H[:p, p:] = H[p:, :p] = (X * cdp[:, None]).T @ X
        H[p:, p:] = (X * cpp[:, None]).T @ X
        return H

    return RowModel(2 * p, loglik_rows, score_rows, hessian)


def _lchoose(J: int, k: np.ndarray) -> np.ndarray:
    ok = (k >= 0) & (k <= J)
    kk = np.where(ok, k, 0)
    return np.where(ok, gammaln(J + 1) - gammaln(kk + 1) - gammaln(J - kk + 1), -np.inf)


def _start(X, y, t, J, w, names):
    """Intercepts from the difference in means and the control mean; slopes 0."""
    p = X.shape[1]
    m0 = float(w[t == 0] @ y[t == 0] / w[t == 0].sum())
    m1 = float(w[t == 1] @ y[t == 1] / w[t == 1].sum())
    th = np.zeros(2 * p)
    if "(Intercept)" in names:
        j = names.index("(Intercept)")
        th[j] = logit(min(max(m1 - m0, 0.05), 0.95))
        th[p + j] = logit(min(max(m0 / J, 0.05), 0.95))
    return th


def _split_formula(formula: str) -> tuple[str, str]:
    if not isinstance(formula, str) or "~" not in formula:
        raise EstimationError(
            f"{{formula}} must be 'count ~ x1 + x2' (the item count, then the covariates), got {formula!r}",
            param="formula",
        )
    lhs, rhs = formula.split("~", 1)
    lhs, rhs = lhs.strip().strip("`"), rhs.strip()
    if not lhs:
        raise EstimationError("{formula} has no item-count column on the left of '~'", param="formula")
    return lhs, rhs or "1"


def _rhs_columns(frame: pl.DataFrame, formula: str) -> list[str]:
    from .formula import _columns, _python_syntax

    rhs = formula.split("~", 1)[1]
    _, used, _ = _columns(_python_syntax(rhs), frame.columns)
    return used


def _frame(frame: pl.DataFrame, formula: str, missing: np.ndarray) -> ModelFrame:
    """The model frame over rows whose count and treatment are observed; a term absent from the data
    is named as a problem of `formula`."""
    try:
        return model_frame(frame, formula, np.flatnonzero(~missing))
    except ColumnError as e:
        raise ColumnError("{formula}: " + str(e), param="formula") from None


def _fit_lm(design, formula, count, rhs, treatment, t, missing, J, variance, level) -> RegressionFit:
    """ictreg(method = "lm"): svyglm(count ~ (rhs) * treat) with the treatment coded 0/1."""
    from .glm import glm

    # the treatment as 0/1 (NaN where the count or treatment is missing: those rows leave the fit)
    data = design.data.with_columns(pl.Series(treatment, np.where(missing, np.nan, t.astype(float))))
    des = dataclasses.replace(design, data=data, _cache={})
    tq = f"`{treatment}`" if not treatment.isidentifier() else treatment
    lhs = formula.split("~", 1)[0].strip()
    full = f"{lhs} ~ {tq}" if rhs.strip() == "1" else f"{lhs} ~ ({rhs}) * {tq}"
    _frame(design.data, formula, missing)  # a term absent from the data: named as `formula`
    res = glm(des, full, "gaussian", level=level)
    if res.aliased.any():
        bad = [n for n, a in zip(res.names, res.aliased) if a]
        raise EstimationError(
            f"{{formula}}: the term '{bad[0]}' of the linear list model is aliased (collinear)", param="formula"
        )
    names = list(res.names)
    sens, ctrl, sname = [], [], []
    for j, nm in enumerate(names):
        pieces = [s.strip() for s in _split_top(nm, ":")]
        if treatment in pieces or tq in pieces:
            rest = [s for s in pieces if s not in (treatment, tq)]
            sens.append(j)
            sname.append(":".join(rest) if rest else "(Intercept)")
        else:
            ctrl.append(j)
    order = np.array(sens + ctrl)
    coef = res.coef[order]
    V = res.vcov[np.ix_(order, order)]
    mf = res.frame
    rows = np.flatnonzero(mf.complete)
    w = np.asarray(design.weights, float)[rows]
    e = mf.y - mf.X @ res.coef
    # OLS covariance of lm (what ictreg reports): sigma^2 (X'WX)^-1, weights scaled to mean 1
    wn = w * (len(w) / w.sum())
    A = (mf.X * wn[:, None]).T @ mf.X
    sigma2 = float(wn @ e**2) / (len(w) - len(names))
    Ainv = np.linalg.inv(A)
    Vm = (sigma2 * Ainv)[np.ix_(order, order)]
    infl = None
    if res.replicates is None:  # linearization: the fit's influence values (a replicate fit has refits)
        Aw = np.linalg.inv((mf.X * w[:, None]).T @ mf.X)
        infl = ((mf.X * (w * e)[:, None]) @ Aw)[:, order]
    reps = None if res.replicates is None else res.replicates[:, order]
    ctrl_names = [names[j] for j in ctrl]
    missing_cols = [s for s in sname if s not in ctrl_names]
    if missing_cols:
        raise EstimationError(
            f"{{formula}}: the linear list model needs the main effect of '{missing_cols[0]}'", param="formula"
        )
    Xs = mf.X[:, [ctrl[ctrl_names.index(s)] for s in sname]]
    ll = float(-0.5 * (wn @ e**2))
    out_names = tuple(sname + ctrl_names)
    parts = ("sensitive",) * len(sens) + ("control",) * len(ctrl)
    return RegressionFit(
        "list_lm",
        formula,
        out_names,
        parts,
        coef,
        Vm if variance == "model" else V,
        Vm,
        variance,
        res.df_residual,
        res.n,
        float(level),
        ll,
        bool(res.fit.converged),
        design.describe(),
        {"method": "lm", "treatment": treatment, "control_items": J, "svyglm_formula": full},
        rows,
        Xs,
        np.arange(len(sens)),
        "identity",
        infl,
        reps,
    )


def srs_log_likelihood(theta, X, y, t, J) -> float:
    """The unweighted log-likelihood of the ML model (for tests and likelihood-ratio comparisons)."""
    return float(list_model(X, np.asarray(y, float), np.asarray(t, float), J).loglik_rows(np.asarray(theta)).sum())


__all__ = ["list_regression", "list_model", "METHODS", "srs_log_likelihood"]
