"""[report] options and indicators: every bad option named in a ReportError."""

from __future__ import annotations

import polars as pl
import pytest

from quietpoll.errors import ReportError
from quietpoll.report.options import check_against, parse_options

IND = [
    {"id": "a", "label": "A", "variable": "x", "level": "yes"},
    {"id": "b", "label": "B", "label_ko": "비", "list_experiment": {"count": "c", "treatment": "t"}, "direct": "a"},
]


def test_defaults_and_kinds():
    o = parse_options({"report": {"indicators": IND, "by": "s"}, "study": {"synthetic": True}})
    assert o.language == "English" and o.min_cell == 10 and o.by == ("s",) and o.dominance == (2, 85.0)
    assert [i.kind for i in o.indicators] == ["proportion", "list_experiment"]
    assert o.indicators[1].text("Korean") == "비" and o.indicators[0].text("Korean") == "A"
    assert o.synthetic
    assert [i.id for i in parse_options({"report": {"indicators": IND}}, only=["b"]).indicators] == ["b"]


@pytest.mark.parametrize(
    "section, msg",
    [
        ({"colour": "red"}, "unknown key"),
        ({"indicators": [IND[0], IND[0]]}, "used twice"),
        (
            {"indicators": [{"id": "a", "variable": "x", "list_experiment": {"count": "c", "treatment": "t"}}]},
            "exactly one of",
        ),
        ({"indicators": [{"id": "a", "list_experiment": {"count": "c"}}]}, "list_experiment must be"),
        ({"indicators": [{"id": "a", "randomized_response": {"answer": "r"}}]}, "randomized_response must"),
        ({"indicators": [{"label": "no id", "variable": "x"}]}, "needs an id"),
        ({"indicators": [{"id": "a", "variable": "x", "direct": "zz"}]}, "direct = 'zz'"),
        ({"min_cell": 0}, "min_cell must be at least 1"),
        ({"min_cell": "ten"}, "whole numbers"),
        ({"dominance": [0, 50]}, "dominance"),
        ({"level": 1.5}, "level must be between"),
    ],
)
def test_bad_options(section, msg):
    with pytest.raises(ReportError, match=msg):
        parse_options({"report": section})


def test_unknown_indicator_named():
    with pytest.raises(ReportError, match="unknown indicator 'zz'.*defines: a, b"):
        parse_options({"report": {"indicators": IND}}, only=["zz"])


def test_checked_against_data():
    frame = pl.DataFrame({"x": ["yes", "no"], "c": [1, 2], "t": [0, 1], "s": ["p", "q"]})
    opts = parse_options({"report": {"indicators": IND, "by": ["s"]}})
    check_against(opts, frame, ("English", "Korean"))
    with pytest.raises(ReportError, match="unknown language 'French'"):
        check_against(parse_options({"report": {"language": "French"}}), frame, ("English", "Korean"))
    with pytest.raises(ReportError, match="column 'zz'"):
        check_against(parse_options({"report": {"by": ["zz"]}}), frame, ())
    with pytest.raises(ReportError, match="indicator 'a' names column 'x'"):
        check_against(opts, frame.drop("x"), ())
    bad = parse_options({"report": {"indicators": [dict(IND[0], level="maybe")]}})
    with pytest.raises(ReportError, match="level 'maybe' does not occur"):
        check_against(bad, frame, ())


def test_language_resolution():
    from quietpoll.report.options import resolve_language

    assert resolve_language("Korean", ("English (en)", "Korean (ko)")) == "Korean (ko)"
    assert resolve_language("Korean", ("English", "Korean")) == "Korean"
    assert resolve_language("English", ("english", "french")) == "english"  # a Kobo form's own spelling
    with pytest.raises(ReportError, match="unknown language 'German'"):
        resolve_language("German", ("english", "french"))
    with pytest.raises(ReportError, match="unknown language 'Japanese'"):
        resolve_language("Japanese", ("English (en)", "Korean (ko)"))
    # a language code: the form's code in brackets, or Babel's English name of the code
    assert resolve_language("ko", ("English (en)", "Korean (ko)")) == "Korean (ko)"
    assert resolve_language("ko", ("English", "Korean")) == "Korean"
    assert resolve_language("KO", ("english", "korean")) == "korean"
    assert resolve_language("ko_KP", ("English", "Korean")) == "Korean"
    for bad in ("fr", "xx", "", "ko (", "ja-JP"):
        with pytest.raises(ReportError, match="unknown language"):
            resolve_language(bad, ("English", "Korean"))


def test_p_percent_option():
    assert parse_options({"report": {"p_percent": 10}}).p_percent == 10.0
    assert parse_options({"report": {}}).p_percent is None
    with pytest.raises(ReportError, match="p_percent"):
        parse_options({"report": {"p_percent": 0}})
