"""`quietpoll import-odk`: ODK encrypted-form submissions (made as ODK Collect makes them, SYNTHETIC answers)
decrypted into a responses file; every bad input is one line on stderr and exit status 2."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

sys.path.insert(0, str(Path(__file__).parents[1] / "collect"))
from odkcollect import encrypt_submission, submission_xml  # noqa: E402

from quietpoll.cli import main  # noqa: E402

FORM = "odk_cli_probe"
FORM_MD = f"""
| survey |
|        | type    | name   | label  |
|        | integer | age    | Age    |
|        | text    | remark | Remark |
| settings |
|          | form_id | form_title |
|          | {FORM}  | CLI probe  |
"""
IDS = ["uuid:9d2c0000-0000-4000-8000-000000000001", "uuid:9d2c0000-0000-4000-8000-000000000002"]
PASS = "synthetic odk passphrase"


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def setup(tmp_path, key):
    source = tmp_path / "instances"
    for n, iid in enumerate(IDS):
        xml = submission_xml(FORM, None, iid, f"<age>{30 + n}</age><remark>synthetic {n}</remark>")
        encrypt_submission(source / iid.replace(":", ""), key.public_key(), FORM, None, iid, xml)
    form = tmp_path / "form.md"
    form.write_text(FORM_MD, encoding="utf-8")
    pem = tmp_path / "odk.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(PASS.encode()),
        )
    )
    return {"source": source, "form": form, "key": pem, "out": tmp_path / "responses.csv"}


def _args(s, **over):
    a = {"source": s["source"], "--key": s["key"], "--form": s["form"], "--out": s["out"]} | over
    return ["import-odk", str(a.pop("source"))] + [str(x) for kv in a.items() for x in kv if kv[1] is not None]


def _one_line_error(capsys, *needles):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for n in needles:
        assert n in err, err


def test_import_odk(setup, capsys, monkeypatch):
    monkeypatch.setenv("QUIETPOLL_ODK_PASSPHRASE", PASS)
    assert main(_args(setup)) == 0
    assert "wrote 2 submission(s)" in capsys.readouterr().out
    frame = pl.read_csv(setup["out"])
    assert frame["instance_id"].to_list() == IDS and frame["age"].to_list() == [30, 31]


def test_form_from_study(setup, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("QUIETPOLL_ODK_PASSPHRASE", PASS)
    study = tmp_path / "study"
    study.mkdir()
    (study / "study.toml").write_text(f'[instrument]\npath = "{setup["form"]}"\n')
    assert main(_args(setup, **{"--form": None, "--study": study})) == 0
    assert pl.read_csv(setup["out"]).height == 2


def test_no_form(setup, capsys, monkeypatch):
    monkeypatch.setenv("QUIETPOLL_ODK_PASSPHRASE", PASS)
    assert main(_args(setup, **{"--form": None})) == 2
    _one_line_error(capsys, "--form")


def test_passphrase_missing_or_wrong(setup, capsys, monkeypatch):
    monkeypatch.delenv("QUIETPOLL_ODK_PASSPHRASE", raising=False)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
    assert main(_args(setup)) == 2
    _one_line_error(capsys, "QUIETPOLL_ODK_PASSPHRASE")
    monkeypatch.setenv("QUIETPOLL_ODK_PASSPHRASE", "not it")
    assert main(_args(setup)) == 2
    _one_line_error(capsys, "wrong passphrase")


def test_wrong_key(setup, tmp_path, capsys):
    other = tmp_path / "other.pem"
    other.write_bytes(
        rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    assert main(_args(setup, **{"--key": other})) == 2
    _one_line_error(capsys, IDS[0], "cannot be opened with this ODK private key")
    assert not setup["out"].exists()


def test_missing_key_file(setup, tmp_path, capsys):
    assert main(_args(setup, **{"--key": tmp_path / "nope.pem"})) == 2
    _one_line_error(capsys, "nope.pem", "not found")


def test_tampered_submission(setup, capsys, monkeypatch):
    monkeypatch.setenv("QUIETPOLL_ODK_PASSPHRASE", PASS)
    enc = setup["source"] / IDS[1].replace(":", "") / "submission.xml.enc"
    data = bytearray(enc.read_bytes())
    data[3] ^= 0x04
    enc.write_bytes(bytes(data))
    assert main(_args(setup)) == 2
    _one_line_error(capsys, IDS[1])
    assert not setup["out"].exists()


def test_missing_enc_and_unencrypted(setup, capsys, monkeypatch):
    monkeypatch.setenv("QUIETPOLL_ODK_PASSPHRASE", PASS)
    folder = setup["source"] / IDS[0].replace(":", "")
    plain = setup["source"] / "plain"
    plain.mkdir()
    (plain / "submission.xml").write_bytes(submission_xml(FORM, None, "uuid:plain", "<age>1</age>"))
    assert main(_args(setup)) == 2
    _one_line_error(capsys, "uuid:plain", "not encrypted")
    (plain / "submission.xml").unlink()
    (folder / "submission.xml.enc").unlink()
    assert main(_args(setup)) == 2
    _one_line_error(capsys, IDS[0], "missing")


def test_unknown_form(setup, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("QUIETPOLL_ODK_PASSPHRASE", PASS)
    other = tmp_path / "other.md"
    other.write_text(FORM_MD.replace(FORM, "some_other_form"), encoding="utf-8")
    assert main(_args(setup, **{"--form": other})) == 2
    _one_line_error(capsys, FORM, "some_other_form")


def test_missing_source(setup, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("QUIETPOLL_ODK_PASSPHRASE", PASS)
    assert main(_args(setup, source=tmp_path / "nowhere")) == 2
    _one_line_error(capsys, "nowhere", "not found")


def test_output_says_the_signature_is_integrity_only_and_never_overwrites(setup, capsys, monkeypatch):
    monkeypatch.setenv("QUIETPOLL_ODK_PASSPHRASE", PASS)
    assert main(_args(setup)) == 0
    out = capsys.readouterr().out
    assert "does not show who made a submission" in out
    first = setup["out"].read_bytes()
    assert main(_args(setup)) == 2
    _one_line_error(capsys, "already exists", str(setup["out"]))
    assert setup["out"].read_bytes() == first
