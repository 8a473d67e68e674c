# ruff: noqa: F811  (fixtures imported from test_form_browser are test parameters)
"""Our own foreign-media template (list experiment and randomized response on once(random()) draws)
in the browser form, in a real Chromium: English and Korean labels, skip logic, constraints, choice
filters, both list-experiment arms (the draw forced by an init script), the draws never in the page,
an interview sealed offline, the page reloaded offline, sent when back online, and `pull` recovering
every answer and calculation. All answers are synthetic.
"""

from __future__ import annotations

import datetime as dt
import json
import time

import polars as pl
import pytest

from quietpoll.collect.envelope import open_sealed
from quietpoll.collect.store import pull

from formserver import enter_pin, open_form, serve_form
from test_form_browser import STORAGE_DUMP, TEMPLATE
from test_form_browser import browser_context  # noqa: F401  (a fixture)

FORM = "foreign_media"
# crypto.getRandomValues for the draw (a Uint32Array of 2 words) returns WORD in both words; every
# other caller (HPKE's key generation, ...) gets real randomness.
FORCE_DRAW = """(() => {
  const original = crypto.getRandomValues.bind(crypto);
  crypto.getRandomValues = (array) => {
    if (array instanceof Uint32Array && array.length === 2) { array.fill(%d); return array; }
    return original(array);
  };
})();"""
LOW, HIGH = 0, 0xFFFFFFFF  # draws 0.0 and 1 - 2**-53
HIGH_DRAW = (0xFFFFFFFF * 2**21 + (0xFFFFFFFF >> 11)) / 2**53


@pytest.fixture
def study(tmp_path):
    with serve_form(tmp_path, TEMPLATE, FORM, "interviewer-7") as served:
        assert served["instrument"].form_id == FORM
        yield served


def _visible(page, name: str) -> bool:
    return page.locator(f'.q[data-name="{name}"]').is_visible()


def _open(context, study, word: int):
    context.add_init_script(FORCE_DRAW % word)
    return open_form(context, study["base"], FORM)


def _fill_common(page):
    page.check('input[name="consent"][value="yes"]')
    assert not _visible(page, "year_left")
    page.check('input[name="status"][value="left"]')
    assert _visible(page, "year_left") and _visible(page, "months_third")
    page.check('input[name="status"][value="inside"]')
    assert not _visible(page, "year_left")
    page.check('input[name="status"][value="left"]')
    page.fill('input[name="year_left"]', "1900")
    error = page.locator('.q[data-name="year_left"] .err')
    assert error.is_visible() and error.inner_text() == "Enter a four-digit year."
    page.fill('input[name="year_left"]', "2019")
    assert not error.is_visible()
    profile = [("province", "north_hamgyong"), ("sex", "female"), ("age_band", "a30_39"), ("settlement", "city")]
    for name, value in profile:
        page.check(f'input[name="{name}"][value="{value}"]')
    page.fill('input[name="months_third"]', "14")
    page.check('input[name="devices_owned"][value="tv"]')
    page.check('input[name="devices_owned"][value="usb"]')
    assert _visible(page, "tv_tuning") and not _visible(page, "radio_tuning")
    page.check('input[name="devices_owned"][value="none"]')  # constraint: 'none' goes alone
    assert page.locator('.q[data-name="devices_owned"] .err').is_visible()
    page.uncheck('input[name="devices_owned"][value="none"]')
    assert not page.locator('.q[data-name="devices_owned"] .err').is_visible()
    assert not _visible(page, "origins")
    page.check('input[name="ever_watched"][value="yes"]')
    assert _visible(page, "watch_freq") and _visible(page, "origins")
    page.check('input[name="origins"][value="south_korea"]')
    page.check('input[name="origins"][value="china"]')
    # choice_filter: only the origins chosen above are offered
    offered = page.locator('.q[data-name="origin_most"] label.choice:visible input')
    offered = offered.evaluate_all("l => l.map(i => i.value)")
    assert offered == ["south_korea", "china"]
    page.check('input[name="origin_most"][value="china"]')
    page.uncheck('input[name="origins"][value="china"]')  # the chosen origin is filtered out and cleared
    assert page.locator('input[name="origin_most"]:checked').count() == 0
    page.check('input[name="origin_most"][value="south_korea"]')
    page.check('input[name="mode"][value="intermediary"]')
    page.check('input[name="paid"][value="no"]')


def _answer_rr_and_instruction_goes(page, answer: str):
    """Answering the randomized-response item hides the private instruction for good: changing the
    answer (revisiting the question) does not bring it back."""
    other = "no" if answer == "yes" else "yes"
    page.check(f'input[name="rr_answer"][value="{answer}"]')
    for name in ("rr_say_yes", "rr_say_no", "rr_say_truth"):
        assert not _visible(page, name), name
    page.check(f'input[name="rr_answer"][value="{other}"]')
    page.check(f'input[name="rr_answer"][value="{answer}"]')
    for name in ("rr_say_yes", "rr_say_no", "rr_say_truth"):
        assert not _visible(page, name), name
    assert _visible(page, "rr_answer") and _visible(page, "rr_handover")


def _assert_draw_not_in_page(page, draw_text: str | None):
    for name in ("le_draw", "le_treat", "rr_spin", "le_count"):
        el = page.locator(f'.q[data-name="{name}"]')
        assert not el.is_visible() and el.inner_html() == "" and el.get_attribute("data-value") is None
    assert page.locator("input[type=hidden]").count() == 0
    if draw_text:
        assert draw_text not in page.content()
        assert draw_text not in json.dumps(page.evaluate(STORAGE_DUMP))


def _wait_stored(store, n: int):
    deadline = time.monotonic() + 15
    while store.count() < n:
        assert time.monotonic() < deadline, "the interview did not reach the server"
        time.sleep(0.05)


def test_template_treatment_arm_offline_reload_and_pull(study, browser_context):
    context, requests = browser_context
    page = _open(context, study, LOW)
    assert "token" not in page.url
    page.wait_for_selector('#quietpoll[data-offline="ready"]', state="attached")

    # English, then Korean labels (and the page's own messages in Korean)
    assert page.get_by_text("Do you agree to take part?").is_visible()
    page.click('button[data-set-lang="Korean"]')
    assert page.get_by_text("조사에 참여하는 데 동의하십니까?").is_visible()
    assert not page.get_by_text("Do you agree to take part?").is_visible()
    page.click("button[type=submit]")
    assert page.locator('.q[data-name="consent"] .err').inner_text() == "필수 질문입니다."
    page.click('button[data-set-lang="English"]')

    _fill_common(page)
    # the hidden draw is 0: the treatment list (5 items) is shown, the control list is not
    assert _visible(page, "le_count_treat") and not _visible(page, "le_count_control")
    assert _visible(page, "rr_say_yes") and not _visible(page, "rr_say_no") and not _visible(page, "rr_say_truth")
    _answer_rr_and_instruction_goes(page, "yes")
    page.fill('input[name="le_count_treat"]', "6")
    assert page.locator('.q[data-name="le_count_treat"] .err').inner_text() == "Enter a number from 0 to 5."
    page.fill('input[name="le_count_treat"]', "3")
    _assert_draw_not_in_page(page, None)

    # sealed offline; the page reloaded offline still works and still holds only the sealed record
    context.set_offline(True)
    page.click("button[type=submit]")
    page.wait_for_function("() => document.getElementById('qp-status').textContent.startsWith('Offline')")
    page.reload()
    enter_pin(page)
    page.wait_for_selector('#quietpoll[data-ready="true"]', state="attached")
    assert page.get_by_text("Do you agree to take part?").is_visible()
    dump = page.evaluate(STORAGE_DUMP)
    assert len(dump["outbox"]) == 1 and set(dump["outbox"][0]) == {"form_id", "instance_id", "ciphertext"}
    assert study["store"].count() == 0

    context.set_offline(False)
    _wait_stored(study["store"], 1)
    page.wait_for_function("() => document.getElementById('qp-status').textContent === 'Sent.'")

    out = study["tmp"] / "responses.parquet"
    assert pull(study["store"], study["private"], out) == 1
    row = pl.read_parquet(out).row(0, named=True)
    expected = {
        "consent": "yes",
        "status": "left",
        "year_left": 2019,
        "province": "north_hamgyong",
        "sex": "female",
        "age_band": "a30_39",
        "settlement": "city",
        "months_third": 14,
        "devices_owned": "tv usb",
        "ever_watched": "yes",
        "origins": "south_korea",
        "origin_most": "south_korea",
        "le_treat": 1,
        "le_count_treat": 3,
        "le_count": 3,
        "rr_answer": "yes",
        "mode": "intermediary",
        "paid": "no",
    }
    assert {k: row[k] for k in expected} == expected
    for absent in ("le_count_control", "radio_tuning", "instanceID", "deviceid"):
        assert row.get(absent) is None
    for draw in ("le_draw", "rr_spin", "rr_say_yes", "rr_say_no", "rr_say_truth"):  # device-only: never sealed
        assert draw not in row
    start, end = (dt.datetime.fromisoformat(row[k].replace("Z", "+00:00")) for k in ("start", "end"))
    assert start <= end and abs((dt.date.fromisoformat(row["today"]) - start.date()).days) <= 1
    assert all(u.startswith(study["base"] + "/") for u in requests)


def test_template_control_arm_and_the_draw_stays_hidden(study, browser_context):
    context, _ = browser_context
    page = _open(context, study, HIGH)
    _fill_common(page)
    assert _visible(page, "le_count_control") and not _visible(page, "le_count_treat")
    assert _visible(page, "rr_say_truth") and not _visible(page, "rr_say_yes")
    _answer_rr_and_instruction_goes(page, "no")
    page.fill('input[name="le_count_control"]', "2")
    _assert_draw_not_in_page(page, repr(HIGH_DRAW)[:8])
    page.click("button[type=submit]")
    _wait_stored(study["store"], 1)
    ((form_id, instance_id, ciphertext),) = [r[:3] for r in study["store"].ciphertexts()]
    answers = open_sealed(study["private"], form_id, instance_id, ciphertext)
    assert not {"le_draw", "rr_spin"} & answers.keys()  # the draws never leave the device
    assert repr(HIGH_DRAW)[:8] not in json.dumps(answers)
    assert answers["rr_answer"] == "no"
    assert answers["le_treat"] == 0 and answers["le_count_control"] == 2 and answers["le_count"] == 2
    assert "le_count_treat" not in answers
    # a new interview draws again (the forced draw is the same, so the arm is too) and starts empty
    assert page.input_value('input[name="le_count_control"]') == ""
    assert not _visible(page, "le_count_control")  # consent is empty again: the group is hidden


def test_very_different_interviews_seal_to_the_same_length(study, browser_context):
    """Uniform envelopes: "never watched" (the shortest path) and "watched, every device, every origin,
    genre, source and penalty" (the longest) are stored as ciphertexts of one length: the form's."""
    from quietpoll.collect.sizing import envelope_size

    context, _ = browser_context
    page = _open(context, study, LOW)
    page.check('input[name="consent"][value="yes"]')
    page.check('input[name="status"][value="inside"]')
    for name, value in [("province", "pyongyang"), ("sex", "male"), ("age_band", "a20_29"), ("settlement", "village")]:
        page.check(f'input[name="{name}"][value="{value}"]')
    page.check('input[name="ever_watched"][value="no"]')
    page.fill('input[name="le_count_treat"]', "0")
    page.check('input[name="rr_answer"][value="no"]')
    page.check('input[name="mode"][value="phone"]')
    page.check('input[name="paid"][value="no"]')
    page.click("button[type=submit]")
    _wait_stored(study["store"], 1)

    _fill_common(page)
    page.check('input[name="rr_answer"][value="yes"]')
    devices = [c.name for c in study["instrument"].choices["device"] if c.name != "none"]
    for name in devices:
        page.check(f'input[name="devices_owned"][value="{name}"]')
        page.check(f'input[name="devices_used"][value="{name}"]')
    for question, list_name in [("origins", "origin"), ("genres", "genre"), ("how_obtained", "source")]:
        for c in study["instrument"].choices[list_name]:
            page.check(f'input[name="{question}"][value="{c.name}"]')
    page.check('input[name="knew_penalties"][value="yes"]')
    for c in study["instrument"].choices["penalty"]:
        page.check(f'input[name="penalties_known"][value="{c.name}"]')
    page.check('input[name="home_inspected"][value="several"]')
    page.check('input[name="confiscated"][value="refuse"]')
    page.check('input[name="bribe"][value="refuse"]')
    page.fill('input[name="le_count_treat"]', "5")
    page.click("button[type=submit]")
    _wait_stored(study["store"], 2)

    rows = list(study["store"].ciphertexts())
    answers = [open_sealed(study["private"], f, i, c) for f, i, c in (r[:3] for r in rows)]
    assert sorted(len(a) for a in answers)[0] < 20 < sorted(len(a) for a in answers)[1]  # really different
    size = envelope_size(study["instrument"])
    assert {len(r[2]) for r in rows} == {((1 + 32 + size + 16) * 4 + 2) // 3}
