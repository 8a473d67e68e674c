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
    assert (
        f"±{100 * m['margin_of_error']:.1f}"
        in {e["element"]: e["value"] for e in m["elements"]}["Margin of error and design effect"]
    )


def test_question_wording(built):
    words = {q["id"]: q for q in built.data["methods"]["question_wording"]}
    assert words["ever_watched"]["wording"].startswith("Have you ever watched a foreign video")
    le = [q for q in built.data["methods"]["question_wording"] if q["id"] == "watched_sk_list"]
    assert {q["question"] for q in le} >= {"le_count_control", "le_count_treat"}
    assert "South Korean video" in " ".join(q["wording"] for q in le)
    assert "randomized response" in words["knows_punished_rr"]["note"]


def _without_weighting(demo_study, target):
    """A copy of the demo study whose design has weights ([design] weights) but no [weighting]."""
    import re
    import shutil

    shutil.copytree(demo_study, target)
    text = (target / "study.toml").read_text(encoding="utf-8")
    text = re.sub(r"\n\[weighting(\.[^\]]+)?\]\n(?:(?!\n\[)[\s\S])*", "\n", text)
    assert "[weighting" not in text and 'weights = "base_weight"' in text
    (target / "study.toml").write_text(text, encoding="utf-8")
    return target


def test_design_weights_without_weighting_read_properly(demo_study, tmp_path):
    from quietpoll.report import build_report

    study = _without_weighting(demo_study, tmp_path / "study")
    res = build_report(study, tmp_path / "out", indicators=["ever_watched"])
    m = res.data["methods"]
    values = {e["element"]: e["value"] for e in m["elements"]}
    assert values["Weighting"].startswith("design weights (column base_weight); no weighting to population margins")
    assert "Estimates use the design weights (column base_weight)" in m["statement"]
    assert "(none" not in m["statement"] and "cannot speak freely" not in m["statement"]
    page = res.html_path.read_text(encoding="utf-8")
    assert "No weighting to population margins. Kish design effect of the weights" in page
    ko = build_report(study, tmp_path / "ko", indicators=["ever_watched"], language="Korean")
    assert "설계 가중치(열 base_weight)" in ko.data["methods"]["statement"]
