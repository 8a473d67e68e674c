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
        (["integer | n | N | | | | ", "integer | s | S | | | | ", "calculate | t | | | | sum(${n}) | "],
         "t (calculation) uses sum(), which the browser form does not implement"),
        (["calculate | d | | | | random() | "], "d (calculation) uses random() outside once()"),
        (["integer | n | N | random() < 0.5 | | | "], "n (relevant) uses random() outside once()"),
        (["geopoint | g | Where | | | | "], "g (type geopoint): the browser form has no input for this type"),
        (["image | p | Photo | | | | "], "p (type photo)"),
        (["text | a | A | | regex(., ${b}) | | ", "text | b | B | | | | "], "regex() with a pattern that is not a literal"),
        (["text | a | A | | regex(., '(') | | "], "invalid regex() pattern"),
        (["text | a | A | /data/b = 'x' | | | ", "text | b | B | | | | "], "an XPath path"),
        (["text | a | A | | | | ", "select_one yn | o | O | | | | ${a} = filter"], "a column of the choices sheet other than name"),
        (["text | a | A | | | | ", "begin_repeat | r | R | | | | ", "integer | age | Age | | | | ", "end_repeat | | | | | | ",
          "integer | n | N | ${age} > 3 | | | "], "reads ${age} inside the repeat 'r' from outside it"),
        (["calculate | x | | | | ${y} + 1 | ", "calculate | y | | | | ${x} + 1 | "], "depend on each other in a circle"),
        (["integer | n | N | | | | ", "integer | m | M | | | round(${n}, 1, 2) | "], "m (calculation) calls round() with 3"),
        (["integer | n | N | | | | ", "calculate | c | | | | substring(${n}, 1) | "], "substring()"),
        (["deviceid | deviceid | | | | | ", "integer | n | N | ${deviceid} = 'x' | | | "], "reads ${deviceid} (type deviceid), which the browser form leaves empty"),
        (["end | end | | | | | ", "integer | n | N | ${end} != '' | | | "], "reads ${end} (end), which is only known when"),
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
    rows = ["integer | n | N | | | | ", "begin_repeat | member | Member | ${n} > 0 | | | ",
            "select_one yn | works | Works | | | | ", "end_repeat | | | | | | "]
    html = render_form(_form(tmp_path, rows), KEY)
    section = html[html.index('<section class="repeat" data-repeat="member"'):html.index("</section>")]
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
        pytest.skip("node or web/node_modules missing: cannot rebuild the bundle to compare (cd web && npm ci)")
    subprocess.run([node, "build.mjs"], cwd=webdir, env={**os.environ, "QUIETPOLL_WEB_OUT": str(tmp_path)},
                   check=True, capture_output=True, timeout=120)
    for name in ("form.js", "form.css", "sw.js"):
        assert (tmp_path / name).read_bytes() == (web.STATIC_DIR / name).read_bytes(), f"{name}: run npm run build"
