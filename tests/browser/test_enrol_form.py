# ruff: noqa: F811  (fixtures imported from test_form_browser are test parameters)
"""Enrolment in the browser form (real Chromium): /f/FORM?token=TOKEN enrols the browser after the
server accepts the token, and the token leaves the URL at once; a revoked or unknown token is refused
with a clear message in the page and never kept; a token revoked later stops sending, keeps the
sealed interviews on the device and says so. Also the enrolment endpoint itself (one error shape).
"""

from __future__ import annotations

import httpx

from formserver import open_form
from test_form_browser import FORM, STORAGE_DUMP
from test_form_browser import browser_context  # noqa: F401  (a fixture)
from test_form_browser import study  # noqa: F401  (a fixture)

TOKEN_JS = "localStorage.getItem('quietpoll.token')"


def _open(context, base, query=""):
    return open_form(context, base, FORM, query)


def test_valid_token_enrols_and_leaves_the_url(study, browser_context):
    context, requests = browser_context
    page = _open(context, study["base"], f"?token={study['token']}&x=1")
    page.wait_for_selector('#quietpoll[data-enrolment="enrolled"]', state="attached")
    assert page.evaluate(TOKEN_JS) == study["token"]
    assert study["token"] not in page.url and page.url.endswith(f"/f/{FORM}?x=1")
    assert not page.locator("#qp-enrol").is_visible()
    assert page.locator("#qp-status").inner_text() == "This browser is enrolled."
    # the service worker's cache never holds a URL with the token
    page.wait_for_selector('#quietpoll[data-offline="ready"]', state="attached")
    cached = page.evaluate("async () => (await Promise.all((await caches.keys()).map(async k => "
                           "(await (await caches.open(k)).keys()).map(r => r.url)))).flat()")
    assert cached and not any("token" in u for u in cached)
    assert any(u.endswith(f"/f/{FORM}") for u in cached)
    page.go_back()  # the entry was replaced, not pushed: Back never leads to the token URL
    assert study["token"] not in page.url


def test_revoked_token_is_refused_in_the_page(study, browser_context):
    context, _ = browser_context
    study["store"].revoke_token("interviewer-1")
    page = _open(context, study["base"], f"?token={study['token']}")
    page.wait_for_selector('#quietpoll[data-enrolment="refused"]', state="attached")
    alert = page.locator("#qp-enrol")
    assert alert.is_visible() and "revoked" in alert.inner_text() and "new link" in alert.inner_text()
    assert page.evaluate(TOKEN_JS) is None
    assert "token" not in page.url
    # an unknown token is refused the same way
    page = _open(context, study["base"], "?token=not-a-real-token")
    page.wait_for_selector('#quietpoll[data-enrolment="refused"]', state="attached")
    assert page.evaluate(TOKEN_JS) is None


def test_token_revoked_after_enrolment_keeps_interviews_sealed(study, browser_context):
    context, _ = browser_context
    page = _open(context, study["base"], f"?token={study['token']}")
    page.wait_for_selector('#quietpoll[data-enrolment="enrolled"]', state="attached")
    study["store"].revoke_token("interviewer-1")
    page.check('input[name="consent"][value="no"]')
    page.click("button[type=submit]")
    alert = page.locator("#qp-enrol")
    alert.wait_for(state="visible")
    assert "revoked" in alert.inner_text() and "1 encrypted interview" in alert.inner_text()
    dump = page.evaluate(STORAGE_DUMP)
    assert len(dump["outbox"]) == 1 and page.evaluate(TOKEN_JS) is None
    assert study["store"].count() == 0


def test_enrol_endpoint(study):
    url = f"{study['base']}/f/{FORM}/enrol"
    with httpx.Client() as client:
        ok = client.post(url, headers={"Authorization": f"Bearer {study['token']}"})
        assert ok.status_code == 200 and ok.json() == {"enrolled": True}
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {study['token']}"}):
            r = client.post(url, headers=headers)
            assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
            assert "revoked" in r.json()["error"]["message"]
        assert client.post(f"{study['base']}/f/no_such_form/enrol").status_code == 404
        assert client.get(url).status_code == 405
        study["store"].revoke_token("interviewer-1")
        assert client.post(url, headers={"Authorization": f"Bearer {study['token']}"}).status_code == 401
