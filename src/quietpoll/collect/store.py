"""The collection store: sealed submissions and interviewer tokens, never anything readable.

What is stored, and nothing else:

* ``submissions(instance_id PRIMARY KEY, form_id, ciphertext, token_alias, received_at)`` — the
  ciphertext exactly as sealed in the browser (see :mod:`quietpoll.collect.envelope`), the pseudonymous
  alias of the token that sent it, and the UTC time it arrived **rounded down to the hour**
  (``2025-03-01T14:00:00Z``). The table is ``WITHOUT ROWID`` and keyed by the (random) instance id,
  so no arrival counter or arrival order is kept inside an hour.
* ``tokens(alias PRIMARY KEY, token_hash UNIQUE, revoked, created_at)`` — SHA-256 of each token, never
  the token; ``created_at`` rounded to the hour.

No IP address, user agent, request header, plaintext answer or token text is ever written.

SQLite runs in WAL mode with ``synchronous=FULL`` (a submission acknowledged by :meth:`Store.put` is
on disk), ``secure_delete=ON``, and a busy timeout so that several server processes can share the file.
One connection per :class:`Store`, shared by threads under a lock (safe for a threaded web server).
Submissions that arrive while a commit is being written share the next transaction (group commit: one
fsync for all of them); each :meth:`Store.put_status` still returns only after the commit holding its row.
The database file is created with mode 0600.

``postgresql://user:pass@host:port/db`` opens the same store on PostgreSQL instead (see
:mod:`quietpoll.collect.store_pg`), for several server processes or machines sharing one database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from quietpoll.collect.envelope import MAX_ID_BYTES, check_ciphertext, open_sealed
from quietpoll.errors import CollectError

__all__ = ["Store", "pull", "hour_now", "records_frame"]

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
    return value


def _check_alias(alias: object) -> str:
    if not isinstance(alias, str) or not alias.strip():
        raise CollectError("a token alias must be non-empty text")
    if len(alias) > MAX_ALIAS or any(not ch.isprintable() for ch in alias):
        raise CollectError(f"a token alias must be at most {MAX_ALIAS} printable characters")
    return alias


class Store:
    """Sealed submissions and token hashes in SQLite. Open with :meth:`Store.open`."""

    def __init__(self, connection: sqlite3.Connection, path: str) -> None:
        self._db = connection
        self._lock = threading.Lock()
        self.path = path
        self._pending: list[_Put] = []  # submissions waiting for the next group commit
        self._pending_lock = threading.Lock()

    # ---------------------------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str) -> Store:
        """``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` or
        ``postgresql://user:pass@host:port/db``; creates the tables."""
        if not isinstance(url, str):
            raise CollectError("the store must be given as a URL such as sqlite:///collect.db")
        lowered = url.lower()
        if lowered.startswith(("postgresql://", "postgres://", "postgresql+")):
            from quietpoll.collect.store_pg import PgStore

            return PgStore.open(url)
        if not lowered.startswith("sqlite:///"):
            scheme = url.split(":", 1)[0] if ":" in url else url
            raise CollectError(
                f"unsupported store {scheme!r}: use sqlite:///PATH/collect.db or postgresql://USER:PASS@HOST:PORT/DB"
            )
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
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None  # type: ignore[assignment]

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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

    def put(self, form_id: str, instance_id: str, ciphertext: str, token_alias: str) -> bool:
        """True if stored; False if that instance_id was already stored (the first one is kept)."""
        return self.put_status(form_id, instance_id, ciphertext, token_alias) == "stored"

    def list(self, form_id: str | None = None) -> list[dict]:
        """``[{"instance_id", "form_id", "received_at"}]`` ordered by instance id."""
        sql = "SELECT instance_id, form_id, received_at FROM submissions"
        args: tuple = ()
        if form_id is not None:
            sql += " WHERE form_id = ?"
            args = (form_id,)
        sql += " ORDER BY instance_id"
        with self._lock:
            rows = self._conn().execute(sql, args).fetchall()
        return [{"instance_id": i, "form_id": f, "received_at": r} for i, f, r in rows]

    def count(self, form_id: str | None = None) -> int:
        sql, args = "SELECT count(*) FROM submissions", ()
        if form_id is not None:
            sql, args = sql + " WHERE form_id = ?", (form_id,)
        with self._lock:
            return int(self._conn().execute(sql, args).fetchone()[0])

    def ciphertexts(self, form_id: str | None = None) -> Iterator[tuple[str, str, str]]:
        """Yield ``(form_id, instance_id, ciphertext)`` ordered by instance id, in pages (the lock is
        never held while the caller works)."""
        last = ""
        while True:
            if form_id is None:
                sql = (
                    "SELECT form_id, instance_id, ciphertext FROM submissions WHERE instance_id > ?"
                    " ORDER BY instance_id LIMIT ?"
                )
                args: tuple = (last, _PAGE)
            else:
                sql = (
                    "SELECT form_id, instance_id, ciphertext FROM submissions"
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

    def tokens(self) -> list[dict]:
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


# -------------------------------------------------------------------------------------------------
# pull


def _column(values: list) -> pl.Series | list:
    """Keep a column's type when all its values agree; otherwise text (lists space-joined, as ODK)."""
    present = [v for v in values if v is not None]
    kinds = {type(v) for v in present}
    if not present:
        return pl.Series(values, dtype=pl.String)
    if kinds == {bool}:
        return pl.Series(values, dtype=pl.Boolean)
    if kinds == {int}:
        try:
            return pl.Series(values, dtype=pl.Int64)
        except (OverflowError, pl.exceptions.PolarsError):
            pass
    if kinds <= {int, float} and kinds:
        try:
            return pl.Series([None if v is None else float(v) for v in values], dtype=pl.Float64)
        except OverflowError:
            pass

    def text(v: object) -> str | None:
        if v is None:
            return None
        if isinstance(v, str):
            return v
        if isinstance(v, list) and all(isinstance(x, (str, int, float)) and not isinstance(x, bool) for x in v):
            return " ".join(str(x) for x in v)
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))

    return pl.Series([text(v) for v in values], dtype=pl.String)


#: A repeat's name as XLSForm allows it (an XML name): only such names become a linked table's file.
_REPEAT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$")


def _is_repeat(name: str, value: object) -> bool:
    """A field sealed as a repeat: a non-empty list of objects under a name that can name a file."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, dict) for item in value)
        and bool(_REPEAT_NAME.match(name))
    )


def _split_repeats(record: dict, key: str, tables: dict[str, list[dict]]) -> dict:
    """``record`` without its repeats, which go (recursively) to ``tables[repeat]`` as rows linked the
    way ODK Briefcase / Central write them: each instance's ``KEY`` is ``<parent KEY>/<repeat>[i]``
    (from 1), its ``PARENT_KEY`` the parent's ``KEY``, and ``SET-OF-<repeat>`` = ``<parent KEY>/<repeat>``
    on the instance and on its parent row."""
    row: dict = {}
    for name, value in record.items():
        if not _is_repeat(name, value):
            row[name] = value
            continue
        set_of = f"{key}/{name}"
        row[f"SET-OF-{name}"] = set_of
        for i, item in enumerate(value, start=1):
            child_key = f"{set_of}[{i}]"
            _check_link_names(item, name, child_key)
            child = _split_repeats(item, child_key, tables)
            child.update({"PARENT_KEY": key, "KEY": child_key, f"SET-OF-{name}": set_of})
            tables.setdefault(name, []).append(child)
    return row


_LINK_COLUMNS = frozenset({"KEY", "PARENT_KEY"})


def _check_link_names(fields: dict, repeat: str | None, key: str) -> None:
    """A field named like a linking column would be overwritten: refuse rather than lose it."""
    clash = sorted(k for k in fields if k in _LINK_COLUMNS or k.startswith("SET-OF-"))
    if clash:
        where = f"an instance of the repeat {repeat!r} ({key})" if repeat else f"submission {key!r}"
        raise CollectError(
            f"{where} has a field named {clash[0]!r}, which the linked repeat tables use for their keys; "
            "rename that question in the form; nothing was written"
        )


def pull(store: Store, private_key, out_path, form_id: str | None = None) -> int:
    """Decrypt every stored submission (of ``form_id``, or all) into ``out_path`` (by extension, via
    :func:`quietpoll.io.write_data`): one row per submission, ``instance_id`` first, then the answer
    fields in order of first appearance. Returns the number of rows.

    Repeats (sealed by the browser as a list of objects under the repeat's name) are written as linked
    tables, as :mod:`quietpoll.collect.odk` (``import-odk``) writes them: each repeat to its own file
    ``<OUT stem>-<repeat><OUT suffix>`` beside ``out_path``, one row per instance with ``PARENT_KEY``,
    ``KEY`` (``uuid:.../member[2]``) and ``SET-OF-<repeat>``; nested repeats link to their parent
    instance's ``KEY``. When any submission has a repeat, the main table also gets ``KEY`` (= the
    instance id) and the ``SET-OF-<repeat>`` columns, so
    :func:`quietpoll.instrument.exports.read_responses` reads a CSV pull back with its repeats linked.

    Everything is decrypted before anything is written; a submission that fails -> CollectError naming
    its instance id only.
    """
    from quietpoll.io import write_data

    records: list[dict] = []
    for f_id, instance_id, ciphertext in store.ciphertexts(form_id):
        try:
            payload = open_sealed(private_key, f_id, instance_id, ciphertext)
        except CollectError:
            raise CollectError(
                f"submission {instance_id!r} (form {f_id!r}) cannot be decrypted with this key; nothing was written"
            ) from None
        records.append({"instance_id": instance_id} | {k: v for k, v in payload.items() if k != "instance_id"})
    tables: dict[str, list[dict]] = {}
    rows = [_split_repeats(r, r["instance_id"], tables) for r in records]
    if tables:
        for r in records:
            _check_link_names(r, None, r["instance_id"])
    out = Path(out_path)
    if tables:
        for row in rows:
            row["KEY"] = row["instance_id"]
        frames = {name: records_frame(items, first=("PARENT_KEY", "KEY")) for name, items in tables.items()}
        main = records_frame(rows, first=("instance_id", "KEY"))
    else:
        frames = {}
        main = records_frame(rows, first=("instance_id",))
    write_data(main, out)
    for name, frame in frames.items():
        write_data(frame, out.with_name(f"{out.stem}-{name}{out.suffix}"))
    return len(records)


def records_frame(records: list[dict], first: tuple[str, ...] = ()) -> pl.DataFrame:
    """One row per record (a dict of field -> value): the ``first`` columns, then every other field in
    order of first appearance, each typed by :func:`_column`. Shared by :func:`pull` and
    :mod:`quietpoll.collect.odk` (``quietpoll import-odk``)."""
    columns: dict[str, None] = dict.fromkeys(first)
    for record in records:
        for name in record:
            columns.setdefault(name, None)
    return pl.DataFrame({name: _column([r.get(name) for r in records]) for name in columns})


class _Put:
    """A submission waiting for a group commit (see :meth:`Store._commit_group`)."""

    __slots__ = ("args", "status", "error", "done")

    def __init__(self, args: tuple) -> None:
        self.args, self.status, self.error, self.done = args, "", None, False


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
