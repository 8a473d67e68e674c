"""The study's key pair: creation, passphrase protection, and t-of-n Shamir shares.

No cryptography is implemented here; every primitive comes from a maintained library:

* key pair: X25519 (pyca/cryptography) for HPKE, RFC 9180 suite
  DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / ChaCha20-Poly1305 (KEM 0x0020, KDF 0x0001, AEAD 0x0003);
* private key at rest: scrypt (pyca/cryptography; n = 2**17, r = 8, p = 1, 16-byte random salt:
  128 MiB and about 0.3-0.5 s per derivation) -> 32-byte key -> ChaCha20-Poly1305 (pyca/cryptography)
  with a random 12-byte nonce; the associated data binds the format, suite, key id, public key, KDF name,
  parameters and salt, so editing any of them makes the file fail to open;
* shares: pycryptodome's ``Crypto.Protocol.SecretSharing.Shamir`` (GF(2^128), 16-byte secrets).

Files (JSON, UTF-8):

``STUDY/keys/study.pub`` (mode 0644)::

    {"format": "quietpoll-public-key", "version": 1,
     "suite": {"kem_id": 32, "kdf_id": 1, "aead_id": 3,
               "name": "DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305"},
     "key_id": "<16 hex>", "public_key": "<standard base64 of the 32 raw X25519 bytes>"}

``STUDY/keys/study.key`` (mode 0600, created exclusively, never overwritten)::

    {"format": "quietpoll-private-key", "version": 1, "suite": {...as above...},
     "key_id": "<16 hex>", "public_key": "<base64>",
     "kdf": {"name": "scrypt", "n": 131072, "r": 8, "p": 1, "salt": "<base64, 16 bytes>"},
     "aead": "ChaCha20-Poly1305", "nonce": "<base64, 12 bytes>",
     "ciphertext": "<base64: the 32 raw private-key bytes sealed, 48 bytes>"}

The associated data is the UTF-8 of ``json.dumps(obj, sort_keys=True, separators=(",", ":"))`` with
``obj = {"format", "version", "suite", "key_id", "public_key", "kdf", "aead"}`` taken from the file.

The key id is the first 16 hex digits (64 bits) of SHA-256 over the 32 raw public-key bytes.

Passphrases are NFC-normalized (so the same Korean or accented text typed on different keyboards
gives the same key), then encoded as UTF-8; at least 12 characters.

Shares. Shamir in pycryptodome shares 16-byte secrets, so the 32-byte private key is split as two
halves, each with its own independent random polynomial and the same (t, n); share ``i`` carries the
point ``i`` of both polynomials. Fewer than t shares reveal nothing about either half. A share is one
line of text::

    qp1-<key id, 16 hex>-<t>-<i>-<64 hex: half-1 share || half-2 share>-<8 hex check>

The check is the first 8 hex digits of SHA-256 over the text before it; it only catches typing
mistakes (it is not a secret and not a MAC). A rebuilt key is accepted only when its public key's
fingerprint equals the key id, so shares from different splits or different keys never produce a
wrong key silently.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import unicodedata
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from Crypto.Protocol.SecretSharing import Shamir

from quietpoll.errors import CollectError

__all__ = [
    "SUITE",
    "MIN_PASSPHRASE",
    "new_keys",
    "load_public",
    "load_private",
    "key_id",
    "split_key",
    "join_key",
    "share_threshold",
    "read_share_lines",
    "write_shares",
    "PublicKey",
    "PrivateKey",
]

PublicKey = X25519PublicKey
PrivateKey = X25519PrivateKey

SUITE = {
    "kem_id": 0x0020,
    "kdf_id": 0x0001,
    "aead_id": 0x0003,
    "name": "DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305",
}
MIN_PASSPHRASE = 12

# scrypt cost for new key files; the parameters are stored in each file and read back from it.
SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
# Upper bounds accepted when reading a key file, so a doctored file cannot make us allocate gigabytes.
_MAX_N = 2**20
_MAX_R = 16
_MAX_P = 4

_PUB_FORMAT = "quietpoll-public-key"
_KEY_FORMAT = "quietpoll-private-key"
_AEAD_NAME = "ChaCha20-Poly1305"
_SHARE_RE = re.compile(r"^qp1-([0-9a-f]{16})-(\d{1,3})-(\d{1,3})-([0-9a-f]{64})-([0-9a-f]{8})$")
_DAMAGED = "wrong passphrase or damaged key file"


# --------------------------------------------------------------------------------------------------
# helpers


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object, what: str, path: Path) -> bytes:
    if not isinstance(text, str):
        raise CollectError(f"{path}: {what} is missing or not text; {_DAMAGED}")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise CollectError(f"{path}: {what} is not valid base64; {_DAMAGED}") from None


def _raw_public(public_key: X25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _raw_private(private_key: X25519PrivateKey) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def key_id(public_key: X25519PublicKey) -> str:
    """The key id: first 16 hex digits of SHA-256 over the raw 32-byte public key."""
    return hashlib.sha256(_raw_public(public_key)).hexdigest()[:16]


def _passphrase_bytes(passphrase: str) -> bytes:
    if not isinstance(passphrase, str):
        raise CollectError("the passphrase must be text")
    normalized = unicodedata.normalize("NFC", passphrase)
    if len(normalized) < MIN_PASSPHRASE:
        raise CollectError(
            f"the passphrase is too short: use at least {MIN_PASSPHRASE} characters (a few unrelated words)"
        )
    return normalized.encode("utf-8")


def _aad(doc: dict) -> bytes:
    obj = {k: doc.get(k) for k in ("format", "version", "suite", "key_id", "public_key", "kdf", "aead")}
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("utf-8")


def _scrypt(passphrase: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase)


def _write_exclusive(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to a new file at ``path`` atomically; never replaces an existing file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        try:
            os.fchmod(fd, mode)
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # atomic and fails if ``path`` exists
        except FileExistsError:
            raise CollectError(f"{path} already exists; refusing to overwrite a key file") from None
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _encrypted_key_doc(private_key: X25519PrivateKey, passphrase: str) -> bytes:
    secret = _passphrase_bytes(passphrase)
    public_key = private_key.public_key()
    salt = os.urandom(16)
    nonce = os.urandom(12)
    doc: dict = {
        "format": _KEY_FORMAT,
        "version": 1,
        "suite": dict(SUITE),
        "key_id": key_id(public_key),
        "public_key": _b64(_raw_public(public_key)),
        "kdf": {"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(salt)},
        "aead": _AEAD_NAME,
        "nonce": _b64(nonce),
    }
    wrapping = _scrypt(secret, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    doc["ciphertext"] = _b64(ChaCha20Poly1305(wrapping).encrypt(nonce, _raw_private(private_key), _aad(doc)))
    return (json.dumps(doc, indent=2) + "\n").encode("utf-8")


def _public_doc(public_key: X25519PublicKey) -> bytes:
    doc = {
        "format": _PUB_FORMAT,
        "version": 1,
        "suite": dict(SUITE),
        "key_id": key_id(public_key),
        "public_key": _b64(_raw_public(public_key)),
    }
    return (json.dumps(doc, indent=2) + "\n").encode("utf-8")


def _read_json(path: str | os.PathLike[str], what: str) -> tuple[Path, dict]:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise CollectError(f"{p}: {what} not found") from None
    except OSError as exc:
        raise CollectError(f"{p}: cannot read the {what} ({exc.strerror})") from None
    if len(raw) > 64 * 1024:
        raise CollectError(f"{p}: not a quietpoll {what} (too large)")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CollectError(f"{p}: not a quietpoll {what} (not JSON)") from None
    if not isinstance(doc, dict):
        raise CollectError(f"{p}: not a quietpoll {what}")
    return p, doc


def _check_suite(p: Path, doc: dict) -> None:
    suite = doc.get("suite")
    if not isinstance(suite, dict) or any(suite.get(k) != SUITE[k] for k in ("kem_id", "kdf_id", "aead_id")):
        raise CollectError(f"{p}: unsupported HPKE suite {suite!r}; this quietpoll supports {SUITE['name']}")


# --------------------------------------------------------------------------------------------------
# public API


def new_keys(study_dir: str | os.PathLike[str], passphrase: str) -> tuple[Path, Path]:
    """Create STUDY/keys/study.pub and STUDY/keys/study.key; return their paths.

    Refuses (CollectError) a passphrase under 12 characters and existing key files.
    """
    _passphrase_bytes(passphrase)  # fail before any file is touched
    study = Path(study_dir)
    if not study.is_dir():
        raise CollectError(f"{study}: study folder not found")
    keys = study / "keys"
    pub_path = keys / "study.pub"
    key_path = keys / "study.key"
    for existing in (pub_path, key_path):
        if existing.exists():
            raise CollectError(f"{existing} already exists; refusing to overwrite the study's keys")
    keys.mkdir(mode=0o700, exist_ok=True)
    private_key = X25519PrivateKey.generate()
    _write_exclusive(key_path, _encrypted_key_doc(private_key, passphrase), 0o600)
    _write_exclusive(pub_path, _public_doc(private_key.public_key()), 0o644)
    return pub_path, key_path


def load_public(path: str | os.PathLike[str]) -> X25519PublicKey:
    """Read study.pub (or study.key's public part); checks the suite and that the key id matches."""
    p, doc = _read_json(path, "public key file")
    if doc.get("format") not in (_PUB_FORMAT, _KEY_FORMAT) or doc.get("version") != 1:
        raise CollectError(f"{p}: not a quietpoll public key file (format/version)")
    _check_suite(p, doc)
    raw = _unb64(doc.get("public_key"), "public_key", p)
    if len(raw) != 32:
        raise CollectError(f"{p}: the public key must be 32 bytes, found {len(raw)}")
    public_key = X25519PublicKey.from_public_bytes(raw)
    if doc.get("key_id") != key_id(public_key):
        raise CollectError(f"{p}: the key id does not match the public key; the file is damaged")
    return public_key


def load_private(path: str | os.PathLike[str], passphrase: str) -> X25519PrivateKey:
    """Decrypt study.key with ``passphrase``.

    Any failure (wrong passphrase, edited or truncated file) is one CollectError whose message
    contains "wrong passphrase or damaged key file".
    """
    p, doc = _read_json(path, "private key file")
    if doc.get("format") != _KEY_FORMAT or doc.get("version") != 1:
        raise CollectError(f"{p}: not a quietpoll private key file; {_DAMAGED}")
    _check_suite(p, doc)
    if doc.get("aead") != _AEAD_NAME:
        raise CollectError(f"{p}: unsupported key-file cipher {doc.get('aead')!r}; {_DAMAGED}")
    kdf = doc.get("kdf")
    if not isinstance(kdf, dict) or kdf.get("name") != "scrypt":
        raise CollectError(f"{p}: unsupported key derivation {kdf!r}; {_DAMAGED}")
    n, r, par = kdf.get("n"), kdf.get("r"), kdf.get("p")
    if not (type(n) is int and type(r) is int and type(par) is int):
        raise CollectError(f"{p}: bad scrypt parameters; {_DAMAGED}")
    if not (2 <= n <= _MAX_N and n & (n - 1) == 0 and 1 <= r <= _MAX_R and 1 <= par <= _MAX_P):
        raise CollectError(f"{p}: scrypt parameters out of range (n={n}, r={r}, p={par}); {_DAMAGED}")
    salt = _unb64(kdf.get("salt"), "kdf.salt", p)
    nonce = _unb64(doc.get("nonce"), "nonce", p)
    sealed = _unb64(doc.get("ciphertext"), "ciphertext", p)
    if len(nonce) != 12 or len(sealed) != 48 or len(salt) < 16:
        raise CollectError(f"{p}: fields have the wrong length; {_DAMAGED}")
    try:
        secret = _passphrase_bytes(passphrase)
    except CollectError:
        raise CollectError(f"{p}: {_DAMAGED}") from None
    wrapping = _scrypt(secret, salt, n, r, par)
    try:
        raw = ChaCha20Poly1305(wrapping).decrypt(nonce, sealed, _aad(doc))
    except InvalidTag:
        raise CollectError(f"{p}: {_DAMAGED}") from None
    private_key = X25519PrivateKey.from_private_bytes(raw)
    if key_id(private_key.public_key()) != doc.get("key_id"):
        raise CollectError(f"{p}: the key does not match its key id; {_DAMAGED}")
    return private_key


def _share_check(body: str) -> str:
    return hashlib.sha256(body.encode("ascii")).hexdigest()[:8]


def split_key(key_path: str | os.PathLike[str], passphrase: str, threshold: int, shares: int) -> list[str]:
    """Split the study's private key into ``shares`` text shares, any ``threshold`` of which rebuild it.

    2 <= threshold <= shares <= 255.
    """
    if type(threshold) is not int or type(shares) is not int:
        raise CollectError("threshold and number of shares must be whole numbers")
    if not (2 <= threshold <= shares <= 255):
        raise CollectError(f"need 2 <= threshold <= shares <= 255, got threshold {threshold} and {shares} shares")
    private_key = load_private(key_path, passphrase)
    kid = key_id(private_key.public_key())
    raw = _raw_private(private_key)
    first = Shamir.split(threshold, shares, raw[:16], ssss=False)
    second = Shamir.split(threshold, shares, raw[16:], ssss=False)
    out = []
    for (i1, s1), (i2, s2) in zip(first, second, strict=True):
        assert i1 == i2
        body = f"qp1-{kid}-{threshold}-{i1}-{(s1 + s2).hex()}"
        out.append(f"{body}-{_share_check(body)}")
    return out


def _parse_share(text: object, position: int) -> tuple[str, int, int, bytes]:
    if not isinstance(text, str):
        raise CollectError(f"share {position}: not text")
    share = text.strip().lower()
    m = _SHARE_RE.match(share)
    if m is None:
        raise CollectError(f"share {position}: not a quietpoll key share (expected qp1-KEYID-T-I-HEX-CHECK)")
    kid, t, i, hexpart, check = m.groups()
    body = share.rsplit("-", 1)[0]
    if _share_check(body) != check:
        raise CollectError(f"share {position} (index {int(i)}): check digits do not match; it was mistyped")
    t_i, i_i = int(t), int(i)
    if not (2 <= t_i <= 255 and 1 <= i_i <= 255):
        raise CollectError(f"share {position}: threshold or index out of range")
    return kid, t_i, i_i, bytes.fromhex(hexpart)


def join_key(shares: list[str], out_path: str | os.PathLike[str], new_passphrase: str) -> Path:
    """Rebuild the private key from at least ``t`` shares and write it, encrypted, to ``out_path``.

    Shares of different keys or thresholds, duplicate indices with different values, too few shares,
    or shares that do not rebuild the key named by their key id -> CollectError. Never overwrites.
    """
    _passphrase_bytes(new_passphrase)
    if isinstance(shares, str) or not shares:
        raise CollectError("give the shares as a list of share lines")
    parsed = [_parse_share(s, pos) for pos, s in enumerate(shares, start=1)]
    kids = {p[0] for p in parsed}
    if len(kids) != 1:
        raise CollectError(f"the shares belong to different keys ({', '.join(sorted(kids))})")
    thresholds = {p[1] for p in parsed}
    if len(thresholds) != 1:
        raise CollectError(f"the shares have different thresholds ({', '.join(map(str, sorted(thresholds)))})")
    kid, threshold = kids.pop(), thresholds.pop()
    by_index: dict[int, bytes] = {}
    for _, _, index, value in parsed:
        if index in by_index and by_index[index] != value:
            raise CollectError(f"two different shares carry index {index}; they come from different splits")
        by_index[index] = value
    if len(by_index) < threshold:
        raise CollectError(f"need {threshold} different shares of key {kid}, got {len(by_index)}")
    chosen = sorted(by_index.items())
    half1 = Shamir.combine([(i, v[:16]) for i, v in chosen], ssss=False)
    half2 = Shamir.combine([(i, v[16:]) for i, v in chosen], ssss=False)
    private_key = X25519PrivateKey.from_private_bytes(half1 + half2)
    if key_id(private_key.public_key()) != kid:
        raise CollectError(f"the shares do not rebuild key {kid}: they come from different splits or one is wrong")
    out = Path(out_path)
    if not out.parent.is_dir():
        raise CollectError(f"{out.parent}: folder not found")
    if out.exists():
        raise CollectError(f"{out} already exists; refusing to overwrite a key file")
    _write_exclusive(out, _encrypted_key_doc(private_key, new_passphrase), 0o600)
    return out


def share_threshold(text: str) -> int:
    """How many shares rebuild the key that the share ``text`` belongs to (checked like :func:`join_key`)."""
    return _parse_share(text, 1)[1]


def read_share_lines(text: str) -> list[str]:
    """The shares in ``text``: one a line; blank lines and lines starting with ``#`` are ignored."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def write_shares(shares: list[str], folder: str | os.PathLike[str]) -> list[Path]:
    """Write each share to ``folder/share-<index>.txt`` (a new folder, mode 0700; files 0600, created so,
    never overwritten) for the custodians to take away; returns the paths."""
    out = Path(folder)
    try:
        os.mkdir(out, 0o700)
    except FileExistsError:
        raise CollectError(f"{out} already exists; give a new folder for the shares (none was written)") from None
    except FileNotFoundError:
        raise CollectError(f"{out.parent}: folder not found") from None
    paths: list[Path] = []
    for share in shares:
        index = _parse_share(share, len(paths) + 1)[2]
        path = out / f"share-{index}.txt"
        _write_exclusive(path, (share + "\n").encode("ascii"), 0o600)
        paths.append(path)
    return paths
