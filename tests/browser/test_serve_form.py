"""`quietpoll serve` (the CLI) serves our own foreign-media template as a browser form, and still
refuses, in one line with exit status 2, a form the browser cannot run and a study with no key."""

from __future__ import annotations

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


def test_serve_accepts_the_template(tmp_path, monkeypatch):
    monkeypatch.setenv("QUIETPOLL_PASSPHRASE", PASS)
    study = tmp_path / "study"
    assert main(["init", str(study)]) == 0
    assert main(["keys", "new", str(study)]) == 0
    port = _free_port()
    cli = Path(sys.executable).with_name("quietpoll")
    proc = subprocess.Popen([str(cli), "serve", str(study), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy())
    try:
        deadline = time.monotonic() + 30
        page = None
        while page is None:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "quietpoll serve did not answer"
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/f/foreign_media", timeout=2)
            except httpx.TransportError:
                time.sleep(0.2)
        assert page.status_code == 200
        assert 'data-name="le_draw" data-type="calculate"' in page.text
        assert 'data-calculate="once(random())"' in page.text
        assert 'name="le_count_treat"' in page.text and 'name="le_count_control"' in page.text
        enrol = httpx.post(f"http://127.0.0.1:{port}/f/foreign_media/enrol", headers={"Authorization": "Bearer x"})
        assert enrol.status_code == 401
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
