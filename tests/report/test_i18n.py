"""The report's message catalogue: the messages extracted from the report's Python modules and its
template (pybabel, locale/babel.cfg) are exactly the committed report.pot, every one has a Korean
translation whose placeholders match, and the Korean report of the demo study contains no text of any
English message (what remains in English are data values: study.toml's [study] texts, column names
and codes, which the test removes before looking)."""

from __future__ import annotations

import html as htmlmod
import re
import tomllib
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from quietpoll.report import build_report
from quietpoll.report.i18n import catalogue_path, locale_of, translations
from quietpoll.report.methods import _weighting_texts

REPORT = Path(__file__).resolve().parents[2] / "src" / "quietpoll" / "report"
LOCALE = REPORT / "locale"


def _msgid(m) -> str | tuple:
    return m.id if isinstance(m.id, str) else tuple(m.id)


def extracted() -> set:
    method_map = [("**/templates/**.j2", "jinja2"), ("**.py", "python")]
    options = {"**/templates/**.j2": {"extensions": "jinja2.ext.i18n", "trim_blocks": "True", "lstrip_blocks": "True"}}
    out = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(REPORT), method_map, options):
        out.add(message if isinstance(message, str) else tuple(message))
    return out


@pytest.fixture(scope="module")
def korean() -> Catalog:
    with catalogue_path("ko").open("rb") as fh:
        return read_po(fh, locale="ko", domain="report")


def test_extraction_matches_the_committed_template():
    with (LOCALE / "report.pot").open("rb") as fh:
        pot = {_msgid(m) for m in read_po(fh) if m.id}
    found = extracted()
    assert len(found) > 100
    assert found == pot, f"regenerate report.pot (see locale/babel.cfg): {sorted(map(str, found ^ pot))[:5]}"


def test_every_message_has_a_korean_translation(korean):
    by_id = {_msgid(m): m for m in korean if m.id}
    for msgid in extracted():
        m = by_id.get(msgid)
        assert m is not None, f"no Korean entry for {msgid!r}"
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        assert all(s.strip() for s in strings), f"empty Korean translation of {msgid!r}"
        assert not m.fuzzy, msgid
        assert re.search(r"[\uac00-\ud7a3]", strings[0]), f"not Korean: {strings[0]!r}"


def test_placeholders_match(korean):
    errors = [(m.id, e) for m, e in korean.check() if m.id]
    assert not errors, errors[:3]
    for m in korean:
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        want = set(re.findall(r"%\(\w+\)[-.\d]*[sdf]", ids[-1]))
        assert set(re.findall(r"%\(\w+\)[-.\d]*[sdf]", strings[0])) == want, m.id
        assert ids[0].count("%%") == strings[0].count("%%"), m.id


def test_languages():
    assert locale_of("Korean") == "ko" and locale_of("Korean (ko)") == "ko"
    assert locale_of("English") == "en" and locale_of(None) == "en"
    assert locale_of("korean") == "ko" and locale_of("english") == "en"  # a Kobo form's own spelling
    assert translations("English").gettext("Weighting") == "Weighting"
    assert translations("Korean").gettext("Weighting") == "가중"
    ko = translations("Korean (ko)")
    assert (
        ko.ngettext("%(num)d interview was analysed.", "%(num)d interviews were analysed.", 2) % {"num": 2}
        == "면접 2건을 분석했습니다."
    )
    en = translations("English")
    assert (
        en.ngettext("%(num)d interview was analysed.", "%(num)d interviews were analysed.", 1) % {"num": 1}
        == "1 interview was analysed."
    )


def test_weighting_sentences_follow_the_design():
    """Three designs, three honest sentences, in both languages: weighted to margins, design weights
    without a [weighting] section, no weights at all."""
    en, ko = translations("English"), translations("Korean")
    raked = {"method": "rake", "variables": ["sex", "province"], "effective_n": 60.0}
    element, sentence = _weighting_texts(raked, None, 0.95, 2.0, en)
    assert element.startswith("raking to population margins of sex, province")
    assert "weighted to population margins of sex, province (raking)" in sentence
    element, sentence = _weighting_texts({"method": None}, "hh_weight", 0.95, 1.3, en)
    assert "design weights (column hh_weight)" in element and "no [weighting] section" in element
    assert "none" not in element and "(none" not in sentence
    assert sentence.startswith("Estimates use the design weights (column hh_weight)")
    element, sentence = _weighting_texts({"method": None}, None, 0.9, 1.0, en)
    assert element.startswith("none") and "unweighted" in sentence and "90%" in sentence
    for args in ((raked, None), ({"method": None}, "hh_weight"), ({"method": None}, None)):
        element, sentence = _weighting_texts(*args, 0.95, 1.5, ko)
        assert sentence.endswith("니다.") and re.search(r"[\uac00-\ud7a3]", element)


def _visible_text(page: str) -> str:
    page = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    page = re.sub(r"<title>.*?</title>", " ", page, flags=re.S)
    page = re.sub(r"<[^>]+>", " ", page)
    return htmlmod.unescape(page)


def test_korean_report_has_no_english_message(demo_study, tmp_path, korean):
    res = build_report(demo_study, tmp_path, language="Korean")
    page = res.html_path.read_text(encoding="utf-8")
    assert '<html lang="ko">' in page
    text = _visible_text(page)
    # data values, not sentences of the report: study.toml's own texts, the study's title, the names
    # of columns and questions and the codes of groups without a label in the form
    study = tomllib.loads((demo_study / "study.toml").read_text(encoding="utf-8"))
    values = [v for v in study["study"].values() if isinstance(v, str)]
    from quietpoll.instrument.form import load_instrument

    form = load_instrument(demo_study / study["instrument"]["path"])
    values += [v for v in (form.title, form.form_id, form.version) if v]
    data = res.data
    names = {c for t in data["tables"] for c in (t.get("question"), t.get("row"), t.get("col")) if c}
    names |= set(data["settings"]["by"]) | {q["question"] for q in data["methods"]["question_wording"]}
    names |= {s["question"] for s in data["not_tabulated"]}
    codes = {str(v) for r in data["indicators"] for v in r["domain"].values()}
    codes |= {str(c["level"]) for t in data["tables"] for c in t.get("cols", [])}
    codes |= {str(r["level"]) for t in data["tables"] for r in t["rows"] if r.get("level") is not None}
    for v in sorted(values, key=len, reverse=True):
        text = text.replace(v, " ")
    words = re.findall(r"[A-Za-z][A-Za-z'_-]*", text)
    leftover = {w for w in words if w not in names and w not in codes}
    for m in korean:
        if not m.id:
            continue
        msgids = m.id if isinstance(m.id, tuple) else (m.id,)
        for msgid in msgids:
            for fragment in re.split(r"%\(\w+\)[-.\d]*[sdf]|%%", msgid):
                fragment = fragment.strip(" .,:;()[]“”'—–-")
                if len(re.findall(r"[A-Za-z]{2,}", fragment)) >= 2:
                    assert fragment not in text, f"English message in the Korean report: {fragment!r}"
                elif re.fullmatch(r"[A-Za-z]{3,}", fragment):
                    assert fragment not in leftover, f"English word of the catalogue in the Korean report: {fragment!r}"
    # and no run of English words outside those data values, besides known technical names
    allowed = {
        "Kish",
        "Rao-Scott",
        "AAPOR",
        "study",
        "toml",
        "drop_flagged",
        "false",
        "quality",
        "weighting",
        "design",
        "forced",
        "warner",
        "unrelated",
        "p",
        "F",
        "n",
    }
    runs = [m.group(0) for m in re.finditer(r"(?:\b[A-Za-z][A-Za-z_-]+\b[ ,]+){3,}", text)]
    runs = [r for r in runs if not set(re.findall(r"[A-Za-z_-]+", r)) <= names | codes | allowed]
    assert not runs, runs[:5]
    assert "합성 데이터" in text and "주요 지표" in text and "조사 방법" in text
