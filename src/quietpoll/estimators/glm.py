"""Design-based generalized linear models (R's svyglm, summary.svyglm, confint.svyglm).

The fit is R's: glm with prior weights = sampling weights / their mean (svyglm's rescaling), by
IRLS as glm.fit (irls.py), in R's formula language (formula.py) with R's families (families.py).
Rows with a missing model variable, and rows outside `subset`, stay in the design as rows outside
the analysis domain: no PSU is dropped.

Variance, through the design's one operation `design.vcov(rows, coef, influence=..., reevaluate=...)`
(design/protocol.py), which hands it both ways of measuring it:
- influence: the estimating-equation influence X_i w_i e_i (X'WX)^-1 (R's svy.varcoef), which a
  linearization design sums through its strata, clusters and weighting records (R's svyrecvar);
- reevaluate: a refit under every replicate (weights normalised to sum 1 and started at the
  full-sample coefficients, as svyglm.svyrep.design), which a replicate design combines by its
  scale, rscales and mse (R's svrVar). The refits are kept on the result.
Residual df is R's: design df + 1 - number of non-aliased coefficients.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from ..errors import EstimationError
from .families import Family, get_family
from .formula import ModelFrame, model_frame
from .irls import IRLSFit, fit_many, fit_one


@dataclass(frozen=True)
class GLMResult:
    formula: str
    family: Family
    names: tuple[str, ...]
    coef: np.ndarray  # (p,), NaN where aliased
    vcov: np.ndarray  # (k, k) over the non-aliased coefficients
    aliased: np.ndarray  # (p,) bool
    df_residual: float
    dispersion: float
    n: int  # rows in the fit
    level: float
    design: dict
    fit: IRLSFit = field(repr=False)
    frame: ModelFrame = field(repr=False)
    replicates: np.ndarray | None = field(default=None, repr=False)  # (R, k) replicate coefficients
    deviance: float = math.nan  # glm deviance with the rescaled prior weights (R's deviance(model))
    subset: object = field(default=None, repr=False)  # the subset the fit was asked for (refits use it)
    design_obj: object = field(default=None, repr=False)  # the design (refits, margins)

    @property
    def se(self) -> np.ndarray:
        out = np.full(len(self.names), np.nan)
        out[~self.aliased] = np.sqrt(np.clip(np.diag(self.vcov), 0, None))
        return out

    def coefficients(self, level: float | None = None) -> list[dict]:
        """R's summary(svyglm) coefficient table and confint(svyglm) (t quantile on the residual df)."""
        level = self.level if level is None else level
        se = self.se
        df = self.df_residual
        q = stats.t.ppf(0.5 + level / 2, df) if df > 0 else math.nan
        rows = []
        for j, name in enumerate(self.names):
            est = self.coef[j]
            if self.aliased[j]:
                rows.append(
                    {
                        "term": name,
                        "estimate": None,
                        "se": None,
                        "statistic": None,
                        "df": df,
                        "p": None,
                        "ci_low": None,
                        "ci_high": None,
                        "aliased": True,
                    }
                )
                continue
            t = est / se[j] if se[j] > 0 else math.nan
            p = 2 * stats.t.sf(abs(t), df) if df > 0 and math.isfinite(t) else math.nan
            rows.append(
                {
                    "term": name,
                    "estimate": _f(est),
                    "se": _f(se[j]),
                    "statistic": _f(t),
                    "df": df,
                    "p": _f(p),
                    "ci_low": _f(est - q * se[j]),
                    "ci_high": _f(est + q * se[j]),
                    "aliased": False,
                }
            )
        return rows

    def to_dict(self) -> dict:
        return {
            "design": self.design,
            "model": {
                "formula": self.formula,
                "family": self.family.name,
                "link": self.family.link,
                "df_residual": self.df_residual,
                "dispersion": _f(self.dispersion),
                "n": self.n,
                "level": self.level,
                "iterations": self.fit.iterations,
                "converged": bool(self.fit.converged),
            },
            "coefficients": self.coefficients(),
        }

    def predict(self, newdata=None, type: str = "link") -> dict:
        """Predictions with SEs (R's predict.svyglm); see glm_infer.predict."""
        from .glm_infer import predict

        return predict(self, newdata, type)

    def reg_term_test(self, terms, method: str = "F", **kwargs) -> dict:
        """Wald or Rao-Scott LRT test that `terms` are zero (R's regTermTest); see
        glm_infer.reg_term_test."""
        from .glm_infer import reg_term_test

        return reg_term_test(self, terms, method, **kwargs)

    def refit(self, formula: str) -> GLMResult:
        """The same model family, design, subset and level with another formula (a reduced model)."""
        if self.design_obj is None:
            raise EstimationError("this GLM result has no design to refit on (fit it with quietpoll.glm)")
        return glm(self.design_obj, formula, self.family, subset=self.subset, level=self.level)

    def estimates(self):
        """Names, coef() and vcov() of the non-aliased coefficients (what contrasts work on)."""
        from .contrasts import as_estimates

        return as_estimates(self)

    def vcov_full(self) -> np.ndarray:
        """(p, p) covariance with NaN rows and columns for aliased terms (R's vcov has none of them)."""
        p = len(self.names)
        out = np.full((p, p), np.nan)
        ok = np.flatnonzero(~self.aliased)
        out[np.ix_(ok, ok)] = self.vcov
        return out


def _f(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def glm(design, formula: str, family: str | Family = "gaussian", *, subset=None, level: float = 0.95) -> GLMResult:
    """Fit `formula` on `design` (R's svyglm(formula, design, family = ...)). `subset` restricts the
    fit to a domain: a boolean array over the design's rows, a polars expression, or the text of a
    subset expression (subset.py); the design keeps every row and PSU."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        return _glm(design, formula, family, subset, level)


def _glm(design, formula, family, subset, level) -> GLMResult:
    """Fit `formula` on `design` (R's svyglm(formula, design, family = ...)). `subset` restricts the
    fit to a domain: a boolean array over the design's rows, a polars expression, or the text of a
    subset expression (subset.py); the design keeps every row and PSU."""
    fam = get_family(family)
    if not 0 < float(level) < 1:
        raise EstimationError(f"level must be between 0 and 1 (e.g. 0.95), got {level}")
    sub = _subset_mask(design, subset)
    sub_rows = None if sub is None else np.flatnonzero(sub)
    mf = model_frame(design.data, formula, sub_rows)
    rows = np.flatnonzero(mf.complete)  # the analysis domain: in the subset, every variable seen
    fam.check(mf.y, mf.response)
    w = np.asarray(design.weights, float)
    n_sub = design.n if sub is None else int(sub.sum())
    # R rescales the weights by their mean over the (subset) design before dropping missing values;
    # a design whose weighting records need every row keeps the rows outside the subset at weight 0
    keeps_rows = design.domain_keeps_rows
    w_sub = w if sub is None else w[sub]
    c_before = w_sub.sum() / (design.n if keeps_rows else n_sub)
    w_rows = w if len(rows) == design.n else w[rows]  # every row: no gather
    prior = w_rows / c_before
    if not (prior > 0).any():
        raise EstimationError(f"no rows with positive weight for '{formula}' (in the subset): nothing to fit")
    fit = fit_one(mf.matrix, mf.y, prior, fam)
    ok = ~fit.aliased
    coef = np.where(ok, fit.coef, np.nan)
    k = int(ok.sum())
    c_after = w_rows.sum() / (design.n if keeps_rows else len(rows))
    # Pearson residuals (the identity link's variance is 1: no division by ones)
    r0 = mf.y - fit.mu if fam.plain_identity else (mf.y - fit.mu) / np.sqrt(fam.variance(fit.mu))
    refits: list[np.ndarray] = []

    def reevaluate(rep):
        refits.append(_replicate_coefs(rep, mf, rows, fam, fit))
        return refits[0]

    Ainv: list[np.ndarray] = []

    def influence():
        # the design's variance is a quadratic form in the influence values, so the variance of
        # (X_i w_i e_i) A^-1 is A^-T V(X_i w_i e_i) A^-1: the n x k product with A^-1 is not formed
        scores, A = _linearized_scores(mf, fit, fam)
        Ainv.append(A)
        return scores

    # every row in the fit: a slice spares the variance engine its gathers
    v_rows = slice(None) if len(rows) == design.n else rows
    V = design.vcov(v_rows, fit.coef[ok], influence=influence, reevaluate=reevaluate)
    if Ainv:
        V = Ainv[0].T @ V @ Ainv[0]
    replicates = refits[0] if refits else None
    if replicates is not None:
        df_rows = np.arange(design.n) if sub_rows is None else sub_rows
        # summary.svrepglm: weighted mean of squared Pearson residuals (R 4.1.1 multiplies it by the
        # number of rows of the subset design, a scaling of its residuals; quietpoll does not)
        dispersion = float((w_rows * r0**2).sum() / w_sub.sum())
    else:
        df_rows = rows
        # summary.svyglm: svyvar of the Pearson residuals over the design
        dispersion = _svyvar(r0 * math.sqrt(c_after / c_before), w_rows)
    # the whole sample: the design's cached df
    df_res = float(design.degf(None if len(df_rows) == design.n else df_rows) + 1 - k)
    deviance = fit.deviance  # fam.dev_resids(y, mu, prior).sum() at the fit's mu, as the fit computed it
    return GLMResult(
        formula,
        fam,
        mf.names,
        coef,
        V,
        fit.aliased,
        df_res,
        dispersion,
        len(rows),
        float(level),
        design.describe(),
        fit,
        mf,
        replicates,
        deviance,
        subset,
        design,
    )


def _svyvar(r: np.ndarray, w: np.ndarray) -> float:
    """R's svyvar of one variable: weighted variance times n/(n - 1), n the rows with weight."""
    pos = w != 0
    n = int(pos.sum())
    if n < 2:
        return math.nan
    m = float((w * r).sum() / w.sum())
    return float((w * (r - m) ** 2).sum() / w.sum() * n / (n - 1))


def _subset_mask(design, subset):
    if subset is None:
        return None
    if isinstance(subset, np.ndarray) and subset.dtype == bool:
        mask = subset
    else:
        from .subset import subset_mask

        mask = subset_mask(design.data, subset)
    if len(mask) != design.n:
        raise EstimationError(f"subset has {len(mask)} values for {design.n} rows")
    if not mask.any():
        raise EstimationError("the subset has no rows: check the expression and the values")
    return mask


def _linearized_scores(mf: ModelFrame, fit: IRLSFit, fam: Family):
    """R's svy.varcoef: the influence values are (X_i w_i e_i) (X'WX)^-1; returns X_i w_i e_i (n x k,
    Fortran layout: contiguous columns for the variance engine; or, for a model matrix kept as its
    terms, a FactoredScores whose unit totals are one bincount per term) and (X'WX)^-1."""
    from .model_matrix import FactoredScores

    ok = ~fit.aliased
    Rk = fit.R
    Ainv = np.linalg.solve(Rk, np.linalg.solve(Rk.T, np.eye(Rk.shape[0])))
    e = (
        (mf.y - fit.mu) * fit.working_weights
        if fam.plain_identity
        else (mf.y - fit.mu) / fam.mu_eta(fit.eta) * fit.working_weights
    )
    if ok.all() and not isinstance(mf.matrix, np.ndarray):
        return FactoredScores(mf.matrix, e), Ainv
    X = mf.X if ok.all() else mf.X[:, ok]
    S = np.empty(X.shape, order="F")
    np.multiply(X, e[:, None], out=S)
    return S, Ainv


def _replicate_coefs(design, mf: ModelFrame, rows, fam: Family, fit: IRLSFit) -> np.ndarray:
    """(R, k) coefficients refitted under each replicate (R's svyglm.svyrep.design), warm-started at
    the full fit."""
    ok = ~fit.aliased
    X = mf.X[:, ok]
    beta0 = fit.coef[ok]
    # a well-conditioned basis: X M with M = R0^-1 from the full fit's weighted QR
    M = np.linalg.inv(fit.R)
    Xt = (M.T @ X.T).T  # Fortran layout: contiguous columns for the replicate totals
    start = np.linalg.solve(M, beta0)
    R = design.n_replicates
    if fam.name == "gaussian":
        # the identity link converges at the weighted least-squares solution: the replicates'
        # cross-products X'W_r X and X'W_r y from the design in one pass (every row: a slice)
        k = Xt.shape[1]
        G, h = design.replicate_cross_totals(slice(None) if len(rows) == design.n else rows, Xt, mf.y)
        good = np.linalg.matrix_rank(G) == k
        bt = np.full((R, k), np.nan)
        bt[good] = np.linalg.solve(G[good], h[good][:, :, None])[:, :, 0]
    else:
        sums = design.replicate_totals(rows, np.ones((len(rows), 1)))[:, 0]

        def weights_block(sl):
            return design.rep_matrix(rows[sl]) / sums[None, :]

        bt, conv = fit_many(Xt, mf.y, weights_block, R, fam, start)
        if not conv.all():
            import warnings

            warnings.warn(f"the GLM fit did not converge under {int((~conv).sum())} replicate(s)", stacklevel=3)
    return bt @ M.T
