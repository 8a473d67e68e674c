"""Study keys: creation, passphrase protection, Shamir shares."""

from __future__ import annotations

import base64
import itertools
import json
import stat

import pytest

from quietpoll.collect import keys
from quietpoll.errors import CollectError, QuietpollError

PASS = "correct horse battery staple"


@pytest.fixture
def fast_scrypt(monkeypatch):
    """Cheaper scrypt for tests that make many key files (the cost is read back from each file)."""
    monkeypatch.setattr(keys, "SCRYPT_N", 2**12)


@pytest.fixture
def study(tmp_path, fast_scrypt):
    pub, key = keys.new_keys(tmp_path, PASS)
    return tmp_path, pub, key


def test_new_keys_files_and_round_trip(tmp_path):
    pub, key = keys.new_keys(tmp_path, PASS)  # the real cost, once
    assert pub == tmp_path / "keys" / "study.pub" and key == tmp_path / "keys" / "study.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    pub_doc = json.loads(pub.read_text())
    key_doc = json.loads(key.read_text())
    assert pub_doc["suite"] == {"kem_id": 0x20, "kdf_id": 1, "aead_id": 3, "name": keys.SUITE["name"]}
    assert key_doc["kdf"]["name"] == "scrypt"
    assert (key_doc["kdf"]["n"], key_doc["kdf"]["r"], key_doc["kdf"]["p"]) == (2**17, 8, 1)
    assert len(base64.b64decode(key_doc["kdf"]["salt"])) == 16
    assert len(base64.b64decode(key_doc["nonce"])) == 12
    assert pub_doc["key_id"] == key_doc["key_id"] and len(pub_doc["key_id"]) == 16
    public = keys.load_public(pub)
    private = keys.load_private(key, PASS)
    assert keys.key_id(private.public_key()) == keys.key_id(public) == pub_doc["key_id"]
    raw_private = private.private_bytes_raw()
    assert raw_private not in key.read_bytes() and base64.b64encode(raw_private) not in key.read_bytes()


def test_refuses_overwrite(study):
    tmp_path, pub, key = study
    before = key.read_bytes()
    with pytest.raises(CollectError, match="already exists"):
        keys.new_keys(tmp_path, PASS)
    assert key.read_bytes() == before


def test_short_passphrase(tmp_path):
    with pytest.raises(CollectError, match="at least 12"):
        keys.new_keys(tmp_path, "short pass")
    assert not (tmp_path / "keys" / "study.key").exists()


def test_missing_study(tmp_path):
    with pytest.raises(CollectError, match="not found"):
        keys.new_keys(tmp_path / "nope", PASS)


def test_wrong_passphrase(study):
    _, _, key = study
    with pytest.raises(CollectError, match="wrong passphrase or damaged key file"):
        keys.load_private(key, PASS + "!")
    with pytest.raises(CollectError, match="wrong passphrase or damaged key file"):
        keys.load_private(key, "short")


def test_passphrase_is_nfc_normalized(tmp_path, fast_scrypt):
    composed = "비밀번호는 아주 길어야 합니다"
    import unicodedata

    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    _, key = keys.new_keys(tmp_path, composed)
    keys.load_private(key, decomposed)


@pytest.mark.parametrize("field", ["key_id", "salt", "n", "nonce", "ciphertext", "aead", "suite", "public_key"])
def test_damaged_key_file(study, field):
    _, _, key = study
    doc = json.loads(key.read_text())
    if field == "key_id":
        doc["key_id"] = "0" * 16
    elif field == "salt":
        doc["kdf"]["salt"] = base64.b64encode(b"\x01" * 16).decode()
    elif field == "n":
        doc["kdf"]["n"] = 2**13
    elif field == "nonce":
        doc["nonce"] = base64.b64encode(b"\x00" * 12).decode()
    elif field == "ciphertext":
        ct = bytearray(base64.b64decode(doc["ciphertext"]))
        ct[3] ^= 1
        doc["ciphertext"] = base64.b64encode(bytes(ct)).decode()
    elif field == "aead":
        doc["aead"] = "AES-GCM"
    elif field == "suite":
        doc["suite"]["aead_id"] = 1
    elif field == "public_key":
        doc["public_key"] = base64.b64encode(b"\x09" * 32).decode()
    key.write_text(json.dumps(doc))
    with pytest.raises(CollectError):
        keys.load_private(key, PASS)


@pytest.mark.parametrize("content", [b"", b"not json", b"[]", b'{"format": "quietpoll-private-key"}', b"\xff\xfe"])
def test_garbage_key_file(tmp_path, content):
    p = tmp_path / "study.key"
    p.write_bytes(content)
    with pytest.raises(QuietpollError):
        keys.load_private(p, PASS)
    with pytest.raises(QuietpollError):
        keys.load_public(p)


def test_absurd_scrypt_cost_refused(study):
    _, _, key = study
    doc = json.loads(key.read_text())
    doc["kdf"]["n"] = 2**30
    key.write_text(json.dumps(doc))
    with pytest.raises(CollectError, match="out of range"):
        keys.load_private(key, PASS)


def test_public_key_file_checked(study):
    _, pub, _ = study
    doc = json.loads(pub.read_text())
    doc["key_id"] = "f" * 16
    pub.write_text(json.dumps(doc))
    with pytest.raises(CollectError, match="key id"):
        keys.load_public(pub)


def test_missing_files(tmp_path):
    with pytest.raises(CollectError, match="not found"):
        keys.load_public(tmp_path / "study.pub")
    with pytest.raises(CollectError, match="not found"):
        keys.load_private(tmp_path / "study.key", PASS)


# -- shares ------------------------------------------------------------------------------------------


def test_share_format(study):
    _, _, key = study
    shares = keys.split_key(key, PASS, 3, 5)
    kid = json.loads(key.read_text())["key_id"]
    assert len(shares) == 5 and len(set(shares)) == 5
    for i, share in enumerate(shares, start=1):
        parts = share.split("-")
        assert parts[:4] == ["qp1", kid, "3", str(i)]
        assert len(parts[4]) == 64 and len(parts[5]) == 8


def test_any_t_of_n_rebuild(study):
    tmp_path, _, key = study
    original = keys.load_private(key, PASS).private_bytes_raw()
    shares = keys.split_key(key, PASS, 3, 5)
    for n, subset in enumerate(itertools.combinations(shares, 3)):
        out = tmp_path / f"joined{n}.key"
        keys.join_key(list(subset), out, "a new passphrase here")
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
        assert keys.load_private(out, "a new passphrase here").private_bytes_raw() == original
    # more than t, and in any order, also works
    out = tmp_path / "all.key"
    keys.join_key(list(reversed(shares)), out, "a new passphrase here")
    assert keys.load_private(out, "a new passphrase here").private_bytes_raw() == original


def test_fewer_than_t_fail(study):
    tmp_path, _, key = study
    shares = keys.split_key(key, PASS, 3, 5)
    for subset in itertools.combinations(shares, 2):
        with pytest.raises(CollectError, match="need 3"):
            keys.join_key(list(subset), tmp_path / "x.key", "a new passphrase here")
    with pytest.raises(CollectError, match="need 3"):
        keys.join_key([shares[0], shares[0], shares[1]], tmp_path / "x.key", "a new passphrase here")
    assert not (tmp_path / "x.key").exists()


def test_mixed_key_ids_fail(study, tmp_path_factory):
    _, _, key = study
    other_dir = tmp_path_factory.mktemp("other")
    _, other_key = keys.new_keys(other_dir, PASS)
    a = keys.split_key(key, PASS, 2, 3)
    b = keys.split_key(other_key, PASS, 2, 3)
    with pytest.raises(CollectError, match="different keys"):
        keys.join_key([a[0], b[1]], other_dir / "x.key", "a new passphrase here")


def test_shares_of_two_splits_fail(study):
    tmp_path, _, key = study
    a = keys.split_key(key, PASS, 2, 3)
    b = keys.split_key(key, PASS, 2, 3)
    with pytest.raises(CollectError, match="do not rebuild"):
        keys.join_key([a[0], b[1]], tmp_path / "x.key", "a new passphrase here")
    with pytest.raises(CollectError, match="index 1"):
        keys.join_key([a[0], b[0], a[1]], tmp_path / "x.key", "a new passphrase here")
    c = keys.split_key(key, PASS, 3, 3)
    with pytest.raises(CollectError, match="thresholds"):
        keys.join_key([a[0], c[1], c[2]], tmp_path / "x.key", "a new passphrase here")


def test_mistyped_share(study):
    tmp_path, _, key = study
    shares = keys.split_key(key, PASS, 2, 3)
    body = shares[0]
    pos = 30
    typo = body[:pos] + ("0" if body[pos] != "0" else "1") + body[pos + 1 :]
    with pytest.raises(CollectError, match="mistyped"):
        keys.join_key([typo, shares[1]], tmp_path / "x.key", "a new passphrase here")
    with pytest.raises(CollectError, match="not a quietpoll key share"):
        keys.join_key(["hello", shares[1]], tmp_path / "x.key", "a new passphrase here")


def test_join_refuses_overwrite_and_short_passphrase(study):
    _, _, key = study
    shares = keys.split_key(key, PASS, 2, 2)
    with pytest.raises(CollectError, match="already exists"):
        keys.join_key(shares, key, "a new passphrase here")
    with pytest.raises(CollectError, match="at least 12"):
        keys.join_key(shares, key.with_name("new.key"), "short")


@pytest.mark.parametrize("t,n", [(1, 3), (4, 3), (0, 0), (2, 256)])
def test_bad_split_parameters(study, t, n):
    _, _, key = study
    with pytest.raises(CollectError):
        keys.split_key(key, PASS, t, n)


def test_split_needs_passphrase(study):
    _, _, key = study
    with pytest.raises(CollectError, match="wrong passphrase"):
        keys.split_key(key, "not the passphrase", 2, 3)
