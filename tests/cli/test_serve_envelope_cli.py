"""`quietpoll serve` and uniform envelopes: the study's [collect] text_max_bytes sets the text cap the
page enforces and the form's envelope size; the running server refuses an envelope of another size
for the form (400, the API's one error shape); a bad cap is one line and exit status 2. SYNTHETIC."""

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
from quietpoll.collect.envelope import seal
from quietpoll.collect.keys import load_public
from quietpoll.collect.shell import form_path
from quietpoll.collect.sizing import envelope_size
from quietpoll.collect.store import Store
from quietpoll.instrument.form import load_instrument

PASS = "correct horse battery staple"


def _study(tmp_path, monkeypatch, cap) -> Path:
    monkeypatch.setenv("QUIETPOLL_PASSPHRASE", PASS)
    study = tmp_path / "study"
    assert main(["init", str(study)]) == 0
    assert main(["keys", "new", str(study)]) == 0
    toml = study / "study.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + f"\n[collect]\ntext_max_bytes = {cap}\n", encoding="utf-8")
    return study


def test_bad_text_cap_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    study = _study(tmp_path, monkeypatch, 0)
    capsys.readouterr()
    assert main(["serve", str(study)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "text_max_bytes" in err and "Traceback" not in err


def test_serve_carries_the_cap_and_refuses_other_envelope_sizes(tmp_path, monkeypatch):
    study = _study(tmp_path, monkeypatch, 64)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = Store.open(f"sqlite:///{study / 'collect.db'}")
    token = store.add_token("interviewer-9")
    route = form_path(store, "foreign_media")
    store.close()
    cli = Path(sys.executable).with_name("quietpoll")
    proc = subprocess.Popen(
        [str(cli), "serve", str(study), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
    )
    try:
        deadline = time.monotonic() + 30
        page = None
        while page is None:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "quietpoll serve did not answer"
            try:
                page = httpx.get(f"http://127.0.0.1:{port}{route}", timeout=2)
            except httpx.TransportError:
                time.sleep(0.2)
        inst = load_instrument(study / "form.xlsx")
        size = envelope_size(inst, 64)
        # the open shell says nothing of the form; the questionnaire (to a bearer token) carries both
        assert "data-text-max" not in page.text and "data-envelope-size" not in page.text
        headers = {"Authorization": f"Bearer {token}"}
        html = httpx.get(f"http://127.0.0.1:{port}{route}/questionnaire", headers=headers, timeout=5).json()["html"]
        assert 'data-text-max="64"' in html and f'data-envelope-size="{size}"' in html
        public = load_public(study / "keys" / "study.pub")
        other = 1024 if size != 1024 else 4096
        for instance_id, pad_to, status in (("uuid:a", size, 201), ("uuid:b", other, 400)):
            ct = seal(public, inst.form_id, instance_id, {"consent": "no"}, size=pad_to)
            r = httpx.post(
                f"http://127.0.0.1:{port}/api/v1/submissions",
                headers=headers,
                timeout=5,
                json={"form_id": inst.form_id, "instance_id": instance_id, "ciphertext": ct},
            )
            assert r.status_code == status, r.text
        assert r.json()["error"]["code"] == "bad_request"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert b"Traceback" not in err
