"""The template's whole field loop on loopback, as a team runs it, with no file edited by hand:
`init`, `keys new`, `tokens add --format json`, `serve` (the URL it prints), one interview in a real
Chromium through the enrolment path and the PIN, the rest of the interviews (SYNTHETIC, from
quietpoll.demo_study.template_responses) sealed to the study key and sent to the API as a phone would,
`pull`, `store stats`, `tokens list`, `report`; on 5 interviews and on 500."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from formserver import CHROMIUM, CHROMIUM_ARGS, PIN, chromium_or_skip, enter_pin
from quietpoll.cli import main

PASS = "field loop passphrase, synthetic"


def _payload(row: dict) -> dict:
    """One SYNTHETIC interview as the page seals it: answers by question name, nothing empty."""
    return {k: v for k, v in row.items() if v is not None and k != "_synthetic"}


@pytest.mark.parametrize("n", [5, 500])
def test_template_field_loop(tmp_path, capsys, monkeypatch, n):
    chromium_or_skip()
    from playwright.sync_api import sync_playwright

    from quietpoll.collect.envelope import seal
    from quietpoll.collect.keys import load_public
    from quietpoll.collect.sizing import envelope_size
    from quietpoll.demo_study import template_responses
    from quietpoll.instrument.form import load_instrument

    monkeypatch.setenv("QUIETPOLL_PASSPHRASE", PASS)
    study = tmp_path / "study"
    assert main(["init", str(study)]) == 0
    assert main(["keys", "new", str(study)]) == 0
    capsys.readouterr()
    tokens = []
    for i in range(1 + (n - 1) // 50):  # the API allows 60 interviews a minute per token
        assert main(["tokens", "add", str(study), "--name", f"field-{i:02d}", "--format", "json"]) == 0
        tokens.append(json.loads(capsys.readouterr().out))
    assert main(["tokens", "add", str(study), "--name", "sup-01", "--supervisor", "--format", "json"]) == 0
    supervisor = json.loads(capsys.readouterr().out)
    assert supervisor["supervisor"] is True and "enrol_path" not in supervisor

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("quietpoll")), "serve", str(study), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
        text=True,
    )
    try:
        first = server.stdout.readline()  # "serving on http://127.0.0.1:PORT ..."
        match = re.search(r"serving on (http://127\.0\.0\.1:\d+)", first)
        assert match, first + server.stderr.read()
        base = match.group(1)
        assert base == f"http://127.0.0.1:{port}"
        form_line = server.stdout.readline()
        assert "/f/" in form_line and "foreign_media" in form_line
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/api/v1/health", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "serve did not answer"
                time.sleep(0.2)

        # one interview in a real Chromium, as an interviewer does it
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                str(tmp_path / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            try:
                page = context.new_page()
                page.goto(base + tokens[0]["enrol_path"])
                page.wait_for_selector('#quietpoll[data-enrolment="enrolling"]', state="attached")
                enter_pin(page, PIN)
                page.wait_for_selector('#quietpoll[data-ready="true"]', state="attached")
                assert "enrolled" in page.locator("#qp-device").inner_text()  # shown before the interview
                page.check('input[name="consent"][value="no"]')  # declined: only the interview's own questions
                page.check('input[name="mode"][value="intermediary"]')
                page.check('input[name="paid"][value="no"]')
                page.click("#qp-form button[type=submit]")
                page.wait_for_function("() => document.getElementById('qp-status').textContent === 'Sent.'")
            finally:
                context.close()

        # the others: sealed to the study key at the form's one envelope size, as the page does
        inst = load_instrument(study / "form.xlsx")
        public = load_public(study / "keys" / "study.pub")
        size = envelope_size(inst)
        rows = template_responses(n - 1).to_dicts()
        with httpx.Client(base_url=base, timeout=10) as client:
            for i, row in enumerate(rows):
                token = tokens[i // 50]["token"]
                iid = f"uuid:00000000-0000-4000-8000-{i:012d}"
                ct = seal(public, inst.form_id, iid, _payload(row), size=size)
                r = client.post(
                    "/api/v1/submissions",
                    headers={"Authorization": f"Bearer {token}"},
                    json={"form_id": inst.form_id, "instance_id": iid, "ciphertext": ct},
                )
                assert r.status_code == 201, r.text
            stats = client.get("/api/v1/stats", headers={"Authorization": f"Bearer {supervisor['token']}"}).json()
        assert sum(r["submissions"] for r in stats["interviewers"]) == n
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)

    capsys.readouterr()
    assert main(["pull", str(study)]) == 0  # --out defaults to the study's [data] path
    assert main(["store", "stats", str(study), "--format", "json"]) == 0
    out = capsys.readouterr().out
    counts = json.loads(out[out.index("{") :])["interviewers"]
    assert {r["alias"]: r["submissions"] for r in counts}["field-00"] == 1 + min(n - 1, 50)  # Chromium + API
    assert main(["tokens", "list", str(study), "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {r["alias"] for r in listed if r["supervisor"]} == {"sup-01"}
    assert all("token" not in r for r in listed)
    assert main(["report", str(study), "--out", str(tmp_path / "out")]) == 0, capsys.readouterr().err
    data = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert len({r["id"] for r in data["indicators"]}) == 9
