# ruff: noqa: F811  (fixtures are test parameters)
"""Key pinning (issue 11, item 4): an enrolled browser seals only to the study key it pinned at
enrolment, with the bundle digest it pinned. When the server, restarted on the same origin, offers
another study key (`keys new` on a copy of the study, as a seized server could) or another bundle
digest, the page refuses to seal, warns clearly, shows no questionnaire, and nothing reaches the store
or the outbox; the original server works again unchanged, and only a new enrolment accepts the new
key (real Chromium, one persistent profile, one origin throughout)."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from quietpoll.cli import main
from quietpoll.collect import web
from quietpoll.collect.app import create_app, serving
from quietpoll.collect.envelope import open_sealed
from quietpoll.collect.keys import load_private
from quietpoll.collect.store import Store
from quietpoll.instrument.form import load_instrument

from formserver import (
    CHROMIUM,
    CHROMIUM_ARGS,
    OUTBOX_COUNT,
    chromium_or_skip,
    enrol_page,
    enter_pin,
    page_path,
    register,
)
from test_form_browser import FORM, FORM_MD

PASS = "pinning passphrase"


class _Switch:
    """An ASGI app forwarding to whichever app it holds now: one origin, several server starts."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        await self.app(scope, receive, send)


@pytest.fixture
def servers(tmp_path, monkeypatch):
    chromium_or_skip()
    monkeypatch.setenv("QUIETPOLL_PASSPHRASE", PASS)
    study = tmp_path / "study"
    assert main(["init", str(study)]) == 0
    assert main(["keys", "new", str(study)]) == 0
    seized = tmp_path / "seized"  # a copy of the study with another key pair
    shutil.copytree(study, seized)
    shutil.rmtree(seized / "keys")
    assert main(["keys", "new", str(seized)]) == 0
    public = {
        name: json.loads((folder / "keys" / "study.pub").read_text())["public_key"]
        for name, folder in (("study", study), ("seized", seized))
    }
    assert public["study"] != public["seized"]
    form = tmp_path / "form.md"
    form.write_text(FORM_MD, encoding="utf-8")
    instrument = load_instrument(form)
    store = Store.open(f"sqlite:///{tmp_path / 'collect.db'}")
    token = store.add_token("interviewer-1")

    def app(key: str):
        a = create_app(store, forms={FORM: {}})
        web.add_form_routes(a, {FORM: instrument}, key, store=store)
        return a

    apps = {"study": app(public["study"]), "seized": app(public["seized"])}
    with monkeypatch.context() as m:  # the same key, another bundle (form.js, form.css, sw.js)
        m.setattr(web, "_bundle_digest", lambda: b"another form.js")
        apps["bundle"] = app(public["study"])
    switch = _Switch(apps["study"])
    try:
        with serving(switch) as base:
            register(base, store, token)
            yield {
                "base": base,
                "switch": switch,
                "apps": apps,
                "store": store,
                "profile": tmp_path / "profile",
                "keys": {
                    name: folder / "keys" / "study.key" for name, folder in (("study", study), ("seized", seized))
                },
            }
    finally:
        store.close()


@pytest.fixture
def context(servers):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(servers["profile"]), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield ctx
        finally:
            ctx.close()


def _unlock(page, base):
    page.goto(base + page_path(base, FORM))
    page.wait_for_selector('#quietpoll[data-enrolment="locked"]', state="attached")
    enter_pin(page)
    page.wait_for_selector('#quietpoll[data-ready="true"], #quietpoll[data-enrolment="mismatch"]', state="attached")


def _submit(page, store, n):
    page.check('input[name="consent"][value="no"]')
    page.click("#qp-form button[type=submit]")
    deadline = time.monotonic() + 15
    while store.count() < n:
        assert time.monotonic() < deadline, "the interview did not reach the server"
        time.sleep(0.05)


@pytest.mark.parametrize("swap", ["seized", "bundle"])
def test_enrolled_browser_refuses_another_key_or_bundle(servers, context, swap):
    base, store = servers["base"], servers["store"]
    page = enrol_page(context, base, FORM)
    page.wait_for_selector('#quietpoll[data-ready="true"]', state="attached")
    _submit(page, store, 1)  # the pinned key works
    page.close()

    servers["switch"].app = servers["apps"][swap]  # the server restarts with another key / bundle
    page = context.new_page()
    _unlock(page, base)
    assert page.get_attribute("#quietpoll", "data-enrolment") == "mismatch"
    alert = page.locator("#qp-enrol")
    assert alert.is_visible() and "Warning" in alert.inner_text() and "enrolled again" in alert.inner_text()
    assert page.locator(".q").count() == 0 and page.locator("#qp-form").count() == 0  # nothing to fill or seal
    time.sleep(0.5)
    assert page.evaluate(OUTBOX_COUNT) == 0 and store.count() == 1  # nothing new reached the store
    page.close()

    # the original server again: the same enrolment works, nothing was lost or changed
    servers["switch"].app = servers["apps"]["study"]
    page = context.new_page()
    _unlock(page, base)
    assert page.get_attribute("#quietpoll", "data-enrolment") == "enrolled"
    _submit(page, store, 2)
    private = load_private(servers["keys"]["study"], PASS)
    for form_id, instance_id, ciphertext in store.ciphertexts():
        assert open_sealed(private, form_id, instance_id, ciphertext)["consent"] == "no"
    if swap == "seized":  # nothing in the store opens with the seized server's key
        seized = load_private(servers["keys"]["seized"], PASS)
        for form_id, instance_id, ciphertext in store.ciphertexts():
            with pytest.raises(Exception):
                open_sealed(seized, form_id, instance_id, ciphertext)


def test_only_a_new_enrolment_accepts_a_new_key(servers, context):
    base, store = servers["base"], servers["store"]
    enrol_page(context, base, FORM).close()
    servers["switch"].app = servers["apps"]["seized"]
    page = context.new_page()
    _unlock(page, base)
    assert page.get_attribute("#quietpoll", "data-enrolment") == "mismatch"
    page.close()
    page = enrol_page(context, base, FORM)  # a new code from the coordinator, a new PIN
    page.wait_for_selector('#quietpoll[data-ready="true"]', state="attached")
    _submit(page, store, 1)
    ((form_id, instance_id, ciphertext),) = list(store.ciphertexts())
    assert (
        open_sealed(load_private(servers["keys"]["seized"], PASS), form_id, instance_id, ciphertext)["consent"] == "no"
    )
