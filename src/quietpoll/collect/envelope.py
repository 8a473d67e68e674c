"""Sealed submissions: one interview encrypted to the study's public key with HPKE (RFC 9180).

Wire format, version 1 (a browser implementation, e.g. @hpke/core, must produce exactly this):

1. **Suite.** HPKE Base mode (mode 0x00), DHKEM(X25519, HKDF-SHA256) (KEM id 0x0020), HKDF-SHA256
   (KDF id 0x0001), ChaCha20-Poly1305 (AEAD id 0x0003). Single-shot seal, one message per context.
   The recipient public key is the 32 raw bytes in ``keys/study.pub`` (``public_key``, base64).
2. **Plaintext.** ``P`` = UTF-8 bytes of the answers as a JSON object (any key order and spacing;
   the receiver parses it; Python writes ``json.dumps(payload, ensure_ascii=False,
   separators=(",", ":"))``). NaN and Infinity are not allowed.
3. **Padding.** ``L = len(P)``; ``B`` = the smallest of ``BUCKETS`` = (1024, 4096, 16384, 65536,
   262144, 1048576) with ``B >= L + 4``; larger -> refused. The padded plaintext is
   ``uint32_be(L) || P || 0x00 * (B - 4 - L)``, exactly ``B`` bytes. On opening, ``B`` must be a
   bucket size, ``L <= B - 4`` and every padding byte must be zero.

   **Uniform envelopes (one size per form).** A sender that knows the form's envelope size ``S``
   (:func:`quietpoll.collect.sizing.envelope_size`: the smallest bucket holding the form's largest
   possible payload; the page carries it as ``data-envelope-size``) pads **every** submission of that
   form to exactly ``B = S``, even when a smaller bucket would hold it, and refuses (never grows) a
   payload that does not fit: an interview's length then tells nothing of the branch it took.
   ``S`` is always one of ``BUCKETS``, so the wire format is unchanged (still version 1, and every
   envelope sealed before this change still opens); the server may refuse, for a form whose size it
   knows, an envelope of any other length. Without a size (``size=None``) the smallest bucket is
   used, as before.
4. **Binding the ids.** ``F``, ``I`` = UTF-8 of form_id and instance_id (each 1..256 bytes).
   ``ids = uint16_be(len(F)) || F || uint16_be(len(I)) || I``.
   ``info = b"quietpoll submission v1" || 0x00 || SHA-256(ids)`` (23 + 1 + 32 = 56 bytes).
   HPKE ``aad`` is empty. (pyca/cryptography's public single-shot API takes ``info`` but no ``aad``;
   RFC 9180 section 8.1 recommends ``info`` for auxiliary authenticated data in single-shot use.
   ``info`` enters the key schedule, so a submission opened under another form id or instance id,
   or with another key, fails authentication exactly as a wrong ``aad`` would. Hashing keeps ``info``
   at 56 bytes, under the 64 bytes every RFC 9180 implementation must accept.)
5. **Output.** ``enc`` (32 bytes) and ``ct`` (``B`` + 16 bytes) from the seal;
   ``wire = 0x01 || enc || ct`` (0x01 = this version: suite, padding and info as above);
   the text sent and stored is ``wire`` in base64url (RFC 4648 section 5) **without** ``=`` padding.
   Its decoded length is therefore 1 + 32 + B + 16 for a bucket B; anything else is rejected.

With @hpke/core, @hpke/dhkem-x25519 (``DhkemX25519HkdfSha256``) and @hpke/chacha20poly1305
(``Chacha20Poly1305``; WebCrypto has no ChaCha20)::

    const suite = new CipherSuite({kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(),
                                   aead: new Chacha20Poly1305()});
    const pk = await suite.kem.deserializePublicKey(rawPublicKey32);
    const sender = await suite.createSenderContext({recipientPublicKey: pk, info});
    const ct = await sender.seal(padded);            // aad empty
    wire = [0x01] ++ new Uint8Array(sender.enc) ++ new Uint8Array(ct)

``tests/collect/vectors.json`` holds a fixed key pair and sealed examples with every intermediate
value (ids, info, padded length) to check a browser implementation against.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from quietpoll.errors import CollectError

__all__ = [
    "BUCKETS",
    "VERSION",
    "INFO_LABEL",
    "MAX_ID_BYTES",
    "pad",
    "unpad",
    "ids_bytes",
    "info_for",
    "seal",
    "open_sealed",
    "check_ciphertext",
    "sealed_sizes",
    "drop_fields",
]

BUCKETS = (1024, 4096, 16384, 65536, 262144, 1048576)
VERSION = 0x01
INFO_LABEL = b"quietpoll submission v1"
MAX_ID_BYTES = 256
_ENC_LEN = 32
_TAG_LEN = 16
_SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)


def sealed_sizes() -> frozenset[int]:
    """Valid decoded lengths of a version-1 sealed submission (one per bucket)."""
    return frozenset(1 + _ENC_LEN + b + _TAG_LEN for b in BUCKETS)


_SIZES = sealed_sizes()
_MAX_TEXT = math.ceil(max(_SIZES) * 4 / 3) + 4


def _check_size(size: object) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or size not in BUCKETS:
        raise CollectError(f"the envelope size must be one of {', '.join(map(str, BUCKETS))}, got {size!r}")
    return size


def pad(plaintext: bytes, size: int | None = None) -> bytes:
    """``uint32_be(len) || plaintext || zeros`` up to exactly ``size`` (the form's envelope size, a
    bucket) or, without it, up to the smallest bucket that holds it. A payload that does not fit ->
    CollectError (never a larger envelope)."""
    data = bytes(plaintext)
    need = len(data) + 4
    if size is not None:
        size = _check_size(size)
        if need > size:
            raise CollectError(
                f"the submission is too large for this form's envelope: {len(data)} bytes of "
                f"answers, at most {size - 4}"
            )
        return struct.pack(">I", len(data)) + data + bytes(size - need)
    for bucket in BUCKETS:
        if need <= bucket:
            return struct.pack(">I", len(data)) + data + bytes(bucket - need)
    raise CollectError(f"the submission is too large: {len(data)} bytes of answers, at most {BUCKETS[-1] - 4} allowed")


def unpad(padded: bytes) -> bytes:
    """Inverse of :func:`pad`; rejects a size that is not a bucket, a bad length or nonzero padding."""
    data = bytes(padded)
    if len(data) not in BUCKETS:
        raise CollectError(f"padded submission has {len(data)} bytes, not a bucket size")
    (length,) = struct.unpack(">I", data[:4])
    if length > len(data) - 4:
        raise CollectError("padded submission has a length prefix beyond its end")
    if any(data[4 + length :]):
        raise CollectError("padded submission has nonzero padding")
    return data[4 : 4 + length]


def _id_bytes(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise CollectError(f"{what} must be text")
    raw = value.encode("utf-8")
    if not 1 <= len(raw) <= MAX_ID_BYTES:
        raise CollectError(f"{what} must be 1 to {MAX_ID_BYTES} bytes of UTF-8, got {len(raw)}")
    return raw


def ids_bytes(form_id: str, instance_id: str) -> bytes:
    """``uint16_be(len F) || F || uint16_be(len I) || I`` (UTF-8)."""
    f = _id_bytes(form_id, "form_id")
    i = _id_bytes(instance_id, "instance_id")
    return struct.pack(">H", len(f)) + f + struct.pack(">H", len(i)) + i


def info_for(form_id: str, instance_id: str) -> bytes:
    """The HPKE ``info``: label, a zero byte, SHA-256 of :func:`ids_bytes` (56 bytes)."""
    return INFO_LABEL + b"\x00" + hashlib.sha256(ids_bytes(form_id, instance_id)).digest()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode(ciphertext: object) -> bytes:
    if not isinstance(ciphertext, str):
        raise CollectError("ciphertext must be base64url text")
    if len(ciphertext) > _MAX_TEXT:
        raise CollectError("ciphertext is larger than any sealed submission")
    text = ciphertext.strip().rstrip("=")
    if not text or not _B64URL_RE.fullmatch(text) or len(text) % 4 == 1:
        raise CollectError("ciphertext is not base64url text")
    try:
        wire = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise CollectError("ciphertext is not base64url text") from None
    if len(wire) not in _SIZES:
        raise CollectError(f"ciphertext has {len(wire)} bytes, not the size of a sealed submission")
    if wire[0] != VERSION:
        raise CollectError(f"ciphertext has format version {wire[0]}, this quietpoll reads version {VERSION}")
    return wire


_B64URL_RE = re.compile("[A-Za-z0-9_-]+")  # the base64url alphabet, ASCII only; checked in C


def check_ciphertext(ciphertext: str, size: int | None = None) -> None:
    """Check the shape of a sealed submission without a key (base64url, version, a bucket size; with
    ``size``, the form's envelope size, exactly that padded size).

    For the server, which cannot open submissions: it rejects garbage early. CollectError if bad.
    """
    wire = _decode(ciphertext)
    if size is not None and len(wire) != 1 + _ENC_LEN + _check_size(size) + _TAG_LEN:
        raise CollectError(
            f"ciphertext has {len(wire)} bytes; every submission of this form has {1 + _ENC_LEN + size + _TAG_LEN}"
        )


def seal(public_key: X25519PublicKey, form_id: str, instance_id: str, payload: dict, size: int | None = None) -> str:
    """Encrypt ``payload`` (a JSON object) for the study key, bound to form_id and instance_id, padded
    to ``size`` (the form's envelope size) when given, else to the smallest bucket."""
    if not isinstance(public_key, X25519PublicKey):
        raise CollectError("seal needs the study's X25519 public key (quietpoll.collect.keys.load_public)")
    if not isinstance(payload, dict) or not all(isinstance(k, str) for k in payload):
        raise CollectError("the payload must be a dict with text keys")
    info = info_for(form_id, instance_id)
    try:
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise CollectError(f"the payload cannot be written as JSON: {exc}") from None
    sealed = _SUITE.encrypt(pad(text.encode("utf-8"), size), public_key, info=info)
    return _b64url(bytes([VERSION]) + sealed)


def open_sealed(private_key: X25519PrivateKey, form_id: str, instance_id: str, ciphertext: str) -> dict:
    """Decrypt a sealed submission; wrong key, tampering, or other ids -> CollectError (no content)."""
    if not isinstance(private_key, X25519PrivateKey):
        raise CollectError("open_sealed needs the study's X25519 private key (keys.load_private)")
    info = info_for(form_id, instance_id)
    wire = _decode(ciphertext)
    try:
        padded = _SUITE.decrypt(wire[1:], private_key, info=info)
    except (InvalidTag, ValueError):
        raise CollectError(
            f"submission {instance_id!r} cannot be opened: wrong key, damaged or altered ciphertext, "
            "or it belongs to another form or instance id"
        ) from None
    try:
        payload = json.loads(unpad(padded).decode("utf-8"))
    except (CollectError, UnicodeDecodeError, json.JSONDecodeError):
        raise CollectError(f"submission {instance_id!r} opened but its content is malformed") from None
    if not isinstance(payload, dict):
        raise CollectError(f"submission {instance_id!r} opened but is not a JSON object")
    return payload


def drop_fields(payload: dict, names) -> dict:
    """``payload`` without the fields called any of ``names`` (device-only fields an older client
    sealed), at every level: in repeats (lists of objects) too."""
    names = frozenset(names)
    if not names:
        return payload

    def clean(value):
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if k not in names}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return clean(payload)
