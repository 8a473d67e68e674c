"""Durability: the real `quietpoll serve` in a subprocess on loopback, killed with SIGKILL in the middle of a
stream of HPKE-sealed submissions from concurrent clients, restarted on the same store (SQLite, then a
real PostgreSQL server); what was not acknowledged is sent again. Afterwards every submission that got
201 or 200 is stored, none twice, and `quietpoll store list --format json` and `quietpoll pull` agree.
Answers are SYNTHETIC.

What this shows and what it cannot: a killed process loses nothing it acknowledged (the commit happens
before the 201/200 is sent, and SQLite/PostgreSQL survive the kill). A power cut (lost OS buffers) is
not simulated here; SQLite's ``synchronous=FULL`` and PostgreSQL's fsync are what cover that.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import polars as pl
import pytest
from pgserver import pg_server  # noqa: F401  (the session fixture)

from quietpoll.cli import main
from quietpoll.collect.envelope import seal
from quietpoll.collect.keys import load_public
from quietpoll.collect.store import Store

FORM = "durability_probe"
PASS = "synthetic durability passphrase"
N = 160  # submissions
CLIENTS = 4  # concurrent clients, one token each (<= 60 requests per token and server process: rate limit)
KILL_AFTER = 50  # acknowledgements before SIGKILL


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`quietpoll serve STUDY --store URL` as a subprocess (the same code path as the console script)."""

    def __init__(self, study: Path, url: str, log: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        code = "import sys; from quietpoll.cli import main; sys.exit(main(sys.argv[1:]))"
        self.log = log.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                code,
                "serve",
                str(study),
                "--store",
                url,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"quietpoll serve exited with {self.proc.returncode}: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.base}/api/v1/health", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"quietpoll serve did not answer within 30 s: {log.read_text()[-2000:]}")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.log.close()


def _stream(base: str, items: list[tuple[str, str, str]], acked: dict, lock: threading.Lock, statuses: list) -> None:
    """Send (token, instance id, ciphertext) in order; stop at the first transport error (server gone)."""
    with httpx.Client(base_url=base, timeout=10.0) as client:
        for token, iid, ct in items:
            try:
                r = client.post(
                    "/api/v1/submissions",
                    json={"form_id": FORM, "instance_id": iid, "ciphertext": ct},
                    headers={"Authorization": f"Bearer {token}"},
                )
            except httpx.TransportError:
                return
            with lock:
                statuses.append(r.status_code)
                if r.status_code in (200, 201):
                    acked[iid] = r.status_code


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'collect.db'}"
        return
    server = request.getfixturevalue("pg_server")
    url = server.create_database()
    yield url
    server.drop_database(url)


def test_sigkill_mid_stream_loses_nothing_acknowledged(tmp_path, store_url, capsys, monkeypatch):
    monkeypatch.setenv("QUIETPOLL_PASSPHRASE", PASS)
    study = tmp_path / "study"
    study.mkdir()
    (study / "study.toml").write_text('[study]\ntitle = "durability probe (synthetic)"\n')
    assert main(["keys", "new", str(study)]) == 0
    public = load_public(study / "keys" / "study.pub")
    with Store.open(store_url) as st:
        tokens = [st.add_token(f"field-{i}") for i in range(CLIENTS)]
    sent = {f"uuid:00000000-0000-4000-8000-{i:012d}": {"seq": i, "answer": f"synthetic-{i}"} for i in range(N)}
    sealed = {iid: seal(public, FORM, iid, payload) for iid, payload in sent.items()}
    ids = list(sealed)
    per_client = [[(tokens[c], iid, sealed[iid]) for iid in ids[c::CLIENTS]] for c in range(CLIENTS)]

    log = tmp_path / "server.log"
    acked: dict[str, int] = {}
    statuses: list[int] = []
    lock = threading.Lock()
    server = Server(study, store_url, log)
    try:
        workers = [
            threading.Thread(target=_stream, args=(server.base, items, acked, lock, statuses)) for items in per_client
        ]
        for w in workers:
            w.start()
        deadline = time.monotonic() + 60
        while len(acked) < KILL_AFTER and time.monotonic() < deadline and any(w.is_alive() for w in workers):
            time.sleep(0.002)
        server.kill()  # SIGKILL while the clients are still sending
        for w in workers:
            w.join(30)
    finally:
        server.kill()
    before = dict(acked)
    assert KILL_AFTER <= len(before) < N, f"the kill did not land mid-stream ({len(before)} of {N} acknowledged)"
    assert set(statuses) <= {200, 201}, statuses

    # restart on the same store; every submission not acknowledged is sent again
    server = Server(study, store_url, log)
    try:
        resend = [[item for item in items if item[1] not in before] for items in per_client]
        again: dict[str, int] = {}
        workers = [
            threading.Thread(target=_stream, args=(server.base, items, again, lock, statuses)) for items in resend
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)
        assert set(again) == set(ids) - set(before), "a resent submission was not acknowledged"
        # an acknowledged one sent once more is recognised (200), never stored twice
        with httpx.Client(base_url=server.base, timeout=10.0) as client:
            iid = next(iter(before))
            body = {"form_id": FORM, "instance_id": iid, "ciphertext": sealed[iid]}
            r = client.post("/api/v1/submissions", json=body, headers={"Authorization": f"Bearer {tokens[0]}"})
            assert r.status_code == 200 and r.json()["stored"] is False
    finally:
        server.kill()
    assert set(statuses) <= {200, 201}, statuses

    # every acknowledged submission is there, none twice: store list and pull agree
    capsys.readouterr()
    assert main(["store", "list", "--store", store_url, "--format", "json"]) == 0
    listed = [row["instance_id"] for row in json.loads(capsys.readouterr().out)]
    assert len(listed) == len(set(listed)) == N
    assert set(before) | set(again) == set(listed) == set(ids)
    out = tmp_path / "pulled.csv"
    assert main(["pull", str(study), "--out", str(out), "--store", store_url]) == 0
    pulled = pl.read_csv(out)
    assert sorted(pulled["instance_id"].to_list()) == sorted(listed)
    assert pulled.height == pulled["instance_id"].n_unique() == N
    for row in pulled.iter_rows(named=True):
        assert sent[row["instance_id"]] == {"seq": row["seq"], "answer": row["answer"]}
