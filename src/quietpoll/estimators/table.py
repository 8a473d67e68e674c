"""Estimate rows and tables: what every estimator returns and every front end formats."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import polars as pl

ROW_KEYS = ("statistic", "variable", "level", "domain", "estimate", "se", "ci_low", "ci_high", "level_ci",
            "ci_method", "df", "deff", "n", "n_missing", "cv", "n_eff")


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
    """Rows of estimates, in the order asked (statistic, then domain)."""

    rows: tuple[Estimate, ...]
    design: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __add__(self, other: Table) -> Table:
        return Table(self.rows + other.rows, self.design or other.design)

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
        schema = {"statistic": pl.String, "variable": pl.String, "level": pl.String, "domain": pl.String,
                  "estimate": pl.Float64, "se": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
                  "level_ci": pl.Float64, "ci_method": pl.String, "df": pl.Float64, "deff": pl.Float64,
                  "n": pl.Int64, "n_missing": pl.Int64, "cv": pl.Float64, "n_eff": pl.Float64}
        if any("method" in r for r in rows):   # list-experiment rows name their estimator
            schema["method"] = pl.String
            rows = [{"method": None} | r for r in rows]
        return pl.DataFrame(rows, schema=schema, orient="row")


def _num(x):
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x
