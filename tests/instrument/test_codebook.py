"""Codebooks in markdown, HTML and JSON."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from quietpoll.errors import InstrumentError
from quietpoll.instrument.codebook import codebook
from quietpoll.instrument.form import Choice, Instrument, Question, load_instrument

TEMPLATE = Path(__file__).resolve().parents[2] / "src/quietpoll/instrument/templates/foreign-media.xlsx"


@pytest.fixture
def inst():
    return Instrument(
        form_id="t",
        title="Test <form> & co",
        version="1",
        languages=("English", "Korean"),
        default_language="English",
        questions=(
            Question(
                name="age",
                type="integer",
                labels={"English": "Age", "Korean": "나이"},
                constraint=". >= 0 and . < 120",
                required=True,
            ),
            Question(
                name="dev",
                type="select_multiple",
                list_name="d",
                labels={"English": "Devices | all", "Korean": "기기"},
                relevant="${age} > 15",
                group=("g",),
                group_relevant=("${age} != ''",),
            ),
            Question(name="n", type="note", labels={"English": "<b>hi</b>"}),
        ),
        choices={
            "d": (
                Choice("tv", {"English": "TV", "Korean": "텔레비전"}),
                Choice("usb", {"English": "USB", "Korean": "USB"}),
            )
        },
        repeats=(),
        source="t.xlsx",
    )


def test_markdown(inst):
    md = codebook(inst, "markdown")
    assert "# Codebook: Test <form> & co" in md
    assert "## `age` (integer)" in md and "## `g/dev` (select_multiple)" in md
    assert "label [Korean]: 나이" in md
    assert "constraint: `. >= 0 and . < 120`" in md
    assert "relevant: `${age} > 15`" in md and "group relevant: `${age} != ''`" in md
    assert "Devices \\| all" in md  # pipes escaped
    assert "| `tv` | TV | 텔레비전 |" in md
    assert "required: `yes`" in md


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)


def test_html_self_contained_and_escaped(inst):
    page = codebook(inst, "html")
    assert page.startswith("<!DOCTYPE html>")
    assert "&lt;b&gt;hi&lt;/b&gt;" in page and "<b>hi</b>" not in page
    assert "텔레비전" in page and "${age} &gt; 15" in page
    p = _Collect()
    p.feed(page)
    assert "script" not in p.tags and "link" not in p.tags and "img" not in p.tags
    assert not [v for k, v in p.attrs if k in ("src", "href")]
    assert "http" not in page


def test_json(inst):
    data = json.loads(codebook(inst, "json"))
    assert data["form_id"] == "t" and data["languages"] == ["English", "Korean"]
    dev = data["questions"][1]
    assert dev["path"] == "g/dev"
    assert dev["choices"][0] == {"name": "tv", "labels": {"English": "TV", "Korean": "텔레비전"}}
    assert dev["relevant"] == "${age} > 15"
    assert data["questions"][0]["required"] is True


def test_unknown_format(inst):
    with pytest.raises(InstrumentError, match="format"):
        codebook(inst, "pdf")


def test_template_codebook_all_formats():
    inst = load_instrument(TEMPLATE)
    for fmt in ("markdown", "html", "json"):
        text = codebook(inst, fmt)
        assert "province" in text and "량강도" in text
    data = json.loads(codebook(inst, "json"))
    assert len(data["questions"]) == len(inst.questions)
