"""Means, totals, proportions and ratios: statistics that are smooth functions of weighted totals.

Each is two functions of the totals T of a few columns Y: the statistic g(T) and its linearization
(the influence of each row, e.g. (y - theta x) / X for a ratio, written in centred form as R does so
that a constant has exactly zero variance). A Taylor design gets the weighted influence values and
aggregates them (R's svyrecvar); a
replicate design re-evaluates g on the replicate totals W[rows].T @ Y (R's svrVar). Adding a
statistic of this kind means writing g and J; adding a design kind means one variance method.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..design.protocol import Piece
from ..errors import EstimationError
from . import ci as cimod
from .binomial import logit_ci, logit_ci_binary_taylor
from .common import AnalysisVar, Request, analysis_variable, domain_rows, make_row, resolve_df
from .domains import make_domains
from .table import Estimate, Table


@dataclass(frozen=True)
class Smooth:
    """g maps totals T (shape (k, m)) to statistics (k, q); influence gives each row's linearization."""

    g: Callable[[np.ndarray], np.ndarray]
    influence: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # (T, theta, Y) -> (rows, q)


def evaluate(design, rows, Y: np.ndarray, stat: Smooth, pieces: list | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Point estimates (q,) and their covariance (q, q) for the rows of one analysis domain; the
    Piece that measured them is appended to `pieces` (for the table's joint covariance)."""
    w = design.weights[rows]
    T = w @ Y
    theta = stat.g(T[None, :])[0]

    def reevaluate(rep):
        Tr = rep.replicate_totals(rows, Y)
        with np.errstate(divide="ignore", invalid="ignore"):
            return stat.g(Tr)

    def influence():
        return w[:, None] * stat.influence(T, theta, Y)

    V = design.vcov(rows, theta, influence=influence, reevaluate=reevaluate)
    if pieces is not None:
        pieces.append(Piece(rows, theta, influence, reevaluate))
    return theta, V


def ratio_stat(k: int) -> Smooth:
    """Columns 0..k-1 over column k (mean and proportions use a column of ones as denominator)."""

    def g(T):
        with np.errstate(divide="ignore", invalid="ignore"):
            return T[:, :k] / T[:, k : k + 1]

    def influence(T, theta, Y):
        return (Y[:, :k] - theta[None, :] * Y[:, k : k + 1]) / T[k]

    return Smooth(g, influence)


TOTAL = Smooth(lambda T: T[:, :1], lambda T, theta, Y: Y[:, :1])


def _svyvar(y: np.ndarray, w: np.ndarray, nobs: int) -> float:
    """R's svyvar for one column: weighted variance with the n/(n-1) factor."""
    if nobs < 2:
        return math.nan
    sw = w.sum()
    m = (w @ y) / sw
    return float((w @ (y - m) ** 2) / sw * nobs / (nobs - 1))


def _srs_var_of_mean(design, rows, y, w) -> float:
    """Variance of the mean under simple random sampling without replacement, as R's deff = TRUE."""
    nobs = design.n_obs(rows)
    N = float(w.sum())
    if N < nobs:
        return math.nan
    return _svyvar(y, w, nobs) * (N - nobs) / (N * nobs)


def _srs_var_of_share(design, p: float, w: np.ndarray, rows) -> float:
    """_srs_var_of_mean for a 0/1 indicator with weighted share p: its svyvar is p(1-p) n/(n-1)."""
    nobs = design.n_obs(rows)
    N = float(w.sum())
    if N < nobs or nobs < 2:
        return math.nan
    return p * (1 - p) * nobs / (nobs - 1) * (N - nobs) / (N * nobs)


def _summaries(design, var: AnalysisVar, domains, req: Request, kind: str, pieces: list) -> list[Estimate]:
    out = []
    y = var.numbers
    for g in range(domains.count):
        rows, n, n_missing = domain_rows(domains, g, var, design)
        if rows is None:
            continue
        yr = y[rows]
        w = design.weights[rows]
        if kind == "mean":
            # the ratio linearization written out for one column: scores w (y - mean) / sum(w)
            sw = float(w.sum())
            est = float(w @ yr) / sw
            dev = yr - est
            scores = w * dev  # divided by sum(w) in place when the design takes them

            def reevaluate(rep, yr=yr, rows=rows):
                Tr = rep.replicate_totals(rows, np.column_stack([yr, np.ones_like(yr)]))
                with np.errstate(divide="ignore", invalid="ignore"):
                    return Tr[:, :1] / Tr[:, 1:2]

            nobs = design.n_obs(rows)
            s2 = float(scores @ dev) / sw * nobs / (nobs - 1) if nobs > 1 else math.nan  # R's svyvar
            theta = np.array([est])
            influence = _scaled_once(scores, sw)
            V = design.vcov(rows, theta, influence=influence, reevaluate=reevaluate)
            pieces.append(Piece(rows, theta, influence, reevaluate))
            vsrs = s2 * (sw - nobs) / (sw * nobs) if sw >= nobs else math.nan
        else:
            theta, V = evaluate(design, rows, yr[:, None], TOTAL, pieces)
            vsrs = _srs_var_of_mean(design, rows, yr, w) * float(w.sum()) ** 2
        est, v = float(theta[0]), float(V[0, 0])
        df = resolve_df(design, rows, req.df)
        lo, hi = cimod.wald(est, math.sqrt(v), req.level, df)
        out.append(
            make_row(
                kind,
                var.name,
                None,
                domains.labels[g],
                est,
                v,
                lo,
                hi,
                req,
                df,
                v / vsrs if vsrs else math.nan,
                n,
                n_missing,
            )
        )
    return out


def mean(
    design, variables: str | Sequence[str], *, by=None, level: float = 0.95, ci_method: str = "wald", df="design"
) -> Table:
    """Design-based means (R's svymean), per domain, missing values excluded as a domain."""
    return _numeric_stat(design, variables, by, Request(level, ci_method, df), "mean")


def total(
    design, variables: str | Sequence[str], *, by=None, level: float = 0.95, ci_method: str = "wald", df="design"
) -> Table:
    """Design-based totals (R's svytotal)."""
    return _numeric_stat(design, variables, by, Request(level, ci_method, df), "total")


def _numeric_stat(design, variables, by, req: Request, kind: str) -> Table:
    if req.ci_method != "wald":
        raise EstimationError(
            f"{{ci_method}} {req.ci_method} applies to proportions; a {kind} has only wald intervals", param="ci_method"
        )
    domains = make_domains(design.data, by)
    rows: list[Estimate] = []
    pieces: list[Piece] = []
    for name in _names(variables):
        var = analysis_variable(design.data, name, numeric=True)
        rows += _summaries(design, var, domains, req, kind, pieces)
    return Table(tuple(rows), design.describe(), pieces=tuple(pieces), engine=design)


def proportion(
    design, variables: str | Sequence[str], *, by=None, level: float = 0.95, ci_method: str = "logit", df="design"
) -> Table:
    """Proportions of each level of categorical variables, with intervals by `ci_method`."""
    req = Request(level, cimod.check_method(ci_method), df)
    domains = make_domains(design.data, by)
    out = []
    pieces: list[Piece] = []
    for name in _names(variables):
        var = analysis_variable(design.data, name, numeric=False)
        levels = var.levels
        K = len(levels)
        for g in range(domains.count):
            rows, n, n_missing = domain_rows(domains, g, var, design)
            if rows is None:
                continue
            codes = var.level_codes[rows]
            if K == 2 and req.ci_method != "likelihood":
                binary = _binary_linearized(
                    design, rows, codes, name, levels, domains.labels[g], req, n, n_missing, pieces
                )
                if binary is not None:
                    out += binary
                    continue
            Y = np.zeros((len(codes), K + 1))
            Y[np.arange(len(codes)), codes] = 1.0
            Y[:, K] = 1.0
            theta, V = evaluate(design, rows, Y, ratio_stat(K), pieces)
            w = design.weights[rows]
            dfv = resolve_df(design, rows, req.df)
            # R's svyglm rescales the weights over the domain's rows, missing values included
            prior = float(np.mean(design.weights[domains.rows(g, None)])) if n_missing else None
            for k, lev in enumerate(levels):
                p, v = float(theta[k]), float(V[k, k])
                vsrs = _srs_var_of_share(design, p, w, rows)

                def lik(level_, df_, yk=Y[:, k], p_=p, v_=v, rows_=rows, prior_=prior):
                    from .likelihood import likelihood_ci

                    return likelihood_ci(yk, design.weights[rows_], p_, v_, level_, df_, prior_mean=prior_)

                if req.ci_method == "logit" and K == 2 and k == 0:
                    lo, hi = None, None  # filled from the other level below: the logit interval is symmetric
                elif req.ci_method == "logit":
                    lo, hi = logit_ci(design, rows, Y[:, k], req.level, dfv)
                elif req.ci_method == "beta":
                    # R's beta interval ignores df: it uses the design df and the rows of the domain
                    lo, hi = cimod.proportion_ci("beta", p, v, req.level, design.degf(_rows_or_none(rows)), n)
                else:
                    lo, hi = cimod.proportion_ci(req.ci_method, p, v, req.level, dfv, n, likelihood=lik)
                out.append(
                    make_row(
                        "proportion",
                        name,
                        lev,
                        domains.labels[g],
                        p,
                        v,
                        lo,
                        hi,
                        req,
                        dfv,
                        v / vsrs if vsrs else math.nan,
                        n,
                        n_missing,
                    )
                )
            if req.ci_method == "logit" and K == 2:
                # two levels: the fit for one is the mirror image of the fit for the other
                first, second = out[-2], out[-1]
                lo0 = None if second.ci_high is None else 1 - second.ci_high
                hi0 = None if second.ci_low is None else 1 - second.ci_low
                out[-2] = replace(first, ci_low=lo0, ci_high=hi0)
    return Table(tuple(out), design.describe(), pieces=tuple(pieces), engine=design)


def _binary_linearized(
    design, rows, codes, name, levels, label, req, n, n_missing, pieces: list
) -> list[Estimate] | None:
    """Both levels of a two-level variable from one linearization, when the design's variance is a
    function of influence values (else None: the general path re-evaluates): the second level's
    share is 1 - p with the same variance; the logit interval mirrors."""
    w = design.weights[rows]
    y = (codes == 1).astype(float)
    sw = float(w.sum())
    p = float(w @ y) / sw
    scores = np.empty((len(y), 2))
    np.multiply(w, y - p, out=scores[:, 0])
    scores[:, 1] = w
    scores /= sw
    V = design.influence_vcov(rows, scores)
    if V is None:
        return None
    pieces.append(Piece(rows, np.array([1 - p, p]), lambda: scores[:, :1] * np.array([-1.0, 1.0])))
    v = float(V[0, 0])
    dfv = resolve_df(design, rows, req.df)
    vsrs = _srs_var_of_share(design, p, w, rows)
    deff = v / vsrs if vsrs else math.nan
    if req.ci_method == "logit":
        ci1 = logit_ci_binary_taylor(y, w, p, V, req.level, dfv)
        if ci1 is None:
            ci1 = logit_ci(design, rows, y, req.level, dfv)
        ci0 = (1 - ci1[1], 1 - ci1[0])
    else:
        dfm = design.degf(_rows_or_none(rows)) if req.ci_method == "beta" else dfv  # R's beta: design df
        ci1 = cimod.proportion_ci(req.ci_method, p, v, req.level, dfm, n)
        ci0 = cimod.proportion_ci(req.ci_method, 1 - p, v, req.level, dfm, n)
    return [
        make_row("proportion", name, levels[0], label, 1 - p, v, *ci0, req, dfv, deff, n, n_missing),
        make_row("proportion", name, levels[1], label, p, v, *ci1, req, dfv, deff, n, n_missing),
    ]


def ratio(
    design, numerator: str, denominator: str, *, by=None, level: float = 0.95, ci_method: str = "wald", df="design"
) -> Table:
    """Ratio of two totals (R's svyratio), rows with either value missing excluded."""
    req = Request(level, ci_method, df)
    if ci_method != "wald":
        raise EstimationError(
            f"{{ci_method}} {ci_method} applies to proportions; a ratio has only wald intervals", param="ci_method"
        )
    domains = make_domains(design.data, by)
    num = analysis_variable(design.data, numerator, numeric=True)
    den = analysis_variable(design.data, denominator, numeric=True)
    both = num.combined(den, f"{numerator}/{denominator}")
    out = []
    pieces: list[Piece] = []
    for g in range(domains.count):
        rows, n, n_missing = domain_rows(domains, g, both, design)
        if rows is None:
            continue
        Y = np.column_stack([num.numbers[rows], den.numbers[rows]])
        theta, V = evaluate(design, rows, Y, ratio_stat(1), pieces)
        est, v = float(theta[0]), float(V[0, 0])
        w = design.weights[rows]
        X = float(w @ Y[:, 1])
        r = (Y[:, 0] - est * Y[:, 1]) / X
        vsrs = _srs_var_of_mean(design, rows, r, w) * float(w.sum()) ** 2 if design.has_deff("ratio") else None
        dfv = resolve_df(design, rows, req.df)
        lo, hi = cimod.wald(est, math.sqrt(v), req.level, dfv)
        out.append(
            make_row(
                "ratio",
                both.name,
                None,
                domains.labels[g],
                est,
                v,
                lo,
                hi,
                req,
                dfv,
                None if vsrs is None else (v / vsrs if vsrs else math.nan),
                n,
                n_missing,
            )
        )
    return Table(tuple(out), design.describe(), pieces=tuple(pieces), engine=design)


def _scaled_once(scores: np.ndarray, sw: float):
    """The influence values scores / sw, divided in place on first use (no copy of a large column)."""
    done: list[np.ndarray] = []

    def influence():
        if not done:
            done.append(np.divide(scores, sw, out=scores)[:, None])
        return done[0]

    return influence


def _rows_or_none(rows):
    return None if isinstance(rows, slice) else rows


def _names(variables) -> list[str]:
    if isinstance(variables, str):
        return [v.strip() for v in variables.split(",") if v.strip()]
    return list(variables)
