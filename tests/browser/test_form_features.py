# ruff: noqa: E501, F811  (fixtures imported from test_form_browser are test parameters; the markdown form is kept one row per line)
"""Defaults, read_only, repeat_count and choice filters over other choice columns in the browser form
(real Chromium): defaults prefilled (again for each new interview and each new repeat instance),
read-only questions shown but not editable (a calculation written into one), a dynamic read_only, a
repeat whose number of instances follows an expression (and a literal count), and a choice_filter
reading the choices sheet's `province` and `pop` columns. The sealed answers are opened in Python and
pulled into linked tables. Synthetic answers only.
"""

from __future__ import annotations

import polars as pl
import pytest

from quietpoll.collect.envelope import open_sealed
from quietpoll.collect.store import pull
from quietpoll.instrument.exports import read_responses
from quietpoll.quality.validation import validate

from formserver import OUTBOX_COUNT, open_form, serve_form
from test_form_browser import browser_context  # noqa: F401  (a fixture)

FORM = "features_probe"
FORM_MD = """
| survey |
|        | type                 | name  | label::English (en) | label::Korean (ko) | default    | read_only | repeat_count | choice_filter                    | calculation | constraint |
|        | select_one prov      | prov  | Province            | 도                 | p1         |           |              |                                  |             |            |
|        | select_one city      | city  | City                | 시                 |            |           |              | province=${prov} and pop > 3     |             |            |
|        | integer              | n     | Children            | 자녀               | 2          |           |              |                                  |             | . <= 12    |
|        | integer              | twice | Twice               | 두 배              |            | yes       |              |                                  | ${n} * 2    |            |
|        | text                 | ro    | Fixed               | 고정               | fixed      | yes       |              |                                  |             |            |
|        | select_multiple prov | both  | Both                | 둘 다              | p1 p2      | ${n} > 5  |              |                                  |             |            |
|        | decimal              | share | Share               | 비율               | 0.5        |           |              |                                  |             |            |
|        | date                 | d     | Date                | 날짜               | 2024-01-02 |           |              |                                  |             |            |
|        | begin_repeat         | kids  | Child               | 자녀               |            |           | ${n}         |                                  |             |            |
|        | text                 | kname | Name                | 이름               | anon       |           |              |                                  |             |            |
|        | end_repeat           |       |                     |                    |            |           |              |                                  |             |            |
|        | begin_repeat         | pets  | Pet                 | 애완동물           |            |           | 3            |                                  |             |            |
|        | text                 | pname | Pet name            | 이름               |            |           |              |                                  |             |            |
|        | end_repeat           |       |                     |                    |            |           |              |                                  |             |            |
|        | begin_repeat         | slots | Slot                | 칸                 |            |           | ${share}     |                                  |             |            |
|        | text                 | sname | Slot name           | 이름               |            |           |              |                                  |             |            |
|        | end_repeat           |       |                     |                    |            |           |              |                                  |             |            |
| choices |
|         | list_name | name | label::English (en) | label::Korean (ko) | province | pop |
|         | prov      | p1   | North               | 북                 |          |     |
|         | prov      | p2   | South               | 남                 |          |     |
|         | city      | c1   | Big north           | 북 대               | p1       | 5   |
|         | city      | c2   | Small south         | 남 소               | p2       | 2   |
|         | city      | c3   | Big south           | 남 대               | p2       | 9   |
|         | city      | c4   | Small north         | 북 소               | p1       | 1   |
| settings |
|          | form_id        | form_title     | default_language |
|          | features_probe | Features probe | English (en)     |
"""


@pytest.fixture
def study(tmp_path):
    with serve_form(tmp_path, FORM_MD, FORM, "interviewer-5") as served:
        yield served


def _visible_cities(page) -> list[str]:
    return page.eval_on_selector_all(
        '.q[data-name="city"] label.choice', "ls => ls.filter(l => !l.hidden).map(l => l.dataset.choice)"
    )


def test_defaults_read_only_counts_and_choice_columns(study, browser_context):
    context, _ = browser_context
    page = open_form(context, study["base"], FORM)

    # defaults prefilled
    assert page.is_checked('input[name="prov"][value="p1"]')
    assert page.input_value('input[name="n"]') == "2"
    assert page.input_value('input[name="ro"]') == "fixed"
    assert page.is_checked('input[name="both"][value="p1"]') and page.is_checked('input[name="both"][value="p2"]')
    assert page.input_value('input[name="share"]') == "0.5" and page.input_value('input[name="d"]') == "2024-01-02"
    # a calculation written into a read-only input
    assert page.input_value('input[name="twice"]') == "4"

    # read_only: shown, not editable (typing changes nothing)
    ro = page.locator('input[name="ro"]')
    assert ro.is_visible() and not ro.is_editable()
    ro.focus()
    page.keyboard.type("xyz")
    assert ro.input_value() == "fixed"
    assert not page.locator('input[name="twice"]').is_editable()

    # repeat_count from an expression (${n}) and from a literal (3): no add/remove buttons
    kids = page.locator('section.repeat[data-repeat="kids"]')
    pets = page.locator('section.repeat[data-repeat="pets"]')
    assert kids.locator(".instance").count() == 2 and pets.locator(".instance").count() == 3
    assert kids.locator("button[data-add], button[data-remove]").count() == 0
    assert [kids.locator(".instance").nth(i).locator('input[name="kname"]').input_value() for i in range(2)] == [
        "anon"
    ] * 2
    page.fill('input[name="n"]', "4")
    assert kids.locator(".instance").count() == 4 and page.input_value('input[name="twice"]') == "8"
    assert kids.locator(".instance").nth(3).get_by_text("Name").is_visible()
    # dynamic read_only: ${n} > 5
    page.fill('input[name="n"]', "6")
    assert kids.locator(".instance").count() == 6
    assert not page.locator('input[name="both"][value="p1"]').is_enabled()
    page.fill('input[name="n"]', "")
    assert kids.locator(".instance").count() == 0 and page.input_value('input[name="twice"]') == ""
    page.fill('input[name="n"]', "2")
    assert kids.locator(".instance").count() == 2
    assert page.locator('input[name="both"][value="p1"]').is_enabled()
    page.uncheck('input[name="both"][value="p2"]')
    kids.locator(".instance").nth(1).locator('input[name="kname"]').fill("Ji-woo")
    # an answer in a kept instance survives a count that grows again
    page.fill('input[name="n"]', "3")
    assert kids.locator(".instance").nth(1).locator('input[name="kname"]').input_value() == "Ji-woo"
    page.fill('input[name="n"]', "2")

    # choice_filter over the choices sheet's province and pop columns
    assert _visible_cities(page) == ["c1"]
    page.check('input[name="city"][value="c1"]')
    page.check('input[name="prov"][value="p2"]')
    assert _visible_cities(page) == ["c3"] and not page.is_checked('input[name="city"][value="c1"]')
    page.check('input[name="city"][value="c3"]')
    pets.locator(".instance").nth(0).locator('input[name="pname"]').fill("Bori")

    page.click("button[type=submit]")
    page.wait_for_function("() => document.getElementById('qp-status').textContent === 'Sent.'")
    ((form_id, instance_id, ciphertext),) = [r[:3] for r in study["store"].ciphertexts()]
    answers = open_sealed(study["private"], form_id, instance_id, ciphertext)
    assert {k: v for k, v in answers.items() if k not in ("kids", "pets")} == {
        "prov": "p2",
        "city": "c3",
        "n": 2,
        "twice": 4,
        "ro": "fixed",
        "both": "p1",
        "share": 0.5,
        "d": "2024-01-02",
        "pets_count": 3,  # pyxform's calculation for the literal count, sealed like any calculation
    }
    assert answers["kids"] == [{"kname": "anon"}, {"kname": "Ji-woo"}]
    assert answers["pets"] == [{"pname": "Bori"}, {}, {}]

    # the next interview starts from the defaults again
    assert page.input_value('input[name="n"]') == "2" and page.is_checked('input[name="prov"][value="p1"]')
    assert kids.locator(".instance").count() == 2 and page.input_value('input[name="twice"]') == "4"
    assert [kids.locator(".instance").nth(i).locator('input[name="kname"]').input_value() for i in range(2)] == [
        "anon"
    ] * 2

    # pulled into linked tables that read_responses and validate read back
    out = study["tmp"] / "pulled.csv"
    assert pull(study["store"], study["private"], out) == 1
    responses = read_responses(out, study["instrument"])
    assert responses.repeats["kids"]["kname"].to_list() == ["anon", "Ji-woo"]
    assert responses.repeats["pets"]["KEY"].to_list() == [f"{instance_id}/pets[{i}]" for i in (1, 2, 3)]
    assert pl.read_csv(study["tmp"] / "pulled-pets.csv")["pname"].to_list() == ["Bori", None, None]
    assert validate(responses.repeats["kids"], study["instrument"], repeat="kids").problems == ()


def test_a_count_above_what_the_page_holds_blocks_submit(study, browser_context):
    context, _ = browser_context
    page = open_form(context, study["base"], FORM)
    slots = page.locator('section.repeat[data-repeat="slots"]')
    assert slots.locator(".instance").count() == 0  # ${share} = 0.5: no instance
    page.fill('input[name="share"]', "501")
    error = slots.locator(":scope > .err")
    assert error.is_visible() and "500" in error.inner_text() and slots.locator(".instance").count() == 500
    page.click("button[type=submit]")
    assert page.locator("#qp-status").inner_text() == "Please correct the marked questions."
    assert page.evaluate(OUTBOX_COUNT) == 0
    page.fill('input[name="share"]', "2.9")
    assert not error.is_visible() and slots.locator(".instance").count() == 2


def test_a_count_above_the_constraint_still_blocks_submit(study, browser_context):
    context, _ = browser_context
    page = open_form(context, study["base"], FORM)
    page.fill('input[name="n"]', "13")
    assert page.locator('section.repeat[data-repeat="kids"] .instance').count() == 13
    page.click("button[type=submit]")
    assert page.locator('.q[data-name="n"] .err').is_visible()
    assert page.evaluate(OUTBOX_COUNT) == 0
