"""The collection commands end to end: keys new/split/join, tokens add/revoke, a sealed submission
through the API, store list, pull (synthetic answers)."""

from __future__ import annotations

import json
import re

import polars as pl
from starlette.testclient import TestClient

from quietpoll.cli import main
from quietpoll.collect.app import create_app
from quietpoll.collect.envelope import seal
from quietpoll.collect.keys import load_public
from quietpoll.collect.shell import form_path
from quietpoll.collect.store import Store

PASS = "correct horse battery staple"


def test_keys_tokens_submit_list_pull(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("QUIETPOLL_PASSPHRASE", PASS)
    study = tmp_path / "study"
    assert main(["init", str(study)]) == 0
    assert main(["keys", "new", str(study)]) == 0
    assert (study / "keys" / "study.pub").exists() and (study / "keys" / "study.key").exists()
    assert main(["keys", "new", str(study)]) == 2  # never overwrites a key
    capsys.readouterr()
    assert main(["keys", "split", str(study), "-t", "2", "-n", "3"]) == 0
    shares = capsys.readouterr().out.split()
    assert len(shares) == 3
    (study / "keys" / "study.key").rename(study / "keys" / "old.key")
    (tmp_path / "s1").write_text(shares[0] + "\n")
    (tmp_path / "s3").write_text("# custodian 3\n" + shares[2] + "\n")
    assert (
        main(["keys", "join", str(study), "--share-file", str(tmp_path / "s1"), "--share-file", str(tmp_path / "s3")])
        == 0
    )
    capsys.readouterr()

    assert main(["tokens", "add", str(study), "--name", "field-07"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]  # the plain output ends with the token
    store = Store.open("sqlite:///" + str(study / "collect.db"))
    client = TestClient(create_app(store))
    ct = seal(load_public(study / "keys" / "study.pub"), "foreign_media", "uuid:1", {"sex": "female", "age": 34})
    r = client.post(
        "/api/v1/submissions",
        json={"form_id": "foreign_media", "instance_id": "uuid:1", "ciphertext": ct},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201
    store.close()

    url = "sqlite:///" + str(study / "collect.db")
    assert main(["store", "list", "--store", url, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [
        {
            "instance_id": "uuid:1",
            "form_id": "foreign_media",
            "received_at": rows[0]["received_at"],
            "token_alias": "field-07",
        }
    ]
    assert rows[0]["received_at"].endswith(":00:00Z")

    out = tmp_path / "responses.csv"
    assert main(["pull", str(study), "--out", str(out)]) == 0
    frame = pl.read_csv(out)
    assert frame["instance_id"].to_list() == ["uuid:1"] and frame["sex"].to_list() == ["female"]

    assert main(["tokens", "revoke", str(study), "--name", "field-07"]) == 0
    store = Store.open(url)
    assert store.token_alias(token) is None
    store.close()


def test_tokens_add_json_gives_alias_token_and_enrolment_path(tmp_path, capsys):
    study = tmp_path / "study"
    assert main(["init", str(study)]) == 0
    capsys.readouterr()
    assert main(["tokens", "add", str(study), "--name", "field-08", "--format", "json"]) == 0
    added = json.loads(capsys.readouterr().out)
    assert list(added) == ["alias", "token", "enrol_path"] and added["alias"] == "field-08"
    path, _, code = added["enrol_path"].partition("#e=")
    assert len(code) == 22 and "?" not in added["enrol_path"]
    assert added["token"] not in added["enrol_path"]
    store = Store.open("sqlite:///" + str(study / "collect.db"))
    try:
        # the path names the form by an opaque route id under the store's secret, never by its id
        assert re.fullmatch(r"/f/[0-9a-f]{20}", path) and "foreign" not in path
        assert path == form_path(store, "foreign_media")
        assert store.token_alias(added["token"]) == "field-08"
        raw = (study / "collect.db").read_bytes() + (study / "collect.db-wal").read_bytes()
        assert code.encode() not in raw and added["token"].encode() not in raw  # only hashes and a wrapped token
        assert store.redeem_enrol_code(code) == added["token"]
        assert store.redeem_enrol_code(code) is None  # one use
    finally:
        store.close()
    # the plain output names the enrolment path and ends with the token
    assert main(["tokens", "add", str(study), "--name", "field-09", "--form", "other_form"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "/f/" in lines[0] and "#e=" in lines[0] and "other_form" not in lines[0] and len(lines[-1]) == 43
    # bad input: one line, exit 2
    assert main(["tokens", "add", str(study), "--name", "field-10", "--ttl", "5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ttl" in err
    store = Store.open("sqlite:///" + str(study / "collect.db"))
    assert [t["alias"] for t in store.tokens()] == ["field-08", "field-09"]  # nothing stored for field-10
    store.close()
    (study / "study.toml").write_text("[study]\ntitle = 'x'\n", encoding="utf-8")
    assert main(["tokens", "add", str(study), "--name", "field-11"]) == 2
    assert "--form" in capsys.readouterr().err


def test_wrong_passphrase_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("QUIETPOLL_PASSPHRASE", PASS)
    study = tmp_path / "s"
    study.mkdir()
    assert main(["keys", "new", str(study)]) == 0
    monkeypatch.setenv("QUIETPOLL_PASSPHRASE", "not the passphrase at all")
    capsys.readouterr()
    store = "sqlite:///" + str(tmp_path / "x.db")
    assert main(["pull", str(study), "--out", str(tmp_path / "r.csv"), "--store", store]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "passphrase" in err and "Traceback" not in err


def test_serve_accepts_the_template_the_browser_can_run(tmp_path):
    """The template's list experiment and randomized response (once(random()) calculations) run in
    the browser form now; refusals of other forms: tests/browser/test_serve_form.py."""
    from quietpoll.collect.web import browser_unsupported
    from quietpoll.instrument.form import load_instrument

    study = tmp_path / "study"
    assert main(["init", str(study)]) == 0
    assert browser_unsupported(load_instrument(study / "form.xlsx")) == []


def _split_study(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("QUIETPOLL_PASSPHRASE", PASS)
    study = tmp_path / "study"
    study.mkdir()
    assert main(["keys", "new", str(study)]) == 0
    capsys.readouterr()
    assert main(["keys", "split", str(study), "-t", "2", "-n", "3"]) == 0
    shares = capsys.readouterr().out.split()
    (study / "keys" / "study.key").rename(study / "keys" / "old.key")
    return study, shares


def test_keys_join_refuses_shares_on_the_command_line(tmp_path, capsys, monkeypatch):
    study, shares = _split_study(tmp_path, capsys, monkeypatch)
    assert main(["keys", "join", str(study), "--share", shares[0], "--share", shares[1]]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--share-file" in err and "process list" in err
    assert shares[0] not in err and not (study / "keys" / "study.key").exists()


def test_keys_join_reads_shares_from_stdin(tmp_path, capsys, monkeypatch):
    import io
    import sys

    study, shares = _split_study(tmp_path, capsys, monkeypatch)
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{shares[1]}\n\n{shares[2]}\n"))
    assert main(["keys", "join", str(study)]) == 0
    assert (study / "keys" / "study.key").exists()
    (study / "keys" / "study.key").unlink()
    monkeypatch.setattr(sys, "stdin", io.StringIO(shares[0] + "\n"))  # '-' among the files
    (tmp_path / "s2").write_text(shares[1])
    assert main(["keys", "join", str(study), "--share-file", "-", "--share-file", str(tmp_path / "s2")]) == 0
    from quietpoll.collect.keys import load_private

    assert load_private(study / "keys" / "study.key", PASS) is not None
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    (study / "keys" / "study.key").unlink()
    capsys.readouterr()
    assert main(["keys", "join", str(study)]) == 2
    assert "no key shares" in capsys.readouterr().err


def test_keys_join_prompts_without_echo(tmp_path, capsys, monkeypatch):
    import sys

    import click

    study, shares = _split_study(tmp_path, capsys, monkeypatch)
    asked = []

    def prompt(text, hide_input=False, **kw):
        asked.append((text, hide_input))
        return {"share 1": shares[2], "share 2": shares[0]}[text]

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(click, "prompt", prompt)
    assert main(["keys", "join", str(study)]) == 0
    assert asked == [("share 1", True), ("share 2", True)]  # the threshold (2) is read from the first share
    assert (study / "keys" / "study.key").exists()


def test_share_and_key_files_are_private(tmp_path, capsys, monkeypatch):
    import os
    import stat

    monkeypatch.setenv("QUIETPOLL_PASSPHRASE", PASS)
    study = tmp_path / "study"
    study.mkdir()
    old = os.umask(0o022)
    try:
        assert main(["keys", "new", str(study)]) == 0
        assert main(["keys", "split", str(study), "-t", "2", "-n", "3", "--out-dir", str(tmp_path / "shares")]) == 0
    finally:
        os.umask(old)
    out = capsys.readouterr().out
    assert "qp1-" not in out  # the shares went to files, not the terminal
    files = sorted((tmp_path / "shares").iterdir())
    assert [f.name for f in files] == ["share-1.txt", "share-2.txt", "share-3.txt"]
    assert stat.S_IMODE((tmp_path / "shares").stat().st_mode) == 0o700
    assert stat.S_IMODE((study / "keys").stat().st_mode) == 0o700
    for f in [*files, study / "keys" / "study.key"]:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    (study / "keys" / "study.key").rename(study / "keys" / "old.key")
    assert main(["keys", "join", str(study), "--share-file", str(files[0]), "--share-file", str(files[2])]) == 0
    assert stat.S_IMODE((study / "keys" / "study.key").stat().st_mode) == 0o600
    # a second split into the same folder is refused, nothing overwritten
    before = files[0].read_text()
    assert main(["keys", "split", str(study), "-t", "2", "-n", "3", "--out-dir", str(tmp_path / "shares")]) == 2
    assert files[0].read_text() == before


def test_no_command_takes_a_secret_on_the_command_line():
    """Shares, passphrases, passwords and tokens are read from files, stdin, the environment or prompts."""
    import click

    from quietpoll.cli import cli

    def walk(cmd, path=()):
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                yield from walk(sub, (*path, name))
        else:
            yield path, cmd

    secret = ("share", "passphrase", "password", "secret", "token", "pin")
    offending = []
    for path, cmd in walk(cli):
        for p in cmd.params:
            if isinstance(p, click.Option) and any(w in o.lower() for o in p.opts for w in secret):
                if p.opts == ["--share"] and p.hidden:  # refused with an explanation (test above)
                    continue
                if set(p.opts) & {"--share-file", "--max-share", "--shares"}:  # a path, a weight share, a count
                    continue
                offending.append((" ".join(path), p.opts))
    assert offending == []
