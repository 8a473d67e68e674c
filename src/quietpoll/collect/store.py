"""The collection store: sealed submissions and interviewer tokens, never anything readable.

What is stored, and nothing else:

* ``submissions(instance_id PRIMARY KEY, form_id, ciphertext, token_alias, received_at)`` — the
  ciphertext exactly as sealed in the browser (see :mod:`quietpoll.collect.envelope`), the pseudonymous
  alias of the token that sent it, and the UTC time it arrived **rounded down to the hour**
  (``2025-03-01T14:00:00Z``). The table is ``WITHOUT ROWID`` and keyed by the (random) instance id,
  so no arrival counter or arrival order is kept inside an hour.
* ``tokens(alias PRIMARY KEY, token_hash UNIQUE, revoked, created_at)`` — SHA-256 of each token, never
  the token; ``created_at`` rounded to the hour.
* ``quarantine(id PRIMARY KEY, instance_id, form_id, ciphertext, token_alias, received_at, reason)`` —
  submissions set aside (see :mod:`quietpoll.collect.setaside`): by ``pull`` when they cannot be used,
  by :meth:`Store.put_status` when a different envelope arrives under a stored instance id.
* ``rate(key PRIMARY KEY, win, hits)`` — per-token request counters of the current fixed window,
  shared by every server process (:meth:`Store.take_rate`); keyed by a hash of the token itself, which
  the store never holds, so a counter cannot be tied to an alias; past windows are deleted.

No IP address, user agent, request header, plaintext answer or token text is ever written.

SQLite runs in WAL mode with ``synchronous=FULL`` (a submission acknowledged by :meth:`Store.put` is
on disk), ``secure_delete=ON``, and a busy timeout so that several server processes can share the file.
One connection per :class:`Store`, shared by threads under a lock (safe for a threaded web server).
Submissions that arrive while a commit is being written share the next transaction (group commit: one
fsync for all of them); each :meth:`Store.put_status` still returns only after the commit holding its row.
The database file is created with mode 0600.

Arrival order: WAL frames and freshly allocated pages follow the order of the writes. When the hour of
a submission differs from the last one, and when a store that was written to is closed, the store is
settled (:meth:`Store.settle`): the WAL is checkpointed and truncated to 0 bytes and the file rebuilt
by ``VACUUM`` in key order. Until then, the rows of the current hour are in the WAL and the file in
arrival order (a running server seized mid-hour shows the order within that hour).

``postgresql://user:pass@host:port/db`` opens the same store on PostgreSQL instead (see
:mod:`quietpoll.collect.store_pg`), for several server processes or machines sharing one database.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from quietpoll.collect.backend import StoreBackend, open_store
from quietpoll.collect.envelope import MAX_ID_BYTES, check_ciphertext
from quietpoll.collect.setaside import quarantine_id
from quietpoll.errors import CollectError

__all__ = ["Store", "pull", "pull_all", "hour_now", "records_frame"]

MAX_ALIAS = 64
_PAGE = 256

_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    instance_id TEXT NOT NULL PRIMARY KEY,
    form_id     TEXT NOT NULL,
    ciphertext  TEXT NOT NULL,
    token_alias TEXT NOT NULL,
    received_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS submissions_form ON submissions(form_id, instance_id);
CREATE TABLE IF NOT EXISTS tokens (
    alias      TEXT NOT NULL PRIMARY KEY,
    token_hash BLOB NOT NULL UNIQUE,
    revoked    INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS quarantine (
    id          TEXT NOT NULL PRIMARY KEY,
    instance_id TEXT NOT NULL,
    form_id     TEXT NOT NULL,
    ciphertext  TEXT NOT NULL,
    token_alias TEXT NOT NULL,
    received_at TEXT NOT NULL,
    reason      TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rate (
    key  BLOB NOT NULL PRIMARY KEY,
    win  INTEGER NOT NULL,
    hits INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', 'quietpoll-store-1');
"""


def hour_now() -> str:
    """The current UTC time rounded down to the hour, ISO 8601 with ``Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:00:00Z")


def _hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def _check_id(value: object, what: str) -> str:
    if not isinstance(value, str) or not value or len(value.encode("utf-8")) > MAX_ID_BYTES:
        raise CollectError(f"{what} must be text of 1 to {MAX_ID_BYTES} bytes")
    if "\x00" in value:  # PostgreSQL text cannot hold NUL; both backends refuse it alike
        raise CollectError(f"{what} must not contain NUL characters")
    return value


def _check_alias(alias: object) -> str:
    if not isinstance(alias, str) or not alias.strip():
        raise CollectError("a token alias must be non-empty text")
    if len(alias) > MAX_ALIAS or any(not ch.isprintable() for ch in alias):
        raise CollectError(f"a token alias must be at most {MAX_ALIAS} printable characters")
    return alias


class Store(StoreBackend):
    """Sealed submissions and token hashes in SQLite. Open with :meth:`Store.open` or
    :func:`quietpoll.collect.backend.open_store`."""

    def __init__(self, connection: sqlite3.Connection, path: str) -> None:
        self._db = connection
        self._lock = threading.Lock()
        self.path = path
        self._pending: list[_Put] = []  # submissions waiting for the next group commit
        self._pending_lock = threading.Lock()
        self._hour = hour_now()  # the hour of the last write; when it changes, the store is settled
        self._dirty = False  # written since it was last settled
        self._rate_db: sqlite3.Connection | None = None  # rate-limit counters: a connection without fsync
        self._rate_lock = threading.Lock()
        self._rate_swept = -1

    # ---------------------------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str) -> StoreBackend:
        """``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``; creates the tables. Any other
        URL (``postgresql://user:pass@host:port/db``) is opened by
        :func:`quietpoll.collect.backend.open_store` with its own backend."""
        if not isinstance(url, str) or not url.lower().startswith("sqlite:///"):
            return open_store(url)
        path = url[len("sqlite:///") :]
        if not path:
            raise CollectError("the sqlite store URL has no file path: sqlite:///PATH/collect.db")
        if path != ":memory:":
            p = Path(path)
            if not p.parent.is_dir():
                raise CollectError(f"{p.parent}: folder for the store not found")
            if p.is_dir():
                raise CollectError(f"{p}: is a folder, not a store file")
            if not p.exists():
                try:
                    os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                except FileExistsError:
                    pass
                except OSError as exc:
                    raise CollectError(f"{p}: cannot create the store ({exc.strerror})") from None
        try:
            db = sqlite3.connect(path, timeout=30.0, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA busy_timeout = 30000")
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            db.execute("PRAGMA synchronous = FULL")
            db.execute("PRAGMA secure_delete = ON")
            db.execute("PRAGMA foreign_keys = ON")
            db.executescript(_SCHEMA)
            schema = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise CollectError(f"{path}: not a usable quietpoll store ({exc})") from None
        if schema is None or schema[0] != "quietpoll-store-1":
            db.close()
            raise CollectError(f"{path}: not a quietpoll store (schema {schema!r})")
        if path != ":memory:" and str(mode).lower() != "wal":
            db.close()
            raise CollectError(f"{path}: SQLite refused WAL mode (got {mode!r}); use a local disk")
        return cls(db, path)

    def close(self) -> None:
        """Settle the store (see :meth:`settle`) if this process wrote to it, then close it."""
        with self._rate_lock:
            if self._rate_db is not None:
                self._rate_db.close()
                self._rate_db = None
        with self._lock:
            if self._db is not None:
                if self._dirty:
                    self._settle(self._db)
                self._db.close()
                self._db = None  # type: ignore[assignment]

    def settle(self) -> bool:
        """Erase the arrival order of the stored rows (the store keeps the hour of each row, nothing
        finer): checkpoint the WAL into the database file and truncate it to 0 bytes, then rebuild the
        file with ``VACUUM``, which writes every table in key order (random instance ids), so neither
        the WAL nor the order of the pages or of the cells within them keeps the order of arrival
        (``secure_delete`` overwrites what is freed). Runs by itself when the hour of a submission
        differs from the previous one and when a store that was written to is closed. True when done;
        False when another process kept the database busy (it settles when it closes or the hour
        changes)."""
        with self._lock:
            return self._settle(self._conn())

    def _settle(self, db: sqlite3.Connection) -> bool:
        if self.path == ":memory:":
            return True
        try:
            busy = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            db.execute("VACUUM")
            busy = busy or db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        except sqlite3.OperationalError:  # another process holds the database
            return False
        self._dirty = bool(busy)
        return not busy

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise CollectError("the store is closed")
        return self._db

    # ---------------------------------------------------------------------------------------------
    # submissions

    def put_status(self, form_id: str, instance_id: str, ciphertext: str, token_alias: str) -> str:
        """Store a sealed submission; returns "stored", "duplicate" (same instance id and same
        ciphertext already stored) or "conflict" (same instance id, different ciphertext or form; the
        first is kept). Malformed ids or ciphertext -> CollectError."""
        _check_id(form_id, "form_id")
        _check_id(instance_id, "instance_id")
        _check_alias(token_alias)
        check_ciphertext(ciphertext)
        item = _Put((instance_id, form_id, ciphertext, token_alias, hour_now()))
        with self._pending_lock:
            self._pending.append(item)
        with self._lock:
            if not item.done:  # no earlier commit took it: commit everything waiting, this one included
                db = self._conn()
                if item.args[4] != self._hour:  # a new hour: erase the order the last one left behind
                    self._settle(db)
                    self._hour = item.args[4]
                self._dirty = True
                with self._pending_lock:
                    batch, self._pending = self._pending, []
                self._commit_group(db, batch)
        if item.error is not None:
            raise item.error
        return item.status

    def _commit_group(self, db: sqlite3.Connection, batch: list[_Put]) -> None:
        """Group commit: the submissions that arrived while the previous commit was on its way to disk
        go into one transaction (one fsync under ``synchronous=FULL``). Each caller returns only after
        the commit that holds its row; if that transaction fails, each is retried alone, so one bad
        submission never costs another its answer. Called with ``self._lock`` held."""
        try:
            if len(batch) > 1:
                try:
                    db.execute("BEGIN IMMEDIATE")
                    statuses = [_insert(db, item.args) for item in batch]
                    db.execute("COMMIT")
                except BaseException as exc:  # never leave the transaction open for the next caller
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    if not isinstance(exc, sqlite3.Error):
                        raise
                else:
                    for item, status in zip(batch, statuses):
                        item.status, item.done = status, True
                    return
            for item in batch:  # alone, each in its own (autocommit) transaction
                try:
                    item.status = _insert(db, item.args)
                except sqlite3.Error as exc:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    item.error = exc
                item.done = True
        finally:
            for item in batch:  # never leave a caller without an answer
                if not item.done:
                    item.error, item.done = CollectError("the store was interrupted; send the submission again"), True

    def list(self, form_id: str | None = None) -> list[dict]:
        """``[{"instance_id", "form_id", "received_at", "token_alias"}]`` ordered by instance id."""
        sql = "SELECT instance_id, form_id, received_at, token_alias FROM submissions"
        args: tuple = ()
        if form_id is not None:
            sql += " WHERE form_id = ?"
            args = (form_id,)
        sql += " ORDER BY instance_id"
        with self._lock:
            rows = self._conn().execute(sql, args).fetchall()
        return [{"instance_id": i, "form_id": f, "received_at": r, "token_alias": a} for i, f, r, a in rows]

    def count(self, form_id: str | None = None) -> int:
        sql = "SELECT count(*) FROM submissions"
        args: tuple[str, ...] = ()
        if form_id is not None:
            sql, args = sql + " WHERE form_id = ?", (form_id,)
        with self._lock:
            return int(self._conn().execute(sql, args).fetchone()[0])

    def sealed(self, form_id: str | None = None) -> Iterator[tuple[str, str, str, str]]:
        """Yield ``(form_id, instance_id, ciphertext, token_alias)`` ordered by instance id, in pages (the
        lock is never held while the caller works)."""
        last = ""
        while True:
            if form_id is None:
                sql = (
                    "SELECT form_id, instance_id, ciphertext, token_alias FROM submissions WHERE instance_id > ?"
                    " ORDER BY instance_id LIMIT ?"
                )
                args: tuple = (last, _PAGE)
            else:
                sql = (
                    "SELECT form_id, instance_id, ciphertext, token_alias FROM submissions"
                    " WHERE form_id = ? AND instance_id > ? ORDER BY instance_id LIMIT ?"
                )
                args = (form_id, last, _PAGE)
            with self._lock:
                rows = self._conn().execute(sql, args).fetchall()
            yield from (tuple(r) for r in rows)
            if len(rows) < _PAGE:
                return
            last = rows[-1][1]

    # ---------------------------------------------------------------------------------------------
    # quarantine (see quietpoll.collect.setaside)

    def set_aside(self, rows: builtins.list[tuple[str, str, str, str]]) -> builtins.list[str]:
        """Move stored submissions ``(form_id, instance_id, ciphertext, reason)`` to the quarantine, in
        one transaction; returns their quarantine ids. A row no longer stored as given is skipped."""
        ids = [quarantine_id(f, i, c) for f, i, c, _ in rows]
        with self._lock:
            db = self._conn()
            self._dirty = True
            db.execute("BEGIN IMMEDIATE")
            try:
                for qid, (f, i, c, reason) in zip(ids, rows):
                    db.execute(_SET_ASIDE, (qid, reason, i, f, c))
                    db.execute(
                        "DELETE FROM submissions WHERE instance_id = ? AND form_id = ? AND ciphertext = ?", (i, f, c)
                    )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        return ids

    def quarantined(self) -> builtins.list[dict]:
        """``[{"id", "instance_id", "form_id", "token_alias", "received_at", "reason"}]`` by id."""
        with self._lock:
            rows = (
                self._conn()
                .execute(
                    "SELECT id, instance_id, form_id, token_alias, received_at, reason FROM quarantine ORDER BY id"
                )
                .fetchall()
            )
        return [dict(zip(_QUARANTINE_KEYS, r)) for r in rows]

    def release(self, qid: str) -> str:
        """Move quarantined row ``qid`` back to the submissions; returns its instance id."""
        with self._lock:
            db = self._conn()
            self._dirty = True
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT instance_id FROM quarantine WHERE id = ?", (qid,)).fetchone()
                if row is None:
                    raise CollectError(f"no quarantined submission with id {qid!r}")
                cur = db.execute(_RELEASE, (qid,))
                if cur.rowcount != 1:
                    raise CollectError(
                        f"instance id {row[0]!r} is stored already: purge one of the two before releasing {qid!r}"
                    )
                db.execute("DELETE FROM quarantine WHERE id = ?", (qid,))
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        return row[0]

    def purge(self, qid: str) -> None:
        """Delete quarantined row ``qid`` for good (``secure_delete`` overwrites it)."""
        with self._lock:
            self._dirty = True
            cur = self._conn().execute("DELETE FROM quarantine WHERE id = ?", (qid,))
        if cur.rowcount != 1:
            raise CollectError(f"no quarantined submission with id {qid!r}")

    # ---------------------------------------------------------------------------------------------
    # rate limits, shared by every server process on the store

    def take_rate(self, key: bytes, n: int, period: float, now: float | None = None) -> float:
        """Count one request for ``key`` in the current fixed window of ``period`` seconds (wall clock,
        so every process on the store shares the windows); 0.0 when it is within ``n``, else the seconds
        until the next window. One atomic upsert; the counters are written without an fsync of their own
        (``synchronous=NORMAL`` on their connection: a crash can only reset them) and rows of past
        windows are deleted. ``key`` should be a hash of
        the token itself (not of its stored hash), so the counters cannot be tied to an alias."""
        now = time.time() if now is None else now
        win = int(now // period)
        with self._rate_lock:
            db = self._rate_conn()
            hits = db.execute(_TAKE_RATE, (bytes(key), win)).fetchone()[0]
            if win != self._rate_swept:
                db.execute("DELETE FROM rate WHERE win < ?", (win,))
                self._rate_swept = win
        return 0.0 if hits <= n else max((win + 1) * period - now, 0.001)

    def _rate_conn(self) -> sqlite3.Connection:
        if self._rate_db is None:
            if self.path == ":memory:":
                return self._conn()
            db = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA busy_timeout = 30000")
            db.execute("PRAGMA synchronous = NORMAL")  # WAL: no fsync per commit, never inconsistent
            db.execute("PRAGMA secure_delete = ON")
            self._rate_db = db
        return self._rate_db

    # ---------------------------------------------------------------------------------------------
    # tokens

    def add_token(self, alias: str) -> str:
        """Create a token for ``alias``; returns the token (shown once), stores only its SHA-256."""
        _check_alias(alias)
        token = secrets.token_urlsafe(32)
        with self._lock:
            try:
                self._conn().execute(
                    "INSERT INTO tokens(alias, token_hash, revoked, created_at) VALUES (?, ?, 0, ?)",
                    (alias, _hash_token(token), hour_now()),
                )
            except sqlite3.IntegrityError:
                raise CollectError(f"token alias {alias!r} is already taken; choose another") from None
        return token

    def add_supervisor(self, alias: str) -> str:
        token = self.add_token(alias)
        with self._lock:
            self._conn().execute("INSERT OR IGNORE INTO meta(key, value) VALUES (?, '1')", (f"supervisor:{alias}",))
        return token

    def supervisors(self) -> frozenset[str]:
        with self._lock:
            rows = self._conn().execute("SELECT key FROM meta WHERE key LIKE 'supervisor:%'").fetchall()
        return frozenset(k.removeprefix("supervisor:") for (k,) in rows)

    def stats(self) -> builtins.list[dict]:
        from quietpoll.collect.backend import STATS_BY_DAY, STATS_QUARANTINED, build_stats

        with self._lock:
            db = self._conn()
            by_day = db.execute(STATS_BY_DAY).fetchall()
            aside = db.execute(STATS_QUARANTINED).fetchall()
        return build_stats(self.tokens(), by_day, aside)

    def route_key(self) -> bytes:
        """The store's secret for the browser form's route ids (32 random bytes, made on first use and
        kept in ``meta``): see :func:`quietpoll.collect.shell.form_route`."""
        fresh = secrets.token_hex(32)
        with self._lock:
            db = self._conn()
            db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('route_key', ?)", (fresh,))
            value = db.execute("SELECT value FROM meta WHERE key = 'route_key'").fetchone()[0]
        return bytes.fromhex(value)

    def revoke_token(self, alias: str) -> None:
        with self._lock:
            cur = self._conn().execute("UPDATE tokens SET revoked = 1 WHERE alias = ?", (alias,))
        if cur.rowcount != 1:
            raise CollectError(f"no token with alias {alias!r}")

    def token_alias(self, token: str) -> str | None:
        """The alias of a valid, unrevoked token, else None.

        Looked up by SHA-256 (a timing difference there only reveals bits of a hash of the
        caller's own guess); the hashes are then compared with ``hmac.compare_digest``.
        """
        if not isinstance(token, str) or not token or len(token) > 512:
            return None
        digest = _hash_token(token)
        with self._lock:
            row = (
                self._conn()
                .execute("SELECT alias, token_hash, revoked FROM tokens WHERE token_hash = ?", (digest,))
                .fetchone()
            )
        return _alias_if_valid(row, digest)

    def tokens(self) -> builtins.list[dict]:
        with self._lock:
            rows = self._conn().execute("SELECT alias, revoked, created_at FROM tokens ORDER BY alias").fetchall()
        return [{"alias": a, "revoked": bool(r), "created_at": c} for a, r, c in rows]

    # ---------------------------------------------------------------------------------------------
    # enrolment codes (see quietpoll.collect.enrolment): only a hash of each code, the token wrapped
    # under the code, and the expiry; a code is deleted when it is read

    _ENROL_TABLE = (
        "CREATE TABLE IF NOT EXISTS enrol_codes (code_id BLOB NOT NULL PRIMARY KEY,"
        " wrapped BLOB NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID"
    )

    def add_enrol_code(self, token: str, ttl: float | None = None) -> str:
        """A one-time enrolment code for ``token`` (valid, unrevoked), dead after its first use or
        ``ttl`` seconds (default :data:`~quietpoll.collect.enrolment.CODE_TTL`)."""
        import time

        from quietpoll.collect import enrolment as en

        expires = en.expiry(en.CODE_TTL if ttl is None else ttl)
        if self.token_alias(token) is None:
            raise CollectError("the token is unknown or revoked: no enrolment code for it")
        code = en.new_code()
        with self._lock:
            db = self._conn()
            db.execute(self._ENROL_TABLE)
            db.execute("DELETE FROM enrol_codes WHERE expires_at < ?", (int(time.time()),))
            db.execute(
                "INSERT INTO enrol_codes(code_id, wrapped, expires_at) VALUES (?, ?, ?)",
                (en.code_id(code), en.wrap_token(code, token), expires),
            )
        return code

    def redeem_enrol_code(self, code: str) -> str | None:
        """The token of ``code`` if the code is known, unexpired and its token still valid, else None.
        The code is deleted by this call whatever the outcome (one use)."""
        import time

        from quietpoll.collect import enrolment as en

        if not en.valid_code(code):
            return None
        with self._lock:
            db = self._conn()
            db.execute(self._ENROL_TABLE)
            row = db.execute(
                "DELETE FROM enrol_codes WHERE code_id = ? RETURNING wrapped, expires_at", (en.code_id(code),)
            ).fetchone()
        if row is None or int(row[1]) < time.time():
            return None
        token = en.unwrap_token(code, row[0])
        return token if token is not None and self.token_alias(token) is not None else None


_QUARANTINE_KEYS = ("id", "instance_id", "form_id", "token_alias", "received_at", "reason")
_SET_ASIDE = (
    "INSERT OR IGNORE INTO quarantine(id, instance_id, form_id, ciphertext, token_alias, received_at, reason)"
    " SELECT ?, instance_id, form_id, ciphertext, token_alias, received_at, ? FROM submissions"
    " WHERE instance_id = ? AND form_id = ? AND ciphertext = ?"
)
_RELEASE = (
    "INSERT OR IGNORE INTO submissions(instance_id, form_id, ciphertext, token_alias, received_at)"
    " SELECT instance_id, form_id, ciphertext, token_alias, received_at FROM quarantine WHERE id = ?"
)
_TAKE_RATE = (
    "INSERT INTO rate(key, win, hits) VALUES (?, ?, 1) ON CONFLICT(key) DO UPDATE SET"
    " hits = CASE WHEN rate.win = excluded.win THEN rate.hits + 1 ELSE 1 END, win = excluded.win RETURNING hits"
)


class _Put:
    """A submission waiting for a group commit (see :meth:`Store._commit_group`)."""

    __slots__ = ("args", "status", "error", "done")

    def __init__(self, args: tuple) -> None:
        self.args, self.status, self.done = args, "", False
        self.error: Exception | None = None


def _insert(db: sqlite3.Connection, args: tuple) -> str:
    """Insert one submission ``(instance_id, form_id, ciphertext, token_alias, hour)``: "stored", or
    "duplicate" / "conflict" against the row already stored under that instance id."""
    instance_id, form_id, ciphertext = args[0], args[1], args[2]
    cur = db.execute(
        "INSERT OR IGNORE INTO submissions(instance_id, form_id, ciphertext, token_alias, received_at)"
        " VALUES (?, ?, ?, ?, ?)",
        args,
    )
    if cur.rowcount == 1:
        return "stored"
    row = db.execute("SELECT form_id, ciphertext FROM submissions WHERE instance_id = ?", (instance_id,)).fetchone()
    if row is not None and row[0] == form_id and hmac.compare_digest(row[1], ciphertext):
        return "duplicate"
    db.execute(  # set aside, never lost: the lead decides (quietpoll store quarantine)
        "INSERT OR IGNORE INTO quarantine(id, instance_id, form_id, ciphertext, token_alias, received_at, reason)"
        " VALUES (?, ?, ?, ?, ?, ?, 'conflict')",
        (quarantine_id(form_id, instance_id, ciphertext), *args[:5]),
    )
    return "conflict"


def _alias_if_valid(row, digest: bytes) -> str | None:
    """The alias of a (alias, token_hash, revoked) row if the hash matches (constant time) and the
    token is not revoked; shared by every store backend."""
    if row is None:
        return None
    alias, stored, revoked = row
    if not hmac.compare_digest(bytes(stored), digest) or revoked:
        return None
    return alias


# pull and records_frame live in quietpoll.collect.pull; kept importable from here
from quietpoll.collect.pull import pull, pull_all, records_frame  # noqa: E402
