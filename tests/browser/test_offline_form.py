# ruff: noqa: F811  (fixtures imported from test_form_browser are test parameters)
"""The service worker's cache follows the served form: after a new form version is served, one
online load installs a new worker whose cache replaces the old one, and the page then reloads
offline in its new version (real Chromium, same origin throughout)."""

from __future__ import annotations

import json

import pytest

from quietpoll.collect.app import create_app, serving
from quietpoll.collect.keys import new_keys
from quietpoll.collect.store import Store
from quietpoll.collect.web import add_form_routes
from quietpoll.instrument.form import load_instrument

from formserver import PASSPHRASE, chromium_or_skip, enter_pin, open_form, register
from test_form_browser import FORM, FORM_MD, browser_context  # noqa: F401

OLD_LABEL, NEW_LABEL = "Do you agree to take part?", "Do you agree to take part in version 2?"
# the service worker's caches (the page also keeps its device secret in a cache of its own, "k")
CACHE_KEYS = "async () => (await caches.keys()).filter(k => k.startsWith('quietpoll-'))"


class _Switch:
    """An ASGI app that forwards to whichever app it holds now (one origin, two deployments)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        await self.app(scope, receive, send)


@pytest.fixture
def study(tmp_path):
    chromium_or_skip()
    (tmp_path / "study").mkdir()
    pub_path, _ = new_keys(tmp_path / "study", PASSPHRASE)
    public = json.loads(pub_path.read_text())["public_key"]
    store = Store.open(f"sqlite:///{tmp_path / 'collect.db'}")
    apps = []
    for n, text in enumerate((FORM_MD, FORM_MD.replace(OLD_LABEL, NEW_LABEL))):
        path = tmp_path / f"form{n}.md"
        path.write_text(text, encoding="utf-8")
        app = create_app(store, forms={FORM: {}})
        add_form_routes(app, {FORM: load_instrument(path)}, public, store=store)
        apps.append(app)
    switch = _Switch(apps[0])
    token = store.add_token("interviewer-1")
    with serving(switch) as base:
        register(base, store, token)
        yield {"base": base, "switch": switch, "apps": apps, "profile": tmp_path / "profile"}
    store.close()


def _version(page) -> str:
    return page.get_attribute("#quietpoll", "data-sw").split("v=")[1]


def test_new_form_version_replaces_the_offline_cache(study, browser_context):
    context, _ = browser_context
    page = open_form(context, study["base"], FORM)
    page.wait_for_selector('#quietpoll[data-offline="ready"]', state="attached")
    old = _version(page)
    keys = page.evaluate(CACHE_KEYS)
    assert len(keys) == 1 and keys[0].endswith("-" + old)

    study["switch"].app = study["apps"][1]  # the server now serves the form's next version
    page.reload()  # online: the page comes from the network (network first), with the new worker URL
    enter_pin(page)
    page.wait_for_selector('#quietpoll[data-ready="true"]', state="attached")
    new = _version(page)
    assert new != old and page.get_by_text(NEW_LABEL).is_visible()
    page.wait_for_function(
        "async (v) => { const k = (await caches.keys()).filter(n => n.startsWith('quietpoll-')); return k.length === 1 && k[0].endsWith('-' + v)"
        " && !!(await caches.match(location.origin + location.pathname)); }",
        arg=new,
    )

    context.set_offline(True)
    page.reload()
    enter_pin(page)
    page.wait_for_selector('#quietpoll[data-ready="true"]', state="attached")
    assert page.get_by_text(NEW_LABEL).is_visible() and not page.get_by_text(OLD_LABEL).is_visible()
    assert _version(page) == new
