"""The Blair & Imai (2012, Political Analysis) test for design effects in a list experiment: does
adding the sensitive item change answers to the control items (floor and ceiling effects)?

Under no design effect the joint shares pi_{y,z} = P(Y(0) = y, Z = z) follow from the cumulative
distributions F_t(y) = P(Y <= y | T = t) of the two arms:
    pi_{y,1} = F_0(y) - F_1(y)          pi_{y,0} = F_1(y) - F_0(y - 1)          y = 0..J
and all must be >= 0; a negative estimate is evidence of a design effect. The F_t are design-weighted
shares (ratios of totals), so the pi and their covariance come from `smooth.evaluate` (linearization
for Taylor designs, replicate re-evaluation for replicate designs).

The test follows the paper and its reference implementation (`ict.test` in R's list package, without
generalized moment selection): for each of the two sets {pi_{y,1}, y < J} and {pi_{y,0}, y > 0} (the
other two are non-negative by construction) the likelihood-ratio statistic
    lambda = min_{x >= 0} (pi - x)' Sigma^{-1} (pi - x)
has, at the least favourable null, a chi-bar-square distribution: p = sum_k w_k P(chi2_{m-k} > lambda),
w_k the probability that the projection of N(0, Sigma) on the non-negative orthant has k positive
components (found by simulation with a fixed seed). The two p-values are combined by Bonferroni:
p = min(1, 2 min(p_1, p_0)). Components with zero variance are left out of the test (as ict.test
leaves out estimates of exactly 0), unless they are negative, which rejects outright.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy import special  # normal and chi-squared tails (the functions scipy.stats calls)

from ..errors import EstimationError
from .common import AnalysisVar, domain_rows
from .domains import make_domains
from .sensitive import list_counts
from .smooth import Smooth, evaluate
from .table import Table

N_DRAWS = 50_000
SEED = 20120501


def _cdf_stat(J: int) -> Smooth:
    """pi_{y,1} (y = 0..J) then pi_{y,0} (y = 0..J) from totals of [1{T=1,Y<=y}, 1{T=0,Y<=y}, T, 1-T]."""
    k = J + 1

    def parts(T):
        with np.errstate(divide="ignore", invalid="ignore"):
            return T[:, :k] / T[:, 2 * k : 2 * k + 1], T[:, k : 2 * k] / T[:, 2 * k + 1 : 2 * k + 2]

    def g(T):
        F1, F0 = parts(T)
        F0m = np.concatenate([np.zeros((len(T), 1)), F0[:, :-1]], axis=1)
        return np.concatenate([F0 - F1, F1 - F0m], axis=1)

    def influence(T, theta, Y):
        F1, F0 = (a[0] for a in parts(T[None, :]))
        d1 = (Y[:, :k] - F1 * Y[:, 2 * k : 2 * k + 1]) / T[2 * k]
        d0 = (Y[:, k : 2 * k] - F0 * Y[:, 2 * k + 1 : 2 * k + 2]) / T[2 * k + 1]
        d0m = np.concatenate([np.zeros((len(Y), 1)), d0[:, :-1]], axis=1)
        return np.concatenate([d0 - d1, d1 - d0m], axis=1)

    return Smooth(g, influence)


def design_effect_test(design, count: str, treatment: str, *, by=None, control_items: int | None = None) -> list[dict]:
    """The Blair-Imai design-effect test in each domain: every pi_{y,z} with its design-based SE,
    the two likelihood-ratio statistics and p-values, and the Bonferroni-corrected p-value of the
    null hypothesis of no design effect (all pi >= 0). JSON-ready dicts, one per domain."""
    domains = make_domains(design.data, by)
    y, t, missing, J = list_counts(design.data, count, treatment, control_items)
    var = AnalysisVar(count, y.astype(float), None, (), missing)
    k = J + 1
    levels = np.arange(k)
    out = []
    for gi in range(domains.count):
        rows, n, n_missing = domain_rows(domains, gi, var, design)
        if rows is None:
            continue
        label = domains.labels[gi]
        yr, tr = y[rows], t[rows]
        le = (yr[:, None] <= levels[None, :]).astype(float)
        Y = np.concatenate([le * tr[:, None], le * (1 - tr)[:, None], tr[:, None], (1 - tr)[:, None]], axis=1)
        w = design.weights[rows]
        if not (w @ tr > 0 and w @ (1 - tr) > 0):
            arm = "treated" if not w @ tr > 0 else "control"
            where = (" in domain " + ", ".join(f"{a}={b}" for a, b in label.items())) if label else ""
            raise EstimationError(
                f"design-effect test for '{count}'{where}: no {arm} rows with weight; both arms are needed"
            )
        pi, V = evaluate(design, rows, Y, _cdf_stat(J))
        se = np.sqrt(np.clip(np.diag(V), 0, None))
        set1, set0 = np.arange(J), k + np.arange(1, k)  # pi_{y,1}, y < J;  pi_{y,0}, y > 0
        lam1, p1 = _chibar_test(pi[set1], V[np.ix_(set1, set1)])
        lam0, p0 = _chibar_test(pi[set0], V[np.ix_(set0, set0)])
        ps = [p for p in (p1, p0) if p is not None]
        p = min(1.0, 2 * min(ps)) if ps else 1.0
        out.append(
            {
                "variable": count,
                "treatment": treatment,
                "domain": dict(label),
                "control_items": J,
                "n": int(n),
                "n_missing": int(n_missing),
                "pi": [
                    {"y": int(yy), "z": z, "estimate": float(pi[i]), "se": float(se[i])}
                    for i, (z, yy) in enumerate([(1, v) for v in levels] + [(0, v) for v in levels])
                ],
                "lr_statistic_z1": lam1,
                "lr_statistic_z0": lam0,
                "p_value_z1": p1,
                "p_value_z0": p0,
                "p_value": float(p),
                "method": "Blair-Imai (2012) likelihood-ratio tests of pi >= 0 (chi-bar-square), Bonferroni",
            }
        )
    return out


def _chibar_test(pi: np.ndarray, S: np.ndarray) -> tuple[float | None, float | None]:
    """LR statistic and chi-bar-square p-value of H0: pi >= 0 (None for an empty set)."""
    if len(pi) == 0:
        return None, None
    var = np.diag(S)
    scale = max(float(np.abs(S).max()), 1e-300)
    zero = var <= 1e-14 * scale
    if (pi[zero] < -1e-12).any():
        return float("inf"), 0.0
    pi, S = pi[~zero], S[np.ix_(~zero, ~zero)]
    m = len(pi)
    if m == 0:
        return 0.0, 1.0
    if m == 1:
        lam = float(min(pi[0], 0.0) ** 2 / S[0, 0])
        return lam, float(special.ndtr(pi[0] / np.sqrt(S[0, 0])))
    lam_obs, _ = _project(pi[None, :], S)
    draws = np.random.default_rng(SEED).multivariate_normal(np.zeros(m), S, size=N_DRAWS, method="eigh")
    _, positives = _project(draws, S)
    ok = positives >= 0
    w = np.bincount(positives[ok], minlength=m + 1) / ok.sum()  # w[k]: k positive components
    lam = float(lam_obs[0])
    # chi2 with m - k degrees of freedom for k positive components; chi2_0 is a point mass at 0
    tail = np.array([special.chdtrc(m - kk, lam) if m - kk > 0 else 0.0 for kk in range(m + 1)])
    return lam, float(min(1.0, w @ tail))


def _project(theta: np.ndarray, S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row of theta (D, m): the LR statistic min_{x>=0} (theta-x)' S^{-1} (theta-x) and the
    number of positive components of the minimizer, by checking the KKT conditions of every face
    (the set A of components held at 0): u = S_AA^{-1} theta_A <= 0 and
    x_F = theta_F - S_FA u >= 0; then lambda = theta_A' u. -1 where no face fits (ties)."""
    D, m = theta.shape
    lam = np.full(D, np.nan)
    pos = np.full(D, -1, np.int64)
    tol = 1e-12 * max(1.0, float(np.abs(theta).max()))
    free_all = theta.min(axis=1) >= -tol  # A empty: theta itself is feasible
    lam[free_all], pos[free_all] = 0.0, m
    for size in range(1, m + 1):
        for A in itertools.combinations(range(m), size):
            todo = np.flatnonzero(pos < 0)
            if len(todo) == 0:
                return lam, pos
            cols = list(A)
            F = [j for j in range(m) if j not in cols]
            th = theta[todo]
            u = th[:, cols] @ np.linalg.pinv(S[np.ix_(cols, cols)]).T
            x = th[:, F] - u @ S[np.ix_(F, cols)].T if F else np.zeros((len(todo), 0))
            fits = (u <= tol).all(axis=1) & (x >= -tol).all(axis=1)
            idx = todo[fits]
            lam[idx] = np.einsum("ij,ij->i", th[fits][:, cols], u[fits])
            pos[idx] = m - size
    return lam, pos


@dataclass(frozen=True)
class DesignEffectTable(Table):
    """Estimate rows plus the design-effect test results, which go under their own top-level JSON
    key ("design_effect_test": a list with one object per domain)."""

    design_effect_test: tuple = ()

    def to_json_obj(self) -> dict:
        return {**super().to_json_obj(), "design_effect_test": list(self.design_effect_test)}
