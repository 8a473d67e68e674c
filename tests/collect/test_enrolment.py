"""One-time enrolment codes in the store (SQLite and PostgreSQL alike): a code gives its token once,
never after its time limit, never for a revoked token, never when unknown or malformed; the store
keeps only a hash of the code and the token wrapped under the code; two servers sharing one store
cannot both honour one code. Also the neutral shell's disguise setting. The store tests run on both
backends (the ``st`` fixture of tests/collect/conftest.py)."""

from __future__ import annotations

import threading
import time

import pytest

from quietpoll.collect import enrolment
from quietpoll.collect.shell import DEFAULT_ICON, Disguise, load_disguise
from quietpoll.errors import CollectError


def _raw(st) -> bytes:
    """Everything the store holds at rest about codes (the table's rows as bytes)."""
    if hasattr(st, "_run"):
        rows = st._run(lambda c: c.execute("SELECT code_id, wrapped, expires_at FROM enrol_codes").fetchall())
    else:
        rows = st._conn().execute("SELECT code_id, wrapped, expires_at FROM enrol_codes").fetchall()
    return b"".join(bytes(a) + bytes(b) + str(c).encode() for a, b, c in rows)


def test_a_code_gives_its_token_once(st):
    token = st.add_token("alice")
    code = st.add_enrol_code(token)
    assert enrolment.CODE_RE.fullmatch(code)
    raw = _raw(st)
    assert raw and code.encode() not in raw and token.encode() not in raw  # a hash and a wrapped token
    assert st.redeem_enrol_code(code) == token
    assert st.redeem_enrol_code(code) is None
    assert _raw(st) == b""  # gone once read


def test_expired_unknown_malformed_and_revoked_codes_give_nothing(st, monkeypatch):
    token = st.add_token("bob")
    expired = st.add_enrol_code(token, ttl=60)
    later = time.time() + 61
    with monkeypatch.context() as m:
        m.setattr(time, "time", lambda: later)
        assert st.redeem_enrol_code(expired) is None
    assert st.redeem_enrol_code(expired) is None  # and it was deleted by the attempt
    for bad in ("A" * 22, "", "A" * 21, "A" * 23, "A" * 21 + "!", None, 12, "é" * 22):
        assert st.redeem_enrol_code(bad) is None
    code = st.add_enrol_code(token)
    st.revoke_token("bob")
    assert st.redeem_enrol_code(code) is None


def test_bad_requests_for_a_code_are_refused(st):
    token = st.add_token("carol")
    with pytest.raises(CollectError, match="unknown or revoked"):
        st.add_enrol_code("no-such-token")
    for ttl in (0, 59, 8 * 24 * 3600, True, "60", float("nan")):
        with pytest.raises(CollectError, match="ttl"):
            st.add_enrol_code(token, ttl=ttl)


def test_expired_codes_are_purged(st, monkeypatch):
    token = st.add_token("dave")
    st.add_enrol_code(token, ttl=60)
    later = time.time() + 120
    monkeypatch.setattr(time, "time", lambda: later)
    st.add_enrol_code(token)
    if hasattr(st, "_run"):
        n = st._run(lambda c: c.execute("SELECT count(*) FROM enrol_codes").fetchone()[0])
    else:
        n = st._conn().execute("SELECT count(*) FROM enrol_codes").fetchone()[0]
    assert n == 1


def test_one_code_is_honoured_once_under_concurrency(st):
    token = st.add_token("erin")
    codes = [st.add_enrol_code(token) for _ in range(5)]
    results: list = []
    lock = threading.Lock()

    def redeem(code):
        got = st.redeem_enrol_code(code)
        with lock:
            results.append((code, got))

    threads = [threading.Thread(target=redeem, args=(c,)) for c in codes for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 20
    for code in codes:
        assert [got for c, got in results if c == code].count(token) == 1


def test_wrap_is_bound_to_its_code():
    code, other = enrolment.new_code(), enrolment.new_code()
    wrapped = enrolment.wrap_token(code, "tok")
    assert enrolment.unwrap_token(code, wrapped) == "tok"
    assert enrolment.unwrap_token(other, wrapped) is None
    assert enrolment.unwrap_token(code, wrapped[:-1] + bytes([wrapped[-1] ^ 1])) is None
    assert enrolment.unwrap_token(code, b"short") is None


def test_disguise_setting(tmp_path):
    assert load_disguise(None, tmp_path) == Disguise() and Disguise().title == "Notes"
    (tmp_path / "w.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 16)
    d = load_disguise({"title": "Weather", "name": "Sky", "icon": "w.png"}, tmp_path)
    assert (d.title, d.name, d.icon_type) == ("Weather", "Sky", "image/png") and d.icon != DEFAULT_ICON
    (tmp_path / "big.svg").write_bytes(b"<svg/>" + b" " * 300_000)
    (tmp_path / "w.gif").write_bytes(b"GIF89a")
    bad = [
        ({"title": ""}, "title"),
        ({"title": "x" * 61}, "title"),
        ({"name": "a\nb"}, "name"),
        ({"title": 3}, "title"),
        ({"icon": "w.gif"}, "icon"),
        ({"icon": "missing.png"}, "not found"),
        ({"icon": "big.svg"}, "larger"),
        ({"icon": 1}, "icon"),
        ({"colour": "red"}, "unknown key"),
        ("x", "table"),
    ]
    for section, message in bad:
        with pytest.raises(CollectError, match=message):
            load_disguise(section, tmp_path)
