"""The store keeps the hour a submission arrived and nothing finer: after N submissions within one hour,
neither the WAL nor the order of the rows in the database file gives their arrival order (SQLite), and
on PostgreSQL the closed hours are rewritten so the rows share one xmin and lie in key order.

Backend-specific on purpose: how arrival order is erased depends on the storage (SQLite's file settling,
PostgreSQL's xmin), so each test names its backend; the behaviour every backend shares (the hour kept,
nothing finer) is tested on both in test_store.py::test_received_at_rounded_down_to_hour."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from quietpoll.collect import store as store_mod
from quietpoll.collect.envelope import seal
from quietpoll.collect.store import Store

N = 40


@pytest.fixture(scope="module")
def sealed():
    """N submissions whose arrival order is a shuffle of their key order (instance ids)."""
    pk = X25519PrivateKey.generate().public_key()
    ids = [f"uuid:{i:04d}-{random.Random(i).getrandbits(32):08x}" for i in range(N)]
    arrival = ids[:]
    random.Random(7).shuffle(arrival)
    assert arrival != sorted(arrival)
    return [(iid, seal(pk, "fm", iid, {"i": iid})) for iid in arrival]


def at_hour(monkeypatch, hour: int) -> None:
    class Fixed(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 3, 1, hour, 30, tzinfo=UTC)

    monkeypatch.setattr(store_mod, "datetime", Fixed)


def file_order(path, sealed) -> list[str]:
    """Instance ids in the order their ciphertexts' tails (in overflow pages) appear in the raw file."""
    raw = path.read_bytes()
    pos = {}
    for iid, ct in sealed:
        at = raw.find(ct[-200:].encode("ascii"))
        assert at >= 0, "every ciphertext is in the database file after the checkpoint"
        pos[iid] = at
    return sorted(pos, key=pos.get)


def test_sqlite_settle_leaves_no_arrival_order(tmp_path, sealed, monkeypatch):
    db = tmp_path / "collect.db"
    wal = tmp_path / "collect.db-wal"
    at_hour(monkeypatch, 9)
    st = Store.open(f"sqlite:///{db}")
    try:
        for iid, ct in sealed:
            assert st.put_status("fm", iid, ct, "a1") == "stored"
        assert wal.stat().st_size > 0  # the hour's rows are in the WAL, in arrival order, until settled
        assert st.settle()
        assert wal.stat().st_size == 0
        order = file_order(db, sealed)
        assert order == sorted(order)  # key order, a function of the content only
        assert order != [iid for iid, _ in sealed]
    finally:
        st.close()


def test_sqlite_settles_when_the_hour_changes_and_on_close(tmp_path, sealed, monkeypatch):
    db = tmp_path / "collect.db"
    wal = tmp_path / "collect.db-wal"
    at_hour(monkeypatch, 9)
    st = Store.open(f"sqlite:///{db}")
    for iid, ct in sealed[:-1]:
        st.put("fm", iid, ct, "a1")
    before = file_order(tmp_path / "collect.db-wal", sealed[:-1])
    assert before == [iid for iid, _ in sealed[:-1]]  # the WAL holds them in arrival order ...
    at_hour(monkeypatch, 10)
    st.put("fm", *sealed[-1], "a1")  # ... until the first submission of the next hour settles the store
    walled = wal.read_bytes()
    assert not any(ct[-200:].encode("ascii") in walled for _, ct in sealed[:-1])
    order = file_order(db, sealed[:-1])
    assert order == sorted(order)
    st.close()  # closing settles too: the WAL is gone or empty, the file in key order
    assert not wal.exists() or wal.stat().st_size == 0
    order = file_order(db, sealed)
    assert order == sorted(order)
    assert [r["received_at"][11:13] for r in Store.open(f"sqlite:///{db}").list()].count("10") == 1


def test_sqlite_secure_delete_is_on(tmp_path):
    st = Store.open(f"sqlite:///{tmp_path / 'c.db'}")
    try:
        assert st._conn().execute("PRAGMA secure_delete").fetchone()[0] == 1
    finally:
        st.close()


def test_postgresql_closed_hours_share_one_xmin_and_lie_in_key_order(pg_server, sealed, monkeypatch):  # noqa: F811
    import psycopg

    url = pg_server.create_database()
    try:
        at_hour(monkeypatch, 9)
        st = Store.open(url)
        for iid, ct in sealed:
            st.put("fm", iid, ct, "a1")
        with psycopg.connect(url, autocommit=True) as conn:
            rows = conn.execute("SELECT instance_id, xmin::text FROM submissions ORDER BY ctid").fetchall()
        assert [r[0] for r in rows] == [iid for iid, _ in sealed]  # live: heap and xmin in arrival order
        assert len({r[1] for r in rows}) == N
        at_hour(monkeypatch, 10)
        st.put("fm", "uuid:next-hour", sealed[0][1][:-4] + "AAAA", "a1")  # the next hour's first arrival
        st.close()
        with psycopg.connect(url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT instance_id, xmin::text FROM submissions"
                " WHERE received_at = '2026-03-01T09:00:00Z' ORDER BY ctid"
            ).fetchall()
        assert len(rows) == N and [r[0] for r in rows] == sorted(iid for iid, _ in sealed)
        assert len({r[1] for r in rows}) == 1  # one transaction wrote them all
    finally:
        pg_server.drop_database(url)
