"""The collection server: an ASGI (Starlette) app that only ever receives and stores ciphertext.

``create_app(store, forms=..., max_body=..., rate_limit=...)`` builds the app; the CLI's
``quietpoll serve`` runs it with uvicorn using :func:`uvicorn_options` (no access log, no proxy
headers, no ``Server`` header), because uvicorn's access log records the client address.

Routes
    ``POST /api/v1/submissions``  Bearer token; JSON ``{"form_id", "instance_id", "ciphertext"}``;
                                  201 ``{"stored": true, "instance_id"}``, 200 ``{"stored": false,
                                  "instance_id"}`` when that instance id is already stored.
    ``GET  /api/v1/health``       ``{"ok": true}`` (no product name, version or key: not a fingerprint).
    ``GET  /api/v1/stats``        a supervisor's Bearer token (``tokens add --supervisor``): ``{"interviewers":
                                  [{"alias", "revoked", "submissions", "quarantined", "last_seen", "days"}]}``
                                  from the store's metadata only (never decrypted); another token is 403,
                                  and a supervisor token cannot submit (403).
    anything else                 404 (405 for a known path with another method).

Every error is ``{"error": {"code": ..., "message": ...}}`` with code one of ``bad_request`` (400),
``unauthorized`` (401), ``forbidden`` (403), ``not_found`` (404), ``method_not_allowed`` (405), ``conflict`` (409: that
instance id is already stored with a different ciphertext or form; the first is kept), ``too_large``
(413), ``rate_limited`` (429, with ``Retry-After``), ``internal`` (500).

Respondents' safety, enforced here and not left to the deployment:

* the client address is removed from the ASGI scope (``scope["client"] = None``) and identifying
  request headers (User-Agent, X-Forwarded-For, Forwarded, X-Real-IP, Referer, Cookie, ...) are
  dropped from it before any route, handler or logger can see them;
* nothing logs a request, a body, a token or a header; an unexpected exception is logged by its class
  name only (its message could contain submitted data) and answered with the one error shape;
* every response carries a Content-Security-Policy that allows no other origin, no-referrer,
  nosniff, ``Cache-Control: no-store``, a Permissions-Policy that disables geolocation, camera and
  microphone, and same-origin opener/resource policies; no CORS headers are ever sent;
* the body is limited before it is read: a too large ``Content-Length`` is refused at once and the
  streamed body is counted chunk by chunk and abandoned as soon as it passes ``max_body``;
* each interviewer token has its own rate limit, ``rate_limit=(n, seconds)``. With a store that holds
  the counters (``store.take_rate``: both quietpoll stores), at most ``n`` requests per fixed window of
  ``seconds``, counted in the store, so every server process on that store (``serve --workers N``, or
  servers on several machines on one PostgreSQL) enforces one limit per token; the counter is keyed by a
  hash of the token itself, never by its alias. Other stores: a token bucket per alias and process
  (bursts of ``n``, ``n`` per ``seconds`` on average).

The store is called through Starlette's thread pool, so its methods must be safe to call from
several threads.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.middleware import Middleware

from quietpoll.collect.envelope import check_ciphertext
from quietpoll.errors import CollectError

log = logging.getLogger("quietpoll.collect")

API_PREFIX = "/api/v1"

#: Content-Security-Policy of every response: nothing from any other origin, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

#: Headers added to every response (success, error, 404, 405, 500).
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Permissions-Policy": "geolocation=(), camera=(), microphone=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}

#: Request headers that can identify a respondent's or interviewer's device or network; removed from
#: the ASGI scope before the app sees the request.
IDENTIFYING_HEADERS = frozenset(
    {
        b"user-agent",
        b"x-forwarded-for",
        b"x-forwarded-host",
        b"x-real-ip",
        b"forwarded",
        b"true-client-ip",
        b"cf-connecting-ip",
        b"x-client-ip",
        b"x-cluster-client-ip",
        b"fastly-client-ip",
        b"referer",
        b"cookie",
        b"sec-ch-ua",
        b"sec-ch-ua-mobile",
        b"sec-ch-ua-platform",
        b"sec-ch-ua-platform-version",
        b"sec-ch-ua-model",
        b"sec-ch-ua-full-version-list",
        b"sec-ch-ua-arch",
        b"sec-ch-ua-bitness",
        b"via",
    }
)

ERROR_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    429: "rate_limited",
    500: "internal",
}

FORM_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
INSTANCE_ID_RE = re.compile(r"(?:uuid:)?[A-Za-z0-9_-]+")
INSTANCE_ID_MAX = 128
CIPHERTEXT_RE = re.compile(r"[A-Za-z0-9_-]+={0,2}")
TOKEN_RE = re.compile(r"[A-Za-z0-9._~+/=-]{1,256}")
SUBMISSION_KEYS = frozenset({"form_id", "instance_id", "ciphertext"})


def uvicorn_options(nofile: int | None = None) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` / ``uvicorn.Config`` that keep addresses out of logs and
    harden the server.

    ``access_log=False`` (the access log writes the client address), ``proxy_headers=False`` (never
    take an address from X-Forwarded-For), ``server_header=False`` (no software banner),
    ``log_level="info"``: uvicorn's "trace" level logs ``HOST:PORT - HTTP connection made`` and the
    whole ASGI scope with the client address, so a front end must never offer trace logging. Plus
    :func:`quietpoll.collect.http.hardening_options` (bounded concurrency and backlog, head timeout and
    size limit, no WebSocket); ``nofile`` is the open-files limit from
    :func:`quietpoll.collect.http.raise_nofile_limit`.
    """
    from quietpoll.collect.http import hardening_options

    return {
        "access_log": False,
        "proxy_headers": False,
        "server_header": False,
        "log_level": "info",
        **hardening_options(nofile),
    }


class ApiError(Exception):
    """An error answered as ``{"error": {"code", "message"}}`` with ``status``."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    code = ERROR_CODES.get(status, "bad_request" if 400 <= status < 500 else "internal")
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def rate_key(token: str) -> bytes:
    """The key of a token's rate counter in the store: SHA-256 over a label and the token itself. The
    store keeps SHA-256 of the bare token, so without the token a counter cannot be tied to an alias."""
    return hashlib.sha256(b"quietpoll rate v1\x00" + token.encode("utf-8")).digest()


class TokenBucket:
    """Per-key token buckets: capacity ``n``, refilled at ``n / period`` per second."""

    def __init__(self, n: int, period: float, clock: Callable[[], float] = time.monotonic):
        if n < 1 or period <= 0:
            raise ValueError("rate_limit must be (requests >= 1, seconds > 0)")
        self.capacity = float(n)
        self.rate = n / period
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one token for ``key``; 0.0 when allowed, else the seconds until one is available."""
        with self._lock:
            now = self.clock()
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate


class PrivacyMiddleware:
    """Pure ASGI middleware: strip the client address and identifying headers, add security headers,
    and turn any unexpected exception into a 500 in the one error shape (logged by class name only)."""

    def __init__(self, app):
        self.app = app
        self._headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in SECURITY_HEADERS.items()]
        self._names = {k for k, _ in self._headers}

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        scope["client"] = None
        scope["headers"] = [(k, v) for k, v in scope.get("headers", []) if k.lower() not in IDENTIFYING_HEADERS]
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_secure(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in self._names]
                message = {**message, "headers": headers + self._headers}
            await send(message)

        try:
            await self.app(scope, receive, send_secure)
        except Exception as exc:  # the message could contain submitted data: class name only
            log.error("internal error in collection server: %s", type(exc).__name__)
            if started:
                raise
            response = error_response(500, "internal error")
            await response(scope, receive, send_secure)


#: Digits of the longest JSON integer parsed (a submission has no numbers at all; Python refuses to
#: convert more than 4,300 digits, which used to surface as a 500).
MAX_INT_DIGITS = 20


def _parse_json(body: bytes) -> Any:
    """The JSON document in ``body``; every malformed body (bad UTF-8, bad JSON, duplicate keys, NaN,
    an over-long integer, nesting too deep for the parser) -> ApiError 400, never echoing the body."""

    def bounded_int(text: str) -> int:
        if len(text.lstrip("-")) > MAX_INT_DIGITS:
            raise ApiError(400, f"the JSON body contains a number longer than {MAX_INT_DIGITS} digits")
        return int(text)

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ApiError(400, "the JSON body repeats a key")
        return dict(pairs)

    def no_constant(name):
        raise ApiError(400, f"the JSON body contains {name}, which is not JSON")

    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "the body is not UTF-8 text") from None
    try:
        return json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constant, parse_int=bounded_int)
    except json.JSONDecodeError as exc:  # position only: the message never echoes the body
        raise ApiError(400, f"the body is not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise ApiError(400, "the JSON body is nested too deeply") from None
    except (ValueError, OverflowError, MemoryError):  # any other refusal of the parser: still the client's body
        raise ApiError(400, "the body is not valid JSON") from None


def _validate_submission(doc: Any) -> tuple[str, str, str]:
    if not isinstance(doc, dict):
        raise ApiError(400, 'the body must be a JSON object {"form_id", "instance_id", "ciphertext"}')
    missing = sorted(SUBMISSION_KEYS - doc.keys())
    if missing:
        raise ApiError(400, f"the body lacks {', '.join(missing)}")
    extra = sorted(doc.keys() - SUBMISSION_KEYS)
    if extra:  # not named: a field name could itself be an answer, and messages never echo the body
        raise ApiError(400, f"the body has {len(extra)} unknown field(s); only form_id, instance_id, ciphertext")
    for key in ("form_id", "instance_id", "ciphertext"):
        if not isinstance(doc[key], str):
            raise ApiError(400, f"{key} must be a string")
    form_id, instance_id, ciphertext = doc["form_id"], doc["instance_id"], doc["ciphertext"]
    if not FORM_ID_RE.fullmatch(form_id):
        raise ApiError(400, "form_id must be 1-128 letters, digits, '_', '.' or '-'")
    if len(instance_id) > INSTANCE_ID_MAX or not INSTANCE_ID_RE.fullmatch(instance_id):
        raise ApiError(
            400,
            "instance_id must be 'uuid:' and/or letters, digits, '-' and '_' (base64url, hex, UUID), "
            f"at most {INSTANCE_ID_MAX} characters",
        )
    if not CIPHERTEXT_RE.fullmatch(ciphertext):
        raise ApiError(400, "ciphertext must be non-empty base64url text")
    try:  # base64url, version byte and a padding-bucket size: garbage never reaches the store
        check_ciphertext(ciphertext)
    except CollectError as exc:  # the message names sizes and versions, never content
        raise ApiError(400, f"not a sealed submission: {exc}") from None
    return form_id, instance_id, ciphertext


def create_app(
    store,
    *,
    forms: Mapping[str, dict] | None = None,
    max_body: int = 1_500_000,
    rate_limit: tuple[int, float] | None = (60, 60.0),
) -> Starlette:
    """The collection server for ``store`` (a :class:`quietpoll.collect.store.Store`).

    ``forms``: when given, only these form ids are accepted (others 404); a form's ``"envelope_size"``
    (:func:`quietpoll.collect.sizing.envelope_size`) makes every envelope of another padded size for that
    form a 400. ``max_body``: the largest
    request body in bytes (413 beyond). ``rate_limit``: ``(n, seconds)`` per token alias, a token
    bucket with bursts of ``n``; ``None`` disables it. Run it with ``uvicorn.run(app, host=...,
    port=..., **uvicorn_options())``.
    """
    if max_body < 1:
        raise ValueError("max_body must be positive")
    known_forms = None if forms is None else frozenset(forms)
    # route id -> form id of the browser forms (filled by quietpoll.collect.web.add_form_routes): the
    # page sends its route id, which says nothing of the study; the store keeps the form id
    form_routes: dict[str, str] = {}
    sizes = {f: int(v["envelope_size"]) for f, v in (forms or {}).items() if (v or {}).get("envelope_size")}
    limiter = None if rate_limit is None else TokenBucket(int(rate_limit[0]), float(rate_limit[1]))
    shared_limit = limiter is not None and hasattr(store, "take_rate")

    async def rate_wait(request: Request, alias: str) -> float:
        """Seconds until this token may submit again (0.0: now)."""
        if shared_limit and rate_limit is not None:  # shared_limit implies a rate limit
            n, period = int(rate_limit[0]), float(rate_limit[1])
            return await run_in_threadpool(store.take_rate, request.state.rate_key, n, period)
        return 0.0 if limiter is None else limiter.take(alias)

    if hasattr(store, "put_status"):  # "stored" | "duplicate" | "conflict"
        put = store.put_status
    else:  # a store with only put(): True stored, False already there

        def put(form_id: str, instance_id: str, ciphertext: str, alias: str) -> str:
            return "stored" if store.put(form_id, instance_id, ciphertext, alias) else "duplicate"

    async def authenticate(request: Request) -> str:
        header = request.headers.get("authorization")
        challenge = {"WWW-Authenticate": "Bearer"}  # no realm: it would name the product
        if not header:
            raise ApiError(401, "an interviewer token is required (Authorization: Bearer TOKEN)", challenge)
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not TOKEN_RE.fullmatch(token):
            raise ApiError(401, "the Authorization header must be 'Bearer TOKEN'", challenge)
        alias = await run_in_threadpool(store.token_alias, token)
        if alias is None:
            raise ApiError(401, "the interviewer token is unknown or revoked", challenge)
        request.state.rate_key = rate_key(token)
        return alias

    async def read_body(request: Request) -> bytes:
        length = request.headers.get("content-length")
        if length is not None:
            if not length.isascii() or not length.isdigit():
                raise ApiError(400, "Content-Length is not a number")
            if int(length) > max_body:
                raise ApiError(413, f"the body is larger than {max_body} bytes")
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > max_body:
                    raise ApiError(413, f"the body is larger than {max_body} bytes")
                chunks.append(chunk)
        except ClientDisconnect:
            raise ApiError(400, "the client disconnected") from None
        return b"".join(chunks)

    supervisor_cache: dict[str, Any] = {"at": float("-inf"), "aliases": frozenset()}

    async def is_supervisor(alias: str) -> bool:
        """Whether ``alias`` is a supervisor's token (the store's list, re-read at most every 5 s)."""
        if not hasattr(store, "supervisors"):
            return False
        now = time.monotonic()
        if now - supervisor_cache["at"] > 5.0:
            supervisor_cache["aliases"] = await run_in_threadpool(store.supervisors)
            supervisor_cache["at"] = now
        return alias in supervisor_cache["aliases"]

    async def stats(request: Request) -> Response:
        """The supervisor's view: counts per interviewer alias and day from the store's metadata (never
        decrypted); only a supervisor token opens it."""
        try:
            alias = await authenticate(request)
            if not await is_supervisor(alias):
                raise ApiError(403, "only a supervisor token opens this view")
        except ApiError as exc:
            return error_response(exc.status, exc.message, exc.headers)
        return JSONResponse({"interviewers": await run_in_threadpool(store.stats)})

    async def submit(request: Request) -> Response:
        try:
            alias = await authenticate(request)
            if await is_supervisor(alias):
                raise ApiError(403, "a supervisor token cannot submit interviews")
            if limiter is not None:
                wait = await rate_wait(request, alias)
                if wait > 0:
                    retry = max(1, math.ceil(wait))
                    raise ApiError(
                        429, f"too many submissions with this token; retry in {retry} s", {"Retry-After": str(retry)}
                    )
            body = await read_body(request)
            form_id, instance_id, ciphertext = _validate_submission(_parse_json(body))
            form_id = form_routes.get(form_id, form_id)
            if known_forms is not None and form_id not in known_forms:
                raise ApiError(404, "unknown form_id")
            size = sizes.get(form_id)
            if size is not None:  # uniform envelopes: one length per form, anything else refused
                try:
                    check_ciphertext(ciphertext, size)
                except CollectError as exc:
                    raise ApiError(400, f"not a sealed submission of this form: {exc}") from None
            try:
                status = await run_in_threadpool(put, form_id, instance_id, ciphertext, alias)
            except CollectError as exc:  # the store's own checks of ids and ciphertext
                raise ApiError(400, str(exc) or "the store refused this submission") from None
            if status == "conflict":
                raise ApiError(409, "this instance_id is already stored with different content; the first is kept")
        except ApiError as exc:
            return error_response(exc.status, exc.message, exc.headers)
        stored = status == "stored"
        return JSONResponse({"stored": stored, "instance_id": instance_id}, status_code=201 if stored else 200)

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def http_error(request: Request, exc: HTTPException) -> Response:
        messages = {404: "no such resource", 405: "method not allowed"}
        message = messages.get(exc.status_code, "request refused")
        return error_response(exc.status_code, message, exc.headers)

    app = Starlette(
        routes=[
            Route(f"{API_PREFIX}/submissions", submit, methods=["POST"]),
            Route(f"{API_PREFIX}/health", health, methods=["GET"]),
            *([Route(f"{API_PREFIX}/stats", stats, methods=["GET"])] if hasattr(store, "stats") else []),
        ],
        middleware=[Middleware(PrivacyMiddleware)],
        # Starlette types each handler as taking Exception, though it calls it only with the registered class
        exception_handlers={HTTPException: http_error},  # type: ignore[dict-item]
    )
    app.state.form_routes = form_routes
    return app


__all__ = [
    "create_app",
    "uvicorn_options",
    "CONTENT_SECURITY_POLICY",
    "SECURITY_HEADERS",
    "IDENTIFYING_HEADERS",
    "ERROR_CODES",
    "TokenBucket",
    "PrivacyMiddleware",
]


@contextlib.contextmanager
def serving(app, *, timeout: float = 10.0, **options):
    """Run ``app`` with uvicorn (uvicorn_options(), as ``quietpoll serve`` does, updated by ``options``)
    on 127.0.0.1 and a free port in a background thread; yields the base URL and stops the server within
    ``timeout`` seconds (tests, local runs)."""
    import socket

    import uvicorn

    from quietpoll.collect.http import raise_nofile_limit

    config = uvicorn_options(raise_nofile_limit()) | options

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # log_config=None: uvicorn keeps the process's logging setup; uvicorn_options() sets its levels
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="off", **config))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
    if thread.is_alive():
        raise RuntimeError(f"uvicorn did not stop within {timeout} s")
