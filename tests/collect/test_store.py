"""The collection store and pull. Every test taking ``st`` or ``store_url`` (tests/collect/conftest.py)
runs on both backends behind :class:`quietpoll.collect.backend.StoreBackend`: SQLite and a real
PostgreSQL (tests/collect/pgserver.py). SQLite-specific tests take ``sq``/``db_path`` (its file, WAL and
pragmas, URLs); PostgreSQL-specific ones are in tests/collect/test_store_pg.py."""

from __future__ import annotations

import sqlite3
import stat
import threading
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from pgserver import raw_rows

from quietpoll.collect import store as store_mod
from quietpoll.collect.backend import open_store
from quietpoll.collect.envelope import seal
from quietpoll.collect.setaside import pseudonymizer
from quietpoll.collect.store import Store, pull, pull_all
from quietpoll.errors import CollectError, InputError

CANARY = "canary-quietpoll-8d1f3a"


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "collect.db"  # the file of the sqlite `st` (conftest.py's store_url)


@pytest.fixture
def sq(db_path):
    """The SQLite store alone (SQLite-specific tests: its file, WAL and pragmas)."""
    s = Store.open(f"sqlite:///{db_path}")
    yield s
    s.close()


def _all_bytes(path) -> bytes:
    """The database file and any WAL/shm side files."""
    data = b""
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = path.with_name(path.name + suffix)
        if p.exists():
            data += p.read_bytes()
    return data


# -- opening -------------------------------------------------------------------------------------------


def test_open_modes(sq, db_path):
    db = sqlite3.connect(db_path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    assert sq._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600


def test_relative_url(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = Store.open("sqlite:///rel.db")
    s.close()
    assert (tmp_path / "rel.db").exists()


@pytest.mark.parametrize(
    "url,match",
    [
        ("postgresql://user@localhost/db", "cannot connect"),
        ("postgres://localhost/db", "cannot connect"),
        ("mysql://localhost/db", "unsupported store"),
        ("collect.db", "unsupported store"),
        ("sqlite:///", "no file path"),
        ("sqlite:////no/such/folder/collect.db", "not found"),
    ],
)
def test_bad_urls(url, match):
    with pytest.raises(CollectError, match=match):
        Store.open(url)


def test_not_a_store(tmp_path):
    p = tmp_path / "x.db"
    p.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CollectError):
        Store.open(f"sqlite:///{p}")


def test_reopen_keeps_data(store_url, pair):
    _, pk = pair
    s = open_store(store_url)
    s.put("f", "i1", seal(pk, "f", "i1", {"a": 1}), "alice")
    s.close()
    s = open_store(store_url)
    assert [r["instance_id"] for r in s.list()] == ["i1"]
    s.close()
    with pytest.raises(CollectError, match="closed"):
        s.list()


def test_ordering_is_bytewise(st, pair):
    _, pk = pair
    ids = ["B", "a", "_z", "Z", "é", "uuid:1", "10", "9"]
    for i in ids:
        st.put("f", i, seal(pk, "f", i, {}), "alice")
    expected = sorted(ids, key=lambda s: s.encode("utf-8"))
    assert [r["instance_id"] for r in st.list()] == expected
    assert [t[1] for t in st.ciphertexts()] == expected


def test_nul_rejected(st, pair):
    _, pk = pair
    with pytest.raises(CollectError, match="NUL"):
        st.put("f", "a\x00b", seal(pk, "f", "a\x00b", {}), "alice")


# -- submissions ----------------------------------------------------------------------------------------


def test_put_idempotent(st, pair):
    _, pk = pair
    c1 = seal(pk, "f", "uuid:1", {"a": 1})
    c2 = seal(pk, "f", "uuid:1", {"a": 2})
    assert st.put("f", "uuid:1", c1, "alice") is True
    assert st.put("f", "uuid:1", c1, "alice") is False
    assert st.put("f", "uuid:1", c2, "bob") is False
    assert st.put_status("f", "uuid:1", c1, "alice") == "duplicate"
    assert st.put_status("f", "uuid:1", c2, "alice") == "conflict"
    assert st.put_status("g", "uuid:1", c1, "alice") == "conflict"
    assert list(st.ciphertexts()) == [("f", "uuid:1", c1)]  # the first is kept
    assert st.count() == 1


def test_put_rejects_garbage(st):
    with pytest.raises(CollectError):
        st.put("f", "i", "not a ciphertext", "alice")
    with pytest.raises(CollectError):
        st.put("f", "", "x", "alice")
    with pytest.raises(CollectError):
        st.put("f", "i" * 300, "x", "alice")
    assert st.list() == []


def test_list_and_filter(st, pair):
    _, pk = pair
    for f, i in [("f1", "b"), ("f2", "a"), ("f1", "c")]:
        st.put(f, i, seal(pk, f, i, {"x": i}), "alice")
    assert [r["instance_id"] for r in st.list()] == ["a", "b", "c"]
    assert [r["instance_id"] for r in st.list("f1")] == ["b", "c"]
    assert set(st.list()[0]) == {"instance_id", "form_id", "received_at", "token_alias"}
    assert st.list()[0]["token_alias"] == "alice"
    assert [t[1] for t in st.ciphertexts("f2")] == ["a"]
    assert list(st.ciphertexts("nothing")) == []


def test_ciphertexts_pages(st, pair, monkeypatch):
    _, pk = pair
    monkeypatch.setattr(store_mod, "_PAGE", 3)
    ids = [f"id{n:02d}" for n in range(10)]
    for i in ids:
        st.put("f", i, seal(pk, "f", i, {}), "alice")
    assert [t[1] for t in st.ciphertexts()] == ids
    assert [t[1] for t in st.ciphertexts("f")] == ids


def test_received_at_rounded_down_to_hour(st, pair, monkeypatch):
    _, pk = pair

    class FakeDatetime(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2025, 3, 1, 14, 59, 59, 999999, tzinfo=UTC)

    monkeypatch.setattr(store_mod, "datetime", FakeDatetime)
    st.put("f", "i", seal(pk, "f", "i", {}), "alice")
    assert st.list()[0]["received_at"] == "2025-03-01T14:00:00Z"
    st.add_token("carol")
    assert st.tokens()[0]["created_at"] == "2025-03-01T14:00:00Z"


def test_received_at_now():
    now = datetime.now(UTC)
    got = store_mod.hour_now()
    assert got.endswith(":00:00Z")
    assert got[:13] in {now.strftime("%Y-%m-%dT%H"), datetime.now(UTC).strftime("%Y-%m-%dT%H")}


def test_threads(st, pair):
    _, pk = pair
    texts = {f"t{n}": seal(pk, "f", f"t{n}", {"n": n}) for n in range(40)}
    results = []

    def worker(names):
        for name in names:
            results.append(st.put("f", name, texts[name], "alice"))
            st.token_alias("nope")

    names = sorted(texts)
    threads = [threading.Thread(target=worker, args=(names,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 40 and results.count(False) == 120
    assert st.count() == 40


# -- tokens -----------------------------------------------------------------------------------------------


def test_tokens(st):
    tok = st.add_token("alice")
    assert len(tok) >= 43
    assert st.token_alias(tok) == "alice"
    assert st.token_alias(tok + "x") is None
    assert st.token_alias("") is None
    assert st.token_alias(None) is None
    with pytest.raises(CollectError, match="already taken"):
        st.add_token("alice")
    bob = st.add_token("bob")
    assert st.token_alias(bob) == "bob"
    st.revoke_token("alice")
    assert st.token_alias(tok) is None
    assert st.token_alias(bob) == "bob"
    with pytest.raises(CollectError, match="no token"):
        st.revoke_token("nobody")
    rows = st.tokens()
    assert [(r["alias"], r["revoked"]) for r in rows] == [("alice", True), ("bob", False)]
    assert all(r["created_at"].endswith(":00:00Z") for r in rows)


@pytest.mark.parametrize("alias", ["", "   ", "a" * 65, "tab\there", None])
def test_bad_alias(st, alias):
    with pytest.raises(CollectError):
        st.add_token(alias)


def test_db_never_holds_tokens_or_plaintext(st, store_url, pair, request):
    """Read around quietpoll: every row of every table holds no token (only its SHA-256) and no answer;
    submission times are whole hours. Then the backend's files at rest (SQLite: the database and its
    side files; PostgreSQL: every file of the cluster after a checkpoint)."""
    import hashlib

    _, pk = pair
    tokens = [st.add_token(f"iv{n}") for n in range(5)]
    for n in range(5):
        payload = {"secret": f"{CANARY}-{n}", "비밀": "한국어 정답"}
        st.put("f", f"i{n}", seal(pk, "f", f"i{n}", payload), f"iv{n}")
    st.revoke_token("iv1")
    for row in st.list():
        assert row["received_at"].endswith(":00:00Z")

    if store_url.startswith("sqlite"):
        names = [r[0] for r in raw_rows(store_url, "SELECT name FROM sqlite_master WHERE type = 'table'")]
    else:
        names = [
            r[0]
            for r in raw_rows(
                store_url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
        ]
    assert {"submissions", "tokens", "meta"} <= set(names)
    rows = {t: raw_rows(store_url, f'SELECT * FROM "{t}"') for t in names}
    assert len(rows["submissions"]) == 5 and len(rows["tokens"]) == 5
    dump = repr(rows).encode()
    hashes = {bytes(h) for (h,) in raw_rows(store_url, "SELECT token_hash FROM tokens")}
    assert hashes == {hashlib.sha256(tok.encode()).digest() for tok in tokens}  # only their hashes
    for tok in tokens:
        assert tok.encode() not in dump
    for needle in (CANARY, "한국어 정답", "비밀", "secret"):
        assert needle.encode() not in dump and repr(needle).encode()[1:-1] not in dump

    if store_url.startswith("sqlite"):
        path = Path(store_url[len("sqlite:///") :])
        raw = _all_bytes(path)
        st.close()
        raw += _all_bytes(path)
    else:
        server = request.getfixturevalue("pg_server")
        raw_rows(server.url(), "CHECKPOINT")
        raw = b"".join(p.read_bytes() for p in Path(server.datadir).rglob("*") if p.is_file())
    assert b"iv0" in raw  # the scan does see the store's data
    for tok in tokens:
        assert tok.encode() not in raw
    assert CANARY.encode() not in raw
    assert "한국어 정답".encode() not in raw
    assert "비밀".encode() not in raw


# -- pull ----------------------------------------------------------------------------------------------------


def test_pull_csv_and_parquet(st, pair, tmp_path):
    sk, pk = pair
    payloads = {
        "uuid:b": {"age": 41, "region": "Seoul", "media": ["radio", "usb"], "score": 2.5},
        "uuid:a": {"age": 29, "region": "남포", "consent": True},
        "uuid:c": {"age": None, "region": "x", "score": 3},
    }
    for i, p in payloads.items():
        st.put("fm", i, seal(pk, "fm", i, p), "alice")
    st.put("other", "uuid:z", seal(pk, "other", "uuid:z", {"q": "not this form"}), "alice")

    out = tmp_path / "responses.parquet"
    assert pull(st, sk, out, form_id="fm") == 3
    frame = pl.read_parquet(out)
    alias_pseudonym = pseudonymizer(sk)("alice")
    assert alias_pseudonym.startswith("iv-") and "alice" not in alias_pseudonym
    expected = pl.DataFrame(
        {
            "instance_id": ["uuid:a", "uuid:b", "uuid:c"],
            "_interviewer": [alias_pseudonym] * 3,
            "age": [29, 41, None],
            "region": ["남포", "Seoul", "x"],
            "consent": [True, None, None],
            "media": [None, "radio usb", None],
            "score": [None, 2.5, 3.0],
        },
        schema={
            "instance_id": pl.String,
            "_interviewer": pl.String,
            "age": pl.Int64,
            "region": pl.String,
            "consent": pl.Boolean,
            "media": pl.String,
            "score": pl.Float64,
        },
    )
    assert frame.equals(expected)

    out_csv = tmp_path / "all.csv"
    assert pull(st, sk, out_csv) == 4
    all_rows = pl.read_csv(out_csv)
    assert all_rows["instance_id"].to_list() == ["uuid:a", "uuid:b", "uuid:c", "uuid:z"]
    assert all_rows["q"].to_list()[-1] == "not this form"


def test_pull_empty(st, pair, tmp_path):
    sk, _ = pair
    out = tmp_path / "none.csv"
    assert pull(st, sk, out) == 0
    assert out.exists()


def test_pull_wrong_key_names_instance(st, pair, tmp_path):
    _, pk = pair
    st.put("f", "uuid:bad-one", seal(pk, "f", "uuid:bad-one", {"secret": CANARY}), "alice")
    out = tmp_path / "out.csv"
    with pytest.raises(CollectError, match="uuid:bad-one") as err:
        pull(st, X25519PrivateKey.generate(), out)
    assert CANARY not in str(err.value)
    assert not out.exists()


def test_pull_bad_extension(st, pair, tmp_path):
    sk, pk = pair
    st.put("f", "i", seal(pk, "f", "i", {"a": 1}), "alice")
    with pytest.raises(InputError):
        pull(st, sk, tmp_path / "out.weird")


# -- pull: repeats as linked tables ---------------------------------------------------------------------------

REPEAT_FORM = """| survey |
|  | type | name | label | constraint |
|  | text | household | Household | |
|  | begin_repeat | member | Member | |
|  | text | first_name | First name | |
|  | integer | age | Age | . >= 0 and . <= 120 |
|  | begin_repeat | job | Job | |
|  | text | trade | Trade | |
|  | end_repeat | | | |
|  | end_repeat | | | |
|  | select_one yn | done | Done? | |
| choices |
|  | list_name | name | label |
|  | yn | yes | Yes |
|  | yn | no | No |
| settings |
|  | form_id |
|  | hh |
"""


def test_pull_writes_repeats_as_linked_tables(st, pair, tmp_path):
    from quietpoll.instrument.exports import read_responses
    from quietpoll.instrument.form import load_instrument
    from quietpoll.quality.validation import validate

    sk, pk = pair
    payloads = {  # synthetic
        "uuid:a": {
            "household": "H-1",
            "done": "yes",
            "member": [
                {"first_name": "Ok-ran", "age": 40, "job": [{"trade": "baker"}, {"trade": "driver"}]},
                {"first_name": "Su-min", "age": 130},
            ],
        },
        "uuid:b": {"household": "H-2", "done": "no"},
        "uuid:c": {"household": "H-3", "member": [{"first_name": "Min", "age": 7}]},
    }
    for i, p in payloads.items():
        st.put("hh", i, seal(pk, "hh", i, p), "alice")
    out = tmp_path / "pulled.csv"
    assert pull(st, sk, out) == 3
    main = pl.read_csv(out)
    assert main.columns == ["instance_id", "KEY", "_interviewer", "household", "done", "SET-OF-member"]
    assert main["KEY"].to_list() == ["uuid:a", "uuid:b", "uuid:c"]
    assert main["SET-OF-member"].to_list() == ["uuid:a/member", None, "uuid:c/member"]
    member = pl.read_csv(tmp_path / "pulled-member.csv")
    assert member.columns == ["PARENT_KEY", "KEY", "first_name", "age", "SET-OF-job", "SET-OF-member"]
    assert member.rows() == [
        ("uuid:a", "uuid:a/member[1]", "Ok-ran", 40, "uuid:a/member[1]/job", "uuid:a/member"),
        ("uuid:a", "uuid:a/member[2]", "Su-min", 130, None, "uuid:a/member"),
        ("uuid:c", "uuid:c/member[1]", "Min", 7, None, "uuid:c/member"),
    ]
    job = pl.read_csv(tmp_path / "pulled-job.csv")
    assert job.rows() == [
        ("uuid:a/member[1]", "uuid:a/member[1]/job[1]", "baker", "uuid:a/member[1]/job"),
        ("uuid:a/member[1]", "uuid:a/member[1]/job[2]", "driver", "uuid:a/member[1]/job"),
    ]

    form = tmp_path / "hh.md"
    form.write_text(REPEAT_FORM, encoding="utf-8")
    inst = load_instrument(form)
    responses = read_responses(out, inst)
    assert responses.source_format == "odk" and set(responses.repeats) == {"member", "job"}
    assert responses.repeat_columns["member"] == {"first_name": "first_name", "age": "age"}
    # pull's own instance_id column is collection metadata, not an unknown column
    assert responses.unknown == ()
    # linked back: each member's PARENT_KEY is a submission's KEY, each job's a member's KEY
    members = responses.repeats["member"]
    assert set(members["PARENT_KEY"]) <= set(responses.main["KEY"])
    assert set(responses.repeats["job"]["PARENT_KEY"]) <= set(members["KEY"])
    main_problems = validate(responses.main, inst).to_dict()["problems"]
    assert main_problems == []
    report = validate(members, inst, repeat="member")
    assert [(p["row"], p["column"], p["rule"]) for p in report.to_dict()["problems"]] == [(1, "age", "constraint")]
    assert validate(responses.repeats["job"], inst, repeat="job").problems == ()


def test_pull_without_repeats_has_no_key_column_nor_side_files(st, pair, tmp_path):
    sk, pk = pair
    st.put("f", "uuid:1", seal(pk, "f", "uuid:1", {"a": 1, "tags": ["x", "y"], "empty": []}), "alice")
    out = tmp_path / "out.csv"
    assert pull(st, sk, out) == 1
    assert pl.read_csv(out).columns == ["instance_id", "_interviewer", "a", "tags", "empty"]
    assert sorted(p.name for p in tmp_path.glob("out*")) == ["out.csv"]


def test_pull_repeats_beside_a_parquet_file(st, pair, tmp_path):
    sk, pk = pair
    st.put("f", "uuid:1", seal(pk, "f", "uuid:1", {"a": 1, "rep": [{"b": 2}, {"b": 3}]}), "alice")
    out = tmp_path / "out.parquet"
    assert pull(st, sk, out) == 1
    assert pl.read_parquet(tmp_path / "out-rep.parquet")["KEY"].to_list() == ["uuid:1/rep[1]", "uuid:1/rep[2]"]


def test_pulled_parquet_reads_back_with_its_linked_repeats(st, pair, tmp_path):
    from quietpoll.instrument.exports import read_responses
    from quietpoll.instrument.form import load_instrument

    sk, pk = pair
    st.put(
        "hh",
        "uuid:a",
        seal(
            pk,
            "hh",
            "uuid:a",
            {
                "household": "H-1",
                "done": "yes",
                "member": [{"first_name": "Ok-ran", "age": 40}, {"first_name": "Min", "age": 7}],
            },
        ),
        "alice",
    )  # synthetic
    out = tmp_path / "pulled.parquet"
    assert pull(st, sk, out) == 1
    form = tmp_path / "hh.md"
    form.write_text(REPEAT_FORM, encoding="utf-8")
    responses = read_responses(out, load_instrument(form))
    assert set(responses.repeats) == {"member"} and responses.unknown == ()
    assert responses.repeats["member"]["first_name"].to_list() == ["Ok-ran", "Min"]


def test_pull_list_of_objects_under_a_name_that_cannot_name_a_file_stays_json(st, pair, tmp_path):
    sk, pk = pair
    st.put("f", "uuid:1", seal(pk, "f", "uuid:1", {"../evil": [{"b": 2}]}), "alice")
    out = tmp_path / "out.csv"
    assert pull(st, sk, out) == 1
    assert pl.read_csv(out)["../evil"].to_list() == ['[{"b":2}]']
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith("out-") or "evil" in p.name]
    assert not (tmp_path.parent / "evil.csv").exists() and not (tmp_path.parent / "out-..").exists()


@pytest.mark.parametrize(
    "payload", [{"KEY": "x", "rep": [{"b": 1}]}, {"rep": [{"PARENT_KEY": "x"}]}, {"rep": [{"SET-OF-rep": "x"}]}]
)
def test_pull_sets_aside_fields_named_like_link_columns(st, pair, tmp_path, payload):
    sk, pk = pair
    st.put("f", "uuid:1", seal(pk, "f", "uuid:1", payload), "alice")
    st.put("f", "uuid:2", seal(pk, "f", "uuid:2", {"b": 3, "rep": [{"c": 4}]}), "bob")
    out = tmp_path / "out.csv"
    result = pull_all(st, sk, out)
    assert result.rows == 1 and pl.read_csv(out)["instance_id"].to_list() == ["uuid:2"]
    assert [(q["instance_id"], q["token_alias"], q["reason"]) for q in result.quarantined] == [
        ("uuid:1", "alice", "malformed")
    ]
    assert [r["instance_id"] for r in st.list()] == ["uuid:2"]
