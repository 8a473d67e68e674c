"""Pull is never blocked: junk, replayed, conflicting and malformed rows are set aside (quarantined)
with their token alias, every good row is written; release and purge; interviewer pseudonyms; the
per-token rate counters shared through the store. Every test runs on SQLite and on a real PostgreSQL
(the ``st``/``store_url`` fixture of tests/collect/conftest.py)."""

from __future__ import annotations

import base64
import os

import polars as pl
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from quietpoll.collect.envelope import seal
from quietpoll.collect.setaside import PSEUDONYM_COLUMN, pseudonymizer, quarantine_id
from quietpoll.collect.store import Store, pull_all
from quietpoll.errors import CollectError

CANARY = "canary-quarantine-51c0"


def junk_ciphertext(size: int = 1024) -> str:
    """Random bytes shaped like a sealed submission (version byte, bucket size): passes the server's
    checks, opens with no key."""
    wire = bytes([1]) + os.urandom(32 + size + 16)
    return base64.urlsafe_b64encode(wire).rstrip(b"=").decode("ascii")


def fill(st, pk):
    """Three good rows from two interviewers, a junk row, a replayed envelope (a good envelope sent
    again under another instance id), an envelope with its content altered, and a conflicting one."""
    good = {f"uuid:g{i}": seal(pk, "fm", f"uuid:g{i}", {"q": i, "note": CANARY}) for i in range(3)}
    for n, (iid, ct) in enumerate(good.items()):
        assert st.put_status("fm", iid, ct, "field-01" if n < 2 else "field-02") == "stored"
    assert st.put_status("fm", "uuid:junk", junk_ciphertext(), "thief-09") == "stored"
    assert st.put_status("fm", "uuid:replay", good["uuid:g0"], "thief-09") == "stored"
    swapped = bytearray(base64.urlsafe_b64decode(good["uuid:g1"] + "=" * (-len(good["uuid:g1"]) % 4)))
    swapped[40] ^= 0xFF  # the content altered, the envelope key kept
    swapped_ct = base64.urlsafe_b64encode(bytes(swapped)).rstrip(b"=").decode("ascii")
    assert st.put_status("fm", "uuid:swapped", swapped_ct, "thief-10") == "stored"
    other = seal(pk, "fm", "uuid:g2", {"q": "forged"})
    assert st.put_status("fm", "uuid:g2", other, "thief-10") == "conflict"
    return good


def test_pull_writes_every_good_row_and_sets_the_rest_aside(st, pair, tmp_path):
    sk, pk = pair
    fill(st, pk)
    assert [q["reason"] for q in st.quarantined()] == ["conflict"]  # set aside when it arrived
    out = tmp_path / "out.csv"
    result = pull_all(st, sk, out)
    frame = pl.read_csv(out)
    assert result.rows == 3 and frame["instance_id"].to_list() == ["uuid:g0", "uuid:g1", "uuid:g2"]
    assert frame["q"].to_list() == [0, 1, 2]
    got = {q["instance_id"]: (q["token_alias"], q["reason"]) for q in result.quarantined}
    assert got == {
        "uuid:junk": ("thief-09", "undecryptable"),
        "uuid:replay": ("thief-09", "replayed"),
        "uuid:swapped": ("thief-10", "replayed"),
    }
    assert result.aliases == ["thief-09", "thief-10"]
    # the store now holds only the good rows; the quarantine all four, with alias, form and hour
    assert [r["instance_id"] for r in st.list()] == ["uuid:g0", "uuid:g1", "uuid:g2"]
    listed = st.quarantined()
    assert {q["instance_id"] for q in listed} == {"uuid:junk", "uuid:replay", "uuid:swapped", "uuid:g2"}
    assert all(q["form_id"] == "fm" and q["received_at"].endswith(":00:00Z") for q in listed)
    assert all(set(q) == {"id", "instance_id", "form_id", "token_alias", "received_at", "reason"} for q in listed)
    # a second pull writes the same good rows and sets nothing more aside
    again = pull_all(st, sk, tmp_path / "again.csv")
    assert again.rows == 3 and again.quarantined == []


def test_pseudonyms_are_stable_opaque_and_per_study(st, pair, tmp_path):
    sk, pk = pair
    fill(st, pk)
    out = tmp_path / "out.parquet"
    pull_all(st, sk, out)
    frame = pl.read_parquet(out)
    iv = frame[PSEUDONYM_COLUMN].to_list()
    assert iv[0] == iv[1] != iv[2]  # field-01, field-01, field-02
    assert not any("field" in v for v in iv)
    assert iv[0] == pseudonymizer(sk)("field-01")  # the same in every pull with this key
    assert pseudonymizer(X25519PrivateKey.generate())("field-01") != iv[0]  # another study, another pseudonym
    raw = out.read_bytes()
    assert b"field-01" not in raw and b"field-02" not in raw


def test_release_and_purge(st, pair, tmp_path):
    sk, pk = pair
    fill(st, pk)
    pull_all(st, sk, tmp_path / "out.csv")
    by_iid = {q["instance_id"]: q["id"] for q in st.quarantined()}
    with pytest.raises(CollectError, match="stored already"):  # uuid:g2 is stored: one must go first
        st.release(by_iid["uuid:g2"])
    assert st.release(by_iid["uuid:junk"]) == "uuid:junk"
    assert "uuid:junk" in [r["instance_id"] for r in st.list()]
    assert "uuid:junk" not in {q["instance_id"] for q in st.quarantined()}
    st.purge(by_iid["uuid:replay"])
    assert "uuid:replay" not in {q["instance_id"] for q in st.quarantined()}
    for bad in ("nope", by_iid["uuid:replay"]):
        with pytest.raises(CollectError, match="no quarantined submission"):
            st.purge(bad)
        with pytest.raises(CollectError, match="no quarantined submission"):
            st.release(bad)
    # the released junk row is set aside again by the next pull, never blocking it
    result = pull_all(st, sk, tmp_path / "again.csv")
    assert result.rows == 3 and [q["instance_id"] for q in result.quarantined] == ["uuid:junk"]


def test_conflict_kept_once_and_id_is_content_hash(st, pair):
    _, pk = pair
    first = seal(pk, "fm", "uuid:1", {"a": 1})
    second = seal(pk, "fm", "uuid:1", {"a": 2})
    assert st.put_status("fm", "uuid:1", first, "a1") == "stored"
    for _ in range(3):
        assert st.put_status("fm", "uuid:1", second, "a1") == "conflict"
    assert st.put_status("fm", "uuid:1", first, "a1") == "duplicate"
    assert [q["id"] for q in st.quarantined()] == [quarantine_id("fm", "uuid:1", second)]


def test_only_junk_with_the_study_public_key_is_set_aside(st, pair, tmp_path):
    sk, pk = pair
    st.put("fm", "uuid:junk", junk_ciphertext(), "thief-09")
    # without the public key, nothing opening could be a wrong key: refused, nothing moved
    with pytest.raises(CollectError, match="is it the study's key"):
        pull_all(st, sk, tmp_path / "a.csv")
    assert st.count() == 1 and not (tmp_path / "a.csv").exists()
    # the study's public key shows the key is right: the junk is set aside, an empty file written
    result = pull_all(st, sk, tmp_path / "b.csv", public_key=pk)
    assert result.rows == 0 and [q["token_alias"] for q in result.quarantined] == ["thief-09"]
    assert st.count() == 0


def test_wrong_key_for_the_study_is_refused(st, pair, tmp_path):
    sk, pk = pair
    st.put("fm", "uuid:1", seal(pk, "fm", "uuid:1", {"a": 1}), "a1")
    with pytest.raises(CollectError, match="does not belong to the study"):
        pull_all(st, X25519PrivateKey.generate(), tmp_path / "a.csv", public_key=pk)
    assert st.count() == 1 and st.quarantined() == [] and not (tmp_path / "a.csv").exists()


def test_instance_id_field_naming_another_instance_is_malformed(st, pair, tmp_path):
    sk, pk = pair
    st.put("fm", "uuid:1", seal(pk, "fm", "uuid:1", {"instance_id": "uuid:other", "a": 1}), "a1")
    st.put("fm", "uuid:2", seal(pk, "fm", "uuid:2", {"instance_id": "uuid:2", "a": 2}), "a1")
    st.put("fm", "uuid:3", seal(pk, "fm", "uuid:3", {PSEUDONYM_COLUMN: "iv-framed", "a": 3}), "a1")
    result = pull_all(st, sk, tmp_path / "a.csv")
    assert result.rows == 1 and pl.read_csv(tmp_path / "a.csv")["a"].to_list() == [2]
    assert sorted((q["instance_id"], q["reason"]) for q in result.quarantined) == [
        ("uuid:1", "malformed"),
        ("uuid:3", "malformed"),
    ]


def test_rate_counters_shared_between_stores(store_url):
    a, b = Store.open(store_url), Store.open(store_url)  # two server processes' stores on one database
    try:
        key = os.urandom(32)
        now = 1_000_000.0 * 60 + 5  # 5 s into a 60 s window
        assert [a.take_rate(key, 3, 60.0, now), b.take_rate(key, 3, 60.0, now), a.take_rate(key, 3, 60.0, now)] == [
            0.0,
            0.0,
            0.0,
        ]
        assert b.take_rate(key, 3, 60.0, now + 1) == pytest.approx(54.0)
        assert a.take_rate(os.urandom(32), 3, 60.0, now) == 0.0  # another token has its own counter
        assert a.take_rate(key, 3, 60.0, now + 60) == 0.0  # the next window starts afresh
    finally:
        a.close()
        b.close()


def test_a_store_that_cannot_be_written_still_gets_every_good_row(st, pair, tmp_path, monkeypatch):
    """A read-only copy of the store: the good rows are written, the bad ones listed with their alias
    and left where they are."""
    import sqlite3

    sk, pk = pair
    fill(st, pk)

    def read_only(rows):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(st, "set_aside", read_only)
    result = pull_all(st, sk, tmp_path / "out.csv")
    assert result.rows == 3 and not result.moved
    assert sorted((q["instance_id"], q["token_alias"], q["reason"]) for q in result.quarantined) == [
        ("uuid:junk", "thief-09", "undecryptable"),
        ("uuid:replay", "thief-09", "replayed"),
        ("uuid:swapped", "thief-10", "replayed"),
    ]
    assert st.count() == 6  # nothing moved
