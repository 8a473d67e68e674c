"""Estimate rows and tables: what every estimator returns and every front end formats."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import polars as pl

from ..errors import EstimationError

ROW_KEYS = (
    "statistic",
    "variable",
    "level",
    "domain",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "level_ci",
    "ci_method",
    "df",
    "deff",
    "n",
    "n_missing",
    "cv",
    "n_eff",
)


@dataclass(frozen=True)
class Estimate:
    """One published number with its uncertainty (a row of the `estimate` JSON contract)."""

    statistic: str
    variable: str
    level: str | float | None
    domain: dict[str, str]
    estimate: float
    se: float
    ci_low: float | None
    ci_high: float | None
    level_ci: float
    ci_method: str
    df: float
    deff: float | None
    n: int
    n_missing: int
    cv: float | None = None
    n_eff: float | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("estimate", "se", "ci_low", "ci_high", "deff", "cv", "n_eff"):
            d[k] = _num(d[k])
        d["df"] = None if d["df"] is None or math.isinf(d["df"]) else _num(d["df"])
        return d


@dataclass(frozen=True)
class Table:
    """Rows of estimates, in the order asked (statistic, then domain).

    Means, totals, proportions and ratios also carry their joint covariance, as R's
    ``vcov(svymean(~a + b))`` and ``svyby(..., covmat = TRUE)``: :attr:`names` labels each row,
    :meth:`coef` gives the estimates and :meth:`vcov` their (q, q) covariance across every domain
    and variable of the table (computed on first call from the `pieces` the estimators kept)."""

    rows: tuple[Estimate, ...]
    design: dict = field(default_factory=dict)
    pieces: tuple = field(default=(), kw_only=True, repr=False, compare=False)  # design/protocol.py Piece
    engine: Any = field(default=None, kw_only=True, repr=False, compare=False)  # the design that measured them
    _cache: dict = field(default_factory=dict, kw_only=True, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __add__(self, other: Table) -> Table:
        engine = self.engine if self.engine is not None else other.engine
        same = self.engine is None or other.engine is None or self.engine is other.engine
        return Table(
            self.rows + other.rows,
            self.design or other.design,
            pieces=self.pieces + other.pieces if same else (),
            engine=engine,
        )

    @property
    def names(self) -> list[str]:
        """A label per row: the domain as ``column=value`` parts, then the variable (``=level`` for a
        proportion), joined by ':' (R's svyby names, ``E:api00``, with the column named)."""
        out = []
        for r in self.rows:
            var = r.variable if r.level is None else f"{r.variable}={r.level}"
            out.append(":".join([f"{k}={v}" for k, v in r.domain.items()] + [var]))
        return out

    def coef(self) -> np.ndarray:
        """The estimates, in row order."""
        return np.array([r.estimate for r in self.rows], dtype=float)

    def vcov(self) -> np.ndarray:
        """The (q, q) covariance matrix of :meth:`coef` (EstimationError for rows that carry none:
        quantiles, list experiments, randomized response)."""
        if "vcov" not in self._cache:
            q = sum(len(np.atleast_1d(p.theta)) for p in self.pieces)
            if self.engine is None or q != len(self.rows):
                raise EstimationError(
                    "these estimates carry no joint covariance: vcov() is kept for means, "
                    "totals, proportions and ratios of one design"
                )
            self._cache["vcov"] = self.engine.vcov_joint(self.pieces) if q else np.zeros((0, 0))
        return self._cache["vcov"].copy()

    def to_dicts(self) -> list[dict]:
        return [r.to_dict() for r in self.rows]

    def to_json_obj(self) -> dict:
        return {"design": self.design, "estimates": self.to_dicts()}

    def to_polars(self) -> pl.DataFrame:
        rows = []
        for r in self.to_dicts():
            r = dict(r)
            r["domain"] = ", ".join(f"{k}={v}" for k, v in r["domain"].items())
            r["level"] = None if r["level"] is None else str(r["level"])
            rows.append(r)
        schema = {
            "statistic": pl.String,
            "variable": pl.String,
            "level": pl.String,
            "domain": pl.String,
            "estimate": pl.Float64,
            "se": pl.Float64,
            "ci_low": pl.Float64,
            "ci_high": pl.Float64,
            "level_ci": pl.Float64,
            "ci_method": pl.String,
            "df": pl.Float64,
            "deff": pl.Float64,
            "n": pl.Int64,
            "n_missing": pl.Int64,
            "cv": pl.Float64,
            "n_eff": pl.Float64,
        }
        if any("method" in r for r in rows):  # list-experiment rows name their estimator
            schema["method"] = pl.String
            rows = [{"method": None} | r for r in rows]
        return pl.DataFrame(rows, schema=schema, orient="row")


def _num(x):
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x
