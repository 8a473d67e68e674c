# ruff: noqa: E501  (the HTML template and the markdown form are kept one element / one row per line)
"""The web form in a real Chromium (Debian's /usr/bin/chromium driven by Playwright).

Starts the real app (create_app + add_form_routes, SQLite store, a token, the study key pair) with
uvicorn on loopback, fills the form, and checks what reaches the server, the browser's storage and
the browser profile. Never downloads a browser: scripts/install-browser-deps.sh installs chromium.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from pathlib import Path

import httpx
import pytest

from quietpoll.collect.app import CONTENT_SECURITY_POLICY
from quietpoll.collect.envelope import open_sealed
from quietpoll.collect.web import render_form
from quietpoll.instrument.form import load_instrument

from formserver import CHROMIUM, CHROMIUM_ARGS, enter_pin, open_form, serve_form

FORM = "media_probe"
CANARY = "CANARY-서울-7731-zq"
VECTORS = json.loads((Path(__file__).parents[1] / "collect" / "vectors.json").read_text(encoding="utf-8"))
TEMPLATE = Path(__file__).parents[2] / "src" / "quietpoll" / "instrument" / "templates" / "foreign-media.xlsx"

FORM_MD = """
| survey |
|        | type                    | name     | label::English (en)        | label::Korean (ko)  | relevant                  | constraint             | constraint_message | required |
|        | select_one yes_no       | consent  | Do you agree to take part? | 참여에 동의하십니까? |                           |                        |                    | yes      |
|        | begin_group             | about    | About you                  | 응답자              | ${consent} = 'yes'        |                        |                    |          |
|        | integer                 | age      | Age                        | 나이                |                           | . >= 18 and . <= 120   | Age 18 to 120      | yes      |
|        | text                    | remark   | Remark                     | 비고                |                           |                        |                    |          |
|        | select_multiple media   | media    | Which media?               | 어떤 매체?          |                           |                        |                    |          |
|        | integer                 | tv_hours | Hours of TV                | TV 시간             | selected(${media}, 'tv')  | . >= 0                 |                    |          |
|        | date                    | visited  | Date of visit              | 방문 날짜           |                           |                        |                    |          |
|        | end_group               |          |                            |                     |                           |                        |                    |          |
| choices |
|         | list_name | name  | label::English (en) | label::Korean (ko) |
|         | yes_no    | yes   | Yes                 | 예                 |
|         | yes_no    | no    | No                  | 아니요             |
|         | media     | tv    | Television          | 텔레비전           |
|         | media     | radio | Radio               | 라디오             |
|         | media     | usb   | USB stick           | USB                |
| settings |
|          | form_id     | form_title  | default_language |
|          | media_probe | Media probe | English (en)     |
"""


@pytest.fixture
def study(tmp_path):
    with serve_form(tmp_path, FORM_MD, FORM, "interviewer-1") as served:
        assert served["instrument"].form_id == FORM
        yield served


@pytest.fixture
def browser_context(study):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(study["profile"]), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        requests: list[str] = []
        context.on("request", lambda r: requests.append(r.url))
        try:
            yield context, requests
        finally:
            context.close()


STORAGE_DUMP = """async () => {
  const local = JSON.stringify(Object.fromEntries(Object.entries(localStorage)));
  const rows = await new Promise((resolve, reject) => {
    const req = indexedDB.open("quietpoll");
    req.onsuccess = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains("outbox")) { db.close(); return resolve([]); }
      const get = db.transaction("outbox").objectStore("outbox").getAll();
      get.onsuccess = () => { db.close(); resolve(get.result); };
      get.onerror = () => reject(get.error);
    };
    req.onerror = () => reject(req.error);
  });
  return {local, outbox: rows};
}"""


def _visible(page, name: str) -> bool:
    return page.locator(f'.q[data-name="{name}"]').is_visible()


def test_fill_skip_logic_offline_submit_and_decrypt(study, browser_context, caplog):
    caplog.set_level(logging.DEBUG)  # every record of the server (uvicorn, starlette, quietpoll) is kept
    context, requests = browser_context
    base, token = study["base"], study["token"]
    page = open_form(context, base, FORM)  # enrolled with a one-time code and the PIN
    page.wait_for_selector('#quietpoll[data-enrolment="enrolled"]', state="attached")
    page.wait_for_selector('#quietpoll[data-offline="ready"]', state="attached")

    # enrolment: the token is in no URL and in no readable storage
    assert token not in page.url and "#" not in page.url
    assert page.evaluate("JSON.stringify(Object.entries(localStorage))") == "[]"

    # language switch
    assert page.get_by_text("Do you agree to take part?").is_visible()
    page.click('button[data-set-lang="Korean (ko)"]')
    assert page.get_by_text("참여에 동의하십니까?").is_visible()
    assert not page.get_by_text("Do you agree to take part?").is_visible()
    page.click('button[data-set-lang="English (en)"]')

    # skip logic: the group needs consent, tv_hours needs 'tv' selected
    assert not _visible(page, "age")
    page.check('input[name="consent"][value="yes"]')
    assert _visible(page, "age")
    assert not _visible(page, "tv_hours")
    page.check('input[name="media"][value="tv"]')
    assert _visible(page, "tv_hours")
    page.uncheck('input[name="media"][value="tv"]')
    assert not _visible(page, "tv_hours")
    page.check('input[name="media"][value="tv"]')
    page.check('input[name="media"][value="radio"]')

    # required and constraint checks, live and on submit
    page.click("button[type=submit]")
    age_error = page.locator('.q[data-name="age"] .err')
    assert age_error.is_visible() and "required" in age_error.inner_text()
    page.fill('input[name="age"]', "12")
    assert age_error.is_visible() and age_error.inner_text() == "Age 18 to 120"
    page.fill('input[name="age"]', "34")
    assert not age_error.is_visible()
    page.fill('input[name="remark"]', CANARY)
    page.fill('input[name="tv_hours"]', "3")
    page.fill('input[name="visited"]', "2024-05-17")
    assert study["store"].count() == 0

    # submit while offline: only the sealed submission waits in IndexedDB
    context.set_offline(True)
    page.click("button[type=submit]")
    page.wait_for_function(
        """async () => (await new Promise(r => { const q = indexedDB.open('quietpoll');
           q.onsuccess = () => { const g = q.result.transaction('outbox').objectStore('outbox').count();
           g.onsuccess = () => { q.result.close(); r(g.result); }; }; })) === 1"""
    )
    dump = page.evaluate(STORAGE_DUMP)
    assert len(dump["outbox"]) == 1
    record = dump["outbox"][0]
    assert set(record) == {"form_id", "instance_id", "ciphertext"}
    # the outbox names the form by its route id (the server maps it back), never by the form id
    assert record["form_id"] == study["path"].removeprefix("/f/") and FORM not in json.dumps(dump)
    assert re.fullmatch(r"uuid:[0-9a-f-]{36}", record["instance_id"])
    text = json.dumps(dump, ensure_ascii=False)
    for secret in (CANARY, "2024-05-17", "radio"):
        assert secret not in text
    assert study["store"].count() == 0
    assert page.input_value('input[name="remark"]') == ""  # the form is cleared: nothing left to read

    # the page reloads with no network (service worker cache) and still holds only the sealed record
    page.reload()
    enter_pin(page)  # offline: the questionnaire comes from its copy encrypted under the PIN key
    page.wait_for_selector('#quietpoll[data-ready="true"]', state="attached")
    assert page.get_by_text("Do you agree to take part?").is_visible()
    assert page.evaluate(STORAGE_DUMP)["outbox"] == dump["outbox"]

    # back online: the 'online' event sends it, and it leaves the browser
    context.set_offline(False)
    deadline = time.monotonic() + 15
    while study["store"].count() < 1:
        assert time.monotonic() < deadline, "the offline submission was not sent after going online"
        time.sleep(0.1)
    page.wait_for_function("() => document.getElementById('qp-status').textContent === 'Sent.'")
    assert page.evaluate(STORAGE_DUMP)["outbox"] == []

    # the server holds ciphertext only; the key holder reads the answers
    assert CANARY.encode() not in study["db"].read_bytes()
    rows = list(study["store"].ciphertexts())
    assert len(rows) == 1
    form_id, instance_id, ciphertext = rows[0][:3]
    assert (form_id, instance_id) == (FORM, record["instance_id"])
    assert ciphertext == record["ciphertext"]
    answers = open_sealed(study["private"], form_id, instance_id, ciphertext)
    assert answers == {
        "consent": "yes",
        "age": 34,
        "remark": CANARY,
        "media": "tv radio",
        "tv_hours": 3,
        "visited": "2024-05-17",
    }

    # nothing left the loopback server
    assert requests and all(u.startswith(base + "/") for u in requests), [u for u in requests if not u.startswith(base)]
    context.close()
    # the profile is searched as UTF-8 and UTF-16 (Chromium keeps some strings as UTF-16), whole and in parts
    needles = [CANARY.encode(), CANARY.encode("utf-16-le"), "서울-7731".encode(), "서울-7731".encode("utf-16-le")]
    leaked = [
        str(f.relative_to(study["profile"]))
        for f in study["profile"].rglob("*")
        if f.is_file() and any(n in f.read_bytes() for n in needles)
    ]
    assert not leaked, f"the canary answer is in the browser profile: {leaked}"
    # ... and the server's logs (every record, any level)
    logged = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
    assert caplog.records and CANARY not in logged and "2024-05-17" not in logged


def test_js_sealed_submissions_open_in_python(study, browser_context):
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    context, requests = browser_context
    page = open_form(context, study["base"], FORM)
    private = X25519PrivateKey.from_private_bytes(bytes.fromhex(VECTORS["private_key_hex"]))
    cases = [(v["form_id"], v["instance_id"], v["payload"]) for v in VECTORS["vectors"]]
    cases += [
        ("foreign_media_2025", "uuid:00000000-0000-4000-8000-000000000001", {"note": "한국어 " * 400, "n": 1.5}),
        ("f", "i", {}),
    ]
    for form_id, instance_id, payload in cases:
        sealed = page.evaluate(
            "([k, f, i, p]) => quietpoll.seal(k, f, i, p)", [VECTORS["public_key_b64"], form_id, instance_id, payload]
        )
        assert re.fullmatch(r"[A-Za-z0-9_-]+", sealed)
        wire = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
        plain = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        bucket = next(b for b in VECTORS["buckets"] if b >= len(plain) + 4)
        assert len(wire) == 1 + 32 + bucket + 16 and wire[0] == 1
        assert open_sealed(private, form_id, instance_id, sealed) == payload
        with pytest.raises(Exception):
            open_sealed(private, form_id, instance_id + "x", sealed)  # the ids are bound


def test_pages_keep_the_csp_and_have_no_inline_script(study):
    base = study["base"]
    with httpx.Client(base_url=base) as client:
        page = client.get(study["path"])
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "Do you agree" not in page.text  # the shell: no questionnaire without a token
        assert not re.search(r"<script(?![^>]*\bsrc=)", page.text)
        assert not re.search(r"\son[a-z]+=", page.text) and "style=" not in page.text
        for path in ("/static/form.js", "/static/form.css", "/sw.js"):
            r = client.get(path)
            assert r.status_code == 200, path
            assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert client.get("/sw.js").headers["content-type"].startswith("text/javascript")
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        missing = client.get("/f/no_such_form")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
        # the form id itself is no path: a phone's History never names the study's subject
        assert FORM not in study["path"] and client.get(f"/f/{FORM}").status_code == 404
        assert FORM not in page.text  # nor does the shell (it names the route id only)


def test_foreign_media_template_renders_every_question():
    instrument = load_instrument(TEMPLATE)
    html = render_form(instrument, VECTORS["public_key_b64"])
    for q in instrument.questions:
        if q.type in {"select_one", "select_multiple", "integer", "decimal", "text", "date"}:
            assert f'name="{q.name}"' in html, q.name
    assert 'data-relevant="${status} = &#39;left&#39;"' in html
    assert "조사에 참여하는 데 동의하십니까?" in html and 'data-set-lang="Korean"' in html
