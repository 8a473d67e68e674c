"""The collection server's HTTP API: every status path, the one error shape, security headers, and that
nothing identifying a respondent or interviewer is logged or stored."""

from __future__ import annotations

import asyncio
import json
import logging
import re

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.testclient import TestClient

from quietpoll.collect.app import (
    CONTENT_SECURITY_POLICY,
    ERROR_CODES,
    SECURITY_HEADERS,
    TokenBucket,
    create_app,
    uvicorn_options,
)
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from quietpoll.errors import CollectError
from quietpoll.collect.envelope import open_sealed, seal
from quietpoll.collect.store import Store

URL = "/api/v1/submissions"
FORM = "foreign_media_2025"
IP = "203.0.113.77"
UA = "CanaryBrowser/9.9 (SM-A515F; Android 13)"
PLAINTEXT = "CANARY-ANSWER-watched-KBS-at-night-7391"


KEY = X25519PrivateKey.generate()


def sealed(instance_id: str = "uuid:0", form_id: str = FORM, answer: str = PLAINTEXT) -> str:
    """A real sealed submission (HPKE to the study key, bound to the ids)."""
    return seal(KEY.public_key(), form_id, instance_id, {"q1": answer, "q2": 3})


@pytest.fixture
def store(tmp_path):
    return Store.open(f"sqlite:///{tmp_path / 'collect.db'}")


@pytest.fixture
def token(store):
    return store.add_token("alice")


def make_client(store, **kw) -> TestClient:
    kw.setdefault("forms", {FORM: {}})
    kw.setdefault("rate_limit", (1000, 60.0))
    return TestClient(create_app(store, **kw))


@pytest.fixture
def client(store):
    return make_client(store)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def body(instance_id: str = "uuid:6f1c2a2e-8d0b-4c51-9d8e-3b1a2f4e5d6c", form_id: str = FORM, ciphertext=None):
    return {"form_id": form_id, "instance_id": instance_id, "ciphertext": ciphertext or sealed(instance_id, form_id)}


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    doc = response.json()
    assert set(doc) == {"error"}
    assert set(doc["error"]) == {"code", "message"}
    assert doc["error"]["code"] == code == ERROR_CODES[status]
    assert isinstance(doc["error"]["message"], str) and doc["error"]["message"]
    assert_security_headers(response)
    return doc


def assert_security_headers(response) -> None:
    h = response.headers
    assert h["content-security-policy"] == CONTENT_SECURITY_POLICY
    csp = h["content-security-policy"]
    # no other origin anywhere: only 'self', 'none' and data: for images
    assert not re.search(r"https?:|\*|wss?:|'unsafe-", csp)
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert h["referrer-policy"] == "no-referrer"
    assert h["x-content-type-options"] == "nosniff"
    assert h["cache-control"] == "no-store"
    for feature in ("geolocation=()", "camera=()", "microphone=()"):
        assert feature in h["permissions-policy"]
    assert h["cross-origin-opener-policy"] == "same-origin"
    assert "access-control-allow-origin" not in h
    assert "server" not in h or "uvicorn" not in h["server"].lower()
    for name, value in SECURITY_HEADERS.items():
        assert h.get_list(name) == [value], name  # exactly once


# --- success and idempotency -------------------------------------------------------------------


def test_201_then_200_for_the_same_instance(client, store, token):
    doc = body()
    r = client.post(URL, json=doc, headers=auth(token))
    assert r.status_code == 201
    assert r.json() == {"stored": True, "instance_id": doc["instance_id"]}
    assert_security_headers(r)

    r = client.post(URL, json=doc, headers=auth(token))
    assert r.status_code == 200
    assert r.json() == {"stored": False, "instance_id": doc["instance_id"]}
    assert_security_headers(r)

    rows = store.list()
    assert [(row["form_id"], row["instance_id"]) for row in rows] == [(FORM, doc["instance_id"])]


@pytest.mark.parametrize(
    "instance_id",
    ["uuid:6f1c2a2e-8d0b-4c51-9d8e-3b1a2f4e5d6c", "0123456789abcdef" * 2, "AbC-_x9", "x" * 128, "uuid:" + "a" * 123],
)
def test_instance_id_forms_accepted(client, token, instance_id):
    r = client.post(URL, json=body(instance_id), headers=auth(token))
    assert r.status_code == 201, r.text


def test_any_form_accepted_when_forms_not_given(store, token):
    client = make_client(store, forms=None)
    r = client.post(URL, json=body(form_id="some_other_form"), headers=auth(token))
    assert r.status_code == 201


def test_health(client):
    r = client.get("/api/v1/health")
    assert r.status_code == 200
    assert r.json() == {"ok": True}
    assert_security_headers(r)


# --- 401 -------------------------------------------------------------------------------------------


def test_401_missing_token(client, store):
    r = client.post(URL, json=body())
    doc = assert_error(r, 401, "unauthorized")
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert "token" in doc["error"]["message"]
    assert store.list() == []


@pytest.mark.parametrize(
    "header",
    ["Bearer not-a-real-token", "Basic YWxpY2U6c2VjcmV0", "Bearer", "Bearer ", "bearer x y", "Bearer " + "a" * 300],
)
def test_401_unknown_or_malformed_token(client, store, header):
    r = client.post(URL, json=body(), headers={"Authorization": header})
    assert_error(r, 401, "unauthorized")
    assert store.list() == []


def test_401_revoked_token(client, store, token):
    assert client.post(URL, json=body("uuid:a1"), headers=auth(token)).status_code == 201
    store.revoke_token("alice")
    r = client.post(URL, json=body("uuid:a2"), headers=auth(token))
    assert_error(r, 401, "unauthorized")
    assert [row["instance_id"] for row in store.list()] == ["uuid:a1"]


def test_401_before_the_body_is_looked_at(client):
    r = client.post(URL, content=b"x" * 5_000_000, headers={"Content-Type": "application/json"})
    assert_error(r, 401, "unauthorized")


# --- 400 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"",
        b'{"form_id": "a",',
        b"\xff\xfe{}",
        b"[1, 2]",
        b'"a string"',
        b"null",
        b'{"form_id": "f", "form_id": "g", "instance_id": "uuid:x", "ciphertext": "AAAA"}',
        b'{"form_id": NaN, "instance_id": "uuid:x", "ciphertext": "AAAA"}',
        b"[" * 100_000,
    ],
)
def test_400_malformed_json(client, store, token, raw):
    r = client.post(URL, content=raw, headers={**auth(token), "Content-Type": "application/json"})
    assert_error(r, 400, "bad_request")
    assert store.list() == []


@pytest.mark.parametrize(
    "change",
    [
        {"form_id": 7},
        {"instance_id": None},
        {"ciphertext": ["AAAA"]},
        {"ciphertext": {"a": 1}},
        {"instance_id": 12345678},
        {"form_id": ""},
        {"form_id": "../etc/passwd"},
        {"form_id": "a" * 129},
        {"instance_id": ""},
        {"instance_id": "x" * 129},
        {"instance_id": "uuid:" + "a" * 124},
        {"instance_id": "has space"},
        {"instance_id": "slash/y"},
        {"instance_id": "uuid:"},
        {"instance_id": "name@example.org"},
        {"ciphertext": ""},
        {"ciphertext": "not base64!"},
        {"ciphertext": "ab+/"},  # standard, not url-safe, alphabet
        {"ciphertext": "A"},  # impossible length
        {"ciphertext": "AAA=="},
        {"ciphertext": "AAAA=="},
        {"ciphertext": "plain text answer"},
        {"ciphertext": "AAAA"},  # base64url, but not the size of any sealed submission
        {"ciphertext": "Ag" + sealed()[2:]},  # a version this server does not know
    ],
)
def test_400_wrong_types_and_bad_ids(client, store, token, change):
    doc = {**body(), **change}
    r = client.post(URL, json=doc, headers=auth(token))
    assert_error(r, 400, "bad_request")
    assert store.list() == []


@pytest.mark.parametrize("drop", ["form_id", "instance_id", "ciphertext"])
def test_400_missing_field(client, token, drop):
    doc = body()
    del doc[drop]
    r = client.post(URL, json=doc, headers=auth(token))
    assert drop in assert_error(r, 400, "bad_request")["error"]["message"]


def test_400_unknown_fields_are_refused(client, store, token):
    # anything beyond the three fields could carry readable metadata; it is refused, not ignored
    r = client.post(URL, json={**body(), "answers": {"q1": PLAINTEXT}}, headers=auth(token))
    doc = assert_error(r, 400, "bad_request")
    assert PLAINTEXT not in r.text
    assert "answers" not in r.text and "unknown field" in doc["error"]["message"]
    assert store.list() == []


def test_error_messages_never_echo_the_body(client, token):
    raw = ('{"form_id": "' + PLAINTEXT + '", "instance_id": ').encode()
    r = client.post(URL, content=raw, headers=auth(token))
    assert_error(r, 400, "bad_request")
    assert PLAINTEXT not in r.text


def test_400_bad_content_length(client, token):
    r = client.post(URL, content=b"{}", headers={**auth(token), "Content-Length": "abc"})
    assert_error(r, 400, "bad_request")


# --- 404 / 405 -------------------------------------------------------------------------------------


def test_404_unknown_form(client, store, token):
    r = client.post(URL, json=body(form_id="unknown_form"), headers=auth(token))
    assert_error(r, 404, "not_found")
    assert store.list() == []


@pytest.mark.parametrize("path", ["/", "/api/v1/", "/api/v2/submissions", "/f/foreign_media_2025", "/admin"])
def test_404_unknown_route(client, path):
    assert_error(client.get(path), 404, "not_found")
    assert_error(client.post(path, json={}), 404, "not_found")


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", URL),
        ("PUT", URL),
        ("DELETE", URL),
        ("PATCH", URL),
        ("POST", "/api/v1/health"),
        ("DELETE", "/api/v1/health"),
    ],
)
def test_405(client, method, path):
    r = client.request(method, path)
    assert_error(r, 405, "method_not_allowed")
    assert r.headers["allow"]


# --- 413 -------------------------------------------------------------------------------------------


def test_413_by_content_length(store, token):
    client = make_client(store, max_body=1000)
    r = client.post(URL, json=body(ciphertext="A" * 2000), headers=auth(token))
    assert int(r.request.headers["content-length"]) > 1000
    assert_error(r, 413, "too_large")
    assert store.list() == []


def test_413_by_streaming_without_content_length(store, token):
    client = make_client(store, max_body=1000)
    raw = json.dumps(body(ciphertext="A" * 2000)).encode()

    def chunks():
        for i in range(0, len(raw), 100):
            yield raw[i : i + 100]

    r = client.post(URL, content=chunks(), headers={**auth(token), "Content-Type": "application/json"})
    assert "content-length" not in r.request.headers
    assert r.request.headers["transfer-encoding"] == "chunked"
    assert_error(r, 413, "too_large")
    assert store.list() == []


def test_body_at_the_limit_is_accepted(store, token):
    doc = body()
    size = len(json.dumps(doc).encode())
    client = make_client(store, max_body=size)
    r = client.post(URL, content=json.dumps(doc).encode(), headers=auth(token))
    assert r.status_code == 201, r.text


def test_streamed_body_is_abandoned_once_past_the_limit(store, token):
    """Called as plain ASGI with a body that lies about nothing and never ends: the app stops reading
    as soon as the limit is passed and answers 413."""
    app = create_app(store, max_body=1000)
    received = 0

    async def receive():
        nonlocal received
        received += 1
        if received > 10_000:
            raise AssertionError("the app kept reading an oversized body")
        return {"type": "http.request", "body": b"A" * 64, "more_body": True}

    sent = []

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": URL,
        "raw_path": URL.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("198.51.100.9", 40000),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 413
    assert received <= 1000 // 64 + 2
    assert b'"too_large"' in b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


# --- 429 -------------------------------------------------------------------------------------------


def test_429_per_token_with_retry_after(store, token):
    client = make_client(store, rate_limit=(2, 60.0))
    other = store.add_token("bob")
    assert client.post(URL, json=body("uuid:r1"), headers=auth(token)).status_code == 201
    assert client.post(URL, json=body("uuid:r2"), headers=auth(token)).status_code == 201
    r = client.post(URL, json=body("uuid:r3"), headers=auth(token))
    assert_error(r, 429, "rate_limited")
    retry = int(r.headers["retry-after"])
    assert 1 <= retry <= 60  # the rest of the fixed 60 s window
    # another interviewer's token has its own bucket
    assert client.post(URL, json=body("uuid:r4"), headers=auth(other)).status_code == 201
    assert sorted(row["instance_id"] for row in store.list()) == ["uuid:r1", "uuid:r2", "uuid:r4"]


def test_rate_limit_none_disables_it(store, token):
    client = make_client(store, rate_limit=None)
    for i in range(80):
        assert client.post(URL, json=body(f"uuid:n{i}"), headers=auth(token)).status_code == 201


def test_token_bucket_refills():
    now = [0.0]
    bucket = TokenBucket(3, 30.0, clock=lambda: now[0])
    assert [bucket.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take("a") == pytest.approx(10.0)
    assert bucket.take("b") == 0.0
    now[0] = 5.0
    assert bucket.take("a") == pytest.approx(5.0)
    now[0] = 10.0
    assert bucket.take("a") == 0.0
    now[0] = 1000.0  # never more than the burst
    assert [bucket.take("a") for _ in range(4)][-1] > 0
    with pytest.raises(ValueError):
        TokenBucket(0, 1.0)


# --- conflicts and internal errors ---------------------------------------------------------------


class _Wrapping:
    """The real store with put_status replaced."""

    def __init__(self, store, put_status):
        self._store, self.put_status = store, put_status

    def __getattr__(self, name):
        return getattr(self._store, name)


def test_409_replayed_instance_id_with_different_content(client, store, token):
    first = body("uuid:c1")
    assert client.post(URL, json=first, headers=auth(token)).status_code == 201
    other = body("uuid:c1", ciphertext=sealed("uuid:c1", answer="something else"))
    assert_error(client.post(URL, json=other, headers=auth(token)), 409, "conflict")
    other_form = body("uuid:c1", form_id="second_form")
    client2 = make_client(store, forms={FORM: {}, "second_form": {}})
    assert_error(client2.post(URL, json=other_form, headers=auth(token)), 409, "conflict")
    # the first is kept, and an exact replay is still the idempotent 200
    [(f_id, i_id, ct)] = list(store.ciphertexts())
    assert (f_id, i_id, ct) == (FORM, "uuid:c1", first["ciphertext"])
    assert client.post(URL, json=first, headers=auth(token)).status_code == 200


def test_400_when_the_store_refuses_the_input(store, token):
    def put_status(*args):
        raise CollectError("form_id must be text of 1 to 256 bytes")

    client = make_client(_Wrapping(store, put_status))
    assert_error(client.post(URL, json=body(), headers=auth(token)), 400, "bad_request")


class _PutOnly:
    """A store with exactly the documented interface: put() -> bool, no put_status."""

    def __init__(self, store):
        self.put, self.token_alias = store.put, store.token_alias


def test_store_with_put_only(store, token):
    client = make_client(_PutOnly(store))
    doc = body("uuid:po1")
    assert client.post(URL, json=doc, headers=auth(token)).status_code == 201
    r = client.post(URL, json=doc, headers=auth(token))
    assert r.status_code == 200 and r.json() == {"stored": False, "instance_id": "uuid:po1"}


def test_500_in_the_error_shape_without_details(store, token, caplog):
    def put_status(*args):
        raise RuntimeError(f"disk I/O error while writing {PLAINTEXT}")

    client = make_client(_Wrapping(store, put_status))
    with caplog.at_level(logging.DEBUG):
        r = client.post(URL, json=body(), headers=auth(token))
    doc = assert_error(r, 500, "internal")
    assert PLAINTEXT not in json.dumps(doc)
    assert PLAINTEXT not in caplog.text
    assert "RuntimeError" in caplog.text
    # and the server keeps serving
    assert client.get("/api/v1/health").json() == {"ok": True}


def test_server_keeps_serving_after_bad_input(client, token):
    for raw in (b"{", b"[]", b"\x00" * 10):
        assert client.post(URL, content=raw, headers=auth(token)).status_code == 400
    assert client.post(URL, json=body(), headers=auth(token)).status_code == 201


# --- privacy: nothing identifying reaches the app, the logs or the store --------------------------


def test_client_address_and_identifying_headers_are_stripped(store):
    app = create_app(store)
    seen = {}

    async def probe(request: Request):
        seen["client"] = request.scope["client"]
        seen["headers"] = dict(request.headers)
        return JSONResponse({})

    app.add_route("/probe", probe)
    client = TestClient(app)
    client.get(
        "/probe",
        headers={
            "User-Agent": UA,
            "X-Forwarded-For": IP,
            "X-Real-IP": IP,
            "Forwarded": f"for={IP}",
            "Referer": "https://example.org/",
            "Cookie": "a=b",
            "Sec-CH-UA-Platform": "Android",
        },
    )
    assert seen["client"] is None
    for name in ("user-agent", "x-forwarded-for", "x-real-ip", "forwarded", "referer", "cookie", "sec-ch-ua-platform"):
        assert name not in seen["headers"]
    assert IP not in json.dumps(seen["headers"]) and UA not in json.dumps(seen["headers"])


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)

    def text(self) -> str:
        out = []
        for r in self.records:
            out.append(r.getMessage())
            out.append(repr(r.args))
            out.append(repr(r.__dict__))
            if r.exc_info:
                out.append(logging.Formatter().formatException(r.exc_info))
        return "\n".join(out)


LOGGERS = ["", "quietpoll", "quietpoll.collect", "uvicorn", "uvicorn.error", "uvicorn.access", "starlette", "httpx"]


@pytest.fixture
def captured_logs():
    handler = _Capture()
    saved = []
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    yield handler
    for logger, level in saved:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_no_ip_or_user_agent_in_any_log_record(store, token, captured_logs):
    def put_status(*args):
        raise RuntimeError("boom")

    headers = {**auth(token), "User-Agent": UA, "X-Forwarded-For": IP, "X-Real-IP": IP}
    client = make_client(store, rate_limit=(3, 60.0))
    client.post(URL, json=body("uuid:l1"), headers=headers)  # 201
    client.post(URL, json=body("uuid:l1"), headers=headers)  # 200
    client.post(URL, content=b"{", headers=headers)  # 400
    client.post(URL, json=body("uuid:l2"), headers=headers)  # 429
    client.post(URL, json=body(), headers={"User-Agent": UA, "X-Forwarded-For": IP})  # 401
    client.get("/nowhere", headers=headers)  # 404
    client.get(URL, headers=headers)  # 405
    make_client(_Wrapping(store, put_status)).post(URL, json=body("uuid:l3"), headers=headers)  # 500
    assert captured_logs.records, "the capture saw nothing at all: the check would be empty"
    text = captured_logs.text()
    assert IP not in text
    assert UA not in text and "CanaryBrowser" not in text
    assert token not in text
    assert PLAINTEXT not in text


def test_store_holds_only_ciphertext(tmp_path, token, store):
    client = make_client(store)
    headers = {**auth(token), "User-Agent": UA, "X-Forwarded-For": IP}
    doc = body("uuid:p1")
    assert client.post(URL, json=doc, headers=headers).status_code == 201
    client.post(URL, json={**body("uuid:p2"), "note": PLAINTEXT}, headers=headers)  # refused
    [row] = store.list()
    assert row["instance_id"] == "uuid:p1"
    blob = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    # (a long ciphertext spills onto SQLite overflow pages, so look for its start)
    assert doc["ciphertext"][:200].encode() in blob, "the check would be empty: the store file is elsewhere"
    for needle in (PLAINTEXT, "KBS", IP, UA, "CanaryBrowser", token, "testclient"):
        assert needle.encode() not in blob, needle
    # only the study key opens it
    [(f_id, i_id, ct)] = list(store.ciphertexts())
    assert open_sealed(KEY, f_id, i_id, ct) == {"q1": PLAINTEXT, "q2": 3}


def test_uvicorn_options_keep_addresses_out_of_logs():
    opts = uvicorn_options()
    assert opts["access_log"] is False
    assert opts["proxy_headers"] is False
    assert opts["server_header"] is False
    assert opts["log_level"] in ("info", "warning", "error")
