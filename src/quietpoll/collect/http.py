"""The collection server's HTTP hardening: uvicorn's own limits plus a narrow extension of its httptools protocol.

``quietpoll serve`` (and :func:`quietpoll.collect.app.serving`) run uvicorn with the httptools parser
(fast: docs/benchmarks_collect.md) and :func:`hardening_options`:

* ``limit_concurrency`` (uvicorn): at most :data:`LIMIT_CONCURRENCY` connections per process; a request
  beyond that gets uvicorn's plain 503 instead of the process running out of file descriptors;
  ``backlog`` bounds the kernel's queue of connections not yet accepted;
* ``timeout_keep_alive`` (uvicorn): an idle keep-alive connection is closed after 5 s;
* ``ws="none"``: no WebSocket upgrade path at all;
* ``h11_max_incomplete_event_size``: uvicorn's setting for the largest request head, which uvicorn
  applies only to its h11 parser; :class:`HardenedHttpToolsProtocol` applies the same number to httptools;
* :func:`raise_nofile_limit` raises the soft ``RLIMIT_NOFILE`` towards the hard limit, so that the
  concurrency limit, not the descriptor limit, is what a flood reaches first.

Why a protocol subclass: uvicorn has no header timeout and no header size limit for httptools (only
for h11), and httptools itself keeps appending to a header value for as long as bytes arrive (a 256 MB
header cost 71 s of CPU, quadratic), while a client holding a partial head open is held forever.
:class:`HardenedHttpToolsProtocol` changes only that, before the parser sees the bytes:

* **head size**: bytes of the request line and headers are counted as they arrive (the end of the head is
  found by searching for the blank line, so body bytes never count); past the limit the connection gets
  ``431`` at once, without feeding the parser (nothing is buffered), then its writing side is shut and
  further bytes are read and dropped for at most :data:`LINGER` seconds (so the client can read the 431
  rather than a reset) before the connection is closed;
* **head timeout**: a request's head must be complete within :data:`HEADER_TIMEOUT` seconds of the
  connection (or of the first byte of the next request on a keep-alive connection); else ``408`` (or a
  silent close when nothing was sent) and the connection is closed (slowloris);
* **body stall**: once the head is in, a request body that stops arriving for :data:`BODY_TIMEOUT`
  seconds (while the server is ready to read it) gets its connection closed, so a client trickling a
  body cannot hold a slot for ever (nginx's ``client_body_timeout``);
* **eviction**: when the process holds :data:`EVICT_AT` connections, each new connection closes the
  oldest connection that is still waiting for its head, so slow or idle connections cannot take every
  slot and requests that arrive whole are still answered.

Nothing here logs: no address, no header, no byte of a request. Everything else (parsing, keep-alive,
pipelining, flow control, responses) is uvicorn's. A reverse proxy in front (docs/deploy.md) applies
the same limits first; these are the server's own, for when it is reached directly.
"""

from __future__ import annotations

import asyncio
import json
import resource
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = [
    "HardenedHttpToolsProtocol",
    "hardening_options",
    "raise_nofile_limit",
    "HEADER_TIMEOUT",
    "MAX_HEADER_BYTES",
    "LIMIT_CONCURRENCY",
]

#: Seconds a client has to send a complete request head (request line and headers).
HEADER_TIMEOUT = 10.0
#: Seconds a request body may stall (no byte while the server is ready to read) before the connection is closed.
BODY_TIMEOUT = 10.0
#: Largest request head in bytes (request line + headers); nginx's default allows 1 KiB + 4 x 8 KiB.
MAX_HEADER_BYTES = 16 * 1024
#: Connections per server process; a request beyond that gets 503.
LIMIT_CONCURRENCY = 2048
#: Connections at which each new connection evicts the oldest one still waiting for its head.
EVICT_AT = LIMIT_CONCURRENCY - 128
#: Queue of connections the kernel holds before they are accepted.
BACKLOG = 2048
#: Seconds a refused connection's remaining bytes are read and dropped before it is closed.
LINGER = 1.0
#: File descriptors wanted per process (soft RLIMIT_NOFILE), at most the hard limit.
NOFILE_WANTED = 65536


def _response(status: int, reason: str, code: str, message: str) -> bytes:
    body = json.dumps({"error": {"code": code, "message": message}}).encode("ascii")
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
        "cache-control: no-store\r\nx-content-type-options: nosniff\r\nconnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


def _head_end(buffer: bytes) -> int:
    """Index just past the blank line that ends a request head in ``buffer``, or -1."""
    ends = [i + n for i, n in ((buffer.find(b"\r\n\r\n"), 4), (buffer.find(b"\n\n"), 2)) if i >= 0]
    return min(ends) if ends else -1


class HardenedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a head size limit, a head timeout and eviction of slow heads
    (see the module docstring). The limits are class attributes; the head size is uvicorn's
    ``h11_max_incomplete_event_size`` when set."""

    header_timeout: float = HEADER_TIMEOUT
    body_timeout: float = BODY_TIMEOUT
    max_header_bytes: int = MAX_HEADER_BYTES
    evict_at: int = EVICT_AT
    linger: float = LINGER

    def __init__(self, config, server_state, app_state, _loop=None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.max_header_bytes = config.h11_max_incomplete_event_size or type(self).max_header_bytes
        limit = config.limit_concurrency
        if limit:  # evict a little before uvicorn's limit answers 503
            self.evict_at = min(type(self).evict_at, max(1, limit - min(128, limit // 8)))
        self._in_head = True  # waiting for (the rest of) a request head
        self._head_bytes = 0  # bytes of the current head so far
        self._head_tail = b""  # last bytes seen, to find a blank line split across reads
        self._head_timer: asyncio.TimerHandle | None = None
        self._in_body = False  # head complete, body still arriving
        self._body_timer: asyncio.TimerHandle | None = None
        self._refused = False
        self._heads_done = 0  # request heads completed on this connection
        # connections waiting for their head, oldest first; shared by the server's connections
        if not hasattr(server_state, "quietpoll_waiting"):
            server_state.quietpoll_waiting = {}
        self._waiting: dict = server_state.quietpoll_waiting

    # connection life

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._start_head()
        if len(self.connections) >= self.evict_at:
            for other in list(self._waiting):
                if len(self.connections) < self.evict_at:
                    break
                if other is not self:
                    other._drop()

    def connection_lost(self, exc) -> None:
        self._stop_head_timer()
        self._stop_body_timer()
        self._waiting.pop(self, None)
        super().connection_lost(exc)

    def _drop(self) -> None:
        self._stop_head_timer()
        self._stop_body_timer()
        self._waiting.pop(self, None)
        self.connections.discard(self)
        if not self.transport.is_closing():
            self.transport.close()

    # the head

    def _start_head(self) -> None:
        self._in_head, self._head_bytes, self._head_tail = True, 0, b""
        self._waiting[self] = None
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._in_head and not self.transport.is_closing():
            if self._head_bytes:
                self._refuse(
                    408,
                    "Request Timeout",
                    "timeout",
                    f"the request head was not complete within {self.header_timeout:g} s",
                )
            else:
                self._drop()

    def _stop_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _body_stalled(self) -> None:
        self._body_timer = None
        if not self._in_body or self.transport.is_closing():
            return
        if self.flow.read_paused:  # the app has not taken what arrived yet: not the client's stall
            self._body_timer = self.loop.call_later(self.body_timeout, self._body_stalled)
            return
        self._drop()

    def _refuse(self, status: int, reason: str, code: str, message: str) -> None:
        """Answer ``status`` and close: shut the writing side, drop what still arrives for ``linger`` s."""
        self._refused = True
        self._stop_head_timer()
        self._waiting.pop(self, None)
        self.transport.write(_response(status, reason, code, message))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(self.linger, self._drop)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # read and dropped until the linger time is over
        if self._in_head:
            if self._head_timer is None:  # the first byte of a request after keep-alive
                self._start_head()
            end = _head_end(self._head_tail + data)
            size = len(data) if end < 0 else end - len(self._head_tail)
            self._head_bytes += size
            if self._head_bytes > self.max_header_bytes:
                self._refuse(
                    431,
                    "Request Header Fields Too Large",
                    "too_large",
                    f"the request head is larger than {self.max_header_bytes} bytes",
                )
                return
            if end < 0:
                self._head_tail = (self._head_tail + data)[-3:]
            heads = self._heads_done
            super().data_received(data)
            if end >= 0 and self._heads_done == heads and self._in_head and not self.transport.is_closing():
                # a blank line that did not end the head (empty lines before a request line): count it all
                self._head_bytes += len(data) - size
                self._head_tail = (self._head_tail + data)[-3:]
                if self._head_bytes > self.max_header_bytes:
                    self._refuse(
                        431,
                        "Request Header Fields Too Large",
                        "too_large",
                        f"the request head is larger than {self.max_header_bytes} bytes",
                    )
                    return
        else:
            super().data_received(data)
        if self._in_body and not self.transport.is_closing():  # (re)start the stall clock
            self._stop_body_timer()
            self._body_timer = self.loop.call_later(self.body_timeout, self._body_stalled)

    def on_headers_complete(self) -> None:
        self._in_head, self._in_body = False, True
        self._heads_done += 1
        self._stop_head_timer()
        self._waiting.pop(self, None)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_body = False
        self._stop_body_timer()
        # the next request's head is counted from its first byte (data_received starts its timer)
        self._in_head, self._head_bytes, self._head_tail = True, 0, b""

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._in_head and not self.transport.is_closing():
            self._waiting[self] = None  # idle keep-alive: first to go when connections run short


def raise_nofile_limit(wanted: int = NOFILE_WANTED) -> int:
    """Raise the soft limit of open files towards ``wanted`` (never above the hard limit; never lowers
    it); returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def hardening_options(nofile: int | None = None) -> dict[str, Any]:
    """uvicorn Config options of the hardened server. ``nofile``: the soft open-files limit in force
    (:func:`raise_nofile_limit`); the concurrency limit is kept 256 below it."""
    limit = LIMIT_CONCURRENCY
    if nofile is not None and nofile != resource.RLIM_INFINITY:
        limit = max(64, min(limit, int(nofile) - 256))
    return {
        "http": HardenedHttpToolsProtocol,
        "ws": "none",
        "limit_concurrency": limit,
        "backlog": BACKLOG,
        "timeout_keep_alive": 5,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
    }
