"""Design-based maximum likelihood for regression models that are not GLMs (the list-experiment and
randomized-response regressions): one fitting routine, model-based and design-based covariances,
a coefficient table, and predicted prevalences by group.

A model supplies, for its m rows and a parameter vector theta (k,), the per-row log-likelihood
(m,), the per-row scores (m, k) and the weighted sum of the per-row Hessians (k, k). The estimate
maximizes the design-weighted (pseudo-) log-likelihood sum_i w_i l_i(theta) with scipy's
trust-region Newton method (`trust-exact`) on the analytic score and Hessian, followed by Newton
steps to a step below 1e-12.

Covariances:
- model: the inverse observed information (-H)^-1 with the weights scaled to mean 1, which under
  simple random sampling with unit weights is the ML covariance R's `ictreg` and `rrreg` report;
- Taylor designs: each row's influence -H^-1 w_i s_i (H the weighted Hessian) aggregated by the
  design's variance engine (`design.vcov` with influence values, weighting records included): the sandwich;
- replicate designs: a refit under every replicate weight, warm-started at the full-sample
  estimate, combined by the design's scale, rscales and mse (`design.vcov` re-evaluating).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from ..errors import EstimationError

VARIANCES = ("design", "model")


@dataclass(frozen=True)
class RowModel:
    k: int
    loglik_rows: Callable[[np.ndarray], np.ndarray]
    score_rows: Callable[[np.ndarray], np.ndarray]
    hessian: Callable[[np.ndarray, np.ndarray], np.ndarray]  # (theta, weights) -> (k, k)


def maximize(model: RowModel, w: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, bool, int]:
    """theta maximizing sum w_i l_i(theta); (theta, converged, iterations). Converged: the scaled
    score is below 1e-8 and the Hessian is negative definite there."""
    wn = w / w.sum()

    def f(th):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            v = -(wn @ model.loglik_rows(th))
        return v if np.isfinite(v) else 1e300

    def g(th):
        return -(wn @ model.score_rows(th))

    def h(th):
        return -model.hessian(th, wn)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = minimize(
            f, np.asarray(start, float), jac=g, hess=h, method="trust-exact", options={"gtol": 1e-10, "maxiter": 500}
        )
    theta = np.asarray(res.x, float)
    its = int(res.nit)
    for _ in range(20):  # Newton polish: quadratic convergence near the optimum
        H = h(theta)
        try:
            step = np.linalg.solve(H, g(theta))
        except np.linalg.LinAlgError:
            break
        if not np.isfinite(step).all():
            break
        cand = theta - step
        if f(cand) > f(theta) + 1e-14 * (1 + abs(f(theta))):
            break
        theta = cand
        its += 1
        if np.abs(step).max() < 1e-12:
            break
    grad = g(theta)
    try:
        posdef = bool(np.all(np.linalg.eigvalsh(h(theta)) > 0))
    except np.linalg.LinAlgError:
        posdef = False
    return theta, bool(np.isfinite(theta).all() and np.abs(grad).max() < 1e-8 and posdef), its


#: a linear predictor beyond this predicts a prevalence within 1e-5 of 0 or 1
BOUNDARY_ETA = 11.5


def warn_boundary(eta: np.ndarray, w: np.ndarray, what: str) -> bool:
    """Warn when the fit ran to the boundary: the sensitive prevalence is predicted within 1e-5 of 0
    or 1 for at least 1% of the weight (the prevalence is 0 or 1 in the data or in a group of a
    covariate: separation, where coefficients diverge). True when it warned."""
    share = float(w[np.abs(eta) > BOUNDARY_ETA].sum() / w.sum())
    if share >= 0.01:
        warnings.warn(
            f"{what}: the sensitive prevalence is predicted at 0 or 1 for {100 * share:.0f}% of the "
            "weight (a prevalence of 0 or 1 in the data or in a group of a covariate: separation); "
            "coefficients and SEs are unreliable (drop or merge terms)",
            stacklevel=3,
        )
    return share >= 0.01


def model_vcov(model: RowModel, theta: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(-H)^-1 with the weights scaled to mean 1 (the observed information on an unweighted sample)."""
    H = model.hessian(theta, w * (len(w) / w.sum()))
    return _inv(-H)


def influence(model: RowModel, theta: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(m, k) influence values -H^-1 w_i s_i whose design total is the estimate's linearization."""
    H = model.hessian(theta, w)
    S = model.score_rows(theta) * w[:, None]
    return -np.linalg.solve(H, S.T).T


def replicate_fits(
    design, rows: np.ndarray, model_for: Callable[[], RowModel], theta: np.ndarray, what: str
) -> np.ndarray:
    """(R, k) estimates under each replicate weight (NaN where a replicate leaves no weight)."""
    W = design.rep_matrix(rows)
    model = model_for()
    out = np.full((W.shape[1], len(theta)), np.nan)
    bad = []
    for r in range(W.shape[1]):
        wr = np.asarray(W[:, r], float)
        if not wr.sum() > 0:
            continue
        th, ok, _ = maximize(model, wr, theta)
        if ok:
            out[r] = th
        else:
            bad.append(r + 1)
    if bad:
        warnings.warn(
            f"{what}: the fit did not converge under {len(bad)} replicate(s) (first: {bad[0]}); "
            "they are left out of the variance",
            stacklevel=3,
        )
    return out


def design_variance(
    design,
    rows: np.ndarray,
    model: RowModel,
    model_for: Callable[[], RowModel],
    theta: np.ndarray,
    w: np.ndarray,
    what: str,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(V, influence values, replicate estimates) of an ML fit through the design's own engine: the
    sandwich of the influence values, or a refit under each replicate weight; the one not used is None."""
    kept: dict[str, np.ndarray] = {}
    V = design.vcov(
        rows,
        theta,
        what=f"the {what}",
        influence=lambda: kept.setdefault("infl", influence(model, theta, w)),
        reevaluate=lambda _d: kept.setdefault("reps", replicate_fits(design, rows, model_for, theta, what)),
    )
    return V, kept.get("infl"), kept.get("reps")


def _inv(A: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.inv(A)
    except np.linalg.LinAlgError:
        return np.full_like(A, np.nan)


@dataclass(frozen=True)
class RegressionFit:
    """A fitted regression with its coefficient table (rows carry the model part they belong to)."""

    kind: str  # "list_ml", "list_lm", "rr"
    formula: str
    names: tuple[str, ...]  # term names, in coefficient order
    parts: tuple[str, ...]  # "sensitive" or "control" for each coefficient
    coef: np.ndarray
    vcov: np.ndarray  # the covariance asked for (design or model)
    vcov_model: np.ndarray
    variance: str  # "design" or "model"
    df_residual: float  # t quantiles on it for design variances; model variances use the normal
    n: int
    level: float
    loglik: float
    converged: bool
    design: dict
    extra: dict
    # what prevalence() needs
    rows: np.ndarray = field(repr=False)  # design rows of the fit
    X: np.ndarray = field(repr=False)  # (m, p) covariates of the sensitive model
    sens_index: np.ndarray = field(repr=False)  # coefficient indices of the sensitive model
    link: str = "logit"  # "logit" or "identity"
    infl: np.ndarray | None = field(default=None, repr=False)  # (m, k) Taylor influence of coef
    replicates: np.ndarray | None = field(default=None, repr=False)  # (R, k) replicate coefficients

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.vcov), 0, None))

    def _quantile(self, level: float) -> float:
        from scipy import stats  # here, not at import: MUBP fits with this module and needs no tests (0.5 s)

        if self.variance == "model":
            return float(stats.norm.ppf(0.5 + level / 2))
        df = self.df_residual
        return float(stats.t.ppf(0.5 + level / 2, df)) if df > 0 else math.nan

    def coefficients(self, level: float | None = None) -> list[dict]:
        """Coefficient rows: term, part, estimate, se, statistic, df, p, ci_low, ci_high."""
        from scipy import stats

        level = self.level if level is None else level
        q = self._quantile(level)
        se = self.se
        rows = []
        for j, name in enumerate(self.names):
            est = float(self.coef[j])
            z = est / se[j] if se[j] > 0 else math.nan
            if self.variance == "model":
                df, p = None, 2 * stats.norm.sf(abs(z)) if math.isfinite(z) else math.nan
            else:
                df = self.df_residual
                p = 2 * stats.t.sf(abs(z), df) if df > 0 and math.isfinite(z) else math.nan
            rows.append(
                {
                    "term": name,
                    "part": self.parts[j],
                    "estimate": _f(est),
                    "se": _f(se[j]),
                    "statistic": _f(z),
                    "df": df,
                    "p": _f(p),
                    "ci_low": _f(est - q * se[j]),
                    "ci_high": _f(est + q * se[j]),
                }
            )
        return rows

    def to_dict(self) -> dict:
        return {
            "design": self.design,
            "model": {
                "kind": self.kind,
                "formula": self.formula,
                "variance": self.variance,
                "df_residual": self.df_residual,
                "n": self.n,
                "level": self.level,
                "loglik": _f(self.loglik),
                "converged": self.converged,
                **self.extra,
            },
            "coefficients": self.coefficients(),
        }

    def prevalence(self, design, by=None, level: float | None = None) -> list[dict]:
        """Predicted prevalence of the sensitive item in each group of `by` (None: overall): the
        weighted mean of h(x_i) over the group's rows of the fit, with its SE and a Wald interval.
        Design variance: the group mean's linearization plus the coefficients' influence (Taylor) or
        the mean recomputed under each replicate weight with the replicate coefficients (replicate
        designs); model variance: the delta method with the model covariance (covariates fixed)."""
        from .domains import make_domains

        level = self.level if level is None else level
        if not 0 < float(level) < 1:
            raise EstimationError("{level} must be between 0 and 1, got " + str(level), param="level")
        doms = make_domains(design.data, by)
        inrow = np.full(design.n, -1)
        inrow[self.rows] = np.arange(len(self.rows))
        w = np.asarray(design.weights, float)[self.rows]
        groups, labels = [], []
        for g in range(doms.count):
            r = doms.rows(g, None)
            local = inrow[r]
            local = local[local >= 0]
            if len(local) and w[local].sum() > 0:
                groups.append(local)
                labels.append(doms.labels[g])
        if not groups:
            return []
        h, dh = self._h(self.coef)
        est, grads, M = [], [], np.zeros((len(self.rows), len(groups)))
        for j, loc in enumerate(groups):
            Wg = w[loc].sum()
            p = float(w[loc] @ h[loc] / Wg)
            est.append(p)
            grads.append((w[loc] @ dh[loc]) / Wg)
            M[loc, j] = w[loc] * (h[loc] - p) / Wg
        G = np.array(grads)  # (groups, k)
        if self.variance == "model":
            V = G @ self.vcov_model @ G.T
        else:

            def reevaluate(rep_design) -> np.ndarray:
                """The group prevalences under each replicate (the replicate fits, replicate weights)."""
                reps = self.replicates
                if reps is None:  # design.vcov is given reevaluate only with replicate coefficients
                    raise EstimationError("the fit has no replicate coefficients to re-evaluate the prevalence with")
                Wr = rep_design.rep_matrix(self.rows)
                good = ~np.isnan(reps).any(axis=1)
                P = np.full((Wr.shape[1], len(groups)), np.nan)
                Hr = np.column_stack(
                    [self._h(b)[0] if ok else np.full(len(self.rows), np.nan) for b, ok in zip(reps, good)]
                )  # (m, R)
                for j, loc in enumerate(groups):
                    num = (Wr[loc] * Hr[loc]).sum(axis=0)
                    den = Wr[loc].sum(axis=0)
                    with np.errstate(invalid="ignore", divide="ignore"):
                        P[:, j] = np.where(den > 0, num / den, np.nan)
                return P

            V = design.vcov(
                self.rows,
                np.array(est),
                what="the predicted prevalence",
                influence=None if self.infl is None else (lambda: M + self.infl @ G.T),
                reevaluate=None if self.replicates is None else reevaluate,
            )
        q = self._quantile(level)
        out = []
        for j, lab in enumerate(labels):
            se = math.sqrt(V[j, j]) if V[j, j] >= 0 else math.nan
            out.append(
                {
                    **lab,
                    "estimate": est[j],
                    "se": _f(se),
                    "ci_low": _f(est[j] - q * se),
                    "ci_high": _f(est[j] + q * se),
                    "n": int(len(groups[j])),
                }
            )
        return out

    def _h(self, coef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """h(x_i) of the fit's rows and its gradient in the full coefficient vector (m, k)."""
        eta = self.X @ coef[self.sens_index]
        d = np.zeros((len(eta), len(coef)))
        if self.link == "identity":
            d[:, self.sens_index] = self.X
            return eta, d
        h = 1.0 / (1.0 + np.exp(-eta))
        d[:, self.sens_index] = self.X * (h * (1 - h))[:, None]
        return h, d


def _f(x) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def check_level_variance(level, variance) -> None:
    if not 0 < float(level) < 1:
        raise EstimationError("{level} must be between 0 and 1 (e.g. 0.95), got " + str(level), param="level")
    if variance not in VARIANCES:
        raise EstimationError("{variance} must be 'design' or 'model', got " + repr(variance), param="variance")


def design_df(design, rows, k: int, replicated: bool) -> float:
    """Residual df as R's svyglm: design df + 1 - number of coefficients; ``replicated`` (the variance
    came from refits under the replicates): the design's df over every row, as R's svrepglm."""
    return float(design.degf(np.arange(design.n) if replicated else rows) + 1 - k)
