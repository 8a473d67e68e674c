"""Item non-response counts a question only where the form asked it: a question skipped by design
(its relevance or its group's is false) is neither missing nor asked (SYNTHETIC template data)."""

from __future__ import annotations

import polars as pl

from quietpoll.demo_study import template_responses
from quietpoll.instrument.form import load_instrument
from quietpoll.instrument.templates import create_study
from quietpoll.quality.report import quality_report
from quietpoll.quality.validation import asked_mask


def test_skipped_questions_are_not_missing(tmp_path):
    study = create_study(tmp_path / "s")
    form = load_instrument(study / "form.xlsx")
    frame = template_responses(200).with_columns(pl.col("*").cast(pl.String))
    asked = asked_mask(frame, form, ["watch_freq", "ever_watched", "consent"])
    watchers = ((frame["consent"] == "yes") & (frame["ever_watched"] == "yes")).fill_null(False)
    assert asked["watch_freq"].to_list() == watchers.to_list()  # asked only of consenting watchers
    assert asked["consent"].all()  # no relevance: always asked
    report = quality_report(frame, form, threshold=0.9).to_dict()["item_nonresponse"]
    row = next(r for r in report["by_question"] if r["question"] == "watch_freq")
    assert row["asked"] == int(watchers.sum()) and row["missing"] == 0  # the skipped ones are not "missing"


def test_validate_and_asked_mask_evaluate_each_expression_once(tmp_path, monkeypatch):
    """A group's relevance is evaluated once for all its questions, and asked_mask on the frame validate
    just checked reuses validate's values; another frame (even an equal one) is evaluated afresh, with the
    same result."""
    from quietpoll.quality import validation

    study = create_study(tmp_path / "s")
    form = load_instrument(study / "form.xlsx")
    frame = template_responses(60).with_columns(pl.col("*").cast(pl.String))
    calls: list[str] = []
    original = validation._Checker._evaluate

    def counting(self, q, expression, *, current):
        calls.append(expression)
        return original(self, q, expression, current=current)

    monkeypatch.setattr(validation._Checker, "_evaluate", counting)
    validation.validate(frame, form)
    shared_exprs = [c for c in calls if "." not in c]  # one reading "." (a constraint) is per question
    assert shared_exprs and len(shared_exprs) == len(set(shared_exprs))  # each distinct expression once
    first = len(calls)
    questions = ["watch_freq", "ever_watched", "consent"]
    shared = validation.asked_mask(frame, form, questions)
    assert len(calls) == first  # nothing evaluated again on the same frame
    fresh = validation.asked_mask(frame.clone(), form, questions)
    assert len(calls) > first and shared.equals(fresh)
