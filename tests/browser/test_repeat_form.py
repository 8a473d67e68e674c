# ruff: noqa: E501, F811  (fixtures imported from test_form_browser are test parameters; the markdown form and the expression table are kept one row per line)
"""Repeats in the browser form (real Chromium): add and remove instances, skip logic and calculations
inside an instance (reading its own answers and the form's), separate radio groups per instance,
and the sealed answers as a list of objects under the repeat's name, which `pull` writes as a linked
table (OUT-member.csv with PARENT_KEY/KEY/SET-OF-member) that read_responses and validate read back.
Synthetic answers only.
"""

from __future__ import annotations

import logging
import time

import polars as pl
import pytest

from quietpoll.collect.envelope import open_sealed
from quietpoll.collect.store import pull
from quietpoll.instrument.exports import read_responses
from quietpoll.quality.validation import validate

from formserver import OUTBOX_COUNT, enter_pin, open_form, serve_form
from test_form_browser import CANARY
from test_form_browser import browser_context  # noqa: F401  (a fixture)

FORM = "household_probe"
FORM_MD = """
| survey |
|        | type              | name       | label::English (en) | label::Korean (ko) | relevant                               | constraint         | calculation                          | required |
|        | text              | household  | Household code      | 가구 코드           |                                        |                    |                                      | yes      |
|        | begin_repeat      | member     | Member              | 구성원              | ${household} != ''                     |                    |                                      |          |
|        | text              | first_name | First name          | 이름                |                                        |                    |                                      | yes      |
|        | integer           | age        | Age                 | 나이                |                                        | . >= 0 and . <= 120 |                                     |          |
|        | select_one yes_no | works      | Works?              | 일합니까?           | ${age} >= 15 and ${household} != 'x'   |                    |                                      |          |
|        | calculate         | adult      |                     |                     |                                        |                    | if(${age} >= 18, 'adult', 'minor')   |          |
|        | note              | adult_note | An adult            | 성인                | ${adult} = 'adult'                     |                    |                                      |          |
|        | end_repeat        |            |                     |                     |                                        |                    |                                      |          |
|        | select_one yes_no | done       | Done?               | 끝?                 |                                        |                    |                                      |          |
|        | calculate         | size_once  |                     |                     | ${size} > 5                            |                    | once(${size_x2})                     |          |
|        | integer           | size       | Size                | 크기                |                                        |                    |                                      |          |
|        | calculate         | size_x2    |                     |                     |                                        |                    | ${size} * 2                          |          |
| choices |
|         | list_name | name | label::English (en) | label::Korean (ko) |
|         | yes_no    | yes  | Yes                 | 예                 |
|         | yes_no    | no   | No                  | 아니요             |
| settings |
|          | form_id         | form_title      | default_language |
|          | household_probe | Household probe | English (en)     |
"""


@pytest.fixture
def study(tmp_path):
    with serve_form(tmp_path, FORM_MD, FORM, "interviewer-3") as served:
        assert served["instrument"].repeats == ("member",)
        yield served


def test_repeat_add_remove_and_sealed_list(study, browser_context, caplog):
    caplog.set_level(logging.DEBUG)
    context, _ = browser_context
    page = open_form(context, study["base"], FORM)
    section = page.locator('section.repeat[data-repeat="member"]')
    assert not section.is_visible()  # the repeat's relevance: a household code first
    page.fill('input[name="household"]', CANARY)
    assert section.is_visible() and section.locator(".instance").count() == 0

    add = section.locator("button[data-add]")
    add.click()
    add.click()
    add.click()
    instances = section.locator(".instance")
    assert instances.count() == 3
    first, second, third = instances.nth(0), instances.nth(1), instances.nth(2)
    first.locator('input[name="first_name"]').fill("Rem-oved-9")
    second.locator('input[name="first_name"]').fill("Ok-ran")
    second.locator('input[name="age"]').fill("40")
    third.locator('input[name="first_name"]').fill("Su-min")
    third.locator('input[name="age"]').fill("12")
    # skip logic and calculations per instance, reading the instance's own age
    assert second.locator('.q[data-name="works"]').is_visible()
    assert not third.locator('.q[data-name="works"]').is_visible()
    assert second.locator('.q[data-name="adult_note"]').is_visible()
    assert not third.locator('.q[data-name="adult_note"]').is_visible()
    third.locator('input[name="age"]').fill("130")
    assert third.locator('.q[data-name="age"] .err').is_visible()
    third.locator('input[name="age"]').fill("16")
    assert (
        third.locator('.q[data-name="works"]').is_visible()
        and not third.locator('.q[data-name="adult_note"]').is_visible()
    )
    # each instance has its own radio group
    second.locator('input[value="yes"]').check()
    third.locator('input[value="no"]').check()
    assert second.locator('input[value="yes"]').is_checked() and third.locator('input[value="no"]').is_checked()

    first.locator("button[data-remove]").click()
    assert instances.count() == 2
    page.check('input[name="done"][value="yes"]')
    # dependency order: size_once becomes relevant in the same edit that changes size_x2, and its
    # once() must see the new size_x2 (16), not the one left from size 3 (6)
    page.fill('input[name="size"]', "3")
    page.fill('input[name="size"]', "8")
    # a reload keeps the interview in progress (a draft encrypted under the PIN key): after the PIN
    # the repeat's instances, their answers and radio groups are back
    time.sleep(0.6)  # the draft is written 250 ms after the last edit
    page.wait_for_selector("#quietpoll[data-draft-saves]", state="attached")
    page.reload()
    enter_pin(page)
    page.wait_for_selector('#quietpoll[data-ready="true"]', state="attached")
    assert page.locator("#qp-status").inner_text() == "The interview in progress was restored."
    assert instances.count() == 2 and page.input_value('input[name="household"]') == CANARY
    assert [instances.nth(i).locator('input[name="first_name"]').input_value() for i in range(2)] == [
        "Ok-ran",
        "Su-min",
    ]
    assert (
        instances.nth(0).locator('input[value="yes"]').is_checked()
        and instances.nth(1).locator('input[value="no"]').is_checked()
    )
    assert page.input_value('input[name="size"]') == "8" and page.is_checked('input[name="done"][value="yes"]')
    # Korean labels reach instances added later
    page.click('button[data-set-lang="Korean (ko)"]')
    add.click()
    assert instances.nth(2).get_by_text("이름").is_visible()
    instances.nth(2).locator("button[data-remove]").click()

    page.click("button[type=submit]")
    page.wait_for_function("() => document.getElementById('qp-status').textContent === '전송했습니다.'")
    assert section.locator(".instance").count() == 0  # the next interview starts with no instances

    ((form_id, instance_id, ciphertext),) = [r[:3] for r in study["store"].ciphertexts()]
    answers = open_sealed(study["private"], form_id, instance_id, ciphertext)
    members = [
        {"first_name": "Ok-ran", "age": 40, "works": "yes", "adult": "adult"},
        {"first_name": "Su-min", "age": 16, "works": "no", "adult": "minor"},
    ]
    assert answers["household"] == CANARY and answers["done"] == "yes"
    # a number for a numeric result; once(${size_x2}) reads a calculation, which XPath reads as text
    assert (answers["size"], answers["size_x2"], answers["size_once"]) == (8, 16, "16")
    assert answers["member"] == members
    # browser -> pull -> read_responses -> validate: the repeat comes back as a linked table
    out = study["tmp"] / "pulled.csv"
    assert pull(study["store"], study["private"], out) == 1
    frame = pl.read_csv(out)
    assert "member" not in frame.columns and frame["KEY"].to_list() == [instance_id]
    assert frame["SET-OF-member"].to_list() == [f"{instance_id}/member"]
    linked = pl.read_csv(study["tmp"] / "pulled-member.csv")
    assert linked["PARENT_KEY"].to_list() == [instance_id] * 2
    assert linked["KEY"].to_list() == [f"{instance_id}/member[1]", f"{instance_id}/member[2]"]
    assert linked.select("first_name", "age", "works", "adult").to_dicts() == members
    responses = read_responses(out, study["instrument"])
    assert set(responses.repeats) == {"member"} and responses.main["household"].to_list() == [CANARY]
    assert responses.repeat_columns["member"] == {q: q for q in ("first_name", "age", "works", "adult")}
    main_report = validate(responses.main, study["instrument"])
    assert main_report.problems == ()  # pull's instance_id is collection metadata
    member_report = validate(responses.repeats["member"], study["instrument"], repeat="member")
    assert member_report.n_rows == 2 and member_report.problems == ()

    # the canary (a household code, and a name typed in a removed instance) is nowhere but in the pull
    context.close()
    needles = [w.encode(enc) for w in (CANARY, "Ok-ran", "Rem-oved-9") for enc in ("utf-8", "utf-16-le")]
    places = [study["tmp"] / "collect.db", *(f for f in study["profile"].rglob("*") if f.is_file())]
    leaked = [str(f) for f in places if f.exists() and any(n in f.read_bytes() for n in needles)]
    assert not leaked, leaked
    logged = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
    assert caplog.records and CANARY not in logged and "Ok-ran" not in logged


def test_required_inside_a_repeat_blocks_submit(study, browser_context):
    context, _ = browser_context
    page = open_form(context, study["base"], FORM)
    page.fill('input[name="household"]', "H-1")
    page.click("section.repeat button[data-add]")
    page.click("button[type=submit]")
    error = page.locator('.instance .q[data-name="first_name"] .err')
    assert error.is_visible() and "required" in error.inner_text()
    assert page.evaluate(OUTBOX_COUNT) == 0
