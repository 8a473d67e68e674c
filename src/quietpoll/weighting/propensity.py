"""Inverse-propensity weights for a non-probability sample against a reference sample.

The method follows Meta's ``balance`` package (``balance.weighting_methods.ipw``):

1. Stack the sample (label 1) on the reference (label 0) over the same covariates. Categorical
   covariates (text, categorical, enum, boolean columns) are one-hot encoded with one column per
   level of the reference; numeric covariates are standardized with the mean and standard deviation
   of the stacked data.
2. Fit a penalized logistic regression of "in sample" on the covariates with scikit-learn's
   ``LogisticRegressionCV``. Rows are weighted by their design weights (``sample_weights`` and
   ``reference_weights``, 1 when not given), each group rescaled so that both groups carry the
   same total weight (balance's ``balance_classes=True``). The penalty (L2 or L1) strength is
   chosen by stratified k-fold cross-validation on the log loss over a fixed grid of
   ``C = 10^-4 .. 10^4``.
3. With ``p`` the fitted probability of being in the sample, each sample row gets
   ``d * (1 - p) / p`` (``d`` its design weight), scaled so the weights sum to the reference's
   total weight. Because the two groups were balanced, ``(1 - p) / p`` estimates the ratio of the
   reference density to the sample density at the row's covariates.
4. Optionally, weights larger than ``max_weight_ratio`` times the mean weight are capped at that
   value and the others scaled up so the total is unchanged (the exact fixed point, so no weight
   ends above the cap; balance's ``weight_trimming_mean_ratio`` applies the cap once).

Everything is vectorized; the only Python loops run over covariates.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from quietpoll.errors import WeightingError
from quietpoll.weighting.targets import text_series

if TYPE_CHECKING:
    from sklearn.linear_model import LogisticRegressionCV

__all__ = ["PropensityResult", "propensity_weights", "MIN_ROWS", "C_GRID"]

#: Fewest rows accepted in the sample and in the reference.
MIN_ROWS = 10

#: Grid of inverse penalty strengths searched by cross-validation.
C_GRID = np.logspace(-4.0, 4.0, 17)

_P_EPS = 1e-10


@dataclass(frozen=True)
class PropensityResult:
    """Result of :func:`propensity_weights`.

    Attributes:
        weights: one weight per sample row, summing to the reference's total weight (after any
            trimming).
        propensity: fitted probability that each sample row is in the sample rather than the
            reference (with both groups given equal total weight in the fit).
        penalty: the chosen penalty strength ``lambda = 1 / C`` of scikit-learn's ``C``; larger
            means more shrinkage towards equal weights.
        covariates: the covariates used, in the order given.
        model: a one-line description of the fitted model.
    """

    weights: np.ndarray
    propensity: np.ndarray
    penalty: float
    covariates: tuple[str, ...]
    model: str


# --------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------


def _check_design_weights(w: np.ndarray | None, n: int, which: str) -> np.ndarray:
    if w is None:
        return np.ones(n, dtype=np.float64)
    from .diagnostics import check_weights

    return check_weights(w, f"{which}_weights", n)


def _is_categorical(dtype: pl.DataType) -> bool:
    return dtype in (pl.String, pl.Categorical, pl.Boolean) or isinstance(dtype, (pl.Enum, pl.Categorical))


def _check_missing(col: pl.Series, name: str, which: str) -> None:
    n_missing = col.null_count()
    if col.dtype.is_float():
        n_missing += int(col.is_nan().sum())
    if n_missing:
        raise WeightingError(
            f"covariate '{name}' has {n_missing} missing value(s) in the {which}; "
            "impute them or drop those rows before propensity weighting"
        )
    if col.dtype.is_float() and bool(col.is_infinite().any()):
        raise WeightingError(f"covariate '{name}' has infinite values in the {which}; fix or drop those rows")


def _design_matrix(
    sample: pl.DataFrame, reference: pl.DataFrame, covariates: tuple[str, ...]
) -> tuple[np.ndarray, list[str]]:
    """Stacked model matrix (sample rows first) and its column names."""
    n_s, n_r = sample.height, reference.height
    blocks: list[np.ndarray] = []
    names: list[str] = []
    for name in covariates:
        cs, cr = sample.get_column(name), reference.get_column(name)
        _check_missing(cs, name, "sample")
        _check_missing(cr, name, "reference")
        s_cat, r_cat = _is_categorical(cs.dtype), _is_categorical(cr.dtype)
        s_num, r_num = cs.dtype.is_numeric(), cr.dtype.is_numeric()
        if s_num and r_num:
            x = np.concatenate([cs.cast(pl.Float64).to_numpy(), cr.cast(pl.Float64).to_numpy()])
            sd = x.std()
            x = (x - x.mean()) / (sd if sd > 0 else 1.0)
            blocks.append(x[:, None])
            names.append(name)
        elif (s_cat or s_num) and (r_cat or r_num):
            # categorical in at least one frame: compare levels as text
            ts, tr = text_series(cs), text_series(cr)
            levels = tr.unique().sort()
            unknown = ts.filter(~ts.is_in(levels.implode())).unique().sort()
            if unknown.len():
                shown = ", ".join(repr(v) for v in unknown.head(5).to_list())
                more = f" and {unknown.len() - 5} more" if unknown.len() > 5 else ""
                raise WeightingError(
                    f"covariate '{name}' has level(s) {shown}{more} in the sample but not in the reference; "
                    "recode or collapse them so every sample level occurs in the reference"
                )
            codes = (
                pl.concat([ts, tr])
                .replace_strict(levels, pl.int_range(levels.len(), eager=True), return_dtype=pl.Int64)
                .to_numpy()
            )
            onehot = np.zeros((n_s + n_r, levels.len()), dtype=np.float64)
            onehot[np.arange(n_s + n_r), codes] = 1.0
            blocks.append(onehot)
            names.extend(f"{name}[{lvl}]" for lvl in levels.to_list())
        else:
            raise WeightingError(
                f"covariate '{name}' has type {cs.dtype} in the sample and {cr.dtype} in the reference; "
                "use numbers or text in both"
            )
    return np.hstack(blocks), names


# --------------------------------------------------------------------------------------------
# trimming
# --------------------------------------------------------------------------------------------


def trim_weights(w: np.ndarray, max_weight_ratio: float) -> np.ndarray:
    """Cap weights at ``max_weight_ratio`` times their mean, keeping the total unchanged.

    Finds the exact solution ``w'_i = min(k * w_i, cap)`` with ``sum(w') = sum(w)`` and
    ``cap = max_weight_ratio * mean(w)`` (the mean, and so the cap, does not change because the total
    does not). The order of the weights is preserved.
    """
    w = np.asarray(w, dtype=np.float64)
    n = w.size
    total = w.sum()
    cap = max_weight_ratio * total / n
    if n == 0 or w.max() <= cap:
        return w.copy()
    order = np.argsort(-w, kind="stable")
    s = w[order]
    tail = np.cumsum(s[::-1])[::-1]  # tail[m] = sum of s[m:]
    m = np.arange(1, n)
    rest = total - m * cap
    with np.errstate(divide="ignore", invalid="ignore"):
        k = rest / tail[m]
    ok = (rest > 0) & (tail[m] > 0) & (k * s[m] <= cap * (1 + 1e-12))
    if not ok.any():
        raise WeightingError(
            f"max_weight_ratio={max_weight_ratio} cannot be met: too few rows have a positive weight; "
            "raise max_weight_ratio or leave it out"
        )
    mc = int(m[np.argmax(ok)])
    out = np.minimum(w * k[mc - 1], cap)
    out[order[:mc]] = cap
    return out


# --------------------------------------------------------------------------------------------
# the model
# --------------------------------------------------------------------------------------------


def _fit(
    X: np.ndarray, y: np.ndarray, fit_w: np.ndarray, penalty: str, cv_folds: int, seed: int
) -> tuple[LogisticRegressionCV, float]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import StratifiedKFold

    l1 = penalty == "l1"
    kwargs: dict[str, object] = dict(
        Cs=C_GRID,
        cv=StratifiedKFold(n_splits=cv_folds, shuffle=True, random_state=seed),
        scoring="neg_log_loss",
        solver="saga" if l1 else "lbfgs",
        max_iter=5000 if l1 else 1000,
        tol=1e-6 if not l1 else 1e-4,
        random_state=seed,
    )
    params = LogisticRegressionCV().get_params()
    if "use_legacy_attributes" in params:
        kwargs["use_legacy_attributes"] = False
    if params.get("penalty") == "deprecated" or "use_legacy_attributes" in params:
        kwargs["l1_ratios"] = (1.0,) if l1 else (0.0,)  # scikit-learn >= 1.8
    else:
        kwargs["penalty"] = penalty
    clf = LogisticRegressionCV(**kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y, sample_weight=fit_w)
    c = float(np.ravel(clf.C_)[0])
    return clf, c


def propensity_weights(
    sample: pl.DataFrame,
    reference: pl.DataFrame,
    covariates: Sequence[str],
    *,
    sample_weights: np.ndarray | None = None,
    reference_weights: np.ndarray | None = None,
    penalty: str = "l2",
    cv_folds: int = 5,
    max_weight_ratio: float | None = None,
    seed: int = 0,
) -> PropensityResult:
    """Inverse-propensity weights that make ``sample`` resemble ``reference`` on ``covariates``.

    Args:
        sample: the non-probability sample to weight.
        reference: a sample of the target population with the same covariate columns.
        covariates: columns to balance on. Numeric columns are standardized, text / categorical /
            boolean columns are one-hot encoded (levels compared as text).
        sample_weights: design weights of the sample (default 1); they multiply the result.
        reference_weights: design weights of the reference (default 1); the result sums to their
            total.
        penalty: ``"l2"`` (ridge, lbfgs) or ``"l1"`` (lasso, saga).
        cv_folds: folds of the stratified cross-validation that picks the penalty strength.
        max_weight_ratio: if given (> 1), cap weights at this multiple of the mean weight, keeping
            the total.
        seed: seeds the fold split and the solver, so equal inputs give equal weights.

    Raises:
        WeightingError: a covariate missing from either frame or with missing values, a sample
            level absent from the reference, fewer than :data:`MIN_ROWS` rows in either frame, or a
            bad option.
    """
    if isinstance(covariates, str):
        covariates = [covariates]
    covs = tuple(covariates)
    if not covs:
        raise WeightingError("propensity weighting needs at least one covariate; name the columns to balance on")
    dup = sorted({c for c in covs if covs.count(c) > 1})
    if dup:
        raise WeightingError(f"covariate '{dup[0]}' is named more than once; name each covariate once")
    for which, frame in (("sample", sample), ("reference", reference)):
        missing = [c for c in covs if c not in frame.columns]
        if missing:
            raise WeightingError(
                f"covariate '{missing[0]}' is not a column of the {which}; check the spelling or add it to the {which}"
            )
    n_s, n_r = sample.height, reference.height
    for which, n in (("sample", n_s), ("reference", n_r)):
        if n < MIN_ROWS:
            raise WeightingError(
                f"the {which} has {n} rows; propensity weighting needs at least {MIN_ROWS} rows in each"
            )
    if penalty not in ("l1", "l2"):
        raise WeightingError(f"penalty must be 'l1' or 'l2', not {penalty!r}")
    if isinstance(cv_folds, bool) or not isinstance(cv_folds, (int, np.integer)) or cv_folds < 2:
        raise WeightingError(f"cv_folds must be a whole number of at least 2, not {cv_folds!r}")
    if cv_folds > min(n_s, n_r):
        raise WeightingError(
            f"cv_folds={cv_folds} exceeds the rows of the smaller frame ({min(n_s, n_r)}); use fewer folds"
        )
    if max_weight_ratio is not None and not (np.isfinite(max_weight_ratio) and max_weight_ratio > 1):
        raise WeightingError(f"max_weight_ratio must be a number above 1, not {max_weight_ratio!r}")

    d_s = _check_design_weights(sample_weights, n_s, "sample")
    d_r = _check_design_weights(reference_weights, n_r, "reference")

    X, names = _design_matrix(sample, reference, covs)
    y = np.concatenate([np.ones(n_s, dtype=np.int64), np.zeros(n_r, dtype=np.int64)])
    half = (n_s + n_r) / 2.0
    fit_w = np.concatenate([d_s * (half / d_s.sum()), d_r * (half / d_r.sum())])

    clf, c = _fit(X, y, fit_w, penalty, int(cv_folds), seed)
    col = int(np.flatnonzero(clf.classes_ == 1)[0])
    p = clf.predict_proba(X[:n_s])[:, col]
    p_safe = np.clip(p, _P_EPS, 1.0 - _P_EPS)
    w = d_s * (1.0 - p_safe) / p_safe
    w *= d_r.sum() / w.sum()
    if max_weight_ratio is not None:
        w = trim_weights(w, float(max_weight_ratio))

    trim = f", weights capped at {max_weight_ratio:g} x mean" if max_weight_ratio is not None else ""
    model = (
        f"logistic regression ({penalty} penalty, lambda=1/C={1.0 / c:.4g}) of sample vs reference on "
        f"{len(names)} model column(s), chosen by {cv_folds}-fold CV on log loss; "
        f"weights d*(1-p)/p scaled to the reference total{trim}"
    )
    return PropensityResult(weights=w, propensity=p, penalty=1.0 / c, covariates=covs, model=model)
