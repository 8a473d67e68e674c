# ruff: noqa: E501  (the table of forms is kept one case per line)
"""The browser form's server side without a browser: which forms it refuses (browser_unsupported),
what the page holds (no calculation values, repeats as templates), and the service-worker version
that changes with the form or the bundle so a new version replaces the old cache."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from quietpoll.collect import web
from quietpoll.collect.web import BROWSER_FUNCTIONS, browser_unsupported, render_form
from quietpoll.instrument.form import load_instrument

KEY = json.loads((Path(__file__).with_name("vectors.json")).read_text(encoding="utf-8"))["public_key_b64"]
TEMPLATE = Path(__file__).parents[2] / "src" / "quietpoll" / "instrument" / "templates" / "foreign-media.xlsx"
HEADER = "| survey |\n|  | type | name | label | relevant | constraint | calculation | choice_filter |\n"
CHOICES = """| choices |
|  | list_name | name | label |
|  | yn | yes | Yes |
|  | yn | no | No |
| settings |
|  | form_id | version |
|  | probe | {version} |
"""


def _form(tmp_path, rows: list[str], version: str = "1") -> object:
    path = tmp_path / "probe.md"
    path.write_text(HEADER + "".join(f"|  | {r} |\n" for r in rows) + CHOICES.format(version=version), encoding="utf-8")
    return load_instrument(path)


def test_the_template_is_accepted():
    assert browser_unsupported(load_instrument(TEMPLATE)) == []


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            ["integer | n | N | | | | ", "integer | s | S | | | | ", "calculate | t | | | | sum(${n}) | "],
            "t (calculation) uses sum(), which the browser form does not implement",
        ),
        (["calculate | d | | | | random() | "], "d (calculation) uses random() outside once()"),
        (["integer | n | N | random() < 0.5 | | | "], "n (relevant) uses random() outside once()"),
        (["geopoint | g | Where | | | | "], "g (type geopoint): the browser form has no input for this type"),
        (["image | p | Photo | | | | "], "p (type photo)"),
        (
            ["text | a | A | | regex(., ${b}) | | ", "text | b | B | | | | "],
            "regex() with a pattern that is not a literal",
        ),
        (["text | a | A | | regex(., '(') | | "], "invalid regex() pattern"),
        (["text | a | A | /data/b = 'x' | | | ", "text | b | B | | | | "], "an XPath path"),
        (
            ["text | a | A | | | | ", "select_one yn | o | O | | | | ${a} = filter"],
            "o (choice_filter) reads the column 'filter', which the choice list 'yn' does not have",
        ),
        (
            [
                "text | a | A | | | | ",
                "begin_repeat | r | R | | | | ",
                "integer | age | Age | | | | ",
                "end_repeat | | | | | | ",
                "integer | n | N | ${age} > 3 | | | ",
            ],
            "reads ${age} inside the repeat 'r' from outside it",
        ),
        (
            ["calculate | x | | | | ${y} + 1 | ", "calculate | y | | | | ${x} + 1 | "],
            "depend on each other in a circle",
        ),
        (
            ["integer | n | N | | | | ", "integer | m | M | | | round(${n}, 1, 2) | "],
            "m (calculation) calls round() with 3",
        ),
        (["integer | n | N | | | | ", "calculate | c | | | | substring(${n}, 1) | "], "substring()"),
        (
            ["deviceid | deviceid | | | | | ", "integer | n | N | ${deviceid} = 'x' | | | "],
            "reads ${deviceid} (type deviceid), which the browser form leaves empty",
        ),
        (
            ["end | end | | | | | ", "integer | n | N | ${end} != '' | | | "],
            "reads ${end} (end), which is only known when",
        ),
    ],
)
def test_refused_with_a_reason(tmp_path, rows, expected):
    problems = browser_unsupported(_form(tmp_path, rows))
    assert any(expected in p for p in problems), problems


def test_accepted_constructs(tmp_path):
    rows = [
        "integer | n | N | | . >= 0 | | ",
        "calculate | draw | | | | once(random()) | ",
        "calculate | arm | | | | if(${draw} < 0.5, 1, 0) | ",
        "select_multiple yn | s | S | ${arm} = 1 and -${n} < 0 | count-selected(.) <= 2 | | ",
        "select_one yn | o | O | | | | selected(${s}, name)",
        "begin_repeat | r | R | ${n} > 0 | | | ",
        "integer | age | Age | ../n > 1 and ${n} mod 2 = 0 | | | ",
        "calculate | older | | | | ${age} + ${n} div 2 | ",
        "end_repeat | | | | | | ",
        "text | t | T | | regex(., '^[a-z]+$') and string-length(.) < 9 | | ",
        "calculate | label | | | | concat(coalesce(${t}, 'none'), int(number(${n})), today()) | ",
        "deviceid | deviceid | | | | | ",
    ]
    assert browser_unsupported(_form(tmp_path, rows)) == []


def test_calculations_and_draws_are_never_in_the_page(tmp_path):
    rows = ["calculate | draw | | | | once(random()) | ", "integer | n | N | ${draw} < 0.5 | | | "]
    html = render_form(_form(tmp_path, rows), KEY)
    calc = re.search(r'<div class="q calc" data-name="draw"[^>]*>(.*?)</div>', html)
    assert calc and calc.group(1) == "" and " hidden>" in calc.group(0)
    assert "value=" not in calc.group(0) and 'type="hidden"' not in html


def test_repeat_is_a_template_with_add_and_remove(tmp_path):
    rows = [
        "integer | n | N | | | | ",
        "begin_repeat | member | Member | ${n} > 0 | | | ",
        "select_one yn | works | Works | | | | ",
        "end_repeat | | | | | | ",
    ]
    html = render_form(_form(tmp_path, rows), KEY)
    section = html[html.index('<section class="repeat" data-repeat="member"') : html.index("</section>")]
    assert "data-group-relevant" in section and "&#34;${n} \\u003e 0&#34;" in section
    assert '<template><fieldset class="instance"' in section and 'name="works"' in section
    assert "data-add" in section and "data-remove" in section


def test_service_worker_version_follows_the_form_and_the_bundle(tmp_path, monkeypatch):
    rows = ["integer | n | N | | | | "]
    v1 = re.search(r'data-sw="/sw.js\?v=([0-9a-f]{16})"', render_form(_form(tmp_path, rows, "1"), KEY)).group(1)
    again = re.search(r'data-sw="/sw.js\?v=([0-9a-f]{16})"', render_form(_form(tmp_path, rows, "1"), KEY)).group(1)
    v2 = re.search(r'data-sw="/sw.js\?v=([0-9a-f]{16})"', render_form(_form(tmp_path, rows, "2"), KEY)).group(1)
    assert v1 == again and v1 != v2
    monkeypatch.setattr(web, "_bundle_digest", lambda: b"another bundle")
    v3 = re.search(r'data-sw="/sw.js\?v=([0-9a-f]{16})"', render_form(_form(tmp_path, rows, "1"), KEY)).group(1)
    assert v3 != v1


def test_committed_bundle_is_the_build_of_the_sources(tmp_path):
    """collect/static/ is what `cd web && npm run build` makes from web/src (needs node and web/node_modules)."""
    bundle = (web.STATIC_DIR / "form.js").read_text(encoding="utf-8")
    for name in BROWSER_FUNCTIONS:
        assert f'"{name}"' in bundle or f"{name}:" in bundle, name
    webdir = Path(__file__).parents[2] / "web"
    node = shutil.which("node")
    if node is None or not (webdir / "node_modules" / "esbuild").is_dir():
        message = "node or web/node_modules missing: cannot rebuild the bundle to compare (scripts/install-web-deps.sh)"
        if os.environ.get("CI"):
            pytest.fail(message)  # `make test` installs them; in CI a missing toolchain is a failure
        pytest.skip(message)
    subprocess.run(
        [node, "build.mjs"],
        cwd=webdir,
        env={**os.environ, "QUIETPOLL_WEB_OUT": str(tmp_path)},
        check=True,
        capture_output=True,
        timeout=120,
    )
    for name in ("form.js", "form.css", "sw.js", "supervisor.js"):
        assert (tmp_path / name).read_bytes() == (web.STATIC_DIR / name).read_bytes(), f"{name}: run npm run build"


# -- defaults, read_only, repeat_count, choice columns (issue 5 follow-up) ------------------------------------

FEATURES = """| survey |
|  | type | name | label | default | read_only | repeat_count | choice_filter | calculation | relevant |
|  | select_one prov | prov | Province | p1 | | | | | |
|  | select_one city | city | City | | | | province=${prov} and pop > 3 | | |
|  | integer | n | N | 2 | | | | | |
|  | integer | twice | Twice | | yes | | | ${n} * 2 | |
|  | text | ro | Fixed | fixed | yes | | | | |
|  | select_multiple prov | both | Both | p1 p2 | ${n} > 5 | | | | |
|  | decimal | share | Share | 0.5 | | | | | |
|  | date | d | D | 2024-01-02 | | | | | |
|  | begin_repeat | kids | Kids | | | ${n} | | | |
|  | text | kname | Name | anon | | | | | |
|  | end_repeat | | | | | | | | |
|  | begin_repeat | pets | Pets | | | 3 | | | |
|  | text | pname | Name | | | | | | |
|  | end_repeat | | | | | | | | |
| choices |
|  | list_name | name | label | province | pop |
|  | prov | p1 | P1 | | |
|  | prov | p2 | P2 | | |
|  | city | c1 | C1 | p1 | 5 |
|  | city | c2 | C2 | p2 | 2 |
| settings |
|  | form_id |
|  | features |
"""


def _features(tmp_path, replace: tuple[str, str] | None = None):
    text = FEATURES if replace is None else FEATURES.replace(*replace)
    path = tmp_path / "features.md"
    path.write_text(text, encoding="utf-8")
    return load_instrument(path)


def test_defaults_read_only_counts_and_choice_columns_are_accepted_and_rendered(tmp_path):
    inst = _features(tmp_path)
    assert browser_unsupported(inst) == []
    html = render_form(inst, KEY)
    assert re.search(r'<input[^>]*name="prov" value="p1" checked>', html)
    assert re.search(r'<input[^>]*name="n" type="number"[^>]*value="2"', html)
    assert re.search(r'<input[^>]*name="ro"[^>]*value="fixed" readonly', html)
    assert re.search(r'<input[^>]*name="both" value="p1" checked>', html) and re.search(
        r'name="both" value="p2" checked>', html
    )
    assert 'data-read-only="${n} &gt; 5"' in html and 'data-calculate="${n} * 2"' in html
    assert re.search(r'<input[^>]*name="share"[^>]*value="0.5"', html) and 'value="2024-01-02"' in html
    assert 'data-choice-data="{&#34;pop&#34;: &#34;5&#34;, &#34;province&#34;: &#34;p1&#34;}"' in html
    # the province list has no filter: no choice data rendered for it
    assert 'data-choice="p1" data-choice-data' not in html
    kids = html[html.index('data-repeat="kids"') :]
    kids = kids[: kids.index("</section>")]
    assert 'data-repeat-count="${n}"' in kids and "data-add" not in kids and "data-remove" not in kids
    assert 'value="anon"' in kids
    assert 'data-repeat-count="${pets_count}"' in html  # pyxform turns a literal count into a calculation
    assert re.search(r'<div class="q calc" data-name="pets_count"[^>]*data-calculate="3"', html)


@pytest.mark.parametrize(
    ("replace", "expected"),
    [
        (
            ("| integer | n | N | 2 |", "| integer | n | N | ${share} + 1 |"),
            "n (default '${share} + 1'): a default computed when the form first loads",
        ),
        (("| integer | n | N | 2 |", "| integer | n | N | two |"), "n (default 'two') is not a whole number"),
        (
            ("| decimal | share | Share | 0.5 |", "| decimal | share | Share | half |"),
            "share (default 'half') is not a number",
        ),
        (
            ("| date | d | D | 2024-01-02 |", "| date | d | D | 2024-13-02 |"),
            "d (default '2024-13-02') is not a date written YYYY-MM-DD",
        ),
        (
            ("| select_one prov | prov | Province | p1 |", "| select_one prov | prov | Province | p9 |"),
            "prov (default 'p9') is not a choice of the list 'prov'",
        ),
        (
            ("| select_one prov | prov | Province | p1 |", "| select_one prov | prov | Province | p1 p2 |"),
            "prov (default 'p1 p2') is not a choice",
        ),
        (
            ("| select_multiple prov | both | Both | p1 p2 |", "| select_multiple prov | both | Both | p1 p3 |"),
            "both (default 'p1 p3') is not a choice",
        ),
        (
            ("| text | pname | Name | |", "| note | pname | Name | 7 |"),
            "pname (default '7'): a default on a note question is not filled",
        ),
        (("| repeat_count | choice_filter |", "| repeat_count | choice_filter |"), None),
        (
            ("${n} | | | |\n|  | text | kname", "sum(${n}) | | | |\n|  | text | kname"),
            "kids_count (calculation) uses sum()",
        ),  # pyxform: a calculate per count expression
        (
            ("${n} | | | |\n|  | text | kname", "${kname} | | | |\n|  | text | kname"),
            "kids (repeat_count) reads ${kname} inside the repeat 'kids' from outside it",
        ),
        (
            ("| yes | | | ${n} * 2 |", "| pulldata('a', 'b', 'c', 'd') | | | ${n} * 2 |"),
            "twice (read_only) uses pulldata()",
        ),
        (
            ("province=${prov} and pop > 3", "region=${prov}"),
            "city (choice_filter) reads the column 'region', which the choice list 'city' does not have",
        ),
        (("province=${prov} and pop > 3", "label = 'C1'"), "city (choice_filter) reads the column 'label'"),
    ],
)
def test_defaults_read_only_counts_and_filters_refused_with_a_reason(tmp_path, replace, expected):
    inst = _features(tmp_path, replace)
    problems = browser_unsupported(inst)
    if expected is None:
        assert problems == []
    else:
        assert any(expected in p for p in problems), problems


def test_calculation_cycle_through_an_input_question_is_refused(tmp_path):
    rows = ["integer | a | A | | | ${b} + 1 | ", "integer | b | B | | | ${a} + 1 | "]
    assert any("depend on each other in a circle" in p for p in browser_unsupported(_form(tmp_path, rows)))


def test_group_labels_are_shown_in_every_language():
    """A group's own label (both languages), not its name, heads its fieldset."""
    from quietpoll.collect.web import render_form
    from quietpoll.instrument.form import load_instrument

    inst = load_instrument(TEMPLATE)
    assert inst.group_labels["profile"] == {"English": "A. About you", "Korean": "A. 응답자 정보"}
    page = render_form(inst, KEY)
    assert (
        '<legend><span data-lang="English" lang="en">A. About you</span><span data-lang="Korean" lang="ko" hidden>A. 응답자 정보</span></legend>'
        in page
    )
    assert "<legend>Profile</legend>" not in page
