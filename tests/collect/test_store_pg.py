"""PostgreSQL-specific tests of the collection store on a real server (tests/collect/pgserver.py): what
only PostgreSQL has (its URL forms and password hiding, a foreign schema in the database, connection
loss, concurrent connections and processes). Every store behaviour test runs on both backends through
the ``st``/``store_url`` fixture of tests/collect/conftest.py (test_store.py, test_quarantine.py,
test_enrolment.py, ...), so none is repeated here."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from quietpoll.collect.backend import StoreBackend
from quietpoll.collect.envelope import seal
from quietpoll.collect.store import Store
from quietpoll.collect.store_pg import PgStore
from quietpoll.errors import CollectError


@pytest.fixture
def st(pg_url):
    s = Store.open(pg_url)
    yield s
    s.close()


# -- opening -------------------------------------------------------------------------------------------


def test_open_dispatches(st, pg_url):
    assert isinstance(st, PgStore) and isinstance(st, StoreBackend) and not isinstance(st, Store)
    assert "***" in st.path and pg_url.split(":")[2].split("@")[0] not in st.path  # password hidden
    Store.open(pg_url).close()  # reopening an existing store is fine


def test_url_forms(pg_server, pg_url):  # noqa: F811
    rest = pg_url.split("://", 1)[1]
    for scheme in ("postgres", "postgresql+psycopg", "POSTGRESQL"):
        s = Store.open(f"{scheme}://{rest}")
        assert s.count() == 0
        s.close()


def test_bad_server_and_password(pg_server):  # noqa: F811
    wrong = pg_server.url().replace(pg_server.password, "not-the-password-x1")
    with pytest.raises(CollectError, match="cannot connect") as err:
        Store.open(wrong)
    assert "not-the-password-x1" not in str(err.value)
    with pytest.raises(CollectError, match="cannot connect"):
        Store.open(f"postgresql://u:p@127.0.0.1:{pg_server.port}/no_such_database")
    with pytest.raises(CollectError):
        Store.open("postgresql://")


def test_not_a_store(pg_url):
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("INSERT INTO meta VALUES ('schema', 'something-else')")
    with pytest.raises(CollectError, match="not a quietpoll store"):
        Store.open(pg_url)


def test_reconnects_after_connection_loss(st, pg_server, pair):  # noqa: F811
    import psycopg

    _, pk = pair
    st.put("f", "before", seal(pk, "f", "before", {}), "alice")
    with psycopg.connect(pg_server.url(), autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'quietpoll'"
            " AND pid <> pg_backend_pid()"
        )
    time.sleep(0.2)
    assert st.put_status("f", "after", seal(pk, "f", "after", {}), "alice") == "stored"
    assert st.count() == 2


# -- several writers at once ----------------------------------------------------------------------------------


def test_concurrent_stores_same_instance(pg_url, pair):  # noqa: F811
    """Eight stores (eight connections, opened together: the schema is created once) race to put the
    same instance ids: exactly one "stored" per id, the others "duplicate"."""
    _, pk = pair
    n_writers, ids = 8, [f"uuid:{n}" for n in range(25)]
    texts = {i: seal(pk, "f", i, {"i": i}) for i in ids}
    opened = threading.Barrier(n_writers, timeout=60)
    results: list[tuple[str, str]] = []
    errors: list[BaseException] = []

    def writer():
        try:
            opened.wait()
            s = Store.open(pg_url)
            try:
                opened.wait()
                for i in ids:
                    results.append((i, s.put_status("f", i, texts[i], "alice")))
            finally:
                s.close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(n_writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    for i in ids:
        statuses = sorted(s for j, s in results if j == i)
        assert statuses == ["duplicate"] * (n_writers - 1) + ["stored"], (i, statuses)
    s = Store.open(pg_url)
    assert s.count() == len(ids)
    s.close()


_WRITER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from quietpoll.collect.store import Store
    url, go, texts = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
    deadline = time.monotonic() + 60
    while not go.exists():
        if time.monotonic() > deadline:
            sys.exit("timed out waiting for the start signal")
        time.sleep(0.005)
    s = Store.open(url)
    out = {i: s.put_status("f", i, c, "bob") for i, c in texts.items()}
    s.close()
    print(json.dumps(out))
    """
)


def test_two_processes_same_instance(pg_url, pair, tmp_path):  # noqa: F811
    """Two server processes start together on a new database and put the same instance ids."""
    _, pk = pair
    texts = {f"p{n}": seal(pk, "f", f"p{n}", {"n": n}) for n in range(30)}
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, pg_url, str(go), json.dumps(texts)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    time.sleep(0.3)
    go.touch()
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outs.append(json.loads(out))
    for i in texts:
        assert sorted(o[i] for o in outs) == ["duplicate", "stored"], i
    s = Store.open(pg_url)
    assert s.count() == len(texts)
    s.close()
