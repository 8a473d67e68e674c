"""Fixtures of the collection tests. ``store_url`` (params sqlite, postgresql) and ``st`` (a store opened
on it through quietpoll.collect.backend.open_store) make every store behaviour test run on both
backends; ``pg_server`` is the session's PostgreSQL on loopback (pgserver.py), which fails rather than
skips under CI=true. Tests of what only one backend has (SQLite's file settling and pragmas,
PostgreSQL's xmin, URLs and connection loss) take ``sq``/``db_path`` or ``pg_url`` and say so."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from pgserver import pg_server, store_url  # noqa: F401  (fixtures)

from quietpoll.collect.backend import StoreBackend, open_store


@pytest.fixture(scope="module")
def pair():
    """An X25519 key pair (the study's), one per test module."""
    sk = X25519PrivateKey.generate()
    return sk, sk.public_key()


@pytest.fixture
def st(store_url):  # noqa: F811
    """A new empty store on each backend in turn."""
    s = open_store(store_url)
    assert isinstance(s, StoreBackend)
    yield s
    s.close()


@pytest.fixture
def pg_url(pg_server):  # noqa: F811
    """A fresh database on the session's PostgreSQL (PostgreSQL-only tests)."""
    url = pg_server.create_database()
    yield url
    pg_server.drop_database(url)
