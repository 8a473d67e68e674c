"""Issue 11's first evidence: nothing in a real Chromium profile points back to a respondent.

The foreign-media template (`quietpoll init --template foreign-media`, plus one free-text question
for a canary answer), a real `keys new`, `tokens add --format json` and `quietpoll serve` on loopback.
Chromium runs on its own persistent profile directory: it opens the enrolment path, the interviewer
sets a PIN, fills the list-experiment and randomized-response items and the canary, a draft is saved,
and the Chromium process is killed with SIGKILL. Relaunched on the same profile and unlocked with the
PIN, the page resumes the interview (the answers and the same random draws are back) and submits it.
Then every file of the profile is searched (raw bytes: UTF-8, UTF-16LE, base64, URL-encoded, the
draws' IEEE-754 bytes) for the token, the canary and the draws, and none is found; `quietpoll pull`
gives the canary back, and the pulled file has no draw column.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import httpx
import polars as pl

from formserver import CHROMIUM, CHROMIUM_ARGS, PIN, chromium_or_skip, enter_pin

PASS = "profile grep passphrase"
CANARY = "CANARY-평양-5309-qx"
FORM = "foreign_media"
READY = '#quietpoll[data-ready="true"]'
# the page's own draft, opened with the PIN and the device secret as the page does (PBKDF2, then HKDF):
# the once() draws by calculation name
DRAWS = """async (pin) => {
  const db = await new Promise((res, rej) => { const q = indexedDB.open('quietpoll'); q.onsuccess = () => res(q.result); q.onerror = () => rej(q.error); });
  const get = (name) => new Promise((res) => { const g = db.transaction('vault').objectStore('vault').get(name); g.onsuccess = () => res(g.result); });
  const lock = await get('lock'); const name = 'draft:' + document.getElementById('quietpoll').dataset.formId; const draft = await get(name); db.close();
  if (!draft) return null;
  const secret = new Uint8Array(await (await (await caches.open('k')).match('/.well-known/k')).arrayBuffer());
  const base = await crypto.subtle.importKey('raw', new TextEncoder().encode(pin), 'PBKDF2', false, ['deriveBits']);
  const bits = new Uint8Array(await crypto.subtle.deriveBits({name: 'PBKDF2', hash: 'SHA-256', salt: lock.salt, iterations: lock.iterations}, base, 256));
  const ikm = new Uint8Array([...bits, ...secret]);
  const hkdf = await crypto.subtle.importKey('raw', ikm, 'HKDF', false, ['deriveKey']);
  const key = await crypto.subtle.deriveKey({name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: new TextEncoder().encode('quietpoll vault v1')},
    hkdf, {name: 'AES-GCM', length: 256}, false, ['decrypt']);
  const plain = await crypto.subtle.decrypt({name: 'AES-GCM', iv: draft.iv, additionalData: new TextEncoder().encode(name)}, key, draft.ct);
  const d = JSON.parse(new TextDecoder().decode(plain));
  const names = [...document.querySelectorAll('#qp-form .q[data-calculate]')].map(e => e.dataset.name);
  const out = {};
  names.forEach((n, i) => { if (d.calcs[i] && d.calcs[i].memo.length && d.calcs[i].memo[0]) out[n] = d.calcs[i].memo[0].v; });
  return out;
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _study(tmp_path: Path, capsys) -> tuple[Path, dict]:
    import openpyxl

    from quietpoll.cli import main

    study = tmp_path / "study"
    assert main(["init", str(study), "--template", "foreign-media"]) == 0
    book = openpyxl.load_workbook(study / "form.xlsx")
    sheet = book["survey"]
    row = next(r for r in range(1, sheet.max_row + 1) if sheet.cell(r, 2).value == "mode")
    sheet.insert_rows(row)
    for col, value in enumerate(("text", "remark", "Remark", "비고"), start=1):
        sheet.cell(row, col, value)
    book.save(study / "form.xlsx")
    assert main(["keys", "new", str(study)]) == 0
    capsys.readouterr()
    assert main(["tokens", "add", str(study), "--name", "field-11", "--format", "json"]) == 0
    added = json.loads(capsys.readouterr().out)
    assert set(added) == {"alias", "token", "enrol_path"}
    return study, added


class _Chromium:
    """Chromium started here (its own process, so the test can SIGKILL exactly it) on `profile`,
    driven over the DevTools protocol by Playwright."""

    def __init__(self, playwright, profile: Path):
        port_file = profile / "DevToolsActivePort"
        port_file.unlink(missing_ok=True)
        self.proc = subprocess.Popen(
            [CHROMIUM, *CHROMIUM_ARGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            assert self.proc.poll() is None and time.monotonic() < deadline, "chromium did not start"
            time.sleep(0.05)
        port = port_file.read_text().splitlines()[0]
        self.browser = playwright.chromium.connect_over_cdp(f"http://127.0.0.1:{port}")
        self.context = self.browser.contexts[0]

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=15)

    def close(self) -> None:
        try:
            self.browser.close()
        finally:
            if self.proc.poll() is None:
                self.proc.terminate()
            self.proc.wait(timeout=15)


def _visible(page, name: str) -> bool:
    return page.locator(f'.q[data-name="{name}"]').is_visible()


def _fill(page) -> None:
    page.check('input[name="consent"][value="yes"]')
    page.check('input[name="status"][value="inside"]')
    for name, value in [
        ("province", "north_hamgyong"),
        ("sex", "female"),
        ("age_band", "a30_39"),
        ("settlement", "city"),
    ]:
        page.check(f'input[name="{name}"][value="{value}"]')
    page.check('input[name="devices_owned"][value="tv"]')
    page.check('input[name="ever_watched"][value="yes"]')
    arm = "le_count_treat" if _visible(page, "le_count_treat") else "le_count_control"
    page.fill(f'input[name="{arm}"]', "2")
    page.check('input[name="rr_answer"][value="yes"]')
    page.check('input[name="mode"][value="intermediary"]')
    page.check('input[name="paid"][value="no"]')
    page.fill('input[name="remark"]', CANARY)


def _shown(page) -> tuple:
    """What the draws decide on screen: the list-experiment arm and the randomized-response instruction."""
    return (
        _visible(page, "le_count_treat"),
        _visible(page, "le_count_control"),
        *(_visible(page, n) for n in ("rr_say_yes", "rr_say_no", "rr_say_truth")),
    )


def _needles(token: str, draws: list[float]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    # the form id and title name the study's subject: a phone holder must not read them either
    forms = {
        "token": token,
        "canary": CANARY,
        "canary-part": "평양-5309",
        "pin": PIN,
        "form id": FORM,
        "form title": "Access to foreign information",
    }
    for what, text in forms.items():
        raw = text.encode("utf-8")
        out[f"{what} utf-8"] = raw
        out[f"{what} utf-16le"] = text.encode("utf-16-le")
        out[f"{what} url-encoded"] = urllib.parse.quote(text, safe="").encode("ascii")
        out[f"{what} base64"] = base64.b64encode(raw).rstrip(b"=")
        out[f"{what} base64url"] = base64.urlsafe_b64encode(raw).rstrip(b"=")
    for n, draw in enumerate(draws):
        digits = repr(draw).split(".", 1)[1][:12]  # 12 digits of the draw as text, with or without "0."
        out[f"draw {n} text"] = digits.encode("ascii")
        out[f"draw {n} utf-16le"] = digits.encode("utf-16-le")
        out[f"draw {n} float64"] = struct.pack("<d", draw)
        out[f"draw {n} float64 be"] = struct.pack(">d", draw)
    return out


def test_profile_holds_no_token_canary_or_draw_after_a_crash_and_resume(tmp_path, capsys, monkeypatch):
    chromium_or_skip()
    from playwright.sync_api import sync_playwright

    from quietpoll.cli import main

    monkeypatch.setenv("QUIETPOLL_PASSPHRASE", PASS)
    study, added = _study(tmp_path, capsys)
    token, code = added["token"], added["enrol_path"].split("#e=")[1]
    assert "?" not in added["enrol_path"] and token not in added["enrol_path"]
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("quietpoll")), "serve", str(study), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
    )
    profile = tmp_path / "profile"
    profile.mkdir()
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None and time.monotonic() < deadline, "quietpoll serve did not start"
            try:
                httpx.get(f"{base}/api/v1/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        with sync_playwright() as p:
            # 1. enrol, fill, let a draft save, SIGKILL
            chromium = _Chromium(p, profile)
            page = chromium.context.new_page()
            page.goto(base + added["enrol_path"])
            page.wait_for_selector('#quietpoll[data-enrolment="enrolling"]', state="attached")
            enter_pin(page)
            page.wait_for_selector(READY, state="attached")
            assert "#" not in page.url and page.title() == "Notes"
            _fill(page)
            page.wait_for_selector("#quietpoll[data-draft-saves]", state="attached")
            time.sleep(0.6)  # the last edit's draft (written 250 ms after it)
            before = page.evaluate(DRAWS, PIN)
            shown = _shown(page)
            assert set(before) >= {"le_draw", "rr_spin"}, before
            chromium.kill()

            # 2. relaunch on the same profile, unlock, resume: the answers and the same draws are back
            chromium = _Chromium(p, profile)
            page = chromium.context.new_page()
            page.goto(base + added["enrol_path"].split("#")[0])
            page.wait_for_selector('#quietpoll[data-enrolment="locked"]', state="attached")
            assert page.locator(".q").count() == 0  # nothing of the questionnaire before the PIN
            enter_pin(page)
            page.wait_for_selector(READY, state="attached")
            assert page.input_value('input[name="remark"]') == CANARY
            assert page.is_checked('input[name="rr_answer"][value="yes"]')
            assert _shown(page) == shown
            assert page.evaluate(DRAWS, PIN) == before
            page.click("#qp-form button[type=submit]")
            page.wait_for_function("() => document.getElementById('qp-status').textContent === 'Sent.'")
            assert page.evaluate(DRAWS, PIN) is None  # the draft is removed on submit
            chromium.close()
        dead_code = httpx.post(base + added["enrol_path"].split("#")[0] + "/enrol", json={"code": code})
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=15)

    # 3. the whole profile: no token, no canary, no draw, no PIN, in any of the encodings
    needles = _needles(token, [before["le_draw"], before["rr_spin"]])
    found = {}
    files = [f for f in profile.rglob("*") if f.is_file() and not f.is_symlink()]
    assert len(files) > 20  # a real profile (History, Preferences, IndexedDB, caches, ...)
    for f in files:
        data = f.read_bytes()
        hits = [what for what, needle in needles.items() if needle in data]
        if hits:
            found[str(f.relative_to(profile))] = hits
    assert not found, f"found in the browser profile: {found}"
    # positive control: Chromium does record the enrolment path, fragment included (in Sessions), so
    # the grep sees what the browser keeps; that record holds only the one-time code, dead since use
    recorded = [str(f.relative_to(profile)) for f in files if code.encode() in f.read_bytes()]
    assert recorded, "the enrolment path was not found in the profile: the grep would prove nothing"
    assert dead_code.status_code == 401

    # 4. `quietpoll pull` gives the canary back; no draw column leaves the device
    out = tmp_path / "out.csv"
    assert main(["pull", str(study), "--out", str(out)]) == 0
    frame = pl.read_csv(out)
    assert frame.height == 1 and frame["remark"][0] == CANARY
    assert "rr_spin" not in frame.columns  # device-only field (the draw is never sealed)
