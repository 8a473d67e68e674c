"""Sensitive-question designs in a released file: nothing published may decode an answer.

Two designs hide an answer from everyone, interviewer and analyst alike, and two things in a data
file undo that:

* **Randomized response.** The answer alone decodes nothing (a "yes" may be forced); the device's
  **draw** (``rr_spin``) decodes every "yes" given under "answer truthfully", and so does any column
  computed from it. Draws are device-only in the form (``bind::quietpoll:device-only``) and never
  sealed, but a file from an older client or another tool may hold them. They are always dropped:
  every device-only field of the form, every column named as a draw, every column whose name says
  draw (``draw``, ``spin``, ``rand``, ``random``, ``dice``, ``coin``, ``lottery`` as a word of it) and
  that holds fractions in [0, 1], and every column the form computes from one of these, or asks only
  depending on one (its calculation or its relevance reads it, directly or through other fields).
  Dropping them costs the estimates nothing: the estimators need only the design's probabilities.
* **List experiment.** A treated respondent (shown J control items plus the sensitive one) who
  reports J + 1 items (the *ceiling*) has said "yes" to the sensitive item; one who reports 0 (the
  *floor*) has said "no". By default (``coding="top-bottom"``) every column holding the treated
  rows' count (the count column, and with a form the fields it is computed from or that are computed
  from it, e.g. ``le_count_treat``) is top- and bottom-coded **in the treated rows only**: J + 1 is
  published as J and 0 as 1. A treated J may then be a ceiling (yes) or J of the J + 1 items (yes or
  no), a treated 1 a floor (no) or one item (yes or no): no value decodes the sensitive item, and
  the released count has the same set of values J + 1 had minus the two revealing ones. Setting
  those rows' count to missing would not do: the control items are common, so floors are rare and a
  missing treated count would read as "yes". The coding biases the difference-in-means estimate
  (towards zero by the ceiling share, upwards by the floor share); the report gives the estimate and
  its SE (simple random sampling, unweighted) on the full and on the released file. The treatment
  column (the arm) is kept, and the draw that assigned it (a draw the treatment's calculation reads)
  is dropped like every draw, but fields computed from the arm are not "functions of a draw".
  ``coding="none"`` switches the coding off; only an explicit choice does. A column the form computes
  from the count (``if(${le_count} > 4, ...)``) would give the ceiling away and cannot be coded like a
  count: it is dropped (unless the coding is off).

Designs come from the study (``[[report.indicators]]`` with ``list_experiment = {count, treatment}``
or ``randomized_response = {answer, ...}``; an optional ``control_items`` in ``list_experiment``; a
design whose count or answer column is not in the file at hand is skipped) and from flags
(:class:`SensitiveDesigns`); J is ``control_items`` when given, else the largest control
count (:func:`quietpoll.estimators.sensitive.list_counts`, which also checks the counts: whole
numbers, control rows 0..J, treated rows 0..J + 1).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import polars as pl

from quietpoll.errors import DisclosureError, QuietpollError

__all__ = [
    "ListExperiment",
    "SensitiveDesigns",
    "designs_from",
    "assess",
    "protect",
    "CODINGS",
    "DRAW_NAME",
    "ListExposure",
    "SensitiveAssessment",
]

CODINGS = ("top-bottom", "none")
#: A column name that says "randomization draw".
DRAW_NAME = re.compile(r"(?:^|[_\W])(?:draw|spin|rand|random|dice|coin|lottery)(?:$|[_\W\d])", re.IGNORECASE)
MAX_ROWS_LISTED = 100


@dataclass(frozen=True)
class ListExperiment:
    """A list experiment: the item-count column, the treatment (arm) column, J if known, and other
    columns holding the same count (``also``)."""

    count: str
    treatment: str
    control_items: int | None = None
    also: tuple[str, ...] = ()


@dataclass(frozen=True)
class SensitiveDesigns:
    """The list experiments, randomized-response answer columns and draw columns of a data file, and
    the form (if any) whose device-only fields and expressions tell which columns come from a draw."""

    lists: tuple[ListExperiment, ...] = ()
    randomized: tuple[str, ...] = ()
    draws: tuple[str, ...] = ()
    instrument: Any = None
    sources: Mapping[str, str] = field(default_factory=dict)  # where each design was declared


def _indicators(sections: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    report = (sections or {}).get("report") or {}
    items = report.get("indicators") or []
    return [i for i in items if isinstance(i, Mapping)]


def designs_from(
    *,
    sections: Mapping[str, Any] | None = None,
    instrument: Any = None,
    list_experiment: Sequence[str] | None = None,
    treatment: str | None = None,
    control_items: int | None = None,
    randomized_response: Sequence[str] = (),
    draws: Sequence[str] = (),
) -> SensitiveDesigns:
    """The designs named by a study's ``[[report.indicators]]`` (``sections``: the study file's
    sections) and by flags: ``list_experiment`` = [COUNT, other columns holding the count...] with
    ``treatment``; ``randomized_response`` answer columns; ``draws`` (draw columns). Flags add to the
    study's designs. DisclosureError when a flag needs another (a count without a treatment...)."""
    lists: list[ListExperiment] = []
    rr: list[str] = []
    sources: dict[str, str] = {}
    for ind in _indicators(sections):
        le = ind.get("list_experiment")
        if isinstance(le, Mapping):
            if not le.get("count") or not le.get("treatment"):
                raise DisclosureError(f"study indicator {ind.get('id')!r}: list_experiment needs count and treatment")
            j = le.get("control_items")
            lists.append(ListExperiment(str(le["count"]), str(le["treatment"]), None if j is None else int(j)))
            sources[str(le["count"])] = "study"
        r = ind.get("randomized_response")
        if isinstance(r, Mapping) and r.get("answer"):
            rr.append(str(r["answer"]))
            sources[str(r["answer"])] = "study"
    count_cols = [c for c in (list_experiment or ()) if c]
    if bool(count_cols) != bool(treatment):
        raise DisclosureError("--list-experiment COUNT and --treatment T go together: give both")
    if control_items is not None and not count_cols and not lists:
        raise DisclosureError("--control-items needs a list experiment (--list-experiment COUNT --treatment T)")
    if control_items is not None and (isinstance(control_items, bool) or control_items < 1):
        raise DisclosureError(f"--control-items must be a whole number of at least 1, got {control_items}")
    if count_cols:
        lists = [le for le in lists if le.count != count_cols[0]]
        lists.append(ListExperiment(count_cols[0], str(treatment), control_items, tuple(count_cols[1:])))
        sources[count_cols[0]] = "flags"
    elif control_items is not None:
        lists = [ListExperiment(le.count, le.treatment, control_items, le.also) for le in lists]
    for c in randomized_response:
        if c not in rr:
            rr.append(c)
            sources[c] = "flags"
    return SensitiveDesigns(tuple(lists), tuple(rr), tuple(dict.fromkeys(draws)), instrument, sources)


# ---- which columns come from a draw ------------------------------------------------------------
def _form_graph(instrument) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(name -> names its calculation reads, name -> names its relevance (own and groups') reads)."""
    from quietpoll.instrument.xpath import parse, references

    calc: dict[str, set[str]] = {}
    rel: dict[str, set[str]] = {}
    for q in instrument.questions:
        c: set[str] = set()
        r: set[str] = set()
        for text, into in ((q.calculation, c), (q.relevant, r), *((g, r) for g in q.group_relevant)):
            if text:
                try:
                    into |= references(parse(text))
                except Exception:  # noqa: BLE001 - an expression we cannot read: assume nothing
                    pass
        calc.setdefault(q.name, set()).update(c)
        rel.setdefault(q.name, set()).update(r)
    return calc, rel


def _closure(seeds: set[str], reads: Mapping[str, set[str]], stop: set[str]) -> set[str]:
    """Every name whose expressions read a seed, directly or through other names (not through ``stop``)."""
    out = set(seeds)
    changed = True
    while changed:
        changed = False
        for name, deps in reads.items():
            if name not in out and name not in stop and deps & out:
                out.add(name)
                changed = True
    return out


def _draw_like(frame: pl.DataFrame, name: str) -> bool:
    if not DRAW_NAME.search(name):
        return False
    s = frame.get_column(name)
    if not s.dtype.is_numeric():
        s = s.cast(pl.Float64, strict=False)
    v = s.drop_nulls().cast(pl.Float64).to_numpy()
    v = v[np.isfinite(v)]
    return v.size > 0 and bool(((v >= 0) & (v <= 1)).all()) and bool((v != np.round(v)).any())


def draw_columns(frame: pl.DataFrame, designs: SensitiveDesigns) -> list[dict[str, str]]:
    """The columns of ``frame`` that are a draw or a function of one: ``{"column", "reason"}`` each."""
    found: dict[str, str] = {}
    for c in designs.draws:
        if c not in frame.columns:
            raise DisclosureError(f"draw column {c!r} is not in the data")
        found[c] = "named as a randomization draw"
    inst = designs.instrument
    arms = {le.treatment for le in designs.lists}
    if inst is not None:
        for name in sorted(inst.device_only):
            if name in frame.columns:
                found.setdefault(name, "device-only in the form (a draw is never sealed)")
    for c in frame.columns:
        if c not in found and c not in arms and _draw_like(frame, c):
            found[c] = "looks like a randomization draw (its name, fractions in [0, 1])"
    if inst is not None:
        calc, rel = _form_graph(inst)
        reads = {n: calc.get(n, set()) | rel.get(n, set()) for n in set(calc) | set(rel)}
        # draws that assign a list experiment's arm reveal only the arm: what the arm decides is no leak
        arm_draws: set[str] = set()
        for arm in arms:
            arm_draws |= _upstream(arm, calc)
        seeds = (set(found) | set(inst.device_only)) - arms
        derived = _closure(seeds - arm_draws, reads, stop=arms) - seeds
        for name in sorted(derived):
            if name in frame.columns:
                source = sorted(reads.get(name, set()) & (seeds | derived))
                found.setdefault(name, f"computed from or asked depending on a draw ({', '.join(source)})")
    return [{"column": c, "reason": r} for c, r in found.items()]


def _upstream(name: str, calc: Mapping[str, set[str]]) -> set[str]:
    out: set[str] = set()
    stack = [name]
    while stack:
        for dep in calc.get(stack.pop(), ()):
            if dep not in out:
                out.add(dep)
                stack.append(dep)
    return out


# ---- list experiments ----------------------------------------------------------------------------
def _count_columns(frame: pl.DataFrame, le: ListExperiment, instrument) -> tuple[list[str], list[str]]:
    """(the columns holding the count: the count, ``also``, and with a form the numeric fields the
    count is computed from, e.g. ``le_count_treat``; the columns the form computes from the count)."""
    cols = [le.count, *le.also]
    derived: set[str] = set()
    if instrument is not None:
        calc, _ = _form_graph(instrument)
        types = {q.name: q.type for q in instrument.questions}
        linked = {n for n in _upstream(le.count, calc) if types.get(n) in ("integer", "decimal", "calculate")}
        cols += sorted(linked - {le.treatment} - set(cols))
        derived = _closure({le.count}, calc, stop=set()) - set(cols) - {le.treatment}
    present = [c for c in dict.fromkeys(cols) if c in frame.columns]
    return present, sorted(c for c in derived if c in frame.columns)


def _checked(frame: pl.DataFrame, le: ListExperiment):
    from quietpoll.estimators.sensitive import list_counts

    for role, c in (
        ("list-experiment count", le.count),
        ("treatment", le.treatment),
        *(("list-experiment count", a) for a in le.also),
    ):
        if c not in frame.columns:
            raise DisclosureError(f"{role} column {c!r} is not in the data")
    for c in (le.count, *le.also):
        if not frame.schema[c].is_numeric():
            raise DisclosureError(
                f"list-experiment count column {c!r} is not numeric ({frame.schema[c]}): "
                "it must hold whole numbers 0..J+1"
            )
    try:
        return list_counts(frame, le.count, le.treatment, le.control_items)
    except QuietpollError as exc:
        raise DisclosureError(str(exc)) from None


def _srs_estimate(frame: pl.DataFrame, count: str, treatment: str) -> dict[str, float | None]:
    from quietpoll.api import svydesign
    from quietpoll.estimators.sensitive import list_experiment

    try:
        row = list_experiment(svydesign(frame.select(count, treatment)), count, treatment).rows[0]
    except QuietpollError:
        return {"estimate": None, "se": None}
    est, se = float(row.estimate), float(row.se)
    return {"estimate": est if np.isfinite(est) else None, "se": se if np.isfinite(se) else None}


@dataclass(frozen=True)
class ListExposure:
    """What one list experiment's count decodes in a file: J, the treated rows at the ceiling (J + 1:
    said yes) and the floor (0: said no), the first :data:`MAX_ROWS_LISTED` of their rows, the columns
    holding the count and the columns computed from it."""

    count: str
    treatment: str
    control_items: int
    count_columns: tuple[str, ...]
    computed_from_count: tuple[str, ...]
    treated_rows: int
    ceiling_rows: int
    floor_rows: int
    rows: tuple[int, ...]

    @property
    def decodes(self) -> bool:
        """True when a treated row sits at the ceiling or the floor."""
        return bool(self.ceiling_rows or self.floor_rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "treatment": self.treatment,
            "control_items": self.control_items,
            "count_columns": list(self.count_columns),
            "computed_from_count": list(self.computed_from_count),
            "treated_rows": self.treated_rows,
            "ceiling_rows": self.ceiling_rows,
            "floor_rows": self.floor_rows,
            "rows": list(self.rows),
        }


@dataclass(frozen=True)
class SensitiveAssessment:
    """What :func:`assess` finds; ``to_dict()`` is ``sensitive_designs`` of ``quietpoll disclosure``."""

    list_experiments: tuple[ListExposure, ...]
    randomized_response: tuple[str, ...]
    draw_columns: tuple[dict[str, str], ...]  # {"column", "reason"}

    @property
    def decodable(self) -> bool:
        return bool(self.draw_columns) or any(le.decodes for le in self.list_experiments)

    def to_dict(self) -> dict[str, Any]:
        return {
            "list_experiments": [le.to_dict() for le in self.list_experiments],
            "randomized_response": [{"answer": c} for c in self.randomized_response],
            "draw_columns": [dict(d) for d in self.draw_columns],
            "decodable": self.decodable,
        }


def assess(frame: pl.DataFrame, designs: SensitiveDesigns) -> SensitiveAssessment:
    """What in ``frame`` decodes a sensitive answer (for ``disclosure``): the draw columns, and per list
    experiment J and the treated rows at the ceiling (J + 1) and the floor (0), with their row indices
    (the first :data:`MAX_ROWS_LISTED`). A design the study declares whose count (or answer) column
    is not in this file is skipped: it has nothing here to decode; one named by a flag must be there."""
    designs = _present(frame, designs)
    for c in designs.randomized:
        if c not in frame.columns:
            raise DisclosureError(f"randomized-response column {c!r} is not in the data")
    lists = []
    for le in designs.lists:
        y, t, missing, J = _checked(frame, le)
        treated = ~missing & (t == 1)
        ceiling = treated & (y == J + 1)
        floor = treated & (y == 0)
        rows = np.flatnonzero(ceiling | floor)
        count_columns, computed = _count_columns(frame, le, designs.instrument)
        lists.append(
            ListExposure(
                count=le.count,
                treatment=le.treatment,
                control_items=J,
                count_columns=tuple(count_columns),
                computed_from_count=tuple(computed),
                treated_rows=int(treated.sum()),
                ceiling_rows=int(ceiling.sum()),
                floor_rows=int(floor.sum()),
                rows=tuple(int(i) for i in rows[:MAX_ROWS_LISTED]),
            )
        )
    return SensitiveAssessment(
        list_experiments=tuple(lists),
        randomized_response=tuple(designs.randomized),
        draw_columns=tuple(draw_columns(frame, designs)),
    )


def _present(frame: pl.DataFrame, designs: SensitiveDesigns) -> SensitiveDesigns:
    def keep(column: str) -> bool:
        return column in frame.columns or designs.sources.get(column) != "study"

    return replace(
        designs,
        lists=tuple(le for le in designs.lists if keep(le.count)),
        randomized=tuple(c for c in designs.randomized if keep(c)),
    )


def protect(
    frame: pl.DataFrame,
    designs: SensitiveDesigns,
    coding: str = "top-bottom",
    protected: Iterable[str] = (),
    ignore: Iterable[str] = (),
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """``frame`` with every draw (and function of one) dropped and, unless ``coding="none"``, the
    treated rows' counts top- and bottom-coded (see the module docstring); and the report section
    (``sensitive``) saying what was done and what it costs the list-experiment estimates.
    ``protected``: columns another step needs (quasi-identifiers): a draw among them is an error;
    ``ignore``: columns another step drops anyway (direct identifiers)."""
    if coding not in CODINGS:
        raise DisclosureError(f"sensitive coding must be one of {', '.join(CODINGS)}, got {coding!r}")
    designs = _present(frame, designs)
    found = assess(frame, designs)
    protected, ignore = set(protected), set(ignore)
    dropped = [d for d in found.draw_columns if d["column"] not in ignore]
    drop = [d["column"] for d in dropped]
    for le in designs.lists:
        for c in (le.count, le.treatment, *le.also):
            if c in drop:
                raise DisclosureError(f"column {c!r} is a list-experiment column and a draw; it cannot be both")
    for c in designs.randomized:
        if c in drop:
            raise DisclosureError(
                f"randomized-response answer {c!r} is a draw or computed from one: check the form and the draw columns"
            )
    clash = sorted(protected & set(drop))
    if clash:
        raise DisclosureError(
            f"quasi-identifier {clash[0]!r} is a randomization draw (or computed from one), which "
            "release drops; take it out of --qi"
        )
    for lx in found.list_experiments:  # a function of the count cannot be coded like it: dropped
        for c in lx.computed_from_count:
            if c not in drop and c not in ignore and coding != "none":
                if c in protected:
                    raise DisclosureError(
                        f"quasi-identifier {c!r} is computed from the list-experiment count "
                        f"{lx.count!r}, which release drops; take it out of --qi"
                    )
                drop.append(c)
                dropped.append(
                    {
                        "column": c,
                        "reason": f"computed from the list-experiment count {lx.count!r} (decodes its ceiling)",
                    }
                )
    out = frame.drop(drop)
    lists = []
    for le, seen in zip(designs.lists, found.list_experiments):
        J = seen.control_items
        entry: dict[str, Any] = {
            "count": seen.count,
            "treatment": seen.treatment,
            "control_items": J,
            "treated_rows": seen.treated_rows,
            "ceiling_rows": seen.ceiling_rows,
            "floor_rows": seen.floor_rows,
        }
        entry["columns_coded"] = []
        entry["estimate_full"] = _srs_estimate(frame, le.count, le.treatment)
        if coding == "top-bottom" and seen.decodes:
            _, t, t_missing, _ = _checked(frame, ListExperiment(le.count, le.treatment, J))
            treated = pl.Series((t == 1) & ~t_missing)
            cols = [c for c in seen.count_columns if c in out.columns]
            out = out.with_columns(
                [
                    pl.when(treated & (pl.col(c) >= J + 1))
                    .then(pl.lit(J, dtype=out.schema[c]))
                    .when(treated & (pl.col(c) <= 0))
                    .then(pl.lit(1, dtype=out.schema[c]))
                    .otherwise(pl.col(c))
                    .alias(c)
                    for c in cols
                    if out.schema[c].is_numeric()
                ]
            )
            entry["columns_coded"] = cols
        entry["coding"] = (
            f"treated rows: {J + 1} (ceiling) published as {J}, 0 (floor) as 1"
            if coding == "top-bottom"
            else "none (switched off: ceiling and floor rows decode the sensitive item)"
        )
        entry["estimate_released"] = (
            _srs_estimate(out, le.count, le.treatment)
            if le.count in out.columns and le.treatment in out.columns
            else {"estimate": None, "se": None}
        )
        lists.append(entry)
    report = {
        "coding": coding,
        "dropped": dropped,
        "list_experiments": lists,
        "randomized_response": [
            {
                "answer": c,
                "note": "published as answered; the draws are dropped, and the estimator needs only "
                "the design's probabilities, so the estimate is unchanged",
            }
            for c in designs.randomized
        ],
        "estimates": "list-experiment estimates are differences in means under simple random sampling "
        "(unweighted): they show what the coding costs, not the survey's published figures",
    }
    return out, report
