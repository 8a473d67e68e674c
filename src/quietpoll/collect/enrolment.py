"""One-time enrolment codes: how an interviewer's browser gets its token without the token ever
appearing in a URL.

``quietpoll tokens add`` makes a token and an enrolment code; the code travels in the fragment of the
enrolment path (``/f/ROUTE#e=CODE``), which Chromium does record in History and Sessions. So the code,
not the token, is what such a record can hold, and the code is dead after its first use or after
:data:`CODE_TTL` seconds: the page exchanges it once (``POST /f/ROUTE/enrol`` with ``{"code"}``,
``no-store``, no referrer) for the token.

What the store keeps per code (table ``enrol_codes``, SQLite and PostgreSQL alike):

* ``code_id`` = SHA-256("quietpoll enrol id" || 0x00 || code): the lookup key, never the code;
* ``wrapped`` = nonce || AES-256-GCM(token) under a key derived from the code by HKDF-SHA-256 (aad =
  ``code_id``): whoever holds the store at rest cannot read the token from it without the code;
* ``expires_at``: Unix seconds.

A code is deleted in the same statement that reads it (``DELETE ... RETURNING``), so two servers
sharing one store cannot both honour it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from quietpoll.errors import CollectError

__all__ = ["CODE_TTL", "CODE_RE", "new_code", "code_id", "wrap_token", "unwrap_token", "check_ttl", "expiry"]

#: Default life of an enrolment code, in seconds (one day).
CODE_TTL = 24 * 3600
#: Longest life a code may be given (seven days).
MAX_TTL = 7 * 24 * 3600
#: What a code looks like: 22 base64url characters (128 random bits).
CODE_RE = re.compile(r"[A-Za-z0-9_-]{22}")

_ID_LABEL = b"quietpoll enrol id\x00"
_WRAP_INFO = b"quietpoll enrol wrap v1"


def new_code() -> str:
    """A fresh enrolment code (128 random bits, base64url)."""
    return secrets.token_urlsafe(16)


def code_id(code: str) -> bytes:
    """The store's lookup key of ``code`` (a hash; the code itself is never stored)."""
    return hashlib.sha256(_ID_LABEL + code.encode("ascii")).digest()


def _key(code: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_WRAP_INFO).derive(code.encode("ascii"))


def wrap_token(code: str, token: str) -> bytes:
    """``token`` encrypted under a key only ``code`` gives (AES-256-GCM, the code's id as aad)."""
    nonce = secrets.token_bytes(12)
    return nonce + AESGCM(_key(code)).encrypt(nonce, token.encode("utf-8"), code_id(code))


def unwrap_token(code: str, wrapped: bytes) -> str | None:
    """The token wrapped under ``code``, or None when it does not open."""
    wrapped = bytes(wrapped)
    if len(wrapped) < 12 + 16:
        return None
    try:
        plain = AESGCM(_key(code)).decrypt(wrapped[:12], wrapped[12:], code_id(code))
    except InvalidTag:
        return None
    return plain.decode("utf-8")


def check_ttl(ttl: float) -> int:
    """``ttl`` as whole seconds, 60 to :data:`MAX_TTL` (else CollectError naming ``ttl``)."""
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not 60 <= ttl <= MAX_TTL:
        raise CollectError(f"ttl must be 60 to {MAX_TTL} seconds, got {ttl!r}")
    return int(ttl)


def expiry(ttl: float) -> int:
    return int(time.time()) + check_ttl(ttl)


def valid_code(code: object) -> bool:
    return isinstance(code, str) and CODE_RE.fullmatch(code) is not None
