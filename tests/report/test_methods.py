"""The methods statement: AAPOR elements from study.toml, the margin of error with the design effect,
question wording from the form, and missing elements said to be missing."""

from __future__ import annotations

import math

from quietpoll.report.methods import MISSING


def test_elements_from_study_toml(built, demo_study):
    import tomllib

    study = tomllib.loads((demo_study / "study.toml").read_text(encoding="utf-8"))["study"]
    values = {e["element"]: e["value"] for e in built.data["methods"]["elements"]}
    assert values["Sponsor and who conducted the survey"] == study["sponsor"]
    assert values["Who was sampled and how"] == study["sampling"]
    assert values["Dates of data collection"] == study["fieldwork"]
    assert values["Mode of data collection"] == study["mode"]
    assert values["Population"] == study["population"]
    assert MISSING not in values.values()
    assert values["Data"].startswith("SYNTHETIC")
    assert str(built.data["sample"]["n_analysed"]) in values["Sample size"]


def test_margin_of_error(built):
    m = built.data["methods"]
    n = built.data["sample"]["n_analysed"]
    assert math.isclose(m["margin_of_error"], 1.959963984540054 * math.sqrt(m["kish_deff"] / (4 * n)), rel_tol=1e-12)
    assert f"±{100 * m['margin_of_error']:.1f}" in {e["element"]: e["value"] for e in m["elements"]}[
        "Margin of error and design effect"]


def test_question_wording(built):
    words = {q["id"]: q for q in built.data["methods"]["question_wording"]}
    assert words["ever_watched"]["wording"].startswith("Have you ever watched a foreign video")
    le = [q for q in built.data["methods"]["question_wording"] if q["id"] == "watched_sk_list"]
    assert {q["question"] for q in le} >= {"le_count_control", "le_count_treat"}
    assert "South Korean video" in " ".join(q["wording"] for q in le)
    assert "randomized response" in words["knows_punished_rr"]["note"]
