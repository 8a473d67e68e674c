# ruff: noqa: F811  (fixtures imported from test_form_browser are test parameters)
"""The text cap of uniform envelopes in a real Chromium: a text answer longer than the form's cap (in
bytes, Korean takes 3 per character) is refused on its question instead of being sealed into a bigger
envelope; at the cap it is sealed to the form's one size; a device-only draw is never sealed. All
answers are synthetic."""

from __future__ import annotations

import time

import pytest

from quietpoll.collect.envelope import open_sealed
from quietpoll.collect.sizing import TEXT_MAX_BYTES, envelope_size

from formserver import open_form, serve_form
from test_form_browser import browser_context  # noqa: F401  (a fixture)

FORM = "capped"
FORM_MD = """| survey |
|  | type | name | label | calculation | relevant | bind::quietpoll:device-only |
|  | calculate | spin | | once(random()) | | yes |
|  | note | private | Say yes | | ${spin} < 2 | yes |
|  | select_one yn | answer | Answer | | | |
|  | text | story | Tell us | | | |
|  | calculate | arm | | if(${spin} < 0.5, 1, 0) | | |
| choices |
|  | list_name | name | label |
|  | yn | yes | Yes |
|  | yn | no | No |
| settings |
|  | form_id | namespaces |
|  | capped | quietpoll="urn:quietpoll:xforms" |
"""


@pytest.fixture
def study(tmp_path):
    with serve_form(tmp_path, FORM_MD, FORM, "interviewer-3") as served:
        yield served


def _wait_stored(store, n: int):
    deadline = time.monotonic() + 15
    while store.count() < n:
        assert time.monotonic() < deadline, "the interview did not reach the server"
        time.sleep(0.05)


def test_over_the_cap_is_refused_at_the_cap_is_sealed_to_the_form_size(study, browser_context):
    context, _ = browser_context
    page = open_form(context, study["base"], FORM)
    assert page.locator('.q[data-name="private"]').is_visible()
    page.check('input[name="answer"][value="yes"]')
    assert not page.locator('.q[data-name="private"]').is_visible()  # the private note is spent
    over = "가" * (TEXT_MAX_BYTES // 3 + 1)  # fewer characters than maxlength, more bytes than the cap
    page.fill('input[name="story"]', over)
    assert page.input_value('input[name="story"]') == over
    page.click("button[type=submit]")
    error = page.locator('.q[data-name="story"] .err')
    assert error.is_visible() and f"at most {TEXT_MAX_BYTES} bytes" in error.inner_text()
    time.sleep(0.3)
    assert study["store"].count() == 0

    at_cap = "가" * (TEXT_MAX_BYTES // 3)
    page.fill('input[name="story"]', at_cap)
    assert not error.is_visible()
    page.click("button[type=submit]")
    _wait_stored(study["store"], 1)
    ((form_id, instance_id, ciphertext),) = [r[:3] for r in study["store"].ciphertexts()]
    answers = open_sealed(study["private"], form_id, instance_id, ciphertext)
    assert answers["story"] == at_cap and answers["answer"] == "yes" and answers["arm"] in (0, 1)
    assert "spin" not in answers and "private" not in answers
    size = envelope_size(study["instrument"])
    assert len(ciphertext) == ((1 + 32 + size + 16) * 4 + 2) // 3


REPEAT_MD = """| survey |
|  | type | name | label |
|  | begin_repeat | members | Members |
|  | text | who | Who |
|  | end_repeat | | |
| settings |
|  | form_id |
|  | rep |
"""


def test_an_added_repeat_stops_at_the_limit_the_envelope_size_assumes(tmp_path, browser_context):
    """A repeat without repeat_count holds at most MAX_REPEAT_INSTANCES instances (the envelope size
    counts that many): one more click is refused with a message."""
    from quietpoll.collect.sizing import MAX_REPEAT_INSTANCES

    (tmp_path / "rep").mkdir()
    with serve_form(tmp_path / "rep", REPEAT_MD, "rep", "interviewer-4") as served:
        context, _ = browser_context
        page = open_form(context, served["base"], "rep")
        added = page.evaluate(
            """(n) => { const b = document.querySelector('[data-add]');
            for (let i = 0; i < n; i++) b.click();
            return document.querySelectorAll('section.repeat > .instances > .instance').length; }""",
            MAX_REPEAT_INSTANCES + 3,
        )
        assert added == MAX_REPEAT_INSTANCES
        assert str(MAX_REPEAT_INSTANCES) in page.locator("#qp-status").inner_text()


OUTGROW_MD = """| survey |
|  | type | name | label | calculation |
|  | text | t | T | |
|  | calculate | eight | | concat(${t}, ${t}, ${t}, ${t}, ${t}, ${t}, ${t}, ${t}) |
| settings |
|  | form_id |
|  | grow |
"""


def test_answers_that_outgrow_the_envelope_are_refused_never_sealed_larger(tmp_path, browser_context):
    """A text-valued calculation can outgrow its bound (eight copies of a capped answer): the page says
    the interview is too large and seals nothing; a shorter answer seals to the form's size."""
    (tmp_path / "grow").mkdir()
    with serve_form(tmp_path / "grow", OUTGROW_MD, "grow", "interviewer-5") as served:
        context, _ = browser_context
        page = open_form(context, served["base"], "grow")
        page.fill('input[name="t"]', "x" * TEXT_MAX_BYTES)
        page.click("button[type=submit]")
        page.wait_for_function(
            "() => document.getElementById('qp-status').textContent.includes('larger than the form')"
        )
        time.sleep(0.3)
        assert served["store"].count() == 0
        page.fill('input[name="t"]', "short")
        page.click("button[type=submit]")
        _wait_stored(served["store"], 1)
        ((_, _, ciphertext),) = [r[:3] for r in served["store"].ciphertexts()]
        size = envelope_size(served["instrument"])
        assert len(ciphertext) == ((1 + 32 + size + 16) * 4 + 2) // 3
