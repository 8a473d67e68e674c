"""Checking response data against the questionnaire: every problem with its row, column, rule and value.

:func:`validate` takes a frame whose columns carry question names (what
:func:`quietpoll.instrument.exports.read_responses` returns in ``Responses.main``; typed or not) and
reports, with ``row`` the 0-based data row:

========================  ========================================================================
rule                      problem
========================  ========================================================================
``type``                  not an integer / not a number / not a date / not a date-time / not a time
``choice``                a select_one value not in the list; for select_multiple, any member
``constraint``            the constraint (``.`` = the answer) is false, on answered cells only
``relevance``             answered although the question (or an enclosing group) is not relevant
``required``              required (``true`` or an expression that is true), relevant, unanswered
``unknown_column``        a column the form does not know (``row`` is null)
``missing_column``        a question of the form absent from the data (``row`` is null); device-only
                          fields (``bind::quietpoll:device-only``) are never collected, never missing
========================  ========================================================================

Expressions are compiled once per question with
:func:`quietpoll.instrument.expressions.compile_expression` and evaluated over all rows at once by
polars, on a working copy of the data in which numbers and dates are parsed (a value that does not
parse is null there and is reported by the ``type`` rule only, never also as a constraint
violation). Conditions are read as XPath ``boolean()`` with ODK's semantics (an unanswered question
is ``""``/NaN, so ``${age} > 5`` is false when age is empty); should a condition still evaluate to
null it decides nothing: relevance is violated only where it is false, a constraint only where it is
false, required only where required and relevance are both true. An expression the compiler cannot
handle, or that fails when evaluated, is listed once
per question and expression in ``unsupported`` and never treated as true or false: the rule it
belongs to is skipped for that question (required too, when its relevance is unsupported).

Meta columns (``_uuid``, ``KEY``...), select_multiple indicators ``q/choice`` and geopoint parts
``q/latitude`` are known columns. Questions of pyxform's ``meta`` group (``instanceID``) and of
repeats (unless ``repeat=`` names the repeat whose table is checked) are not expected in the data.
The result is a :class:`~quietpoll.quality.results.ValidationResult` (values as text); its
``to_dict()`` is the JSON of ``quietpoll validate``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from quietpoll.errors import UnsupportedExpression
from quietpoll.instrument.exports import _Index, classify_column
from quietpoll.quality.results import Problem, Unsupported, ValidationResult
from quietpoll.instrument.typing import (
    TIME_PATTERN,
    as_text,
    choice_names,
    parse_column,
)

if TYPE_CHECKING:
    from quietpoll.instrument.form import Instrument, Question

__all__ = ["validate", "RULES", "ValidationResult"]

RULES = ("type", "choice", "constraint", "relevance", "required", "unknown_column", "missing_column")

_TYPE_MESSAGE = {
    "integer": "not an integer",
    "decimal": "not a number",
    "range": "not a number",
    "date": "not a date",
    "today": "not a date",
    "datetime": "not a date-time",
    "start": "not a date-time",
    "end": "not a date-time",
    "time": "not a time",
}
_ROW = "__qp_row__"


def _value_text(series: pl.Series) -> pl.Series:
    dtype = series.dtype
    if dtype.is_float() or dtype == pl.Boolean or isinstance(dtype, (pl.Enum, pl.Categorical)):
        return as_text(series)
    return series.cast(pl.String, strict=False)


def _missing(series: pl.Series) -> pl.Series:
    """Unanswered: null, or empty/blank text."""
    if series.dtype == pl.String:
        return series.is_null() | (series.str.strip_chars() == "")
    return series.is_null()


class _Checker:
    def __init__(self, frame: pl.DataFrame, instrument: Instrument, today: Any, repeat: str | None) -> None:
        self.frame = frame
        self.instrument = instrument
        self.today = today
        self.repeat = repeat
        self.problems: list[Problem] = []
        self.unsupported: list[Unsupported] = []
        self._reported: set[tuple[str, str]] = set()
        self.texts: dict[str, pl.Series] = {}
        self.work = self._working_frame()
        # question name -> XLSForm type, for the questions present in the data
        self.types = {q.name: q.type for q in self.questions()}
        self._compile: Callable[..., pl.Expr] | None = None
        # expression (and the question, for one reading ".") -> its value over all rows, or the reason it
        # cannot be evaluated: a group's relevance is one expression shared by every question in the group,
        # and validate() and asked_mask() on the same frame and form share them (in memory, never on disk)
        self._evaluated: dict[tuple[str, str | None], pl.Series | str] = _shared_evaluations(
            frame, instrument, today, repeat
        )

    # -- helpers ---------------------------------------------------------------------------------
    def questions(self) -> list[Question]:
        seen: set[str] = set()
        out = []
        for q in self.instrument.data_questions():
            if q.name in seen or q.name not in self.frame.columns:
                continue
            seen.add(q.name)
            out.append(q)
        return out

    def text(self, name: str) -> pl.Series:
        if name not in self.texts:
            self.texts[name] = _value_text(self.frame.get_column(name))
        return self.texts[name]

    def _working_frame(self) -> pl.DataFrame:
        """Numbers and dates parsed (null if unparseable), selects as text, for expressions."""
        cols = []
        for q in self.questions():
            series = self.frame.get_column(q.name)
            parsed = parse_column(series, q.type)
            if parsed is not None:
                cols.append(parsed.alias(q.name))
            elif q.type in ("select_one", "select_multiple") or isinstance(series.dtype, (pl.Enum, pl.Categorical)):
                cols.append(self.text(q.name).alias(q.name))
        return self.frame.with_columns(cols) if cols else self.frame

    def add(self, rows: pl.Series, column: str, rule: str, values: pl.Series | None, message: str) -> None:
        idx = rows.arg_true() if rows.dtype == pl.Boolean else rows
        if len(idx) == 0:
            return
        vals = values.gather(idx).to_list() if values is not None else [None] * len(idx)
        for i, v in zip(idx.to_list(), vals):
            self.problems.append(Problem(row=int(i), column=column, rule=rule, value=v, message=message))

    def unsupported_once(self, q: Question, expression: str, reason: str) -> None:
        key = (q.name, expression)
        if key in self._reported:
            return
        self._reported.add(key)
        self.unsupported.append(Unsupported(question=q.name, expression=expression, reason=reason))

    def evaluate(self, q: Question, expression: str, *, current: bool) -> pl.Series | None:
        """The expression over all rows as a Boolean series (null = undecided), or None if unsupported
        (reported once per question and expression). Evaluated once per expression."""
        key = (expression, q.name if current or "." in expression else None)
        if key not in self._evaluated:
            self._evaluated[key] = self._evaluate(q, expression, current=current)
        found = self._evaluated[key]
        if isinstance(found, str):
            self.unsupported_once(q, expression, found)
            return None
        return found

    def _evaluate(self, q: Question, expression: str, *, current: bool) -> pl.Series | str:
        """The expression's Boolean series, or why it cannot be evaluated."""
        if self._compile is None:
            from quietpoll.instrument import expressions

            # as_boolean reads the result as XPath boolean(); compile_expression is the fallback
            found: Callable[..., pl.Expr] = getattr(expressions, "as_boolean", expressions.compile_expression)
            self._compile = found
        try:
            expr = self._compile(
                expression,
                current=q.name if current else None,
                columns=self.types,
                today=self.today,
            )
        except UnsupportedExpression as exc:
            return str(exc) or "unsupported"
        except Exception as exc:  # noqa: BLE001 - a parse failure is reported, never assumed
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return f"cannot parse: {reason}"
        try:
            result = self.work.select(expr.alias("__r__")).to_series()
            if len(result) == 1 and self.work.height != 1:
                result = pl.Series("__r__", [result[0]] * self.work.height)
            if result.dtype != pl.Boolean:
                result = result.cast(pl.Boolean)
        except Exception as exc:  # noqa: BLE001 - e.g. a referenced question absent from the data
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return f"cannot evaluate: {reason}"
        return result

    # -- rules -----------------------------------------------------------------------------------
    def columns(self) -> None:
        index = _Index(self.instrument)
        present: set[str] = set()
        for column in self.frame.columns:
            info = classify_column(column, index, "kobo")
            if info.kind == "unknown":
                self.problems.append(
                    Problem(
                        row=None,
                        column=column,
                        rule="unknown_column",
                        value=None,
                        message=f"column {column!r} is not a question of the form",
                    )
                )
            elif info.question is not None and info.kind in ("answer", "indicator"):
                present.add(info.question)
        reported: set[str] = set()
        for q in self.instrument.data_questions():
            if q.name in present or q.name in reported:
                continue
            if q.group[:1] == ("meta",) or q.repeat != self.repeat or q.device_only:
                continue  # device-only fields (randomization draws) are never collected
            reported.add(q.name)
            self.problems.append(
                Problem(
                    row=None,
                    column=q.name,
                    rule="missing_column",
                    value=None,
                    message=f"question {q.name!r} ({q.type}) has no column in the data",
                )
            )

    def types_and_choices(self, q: Question) -> pl.Series | None:
        """Checks type and choices; returns the cells with a type error (None if none can have one)."""
        series = self.frame.get_column(q.name)
        answered = ~_missing(series)
        parsed = parse_column(series, q.type)
        bad_type = None
        if parsed is not None:
            bad = bad_type = answered & parsed.is_null()
            self.add(bad, q.name, "type", self.text(q.name), f"{_TYPE_MESSAGE.get(q.type, 'wrong type')} ({q.type})")
        elif q.type == "time":
            text = self.text(q.name).str.strip_chars()
            bad = bad_type = answered & ~text.str.contains(TIME_PATTERN).fill_null(False)
            self.add(bad, q.name, "type", self.text(q.name), "not a time (time)")
        if q.type in ("select_one", "select_multiple"):
            names = choice_names(self.instrument, q)
            if names is None:
                return bad_type
            text = self.text(q.name)
            if q.type == "select_one":
                bad = answered & ~text.str.strip_chars().is_in(names).fill_null(True)
                msg = f"not a choice of list {q.list_name!r}"
            else:
                members = text.str.strip_chars().str.split(" ").list.eval(pl.element().filter(pl.element() != ""))
                bad_members = members.list.eval(pl.element().is_in(names).not_()).list.any()
                bad = answered & bad_members.fill_null(False)
                msg = f"has a member that is not a choice of list {q.list_name!r}"
            self.add(bad, q.name, "choice", text, msg)
        return bad_type

    def relevance(self, q: Question) -> pl.Series | None | bool:
        """Combined relevance (True/False/null per row); True if always relevant; None if unsupported."""
        exprs = [*q.group_relevant, *([q.relevant] if q.relevant else [])]
        if not exprs:
            return True
        combined: pl.Series | None = None
        ok = True
        for e in exprs:
            r = self.evaluate(q, e, current=False)
            if r is None:
                ok = False
                continue
            combined = r if combined is None else (combined & r)
        if not ok:
            # relevance is undecided where no supported part is false
            if combined is None:
                return None
            return pl.select(pl.when(pl.lit(combined) == False).then(False)).to_series()  # noqa: E712
        return combined

    def rules(self, q: Question, bad_type: pl.Series | None) -> None:
        series = self.frame.get_column(q.name)
        answered = ~_missing(series)
        rel = self.relevance(q)
        if isinstance(rel, pl.Series):
            bad = answered & (rel == False).fill_null(False)  # noqa: E712
            self.add(bad, q.name, "relevance", self.text(q.name), "answered although not relevant")
        if q.constraint and bool(answered.any()):
            c = self.evaluate(q, q.constraint, current=True)
            if c is not None:
                bad = answered & (c == False).fill_null(False)  # noqa: E712
                if bad_type is not None:  # a value of the wrong type is reported once, as type
                    bad = bad & ~bad_type
                msg = q.constraint_message or f"constraint {q.constraint} is false"
                self.add(bad, q.name, "constraint", self.text(q.name), msg)
        if q.required is False or q.required is None or q.type in ("calculate", "note"):
            return
        if rel is None:
            return
        if q.required is True:
            req = pl.Series([True] * self.frame.height)
        else:
            evaluated = self.evaluate(q, str(q.required), current=False)
            if evaluated is None:
                return
            req = evaluated
        relevant = pl.Series([True] * self.frame.height) if rel is True else rel
        bad = ~answered & (req & relevant).fill_null(False)
        self.add(bad, q.name, "required", None, "required but not answered")

    def run(self) -> None:
        self.columns()
        for q in self.questions():
            bad_type = self.types_and_choices(q)
            self.rules(q, bad_type)


_LAST: list = []  # [weak reference to the frame, the form, today, repeat, the evaluations]: one slot


def _shared_evaluations(frame: pl.DataFrame, instrument: Instrument, today: Any, repeat: str | None) -> dict:
    """The expression values already computed on this very frame (the same object, still alive) for this
    form, today and repeat; else a new dict, remembered for the next checker. Only the last frame is kept,
    through a weak reference: nothing outlives the frame."""
    import weakref

    if _LAST:
        ref, form, day, rep, seen = _LAST
        if ref() is frame and form is instrument and day == today and rep == repeat:
            return seen
    found: dict = {}
    _LAST[:] = [weakref.ref(frame), instrument, today, repeat, found]
    return found


def validate(
    frame: pl.DataFrame,
    instrument: Instrument,
    *,
    today: _dt.date | str | None = None,
    repeat: str | None = None,
) -> ValidationResult:
    """Every problem of ``frame`` against ``instrument`` (see the module docstring).

    Returns a :class:`ValidationResult`: ``n_rows``, ``problems`` (:class:`Problem`: row, column, rule,
    value, message), ``unsupported`` (:class:`Unsupported`: question, expression, reason); its
    ``to_dict()`` is ``{"n_rows": N, "problems": [{"row", "column", "rule", "value", "message"}...],
    "unsupported": [{"question", "expression", "reason"}...]}``, JSON-serialisable. Problems are
    ordered by column checks first, then by question in form order, rule, and row. ``repeat`` names
    the repeat whose table ``frame`` is (its questions are then the expected columns).
    """
    checker = _Checker(frame, instrument, today, repeat)
    checker.run()
    return ValidationResult(
        n_rows=frame.height, problems=tuple(checker.problems), unsupported=tuple(checker.unsupported)
    )


def asked_mask(frame: pl.DataFrame, instrument: Instrument, questions: Sequence[str]) -> pl.DataFrame:
    """One Boolean column per question: False where the form's skip logic (the question's relevance and
    its groups') says the question was not asked in that row, True elsewhere (relevance true, or one the
    evaluator cannot decide: such a row counts as asked). For item non-response, which then counts a
    question skipped by design as not asked, never as missing."""
    checker = _Checker(frame, instrument, None, None)
    cols = []
    for name in questions:
        q = next((x for x in instrument.questions if x.name == name), None)
        rel = checker.relevance(q) if q is not None else True
        if isinstance(rel, pl.Series):
            cols.append(rel.fill_null(True).cast(pl.Boolean).alias(name))
        else:
            cols.append(pl.Series(name, [True] * frame.height, dtype=pl.Boolean))
    return pl.DataFrame(cols) if cols else pl.DataFrame()
