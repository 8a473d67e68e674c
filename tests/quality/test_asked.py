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
