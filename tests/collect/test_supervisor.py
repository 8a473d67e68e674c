"""The supervisor's view (SQLite and PostgreSQL alike): counts per interviewer alias and day, set-aside
rows and the last hour seen, from the store's metadata only (nothing is decrypted); only a supervisor
token opens GET /api/v1/stats, and a supervisor token cannot submit interviews."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from pgserver import pg_server  # noqa: F401  (the session fixture)
from starlette.testclient import TestClient

from quietpoll.collect.app import create_app
from quietpoll.collect.backend import build_stats
from quietpoll.collect.envelope import seal
from quietpoll.collect.store import Store


@pytest.fixture(params=["sqlite", "postgresql"])
def st(request, tmp_path):
    if request.param == "sqlite":
        s = Store.open(f"sqlite:///{tmp_path / 'collect.db'}")
        yield s
        s.close()
        return
    server = request.getfixturevalue("pg_server")
    url = server.create_database()
    s = Store.open(url)
    yield s
    s.close()
    server.drop_database(url)


_KEY = X25519PrivateKey.generate().public_key()


def _ct(n: int) -> str:
    return seal(_KEY, "f", f"uuid:n{n}", {"n": n})


def test_stats_count_per_alias_and_day_from_metadata(st):
    st.add_token("field-01")
    st.add_token("field-02")
    st.add_token("field-03")
    st.revoke_token("field-03")
    for i in range(3):
        st.put("f", f"uuid:a{i}", _ct(i), "field-01")
    st.put("f", "uuid:b0", _ct(9), "field-02")
    [(f, i, c)] = [row for row in st.ciphertexts() if row[1] == "uuid:b0"]
    st.set_aside([(f, i, c, "undecryptable")])
    stats = {r["alias"]: r for r in st.stats()}
    assert list(stats) == ["field-01", "field-02", "field-03"]
    one = stats["field-01"]
    assert one["submissions"] == 3 and one["quarantined"] == 0 and one["revoked"] is False
    assert sum(one["days"].values()) == 3 and all(len(d) == 10 for d in one["days"])
    assert one["last_seen"].endswith(":00:00Z")  # the store keeps hours, no finer time
    assert stats["field-02"]["submissions"] == 0 and stats["field-02"]["quarantined"] == 1
    assert stats["field-02"]["last_seen"] is not None
    assert stats["field-03"] == {
        "alias": "field-03",
        "revoked": True,
        "submissions": 0,
        "quarantined": 0,
        "last_seen": None,
        "days": {},
    }
    text = json.dumps(st.stats())
    assert _ct(0) not in text and "uuid:" not in text  # metadata only: no ciphertext, no instance id


def test_build_stats_keeps_aliases_without_a_token():
    rows = build_stats([], [("gone", "2026-12-01", 2, "2026-12-01T10:00:00Z")], [])
    assert rows == [
        {
            "alias": "gone",
            "revoked": None,
            "submissions": 2,
            "quarantined": 0,
            "last_seen": "2026-12-01T10:00:00Z",
            "days": {"2026-12-01": 2},
        }
    ]


def test_only_a_supervisor_token_opens_the_view_and_it_cannot_submit(st):
    interviewer = st.add_token("field-01")
    supervisor = st.add_supervisor("sup-01")
    assert st.supervisors() == frozenset({"sup-01"})
    st.put("f", "uuid:a0", _ct(0), "field-01")
    app = create_app(st, rate_limit=None)
    with TestClient(app) as client:
        assert client.get("/api/v1/stats").status_code == 401
        refused = client.get("/api/v1/stats", headers={"Authorization": f"Bearer {interviewer}"})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
        ok = client.get("/api/v1/stats", headers={"Authorization": f"Bearer {supervisor}"})
        assert ok.status_code == 200 and ok.headers["cache-control"] == "no-store"
        rows = {r["alias"]: r for r in ok.json()["interviewers"]}
        assert rows["field-01"]["submissions"] == 1
        sent = client.post(
            "/api/v1/submissions",
            headers={"Authorization": f"Bearer {supervisor}"},
            json={"form_id": "f", "instance_id": "uuid:s1", "ciphertext": _ct(5)},
        )
        assert sent.status_code == 403 and st.count() == 1
