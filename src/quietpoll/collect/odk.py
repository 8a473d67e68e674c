"""Importing submissions of ODK *encrypted forms* (ODK Collect, KoboToolbox, Enketo) with the ODK private key.

So that ODK and KoboToolbox users can move over, :func:`import_odk` reads encrypted submissions as ODK
Briefcase stores them, or as downloaded from ODK Central, decrypts them on the key holder's machine and
writes a responses file for the form, as :func:`quietpoll.collect.store.pull` does.

The format (ODK XForms specification, "Encryption"; ODK Collect's ``EncryptionUtils``; ODK Central's
submission decryption), followed exactly:

* each submission is a *manifest* XML (root with ``encrypted="yes"`` and the form ``id``, optional
  ``version``) naming ``base64EncryptedKey``, ``encryptedXmlFile`` (``submission.xml.enc``),
  ``media/file`` entries (``photo.jpg.enc``; their order is significant), ``meta/instanceID`` and
  ``base64EncryptedElementSignature``;
* the 256-bit AES key is wrapped with RSA-OAEP, SHA-256 and MGF1-SHA-256 (Java's
  ``RSA/NONE/OAEPWithSHA256AndMGF1Padding`` under BouncyCastle);
* the files are encrypted with AES-256-CFB (128-bit feedback) after PKCS#7 padding (Java's
  "AES/CFB/PKCS5Padding"), media first in manifest order, the XML last; the IV of the i-th file
  (i = 0, 1, ...) is the MD5 of ``instanceID`` (UTF-8) followed by the AES key, with byte ``i % 16``
  incremented by one for every file up to and including the i-th (cumulatively);
* the "signature" is the MD5 of the lines ``form id``, ``version`` (only when present), the
  ``base64EncryptedKey`` text, ``instanceID``, then ``name::md5hex`` of each decrypted file in
  encryption order (``name`` without ``.enc``), each line ending in ``\\n``; that MD5 is RSA-OAEP
  encrypted with the form's *public* key.

**The ODK signature proves nothing about who made a submission.** It is encrypted with the public
key, which every device that has the form holds, so anybody can make a valid "signature" for any
content they like. It is an *integrity* check against accidental damage (a truncated download, files
of two submissions mixed up), not authenticity: a forged or altered submission made with the public key
passes it. It is checked for every submission (constant-time comparison) and a submission without one
is refused as damaged; who may submit is decided by the ODK server's accounts, which this command
cannot see. :data:`SIGNATURE_NOTE` says so in the command's output.

Sources (a folder or a ``.zip`` of it):

* **ODK Briefcase storage** - ``[ODK Briefcase Storage/forms/FORM/]instances/<dir>/submission.xml``
  (the manifest) beside ``submission.xml.enc`` and the media ``*.enc``;
* **ODK Central** - each submission's XML (``GET .../submissions/{instanceId}.xml``, the manifest for
  an encrypted form) with its attachments (``GET .../submissions/{instanceId}/attachments/{name}``),
  either in one folder per submission or as ``NAME.xml`` beside a folder ``NAME/`` (or
  ``NAME/attachments/``) holding the ``.enc`` files. Central's decrypted CSV export is not this
  command's input: read it with ``quietpoll validate`` directly.

Any other ``.xml`` whose root carries an ``id`` attribute is an unencrypted submission and is refused;
XForm definitions (root ``html``) and other files are ignored; an ``.enc`` file no manifest names is
refused (its manifest is missing).

Names taken from submissions are checked before use: an instance id must be letters, digits and
``: . _ -`` (starting with a letter or digit, no ``..``); a media file name must be one plain name (no
``/``, ``\\``, NUL, control or format characters, not starting with ``.`` or ``-``). Every output path is
resolved and must lie inside its output folder; folders and files are opened relative to the folder's
descriptor with ``O_NOFOLLOW`` and created with ``O_EXCL`` (a symbolic link planted in the output folder
is refused, never followed), so nothing is written outside the folder and no existing file is ever
overwritten: an existing output file -> CollectError naming it, before anything is written. Files are
created mode 0600 and folders 0700 (the answers are decrypted).

Output: one row per submission (ordered by instance id): ``instance_id`` first, then every field of the
submission XML in document order, groups flattened as ODK Briefcase / Central name CSV columns
(``group-subgroup-question``, ``meta-instanceID``), ``integer`` and ``decimal`` questions as numbers
(text when a value is not a number: nothing is lost), everything else as text, and ``KEY``. Each
repeat goes to its own file ``OUT-<repeat>.<ext>`` beside ``OUT``, with ``PARENT_KEY``, ``KEY``
(``uuid:.../rep[2]``) and ``SET-OF-<repeat>`` as Briefcase writes them, so
:func:`quietpoll.instrument.exports.read_responses` links them back. Decrypted media files go to a
folder (one sub-folder per submission). Everything is decrypted and checked before anything is
written.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.decrepit.ciphers.modes import CFB  # ODK's mode; "decrepit" in pyca since 47
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from quietpoll.collect.odk_files import check_instance_id as _check_instance_id, plain_name as _plain_name
from quietpoll.errors import CollectError, InputError

if TYPE_CHECKING:
    from quietpoll.instrument.form import Instrument, Question

__all__ = [
    "EncryptedSubmission",
    "ImportResult",
    "decrypt_submission",
    "find_submissions",
    "import_odk",
    "key_needs_passphrase",
    "load_odk_key",
    "rows_from_xml",
]

_OAEP = asym_padding.OAEP(mgf=asym_padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
_MAX_MEMBER = 512 * 1024 * 1024  # bytes of one file in a zip source
_MAX_XML = 64 * 1024 * 1024  # bytes of one manifest or submission XML

#: What the ODK "signature" check means; printed by ``quietpoll import-odk``.
SIGNATURE_NOTE = (
    "ODK's submission signature is made with the form's public key, which anybody with the form "
    "has: it was checked against accidental damage, but it does not show who made a submission "
    "or that nobody changed it on purpose"
)


# -------------------------------------------------------------------------------------------------
# the ODK private key


def _read_key_bytes(path: str | os.PathLike[str]) -> bytes:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: ODK private key file not found (give --key PATH to the form's RSA key, PEM)")
    data = p.read_bytes()
    if b"-----BEGIN" not in data or b"PRIVATE KEY-----" not in data:
        raise CollectError(
            f"{p}: not a PEM private key (expected '-----BEGIN RSA PRIVATE KEY-----' or "
            "'-----BEGIN PRIVATE KEY-----'); give the ODK form's private key"
        )
    return data


def key_needs_passphrase(path: str | os.PathLike[str]) -> bool:
    """Whether the PEM private key at ``path`` is encrypted under a passphrase."""
    data = _read_key_bytes(path)
    return b"ENCRYPTED PRIVATE KEY" in data or b"Proc-Type: 4,ENCRYPTED" in data


def load_odk_key(path: str | os.PathLike[str], passphrase: str | None = None) -> RSAPrivateKey:
    """The ODK form's RSA private key from a PEM file (PKCS#1 or PKCS#8, optionally passphrase-protected)."""
    data = _read_key_bytes(path)
    password = passphrase.encode("utf-8") if passphrase else None
    try:
        key = serialization.load_pem_private_key(data, password=password)
    except TypeError:
        if password is None:
            raise CollectError(
                f"{path}: the private key is protected by a passphrase; set "
                "QUIETPOLL_ODK_PASSPHRASE or run in a terminal to be asked"
            ) from None
        key = serialization.load_pem_private_key(data, password=None)
    except ValueError:
        if password is not None:
            raise CollectError(f"{path}: wrong passphrase for the ODK private key (or a damaged key file)") from None
        raise CollectError(f"{path}: the ODK private key cannot be read (damaged PEM)") from None
    if not isinstance(key, RSAPrivateKey):
        raise CollectError(f"{path}: not an RSA key; ODK encrypted forms use RSA key pairs")
    return key


# -------------------------------------------------------------------------------------------------
# sources: a folder or a zip


class _Source:
    """Files of a folder or a zip file by relative POSIX path."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        self._files: dict[str, object] = {}
        if path.is_dir():
            for p in sorted(path.rglob("*")):
                if p.is_file():
                    self._files[p.relative_to(path).as_posix()] = p
        elif path.is_file() and zipfile.is_zipfile(path):
            self._zip = zipfile.ZipFile(path)
            for info in self._zip.infolist():
                name = info.filename
                parts = PurePosixPath(name).parts
                if info.is_dir() or not parts:
                    continue
                if name.startswith("/") or ".." in parts or "\\" in name:
                    raise CollectError(f"{path}: unsafe member name {name!r} in the zip; refusing to read it")
                self._files[name] = info
        elif path.exists():
            raise InputError(f"{path}: neither a folder nor a zip file of ODK submissions")
        else:
            raise InputError(f"{path}: not found (give an ODK Briefcase storage folder or a Central download)")

    def names(self) -> list[str]:
        return list(self._files)

    def has(self, name: str) -> bool:
        return name in self._files

    def read(self, name: str, limit: int = _MAX_MEMBER) -> bytes:
        item = self._files[name]
        if isinstance(item, Path):
            if item.stat().st_size > limit:
                raise CollectError(f"{self.path}: {name} is larger than {limit} bytes")
            return item.read_bytes()
        assert self._zip is not None
        if item.file_size > limit:  # type: ignore[attr-defined]
            raise CollectError(f"{self.path}: {name} is larger than {limit} bytes")
        return self._zip.read(item)  # type: ignore[arg-type]

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


# -------------------------------------------------------------------------------------------------
# manifests


@dataclass(frozen=True)
class EncryptedSubmission:
    """One encrypted submission as its manifest describes it; ``files`` maps each encrypted file name
    (``submission.xml.enc``, ``photo.jpg.enc``) to its path inside the source."""

    where: str
    form_id: str
    version: str | None
    instance_id: str
    encrypted_key: str
    xml_file: str
    media: tuple[str, ...]
    signature: str | None
    files: dict[str, str] = field(default_factory=dict)


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _parse_xml(data: bytes, where: str) -> ET.Element:
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        raise CollectError(f"{where}: XML with a DOCTYPE or entities is not an ODK submission; refusing to parse it")
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise CollectError(f"{where}: not well-formed XML ({exc})") from None


def _child(elem: ET.Element, name: str) -> ET.Element | None:
    for c in elem:
        if _local(c.tag) == name:
            return c
    return None


def _text(elem: ET.Element | None) -> str | None:
    if elem is None or elem.text is None:
        return None
    value = elem.text.strip()
    return value or None


def _check_file_name(name: str | None, where: str, what: str) -> str:
    if not name or not name.endswith(".enc") or not _plain_name(name) or not _plain_name(name[: -len(".enc")]):
        raise CollectError(
            f"{where}: the manifest names {what} {name!r}; expected a plain file name ending in .enc "
            "(no folders, '..', control characters or leading '.' or '-')"
        )
    return name


def _manifest(root: ET.Element, where: str) -> EncryptedSubmission:
    form_id = root.get("id")
    if not form_id:
        raise CollectError(f"{where}: the manifest has no form id (attribute 'id' of its root)")
    meta = _child(root, "meta")
    instance_id = _text(_child(meta, "instanceID")) if meta is not None else None
    instance_id = instance_id or root.get("instanceID")
    if not instance_id:
        raise CollectError(f"{where}: the manifest has no meta/instanceID")
    _check_instance_id(instance_id, where)
    key = _text(_child(root, "base64EncryptedKey"))
    if not key:
        raise CollectError(f"{where}: submission {instance_id!r} has no base64EncryptedKey in its manifest")
    xml_file = _check_file_name(_text(_child(root, "encryptedXmlFile")), where, "the encrypted XML file")
    media: list[str] = []
    for m in root:
        if _local(m.tag) == "media":
            for f in m.iter():
                if f is not m and _local(f.tag) == "file":
                    media.append(_check_file_name(_text(f), where, "a media file"))
    names = [*media, xml_file]
    if len(set(names)) != len(names):
        raise CollectError(f"{where}: submission {instance_id!r} lists the same file twice in its manifest")
    return EncryptedSubmission(
        where=where,
        form_id=form_id,
        version=root.get("version"),
        instance_id=instance_id,
        encrypted_key=key,
        xml_file=xml_file,
        media=tuple(media),
        signature=_text(_child(root, "base64EncryptedElementSignature")),
    )


def _locate(source: _Source, manifest_path: str, sub: EncryptedSubmission) -> dict[str, str]:
    """Each encrypted file beside the manifest, in a folder named after it, or in its attachments/."""
    folder = PurePosixPath(manifest_path).parent
    stem = PurePosixPath(manifest_path).stem
    places = [folder, folder / stem, folder / stem / "attachments"]
    found: dict[str, str] = {}
    for name in (*sub.media, sub.xml_file):
        for place in places:
            candidate = (place / name).as_posix()
            candidate = candidate[2:] if candidate.startswith("./") else candidate
            if source.has(candidate):
                found[name] = candidate
                break
        else:
            raise CollectError(
                f"submission {sub.instance_id!r} ({manifest_path}): file {name!r} named in its manifest is "
                f"missing from {source.path}; copy it from the server (ODK Briefcase pull or Central attachments)"
            )
    return found


def find_submissions(source: str | os.PathLike[str]) -> list[EncryptedSubmission]:
    """The encrypted submissions of an ODK Briefcase storage folder or a Central download (folder or
    zip), ordered by instance id. Unencrypted submissions, duplicated instance ids and ``.enc`` files
    that no manifest names are refused (CollectError)."""
    src = _Source(Path(source))
    try:
        return _find(src)
    finally:
        src.close()


def _find(src: _Source) -> list[EncryptedSubmission]:
    subs: dict[str, EncryptedSubmission] = {}
    used: set[str] = set()
    for name in src.names():
        if not name.lower().endswith(".xml") or PurePosixPath(name).name.startswith("."):
            continue
        where = f"{src.path}/{name}" if src.path.is_dir() else f"{src.path}:{name}"
        root = _parse_xml(src.read(name, _MAX_XML), where)
        if _local(root.tag) == "html" or root.get("id") is None:
            continue  # an XForm definition or some other XML
        if (root.get("encrypted") or "").lower() != "yes":
            meta = _child(root, "meta")
            iid = (_text(_child(meta, "instanceID")) if meta is not None else None) or root.get("instanceID") or "?"
            raise CollectError(
                f"{where}: submission {iid!r} of form {root.get('id')!r} is not encrypted; import-odk reads "
                "encrypted forms only (export unencrypted ODK data as CSV and give it to quietpoll validate)"
            )
        sub = _manifest(root, where)
        if sub.instance_id in subs:
            raise CollectError(
                f"submission {sub.instance_id!r} appears twice ({subs[sub.instance_id].where} and {where}); "
                "keep one copy of each submission in the source"
            )
        files = _locate(src, name, sub)
        used.update(files.values())
        subs[sub.instance_id] = replace(sub, files=files)
    orphans = [n for n in src.names() if n.lower().endswith(".enc") and n not in used]
    if orphans:
        raise CollectError(
            f"{src.path}: {orphans[0]} belongs to no submission manifest ({len(orphans)} such file(s)); "
            "its submission.xml manifest is missing: pull the submission again"
        )
    if not subs:
        raise CollectError(
            f"{src.path}: no encrypted ODK submission found (expected instances/<id>/submission.xml "
            "manifests with their .enc files)"
        )
    return [subs[k] for k in sorted(subs)]


# -------------------------------------------------------------------------------------------------
# decryption


def _b64(text: str, what: str, sub: EncryptedSubmission) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise CollectError(f"submission {sub.instance_id!r}: {what} in its manifest is not base64") from None


def _ivs(instance_id: str, key: bytes, n: int) -> list[bytes]:
    seed = bytearray(hashlib.md5(instance_id.encode("utf-8") + key).digest())
    out = []
    for i in range(n):
        seed[i % 16] = (seed[i % 16] + 1) & 0xFF
        out.append(bytes(seed))
    return out


def _decrypt_file(key: bytes, iv: bytes, data: bytes, name: str, sub: EncryptedSubmission) -> bytes:
    damaged = CollectError(
        f"submission {sub.instance_id!r}: {name} cannot be decrypted (the file is damaged or was changed)"
    )
    if not data or len(data) % 16:
        raise damaged
    decryptor = Cipher(algorithms.AES(key), CFB(iv)).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise damaged from None


def _signature_source(sub: EncryptedSubmission, plain: dict[str, bytes]) -> bytes:
    lines = [sub.form_id]
    if sub.version is not None:
        lines.append(sub.version)
    lines += [sub.encrypted_key, sub.instance_id]
    for name in (*sub.media, sub.xml_file):
        lines.append(f"{name[: -len('.enc')]}::{hashlib.md5(plain[name]).hexdigest()}")
    return "".join(line + "\n" for line in lines).encode("utf-8")


def decrypt_submission(
    private_key: RSAPrivateKey, sub: EncryptedSubmission, read: Callable[[str], bytes]
) -> tuple[bytes, dict[str, bytes]]:
    """The decrypted submission XML and media (original name -> bytes) of one submission, after
    checking its signature. ``read`` returns a file of the source by its path there."""
    if sub.signature is None:
        raise CollectError(
            f"submission {sub.instance_id!r} has no base64EncryptedElementSignature, so it cannot be checked for "
            "damage; refusing it"
        )
    wrapped = _b64(sub.encrypted_key, "base64EncryptedKey", sub)
    try:
        key = private_key.decrypt(wrapped, _OAEP)
    except ValueError:
        raise CollectError(
            f"submission {sub.instance_id!r} (form {sub.form_id!r}) cannot be opened with this ODK private key; "
            "is it the key of that form? nothing was written"
        ) from None
    if len(key) != 32:
        raise CollectError(f"submission {sub.instance_id!r}: the unwrapped key has {len(key)} bytes, not 32 (AES-256)")
    names = (*sub.media, sub.xml_file)
    plain = {
        name: _decrypt_file(key, iv, read(sub.files[name]), name, sub)
        for name, iv in zip(names, _ivs(sub.instance_id, key, len(names)), strict=True)
    }
    try:
        expected = private_key.decrypt(_b64(sub.signature, "base64EncryptedElementSignature", sub), _OAEP)
    except ValueError:
        expected = b""
    actual = hashlib.md5(_signature_source(sub, plain)).digest()
    if not hmac.compare_digest(expected, actual):
        raise CollectError(
            f"submission {sub.instance_id!r} ({sub.where}): the signature does not match its files; they are "
            "damaged or were swapped (the ODK signature detects accidents, not forgery). Nothing was written"
        )
    media = {name[: -len(".enc")]: plain[name] for name in sub.media}
    return plain[sub.xml_file], media


# -------------------------------------------------------------------------------------------------
# submission XML -> rows


def _typed(question: Question | None, text: str | None) -> object:
    if text is None:
        return None
    if question is not None and question.type in ("integer", "int"):
        try:
            return int(text)
        except ValueError:
            return text
    if question is not None and question.type == "decimal":
        try:
            return float(text)
        except ValueError:
            return text
    return text


def rows_from_xml(root: ET.Element, instrument: Instrument, key: str) -> tuple[dict, dict[str, list[dict]]]:
    """One submission's fields as (main row, repeat name -> rows), named as ODK Briefcase / Central
    name CSV columns (see the module docstring)."""
    by_path = {q.path: q for q in instrument.questions}
    by_name: dict[str, Question | None] = {}
    for q in instrument.questions:
        by_name[q.name] = None if q.name in by_name else q
    repeats = set(instrument.repeats)
    tables: dict[str, list[dict]] = {}

    def walk(elem: ET.Element, full: tuple[str, ...], rel: tuple[str, ...], row_key: str, row: dict) -> None:
        counts: dict[str, int] = {}
        for child in elem:
            name = _local(child.tag)
            if not name:
                continue
            path = (*full, name)
            if name in repeats:
                if len(child) == 0 and not (child.text or "").strip():
                    continue  # an empty repeat element: no instance
                counts[name] = counts.get(name, 0) + 1
                set_of = f"{row_key}/{name}"
                child_key = f"{set_of}[{counts[name]}]"
                row[f"SET-OF-{name}"] = set_of
                sub_row: dict = {}
                walk(child, path, (), child_key, sub_row)
                sub_row.update({"PARENT_KEY": row_key, "KEY": child_key, f"SET-OF-{name}": set_of})
                tables.setdefault(name, []).append(sub_row)
            elif len(child):
                walk(child, path, (*rel, name), row_key, row)
            else:
                q = by_path.get("/".join(path)) or by_name.get(name)
                row["-".join((*rel, name))] = _typed(q, _text(child))

    main: dict = {}
    walk(root, (), (), key, main)
    main["KEY"] = key
    return main, tables


# -------------------------------------------------------------------------------------------------
# the import


@dataclass(frozen=True)
class ImportResult:
    """What :func:`import_odk` wrote."""

    submissions: int
    files: tuple[Path, ...]
    repeats: dict[str, int]
    media_files: int
    media_dir: Path | None


def import_odk(
    source: str | os.PathLike[str],
    private_key: RSAPrivateKey,
    instrument: Instrument,
    out_path: str | os.PathLike[str],
    media_dir: str | os.PathLike[str] | None = None,
) -> ImportResult:
    """Decrypt every encrypted submission of ``source`` (Briefcase storage or Central download, folder or
    zip) for ``instrument`` into ``out_path`` (by extension, via :func:`quietpoll.io.write_data`),
    repeats into ``OUT-<repeat>.<ext>`` beside it, media into ``media_dir`` (default: a folder
    ``<OUT stem>-media`` beside ``out_path``, made only when there are media files).

    Every submission is decrypted and checked (signature, form id, instance id) before anything is
    written; a failure -> CollectError naming the submission. An output file that already exists, a
    symbolic link in the media folder or a name that would leave it -> CollectError naming it, before
    anything is written; files are created 0600 (see the module docstring).
    """
    from quietpoll.collect.odk_files import checked_part, media_plan, write_media
    from quietpoll.collect.store import records_frame
    from quietpoll.io import write_data

    src = _Source(Path(source))
    try:
        subs = _find(src)
        for sub in subs:
            if sub.form_id != instrument.form_id:
                raise CollectError(
                    f"submission {sub.instance_id!r} is of form {sub.form_id!r}, but the form given is "
                    f"{instrument.form_id!r} ({instrument.source}); import each form with its own XLSForm "
                    "(point SOURCE at that form's folder, e.g. forms/NAME in Briefcase storage)"
                )
        decrypted = [(sub, *decrypt_submission(private_key, sub, src.read)) for sub in subs]
    finally:
        src.close()

    records: list[dict] = []
    tables: dict[str, list[dict]] = {}
    media: list[tuple[str, str, bytes]] = []
    for sub, xml, files in decrypted:
        root = _parse_xml(xml, f"submission {sub.instance_id!r} ({sub.xml_file}, decrypted)")
        if root.get("id") != sub.form_id:
            raise CollectError(
                f"submission {sub.instance_id!r}: its decrypted XML is of form {root.get('id')!r}, "
                f"its manifest says {sub.form_id!r}; the files were swapped"
            )
        meta = _child(root, "meta")
        inner_id = _text(_child(meta, "instanceID")) if meta is not None else None
        if inner_id is not None and inner_id != sub.instance_id:
            raise CollectError(
                f"submission {sub.instance_id!r}: its decrypted XML carries instance id {inner_id!r}; "
                "the files were swapped"
            )
        main, reps = rows_from_xml(root, instrument, sub.instance_id)
        records.append({"instance_id": sub.instance_id} | main)
        for name, rows in reps.items():
            tables.setdefault(name, []).extend(rows)
        media.extend((sub.instance_id, name, data) for name, data in files.items())

    out = Path(out_path)
    targets = [out] + [out.with_name(f"{out.stem}-{checked_part(name)}{out.suffix}") for name in tables]
    folder = (Path(media_dir) if media_dir is not None else out.with_name(f"{out.stem}-media")) if media else None
    plan = media_plan(folder, media) if folder is not None else []
    for target in targets:
        if os.path.lexists(target):
            raise CollectError(
                f"{target} already exists; import-odk never overwrites a file: remove it or give "
                "another --out. Nothing was written"
            )
    write_data(records_frame(records, first=("instance_id",)), out, overwrite=False)
    for name, target in zip(tables, targets[1:]):
        write_data(records_frame(tables[name]), target, overwrite=False)
    if folder is not None:
        write_media(folder, plan)
    return ImportResult(
        submissions=len(records),
        files=tuple(targets),
        repeats={name: len(rows) for name, rows in tables.items()},
        media_files=len(media),
        media_dir=folder,
    )
