"""The report's framing follows the study, not the template: its opening paragraph is [report]
description (description_ko in a Korean report) or nothing; the foreign-media template carries its own
framing there; a description that is not text is refused naming the key."""

from __future__ import annotations

import pytest

from quietpoll.errors import ReportError
from quietpoll.report import build_report
from quietpoll.study import load_study, parse_report

from .test_metadata_toplines import _study


def _describe(folder, extra: str) -> None:
    toml = folder / "study.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("[report]\n", "[report]\n" + extra), encoding="utf-8")


def test_description_from_study_toml(tmp_path):
    study = _study(tmp_path / "s")
    res = build_report(study, tmp_path / "plain")
    assert "description" not in res.data and 'id="description"' not in res.html_path.read_text(encoding="utf-8")
    _describe(study, 'description = "A needs assessment of 80 households in two regions."\n')
    res = build_report(study, tmp_path / "en")
    assert res.data["description"] == "A needs assessment of 80 households in two regions."
    html = res.html_path.read_text(encoding="utf-8")
    assert '<p class="description" id="description">A needs assessment of 80 households' in html
    assert "speak freely" not in html


def test_korean_description(tmp_path):
    study = _study(tmp_path / "s", language_ko=True)
    _describe(study, 'description = "Households."\ndescription_ko = "가구 조사입니다."\n')
    assert build_report(study, tmp_path / "ko").data["description"] == "가구 조사입니다."
    assert build_report(study, tmp_path / "en", language="English").data["description"] == "Households."


def test_description_must_be_text():
    with pytest.raises(ReportError, match=r"\[report\] description must be text"):
        parse_report({"description": 3})
    with pytest.raises(ReportError, match=r"\[report\] description_ko must be text"):
        parse_report({"description_ko": " "})


def test_the_template_keeps_its_own_framing(tmp_path):
    from quietpoll.instrument.templates import create_study

    opts = load_study(create_study(tmp_path / "t")).report
    assert "cannot speak freely" in opts.description_text("English")
    assert "자유롭게 말할 수 없" in opts.description_text("Korean")
