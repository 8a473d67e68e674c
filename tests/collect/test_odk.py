"""import-odk: ODK encrypted-form submissions, made here exactly as ODK Collect makes them (odkcollect.py,
from the ODK XForms encryption specification), decrypted back; and the real sample from ODK Briefcase's
tests in the shared corpus. All answers are SYNTHETIC."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import polars as pl
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from odkcollect import encrypt_submission, submission_xml

from quietpoll.collect.odk import find_submissions, import_odk, key_needs_passphrase, load_odk_key
from quietpoll.errors import CollectError, InputError
from quietpoll.instrument.exports import read_responses
from quietpoll.instrument.form import load_instrument

FORM = "odk_probe"
VERSION = "2026011501"
CANARY = "CANARY-odk-서울-5521"
CORPUS = Path("/work/shared/corpus/exports/odk-briefcase/encrypted-form")

FORM_MD = f"""
| survey |
|        | type                    | name    | label       |
|        | begin_group             | profile | Profile     |
|        | select_one sex          | sex     | Sex         |
|        | integer                 | age     | Age         |
|        | end_group               |         |             |
|        | select_multiple devices | devices | Devices     |
|        | decimal                 | hours   | Hours of TV |
|        | image                   | photo   | Photo       |
|        | begin_repeat            | member  | Member      |
|        | text                    | mname   | Name        |
|        | integer                 | mage    | Age         |
|        | end_repeat              |         |             |
|        | text                    | remark  | Remark      |
| choices |
|         | list_name | name   | label  |
|         | sex       | female | Female |
|         | sex       | male   | Male   |
|         | devices   | tv     | TV     |
|         | devices   | usb    | USB    |
|         | devices   | radio  | Radio  |
| settings |
|          | form_id | version   | form_title |
|          | {FORM}  | {VERSION} | ODK probe  |
"""

PHOTO = bytes(range(256)) * 3 + b"SYNTHETIC-PHOTO"  # 783 bytes, not a real picture

# (instance id, answer elements, media) - synthetic submissions
SUBMISSIONS = [
    (
        "uuid:0b6f7c1e-0000-4000-8000-000000000001",
        "<profile><sex>female</sex><age>34</age></profile><devices>tv usb</devices><hours>2.5</hours>"
        "<photo>1767225600.jpg</photo><member><mname>A</mname><mage>61</mage></member>"
        f"<member><mname>B</mname><mage>7</mage></member><remark>{CANARY}</remark>",
        {"1767225600.jpg": PHOTO},
    ),
    (
        "uuid:0b6f7c1e-0000-4000-8000-000000000002",
        "<profile><sex>male</sex><age>51</age></profile><devices>radio</devices><hours>0</hours><photo/><remark/>",
        {},
    ),
    (
        "uuid:0b6f7c1e-0000-4000-8000-000000000003",
        "<profile><sex>female</sex><age>seven</age></profile><devices/><hours/><photo/>"
        "<member><mname>C</mname><mage>12</mage></member><remark>ok</remark>",
        {},
    ),
]


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def instrument(tmp_path):
    path = tmp_path / "form.md"
    path.write_text(FORM_MD, encoding="utf-8")
    return load_instrument(path)


def briefcase(root: Path, key, submissions=SUBMISSIONS, form_id=FORM) -> Path:
    """ODK Briefcase storage: forms/FORM/instances/<uuid...>/submission.xml + .enc files."""
    instances = root / "ODK Briefcase Storage" / "forms" / "ODK probe" / "instances"
    for iid, body, media in submissions:
        xml = submission_xml(form_id, VERSION, iid, body)
        encrypt_submission(instances / iid.replace(":", ""), key.public_key(), form_id, VERSION, iid, xml, media)
    (instances.parent / "ODK probe.xml").write_text("<h:html xmlns:h='http://www.w3.org/1999/xhtml'/>")
    return root / "ODK Briefcase Storage"


def _pem(key, passphrase: bytes | None = None, fmt=serialization.PrivateFormat.TraditionalOpenSSL) -> bytes:
    enc = serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, fmt, enc)


# -- round trip ----------------------------------------------------------------------------------------------


def test_round_trip_briefcase(tmp_path, rsa_key, instrument):
    source = briefcase(tmp_path / "src", rsa_key)
    out = tmp_path / "out" / "responses.csv"
    out.parent.mkdir()
    result = import_odk(source, rsa_key, instrument, out)
    assert result.submissions == 3 and result.repeats == {"member": 3} and result.media_files == 1

    frame = pl.read_csv(out)
    assert frame.columns[0] == "instance_id" and frame.columns[-1] == "KEY"
    assert frame["instance_id"].to_list() == [s[0] for s in SUBMISSIONS]
    assert frame["profile-sex"].to_list() == ["female", "male", "female"]
    assert frame["devices"].to_list() == ["tv usb", "radio", None]
    assert frame["hours"].to_list() == [2.5, 0.0, None]
    assert "age" not in frame.columns and "sex" not in frame.columns  # group paths, as ODK names them
    assert frame["profile-age"].to_list() == ["34", "51", "seven"]  # "seven" keeps the column as text
    assert frame["remark"].to_list() == [CANARY, None, "ok"]
    assert frame["meta-instanceID"].to_list() == frame["KEY"].to_list() == frame["instance_id"].to_list()
    assert frame["SET-OF-member"].to_list() == [f"{SUBMISSIONS[0][0]}/member", None, f"{SUBMISSIONS[2][0]}/member"]

    members = pl.read_csv(out.with_name("responses-member.csv"))
    assert members.columns == ["mname", "mage", "PARENT_KEY", "KEY", "SET-OF-member"]
    assert members["mage"].dtype == pl.Int64 and members["mage"].to_list() == [61, 7, 12]
    assert members["KEY"].to_list() == [
        f"{SUBMISSIONS[0][0]}/member[1]",
        f"{SUBMISSIONS[0][0]}/member[2]",
        f"{SUBMISSIONS[2][0]}/member[1]",
    ]

    photo = tmp_path / "out" / "responses-media" / "uuid_0b6f7c1e-0000-4000-8000-000000000001" / "1767225600.jpg"
    assert photo.read_bytes() == PHOTO
    assert photo.stat().st_mode & 0o077 == 0

    # the exports module reads the file back and maps every column to the form, repeats linked
    resp = read_responses(out, instrument)
    assert resp.source_format == "odk"
    assert {"sex", "age", "devices", "hours", "photo", "remark"} <= set(resp.columns)
    assert resp.main["sex"].to_list() == ["female", "male", "female"]
    assert resp.repeats["member"]["mname"].to_list() == ["A", "B", "C"]


def test_integers_typed_when_every_value_is_a_number(tmp_path, rsa_key, instrument):
    subs = [SUBMISSIONS[0], SUBMISSIONS[1]]
    out = tmp_path / "r.parquet"
    import_odk(briefcase(tmp_path / "src", rsa_key, subs), rsa_key, instrument, out, tmp_path / "m")
    frame = pl.read_parquet(out)
    assert frame["profile-age"].dtype == pl.Int64 and frame["profile-age"].to_list() == [34, 51]
    assert frame["hours"].dtype == pl.Float64
    assert (tmp_path / "m" / "uuid_0b6f7c1e-0000-4000-8000-000000000001" / "1767225600.jpg").read_bytes() == PHOTO


def test_central_download_zip(tmp_path, rsa_key, instrument):
    """Central: <instanceId>.xml (the manifest) with <instanceId>/attachments/*.enc, zipped."""
    folder = tmp_path / "central"
    for iid, body, media in SUBMISSIONS:
        xml = submission_xml(FORM, VERSION, iid, body)
        stem = iid.replace(":", "_")
        encrypt_submission(
            folder,
            rsa_key.public_key(),
            FORM,
            VERSION,
            iid,
            xml,
            media,
            manifest_name=f"{stem}.xml",
            enc_folder=folder / stem / "attachments",
        )
    archive = tmp_path / "central.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                z.write(p, p.relative_to(folder).as_posix())
    assert [s.instance_id for s in find_submissions(archive)] == [s[0] for s in SUBMISSIONS]
    out = tmp_path / "r.csv"
    assert import_odk(archive, rsa_key, instrument, out).submissions == 3
    assert pl.read_csv(out)["remark"].to_list() == [CANARY, None, "ok"]
    assert import_odk(folder, rsa_key, instrument, tmp_path / "r2.csv").media_files == 1


def test_iv_is_incremented_per_file(tmp_path, rsa_key, instrument):
    """Three media files and the XML: 4 different IVs from one seed, in manifest order."""
    media = {f"f{i}.bin": bytes([i]) * (17 * i + 3) for i in range(3)}
    iid = "uuid:0b6f7c1e-0000-4000-8000-0000000000aa"
    body = "<profile><sex>male</sex><age>40</age></profile><remark>three files</remark>"
    source = briefcase(tmp_path / "src", rsa_key, [(iid, body, media)])
    result = import_odk(source, rsa_key, instrument, tmp_path / "r.csv", tmp_path / "m")
    assert result.media_files == 3
    for name, data in media.items():
        assert (tmp_path / "m" / "uuid_0b6f7c1e-0000-4000-8000-0000000000aa" / name).read_bytes() == data


# -- the real ODK sample ---------------------------------------------------------------------------------------


def test_real_briefcase_sample_from_corpus(tmp_path):
    """The encrypted submission in ODK Briefcase's own tests (made by ODK Collect), decrypted with its
    test key; Briefcase's expected export says name = Guillermo."""
    if not (CORPUS / "encrypted-form-key.pem").exists():
        pytest.skip(f"{CORPUS} is not present (shared corpus of published exports)")
    inst = tmp_path / "instances" / "uuid494cd080-3bf4-47be-b40f-c706a950d58a"
    inst.mkdir(parents=True)
    shutil.copy(CORPUS / "encrypted-form-submission.xml", inst / "submission.xml")
    shutil.copy(CORPUS / "encrypted-form-submission.xml.enc", inst / "submission.xml.enc")
    form = tmp_path / "form.md"
    form.write_text(
        "| survey |\n| | type | name | label |\n| | text | name | Your name |\n"
        "| settings |\n| | form_id | form_title |\n| | encrypted-form | Encrypted Form |\n"
    )
    key = load_odk_key(CORPUS / "encrypted-form-key.pem")
    out = tmp_path / "r.csv"
    assert import_odk(tmp_path / "instances", key, load_instrument(form), out).submissions == 1
    frame = pl.read_csv(out)
    expected = pl.read_csv(CORPUS / "encrypted-form.csv")
    assert frame["name"].to_list() == expected["name"].to_list() == ["Guillermo"]
    assert frame["meta-instanceID"].to_list() == expected["meta-instanceID"].to_list()
    # one changed byte in the encrypted file: refused, naming the submission
    data = bytearray((inst / "submission.xml.enc").read_bytes())
    data[5] ^= 0x01
    (inst / "submission.xml.enc").write_bytes(bytes(data))
    with pytest.raises(CollectError, match="uuid:494cd080-3bf4-47be-b40f-c706a950d58a"):
        import_odk(tmp_path / "instances", key, load_instrument(form), tmp_path / "r2.csv")
    assert not (tmp_path / "r2.csv").exists()


# -- tampering and bad input -----------------------------------------------------------------------------------


def _instance_dir(source: Path, iid: str) -> Path:
    return source / "forms" / "ODK probe" / "instances" / iid.replace(":", "")


def test_tampered_media_fails_the_signature(tmp_path, rsa_key, instrument):
    source = briefcase(tmp_path / "src", rsa_key)
    iid = SUBMISSIONS[0][0]
    photo = _instance_dir(source, iid) / "1767225600.jpg.enc"
    data = bytearray(photo.read_bytes())
    data[0] ^= 0x20  # CFB: changes one plaintext byte and garbles one block; the padding stays valid
    photo.write_bytes(bytes(data))
    out = tmp_path / "r.csv"
    with pytest.raises(CollectError, match="signature does not match") as info:
        import_odk(source, rsa_key, instrument, out)
    assert iid in str(info.value) and "\n" not in str(info.value)
    assert not out.exists() and not (tmp_path / "r-media").exists()


def test_tampered_manifest_fails_the_signature(tmp_path, rsa_key, instrument):
    source = briefcase(tmp_path / "src", rsa_key)
    iid = SUBMISSIONS[1][0]
    manifest = _instance_dir(source, iid) / "submission.xml"
    manifest.write_text(manifest.read_text().replace(f'version="{VERSION}"', 'version="1"'))
    with pytest.raises(CollectError, match=f"{iid}.*signature does not match"):
        import_odk(source, rsa_key, instrument, tmp_path / "r.csv")


def test_truncated_file_is_damaged(tmp_path, rsa_key, instrument):
    source = briefcase(tmp_path / "src", rsa_key)
    iid = SUBMISSIONS[2][0]
    enc = _instance_dir(source, iid) / "submission.xml.enc"
    enc.write_bytes(enc.read_bytes()[:-3])
    with pytest.raises(CollectError, match=f"{iid}.*damaged or was changed"):
        import_odk(source, rsa_key, instrument, tmp_path / "r.csv")


def test_swapped_files_are_refused(tmp_path, rsa_key, instrument):
    source = briefcase(tmp_path / "src", rsa_key)
    a, b = SUBMISSIONS[0][0], SUBMISSIONS[1][0]
    shutil.copy(_instance_dir(source, b) / "submission.xml.enc", _instance_dir(source, a) / "submission.xml.enc")
    with pytest.raises(CollectError, match=a):
        import_odk(source, rsa_key, instrument, tmp_path / "r.csv")


def test_missing_signature_is_refused(tmp_path, rsa_key, instrument):
    iid, body, _ = SUBMISSIONS[1]
    inst = tmp_path / "src" / "instances" / "x"
    encrypt_submission(
        inst, rsa_key.public_key(), FORM, VERSION, iid, submission_xml(FORM, VERSION, iid, body), sign=False
    )
    with pytest.raises(CollectError, match=f"{iid}.*no base64EncryptedElementSignature"):
        import_odk(tmp_path / "src", rsa_key, instrument, tmp_path / "r.csv")


def test_wrong_key(tmp_path, rsa_key, other_key, instrument):
    source = briefcase(tmp_path / "src", rsa_key)
    out = tmp_path / "r.csv"
    with pytest.raises(CollectError, match="cannot be opened with this ODK private key") as info:
        import_odk(source, other_key, instrument, out)
    assert SUBMISSIONS[0][0] in str(info.value)
    assert not out.exists()


def test_missing_enc_file(tmp_path, rsa_key, instrument):
    source = briefcase(tmp_path / "src", rsa_key)
    (_instance_dir(source, SUBMISSIONS[0][0]) / "1767225600.jpg.enc").unlink()
    with pytest.raises(CollectError, match=f"{SUBMISSIONS[0][0]}.*'1767225600.jpg.enc'.*missing"):
        import_odk(source, rsa_key, instrument, tmp_path / "r.csv")


def test_enc_file_without_manifest(tmp_path, rsa_key, instrument):
    source = briefcase(tmp_path / "src", rsa_key)
    (_instance_dir(source, SUBMISSIONS[2][0]) / "submission.xml").unlink()
    with pytest.raises(CollectError, match="belongs to no submission manifest"):
        import_odk(source, rsa_key, instrument, tmp_path / "r.csv")


def test_unencrypted_submission_mixed_in(tmp_path, rsa_key, instrument):
    source = briefcase(tmp_path / "src", rsa_key)
    plain = source / "forms" / "ODK probe" / "instances" / "uuidplain"
    plain.mkdir()
    iid = "uuid:0b6f7c1e-0000-4000-8000-0000000000ff"
    (plain / "submission.xml").write_bytes(submission_xml(FORM, VERSION, iid, "<remark>x</remark>"))
    with pytest.raises(CollectError, match=f"{iid}.*is not encrypted"):
        import_odk(source, rsa_key, instrument, tmp_path / "r.csv")


def test_unknown_form(tmp_path, rsa_key, instrument):
    source = briefcase(tmp_path / "src", rsa_key, SUBMISSIONS[:1], form_id="another_form")
    with pytest.raises(CollectError, match="of form 'another_form', but the form given is 'odk_probe'"):
        import_odk(source, rsa_key, instrument, tmp_path / "r.csv")


def test_duplicate_instance(tmp_path, rsa_key, instrument):
    source = briefcase(tmp_path / "src", rsa_key)
    shutil.copytree(_instance_dir(source, SUBMISSIONS[0][0]), source / "copy")
    with pytest.raises(CollectError, match="appears twice"):
        find_submissions(source)


def test_unsafe_file_name_in_manifest(tmp_path, rsa_key, instrument):
    source = briefcase(tmp_path / "src", rsa_key, SUBMISSIONS[1:2])
    manifest = _instance_dir(source, SUBMISSIONS[1][0]) / "submission.xml"
    manifest.write_text(manifest.read_text().replace(">submission.xml.enc<", ">../../evil.enc<"))
    with pytest.raises(CollectError, match="plain file name"):
        import_odk(source, rsa_key, instrument, tmp_path / "r.csv")


def test_doctype_refused(tmp_path, rsa_key, instrument):
    source = briefcase(tmp_path / "src", rsa_key, SUBMISSIONS[1:2])
    (source / "bomb.xml").write_text('<!DOCTYPE d [<!ENTITY a "aaaa">]><d id="x">&a;</d>')
    with pytest.raises(CollectError, match="DOCTYPE"):
        find_submissions(source)


def test_empty_and_missing_sources(tmp_path, rsa_key, instrument):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CollectError, match="no encrypted ODK submission"):
        import_odk(tmp_path / "empty", rsa_key, instrument, tmp_path / "r.csv")
    with pytest.raises(InputError, match="not found"):
        find_submissions(tmp_path / "nowhere")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(InputError, match="neither a folder nor a zip"):
        find_submissions(tmp_path / "file.txt")


# -- the key ---------------------------------------------------------------------------------------------------


def test_key_files(tmp_path, rsa_key):
    plain = tmp_path / "plain.pem"
    plain.write_bytes(_pem(rsa_key))
    assert not key_needs_passphrase(plain)
    assert load_odk_key(plain).private_numbers() == rsa_key.private_numbers()

    locked = tmp_path / "locked.pem"
    locked.write_bytes(_pem(rsa_key, b"synthetic passphrase", serialization.PrivateFormat.PKCS8))
    assert key_needs_passphrase(locked)
    assert load_odk_key(locked, "synthetic passphrase").private_numbers() == rsa_key.private_numbers()
    with pytest.raises(CollectError, match="wrong passphrase"):
        load_odk_key(locked, "not it")
    with pytest.raises(CollectError, match="QUIETPOLL_ODK_PASSPHRASE"):
        load_odk_key(locked)

    with pytest.raises(InputError, match="not found"):
        load_odk_key(tmp_path / "none.pem")
    (tmp_path / "junk.pem").write_text("hello")
    with pytest.raises(CollectError, match="not a PEM private key"):
        load_odk_key(tmp_path / "junk.pem")
    ec_key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "ec.pem").write_bytes(_pem(ec_key, fmt=serialization.PrivateFormat.PKCS8))
    with pytest.raises(CollectError, match="not an RSA key"):
        load_odk_key(tmp_path / "ec.pem")
