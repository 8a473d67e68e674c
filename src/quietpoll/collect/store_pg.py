"""The collection store on PostgreSQL (``postgresql://user:pass@host:port/db``), via psycopg 3.

The :class:`quietpoll.collect.backend.StoreBackend` interface with the semantics of the SQLite
:class:`quietpoll.collect.store.Store` (open it with ``open_store(url)`` or ``Store.open(url)``, which
dispatch here), for a team running several server processes or machines against one database:

* ``submissions(instance_id PRIMARY KEY, form_id, ciphertext, token_alias, received_at)`` and
  ``tokens(alias PRIMARY KEY, token_hash UNIQUE, revoked, created_at)``, the times rounded down to the
  hour, token hashes only; no IP address, user agent, header, plaintext or token text is written.
* Concurrency rests on the database alone, never on a process lock: a submission is one
  ``INSERT ... ON CONFLICT (instance_id) DO NOTHING`` (its own transaction); when it inserts nothing the
  stored row is read back and compared, so of several processes racing on one instance id exactly one
  gets "stored". Token aliases and hashes are unique constraints.
* Tables are created if missing inside a transaction holding an advisory lock, so two processes that
  start together do not trip over each other. Text keys use the "C" collation so that ordering and
  paging match SQLite's byte order whatever the database's locale.
* A commit is durable when acknowledged: a session found with ``synchronous_commit = off`` is set to
  ``on`` (stricter settings such as ``remote_apply`` are kept).
* A small pool of connections (``autocommit``), shared by threads; a connection found broken (the
  server restarted) is replaced and an idempotent call is retried once.

* ``quarantine`` and ``rate`` tables as in the SQLite store: rows set aside, and the per-token request
  counters of the current window that every server process shares (one atomic upsert per request).

Arrival order. PostgreSQL keeps it in several places: each row's ``xmin`` (the id of the transaction
that inserted it, increasing with time) and its place in the heap (``ctid``: rows are appended in
arrival order), for the live rows; the dead copies of rows that were deleted or rewritten, until their
space is reused; and the write-ahead log (``pg_wal``), whose segments hold every insert in order until
they are recycled and overwritten. What this store does: when a process sees a new hour it
settles the closed hours (:meth:`PgStore.settle`), deleting and re-inserting their rows in instance-id order in
one transaction (so they share one ``xmin`` and lie in the heap in key order) and running ``VACUUM`` on
the table. What it cannot do: erase the rows of the current hour's order (live), the bytes of dead
tuples before their space is reused, or ``pg_wal``. A server seized at rest with PostgreSQL therefore
may still show arrival order within an hour; run it on an encrypted disk, without WAL archiving, and
prefer the SQLite store where that matters (docs/deploy.md).
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from quietpoll.collect import store as _store
from quietpoll.collect.backend import StoreBackend
from quietpoll.collect.envelope import check_ciphertext
from quietpoll.collect.setaside import quarantine_id
from quietpoll.errors import CollectError

__all__ = ["PgStore", "is_postgres_url"]

T = TypeVar("T")
_log = logging.getLogger("quietpoll.collect")

SCHEMA_VERSION = "quietpoll-store-1"
# pg_advisory_xact_lock key: the first 8 bytes of SHA-256("quietpoll-store"), as a signed bigint
_LOCK_KEY = int.from_bytes(hashlib.sha256(b"quietpoll-store").digest()[:8], "big", signed=True)
_SETTLE_KEY = int.from_bytes(hashlib.sha256(b"quietpoll-store settle").digest()[:8], "big", signed=True)
_CONNECT_TIMEOUT = 10  # seconds
_POOL_WAIT = 60.0  # seconds a caller waits for a free connection

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS submissions (
        instance_id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        form_id     TEXT COLLATE "C" NOT NULL,
        ciphertext  TEXT NOT NULL,
        token_alias TEXT NOT NULL,
        received_at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS submissions_form ON submissions(form_id, instance_id)",
    """CREATE TABLE IF NOT EXISTS tokens (
        alias      TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        token_hash BYTEA NOT NULL UNIQUE,
        revoked    BOOLEAN NOT NULL DEFAULT FALSE,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS quarantine (
        id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        instance_id TEXT COLLATE "C" NOT NULL,
        form_id     TEXT COLLATE "C" NOT NULL,
        ciphertext  TEXT NOT NULL,
        token_alias TEXT NOT NULL,
        received_at TEXT NOT NULL,
        reason      TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS rate (
        key  BYTEA NOT NULL PRIMARY KEY,
        win  BIGINT NOT NULL,
        hits BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS meta (
        key   TEXT NOT NULL PRIMARY KEY,
        value TEXT NOT NULL
    )""",
)


def _hour_before(hour: str) -> str:
    """The ISO hour (``...T14:00:00Z``) one hour before ``hour``."""
    from datetime import datetime, timedelta

    try:
        then = datetime.strptime(hour, "%Y-%m-%dT%H:00:00Z") - timedelta(hours=1)
    except ValueError:
        return ""
    return then.strftime("%Y-%m-%dT%H:00:00Z")


def is_postgres_url(url: str) -> bool:
    return url.lower().startswith(("postgresql://", "postgres://", "postgresql+"))


def _conninfo(url: str) -> tuple[str, str, str | None]:
    """``(libpq URL, URL with the password hidden, password)``; ``postgresql+driver://`` accepted."""
    scheme, sep, rest = url.partition("://")
    if not sep or not rest.strip("/"):
        raise CollectError("the PostgreSQL store URL needs a host or database: postgresql://USER:PASS@HOST:PORT/DB")
    conn_url = "postgresql://" + rest
    try:
        parts = urlsplit(conn_url)
        password = parts.password
    except ValueError as exc:
        raise CollectError(f"the PostgreSQL store URL is malformed ({exc})") from None
    shown = conn_url
    if password is not None:
        netloc = parts.netloc.rpartition("@")
        user = netloc[0].partition(":")[0]
        shown = urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[2]}"))
    return conn_url, shown, password


def _psycopg():
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        raise CollectError('the PostgreSQL store needs psycopg 3: pip install "psycopg[binary]"') from None
    return psycopg


class PgStore(StoreBackend):
    """Sealed submissions and token hashes in PostgreSQL. Open with ``open_store("postgresql://...")``
    (or ``Store.open``, which dispatches here)."""

    def __init__(self, conninfo: str, shown: str, password: str | None, max_connections: int = 8) -> None:
        self._conninfo = conninfo
        self._password = password
        self.path = shown  # for messages: the URL with the password hidden
        self._lock = threading.Lock()
        self._idle: list[Any] = []
        self._slots = threading.BoundedSemaphore(max_connections)
        self._closed = False
        self._hour = _store.hour_now()
        self._rate_swept = -1

    @classmethod
    def open(cls, url: str) -> PgStore:
        conninfo, shown, password = _conninfo(url)
        store = cls(conninfo, shown, password)
        psycopg = _psycopg()
        conn = store._connect()
        try:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES ('schema', %s) ON CONFLICT (key) DO NOTHING",
                    (SCHEMA_VERSION,),
                )
                row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        except psycopg.Error as exc:
            conn.close()
            raise CollectError(f"{shown}: not a usable quietpoll store ({store._clean(exc)})") from None
        if row is None or row[0] != SCHEMA_VERSION:
            conn.close()
            raise CollectError(f"{shown}: not a quietpoll store (schema {row!r})")
        store._give(conn)
        return store

    # ---------------------------------------------------------------------------------------------
    # connections

    def _clean(self, exc: BaseException) -> str:
        """The first line of a driver message, the password never included."""
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if self._password:
            text = text.replace(self._password, "***")
        return text

    def _connect(self):
        psycopg = _psycopg()
        try:
            conn = psycopg.connect(
                self._conninfo, autocommit=True, connect_timeout=_CONNECT_TIMEOUT, application_name="quietpoll"
            )
        except psycopg.Error as exc:
            raise CollectError(f"{self.path}: cannot connect to the PostgreSQL store ({self._clean(exc)})") from None
        try:
            if str(conn.execute("SHOW synchronous_commit").fetchone()[0]).lower() == "off":
                conn.execute("SET synchronous_commit = on")
        except psycopg.Error:
            conn.close()
            raise
        return conn

    def _take(self):
        with self._lock:
            if self._closed:
                raise CollectError("the store is closed")
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def _give(self, conn) -> None:
        psycopg = _psycopg()
        ok = not conn.closed and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        with self._lock:
            if ok and not self._closed:
                self._idle.append(conn)
                return
        conn.close()

    def _run(self, fn: Callable[[Any], T], *, retry: bool = True) -> T:
        """Run ``fn(connection)`` on a pooled connection; a broken connection is replaced, and the call
        retried once when ``retry`` (for idempotent calls only)."""
        psycopg = _psycopg()
        if self._closed:
            raise CollectError("the store is closed")
        if not self._slots.acquire(timeout=_POOL_WAIT):
            raise TimeoutError(f"no free connection to the store after {_POOL_WAIT:.0f} s")
        try:
            for attempt in range(2):
                conn = self._take()
                try:
                    result = fn(conn)
                except psycopg.OperationalError:
                    broken = conn.broken or conn.closed
                    conn.close()
                    if broken and retry and attempt == 0:
                        continue
                    raise
                except BaseException:
                    self._give(conn)
                    raise
                self._give(conn)
                return result
            raise AssertionError("unreachable")  # pragma: no cover
        finally:
            self._slots.release()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    # ---------------------------------------------------------------------------------------------
    # submissions

    def put_status(self, form_id: str, instance_id: str, ciphertext: str, token_alias: str) -> str:
        _store._check_id(form_id, "form_id")
        _store._check_id(instance_id, "instance_id")
        _store._check_alias(token_alias)
        check_ciphertext(ciphertext)
        hour = _store.hour_now()
        if hour != self._hour:  # a new hour: rewrite the closed ones so that they keep no arrival order
            self._hour = hour
            try:
                self.settle()
            except Exception as exc:  # never costs a submission; the next hour's settle covers this one
                _log.warning("could not settle the store's closed hours: %s", type(exc).__name__)

        def work(conn):
            cur = conn.execute(
                "INSERT INTO submissions(instance_id, form_id, ciphertext, token_alias, received_at)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (instance_id) DO NOTHING",
                (instance_id, form_id, ciphertext, token_alias, hour),
            )
            if cur.rowcount == 1:
                return None
            return conn.execute(
                "SELECT form_id, ciphertext FROM submissions WHERE instance_id = %s", (instance_id,)
            ).fetchone() or ("", "")

        row = self._run(work)
        if row is None:
            return "stored"
        if row[0] == form_id and hmac.compare_digest(row[1].encode("utf-8"), ciphertext.encode("utf-8")):
            return "duplicate"
        qid = quarantine_id(form_id, instance_id, ciphertext)
        self._run(
            lambda c: c.execute(  # set aside, never lost: the lead decides (quietpoll store quarantine)
                "INSERT INTO quarantine(id, instance_id, form_id, ciphertext, token_alias, received_at, reason)"
                " VALUES (%s, %s, %s, %s, %s, %s, 'conflict') ON CONFLICT (id) DO NOTHING",
                (qid, instance_id, form_id, ciphertext, token_alias, hour),
            )
        )
        return "conflict"

    def settle(self) -> bool:
        """Rewrite the rows of the closed hours not yet rewritten (and the hour before, for stragglers)
        in one transaction: deleted and inserted again in instance-id order, so they share one ``xmin``
        and lie in the heap in key order; then ``VACUUM`` the table so the dead copies' space is reused.
        One process does it (advisory lock); ``meta.settled_before`` remembers how far it got. What
        PostgreSQL still keeps is listed in this module's docstring."""
        hour = _store.hour_now()

        def work(conn):
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SETTLE_KEY,))
                row = conn.execute("SELECT value FROM meta WHERE key = 'settled_before'").fetchone()
                since = _hour_before(row[0]) if row else ""
                if row and row[0] >= hour:
                    return False
                conn.execute(
                    "WITH moved AS (DELETE FROM submissions WHERE received_at >= %s AND received_at < %s"
                    " RETURNING instance_id, form_id, ciphertext, token_alias, received_at)"
                    " INSERT INTO submissions(instance_id, form_id, ciphertext, token_alias, received_at)"
                    " SELECT * FROM moved ORDER BY instance_id",
                    (since, hour),
                )
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES ('settled_before', %s)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (hour,),
                )
            return True

        if not self._run(work, retry=False):
            return True
        self._run(lambda c: c.execute("VACUUM submissions"), retry=False)
        return True

    def list(self, form_id: str | None = None) -> list[dict]:
        sql = "SELECT instance_id, form_id, received_at, token_alias FROM submissions"
        args: tuple = ()
        if form_id is not None:
            sql, args = sql + " WHERE form_id = %s", (form_id,)
        rows = self._run(lambda c: c.execute(sql + " ORDER BY instance_id", args).fetchall())
        return [{"instance_id": i, "form_id": f, "received_at": r, "token_alias": a} for i, f, r, a in rows]

    def count(self, form_id: str | None = None) -> int:
        sql = "SELECT count(*) FROM submissions"
        args: tuple[str, ...] = ()
        if form_id is not None:
            sql, args = sql + " WHERE form_id = %s", (form_id,)
        return int(self._run(lambda c: c.execute(sql, args).fetchone()[0]))

    def sealed(self, form_id: str | None = None) -> Iterator[tuple[str, str, str, str]]:
        last = ""
        while True:
            page = _store._PAGE
            if form_id is None:
                sql = (
                    "SELECT form_id, instance_id, ciphertext, token_alias FROM submissions WHERE instance_id > %s"
                    " ORDER BY instance_id LIMIT %s"
                )
                args: tuple = (last, page)
            else:
                sql = (
                    "SELECT form_id, instance_id, ciphertext, token_alias FROM submissions"
                    " WHERE form_id = %s AND instance_id > %s ORDER BY instance_id LIMIT %s"
                )
                args = (form_id, last, page)
            rows = self._run(lambda c: c.execute(sql, args).fetchall())  # called at once: sql, args are current
            yield from (tuple(r) for r in rows)
            if len(rows) < page:
                return
            last = rows[-1][1]

    # ---------------------------------------------------------------------------------------------
    # quarantine (see quietpoll.collect.setaside)

    def set_aside(self, rows: builtins.list[tuple[str, str, str, str]]) -> builtins.list[str]:
        ids = [quarantine_id(f, i, c) for f, i, c, _ in rows]

        def work(conn):
            with conn.transaction():
                for qid, (f, i, c, reason) in zip(ids, rows):
                    conn.execute(
                        "INSERT INTO quarantine(id, instance_id, form_id, ciphertext, token_alias, received_at, reason)"
                        " SELECT %s, instance_id, form_id, ciphertext, token_alias, received_at, %s FROM submissions"
                        " WHERE instance_id = %s AND form_id = %s AND ciphertext = %s ON CONFLICT (id) DO NOTHING",
                        (qid, reason, i, f, c),
                    )
                    conn.execute(
                        "DELETE FROM submissions WHERE instance_id = %s AND form_id = %s AND ciphertext = %s", (i, f, c)
                    )

        self._run(work, retry=False)
        return ids

    def quarantined(self) -> builtins.list[dict]:
        rows = self._run(
            lambda c: c.execute(
                "SELECT id, instance_id, form_id, token_alias, received_at, reason FROM quarantine ORDER BY id"
            ).fetchall()
        )
        return [dict(zip(_store._QUARANTINE_KEYS, r)) for r in rows]

    def release(self, qid: str) -> str:
        def work(conn):
            with conn.transaction():
                row = conn.execute("SELECT instance_id FROM quarantine WHERE id = %s FOR UPDATE", (qid,)).fetchone()
                if row is None:
                    raise CollectError(f"no quarantined submission with id {qid!r}")
                cur = conn.execute(
                    "INSERT INTO submissions(instance_id, form_id, ciphertext, token_alias, received_at)"
                    " SELECT instance_id, form_id, ciphertext, token_alias, received_at FROM quarantine WHERE id = %s"
                    " ON CONFLICT (instance_id) DO NOTHING",
                    (qid,),
                )
                if cur.rowcount != 1:
                    raise CollectError(
                        f"instance id {row[0]!r} is stored already: purge one of the two before releasing {qid!r}"
                    )
                conn.execute("DELETE FROM quarantine WHERE id = %s", (qid,))
                return row[0]

        return self._run(work, retry=False)

    def purge(self, qid: str) -> None:
        rowcount = self._run(lambda c: c.execute("DELETE FROM quarantine WHERE id = %s", (qid,)).rowcount)
        if rowcount != 1:
            raise CollectError(f"no quarantined submission with id {qid!r}")

    # ---------------------------------------------------------------------------------------------
    # rate limits, shared by every server process on the database

    def take_rate(self, key: bytes, n: int, period: float, now: float | None = None) -> float:
        """As :meth:`quietpoll.collect.store.Store.take_rate`: one atomic upsert, one round trip (its
        commit does not wait for the WAL flush: ``synchronous_commit`` off for that statement only)."""
        now = time.time() if now is None else now
        win = int(now // period)
        sweep = win != self._rate_swept
        self._rate_swept = win

        def work(conn):
            # one statement, one round trip: set_config(..., true) lasts until this statement's own commit
            hits = conn.execute(
                "INSERT INTO rate(key, win, hits) SELECT %s, %s, 1"
                " FROM (SELECT set_config('synchronous_commit', 'off', true)) AS no_flush"
                " ON CONFLICT (key) DO UPDATE SET"
                " hits = CASE WHEN rate.win = excluded.win THEN rate.hits + 1 ELSE 1 END, win = excluded.win"
                " RETURNING hits",
                (bytes(key), win),
            ).fetchone()[0]
            if sweep:
                conn.execute("DELETE FROM rate WHERE win < %s", (win,))
            return hits

        hits = self._run(work, retry=False)
        return 0.0 if hits <= n else max((win + 1) * period - now, 0.001)

    # ---------------------------------------------------------------------------------------------
    # tokens

    def add_token(self, alias: str) -> str:
        _store._check_alias(alias)
        psycopg = _psycopg()
        token = secrets.token_urlsafe(32)
        digest = _store._hash_token(token)
        hour = _store.hour_now()

        def work(conn):
            conn.execute(
                "INSERT INTO tokens(alias, token_hash, revoked, created_at) VALUES (%s, %s, FALSE, %s)",
                (alias, digest, hour),
            )

        try:
            self._run(work, retry=False)
        except psycopg.errors.UniqueViolation:
            raise CollectError(f"token alias {alias!r} is already taken; choose another") from None
        return token

    def add_supervisor(self, alias: str) -> str:
        token = self.add_token(alias)
        self._run(
            lambda c: c.execute(
                "INSERT INTO meta(key, value) VALUES (%s, '1') ON CONFLICT (key) DO NOTHING", (f"supervisor:{alias}",)
            )
        )
        return token

    def supervisors(self) -> frozenset[str]:
        rows = self._run(lambda c: c.execute("SELECT key FROM meta WHERE key LIKE 'supervisor:%%'").fetchall())
        return frozenset(k.removeprefix("supervisor:") for (k,) in rows)

    def stats(self) -> builtins.list[dict]:
        from quietpoll.collect.backend import STATS_BY_DAY, STATS_QUARANTINED, build_stats

        by_day, aside = self._run(
            lambda c: (c.execute(STATS_BY_DAY).fetchall(), c.execute(STATS_QUARANTINED).fetchall())
        )
        return build_stats(self.tokens(), by_day, aside)

    def route_key(self) -> bytes:
        fresh = secrets.token_hex(32)

        def work(conn):
            conn.execute("INSERT INTO meta(key, value) VALUES ('route_key', %s) ON CONFLICT (key) DO NOTHING", (fresh,))
            return conn.execute("SELECT value FROM meta WHERE key = 'route_key'").fetchone()[0]

        return bytes.fromhex(self._run(work))

    def revoke_token(self, alias: str) -> None:
        rowcount = self._run(
            lambda c: c.execute("UPDATE tokens SET revoked = TRUE WHERE alias = %s", (alias,)).rowcount
        )
        if rowcount != 1:
            raise CollectError(f"no token with alias {alias!r}")

    def token_alias(self, token: str) -> str | None:
        if not isinstance(token, str) or not token or len(token) > 512:
            return None
        digest = _store._hash_token(token)
        row = self._run(
            lambda c: c.execute(
                "SELECT alias, token_hash, revoked FROM tokens WHERE token_hash = %s", (digest,)
            ).fetchone()
        )
        return _store._alias_if_valid(row, digest)

    def tokens(self) -> builtins.list[dict]:
        rows = self._run(lambda c: c.execute("SELECT alias, revoked, created_at FROM tokens ORDER BY alias").fetchall())
        return [{"alias": a, "revoked": bool(r), "created_at": t} for a, r, t in rows]

    # ---------------------------------------------------------------------------------------------
    # enrolment codes (as the SQLite store: hashes of codes, tokens wrapped under them, expiry)

    _PG_ENROL_TABLE = (
        "CREATE TABLE IF NOT EXISTS enrol_codes (code_id BYTEA NOT NULL PRIMARY KEY,"
        " wrapped BYTEA NOT NULL, expires_at BIGINT NOT NULL)"
    )

    def _enrol_table(self, conn) -> None:
        if getattr(self, "_enrol_ready", False):
            return
        with conn.transaction():  # concurrent CREATE ... IF NOT EXISTS can collide: serialise it
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            conn.execute(self._PG_ENROL_TABLE)
        self._enrol_ready = True

    def add_enrol_code(self, token: str, ttl: float | None = None) -> str:
        import time

        from quietpoll.collect import enrolment as en

        expires = en.expiry(en.CODE_TTL if ttl is None else ttl)
        if self.token_alias(token) is None:
            raise CollectError("the token is unknown or revoked: no enrolment code for it")
        code = en.new_code()
        now = int(time.time())

        def work(conn):
            self._enrol_table(conn)
            conn.execute("DELETE FROM enrol_codes WHERE expires_at < %s", (now,))
            conn.execute(
                "INSERT INTO enrol_codes(code_id, wrapped, expires_at) VALUES (%s, %s, %s)",
                (en.code_id(code), en.wrap_token(code, token), expires),
            )

        self._run(work, retry=False)
        return code

    def redeem_enrol_code(self, code: str) -> str | None:
        import time

        from quietpoll.collect import enrolment as en

        if not en.valid_code(code):
            return None

        def work(conn):
            self._enrol_table(conn)
            return conn.execute(
                "DELETE FROM enrol_codes WHERE code_id = %s RETURNING wrapped, expires_at", (en.code_id(code),)
            ).fetchone()

        row = self._run(work, retry=False)
        if row is None or int(row[1]) < time.time():
            return None
        token = en.unwrap_token(code, row[0])
        return token if token is not None and self.token_alias(token) is not None else None
