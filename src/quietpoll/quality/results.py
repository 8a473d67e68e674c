"""Typed results of the checks: :class:`ValidationResult` (``validate``) and :class:`QualityReport`
(``quality_report``), frozen, with ``to_dict()`` giving exactly the JSON ``quietpoll validate`` and
``quietpoll quality`` print (its keys are a contract: scripts read them).

What callers pull out of a result is written here once: the rows of the flagged near-duplicate pairs
and what each matched (:meth:`QualityReport.flagged`), the pairs without collection metadata
(:meth:`QualityReport.pairs`), the interviewers with a flagged pair, the problem counts by rule and by
column (:meth:`ValidationResult.by_rule`, :meth:`ValidationResult.by_column`).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Problem", "Unsupported", "ValidationResult", "NearDuplicate", "FlaggedRow", "QualityReport", "jsonable"]


def jsonable(obj: Any) -> Any:
    """Plain JSON values: NaN and infinities become null, numpy scalars Python numbers."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


# -- validation ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One answer (or column, ``row`` None) that breaks a rule of the form; ``value`` as text."""

    row: int | None
    column: str
    rule: str
    value: Any
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "rule": self.rule, "value": self.value, "message": self.message}


@dataclass(frozen=True)
class Unsupported:
    """An expression of the form that was not evaluated (its rule skipped for that question)."""

    question: str
    expression: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "expression": self.expression, "reason": self.reason}


@dataclass(frozen=True)
class ValidationResult:
    """Every problem of a data set against its form, in the order of ``validate``."""

    n_rows: int
    problems: tuple[Problem, ...] = ()
    unsupported: tuple[Unsupported, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_rows": self.n_rows,
            "problems": [p.to_dict() for p in self.problems],
            "unsupported": [u.to_dict() for u in self.unsupported],
        }

    def by_rule(self) -> dict[str, int]:
        """Number of problems of each rule, rules in alphabetical order."""
        return dict(sorted(Counter(p.rule for p in self.problems).items()))

    def by_column(self) -> list[dict[str, Any]]:
        """``{"column", "rule", "count"}`` for each column and rule with a problem, sorted."""
        counts = Counter((str(p.column), p.rule) for p in self.problems)
        return [{"column": c, "rule": r, "count": n} for (c, r), n in sorted(counts.items())]

    def rows(self, rule: str | None = None) -> tuple[int, ...]:
        """The data rows (0-based, ascending, once) with a problem (of ``rule`` when given)."""
        return tuple(sorted({p.row for p in self.problems if p.row is not None and rule in (None, p.rule)}))


# -- quality -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NearDuplicate:
    """A pair of interviews (``row`` < ``match_row``) whose percent match exceeds ``threshold``.
    ``interviewer``/``match_interviewer`` are set (and printed) only when an interviewer column was
    used (``has_interviewer``)."""

    row: int
    match_row: int
    share: float
    compared: int
    threshold: float
    interviewer: Any = None
    match_interviewer: Any = None
    has_interviewer: bool = field(default=False, repr=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NearDuplicate:
        return cls(
            row=int(d["row"]),
            match_row=int(d["match_row"]),
            share=float(d["share"]),
            compared=int(d["compared"]),
            threshold=float(d["threshold"]),
            interviewer=d.get("interviewer"),
            match_interviewer=d.get("match_interviewer"),
            has_interviewer="interviewer" in d,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "row": self.row,
            "match_row": self.match_row,
            "share": self.share,
            "compared": self.compared,
        }
        if self.has_interviewer:
            out["interviewer"] = self.interviewer
            out["match_interviewer"] = self.match_interviewer
        out["threshold"] = self.threshold
        return out


@dataclass(frozen=True)
class FlaggedRow:
    """One interview of at least one flagged pair: the rows it matched and its highest percent match."""

    row: int
    matches: tuple[int, ...]
    share: float


@dataclass(frozen=True)
class QualityReport:
    """All fabrication and quality checks of one data set (``quality_report``). The near-duplicate pairs
    are typed; the interviewer checks (durations, straightlining, item non-response, interviewer
    effects) are kept as the JSON-clean records their functions return. ``durations`` is None when the
    form has no start and end; ``interviewer_effects`` None without an interviewer column."""

    n_rows: int
    questions: tuple[str, ...]
    interviewer: str | None
    threshold: float
    threshold_rule: str
    near_duplicates: tuple[NearDuplicate, ...] = ()
    durations: Any = None
    straightlining: Any = ()
    item_nonresponse: Any = None
    interviewer_effects: Any = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "n_rows": self.n_rows,
            "questions": list(self.questions),
            "interviewer": self.interviewer,
            "threshold": self.threshold,
            "threshold_rule": self.threshold_rule,
            "near_duplicates": [d.to_dict() for d in self.near_duplicates],
        }
        if self.durations is not None:
            out["durations"] = self.durations
        out["straightlining"] = self.straightlining
        out["item_nonresponse"] = self.item_nonresponse
        if self.interviewer_effects is not None:
            out["interviewer_effects"] = self.interviewer_effects
        return jsonable(out)

    def pairs(self) -> list[dict[str, Any]]:
        """The flagged pairs as published: row, match_row, share (no interviewer codes: collection
        metadata is counted, never published)."""
        return [{"row": d.row, "match_row": d.match_row, "share": d.share} for d in self.near_duplicates]

    def flagged(self) -> tuple[FlaggedRow, ...]:
        """Every interview of a flagged pair (ascending row), with the rows it matched (ascending) and its
        highest percent match. Which interview of a pair is the copy cannot be told, so both are here."""
        if not self.near_duplicates:
            return ()
        import polars as pl

        row = [d.row for d in self.near_duplicates]
        match = [d.match_row for d in self.near_duplicates]
        share = [d.share for d in self.near_duplicates]
        frame = pl.DataFrame(
            {"row": row + match, "match": match + row, "share": share * 2},
            schema={"row": pl.Int64, "match": pl.Int64, "share": pl.Float64},
        )
        frame = frame.group_by("row").agg(pl.col("match").unique().sort(), pl.col("share").max()).sort("row")
        return tuple(
            FlaggedRow(row=int(r), matches=tuple(int(m) for m in ms), share=float(s)) for r, ms, s in frame.iter_rows()
        )

    @property
    def flagged_rows(self) -> tuple[int, ...]:
        """The rows of :meth:`flagged`."""
        return tuple(f.row for f in self.flagged())

    def flagged_interviewers(self) -> set[Any]:
        """The interviewer codes of the ``row`` side of the flagged pairs (never published: counted)."""
        return {d.interviewer for d in self.near_duplicates if d.interviewer is not None}

    def findings(self, key: str) -> int:
        """Number of findings of one interviewer check (``durations``, ``straightlining``,
        ``interviewer_effects``); 0 when it did not run."""
        return len(getattr(self, key) or [])
