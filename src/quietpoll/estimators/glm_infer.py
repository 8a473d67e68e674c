"""Inference on a fitted design-based GLM: predictions with SEs (R's predict.svyglm, link and
response scale) and Wald tests that a set of terms is zero (R's regTermTest, F on the residual df or
chi-square)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import polars as pl
from scipy import stats

from ..errors import EstimationError
from .formula import CONTEXT, _split_top, r_deparse


def predict(res, newdata: pl.DataFrame | None = None, type: str = "link") -> dict:
    """{"estimate": (m,), "se": (m,)}: X b and sqrt(diag(X V X')) on the link scale; on the response
    scale the inverse link and the SE times d mu / d eta (the delta method, as R). Without
    `newdata`, the rows of the fit."""
    if type not in ("link", "response"):
        raise EstimationError(f"predict type must be 'link' or 'response', got '{type}'")
    ok = ~res.aliased
    if newdata is None:
        X = res.frame.X
    else:
        X = _new_matrix(res, newdata)
    X = X[:, ok]
    eta = X @ res.coef[ok]
    vv = np.einsum("ij,ij->i", X @ res.vcov, X)
    if type == "link":
        return {"estimate": eta, "se": np.sqrt(vv)}
    d = res.family.mu_eta(eta)
    return {"estimate": res.family.linkinv(eta), "se": np.abs(d) * np.sqrt(vv)}


def _new_matrix(res, newdata: pl.DataFrame) -> np.ndarray:
    from formulaic.errors import FormulaicError

    try:
        mm = res.frame.spec.get_model_matrix(newdata.to_pandas(), context=CONTEXT, output="numpy")
    except (FormulaicError, ValueError, KeyError, NameError, TypeError) as e:
        raise EstimationError(f"cannot build the model matrix of the new data: {e}") from None
    X = np.asarray(mm, float)
    if X.shape[1] != len(res.names):
        raise EstimationError(
            f"the new data give {X.shape[1]} model columns, the fit has {len(res.names)} (a level the fit never saw?)"
        )
    return X


def term_labels(res) -> list[tuple[str, list[int]]]:
    """R's term labels of the fit with the indices of their columns."""
    out = []
    names = list(res.frame.spec.column_names)
    for st in res.frame.spec.structure:
        label = str(st.term)
        if label == "1":
            continue
        out.append((_norm(label), [names.index(c) for c in st.columns]))
    return out


def _norm(label: str) -> str:
    from .formula import _python_syntax

    return ":".join(r_deparse(p.strip().strip("`")) for p in _split_top(_python_syntax(label), ":"))


def reg_term_test(
    res, terms, method: str = "F", *, df: float | None = None, lrt_approximation: str = "saddlepoint"
) -> dict:
    """R's regTermTest(model, terms, method, df). "F": the Wald statistic beta' V^-1 beta over the
    non-aliased columns of the terms, divided by their number, F on the residual df; "Chisq": the
    Wald statistic against chi-square (R's df = Inf); "LRT": R's method = "LRT", the working
    likelihood ratio (deviance of the model refitted without the terms, on the same design and
    subset, minus the model's deviance) with the Rao-Scott correction: its null distribution is
    sum_i lambda_i chi2_1 / (chi2_ddf / ddf), lambda the eigenvalues of V0^-1 V (V0 the model-based
    covariance, R's naive.cov), p by the saddlepoint approximation (R's default) or Satterthwaite.
    `df` (LRT only) replaces the residual df; math.inf gives the chi-square sum (R's df = Inf)."""
    if method not in ("F", "Chisq", "LRT"):
        raise EstimationError(f"regTermTest method must be 'F', 'Chisq' or 'LRT', got '{method}'")
    if lrt_approximation not in ("saddlepoint", "satterthwaite"):
        raise EstimationError(f"lrt_approximation must be 'saddlepoint' or 'satterthwaite', got '{lrt_approximation}'")
    if isinstance(terms, str):
        terms = [t for t in _split_top(terms.lstrip("~ ").replace(" + ", "+"), "+") if t.strip()]
    wanted = [_norm(t) for t in terms]
    labels = dict(term_labels(res))
    missing = [t for t in wanted if t not in labels]
    if missing:
        raise EstimationError(f"regTermTest: '{missing[0]}' is not a term of the model (terms: {', '.join(labels)})")
    cols = sorted({c for t in wanted for c in labels[t]})
    ok_idx = np.flatnonzero(~res.aliased)
    index = [int(np.searchsorted(ok_idx, c)) for c in cols if not res.aliased[c]]
    beta = res.coef[~res.aliased][index]
    V = res.vcov[np.ix_(index, index)]
    k = len(index)
    if method == "LRT":
        return _lrt(res, wanted, index, V, df, lrt_approximation)
    chisq = float(beta @ np.linalg.solve(V, beta))
    if method == "Chisq":
        return {
            "terms": wanted,
            "statistic": chisq,
            "df": k,
            "ddf": None,
            "p": float(stats.chi2.sf(chisq, k)),
            "method": "Chisq",
        }
    ddf = res.df_residual
    return {
        "terms": wanted,
        "statistic": chisq / k,
        "df": k,
        "ddf": ddf,
        "p": float(stats.f.sf(chisq / k, k, ddf)),
        "method": "F",
    }


def naive_cov(res) -> np.ndarray:
    """The model-based covariance (X'WX)^-1 of the non-aliased coefficients with the rescaled prior
    weights, unscaled by the dispersion (R's svyglm naive.cov = summary.glm's cov.unscaled)."""
    Rk = res.fit.R
    return np.linalg.solve(Rk, np.linalg.solve(Rk.T, np.eye(Rk.shape[0])))


def _lrt(res, wanted, index, V, df, approximation) -> dict:
    from .chisqsum import pfsum_upper

    if res.design_obj is None:
        raise EstimationError("regTermTest LRT needs the fit's design (refit the model with quietpoll.glm)")
    V0 = naive_cov(res)[np.ix_(index, index)]
    lam = np.linalg.eigvals(np.linalg.solve(V0, V))
    lam = np.sort(np.real(lam))[::-1]
    reduced = reduced_formula(res.formula, wanted)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the full fit has already warned about its data
        m0 = res.refit(reduced)
    chisq = float(m0.deviance - res.deviance)
    ddf = res.df_residual if df is None else float(df)
    if not ddf > 0:
        raise EstimationError(
            f"regTermTest LRT: the residual df is {ddf:g}; the F reference needs a positive df "
            "(use df = inf for the chi-square reference)",
            param="df",
        )
    p = pfsum_upper(chisq, lam, ddf, approximation)
    return {
        "terms": wanted,
        "statistic": chisq,
        "df": len(index),
        "ddf": None if math.isinf(ddf) else ddf,
        "p": p,
        "method": "LRT",
        "lambda": [float(v) for v in lam],
        "scale": float(lam.mean()),
        "statistic_scaled": chisq / float(lam.mean()),
        "approximation": approximation,
        "reduced_formula": reduced,
    }


def reduced_formula(formula: str, terms: list[str]) -> str:
    """The formula without `terms` (R's update(model, . ~ . - (terms)))."""
    return formula + "".join(f" - {t}" for t in terms)
