"""Estimators for sensitive questions: the list experiment (item count technique) and randomized
response. Both are smooth functions of design-weighted totals, so their design-based variances come
from `smooth.evaluate` for Taylor and replicate designs alike.

List experiment (difference in means)
    pi = mean(count | treated) - mean(count | control)
    Both means are ratios of totals over the same design, so the variance of the difference includes
    their covariance (it is not var1 + var0 unless the groups are independent): Y holds
    count*T, T, count*(1-T), 1-T and g(T) = T0/T1 - T2/T3, with the influence of a row
    (Y0 - m1 Y1)/T1 - (Y2 - m0 Y3)/T3 (the ratio linearization of each mean, as R's svyratio /
    svyby + svycontrast).

Randomized response: lambda is the design-weighted share of "yes" answers (a mean of a 0/1 column);
the prevalence pi is a linear function of lambda, pi = (lambda - c) / a, so var(pi) = var(lambda) / a^2:
    forced     lambda = p_truth pi + p_yes                   a = p_truth,  c = p_yes
    warner     lambda = p pi + (1 - p)(1 - pi)               a = 2p - 1,   c = 1 - p
    unrelated  lambda = p pi + (1 - p) p_unrelated           a = p,        c = (1 - p) p_unrelated
Estimates outside [0, 1] are reported as computed, never clipped (clipping would bias the estimator
and hide that the sample says little); their intervals are Wald intervals on the same scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import polars as pl

from ..design.base import require_column
from ..errors import ColumnError, EstimationError
from . import ci as cimod
from .common import AnalysisVar, Request, analysis_variable, domain_rows, make_row, resolve_df
from .domains import make_domains
from .smooth import Smooth, _srs_var_of_share, evaluate, ratio_stat
from .table import Estimate, Table

#: string values (compared case-insensitively, stripped) that mark the treated group of a list experiment
TREATED_VALUES = ("1", "treatment", "treated", "true")
#: string values that mark a "yes" answer in a randomized-response column
YES_VALUES = ("1", "yes", "y", "true")
RR_DESIGNS = ("forced", "warner", "unrelated")
LIST_METHODS = ("diff", "ml")


@dataclass(frozen=True)
class ListEstimate(Estimate):
    """A list-experiment row: an Estimate with the estimator used ("diff" or "ml") as `method`."""

    method: str = "diff"


def list_row(method, count, label, est, v, lo, hi, req, dfv, n, n_missing) -> ListEstimate:
    row = make_row("list_experiment", count, None, label, est, v, lo, hi, req, dfv, None, n, n_missing)
    return ListEstimate(**{f.name: getattr(row, f.name) for f in fields(Estimate)}, method=method)


def list_counts(
    frame: pl.DataFrame, count: str, treatment: str, control_items: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Item counts and treatment of a list experiment checked for the ML estimator and the
    design-effect test: (int counts, 0/1 treatment, missing mask, J). Counts must be whole numbers,
    0..J for control rows and 0..J+1 for treated rows; J (the number of control items) is
    `control_items`, or the largest control count."""
    cnt = analysis_variable(frame, count, numeric=True)
    t, t_missing = _binary(frame, treatment, "treatment", TREATED_VALUES)
    missing = cnt.missing | t_missing
    y = cnt.numbers
    ok = ~missing
    frac = ok & ((y != np.floor(y)) | (y < 0))
    if frac.any():
        raise ColumnError(
            f"list-experiment count column '{count}' must hold whole numbers 0, 1, 2, ... (found {y[frac][0]:g})"
        )
    ctrl = ok & (t == 0)
    if control_items is None:
        if not ctrl.any():
            raise EstimationError(
                f"list experiment: no control rows in '{treatment}' to tell the number of "
                "control items; give {control_items} J",
                param="control_items",
            )
        J = int(y[ctrl].max())
        if J < 1:
            raise EstimationError(
                f"list experiment: every control row of '{count}' is 0, so the number of "
                "control items cannot be told from the data; give {control_items} J",
                param="control_items",
            )
    else:
        J = int(control_items)
        if J != control_items or J < 1:
            raise EstimationError(
                f"{{control_items}} must be a whole number of at least 1, got {control_items}", param="control_items"
            )
    over = ctrl & (y > J)
    if over.any():
        raise ColumnError(
            f"list-experiment count column '{count}' has a control-row count {y[over][0]:g} above "
            f"the {J} control items (counts of control rows must be 0..{J})"
        )
    over = ok & (t == 1) & (y > J + 1)
    if over.any():
        hint = "" if control_items is not None else "; give {control_items} J if the control rows never reach J"
        raise ColumnError(
            f"list-experiment count column '{count}' has a treated-row count {y[over][0]:g} above "
            f"J + 1 = {J + 1} (J = {J} control items){hint}",
            also=("control_items",) if hint else (),
        )
    return np.where(missing, 0, y).astype(np.int64), t, missing, J


#: text that is unmistakably the other value of a two-valued column (a column holding only these is all 0)
_NEGATIVE = frozenset({"0", "no", "n", "false", "f", "control"})


def _binary(frame: pl.DataFrame, name: str, role: str, positive: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """A two-valued column as (float 0/1 values, missing mask).

    Numeric columns must hold only 0 and 1; Boolean columns map True to 1; text (or categorical)
    columns may hold at most two distinct values, one of them in `positive` (case-insensitive), which
    is coded 1, the other 0."""
    s = require_column(frame, name, role)
    missing = s.is_null().to_numpy()
    if s.dtype == pl.Boolean:
        return s.cast(pl.Float64).fill_null(0.0).to_numpy().copy(), missing
    if s.dtype.is_numeric():
        v = s.cast(pl.Float64).to_numpy().copy()
        missing = missing | np.isnan(v)
        v[missing] = 0.0
        bad = ~missing & (v != 0) & (v != 1)
        if bad.any():
            raise ColumnError(f"{role} column '{name}' must hold 0 and 1 only (found {v[bad][0]:g})")
        return v, missing
    text = s.cast(pl.String)
    vals = sorted(set(text.drop_nulls().to_list()))
    if len(vals) > 2:
        raise ColumnError(f"{role} column '{name}' has {len(vals)} values ({', '.join(vals[:5])}); it must have two")
    pos = [v for v in vals if v.strip().lower() in positive]
    only_no = not pos and all(v.strip().lower() in _NEGATIVE for v in vals)  # a small sample: nobody said yes
    if len(vals) and len(pos) != 1 and not only_no:
        raise ColumnError(
            f"{role} column '{name}': cannot tell which of {', '.join(map(repr, vals))} is "
            f"the {'treated group' if role == 'treatment' else 'yes answer'}; code it as "
            f"{' / '.join(positive)} (or 1/0)"
        )
    v = (text == pos[0]).fill_null(False).cast(pl.Float64).to_numpy().copy() if pos else np.zeros(len(s))
    return v, missing


def _difference_stat() -> Smooth:
    """g(T) = T0/T1 - T2/T3 and its influence (the ratio linearization of each mean)."""

    def g(T):
        with np.errstate(divide="ignore", invalid="ignore"):
            return (T[:, 0] / T[:, 1] - T[:, 2] / T[:, 3])[:, None]

    def influence(T, theta, Y):
        m1, m0 = T[0] / T[1], T[2] / T[3]
        return ((Y[:, 0] - m1 * Y[:, 1]) / T[1] - (Y[:, 2] - m0 * Y[:, 3]) / T[3])[:, None]

    return Smooth(g, influence)


DIFFERENCE = _difference_stat()


def list_experiment(design, count: str, treatment: str, *, by=None, level: float = 0.95, df="design") -> Table:
    """Prevalence of the sensitive item in a list experiment: the difference of design-weighted mean
    item counts, treated minus control, with the design-based SE of the difference (covariance of the
    two means included) and a Wald interval on `df` (the design df by default).

    `treatment` is 0/1 (1 = treated, shown the list with the sensitive item), Boolean (True = treated),
    or text with two values, the treated one being "1", "treatment", "treated" or "true" (any case).
    Rows with a missing count or treatment are excluded (counted in n_missing). A domain in which one
    group has no weight gives a row with a missing estimate. Row: statistic "list_experiment",
    method "diff", variable = the count column, level None, deff None.
    """
    req = Request(level, "wald", df)
    domains = make_domains(design.data, by)
    cnt = analysis_variable(design.data, count, numeric=True)
    t, t_missing = _binary(design.data, treatment, "treatment", TREATED_VALUES)
    var = AnalysisVar(count, cnt.values, None, (), cnt.missing | t_missing)
    out = []
    for gi in range(domains.count):
        rows, n, n_missing = domain_rows(domains, gi, var, design)
        if rows is None:
            continue
        y, tr = cnt.numbers[rows], t[rows]
        Y = np.column_stack([y * tr, tr, y * (1 - tr), 1 - tr])
        w = design.weights[rows]
        dfv = resolve_df(design, rows, req.df)
        if not (w @ tr > 0 and w @ (1 - tr) > 0):
            est = v = math.nan  # no treated or no control cases with weight: nothing to difference
        else:
            theta, V = evaluate(design, rows, Y, DIFFERENCE)
            est, v = float(theta[0]), float(V[0, 0])
        lo, hi = cimod.wald(est, math.sqrt(v) if v >= 0 else math.nan, req.level, dfv)
        out.append(list_row("diff", count, domains.labels[gi], est, v, lo, hi, req, dfv, n, n_missing))
    return Table(tuple(out), design.describe())


def _check_prob(name: str, x, *, open_low: bool = False, open_high: bool = False) -> float:
    if x is None:
        raise EstimationError(f"randomized response: {name} is required for this design")
    try:
        x = float(x)
    except (TypeError, ValueError):
        raise EstimationError(f"randomized response: {name} must be a probability, got {x!r}") from None
    low_ok = x > 0 if open_low else x >= 0
    high_ok = x < 1 if open_high else x <= 1
    if not (low_ok and high_ok) or math.isnan(x):
        lo, hi = "(0" if open_low else "[0", "1)" if open_high else "1]"
        raise EstimationError(f"randomized response: {name} must be in {lo}, {hi}, got {x}")
    return x


def rr_transform(rr_design: str, *, p_truth=None, p_yes=None, p=None, p_unrelated=None) -> tuple[float, float]:
    """(a, c) with pi = (lambda - c) / a for a randomized-response design; EstimationError on bad,
    missing, surplus or unidentifiable parameters.

    forced:    p_truth in (0, 1) (chance of answering truthfully), p_yes in [0, 1) (chance of a forced
               "yes"), p_truth + p_yes <= 1.
    warner:    p in (0, 1), p != 0.5 (chance of getting the sensitive statement rather than its negation).
    unrelated: p in (0, 1) (chance of the sensitive question), p_unrelated in [0, 1] (the known "yes"
               share of the innocuous question).
    A design probability of 0 or 1 is refused: at 1 the question is asked directly (no protection),
    at 0 nothing is learnt.
    """
    given = {"p_truth": p_truth, "p_yes": p_yes, "p": p, "p_unrelated": p_unrelated}
    needs = {"forced": ("p_truth", "p_yes"), "warner": ("p",), "unrelated": ("p", "p_unrelated")}
    if rr_design not in needs:
        raise EstimationError(
            f"{{rr_design}} must be one of {', '.join(RR_DESIGNS)}, got '{rr_design}'", param="rr_design"
        )
    surplus = [k for k, v in given.items() if v is not None and k not in needs[rr_design]]
    if surplus:
        raise EstimationError(
            f"randomized response: {', '.join(surplus)} does not apply to the "
            f"{rr_design} design (it takes {', '.join(needs[rr_design])})"
        )
    if rr_design == "forced":
        pt = _check_prob("p_truth", p_truth, open_low=True, open_high=True)
        py = _check_prob("p_yes", p_yes, open_high=True)
        if pt + py > 1 + 1e-12:
            raise EstimationError(f"randomized response: p_truth + p_yes must be at most 1, got {pt + py:g}")
        return pt, py
    if rr_design == "warner":
        pw = _check_prob("p", p, open_low=True, open_high=True)
        if abs(2 * pw - 1) < 1e-9:
            raise EstimationError(
                "randomized response: the warner design with p = 0.5 is unidentifiable "
                "(the answers carry no information about the prevalence)"
            )
        return 2 * pw - 1, 1 - pw
    pu = _check_prob("p", p, open_low=True, open_high=True)
    q = _check_prob("p_unrelated", p_unrelated)
    return pu, (1 - pu) * q


def randomized_response(
    design,
    answer: str,
    *,
    rr_design: str,
    p_truth=None,
    p_yes=None,
    p=None,
    p_unrelated=None,
    by=None,
    level: float = 0.95,
    df="design",
) -> Table:
    """Prevalence of a sensitive attribute from randomized-response answers (see the module text for
    the three designs), with the design-based SE (that of the weighted "yes" share, divided by |a|)
    and a Wald interval. `answer` is 0/1, Boolean, or two text values one of which is
    "1"/"yes"/"y"/"true". Estimates and interval ends outside [0, 1] are reported unclipped.
    Row: statistic "randomized_response", variable = `answer`, level None; deff is that of the yes
    share (a linear transform leaves it unchanged)."""
    a, c = rr_transform(rr_design, p_truth=p_truth, p_yes=p_yes, p=p, p_unrelated=p_unrelated)
    req = Request(level, "wald", df)
    domains = make_domains(design.data, by)
    y, missing = _binary(design.data, answer, "randomized-response answer", YES_VALUES)
    var = AnalysisVar(answer, y, None, (), missing)
    out = []
    for gi in range(domains.count):
        rows, n, n_missing = domain_rows(domains, gi, var, design)
        if rows is None:
            continue
        yr = y[rows]
        w = design.weights[rows]
        theta, V = evaluate(design, rows, np.column_stack([yr, np.ones_like(yr)]), ratio_stat(1))
        lam, vlam = float(theta[0]), float(V[0, 0])
        est, v = (lam - c) / a, vlam / (a * a)
        vsrs = _srs_var_of_share(design, lam, w, rows)
        deff = vlam / vsrs if vsrs else math.nan
        dfv = resolve_df(design, rows, req.df)
        lo, hi = cimod.wald(est, math.sqrt(v) if v >= 0 else math.nan, req.level, dfv)
        out.append(
            make_row(
                "randomized_response", answer, None, domains.labels[gi], est, v, lo, hi, req, dfv, deff, n, n_missing
            )
        )
    return Table(tuple(out), design.describe())
