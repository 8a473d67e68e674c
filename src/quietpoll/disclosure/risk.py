"""Disclosure risk of a microdata file: k-anonymity, l-diversity and individual re-identification risk.

Everything is computed with polars group-bys and hash joins over the quasi-identifiers (QIs); no
Python loop runs over rows. Missing values (nulls) in a quasi-identifier are a value of their own when
equivalence classes are formed (two rows with a null age and the same other QIs share a class).

Individual risk (sdcMicro's ``measure_risk`` / ``indivRisk(method="approx")``)
------------------------------------------------------------------------------
For the equivalence class of a record, ``f`` is its sample frequency (number of rows) and ``F`` the
estimated population frequency, the sum of the sampling weights in the class. With ``p = f / F`` and
the super-population model of Benedetti & Franconi (F - f | f ~ negative binomial(f, p)), the risk is
``r = E[1 / F | f]``, evaluated as sdcMicro does:

* ``f == 1``: ``r = p / (1 - p) * log(1 / p)``                         (exact)
* ``f == 2``: ``r = p / (1 - p) - (p / (1 - p))**2 * log(1 / p)``      (exact)
* ``f >= 3``: ``r = p / (f - (1 - p))``                                (sdcMicro's approximation)

When ``p >= 1`` (the weights in the class add up to no more than its size: the sample is the
population there) the limit ``r = 1 / f`` is used; the closed forms tend to it as ``p -> 1``.
Without weights the sample is treated as the population and ``r = 1 / f``.

The expected number of re-identifications is the sum of the individual risks over all records.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from quietpoll.errors import DisclosureError

__all__ = [
    "DisclosureError",
    "disclosure_risk",
    "propose_qi",
    "RISK_THRESHOLD",
    "individual_risk",
    "RiskReport",
    "IndividualRisk",
]

#: Records whose individual risk exceeds this are counted in ``individual_risk.records_above``.
RISK_THRESHOLD = 0.1
#: How many row indices of records below k are listed.
MAX_ROWS_LISTED = 100

_RISK_METHOD = (
    "sdcMicro indivRisk approx (Benedetti-Franconi): p=f/F, F=sum of weights in the class; "
    "f=1: p/(1-p)*log(1/p); f=2: p/(1-p)-(p/(1-p))^2*log(1/p); f>=3: p/(f-(1-p)); p>=1: 1/f"
)
_UNWEIGHTED_METHOD = "unweighted: r = 1/f (the sample is taken as the population)"


# ----------------------------------------------------------------------------------------------
def individual_risk(f: np.ndarray, big_f: np.ndarray) -> np.ndarray:
    """sdcMicro's approximate Benedetti-Franconi individual risk for sample frequencies ``f`` and
    estimated population frequencies ``big_f`` (sum of weights), element-wise. See the module doc."""
    f = np.asarray(f, dtype=np.float64)
    big_f = np.asarray(big_f, dtype=np.float64)
    p = f / big_f
    q = (big_f - f) / big_f  # 1 - p, without cancellation
    out = 1.0 / f  # the p >= 1 limit
    ok = q > 1e-12
    with np.errstate(divide="ignore", invalid="ignore"):
        log_inv_p = -np.log1p(-q)  # log(1/p)
        ratio = p / q
        r1 = ratio * log_inv_p
        r2 = ratio - ratio * ratio * log_inv_p
        r3 = p / (f - q)
    out = np.where(ok & (f == 1), r1, out)
    out = np.where(ok & (f == 2), r2, out)
    out = np.where(ok & (f >= 3), r3, out)
    return out


def check_columns(frame: pl.DataFrame, names: Sequence[str] | str | None, what: str) -> list[str]:
    """The named columns as a list (a single name or None allowed), each present and listed once."""
    names = [names] if isinstance(names, str) else list(names or ())
    seen: set[str] = set()
    for name in names:
        if name not in frame.columns:
            raise DisclosureError(f"{what} column {name!r} is not in the data")
        if name in seen:
            raise DisclosureError(f"{what} column {name!r} is listed twice")
        seen.add(name)
    return names


def _weights(frame: pl.DataFrame, weights: str | np.ndarray | None) -> np.ndarray | None:
    if weights is None:
        return None
    if isinstance(weights, str):
        if weights not in frame.columns:
            raise DisclosureError(f"weight column {weights!r} is not in the data")
        col = frame.get_column(weights)
        if col.null_count():
            raise DisclosureError(f"weight column {weights!r} has {col.null_count()} missing values")
        try:
            w = col.cast(pl.Float64).to_numpy()
        except Exception as exc:  # noqa: BLE001 - turned into one line
            raise DisclosureError(f"weight column {weights!r} is not numeric") from exc
        label = f"weight column {weights!r}"
    else:
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        label = "weights"
        if w.shape[0] != frame.height:
            raise DisclosureError(f"weights have {w.shape[0]} values but the data have {frame.height} rows")
    if not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise DisclosureError(f"{label} must be finite and positive")
    return w


@dataclass(frozen=True)
class IndividualRisk:
    """sdcMicro-style individual risk: its largest and mean value, the records above ``threshold``."""

    max: float
    mean: float
    threshold: float
    records_above: int
    weighted: bool
    method: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "max": self.max,
            "mean": self.mean,
            "threshold": self.threshold,
            "records_above": self.records_above,
            "weighted": self.weighted,
            "method": self.method,
        }


@dataclass(frozen=True)
class RiskReport:
    """What :func:`disclosure_risk` measures; ``to_dict()`` is the JSON of ``quietpoll disclosure``
    (without its ``sensitive_designs``)."""

    n: int
    qi: tuple[str, ...]
    sensitive: tuple[str, ...]
    k: int
    k_anonymity: int
    records_below_k: int
    rows_below_k: tuple[int, ...]
    uniques: int
    classes: int
    l_diversity: dict[str, int]
    individual_risk: IndividualRisk
    expected_reidentifications: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "qi": list(self.qi),
            "sensitive": list(self.sensitive),
            "k": self.k,
            "k_anonymity": self.k_anonymity,
            "records_below_k": self.records_below_k,
            "rows_below_k": list(self.rows_below_k),
            "uniques": self.uniques,
            "classes": self.classes,
            "l_diversity": dict(self.l_diversity),
            "individual_risk": self.individual_risk.to_dict(),
            "expected_reidentifications": self.expected_reidentifications,
        }

    def summary(self, *, expected: bool = True) -> dict[str, Any]:
        """The headline: qi, k, k_anonymity, records_below_k, uniques (and expected_reidentifications)."""
        out = {k: v for k, v in self.to_dict().items() if k in ("qi", "k", "k_anonymity", "records_below_k", "uniques")}
        if expected:
            out["expected_reidentifications"] = self.expected_reidentifications
        return out


def disclosure_risk(
    frame: pl.DataFrame,
    qi: Sequence[str],
    *,
    sensitive: Sequence[str] = (),
    k: int = 5,
    weights: str | np.ndarray | None = None,
) -> RiskReport:
    """Disclosure-risk measures of ``frame`` over the quasi-identifiers ``qi`` (a :class:`RiskReport`).

    Fields (and keys of its ``to_dict()``): ``n``, ``qi``, ``sensitive``, ``k``, ``k_anonymity`` (smallest
    equivalence-class size),
    ``records_below_k``, ``rows_below_k`` (first 100 row indices, ascending), ``uniques`` (records in
    classes of size 1), ``classes``, ``l_diversity`` (per sensitive column: the smallest number of
    distinct non-missing sensitive values within a class; a class with only missing values counts 0),
    ``individual_risk`` (``max``, ``mean``, ``threshold``, ``records_above`` = records with risk above
    the threshold, ``method``, ``weighted``), ``expected_reidentifications`` (sum of the risks).
    """
    if not isinstance(frame, pl.DataFrame):
        raise DisclosureError("disclosure risk needs a polars DataFrame")
    if isinstance(qi, str):
        qi = [qi]
    if not qi:
        raise DisclosureError("no quasi-identifiers given: name at least one with --qi")
    qi = check_columns(frame, qi, "quasi-identifier")
    sensitive = check_columns(frame, sensitive, "sensitive")
    both = [s for s in sensitive if s in qi]
    if both:
        raise DisclosureError(f"column {both[0]!r} is both a quasi-identifier and a sensitive column")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise DisclosureError(f"k must be an integer of at least 2 (got {k!r})")
    k = int(k)
    w = _weights(frame, weights)
    n = frame.height
    if n == 0:
        raise DisclosureError("the data have no rows")

    # one hash group-by gives the classes, their sizes, weight sums and sensitive diversity
    data = frame.select(qi + sensitive)
    aggs: list[pl.Expr] = [pl.len().alias("__f")]
    if w is not None:
        data = data.with_columns(pl.Series("__w", w))
        aggs.append(pl.col("__w").sum().alias("__F"))
    aggs += [pl.col(s).drop_nulls().n_unique().alias(f"__l{j}") for j, s in enumerate(sensitive)]
    classes = data.group_by(qi).agg(aggs)

    sizes = classes.get_column("__f").to_numpy()
    k_anon = int(sizes.min())
    below = sizes < k
    records_below = int(sizes[below].sum())
    uniques = int((sizes == 1).sum())

    # risk per class, then per record through the class sizes (sum over classes of f * r)
    if w is None:
        r_class = 1.0 / sizes
        method = _UNWEIGHTED_METHOD
    else:
        r_class = individual_risk(sizes, classes.get_column("__F").to_numpy())
        method = _RISK_METHOD
    expected = float(np.sum(sizes * r_class))
    records_above = int(sizes[r_class > RISK_THRESHOLD].sum())

    rows_below: list[int] = []
    if records_below:
        small = classes.filter(pl.col("__f") < k).select(qi)
        hits = (
            frame.select(qi)
            .with_row_index("__row")
            .join(small, on=qi, how="semi", nulls_equal=True)
            .get_column("__row")
            .head(MAX_ROWS_LISTED)
        )
        rows_below = [int(i) for i in hits.sort().to_list()]

    l_div = {s: int(classes.get_column(f"__l{j}").to_numpy().min()) for j, s in enumerate(sensitive)}
    return RiskReport(
        n=int(n),
        qi=tuple(qi),
        sensitive=tuple(sensitive),
        k=k,
        k_anonymity=k_anon,
        records_below_k=records_below,
        rows_below_k=tuple(rows_below),
        uniques=uniques,
        classes=int(classes.height),
        l_diversity=l_div,
        individual_risk=IndividualRisk(
            max=float(r_class.max()),
            mean=expected / n,
            threshold=RISK_THRESHOLD,
            records_above=records_above,
            weighted=w is not None,
            method=method,
        ),
        expected_reidentifications=expected,
    )


# ----------------------------------------------------------------------------------------------
# Proposing quasi-identifiers from the form.
#
# Heuristic: a question of the main form (not inside a repeat) is proposed when
#   * it is a select_one question and a token of its name (split on "_", "-", ".") or a word of its
#     label (any language) is one of the profile themes below, or
#   * it is an integer/decimal question whose name has a token in _NUMERIC_THEMES (year_left, age,
#     birth_year: exact years and ages are strong identifiers).
# Questions keep the form's order.
_THEMES = frozenset(
    {
        "sex",
        "gender",
        "age",
        "province",
        "region",
        "district",
        "county",
        "city",
        "town",
        "village",
        "settlement",
        "urban",
        "rural",
        "residence",
        "occupation",
        "job",
        "profession",
        "education",
        "school",
        "status",
        "marital",
        "ethnicity",
        "ethnic",
        "religion",
        "nationality",
        "arrival",
        "birth",
        "born",
    }
)
_LABEL_THEMES = frozenset(
    {
        "sex",
        "gender",
        "age",
        "province",
        "region",
        "district",
        "county",
        "settlement",
        "occupation",
        "education",
        "marital",
        "ethnicity",
        "religion",
        "nationality",
    }
)
_NUMERIC_THEMES = frozenset({"age", "year", "born", "birth"})


def _tokens(text: str) -> set[str]:
    return {t for t in re.split(r"[^0-9a-z]+", text.lower()) if t}


def propose_qi(instrument: Any) -> list[str]:
    """Names of the form's profile / weighting questions to use as quasi-identifiers (see the heuristic
    above ``propose_qi`` in this module)."""
    out: list[str] = []
    for q in instrument.questions:
        if q.repeat is not None or q.name in out:
            continue
        kind = q.type.split()[0] if q.type else ""
        name_tokens = _tokens(q.name)
        if kind == "select_one":
            label_tokens: set[str] = set()
            for text in (q.labels or {}).values():
                label_tokens |= _tokens(str(text))
            if name_tokens & _THEMES or label_tokens & _LABEL_THEMES:
                out.append(q.name)
        elif kind in ("integer", "decimal") and name_tokens & _NUMERIC_THEMES:
            out.append(q.name)
    return out
