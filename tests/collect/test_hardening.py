"""The collection server under abuse, against a real uvicorn (httptools) on loopback, configured as
`quietpoll serve` configures it: 2,000 slow connections holding partial heads, a 64 MB header, over-long
JSON integers and other malformed bodies, heads that never complete. Every loop is bounded."""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from quietpoll.collect.app import create_app, serving, uvicorn_options
from quietpoll.collect.envelope import seal
from quietpoll.collect.http import (
    HEADER_TIMEOUT,
    MAX_HEADER_BYTES,
    HardenedHttpToolsProtocol,
    hardening_options,
    raise_nofile_limit,
)
from quietpoll.collect.store import Store

FORM = "hardening_probe"
KEY = X25519PrivateKey.generate()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('hard') / 'collect.db'}")
    token = store.add_token("field-01")
    with serving(create_app(store, forms={FORM: {}}, rate_limit=None)) as base:
        host, port = base.removeprefix("http://").split(":")
        yield {"base": base, "addr": (host, int(port)), "token": token, "store": store}
    store.close()


def _health(base: str, timeout: float = 5.0) -> httpx.Response:
    with httpx.Client(base_url=base, timeout=timeout, trust_env=False) as client:
        return client.get("/api/v1/health")


def _submit(server, content: bytes, timeout: float = 5.0) -> tuple[httpx.Response, float]:
    headers = {"Authorization": f"Bearer {server['token']}", "Content-Type": "application/json"}
    with httpx.Client(base_url=server["base"], timeout=timeout, trust_env=False) as client:
        t0 = time.monotonic()
        r = client.post("/api/v1/submissions", content=content, headers=headers)
        return r, time.monotonic() - t0


def _read_status(sock: socket.socket, deadline: float) -> bytes:
    data = b""
    while b"\r\n" not in data and time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(4096)
        except (TimeoutError, ConnectionResetError):
            break
        if not chunk:
            break
        data += chunk
    return data


def test_options_are_the_served_ones():
    opts = uvicorn_options(raise_nofile_limit())
    assert opts["http"] is HardenedHttpToolsProtocol and opts["ws"] == "none"
    assert 64 <= opts["limit_concurrency"] <= 2048 and opts["backlog"] >= 128
    assert opts["h11_max_incomplete_event_size"] == MAX_HEADER_BYTES
    assert opts["access_log"] is False and opts["server_header"] is False and opts["proxy_headers"] is False
    assert hardening_options(nofile=512)["limit_concurrency"] == 256  # kept below the descriptor limit


def test_nofile_soft_limit_is_raised(monkeypatch):
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        lower = min(soft, 1024)
        resource.setrlimit(resource.RLIMIT_NOFILE, (lower, hard))
        got = raise_nofile_limit(4096)
        want = 4096 if hard == resource.RLIM_INFINITY else min(4096, hard)
        assert got == want == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        assert raise_nofile_limit(100) == want  # never lowered
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, resource.getrlimit(resource.RLIMIT_NOFILE)[0]), hard))


def test_serve_command_runs_the_hardened_server(tmp_path, monkeypatch):
    import uvicorn

    from quietpoll.cli import main

    (tmp_path / "study.toml").write_text('[study]\ntitle = "hardening probe (SYNTHETIC)"\n')
    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw))
    assert main(["serve", str(tmp_path), "--store", f"sqlite:///{tmp_path / 'c.db'}"]) == 0
    assert seen["http"] is HardenedHttpToolsProtocol and seen["limit_concurrency"] >= 64
    assert seen["log_level"] == "warning" and seen["access_log"] is False


def test_two_thousand_slow_connections_do_not_stop_the_health_check(server):
    head = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: "
    slow: list[socket.socket] = []
    try:
        t0 = time.monotonic()
        for _ in range(2000):  # partial heads, held open
            s = socket.create_connection(server["addr"], timeout=5)
            s.sendall(head)
            slow.append(s)
        assert time.monotonic() - t0 < HEADER_TIMEOUT, "the machine is too slow for this test's timing"
        time.sleep(0.2)
        r = _health(server["base"])
        assert r.status_code == 200 and r.json() == {"ok": True}
        # while they are still held: a real submission is stored too
        iid = "uuid:00000000-0000-4000-8000-00000000beef"
        doc = {"form_id": FORM, "instance_id": iid, "ciphertext": seal(KEY.public_key(), FORM, iid, {"q": "x"})}
        r, _ = _submit(server, json.dumps(doc).encode())
        assert r.status_code == 201, r.text
    finally:
        for s in slow:
            s.close()


@pytest.mark.parametrize("where", ["header", "request line"])
def test_a_64_mb_header_gets_431_within_a_second(server, where):
    sock = socket.create_connection(server["addr"], timeout=5)
    big = b"a" * (64 * 1024 * 1024)
    payload = (
        b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + big
        if where == "header"
        else b"GET /api/v1/health?" + big
    )
    errors: list[BaseException] = []

    def send():
        try:
            sock.sendall(payload)
        except OSError as exc:  # the server closes after answering: expected
            errors.append(exc)

    sender = threading.Thread(target=send, daemon=True)
    t0 = time.monotonic()
    sender.start()
    status = _read_status(sock, t0 + 5)
    elapsed = time.monotonic() - t0
    sock.close()
    sender.join(10)
    assert status.startswith(b"HTTP/1.1 431"), status[:80]
    assert elapsed < 1.0, elapsed
    assert _health(server["base"]).status_code == 200


def test_a_header_just_over_the_limit_and_a_long_request_line(server):
    for head in (
        b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * MAX_HEADER_BYTES + b"\r\n\r\n",
        b"GET /" + b"a" * (MAX_HEADER_BYTES + 10) + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\r\n\r\nGET /" + b"a" * 100_000,
    ):  # empty lines first: a blank line that ends no head
        with socket.create_connection(server["addr"], timeout=5) as s:
            t0 = time.monotonic()
            s.sendall(head)
            assert _read_status(s, t0 + 5).startswith(b"HTTP/1.1 431")
    # a large body under an ordinary head is not a large head
    r, _ = _submit(server, b'{"form_id": "' + b"x" * 200_000 + b'"}')
    assert r.status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        b'{"form_id": ' + b"9" * 5000 + b', "instance_id": "uuid:1", "ciphertext": "AA"}',
        b'{"form_id": -' + b"9" * 5000 + b', "instance_id": "uuid:1", "ciphertext": "AA"}',
        b'{"form_id": [[' + b"1" * 5000 + b']], "instance_id": "uuid:1", "ciphertext": "AA"}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b'{"form_id": 1e99999, "instance_id": "uuid:1", "ciphertext": "AA"}',
        b'{"form_id": "' + b"1" * 5000 + b'.5e1", "instance_id": 7, "ciphertext": null}',
        b'{"form_id": "\xff\xfe", "instance_id": "uuid:1", "ciphertext": "AA"}',
        b'{"form_id": "\\ud800", "instance_id": "uuid:1", "ciphertext": "AA"}',
        b'{"form_id": NaN, "instance_id": "uuid:1", "ciphertext": "AA"}',
        b'{"form_id": "f", "form_id": "g", "instance_id": "uuid:1", "ciphertext": "AA"}',
        b'["form_id", "instance_id", "ciphertext"]',
        b'{"form_id": {"x": 1}, "instance_id": true, "ciphertext": 1.5}',
        b"",
        b"\x00" * 1000,
    ],
)
def test_every_malformed_body_gets_400_quickly(server, body):
    r, elapsed = _submit(server, body)
    assert r.status_code == 400, (r.status_code, r.text[:200])
    assert r.json()["error"]["code"] == "bad_request" and elapsed < 1.0
    assert body[:40].decode("latin-1") not in r.text or len(body) == 0


def test_a_head_that_never_completes_is_cut(server):
    class Quick(HardenedHttpToolsProtocol):
        header_timeout = 0.5

    store = server["store"]
    with serving(create_app(store), http=Quick) as base:
        host, port = base.removeprefix("http://").split(":")
        partial = socket.create_connection((host, int(port)), timeout=5)
        silent = socket.create_connection((host, int(port)), timeout=5)
        partial.sendall(b"POST /api/v1/submissions HTTP/1.1\r\nHost: x\r\nContent-")
        t0 = time.monotonic()
        status = _read_status(partial, t0 + 5)
        assert status.startswith(b"HTTP/1.1 408") and time.monotonic() - t0 < 3
        silent.settimeout(5)
        assert silent.recv(100) == b""  # closed without a word
        partial.close()
        silent.close()
        # a keep-alive connection's next request gets the same limit, counted from its first byte
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert _read_status(s, time.monotonic() + 5).startswith(b"HTTP/1.1 200")
            time.sleep(0.1)
            s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHo")
            data = b""
            deadline = time.monotonic() + 5
            while b"408" not in data and time.monotonic() < deadline:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            assert b"HTTP/1.1 408" in data


def test_a_stalled_body_is_cut_and_a_slow_but_steady_one_is_not(server):
    class Quick(HardenedHttpToolsProtocol):
        body_timeout = 0.5

    iid = "uuid:00000000-0000-4000-8000-0000000051e0"
    doc = {"form_id": FORM, "instance_id": iid, "ciphertext": seal(KEY.public_key(), FORM, iid, {"q": "z"})}
    body = json.dumps(doc).encode()
    head = (
        f"POST /api/v1/submissions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server['token']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with serving(create_app(server["store"], forms={FORM: {}}, rate_limit=None), http=Quick) as base:
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(head + body[:10])
            t0 = time.monotonic()
            s.settimeout(5)
            try:
                rest = s.recv(4096)
            except ConnectionResetError:
                rest = b""
            assert time.monotonic() - t0 < 3 and not rest.startswith(b"HTTP/1.1 2")
        with socket.create_connection((host, int(port)), timeout=5) as s:  # 0.3 s between pieces: fine
            s.sendall(head)
            for i in range(0, len(body), len(body) // 4 + 1):
                time.sleep(0.3)
                s.sendall(body[i : i + len(body) // 4 + 1])
            assert _read_status(s, time.monotonic() + 5).startswith(b"HTTP/1.1 201")


def test_slow_heads_are_evicted_before_requests_are_refused(server):
    class Small(HardenedHttpToolsProtocol):
        evict_at = 40

    with serving(create_app(server["store"]), http=Small, limit_concurrency=48) as base:
        host, port = base.removeprefix("http://").split(":")
        slow = []
        try:
            for _ in range(200):
                s = socket.create_connection((host, int(port)), timeout=5)
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                slow.append(s)
            for _ in range(5):
                assert _health(base).status_code == 200  # not uvicorn's 503: the oldest slow heads went
        finally:
            for s in slow:
                s.close()


def test_the_server_still_serves_after_all_of_it(server):
    assert _health(server["base"]).status_code == 200
    iid = "uuid:00000000-0000-4000-8000-00000000cafe"
    doc = {"form_id": FORM, "instance_id": iid, "ciphertext": seal(KEY.public_key(), FORM, iid, {"q": "y"})}
    r, _ = _submit(server, json.dumps(doc).encode())
    assert r.status_code == 201
    assert {row["instance_id"] for row in server["store"].list()} >= {iid, "uuid:00000000-0000-4000-8000-00000000beef"}
