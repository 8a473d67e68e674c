"""Shared set-up of the browser-form tests: Chromium present (or skip), one form served by the real
app (create_app + add_form_routes, a SQLite store, a token, the study key pair) with uvicorn on
loopback, and a page opened on it once the form is ready: open_form enrols the browser with a
one-time code (/f/ROUTE#e=CODE, ROUTE the form's opaque route id) and the PIN, or unlocks it with the
PIN, as an interviewer would.
Not a test module (no test_ prefix)."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path

import pytest

from quietpoll.collect.app import create_app, serving
from quietpoll.collect.keys import load_private, new_keys
from quietpoll.collect.shell import form_path
from quietpoll.collect.store import Store
from quietpoll.collect.web import add_form_routes, browser_unsupported
from quietpoll.instrument.form import load_instrument

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSPHRASE = "correct horse battery staple"
PIN = "pin-4821-test"
ENROLMENT = "#quietpoll[data-enrolment]"
# base URL -> (store, token) of each served study, so open_form can make enrolment codes
_SERVED: dict[str, tuple] = {}
READY = '#quietpoll[data-ready="true"]'
# how many sealed interviews wait in the page's IndexedDB outbox (0 before the outbox exists)
OUTBOX_COUNT = """async () => (await new Promise(r => { const q = indexedDB.open('quietpoll');
  q.onsuccess = () => { const db = q.result; if (!db.objectStoreNames.contains('outbox')) { db.close(); return r(0); }
  const g = db.transaction('outbox').objectStore('outbox').count();
  g.onsuccess = () => { db.close(); r(g.result); }; }; }))"""


def chromium_or_skip() -> None:
    if Path(CHROMIUM).exists():
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            message = "playwright is not installed: pip install -e '.[test]'"
        else:
            return
    else:
        message = f"{CHROMIUM} is missing: run scripts/install-browser-deps.sh as root"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests cannot run: {message}")
    pytest.skip(message)


@contextmanager
def serve_form(tmp_path: Path, form: str | Path, form_id: str, interviewer: str):
    """Serve one form (XLSForm markdown text, or a path to a form file) as `form_id` and give the
    study dict the tests use: base URL, store, token, private key and the paths under tmp_path."""
    chromium_or_skip()
    if isinstance(form, str):
        path = tmp_path / "form.md"
        path.write_text(form, encoding="utf-8")
    else:
        path = form
    instrument = load_instrument(path)
    assert browser_unsupported(instrument) == []
    (tmp_path / "study").mkdir()
    pub_path, key_path = new_keys(tmp_path / "study", PASSPHRASE)
    store = Store.open(f"sqlite:///{tmp_path / 'collect.db'}")
    try:
        token = store.add_token(interviewer)
        app = create_app(store, forms={form_id: {}})
        add_form_routes(app, {form_id: instrument}, json.loads(pub_path.read_text())["public_key"], store=store)
        with serving(app) as base:
            _SERVED[base] = (store, token)
            yield {
                "base": base,
                "store": store,
                "token": token,
                "tmp": tmp_path,
                "db": tmp_path / "collect.db",
                "path": form_path(store, form_id),  # /f/ROUTE: the form's page (never /f/FORM_ID)
                "profile": tmp_path / "profile",
                "private": load_private(key_path, PASSPHRASE),
                "instrument": instrument,
                "pin": PIN,
            }
    finally:
        _SERVED.clear()
        store.close()


def register(base: str, store, token: str) -> None:
    """Let open_form enrol browsers on a server that a test started itself (not with serve_form)."""
    _SERVED[base] = (store, token)


def page_path(base: str, form_id: str) -> str:
    """``/f/ROUTE`` of ``form_id`` on a server started with serve_form or registered."""
    return form_path(_SERVED[base][0], form_id)


def enter_pin(page, pin: str = PIN) -> None:
    """Type the PIN into the page's PIN field and press its OK button."""
    page.fill("input[name=pin]", pin)
    page.click("#qp-pin button[type=submit]")


def enrol_page(context, base: str, form_id: str, code: str | None = None, pin: str = PIN):
    """A new page that enrols the browser: /f/ROUTE#e=CODE (a fresh code for the served study's token
    when `code` is None), then the PIN. Returns the page once the enrolment has an outcome."""
    if code is None:
        store, token = _SERVED[base]
        code = store.add_enrol_code(token)
    page = context.new_page()
    page.goto(f"{base}{form_path(_SERVED[base][0], form_id)}#e={code}")
    page.wait_for_selector('#quietpoll[data-enrolment="enrolling"]', state="attached")
    enter_pin(page, pin)
    page.wait_for_selector(
        '#quietpoll[data-ready="true"], #quietpoll[data-enrolment="refused"], #quietpoll[data-enrolment="mismatch"]',
        state="attached",
    )
    return page


def open_form(context, base: str, form_id: str, query: str = ""):
    """A new page on /f/ROUTE (with `query`, e.g. "?lang=x"), once the form is ready: an enrolled
    browser is unlocked with the PIN, another one is enrolled first (a one-time code and the PIN)."""
    page = context.new_page()
    page.goto(f"{base}{form_path(_SERVED[base][0], form_id)}{query}")
    page.wait_for_selector(ENROLMENT, state="attached")
    if page.get_attribute("#quietpoll", "data-enrolment") in ("none", "refused"):
        page.close()
        page = enrol_page(context, base, form_id)
    else:
        enter_pin(page)
    page.wait_for_selector(READY, state="attached")
    return page
