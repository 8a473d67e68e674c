"""The collection app behind a real uvicorn server on loopback (as `quietpoll serve` runs it)."""

from __future__ import annotations

import contextlib
import logging
import re

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from starlette.requests import Request
from starlette.responses import JSONResponse

from quietpoll.collect.app import serving, CONTENT_SECURITY_POLICY, create_app

from quietpoll.collect.envelope import open_sealed, seal
from quietpoll.collect.store import Store

FORM = "foreign_media_2025"
UA = "CanaryBrowser/9.9 (SM-A515F; Android 13)"
IP = "203.0.113.77"


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(1)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(f"{record.name} {record.getMessage()} {record.args!r}")


@contextlib.contextmanager
def running(app, capture: logging.Handler | None = None):
    """Serve ``app`` with uvicorn on 127.0.0.1 and a free port in a thread (quietpoll.collect.app.serving),
    optionally capturing every log record of uvicorn and quietpoll meanwhile."""
    names = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi", "quietpoll")
    loggers = [logging.getLogger(n) for n in names]
    saved = [(lg, lg.level) for lg in loggers]
    if capture is not None:
        for lg in loggers:
            lg.setLevel(1)  # everything; uvicorn.Config then applies uvicorn_options()'s level
            lg.addHandler(capture)
    try:
        with serving(app) as url:
            yield url
    finally:
        for lg, level in saved:
            if capture is not None:
                lg.removeHandler(capture)
            lg.setLevel(level)


KEY = X25519PrivateKey.generate()


@pytest.fixture
def store(tmp_path):
    return Store.open(f"sqlite:///{tmp_path / 'collect.db'}")


def test_submission_over_real_http(store):
    token = store.add_token("alice")
    seen = {}
    app = create_app(store, forms={FORM: {}}, max_body=10_000)

    async def probe(request: Request):
        seen["client"] = request.scope["client"]
        seen["headers"] = dict(request.headers)
        return JSONResponse({})

    app.add_route("/probe", probe)
    capture = _Capture()
    iid = "uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427"
    doc = {"form_id": FORM, "instance_id": iid, "ciphertext": seal(KEY.public_key(), FORM, iid, {"q1": "yes"})}
    headers = {"Authorization": f"Bearer {token}", "User-Agent": UA, "X-Forwarded-For": IP}
    with running(app, capture) as base, httpx.Client(base_url=base, timeout=10, trust_env=False) as client:
        r = client.post("/api/v1/submissions", json=doc, headers=headers)
        assert r.status_code == 201, r.text
        assert r.json() == {"stored": True, "instance_id": doc["instance_id"]}
        assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert r.headers["cache-control"] == "no-store"
        assert "server" not in r.headers

        r = client.post("/api/v1/submissions", json=doc, headers=headers)
        assert r.status_code == 200 and r.json()["stored"] is False

        # a body streamed without Content-Length past the limit: 413, and the server keeps serving
        def chunks():
            yield b'{"form_id": "' + FORM.encode() + b'", "instance_id": "uuid:big", "ciphertext": "'
            for _ in range(50):
                yield b"A" * 1000
            yield b'"}'

        r = client.post("/api/v1/submissions", content=chunks(), headers=headers)
        assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"

        r = client.post("/api/v1/submissions", content=b"{oops", headers=headers)
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"

        assert client.get("/api/v1/health").json() == {"ok": True}
        client.get("/probe", headers=headers)

    assert [row["instance_id"] for row in store.list()] == [doc["instance_id"]]
    [(f_id, i_id, ct)] = list(store.ciphertexts())
    assert open_sealed(KEY, f_id, i_id, ct) == {"q1": "yes"}
    # uvicorn's ProxyHeadersMiddleware is off and the client address is gone before the app runs
    assert seen["client"] is None
    assert "user-agent" not in seen["headers"] and "x-forwarded-for" not in seen["headers"]
    # nothing uvicorn or quietpoll logged names the client
    assert capture.lines, "nothing was captured: the check would be empty"
    text = "\n".join(capture.lines)
    assert IP not in text and "CanaryBrowser" not in text and token not in text
    assert not [line for line in capture.lines if line.startswith("uvicorn.access")]
    assert not re.search(r"127\.0\.0\.1:\d+ - |'client': \(", text)  # uvicorn's trace-level connection lines
