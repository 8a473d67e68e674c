"""`quietpoll serve` (the CLI) serves our own foreign-media template as a browser form, and still
refuses, in one line with exit status 2, a form the browser cannot run and a study with no key."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from quietpoll.cli import main

PASS = "correct horse battery staple"
UNSUPPORTED_MD = """
| survey |
|        | type              | name    | label   | relevant        | calculation         |
|        | integer           | n       | N       |                 |                     |
|        | calculate         | draw    |         |                 | random()            |
|        | select_one yes_no | treated | Treated | ${draw} < 0.5   |                     |
|        | geopoint          | where   | Where   |                 |                     |
| choices |
|         | list_name | name | label |
|         | yes_no    | yes  | Yes   |
|         | yes_no    | no   | No    |
| settings |
|          | form_id |
|          | probe   |
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_accepts_the_template(tmp_path, monkeypatch, capsys):
    """`quietpoll serve` on the template with a disguise: the shell is neutral (title, manifest, icon,
    no question text, no product name in any header or error body); the questionnaire goes only to a
    token; the enrolment path of `tokens add --format json` gives the token once."""
    monkeypatch.setenv("QUIETPOLL_PASSPHRASE", PASS)
    study = tmp_path / "study"
    assert main(["init", str(study)]) == 0
    assert main(["keys", "new", str(study)]) == 0
    (study / "weather.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><circle cx="4" cy="4" r="3"/></svg>'
    )
    with (study / "study.toml").open("a", encoding="utf-8") as f:
        f.write('\n[collect.disguise]\ntitle = "Weather today"\nname = "Weather"\nicon = "weather.svg"\n')
    capsys.readouterr()
    assert main(["tokens", "add", str(study), "--name", "field-01", "--format", "json"]) == 0
    added = json.loads(capsys.readouterr().out)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    cli = Path(sys.executable).with_name("quietpoll")
    proc = subprocess.Popen(
        [str(cli), "serve", str(study), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
    )
    route = added["enrol_path"].partition("#e=")[0]  # /f/ROUTE: an opaque id, never the form id
    try:
        deadline = time.monotonic() + 30
        page = None
        while page is None:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "quietpoll serve did not answer"
            try:
                page = httpx.get(f"{base}{route}", timeout=2)
            except httpx.TransportError:
                time.sleep(0.2)
        assert page.status_code == 200
        assert "<title>Weather today</title>" in page.text
        # the shell: no questionnaire, no form title, no question text
        for text in ("Access to foreign information", "le_draw", "data-calculate", "le_count_treat", "foreign media"):
            assert text not in page.text, text
        manifest = httpx.get(f"{base}/manifest.webmanifest").json()
        assert manifest["name"] == "Weather" and manifest["short_name"] == "Weather"
        icon = httpx.get(f"{base}/icon")
        assert icon.content == (study / "weather.svg").read_bytes() and icon.headers["content-type"].startswith(
            "image/svg"
        )
        # the questionnaire only with a token
        assert httpx.get(f"{base}{route}/questionnaire").status_code == 401
        q = httpx.get(f"{base}{route}/questionnaire", headers={"Authorization": f"Bearer {added['token']}"})
        html = q.json()["html"]
        assert 'data-name="le_draw" data-type="calculate"' in html
        assert 'data-calculate="once(random())"' in html
        assert 'name="le_count_treat"' in html and 'name="le_count_control"' in html
        assert q.headers["cache-control"] == "no-store"
        # the enrolment path's code gives the token once
        path, _, fragment = added["enrol_path"].partition("#e=")
        assert path == route and "foreign" not in path and "?" not in added["enrol_path"]
        assert httpx.get(f"{base}/f/foreign_media").status_code == 404  # the form id is no path
        assert httpx.post(f"{base}{route}/enrol", json={"code": fragment}).json() == {"token": added["token"]}
        again = httpx.post(f"{base}{route}/enrol", json={"code": fragment})
        assert again.status_code == 401 and added["token"] not in again.text
        enrol = httpx.post(f"{base}{route}/enrol", headers={"Authorization": "Bearer x"})
        assert enrol.status_code == 401
        # no product name in any header or error body
        responses = [
            page,
            icon,
            q,
            again,
            enrol,
            httpx.get(f"{base}/nothing/here"),
            httpx.get(f"{base}/api/v1/health"),
            httpx.post(f"{base}/api/v1/submissions", json={}),
            httpx.get(f"{base}{route}/questionnaire"),
        ]
        for r in responses:
            shown = " ".join(f"{k}: {v}" for k, v in r.headers.items()).lower() + (
                r.text.lower() if r.status_code >= 400 else ""
            )
            assert "quietpoll" not in shown and "uvicorn" not in shown and "starlette" not in shown, (r.url, shown)
        assert (
            "quietpoll" not in json.dumps(manifest).lower() and "quietpoll" not in page.text.split("<body>")[0].lower()
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert b"Traceback" not in err


def test_serve_refuses_an_unsupported_form_and_a_missing_key(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("QUIETPOLL_PASSPHRASE", PASS)
    study = tmp_path / "study"
    assert main(["init", str(study)]) == 0
    capsys.readouterr()
    assert main(["serve", str(study)]) == 2  # no key pair yet
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "study.pub" in err and "Traceback" not in err

    assert main(["keys", "new", str(study)]) == 0
    (study / "probe.md").write_text(UNSUPPORTED_MD, encoding="utf-8")
    toml = study / "study.toml"
    text = toml.read_text(encoding="utf-8").replace('path = "form.xlsx"', 'path = "probe.md"')
    toml.write_text(text, encoding="utf-8")
    capsys.readouterr()
    assert main(["serve", str(study)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "cannot run 'probe' safely (2 problem(s)" in err and "random() outside once()" in err
