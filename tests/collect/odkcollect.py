"""What ODK Collect does when it finalizes a submission of an encrypted form, written from the ODK XForms
specification ("Encryption") with pyca/cryptography, for the import-odk tests. SYNTHETIC data only.

* a random 256-bit AES key per submission, wrapped with RSA-OAEP (SHA-256, MGF1-SHA-256), base64;
* IV seed = MD5(instanceID + key); before each file (media in order, then the XML) byte ``i % 16``
  of the seed is incremented and the seed is that file's IV;
* AES-256-CFB over the PKCS#7-padded file, written as ``NAME.enc``;
* the manifest ``submission.xml`` (root in Collect's namespace, ``orx:meta/orx:instanceID``) with
  ``base64EncryptedElementSignature`` = RSA-OAEP(MD5 of the "\\n"-terminated lines form id, version,
  base64 key, instance id, ``name::md5hex`` of each plaintext file).
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from xml.sax.saxutils import escape

from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

COLLECT_NS = "http://www.opendatakit.org/xforms/encrypted"
OPENROSA_NS = "http://openrosa.org/xforms"
OAEP = asym_padding.OAEP(mgf=asym_padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def submission_xml(form_id: str, version: str | None, instance_id: str, body: str) -> bytes:
    """A submission instance as Collect saves it: ``body`` is the answer elements (XML text)."""
    v = f' version="{escape(version)}"' if version else ""
    return (
        f'<?xml version=\'1.0\' ?><data id="{escape(form_id)}"{v} xmlns:jr="http://openrosa.org/javarosa"'
        f' xmlns:orx="{OPENROSA_NS}">{body}<meta><instanceID>{escape(instance_id)}</instanceID></meta></data>'
    ).encode("utf-8")


def encrypt_submission(
    folder: Path,
    public_key: RSAPublicKey,
    form_id: str,
    version: str | None,
    instance_id: str,
    xml: bytes,
    media: dict[str, bytes] | None = None,
    *,
    manifest_name: str = "submission.xml",
    enc_folder: Path | None = None,
    sign: bool = True,
) -> Path:
    """Write the encrypted files and the manifest as Collect does; returns the manifest's path."""
    folder.mkdir(parents=True, exist_ok=True)
    enc_folder = enc_folder or folder
    enc_folder.mkdir(parents=True, exist_ok=True)
    key = os.urandom(32)
    wrapped = base64.b64encode(public_key.encrypt(key, OAEP)).decode("ascii")
    seed = bytearray(hashlib.md5(instance_id.encode("utf-8") + key).digest())
    lines = [form_id, *([version] if version else []), wrapped, instance_id]
    files = [*(media or {}).items(), ("submission.xml", xml)]
    for i, (name, data) in enumerate(files):
        seed[i % 16] = (seed[i % 16] + 1) % 256
        padder = padding.PKCS7(128).padder()
        encryptor = Cipher(algorithms.AES(key), CFB(bytes(seed))).encryptor()
        ct = encryptor.update(padder.update(data) + padder.finalize()) + encryptor.finalize()
        (enc_folder / f"{name}.enc").write_bytes(ct)
        lines.append(f"{name}::{hashlib.md5(data).hexdigest()}")
    digest = hashlib.md5("".join(f"{line}\n" for line in lines).encode("utf-8")).digest()
    signature = base64.b64encode(public_key.encrypt(digest, OAEP)).decode("ascii")
    v = f' version="{escape(version)}"' if version else ""
    media_xml = "".join(f"<media><file>{escape(n)}.enc</file></media>\n" for n in (media or {}))
    sig_xml = f"<base64EncryptedElementSignature>{signature}</base64EncryptedElementSignature>" if sign else ""
    manifest = (
        f"<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>"
        f'<data xmlns="{COLLECT_NS}" id="{escape(form_id)}"{v} encrypted="yes">'
        f"<base64EncryptedKey>{wrapped}</base64EncryptedKey>"
        f'<orx:meta xmlns:orx="{OPENROSA_NS}"><orx:instanceID>{escape(instance_id)}</orx:instanceID></orx:meta>\n'
        f"{media_xml}<encryptedXmlFile>submission.xml.enc</encryptedXmlFile>{sig_xml}</data>"
    )
    path = folder / manifest_name
    path.write_text(manifest, encoding="utf-8")
    return path
