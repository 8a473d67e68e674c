"""Scale-out: several `quietpoll serve` processes on one store act as one. Two real server processes (and
`serve --workers 2`) on one real PostgreSQL (tests/collect/pgserver.py), concurrent clients on loopback:
no submission lost, none stored twice, and each token's rate limit holds across both servers, because
the counters are in the store. Synthetic answers only."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from pgserver import raw_rows

from quietpoll.cli import main
from quietpoll.collect.envelope import seal
from quietpoll.collect.keys import load_public
from quietpoll.collect.store import Store

FORM = "scaleout_probe"
PASS = "synthetic scale-out passphrase"
LIMIT = 30  # per token and window (3600 s: one window for the whole test)
TOKENS = 3
UNIQUE = 30  # distinct submissions per token
RESENDS = 10  # of those, sent again to the other server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`quietpoll serve STUDY --store URL ...` as a subprocess; ready once it answers a request."""

    def __init__(self, study: Path, url: str, log: Path, *extra: str) -> None:
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
                "--rate-limit",
                f"{LIMIT}/3600",
                *extra,
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"quietpoll serve exited with {self.proc.returncode}: {log.read_text()[-2000:]}")
            try:  # no token: 401 from the app itself, so the app (and its store) is up
                if httpx.post(f"{self.base}/api/v1/submissions", json={}, timeout=2.0).status_code == 401:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"quietpoll serve did not answer within 60 s: {log.read_text()[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self.log.close()


def _wait_for_a_quiet_window() -> None:
    """The limit counts per fixed window of 3600 s on the wall clock: never start in its last minute."""
    left = 3600 - time.time() % 3600
    if left < 90:
        time.sleep(left + 1)


def _study(tmp_path, monkeypatch, url):
    monkeypatch.setenv("QUIETPOLL_PASSPHRASE", PASS)
    study = tmp_path / "study"
    study.mkdir()
    (study / "study.toml").write_text('[study]\ntitle = "scale-out probe (synthetic)"\n')
    assert main(["keys", "new", str(study)]) == 0
    public = load_public(study / "keys" / "study.pub")
    with Store.open(url) as st:
        tokens = [st.add_token(f"field-{i}") for i in range(TOKENS)]
    return study, public, tokens


def _send(base: str, items: list[tuple[str, str, str]], results: list, lock: threading.Lock) -> None:
    with httpx.Client(base_url=base, timeout=30.0) as client:
        for token, iid, ct in items:
            r = client.post(
                "/api/v1/submissions",
                json={"form_id": FORM, "instance_id": iid, "ciphertext": ct},
                headers={"Authorization": f"Bearer {token}"},
            )
            with lock:
                results.append((token, iid, r.status_code))


def _run_load(bases: list[str], public, tokens) -> tuple[list, dict]:
    """Each token sends UNIQUE submissions and RESENDS of them again, half through each server, from one
    client thread per (token, server), all at once: LIMIT + 10 requests per token."""
    sealed = {}
    plans: list[tuple[str, list]] = []
    for t, token in enumerate(tokens):
        ids = [f"uuid:{t:02d}-{i:04d}" for i in range(UNIQUE)]
        for iid in ids:
            sealed[iid] = seal(public, FORM, iid, {"answer": f"synthetic-{iid}"})
        items = [(token, iid, sealed[iid]) for iid in ids] + [(token, iid, sealed[iid]) for iid in ids[:RESENDS]]
        for s, base in enumerate(bases):
            plans.append((base, items[s :: len(bases)]))  # every resend goes to the other server than the first
    results: list = []
    lock = threading.Lock()
    threads = [threading.Thread(target=_send, args=(base, items, results, lock)) for base, items in plans]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not any(th.is_alive() for th in threads)
    return results, sealed


def _check(results, sealed, tokens, url) -> None:
    assert len(results) == TOKENS * (UNIQUE + RESENDS)
    assert {code for _, _, code in results} <= {200, 201, 429}
    with Store.open(url) as st:
        rows = st.list(FORM)
    stored = [r["instance_id"] for r in rows]
    assert len(stored) == len(set(stored)), "a submission was stored twice"
    for token in tokens:
        mine = [(iid, code) for tok, iid, code in results if tok == token]
        allowed = [(iid, code) for iid, code in mine if code != 429]
        assert len(allowed) == LIMIT, f"the limit of {LIMIT} did not hold across the servers: {len(allowed)}"
        created = {iid for iid, code in allowed if code == 201}
        acked = {iid for iid, _ in allowed}
        assert len(created) == len([1 for _, code in allowed if code == 201]), "one id created twice"
        assert acked <= set(stored), "an acknowledged submission was lost"
        alias = next(r["token_alias"] for r in rows if r["instance_id"] in created)
        assert {r["instance_id"] for r in rows if r["token_alias"] == alias} == created
    assert set(stored) <= set(sealed)


def test_two_serve_processes_on_one_postgresql_act_as_one(tmp_path, monkeypatch, pg_url):
    study, public, tokens = _study(tmp_path, monkeypatch, pg_url)
    log = tmp_path / "servers.log"
    _wait_for_a_quiet_window()
    servers = [Server(study, pg_url, log), Server(study, pg_url, log)]
    try:
        results, sealed = _run_load([s.base for s in servers], public, tokens)
    finally:
        for s in servers:
            s.stop()
    _check(results, sealed, tokens, pg_url)
    # both servers answered, and both refused some requests: the counters were shared
    assert {r[2] for r in results} >= {201, 429}


def test_serve_workers_share_the_limit(tmp_path, monkeypatch, pg_url):
    study, public, tokens = _study(tmp_path, monkeypatch, pg_url)
    log = tmp_path / "workers.log"
    _wait_for_a_quiet_window()
    server = Server(study, pg_url, log, "--workers", "2")
    try:
        children = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(server.proc.pid)], capture_output=True, text=True, timeout=10
        ).stdout.split()
        assert len(children) >= 2, "serve --workers 2 runs two worker processes"
        results, sealed = _run_load([server.base, server.base], public, tokens)
    finally:
        server.stop()
    _check(results, sealed, tokens, pg_url)


def test_bad_rate_limit_and_workers_flags(tmp_path, capsys):
    for flags in (["--rate-limit", "0/60"], ["--rate-limit", "ten/60"], ["--rate-limit", "5"], ["--workers", "0"]):
        assert main(["serve", str(tmp_path), *flags]) == 2
        assert "rate-limit" in capsys.readouterr().err or flags[0] == "--workers"


def test_rate_counters_cannot_be_tied_to_an_alias(store_url):
    """The store keeps SHA-256 of each token; the rate counter is keyed by a hash of the token itself
    under another label, so someone holding the database cannot match counters to aliases. On both
    backends (read around quietpoll)."""
    import hashlib

    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from starlette.testclient import TestClient

    from quietpoll.collect.app import create_app, rate_key

    st = Store.open(store_url)
    token = st.add_token("field-07")
    pk = X25519PrivateKey.generate().public_key()
    client = TestClient(create_app(st, rate_limit=(5, 60.0)))
    for i in range(3):
        r = client.post(
            "/api/v1/submissions",
            json={"form_id": FORM, "instance_id": f"uuid:{i}", "ciphertext": seal(pk, FORM, f"uuid:{i}", {"a": i})},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 201
    rows = [(bytes(k), int(h)) for k, h in raw_rows(store_url, "SELECT key, hits FROM rate")]
    hashes = {bytes(h) for (h,) in raw_rows(store_url, "SELECT token_hash FROM tokens")}
    st.close()
    assert rows == [(rate_key(token), 3)]
    assert rate_key(token) not in hashes and hashlib.sha256(token.encode()).digest() in hashes
    assert rate_key(token) != hashlib.sha256(hashlib.sha256(token.encode()).digest()).digest()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_settles_its_sqlite_store_when_it_stops(tmp_path, monkeypatch, workers):
    """`serve` (one process or --workers 2) on SQLite, stopped: no WAL is left and the rows lie in the
    file in key order, not in the order they arrived."""
    import random

    db = tmp_path / "collect.db"
    url = f"sqlite:///{db}"
    study, public, tokens = _study(tmp_path, monkeypatch, url)
    ids = [f"uuid:{i:04d}" for i in range(20)]
    arrival = ids[:]
    random.Random(3).shuffle(arrival)
    sealed = {iid: seal(public, FORM, iid, {"i": iid}) for iid in arrival}
    server = Server(study, url, tmp_path / "serve.log", "--workers", workers)
    try:
        with httpx.Client(base_url=server.base, timeout=30.0) as client:
            for iid in arrival:
                r = client.post(
                    "/api/v1/submissions",
                    json={"form_id": FORM, "instance_id": iid, "ciphertext": sealed[iid]},
                    headers={"Authorization": f"Bearer {tokens[0]}"},
                )
                assert r.status_code == 201
    finally:
        server.stop()
    wal = tmp_path / "collect.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    raw = db.read_bytes()
    pos = {iid: raw.find(ct[-200:].encode("ascii")) for iid, ct in sealed.items()}
    assert all(p >= 0 for p in pos.values())
    assert sorted(pos, key=pos.get) == ids != arrival
