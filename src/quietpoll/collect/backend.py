"""One interface for every collection store backend: :class:`StoreBackend`, opened by :func:`open_store`.

Backends: SQLite (:class:`quietpoll.collect.store.Store`, ``sqlite:///PATH``) and PostgreSQL
(:class:`quietpoll.collect.store_pg.PgStore`, ``postgresql://...``). The server (:mod:`.app`), ``pull``
(:mod:`.pull`) and the CLI use only the methods declared here; a new backend implements the abstract
ones and registers its URL schemes in :data:`BACKENDS`.
"""

from __future__ import annotations

import builtins
import importlib
from abc import ABC, abstractmethod
from collections.abc import Iterator

from quietpoll.errors import CollectError

__all__ = ["StoreBackend", "open_store", "BACKENDS"]

#: URL scheme prefixes (lower case) -> "module:class" of the backend that opens them.
BACKENDS: dict[tuple[str, ...], str] = {
    ("sqlite:///",): "quietpoll.collect.store:Store",
    ("postgresql://", "postgres://", "postgresql+"): "quietpoll.collect.store_pg:PgStore",
}


def open_store(url: str) -> StoreBackend:
    """Open (creating its tables if needed) the store at ``url``: ``sqlite:///relative/path.db``,
    ``sqlite:////absolute/path.db`` or ``postgresql://user:pass@host:port/db``."""
    if not isinstance(url, str):
        raise CollectError("the store must be given as a URL such as sqlite:///collect.db")
    lowered = url.lower()
    for prefixes, target in BACKENDS.items():
        if lowered.startswith(prefixes):
            module, _, name = target.partition(":")
            return getattr(importlib.import_module(module), name).open(url)
    scheme = url.split(":", 1)[0] if ":" in url else url
    raise CollectError(
        f"unsupported store {scheme!r}: use sqlite:///PATH/collect.db or postgresql://USER:PASS@HOST:PORT/DB"
    )


class StoreBackend(ABC):
    """Sealed submissions, token hashes, the quarantine and the rate counters of one study.

    Every method is safe to call from several threads. Times are stored rounded down to the hour.
    """

    path: str  # for messages (a PostgreSQL URL with its password hidden)

    @classmethod
    @abstractmethod
    def open(cls, url: str) -> StoreBackend:
        """Open the store at ``url`` (this backend's scheme), creating its tables."""

    @abstractmethod
    def close(self) -> None:
        """Release connections (and settle what this backend settles on close)."""

    def __enter__(self) -> StoreBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # submissions -------------------------------------------------------------------------------
    @abstractmethod
    def put_status(self, form_id: str, instance_id: str, ciphertext: str, token_alias: str) -> str:
        """Store a sealed submission: "stored", "duplicate" (same id and ciphertext) or "conflict"
        (same id, other content: the first is kept, the second quarantined)."""

    def put(self, form_id: str, instance_id: str, ciphertext: str, token_alias: str) -> bool:
        """True if stored; False if that instance id was already stored (the first one is kept)."""
        return self.put_status(form_id, instance_id, ciphertext, token_alias) == "stored"

    @abstractmethod
    def list(self, form_id: str | None = None) -> list[dict]:
        """``[{"instance_id", "form_id", "received_at", "token_alias"}]`` ordered by instance id."""

    @abstractmethod
    def count(self, form_id: str | None = None) -> int:
        """The number of stored submissions (of ``form_id``)."""

    @abstractmethod
    def sealed(self, form_id: str | None = None) -> Iterator[tuple[str, str, str, str]]:
        """Yield ``(form_id, instance_id, ciphertext, token_alias)`` ordered by instance id, in pages."""

    def ciphertexts(self, form_id: str | None = None) -> Iterator[tuple[str, str, str]]:
        """Yield ``(form_id, instance_id, ciphertext)`` ordered by instance id."""
        return (row[:3] for row in self.sealed(form_id))

    @abstractmethod
    def settle(self) -> bool:
        """Erase what the backend can of the arrival order within an hour (see each backend)."""

    # quarantine ---------------------------------------------------------------------------------
    @abstractmethod
    def set_aside(self, rows: builtins.list[tuple[str, str, str, str]]) -> builtins.list[str]:
        """Move stored ``(form_id, instance_id, ciphertext, reason)`` rows to the quarantine; their ids."""

    @abstractmethod
    def quarantined(self) -> builtins.list[dict]:
        """``[{"id", "instance_id", "form_id", "token_alias", "received_at", "reason"}]`` by id."""

    @abstractmethod
    def release(self, qid: str) -> str:
        """Move quarantined row ``qid`` back to the submissions; its instance id."""

    @abstractmethod
    def purge(self, qid: str) -> None:
        """Delete quarantined row ``qid`` for good."""

    # rate limits --------------------------------------------------------------------------------
    @abstractmethod
    def take_rate(self, key: bytes, n: int, period: float, now: float | None = None) -> float:
        """Count a request for ``key`` in the current window; 0.0 if within ``n``, else seconds to wait."""

    # tokens -------------------------------------------------------------------------------------
    @abstractmethod
    def add_token(self, alias: str) -> str:
        """A new token for ``alias`` (shown once; only its SHA-256 is stored)."""

    @abstractmethod
    def revoke_token(self, alias: str) -> None:
        """Revoke ``alias``'s token."""

    @abstractmethod
    def token_alias(self, token: str) -> str | None:
        """The alias of a valid, unrevoked token, else None."""

    @abstractmethod
    def add_supervisor(self, alias: str) -> str:
        """A supervisor token for ``alias`` (shown once; only its hash is kept, as for interviewers):
        it opens the supervisor's view (:meth:`stats`) and cannot submit."""

    @abstractmethod
    def supervisors(self) -> frozenset[str]:
        """The aliases whose tokens are supervisors' (kept in ``meta`` as ``supervisor:ALIAS``)."""

    @abstractmethod
    def stats(self) -> builtins.list[dict]:
        """The supervisor's view, from metadata only (nothing is decrypted): see :func:`build_stats`."""

    @abstractmethod
    def route_key(self) -> bytes:
        """The store's secret (32 bytes, made on first use) behind the browser form's route ids, so
        every server process on the store, and `tokens add`, give a form the same unguessable path."""

    @abstractmethod
    def tokens(self) -> builtins.list[dict]:
        """``[{"alias", "revoked", "created_at"}]`` ordered by alias."""

    # enrolment codes ----------------------------------------------------------------------------
    @abstractmethod
    def add_enrol_code(self, token: str, ttl: float | None = None) -> str:
        """A one-time enrolment code for ``token`` (valid, unrevoked), dead after its first use or
        ``ttl`` seconds; the store keeps only a hash of the code and the token wrapped under it."""

    @abstractmethod
    def redeem_enrol_code(self, code: str) -> str | None:
        """The token of ``code`` if the code is known, unexpired and its token still valid, else None;
        the code is deleted by this call whatever the outcome (one use)."""


#: SQL both stores run for :meth:`StoreBackend.stats` (no placeholders): submissions per alias and day,
#: and set-aside rows per alias
STATS_BY_DAY = (
    "SELECT token_alias, substr(received_at, 1, 10) AS day, COUNT(*), MAX(received_at) "
    "FROM submissions GROUP BY token_alias, substr(received_at, 1, 10)"
)
STATS_QUARANTINED = "SELECT token_alias, COUNT(*), MAX(received_at) FROM quarantine GROUP BY token_alias"


def build_stats(tokens: list[dict], by_day: list[tuple], quarantined: list[tuple]) -> list[dict]:
    """One row per token alias (those with submissions but no token, e.g. deleted, too), by alias:
    ``{"alias", "revoked", "submissions", "quarantined", "last_seen", "days": {"YYYY-MM-DD": n}}``;
    ``last_seen`` is the hour of the alias's latest submission or set-aside row (the store keeps no finer
    time). Nothing here is decrypted: it is what the store keeps beside the ciphertext."""
    rows: dict[str, dict] = {
        t["alias"]: {
            "alias": t["alias"],
            "revoked": bool(t["revoked"]),
            "submissions": 0,
            "quarantined": 0,
            "last_seen": None,
            "days": {},
        }
        for t in tokens
    }

    def row(alias: str) -> dict:
        return rows.setdefault(
            alias, {"alias": alias, "revoked": None, "submissions": 0, "quarantined": 0, "last_seen": None, "days": {}}
        )

    def seen(r: dict, hour: str | None) -> None:
        if hour is not None and (r["last_seen"] is None or hour > r["last_seen"]):
            r["last_seen"] = hour

    for alias, day, n, last in by_day:
        r = row(alias)
        r["days"][day] = int(n)
        r["submissions"] += int(n)
        seen(r, last)
    for alias, n, last in quarantined:
        r = row(alias)
        r["quarantined"] = int(n)
        seen(r, last)
    for r in rows.values():
        r["days"] = dict(sorted(r["days"].items()))
    return [rows[a] for a in sorted(rows)]
