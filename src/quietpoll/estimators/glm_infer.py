"""Inference on a fitted design-based GLM: predictions with SEs (R's predict.svyglm, link and
response scale) and Wald tests that a set of terms is zero (R's regTermTest, F on the residual df or
chi-square)."""

from __future__ import annotations

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
        mm = res.frame.spec.get_model_matrix(newdata.to_pandas(), context=CONTEXT,
                                             output="numpy")
    except (FormulaicError, ValueError, KeyError, NameError, TypeError) as e:
        raise EstimationError(f"cannot build the model matrix of the new data: {e}") from None
    X = np.asarray(mm, float)
    if X.shape[1] != len(res.names):
        raise EstimationError(f"the new data give {X.shape[1]} model columns, the fit has {len(res.names)} "
                              "(a level the fit never saw?)")
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


def reg_term_test(res, terms, method: str = "F") -> dict:
    """R's regTermTest(model, terms): Wald statistic beta' V^-1 beta over the non-aliased columns of
    the terms; method "F" divides by their number and uses the residual df as denominator df,
    "Chisq" uses the chi-square distribution (R's df = Inf)."""
    if method not in ("F", "Chisq"):
        raise EstimationError(f"regTermTest method must be 'F' or 'Chisq', got '{method}'")
    if isinstance(terms, str):
        terms = [t for t in _split_top(terms.lstrip("~ ").replace(" + ", "+"), "+") if t.strip()]
    wanted = [_norm(t) for t in terms]
    labels = dict(term_labels(res))
    missing = [t for t in wanted if t not in labels]
    if missing:
        raise EstimationError(f"regTermTest: '{missing[0]}' is not a term of the model (terms: "
                              f"{', '.join(labels)})")
    cols = sorted({c for t in wanted for c in labels[t]})
    ok_idx = np.flatnonzero(~res.aliased)
    index = [int(np.searchsorted(ok_idx, c)) for c in cols if not res.aliased[c]]
    beta = res.coef[~res.aliased][index]
    V = res.vcov[np.ix_(index, index)]
    chisq = float(beta @ np.linalg.solve(V, beta))
    k = len(index)
    if method == "Chisq":
        return {"terms": wanted, "statistic": chisq, "df": k, "ddf": None,
                "p": float(stats.chi2.sf(chisq, k)), "method": "Chisq"}
    ddf = res.df_residual
    return {"terms": wanted, "statistic": chisq / k, "df": k, "ddf": ddf,
            "p": float(stats.f.sf(chisq / k, k, ddf)), "method": "F"}
