"""`pull` is never blocked by a junk submission (a valid token, random ciphertext) nor by a replayed
envelope (one sent again under another instance id, or with its content altered): every good row is
written, the rest set aside and named by token alias; `store quarantine` lists, releases and purges.
Through the real API, on SQLite and on a real PostgreSQL (tests/collect/pgserver.py)."""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path

import polars as pl
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "collect"))
from pgserver import pg_server, store_url  # noqa: E402,F401  (fixtures: both backends)

from quietpoll.cli import main  # noqa: E402
from quietpoll.collect.app import create_app  # noqa: E402
from quietpoll.collect.envelope import seal  # noqa: E402
from quietpoll.collect.keys import load_public  # noqa: E402
from quietpoll.collect.store import Store  # noqa: E402

PASS = "correct horse battery staple"
CANARY = "canary-cli-quarantine-7e2"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def test_junk_and_replays_never_block_pull(tmp_path, capsys, monkeypatch, store_url):  # noqa: F811
    monkeypatch.setenv("QUIETPOLL_PASSPHRASE", PASS)
    study = tmp_path / "study"
    assert main(["init", str(study)]) == 0
    assert main(["keys", "new", str(study)]) == 0
    capsys.readouterr()
    tokens = {}
    for alias in ("field-01", "field-02", "stolen-03"):
        assert main(["tokens", "add", str(study), "--name", alias, "--store", store_url]) == 0
        tokens[alias] = capsys.readouterr().out.strip().split()[-1]
    pk = load_public(study / "keys" / "study.pub")
    store = Store.open(store_url)
    client = TestClient(create_app(store))

    def send(alias, iid, ct):
        return client.post(
            "/api/v1/submissions",
            json={"form_id": "foreign_media", "instance_id": iid, "ciphertext": ct},
            headers={"Authorization": f"Bearer {tokens[alias]}"},
        ).status_code

    good = {}
    for i, alias in enumerate(["field-01", "field-02", "field-01"]):
        iid = f"uuid:good-{i}"
        good[iid] = seal(pk, "foreign_media", iid, {"age": 30 + i, "note": CANARY})
        assert send(alias, iid, good[iid]) == 201
    junk = _b64(bytes([1]) + os.urandom(32 + 1024 + 16))
    assert send("stolen-03", "uuid:junk", junk) == 201  # valid token, random ciphertext
    assert send("stolen-03", "uuid:replay", good["uuid:good-0"]) == 201  # the same envelope, another id
    swapped = bytearray(base64.urlsafe_b64decode(good["uuid:good-1"] + "=="))
    swapped[100] ^= 1  # content altered, same envelope key
    assert send("stolen-03", "uuid:swapped", _b64(bytes(swapped))) == 201
    store.close()

    out = tmp_path / "responses.csv"
    capsys.readouterr()
    assert main(["pull", str(study), "--out", str(out), "--store", store_url, "--format", "json"]) == 0
    cap = capsys.readouterr()
    doc = json.loads(cap.out)
    assert doc["rows"] == 3 and doc["quarantined"]["count"] == 3 and doc["quarantined"]["aliases"] == ["stolen-03"]
    assert {r["instance_id"]: r["reason"] for r in doc["quarantined"]["rows"]} == {
        "uuid:junk": "undecryptable",
        "uuid:replay": "replayed",
        "uuid:swapped": "replayed",
    }
    assert "set aside 3 submission(s)" in cap.err and "stolen-03" in cap.err
    assert CANARY not in cap.err + cap.out
    frame = pl.read_csv(out)
    assert frame["instance_id"].to_list() == sorted(good) and frame["age"].to_list() == [30, 31, 32]
    iv = frame["_interviewer"].to_list()
    assert iv[0] == iv[2] != iv[1] and not any(a in out.read_text() for a in tokens)

    # store list shows the alias of each stored row; store quarantine lists the rest
    assert main(["store", "list", "--store", store_url, "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["instance_id"], r["token_alias"]) for r in listed] == [
        ("uuid:good-0", "field-01"),
        ("uuid:good-1", "field-02"),
        ("uuid:good-2", "field-01"),
    ]
    assert main(["store", "quarantine", str(study), "--store", store_url, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(r["instance_id"] for r in rows) == ["uuid:junk", "uuid:replay", "uuid:swapped"]
    assert all(
        r["token_alias"] == "stolen-03" and r["form_id"] == "foreign_media" and r["received_at"].endswith(":00:00Z")
        for r in rows
    )
    ids = {r["instance_id"]: r["id"] for r in rows}
    assert main(["store", "quarantine", "--store", store_url, "--format", "table"]) == 0
    table = capsys.readouterr().out
    assert all(i in table for i in ids.values()) and "undecryptable" in table and "stolen-03" in table

    # purge the junk for good; release the replay (it is set aside again by the next pull)
    assert (
        main(
            [
                "store",
                "quarantine",
                "--store",
                store_url,
                "--purge",
                ids["uuid:junk"],
                "--release",
                ids["uuid:replay"],
                "--format",
                "json",
            ]
        )
        == 0
    )
    left = json.loads(capsys.readouterr().out)
    assert [r["instance_id"] for r in left] == ["uuid:swapped"]
    assert main(["pull", str(study), "--out", str(tmp_path / "again.csv"), "--store", store_url]) == 0
    cap = capsys.readouterr()
    assert "wrote 3 submission(s)" in cap.out and "set aside 1 submission(s)" in cap.err
    assert main(["store", "quarantine", "--store", store_url, "--purge", "not-an-id"]) == 2
    assert "no quarantined submission" in capsys.readouterr().err


def test_quality_uses_the_pulled_interviewer_pseudonym(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("QUIETPOLL_PASSPHRASE", PASS)
    study = tmp_path / "study"
    assert main(["init", str(study)]) == 0
    assert main(["keys", "new", str(study)]) == 0
    url = f"sqlite:///{study / 'collect.db'}"
    pk = load_public(study / "keys" / "study.pub")
    store = Store.open(url)
    for i in range(12):
        iid = f"uuid:{i:02d}"
        answers = {
            "consent": "yes",
            "sex": ["female", "male"][i % 2],
            "year_left": 2010 + i % 7,
            "ever_watched": "yes" if i % 3 else None,
        }
        store.put("foreign_media", iid, seal(pk, "foreign_media", iid, answers), f"field-{i % 3}")
    store.close()
    out = tmp_path / "responses.csv"
    assert main(["pull", str(study), "--out", str(out)]) == 0
    capsys.readouterr()
    assert (
        main(["quality", str(out), "--instrument", str(study / "form.xlsx"), "--threshold", "0.99", "--format", "json"])
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["interviewer"] == "_interviewer"
    labels = {r["interviewer"] for r in result["item_nonresponse"]["by_interviewer"]}
    assert len(labels) == 3 and all(label.startswith("iv-") for label in labels)
