# ruff: noqa: F811  (fixtures imported from test_form_browser are test parameters)
"""The supervisor's page /s in Chromium (phone width): the token typed in opens the counts per
interviewer; it is kept in no URL and no storage, and a wrong token shows a refusal and no table."""

from __future__ import annotations

from formserver import CHROMIUM, CHROMIUM_ARGS
from test_form_browser import study  # noqa: F401  (a fixture)

EVERYTHING = """async () => ({local: localStorage.length, session: sessionStorage.length,
  dbs: (await indexedDB.databases()).length, caches: (await caches.keys()).length})"""


def test_supervisor_page_shows_counts_and_keeps_no_token(study, tmp_path):
    from playwright.sync_api import sync_playwright

    supervisor = study["store"].add_supervisor("sup-01")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "sup-profile"),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 375, "height": 812},
        )
        try:
            page = context.new_page()
            page.goto(f"{study['base']}/s")
            page.fill("input[name=token]", study["token"])  # an interviewer's token: refused
            page.click("#qp-sup button[type=submit]")
            page.wait_for_function("() => document.getElementById('qp-sup-status').textContent.length > 0")
            assert "does not open" in page.inner_text("#qp-sup-status")
            assert page.locator("#qp-stats tr").count() == 0
            page.fill("input[name=token]", supervisor)
            page.click("#qp-sup button[type=submit]")
            page.wait_for_selector("#qp-stats tbody tr")
            rows = page.locator("#qp-stats tbody tr").all_inner_texts()
            assert any(r.startswith(study["store"].tokens()[0]["alias"]) for r in rows), rows
            assert page.input_value("input[name=token]") == ""  # the field is cleared at once
            assert supervisor not in page.url and page.evaluate(EVERYTHING) == {
                "local": 0,
                "session": 0,
                "dbs": 0,
                "caches": 0,
            }
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            assert page.title() == "Notes"  # the disguise's title, no product name
        finally:
            context.close()
