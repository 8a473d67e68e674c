# ruff: noqa: F811  (fixtures imported from test_form_browser are test parameters)
"""Enrolment in the browser form (real Chromium): the enrolment path /f/FORM#e=CODE carries a one-time
code, never the token; the page takes it out of the URL, asks for a PIN, exchanges the code once for
the token and keeps the token only encrypted under the PIN key (PBKDF2 + AES-GCM in IndexedDB). A used,
expired or unknown code is refused with a clear message and nothing is kept; a wrong PIN opens
nothing; a token revoked later stops sending and keeps the sealed interviews on the device. The quick
wipe removes the token, keys, drafts, caches and (when asked) unsent interviews. Also the enrolment
endpoint itself (one error shape).
"""

from __future__ import annotations

import httpx

from formserver import OUTBOX_COUNT, PIN, enrol_page, enter_pin, open_form
from test_form_browser import CANARY, FORM, STORAGE_DUMP
from test_form_browser import browser_context  # noqa: F401  (a fixture)
from test_form_browser import study  # noqa: F401  (a fixture)

# every record of the vault store, its fields and the types of their values (never their content)
VAULT = """async () => await new Promise((resolve, reject) => {
  const req = indexedDB.open('quietpoll');
  req.onsuccess = () => {
    const db = req.result;
    if (!db.objectStoreNames.contains('vault')) { db.close(); return resolve(null); }
    const tx = db.transaction('vault'); const store = tx.objectStore('vault');
    const keys = store.getAllKeys(); const values = store.getAll();
    tx.oncomplete = () => { db.close(); resolve(Object.fromEntries(keys.result.map((k, i) => [k,
      Object.fromEntries(Object.entries(values.result[i]).map(([f, v]) => [f, v instanceof Uint8Array ? 'bytes:' + v.length : typeof v === 'number' ? v : typeof v]))]))); };
  };
  req.onerror = () => reject(req.error);
})"""
DATABASES = "async () => (await indexedDB.databases()).map(d => d.name)"
EVERYTHING = """async () => ({caches: await caches.keys(), local: localStorage.length, session: sessionStorage.length,
  workers: (await navigator.serviceWorker.getRegistrations()).length})"""
STATE = "document.getElementById('quietpoll').dataset.enrolment"
SECRET = (
    "async () => Array.from(new Uint8Array(await (await (await caches.open('k'))"
    ".match('/.well-known/k')).arrayBuffer()))"
)


def test_enrolment_path_enrols_with_a_pin_and_keeps_the_token_wrapped(study, browser_context):
    context, requests = browser_context
    code = study["store"].add_enrol_code(study["token"])
    page = enrol_page(context, study["base"], FORM, code)
    page.wait_for_selector('#quietpoll[data-ready="true"]', state="attached")
    assert page.evaluate(STATE) == "enrolled"
    assert code not in page.url and "#" not in page.url  # the code left the URL at once
    assert "enrolled" in page.locator("#qp-device").inner_text()  # shown before an interview starts
    assert page.locator("input[name=pin]").count() == 0  # no PIN field once unlocked
    vault = page.evaluate(VAULT)
    route = study["path"].removeprefix("/f/")  # storage names carry the route id, never the form id
    assert set(vault) == {"lock", f"questionnaire:{route}"}
    assert vault["lock"] == {"salt": "bytes:16", "iterations": 600000, "iv": "bytes:12", "ct": vault["lock"]["ct"]}
    assert vault["lock"]["ct"].startswith("bytes:")
    dump = page.evaluate(STORAGE_DUMP)
    assert dump["local"] == "{}" and study["token"] not in str(dump)
    # no request carried the token or the code in its URL
    assert not [u for u in requests if study["token"] in u or code in u]
    # the same code is dead: opening the enrolment path again is refused
    page.close()
    page = context.new_page()
    page.goto(f"{study['base']}{study['path']}#e={code}")
    page.wait_for_selector('#quietpoll[data-enrolment="enrolling"]', state="attached")
    enter_pin(page)
    page.wait_for_selector('#quietpoll[data-enrolment="refused"]', state="attached")
    alert = page.locator("#qp-enrol")
    assert alert.is_visible() and "new link" in alert.inner_text()
    # the earlier enrolment is untouched: the next load asks for its PIN and opens
    page.goto(f"{study['base']}{study['path']}")
    page.wait_for_selector('#quietpoll[data-enrolment="locked"]', state="attached")
    enter_pin(page)
    page.wait_for_selector('#quietpoll[data-ready="true"]', state="attached")


def test_unknown_expired_and_malformed_codes_are_refused(study, browser_context):
    context, _ = browser_context
    store = study["store"]
    expired = store.add_enrol_code(study["token"], ttl=60)
    store._conn().execute("UPDATE enrol_codes SET expires_at = 0")  # as if a day had passed
    for code in (expired, "A" * 22, "not-a-code"):
        page = context.new_page()
        page.goto(f"{study['base']}{study['path']}#e={code}")
        if code == "not-a-code":  # malformed: refused without asking the server
            page.wait_for_selector('#quietpoll[data-enrolment="refused"]', state="attached")
        else:
            page.wait_for_selector('#quietpoll[data-enrolment="enrolling"]', state="attached")
            enter_pin(page)
            page.wait_for_selector('#quietpoll[data-enrolment="refused"]', state="attached")
        assert page.locator("#qp-enrol").is_visible() and "#" not in page.url
        assert page.evaluate(VAULT) in (None, {})
        assert page.locator(".q").count() == 0  # no questionnaire
        page.close()


def test_short_pin_is_refused_and_a_wrong_pin_opens_nothing(study, browser_context):
    context, _ = browser_context
    page = context.new_page()
    page.goto(f"{study['base']}{study['path']}#e={study['store'].add_enrol_code(study['token'])}")
    page.wait_for_selector('#quietpoll[data-enrolment="enrolling"]', state="attached")
    enter_pin(page, "1234567")
    error = page.locator("#qp-pin-error")
    error.wait_for(state="visible")
    assert "at least 8" in error.inner_text() and page.evaluate(VAULT) in (None, {})
    enter_pin(page)
    page.wait_for_selector('#quietpoll[data-ready="true"]', state="attached")
    page.goto(f"{study['base']}{study['path']}")
    page.wait_for_selector('#quietpoll[data-enrolment="locked"]', state="attached")
    enter_pin(page, PIN + "x")
    error = page.locator("#qp-pin-error")
    error.wait_for(state="visible")
    assert error.inner_text() == "Wrong PIN."
    assert page.evaluate(STATE) == "locked" and page.locator(".q").count() == 0
    enter_pin(page)
    page.wait_for_selector('#quietpoll[data-ready="true"]', state="attached")


def test_token_revoked_after_enrolment_keeps_interviews_sealed(study, browser_context):
    context, _ = browser_context
    page = open_form(context, study["base"], FORM)
    study["store"].revoke_token("interviewer-1")
    page.check('input[name="consent"][value="no"]')
    page.click("button[type=submit]")
    alert = page.locator("#qp-enrol")
    alert.wait_for(state="visible")
    assert "revoked" in alert.inner_text() and "1 encrypted interview" in alert.inner_text()
    dump = page.evaluate(STORAGE_DUMP)
    assert len(dump["outbox"]) == 1
    assert study["store"].count() == 0
    page.wait_for_function("document.getElementById('qp-device').textContent.includes('revoked')")


def test_quick_wipe_removes_token_keys_drafts_and_caches(study, browser_context):
    context, _ = browser_context
    page = open_form(context, study["base"], FORM)
    page.wait_for_selector('#quietpoll[data-offline="ready"]', state="attached")
    # one sealed interview waiting (offline) and one in progress (a draft)
    context.set_offline(True)
    page.check('input[name="consent"][value="no"]')
    page.click("button[type=submit]")
    page.wait_for_function(f"async () => ({OUTBOX_COUNT})() .then(n => n === 1)")
    page.check('input[name="consent"][value="yes"]')
    page.fill('input[name="remark"]', CANARY)
    page.wait_for_selector("#quietpoll[data-draft-saves]", state="attached")
    route = study["path"].removeprefix("/f/")
    assert set(page.evaluate(VAULT)) == {"lock", f"questionnaire:{route}", f"draft:{route}"}
    before = page.evaluate(EVERYTHING)
    assert before["caches"] and before["workers"] == 1
    secret = bytes(page.evaluate(SECRET))
    assert len(secret) == 32

    page.click('[data-action="wipe"]')  # the outbox is kept unless asked
    page.wait_for_selector('#quietpoll[data-wiped="keys"]', state="attached")
    assert page.evaluate(VAULT) == {}
    assert page.evaluate(EVERYTHING) == {"caches": [], "local": 0, "session": 0, "workers": 0}
    assert page.evaluate(OUTBOX_COUNT) == 1
    assert page.locator(".q").count() == 0 and page.evaluate(STATE) == "none"

    context.set_offline(False)
    page.goto(f"{study['base']}{study['path']}")  # nothing left to unlock
    page.wait_for_selector('#quietpoll[data-enrolment="none"]', state="attached")
    assert page.locator("input[name=pin]").is_hidden()
    page.check("[data-wipe-outbox]")
    page.click('[data-action="wipe"]')
    page.wait_for_selector('#quietpoll[data-wiped="all"]', state="attached")
    assert "quietpoll" not in page.evaluate(DATABASES)
    assert page.evaluate(EVERYTHING) == {"caches": [], "local": 0, "session": 0, "workers": 0}
    assert study["store"].count() == 0
    # on disk: the device secret (mixed into the vault key) is in no file of the profile, so a copy of
    # the encrypted lock that LevelDB may keep until its next compaction cannot be opened, PIN or not
    context.close()
    left = [str(f) for f in study["profile"].rglob("*") if f.is_file() and secret in f.read_bytes()]
    assert not left, left


def test_enrol_endpoint(study):
    url = f"{study['base']}{study['path']}/enrol"
    store = study["store"]
    with httpx.Client() as client:
        ok = client.post(url, headers={"Authorization": f"Bearer {study['token']}"})
        assert ok.status_code == 200 and ok.json() == {"enrolled": True}
        for headers in ({"Authorization": "Bearer nope"}, {"Authorization": f"Basic {study['token']}"}):
            r = client.post(url, headers=headers)
            assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
            assert "revoked" in r.json()["error"]["message"] and r.headers["www-authenticate"] == "Bearer"
        code = store.add_enrol_code(study["token"])
        first = client.post(url, json={"code": code})
        assert first.status_code == 200 and first.json() == {"token": study["token"]}
        assert first.headers["cache-control"] == "no-store" and first.headers["referrer-policy"] == "no-referrer"
        second = client.post(url, json={"code": code})
        assert second.status_code == 401 and study["token"] not in second.text
        for body in (
            b"",
            b"[]",
            b'{"code": 1}',
            b'{"code": "x", "y": 1}',
            b"\xff",
            b'{"code": "' + b"a" * 2000 + b'"}',
        ):
            r = client.post(url, content=body)
            assert r.status_code in (400, 413) and r.json()["error"]["code"] in ("bad_request", "too_large"), body
        assert client.post(url, json={"code": "A" * 22}).status_code == 401
        assert client.post(f"{study['base']}/f/no_such_form/enrol", json={"code": code}).status_code == 404
        assert client.get(url).status_code == 405
        revoked_code = store.add_enrol_code(study["token"])
        store.revoke_token("interviewer-1")
        assert client.post(url, headers={"Authorization": f"Bearer {study['token']}"}).status_code == 401
        assert client.post(url, json={"code": revoked_code}).status_code == 401  # its token was revoked since


def test_a_korean_phone_gets_a_korean_shell(study):
    """Before any questionnaire language is chosen, the PIN and enrolment texts follow the phone's
    language (the template's default language is English)."""
    from playwright.sync_api import sync_playwright

    from formserver import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(study["tmp"] / "profile-ko"),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            locale="ko-KR",
        )
        try:
            page = context.new_page()
            page.goto(f"{study['base']}{study['path']}")
            page.wait_for_selector('#quietpoll[data-enrolment="none"]', state="attached")
            assert page.locator("#qp-device").inner_text().startswith("이 브라우저는 등록되지 않았습니다")
            assert page.locator('[data-action="wipe"]').inner_text() == "지우기"
        finally:
            context.close()
