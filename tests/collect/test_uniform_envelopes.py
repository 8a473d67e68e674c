"""Uniform envelopes (one padded size per form) and device-only fields on the Python side: the size
computed from a form, padding to exactly it, the server refusing other sizes, the page carrying the
size, the cap and the device-only marks, and `pull` dropping device-only fields an older client sealed.
All answers are synthetic."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import polars as pl
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from starlette.testclient import TestClient

from quietpoll.collect.app import create_app
from quietpoll.collect.envelope import BUCKETS, check_ciphertext, drop_fields, open_sealed, pad, seal, unpad
from quietpoll.collect.sizing import (
    NUMBER_BYTES,
    TEXT_MAX_BYTES,
    envelope_size,
    max_payload_bytes,
    text_bytes,
)
from quietpoll.collect.store import Store, pull
from quietpoll.collect.web import render_form
from quietpoll.errors import CollectError
from quietpoll.instrument.form import load_instrument

TEMPLATE = Path(__file__).parents[2] / "src" / "quietpoll" / "instrument" / "templates" / "foreign-media.xlsx"
KEY = X25519PrivateKey.generate()
PUBLIC_B64 = base64.b64encode(KEY.public_key().public_bytes_raw()).decode("ascii")


def _b64len(size: int) -> int:
    """Length of the base64url text (no '=') of a sealed envelope padded to ``size``."""
    n = 1 + 32 + size + 16
    return (n * 4 + 2) // 3


def _md(tmp_path, text: str, name: str = "f.md"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_instrument(path)


SMALL = """| survey |
|  | type | name | label | calculation | repeat_count | bind::quietpoll:device-only |
|  | select_one yn | a | A | | | |
|  | select_multiple many | b | B | | | |
|  | integer | n | N | | | |
|  | text | t | T | | | |
|  | calculate | spin | | once(random()) | | yes |
|  | calculate | both | | concat(${a}, '-', ${b}) | | |
|  | begin_repeat | kids | Kids | | 3 | |
|  | text | kname | Name | | | |
|  | end_repeat | | | | | |
| choices |
|  | list_name | name | label |
|  | yn | yes | Yes |
|  | yn | no | No |
|  | many | alpha | Alpha |
|  | many | beta | Beta |
|  | many | gamma_longest | Gamma |
| settings |
|  | form_id | namespaces |
|  | small | quietpoll="urn:quietpoll:xforms" |
"""


def test_max_payload_of_a_small_form_is_every_field_at_its_longest(tmp_path):
    inst = _md(tmp_path, SMALL)
    cap = 40
    worst = {
        "a": "yes",
        "b": "alpha beta gamma_longest",
        "n": -1.2345678901234567e-308,
        "t": "x" * cap,
        "both": "yes-alpha beta gamma_longest",  # concat(${a}, '-', ${b}) at its longest
        "kids_count": 3,  # pyxform's calculate for the literal repeat_count: sealed as a number
        "kids": [{"kname": "y" * cap}] * 3,
    }
    actual = len(json.dumps(worst, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    bound = max_payload_bytes(inst, cap)
    # the bound holds the worst payload; the slack is the numbers' (each counted NUMBER_BYTES long) and
    # one trailing comma per object (the form and 3 instances) and per list
    slack = (NUMBER_BYTES - 24) + (NUMBER_BYTES - 1) + 4 + 1
    assert actual <= bound <= actual + slack
    # the device-only draw counts nothing: the same form without it has the same bound
    without = _md(tmp_path, SMALL.replace("|  | calculate | spin | | once(random()) | | yes |\n", ""), "g.md")
    assert max_payload_bytes(without, cap) == bound
    # each repeat instance and each cap byte counts
    assert max_payload_bytes(inst, cap + 10) == bound + 10 * (1 + 3)


def test_envelope_size_is_the_smallest_bucket_holding_the_largest_payload(tmp_path):
    inst = load_instrument(TEMPLATE)
    size = envelope_size(inst)
    assert size in BUCKETS and max_payload_bytes(inst) + 4 <= size
    smaller = [b for b in BUCKETS if b < size]
    assert not smaller or max_payload_bytes(inst) + 4 > smaller[-1]
    big = _md(tmp_path, SMALL.replace("| 3 |", "| 500 |"), "big.md")
    assert envelope_size(big, 500) > envelope_size(big, 10)
    with pytest.raises(CollectError, match="largest envelope"):
        envelope_size(big, 100_000)
    for bad in (0, -1, True, 2.5, "500"):
        with pytest.raises(CollectError, match="text_max_bytes"):
            max_payload_bytes(inst, bad)


def test_text_bytes_counts_utf8_and_json_escapes():
    assert text_bytes("abc") == 3
    assert text_bytes("남포") == 6
    assert text_bytes('"\\') == 4
    assert text_bytes("\x01") == 6
    assert text_bytes("\U0001f600") == 4


def test_pad_to_the_form_size_and_refuse_what_does_not_fit():
    assert len(pad(b"x", 4096)) == 4096 and unpad(pad(b"x", 4096)) == b"x"
    assert len(pad(b"x" * 4092, 4096)) == 4096
    with pytest.raises(CollectError, match="too large for this form"):
        pad(b"x" * 4093, 4096)
    for bad in (1000, 0, True, "4096"):
        with pytest.raises(CollectError, match="envelope size"):
            pad(b"x", bad)


def test_sealed_to_the_form_size_whatever_the_answers_and_still_version_1():
    short = seal(KEY.public_key(), "f", "uuid:1", {"a": "no"}, size=4096)
    long = seal(KEY.public_key(), "f", "uuid:2", {"a": "yes", "t": "가" * 1000}, size=4096)
    assert len(short) == len(long) == _b64len(4096)
    assert open_sealed(KEY, "f", "uuid:1", short) == {"a": "no"}
    assert base64.urlsafe_b64decode(short + "=" * (-len(short) % 4))[0] == 0x01
    check_ciphertext(short, 4096)
    with pytest.raises(CollectError, match="every submission of this form"):
        check_ciphertext(short, 1024)
    # envelopes sealed before this change (smallest bucket) still open
    old = seal(KEY.public_key(), "f", "uuid:3", {"a": "no"})
    assert len(old) == _b64len(1024) and open_sealed(KEY, "f", "uuid:3", old) == {"a": "no"}


@pytest.fixture
def store(tmp_path):
    s = Store.open(f"sqlite:///{tmp_path / 'collect.db'}")
    yield s
    s.close()


def test_server_refuses_an_envelope_of_another_size_for_the_form(store):
    token = store.add_token("alice")
    client = TestClient(create_app(store, forms={"fm": {"envelope_size": 4096}, "free": {}}, rate_limit=None))
    headers = {"Authorization": f"Bearer {token}"}

    def post(form_id, instance_id, size):
        ct = seal(KEY.public_key(), form_id, instance_id, {"q": "CANARY-7731"}, size=size)
        return client.post(
            "/api/v1/submissions",
            headers=headers,
            json={"form_id": form_id, "instance_id": instance_id, "ciphertext": ct},
        )

    assert post("fm", "uuid:ok", 4096).status_code == 201
    refused = post("fm", "uuid:small", 1024)
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "bad_request" and "every submission of this form" in error["message"]
    assert "CANARY" not in refused.text
    assert post("fm", "uuid:big", 16384).status_code == 400
    assert post("free", "uuid:any", 1024).status_code == 201  # no size known for this form
    assert store.count() == 2


def test_page_carries_the_size_the_cap_and_the_device_only_marks():
    inst = load_instrument(TEMPLATE)
    page = render_form(inst, PUBLIC_B64)
    assert f'data-envelope-size="{envelope_size(inst)}"' in page
    assert f'data-text-max="{TEXT_MAX_BYTES}"' in page
    for name in inst.device_only:
        assert f'data-name="{name}"' in page
        start = page.index(f'data-name="{name}"')
        assert 'data-device-only="true"' in page[start : page.index(">", start)], name
    start = page.index('data-name="le_treat"')
    assert "data-device-only" not in page[start : page.index(">", start)]
    capped = render_form(inst, PUBLIC_B64, text_max_bytes=64)
    assert 'data-text-max="64"' in capped


def test_text_inputs_get_the_cap_as_maxlength(tmp_path):
    page = render_form(_md(tmp_path, SMALL), PUBLIC_B64, text_max_bytes=80)
    assert 'name="t" type="text" maxlength="80"' in page


def test_drop_fields_at_every_level():
    payload = {"a": 1, "spin": 0.1, "kids": [{"spin": 0.2, "k": "x"}, {"k": "y"}], "nested": {"spin": 3}}
    assert drop_fields(payload, {"spin"}) == {"a": 1, "kids": [{"k": "x"}, {"k": "y"}], "nested": {}}
    assert drop_fields(payload, ()) is payload


def test_pull_drops_device_only_fields_an_older_client_sealed(store, tmp_path):
    inst = load_instrument(TEMPLATE)
    old = {"consent": "yes", "rr_spin": 0.05, "rr_answer": "yes", "le_draw": 0.3, "le_treat": 1, "le_count": 3}
    store.put("foreign_media", "uuid:old", seal(KEY.public_key(), "foreign_media", "uuid:old", old), "alice")
    out = tmp_path / "out.csv"
    assert pull(store, KEY, out, device_only={inst.form_id: inst.device_only}) == 1
    frame = pl.read_csv(out)
    assert "rr_spin" not in frame.columns and "le_draw" not in frame.columns
    assert frame.row(0, named=True)["rr_answer"] == "yes" and frame.row(0, named=True)["le_treat"] == 1
