"""Maximum-likelihood estimator of a list experiment (Imai 2011, JASA, "Multivariate regression
analysis for the item count technique"), intercept only, per domain.

Model: the J control items give Y(0) ~ Binomial(J, psi), the sensitive item Z ~ Bernoulli(delta),
independent; the observed count is Y = Y(0) + T Z (T = 1 for the long list). The likelihood of a
row is
    control  (T = 0, y in 0..J):    b(y)                                 b(k) = C(J, k) psi^k (1-psi)^(J-k)
    treated  (T = 1, y in 0..J+1):  delta b(y - 1) + (1 - delta) b(y)    b(-1) = b(J+1) = 0
and the estimator maximizes the design-weighted (pseudo-) log-likelihood sum_i w_i log f_i. A row's
contribution depends only on its cell (T, y), so everything below works on the 2J + 3 weighted cell
totals N0[y], N1[y]: the EM algorithm of the paper (E step: P(Z = 1 | T = 1, Y = y) =
delta b(y-1) / f(y); M step: delta = weighted mean of those, psi = weighted mean of Y - T E[Z] over J),
followed by Newton steps on the analytic score and Hessian. `fit` handles K problems at once (the
full sample, or every replicate), vectorized.

Design-based variance: Taylor designs get each row's influence -H^{-1} s_i (s_i its score, H the
weighted Hessian), times its weight, aggregated by the design's variance engine; replicate designs
re-fit under every replicate weight (cell totals from one product W[rows].T @ cells), warm-started at
the full-sample estimate. When the estimate lies on the edge of the parameter space (delta or psi
at 0 or 1) the linearization does not apply: the row has no SE on a Taylor design, with a warning.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

from ..errors import EstimationError
from . import ci as cimod
from .common import AnalysisVar, Request, domain_rows, resolve_df
from .domains import make_domains
from .sensitive import list_counts, list_row
from .table import Table

EDGE = 1e-7  # a parameter this close to 0 or 1 is on the boundary
_EM_TOL = 1e-3  # EM runs until steps are this small, then Newton polishes
_NEWTON_TOL = 1e-11


@dataclass(frozen=True)
class Fit:
    theta: np.ndarray  # (K, 2): delta, psi
    loglik: np.ndarray  # (K,)
    converged: np.ndarray  # (K,) bool
    boundary: np.ndarray  # (K,) bool: a parameter at 0 or 1
    iterations: int


def _log_binom(J: int, psi: np.ndarray) -> np.ndarray:
    """log b(k), k = 0..J, for each psi (K,) -> (K, J+1)."""
    k = np.arange(J + 1)
    lc = gammaln(J + 1) - gammaln(k + 1) - gammaln(J - k + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return lc + k * np.log(psi)[:, None] + (J - k) * np.log1p(-psi)[:, None]


def _pieces(theta: np.ndarray, J: int):
    """b(k) and its first two psi-derivatives, padded with b(-1) = b(J+1) = 0: each (K, J+3)."""
    psi = theta[:, 1]
    k = np.arange(J + 1)
    b = np.exp(_log_binom(J, psi))
    with np.errstate(divide="ignore", invalid="ignore"):
        s = k / psi[:, None] - (J - k) / (1 - psi)[:, None]
        ds = -k / psi[:, None] ** 2 - (J - k) / (1 - psi)[:, None] ** 2
    b1, b2 = b * s, b * (s * s + ds)
    pad = ((0, 0), (1, 1))
    return np.pad(b, pad), np.pad(b1, pad), np.pad(b2, pad), s, ds


def cell_log_lik(theta: np.ndarray, J: int) -> np.ndarray:
    """log f of every cell, (K, 2J+3): control y = 0..J, then treated y = 0..J+1."""
    theta = np.atleast_2d(theta)
    d = theta[:, :1]
    lb = _log_binom(J, theta[:, 1])
    b = np.pad(np.exp(lb), ((0, 0), (1, 1)))
    f1 = d * b[:, :-1] + (1 - d) * b[:, 1:]
    with np.errstate(divide="ignore"):
        return np.concatenate([lb, np.log(f1)], axis=1)


def cell_derivatives(theta: np.ndarray, J: int) -> tuple[np.ndarray, np.ndarray]:
    """Score (K, C, 2) and Hessian (K, C, 2, 2) of log f for every cell, analytic."""
    theta = np.atleast_2d(theta)
    K = theta.shape[0]
    d = theta[:, :1]
    b, b1, b2, s, ds = _pieces(theta, J)
    C = 2 * J + 3
    g = np.zeros((K, C, 2))
    h = np.zeros((K, C, 2, 2))
    g[:, : J + 1, 1] = s  # control: d/dpsi log b(y)
    h[:, : J + 1, 1, 1] = ds
    a, c = b[:, :-1], b[:, 1:]  # b(y - 1), b(y) for treated y = 0..J+1
    a1, c1, a2, c2 = b1[:, :-1], b1[:, 1:], b2[:, :-1], b2[:, 1:]
    f = d * a + (1 - d) * c
    with np.errstate(divide="ignore", invalid="ignore"):
        gd, gp = (a - c) / f, (d * a1 + (1 - d) * c1) / f
        hdp = (a1 - c1) / f - gd * gp
        hpp = (d * a2 + (1 - d) * c2) / f - gp * gp
    t = slice(J + 1, C)
    g[:, t, 0], g[:, t, 1] = gd, gp
    h[:, t, 0, 0] = -gd * gd
    h[:, t, 0, 1] = h[:, t, 1, 0] = hdp
    h[:, t, 1, 1] = hpp
    return g, h


def loglik(theta: np.ndarray, N: np.ndarray, J: int) -> np.ndarray:
    """Weighted log-likelihood sum_c N_c log f_c for each of K problems (cells with N_c = 0 skipped)."""
    lf = cell_log_lik(theta, J)
    with np.errstate(invalid="ignore"):
        return np.where(N > 0, N * lf, 0.0).sum(axis=1)


def _score_hessian(theta, N, J):
    g, h = cell_derivatives(theta, J)
    m = N > 0
    U = np.einsum("kc,kcj->kj", N, np.where(m[:, :, None], g, 0.0))
    H = np.einsum("kc,kcij->kij", N, np.where(m[:, :, None, None], h, 0.0))
    return U, H


def _em_step(theta, N, J):
    N0, N1 = N[:, : J + 1], N[:, J + 1 :]
    d = theta[:, :1]
    b = np.pad(np.exp(_log_binom(J, theta[:, 1])), ((0, 0), (1, 1)))
    num = d * b[:, :-1]
    f = num + (1 - d) * b[:, 1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        zeta = np.where(N1 > 0, num / f, 0.0)  # P(Z = 1 | T = 1, Y = y)
    W1, W = N1.sum(1), N.sum(1)
    y0, y1 = np.arange(J + 1), np.arange(J + 2)
    delta = (N1 * zeta).sum(1) / W1
    psi = ((N0 * y0).sum(1) + (N1 * (y1 - zeta)).sum(1)) / (J * W)
    return np.column_stack([delta, psi])


def _start(N, J):
    N0, N1 = N[:, : J + 1], N[:, J + 1 :]
    m0 = (N0 * np.arange(J + 1)).sum(1) / N0.sum(1)
    m1 = (N1 * np.arange(J + 2)).sum(1) / N1.sum(1)
    return np.column_stack([np.clip(m1 - m0, 0.05, 0.95), np.clip(m0 / J, 0.05, 0.95)])


def fit(N: np.ndarray, J: int, start: np.ndarray | None = None, *, algorithm: str = "em", max_em: int = 200_000) -> Fit:
    """ML fit of K problems from weighted cell totals N (K, 2J+3), vectorized over K.

    algorithm "em": EM (as Imai 2011) until steps are below 1e-3, then Newton with step halving
    (monotone, inside the unit square) to a step below 1e-11; problems whose Newton steps fail (an
    estimate on the boundary) continue with EM to a step below 1e-13. "newton": Newton from `start`
    first (for warm starts), EM only where Newton fails. A problem has converged when Newton's last
    step is below tolerance, or, for an estimate on the boundary (a parameter within 1e-7 of 0 or 1,
    then set to it), when the score there points out of the unit square."""
    N = np.atleast_2d(np.asarray(N, float))
    K = N.shape[0]
    theta = _start(N, J) if start is None else np.array(np.broadcast_to(start, (K, 2)), float)
    theta = np.clip(theta, 1e-6, 1 - 1e-6)
    its = 0
    if algorithm == "em":
        theta, n, _ = _run_em(theta, N, J, _EM_TOL, 20_000)
        its += n
    elif algorithm != "newton":
        raise ValueError(f"unknown algorithm {algorithm!r}")
    theta, ok, n = _newton(theta, N, J)
    its += n
    bad = np.flatnonzero(~ok)
    if len(bad):
        th, n, _ = _run_em(theta[bad], N[bad], J, 1e-13, max_em)
        its += n
        th = np.where(th < EDGE, 0.0, np.where(th > 1 - EDGE, 1.0, th))
        theta[bad] = th
        edge = ((th == 0) | (th == 1)).any(axis=1)
        if (~edge).any():  # an interior point after EM: Newton must now confirm it
            idx = bad[~edge]
            theta[idx], ok[idx], n = _newton(theta[idx], N[idx], J)
            its += n
        ok[bad[edge]] = _kkt(theta[bad[edge]], N[bad[edge]], J)
    boundary = ((theta <= 0) | (theta >= 1)).any(axis=1)
    return Fit(theta, loglik(theta, N, J), ok, boundary, its)


def _kkt(theta, N, J):
    """Optimality on the boundary: the score points out of the square for a parameter at 0 or 1 and
    vanishes (relative to the total weight) for a parameter inside."""
    U, _ = _score_hessian(theta, N, J)
    tol = 1e-6 * N.sum(1)[:, None]
    good = np.where(theta <= 0, U <= tol, np.where(theta >= 1, U >= -tol, np.abs(U) <= tol))
    return good.all(axis=1)


def _run_em(theta, N, J, tol, maxit):
    """EM until every problem's step is below tol (problems stop individually)."""
    theta = theta.copy()
    active = np.ones(len(theta), bool)
    done = np.zeros(len(theta), bool)
    it = 0
    for it in range(1, maxit + 1):
        idx = np.flatnonzero(active)
        new = _em_step(theta[idx], N[idx], J)
        step = np.abs(new - theta[idx]).max(axis=1)
        theta[idx] = new
        small = step < tol
        done[idx[small]] = True
        active[idx[small]] = False
        if not active.any():
            break
    return theta, it, done


def _newton(theta, N, J, maxit: int = 60):
    """Newton-Raphson with step halving, vectorized; ok where the last full step was below tolerance
    with a negative-definite Hessian."""
    theta = theta.copy()
    K = len(theta)
    ok = np.zeros(K, bool)
    failed = np.zeros(K, bool)
    ll = loglik(theta, N, J)
    it = 0
    for it in range(1, maxit + 1):
        act = np.flatnonzero(~ok & ~failed)
        if len(act) == 0:
            break
        U, H = _score_hessian(theta[act], N[act], J)
        det = H[:, 0, 0] * H[:, 1, 1] - H[:, 0, 1] * H[:, 1, 0]
        negdef = (H[:, 0, 0] < 0) & (det > 0) & np.isfinite(det)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = (
                np.column_stack(
                    [H[:, 1, 1] * U[:, 0] - H[:, 0, 1] * U[:, 1], H[:, 0, 0] * U[:, 1] - H[:, 1, 0] * U[:, 0]]
                )
                / det[:, None]
            )  # H^-1 U
        good = negdef & np.isfinite(step).all(axis=1)
        failed[act[~good]] = True
        act, step = act[good], step[good]
        size = np.abs(step).max(axis=1) if len(act) else np.zeros(0)
        conv = size < _NEWTON_TOL
        ok[act[conv]] = True
        act, step = act[~conv], step[~conv]
        lam = np.ones(len(act))
        moved = np.zeros(len(act), bool)
        for _ in range(40):  # halve until inside the square and not worse
            todo = ~moved
            if not todo.any():
                break
            cand = theta[act[todo]] - lam[todo, None] * step[todo]
            inside = ((cand > 0) & (cand < 1)).all(axis=1)
            cl = np.full(len(cand), -np.inf)
            if inside.any():
                cl[inside] = loglik(cand[inside], N[act[todo][inside]], J)
            better = inside & (cl >= ll[act[todo]] - 1e-12 * np.abs(ll[act[todo]]))
            sel = np.flatnonzero(todo)[better]
            theta[act[sel]] = cand[better]
            ll[act[sel]] = cl[better]
            moved[sel] = True
            lam[todo & ~moved] /= 2
        failed[act[~moved]] = True
    return theta, ok, it


def cell_index(y: np.ndarray, t: np.ndarray, J: int) -> np.ndarray:
    """Cell of each row: y for control rows, J + 1 + y for treated rows."""
    return (y + t * (J + 1)).astype(np.int64)


def cell_totals(design, rows, cells: np.ndarray, J: int) -> np.ndarray:
    """Weighted cell totals (2J+3,) of the rows."""
    return np.bincount(cells, weights=design.weights[rows], minlength=2 * J + 3)


def replicate_cell_totals(rep, rows, cells: np.ndarray, J: int) -> np.ndarray:
    """(R, 2J+3) cell totals under each replicate (one product W[rows].T @ indicator matrix)."""
    E = np.zeros((len(cells), 2 * J + 3))
    E[np.arange(len(cells)), cells] = 1.0
    return rep.replicate_totals(rows, E)


def list_experiment_ml(
    design,
    count: str,
    treatment: str,
    *,
    by=None,
    level: float = 0.95,
    df="design",
    control_items: int | None = None,
    algorithm: str = "em",
) -> Table:
    """Imai's (2011) ML estimate of the sensitive item's prevalence delta in each domain, with its
    design-based SE (linearization for Taylor designs, re-fitting under each replicate weight for
    replicate designs) and a Wald interval on `df`. `control_items` is J (default: the largest count
    among control rows). Rows: statistic "list_experiment", method "ml", variable = the count column.
    EstimationError when a domain lacks one arm or the fit does not converge."""
    req = Request(level, "wald", df)
    domains = make_domains(design.data, by)
    y, t, missing, J = list_counts(design.data, count, treatment, control_items)
    var = AnalysisVar(count, y.astype(float), None, (), missing)
    cells_all = cell_index(y, t, J)
    out = []
    for gi in range(domains.count):
        rows, n, n_missing = domain_rows(domains, gi, var, design)
        if rows is None:
            continue
        label = domains.labels[gi]
        cells = cells_all[rows]
        N = cell_totals(design, rows, cells, J)
        _check_arms(N, J, label, count)
        res = fit(N[None, :], J, algorithm=algorithm)
        where = _where(label)
        if not res.converged[0]:
            raise EstimationError(
                f"the ML list estimator did not converge for '{count}'{where}; use {{list_method}} diff",
                param="list_method",
            )
        theta = res.theta[0]
        boundary = bool(res.boundary[0])
        # on the boundary no linearization exists (NaN); replicates are refitted all the same
        V = design.vcov(
            rows,
            theta,
            influence=lambda: None if boundary else _taylor_scores(design, rows, cells, theta, N, J),
            reevaluate=lambda rep: _replicate_thetas(
                replicate_cell_totals(rep, rows, cells, J), theta, J, count, where, boundary
            ),
        )
        v = float(V[0, 0])
        if boundary:
            _warn_boundary(count, where, theta, replicate=not math.isnan(v))
        est = float(theta[0])
        dfv = resolve_df(design, rows, req.df)
        lo, hi = cimod.wald(est, math.sqrt(v) if v >= 0 else math.nan, req.level, dfv)
        out.append(list_row("ml", count, label, est, v, lo, hi, req, dfv, n, n_missing))
    return Table(tuple(out), design.describe())


def hessian(N: np.ndarray, theta: np.ndarray, J: int) -> np.ndarray:
    """The weighted log-likelihood's Hessian (2, 2) in (delta, psi) at theta, from cell totals N;
    minus it is the observed information (under simple random sampling with unit weights)."""
    return _score_hessian(np.atleast_2d(theta), np.atleast_2d(N), J)[1][0]


def _taylor_scores(design, rows, cells, theta, N, J):
    """Weighted influence values of (delta, psi): -H^{-1} s_i per row."""
    g, _ = cell_derivatives(theta[None, :], J)
    H = hessian(N, theta, J)
    infl_cell = -np.linalg.solve(H, g[0].T).T  # (C, 2)
    return design.weights[rows][:, None] * infl_cell[cells]


def _replicate_thetas(NR, theta, J, count, where, boundary):
    """Re-fit under every replicate (Newton warm-started at the full-sample estimate, EM where it
    fails); replicates that leave one arm without weight give no estimate (as the difference does)."""
    W0, W1 = NR[:, : J + 1].sum(1), NR[:, J + 1 :].sum(1)
    usable = (W0 > 0) & (W1 > 0)
    thetas = np.full((len(NR), 2), np.nan)
    if usable.any():
        res = fit(NR[usable], J, start=theta, algorithm="em" if boundary else "newton")
        if not res.converged.all():
            r = int(np.flatnonzero(usable)[np.flatnonzero(~res.converged)[0]]) + 1
            raise EstimationError(
                f"the ML list estimator did not converge under replicate {r} for "
                f"'{count}'{where}; use {{list_method}} diff",
                param="list_method",
            )
        thetas[usable] = res.theta
    return thetas


def _check_arms(N, J, label, count):
    if not (N[: J + 1].sum() > 0 and N[J + 1 :].sum() > 0):
        arm = "control" if not N[: J + 1].sum() > 0 else "treated"
        raise EstimationError(
            f"list experiment '{count}'{_where(label)} has no {arm} rows with weight: "
            "both arms are needed (drop this {by} column or merge its levels)",
            param="by",
        )


def _warn_boundary(count, where, theta, replicate=False):
    what = "delta" if (theta[0] < EDGE or theta[0] > 1 - EDGE) else "psi"
    tail = "its replicate SE is unreliable" if replicate else "no linearized SE exists there"
    warnings.warn(
        f"ML list estimate for '{count}'{where} is on the boundary ({what} = "
        f"{theta[0 if what == 'delta' else 1]:.3g}); {tail}",
        stacklevel=3,
    )


def _where(label: dict) -> str:
    return (" in domain " + ", ".join(f"{k}={v}" for k, v in label.items())) if label else ""
