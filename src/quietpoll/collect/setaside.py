"""Setting rows aside at pull time: what makes a stored submission unusable, and interviewer pseudonyms.

A stored row is *set aside* (moved to the store's quarantine table, see
:meth:`quietpoll.collect.store.Store.set_aside`) instead of stopping :func:`quietpoll.collect.store.pull`
when it is

* ``undecryptable``: it does not open with the study key (random bytes sent with a valid token, a
  submission sealed to another key, or an envelope bound to another form or instance id: the HPKE
  ``info`` binds both, so an envelope moved to another id never opens);
* ``replayed``: it does not open and carries the HPKE encapsulated key (the first 33 bytes of the
  envelope) of another stored row: a copy of another envelope, whole or with its content altered;
* ``malformed``: it opens, but its content is not a usable answer object (field names that the
  linked repeat tables use for their keys, or an ``instance_id`` field naming another instance);
* ``conflict``: set aside by the store when it arrives: a second, different envelope under an instance
  id already stored (the first is kept).

Quarantined rows keep their ciphertext, alias and hour; ``quietpoll store quarantine`` lists them and
releases (back to the submissions, e.g. after pulling with the wrong key) or purges them. Their id is
a hash of their form id, instance id and ciphertext, so setting a row aside twice keeps one copy and the
ids carry no order.

Interviewer pseudonyms: ``pull`` writes :data:`PSEUDONYM_COLUMN` = HMAC-SHA256 of the token alias under
a key derived (HKDF-SHA256) from the study's private key. The pulled file never carries the alias the
lead typed, yet one interviewer maps to one pseudonym in every pull with that key; without the private
key the pseudonyms cannot be tied to aliases (even to guessed ones).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field

__all__ = ["REASONS", "PSEUDONYM_COLUMN", "quarantine_id", "pseudonymizer", "PullResult"]

REASONS = {
    "undecryptable": "does not open with the study key (junk, another key, or moved to another form or instance id)",
    "replayed": "does not open and reuses the envelope key of another stored submission (a replayed envelope)",
    "malformed": "opens, but its content is not a usable answer object",
    "conflict": "a second, different envelope under an instance id already stored (the first is kept)",
}

#: The pulled column holding each row's interviewer pseudonym.
PSEUDONYM_COLUMN = "_interviewer"

_PSEUDONYM_INFO = b"quietpoll interviewer pseudonym v1"


def quarantine_id(form_id: str, instance_id: str, ciphertext: str) -> str:
    """A quarantined row's id: 32 hex digits of SHA-256 over its form id, instance id and ciphertext."""
    h = hashlib.sha256()
    for part in (form_id, instance_id, ciphertext):
        raw = part.encode("utf-8")
        h.update(len(raw).to_bytes(4, "big") + raw)
    return h.hexdigest()[:32]


def pseudonymizer(private_key):
    """``alias -> pseudonym`` (``iv-`` and 16 base32 letters) keyed from ``private_key`` (the study's
    X25519 private key): stable per study key, opaque without it."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    raw = private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PSEUDONYM_INFO).derive(raw)
    cache: dict[str, str] = {}

    def pseudonym(alias: str) -> str:
        if alias not in cache:
            mac = hmac.new(key, alias.encode("utf-8"), hashlib.sha256).digest()
            cache[alias] = "iv-" + base64.b32encode(mac[:10]).decode("ascii").lower()
        return cache[alias]

    return pseudonym


@dataclass
class PullResult:
    """What :func:`quietpoll.collect.store.pull_all` did: ``rows`` written, ``files`` written, and the
    rows set aside by this pull (``[{"id", "instance_id", "form_id", "token_alias", "received_at",
    "reason"}]``; ``received_at`` None when they could not be moved)."""

    rows: int
    files: list = field(default_factory=list)
    quarantined: list[dict] = field(default_factory=list)
    moved: bool = True  # False: the store could not be written, the rows were listed but left in place

    @property
    def aliases(self) -> list[str]:
        return sorted({q["token_alias"] for q in self.quarantined})
