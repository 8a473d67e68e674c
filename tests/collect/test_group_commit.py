"""The SQLite store's group commit: submissions that arrive while a commit is on its way to disk share the
next transaction; each caller still gets its own answer, only after the commit holding its row, and one
failing submission never costs the others theirs. Ciphertexts are sealed SYNTHETIC answers."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from quietpoll.collect.envelope import seal
from quietpoll.collect.store import Store

FORM = "group_commit_probe"
KEY = X25519PrivateKey.generate()


def _sealed(iid: str, answer: str = "synthetic") -> str:
    return seal(KEY.public_key(), FORM, iid, {"answer": answer})


def _held_batch(st: Store, calls: list[tuple[str, str]]) -> tuple[dict, list[int]]:
    """Run put_status for every (instance id, ciphertext) in its own thread while the store's lock is
    held, so that all of them wait for one commit; returns ({index: status or exception}, batch sizes)."""
    sizes: list[int] = []
    original = st._commit_group

    def recording(db, batch):
        sizes.append(len(batch))
        return original(db, batch)

    st._commit_group = recording
    results: dict = {}

    def call(i: int, iid: str, ct: str) -> None:
        try:
            results[i] = st.put_status(FORM, iid, ct, "field-1")
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            results[i] = exc

    threads = [threading.Thread(target=call, args=(i, iid, ct)) for i, (iid, ct) in enumerate(calls)]
    with st._lock:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(st._pending) < len(calls):
            assert time.monotonic() < deadline, "the callers did not queue"
            time.sleep(0.005)
        assert not results, "a caller answered before any commit"
    for t in threads:
        t.join(30)
    return results, sizes


def test_waiting_submissions_share_one_commit_and_each_gets_its_status(tmp_path):
    with Store.open(f"sqlite:///{tmp_path / 'c.db'}") as st:
        ct_dup = _sealed("uuid:dup")
        st.put_status(FORM, "uuid:old", _sealed("uuid:old"), "field-1")
        calls = [(f"uuid:n{i}", _sealed(f"uuid:n{i}")) for i in range(6)]
        calls += [("uuid:dup", ct_dup), ("uuid:dup", ct_dup)]  # the same submission twice in one batch
        calls += [("uuid:old", _sealed("uuid:old", "different"))]  # a replay with other content
        results, sizes = _held_batch(st, calls)
        assert sizes == [len(calls)], sizes
        assert [results[i] for i in range(6)] == ["stored"] * 6
        assert sorted([results[6], results[7]]) == ["duplicate", "stored"]
        assert results[8] == "conflict"
        assert st.count() == 8
        assert {row["instance_id"] for row in st.list()} == {f"uuid:n{i}" for i in range(6)} | {"uuid:dup", "uuid:old"}
    # committed: a new connection sees every row
    with Store.open(f"sqlite:///{tmp_path / 'c.db'}") as st:
        assert st.count() == 8


def test_a_failing_submission_does_not_sink_its_batch(tmp_path):
    with Store.open(f"sqlite:///{tmp_path / 'c.db'}") as st:
        st._conn().execute(  # a synthetic failure of one row, as a full disk or a broken index would fail
            "CREATE TRIGGER fail_one BEFORE INSERT ON submissions WHEN NEW.instance_id = 'uuid:bad' "
            "BEGIN SELECT RAISE(ABORT, 'synthetic failure'); END"
        )
        calls = [("uuid:a", _sealed("uuid:a")), ("uuid:bad", _sealed("uuid:bad")), ("uuid:b", _sealed("uuid:b"))]
        results, sizes = _held_batch(st, calls)
        assert sizes == [3]
        assert results[0] == "stored" and results[2] == "stored"
        assert isinstance(results[1], sqlite3.Error)
        assert not st._conn().in_transaction
        assert {row["instance_id"] for row in st.list()} == {"uuid:a", "uuid:b"}


def test_many_threads_store_each_submission_once(tmp_path):
    with Store.open(f"sqlite:///{tmp_path / 'c.db'}") as st:
        ids = [f"uuid:{i:04d}" for i in range(120)]
        sealed = {iid: _sealed(iid) for iid in ids}
        statuses: list[str] = []
        lock = threading.Lock()

        def send(part: list[str]) -> None:
            for iid in part:  # every submission sent twice, as a client that lost the first answer
                for _ in range(2):
                    status = st.put_status(FORM, iid, sealed[iid], "field-1")
                    with lock:
                        statuses.append(status)

        threads = [threading.Thread(target=send, args=(ids[k::6],)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert statuses.count("stored") == len(ids) and statuses.count("duplicate") == len(ids)
        assert [row["instance_id"] for row in st.list()] == ids


def test_closed_store_refuses(tmp_path):
    st = Store.open(f"sqlite:///{tmp_path / 'c.db'}")
    st.close()
    with pytest.raises(Exception, match="closed"):
        st.put_status(FORM, "uuid:x", _sealed("uuid:x"), "field-1")


def test_an_unexpected_error_rolls_back_and_answers_every_caller(tmp_path, monkeypatch):
    import quietpoll.collect.store as store_module

    original = store_module._insert

    def failing(db, args):
        if args[0] == "uuid:boom":
            raise RuntimeError("synthetic failure outside SQLite")
        return original(db, args)

    monkeypatch.setattr(store_module, "_insert", failing)
    with Store.open(f"sqlite:///{tmp_path / 'c.db'}") as st:
        calls = [("uuid:a", _sealed("uuid:a")), ("uuid:boom", _sealed("uuid:boom")), ("uuid:b", _sealed("uuid:b"))]
        results, sizes = _held_batch(st, calls)
        assert sizes == [3]
        assert all(isinstance(r, Exception) for r in results.values()), results  # nobody told "stored"
        assert not st._conn().in_transaction
        assert st.count() == 0
        monkeypatch.setattr(store_module, "_insert", original)
        assert st.put_status(FORM, "uuid:a", _sealed("uuid:a"), "field-1") == "stored"  # the store still works
