"""Sealed submissions: padding, HPKE seal/open, binding of the ids, fixed vectors for the browser.

Regenerate tests/collect/vectors.json (only when the wire format changes on purpose):
    .venv/bin/python tests/collect/test_envelope.py
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from quietpoll.collect import envelope, keys
from quietpoll.collect.envelope import BUCKETS, open_sealed, pad, seal, unpad
from quietpoll.errors import CollectError

VECTORS = Path(__file__).with_name("vectors.json")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def pair():
    sk = X25519PrivateKey.generate()
    return sk, sk.public_key()


# -- padding -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n,bucket", [(0, 1024), (1020, 1024), (1021, 4096), (4092, 4096), (4093, 16384), (1048572, 1048576)]
)
def test_pad_bucket_edges(n, bucket):
    data = b"x" * n
    padded = pad(data)
    assert len(padded) == bucket
    assert padded[:4] == struct.pack(">I", n)
    assert unpad(padded) == data


def test_pad_too_large():
    with pytest.raises(CollectError, match="too large"):
        pad(b"x" * (BUCKETS[-1] - 3))


@given(st.binary(max_size=5000))
@settings(max_examples=50, deadline=None)
def test_pad_round_trip(data):
    padded = pad(data)
    assert len(padded) in BUCKETS
    assert unpad(padded) == data


@pytest.mark.parametrize(
    "bad",
    [b"", b"\x00" * 1000, struct.pack(">I", 2000) + b"\x00" * 1020, struct.pack(">I", 1) + b"a\x01" + b"\x00" * 1018],
)
def test_unpad_rejects(bad):
    with pytest.raises(CollectError):
        unpad(bad)


# -- seal / open ------------------------------------------------------------------------------------


def test_round_trip(pair):
    sk, pk = pair
    payload = {"age": 34, "region": "북한", "items": ["a", "b"], "note": None, "ok": True, "x": 1.5}
    text = seal(pk, "fm2024", "uuid:7c9e6679-7425-40de-944b-e07fc1f90ae7", payload)
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    wire = _b64url_decode(text)
    assert wire[0] == 1 and len(wire) == 1 + 32 + 1024 + 16
    assert open_sealed(sk, "fm2024", "uuid:7c9e6679-7425-40de-944b-e07fc1f90ae7", text) == payload
    # randomized: sealing twice gives different ciphertexts
    assert seal(pk, "fm2024", "i1", payload) != seal(pk, "fm2024", "i1", payload)


def test_padding_hides_length_within_bucket(pair):
    sk, pk = pair
    short = seal(pk, "f", "i1", {"a": "x"})
    longer = seal(pk, "f", "i2", {"a": "x" * 900, "b": list(range(20))})
    assert len(short) == len(longer)
    big = seal(pk, "f", "i3", {"a": "x" * 2000})
    assert len(_b64url_decode(big)) == 1 + 32 + 4096 + 16


def test_wrong_key(pair):
    _, pk = pair
    text = seal(pk, "f", "i", {"a": 1})
    with pytest.raises(CollectError, match="cannot be opened"):
        open_sealed(X25519PrivateKey.generate(), "f", "i", text)


def test_swapped_ids(pair):
    sk, pk = pair
    text = seal(pk, "form-a", "inst-1", {"a": 1})
    for f, i in [("form-b", "inst-1"), ("form-a", "inst-2"), ("inst-1", "form-a"), ("form-ainst-1", "x")]:
        with pytest.raises(CollectError, match="cannot be opened"):
            open_sealed(sk, f, i, text)
    # two submissions cannot trade ids
    other = seal(pk, "form-a", "inst-2", {"a": 2})
    with pytest.raises(CollectError):
        open_sealed(sk, "form-a", "inst-1", other)


def test_id_encoding_is_unambiguous():
    assert envelope.ids_bytes("ab", "c") != envelope.ids_bytes("a", "bc")
    assert len(envelope.info_for("f", "i")) == 56


@pytest.mark.parametrize("position", [0, 1, 20, 40, 500, -17, -1])
def test_tamper_any_byte(pair, position):
    sk, pk = pair
    text = seal(pk, "f", "i", {"secret": "canary-4711"})
    wire = bytearray(_b64url_decode(text))
    wire[position] ^= 0x01
    with pytest.raises(CollectError):
        open_sealed(sk, "f", "i", _b64url_encode(bytes(wire)))


@pytest.mark.parametrize(
    "text", ["", "!!!!", "abc", "A" * 10, _b64url_encode(b"\x01" + b"\x00" * 100), 42, "A" * 3_000_000]
)
def test_malformed_ciphertext(pair, text):
    sk, _ = pair
    with pytest.raises(CollectError):
        open_sealed(sk, "f", "i", text)
    with pytest.raises(CollectError):
        envelope.check_ciphertext(text)


def test_wrong_version(pair):
    sk, pk = pair
    wire = bytearray(_b64url_decode(seal(pk, "f", "i", {})))
    wire[0] = 2
    with pytest.raises(CollectError, match="version"):
        open_sealed(sk, "f", "i", _b64url_encode(bytes(wire)))


def test_padded_base64_accepted(pair):
    sk, pk = pair
    text = seal(pk, "f", "i", {"a": 1})
    assert open_sealed(sk, "f", "i", text + "=" * (-len(text) % 4)) == {"a": 1}


@pytest.mark.parametrize(
    "payload", [[1, 2], "text", {1: "a"}, {"x": float("nan")}, {"x": object()}, {"x": "y" * 1_048_600}]
)
def test_bad_payload(pair, payload):
    _, pk = pair
    with pytest.raises(CollectError):
        seal(pk, "f", "i", payload)


@pytest.mark.parametrize("form_id,instance_id", [("", "i"), ("f", ""), ("f" * 257, "i"), (None, "i"), ("f", 3)])
def test_bad_ids(pair, form_id, instance_id):
    _, pk = pair
    with pytest.raises(CollectError):
        seal(pk, form_id, instance_id, {})


def test_keys_from_files_work(tmp_path, monkeypatch):
    monkeypatch.setattr(keys, "SCRYPT_N", 2**12)
    pub, key = keys.new_keys(tmp_path, "a long enough passphrase")
    text = seal(keys.load_public(pub), "f", "i", {"q1": "yes"})
    assert open_sealed(keys.load_private(key, "a long enough passphrase"), "f", "i", text) == {"q1": "yes"}


# -- fixed vectors for a browser implementation -----------------------------------------------------

_VECTOR_CASES = [
    ("foreign_media_2025", "uuid:6f1c2b8e-3d4a-4f5b-9c6d-7e8f90a1b2c3", {"consent": "yes", "age": 34}),
    (
        "foreign_media_2025",
        "uuid:0b7a6c5d-4e3f-4a2b-8c1d-0e9f8a7b6c5d",
        {"q_lang": "ko", "q1": "남한 드라마", "media": ["radio", "usb"]},
    ),
    ("f", "i", {}),
    (
        "long_form",
        "uuid:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
        {"comment": "x" * 1500, "n": 1.25, "flag": False, "none": None},
    ),
]


def _vector_private_key() -> X25519PrivateKey:
    return X25519PrivateKey.from_private_bytes(hashlib.sha256(b"quietpoll test vector key v1").digest())


def make_vectors() -> dict:
    sk = _vector_private_key()
    pk = sk.public_key()
    out = []
    for form_id, instance_id, payload in _VECTOR_CASES:
        text = seal(pk, form_id, instance_id, payload)
        plain = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        out.append(
            {
                "form_id": form_id,
                "instance_id": instance_id,
                "payload": payload,
                "plaintext_utf8_hex": plain.hex(),
                "plaintext_length": len(plain),
                "bucket": len(pad(plain)),
                "ids_hex": envelope.ids_bytes(form_id, instance_id).hex(),
                "info_hex": envelope.info_for(form_id, instance_id).hex(),
                "aad_hex": "",
                "sealed_length": len(_b64url_decode(text)),
                "ciphertext": text,
            }
        )
    return {
        "description": (
            "quietpoll sealed-submission wire format v1 (see src/quietpoll/collect/envelope.py). "
            "HPKE base mode is randomized, so an implementation cannot reproduce 'ciphertext'; it must "
            "open each one with private_key (giving 'payload'), compute the same ids/info/bucket, and "
            "produce ciphertexts that quietpoll opens."
        ),
        "suite": {"mode": 0, "kem_id": 0x20, "kdf_id": 1, "aead_id": 3, "name": keys.SUITE["name"]},
        "version_byte": envelope.VERSION,
        "info_label": envelope.INFO_LABEL.decode(),
        "buckets": list(BUCKETS),
        "private_key_hex": sk.private_bytes_raw().hex(),
        "public_key_hex": pk.public_bytes_raw().hex(),
        "public_key_b64": base64.b64encode(pk.public_bytes_raw()).decode(),
        "key_id": keys.key_id(pk),
        "vectors": out,
    }


def test_vectors_file_opens():
    doc = json.loads(VECTORS.read_text(encoding="utf-8"))
    sk = X25519PrivateKey.from_private_bytes(bytes.fromhex(doc["private_key_hex"]))
    assert sk.public_key().public_bytes_raw().hex() == doc["public_key_hex"]
    assert doc["key_id"] == keys.key_id(sk.public_key())
    assert doc["buckets"] == list(BUCKETS) and doc["info_label"] == "quietpoll submission v1"
    assert len(doc["vectors"]) == len(_VECTOR_CASES)
    for v in doc["vectors"]:
        assert open_sealed(sk, v["form_id"], v["instance_id"], v["ciphertext"]) == v["payload"]
        assert envelope.ids_bytes(v["form_id"], v["instance_id"]).hex() == v["ids_hex"]
        assert envelope.info_for(v["form_id"], v["instance_id"]).hex() == v["info_hex"]
        assert len(pad(bytes.fromhex(v["plaintext_utf8_hex"]))) == v["bucket"]
        assert v["sealed_length"] == 1 + 32 + v["bucket"] + 16 == len(_b64url_decode(v["ciphertext"]))
        info = bytes.fromhex(v["info_hex"])
        assert info[:24] == b"quietpoll submission v1\x00"
        assert info[24:] == hashlib.sha256(bytes.fromhex(v["ids_hex"])).digest()


def test_make_vectors_is_consistent():
    doc = make_vectors()
    sk = X25519PrivateKey.from_private_bytes(bytes.fromhex(doc["private_key_hex"]))
    for v in doc["vectors"]:
        assert open_sealed(sk, v["form_id"], v["instance_id"], v["ciphertext"]) == v["payload"]


if __name__ == "__main__":
    VECTORS.write_text(json.dumps(make_vectors(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {VECTORS}")
