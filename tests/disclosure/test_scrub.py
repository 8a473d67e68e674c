"""Free-text scrubbing: phone numbers, e-mail, ID numbers, listed names (English and Korean). SYNTHETIC text."""

from __future__ import annotations

import re

import polars as pl
import pytest

from quietpoll.disclosure.scrub import MARKER, read_names, scrub_text
from quietpoll.errors import DisclosureError

# the test's own patterns (not the module's): anything that still looks like a phone number or e-mail
PHONE = re.compile(r"\+?\d[\d\s().\-]{6,}\d")
EMAIL = re.compile(r"\S+@\S+\.\w+")

TEXTS = [
    "call me on +82 10-1234-5678 please",
    "my number is 010-1234-5678",
    "landline (02) 123-4567 at home",
    "US contact 555.123.4567 or 555 123 4567",
    "China mobile 13912345678, or 0086 139 1234 5678",
    "전화01012345678로 연락해",
    "write to kim.cs+news@example.co.kr or 김철수@메일.com",
    "resident no. 900101-1234567, SSN 123-45-6789",
    "passport M12345678 and card 4111111111111111",
    "Kim Chul-soo from Chongjin said hello; kim is shy",
    "김철수가 청진에서 왔다. 김철수는 친절하다",
    "Kimberly lives in Hyesan",
    "watched dramas 3 times in 2019",
    None,
    "",
]
NAMES = ["Kim", "Kim Chul-soo", "Chongjin", "김철수", "청진"]


def scrubbed():
    frame = pl.DataFrame({"note": TEXTS, "other": list(range(len(TEXTS)))})
    return scrub_text(frame, ["note"], NAMES)


def test_no_phone_or_email_left():
    out, counts = scrubbed()
    for text in out.get_column("note").drop_nulls():
        assert not PHONE.search(text), text
        assert not EMAIL.search(text), text
    assert counts["note"]["email"] == 2
    assert counts["note"]["phone"] >= 8
    assert counts["note"]["id_number"] >= 3


def test_ids_removed_and_plain_numbers_kept():
    out, _ = scrubbed()
    col = out.get_column("note").to_list()
    assert "900101" not in col[7] and "6789" not in col[7]
    assert "12345678" not in col[8] and "4111" not in col[8]
    assert col[12] == "watched dramas 3 times in 2019"  # short numbers are not identifiers
    assert col[13] is None and col[14] == ""
    assert out.get_column("other").to_list() == list(range(len(TEXTS)))


def test_names_whole_words_case_insensitive_and_korean_particles():
    out, counts = scrubbed()
    col = out.get_column("note").to_list()
    assert col[9] == f"{MARKER} from {MARKER} said hello; {MARKER} is shy"
    assert col[10] == f"{MARKER}가 {MARKER}에서 왔다. {MARKER}는 친절하다"
    assert col[11] == "Kimberly lives in Hyesan"  # "Kim" is not a whole word in "Kimberly"
    assert counts["note"]["name"] == 6


def test_counts_only_no_text_in_report():
    _, counts = scrubbed()
    assert set(counts) == {"note"}
    assert all(isinstance(v, int) for v in counts["note"].values())


def test_numeric_free_text_column_and_custom_marker():
    frame = pl.DataFrame({"n": [1234567, 42, None]})
    out, counts = scrub_text(frame, ["n"], marker="<x>")
    assert out.get_column("n").to_list() == ["<x>", "42", None]
    assert counts["n"]["id_number"] == 1


def test_unknown_column_and_names_file(tmp_path):
    with pytest.raises(DisclosureError, match="nope"):
        scrub_text(pl.DataFrame({"a": ["x"]}), ["nope"])
    with pytest.raises(DisclosureError, match="not found"):
        read_names(tmp_path / "missing.txt")
    p = tmp_path / "names.txt"
    p.write_text("# study names\nKim\n\n 청진 \n", encoding="utf-8")
    assert read_names(p) == ["Kim", "청진"]
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\xfa")
    with pytest.raises(DisclosureError, match="UTF-8"):
        read_names(bad)


def test_regex_characters_in_names_are_literal():
    frame = pl.DataFrame({"t": ["A.B met AxB", "C++ (dev)"]})
    out, counts = scrub_text(frame, ["t"], ["A.B", "C++"])
    assert out.get_column("t").to_list()[0] == f"{MARKER} met AxB"
    assert out.get_column("t").to_list()[1] == f"{MARKER} (dev)"
    assert counts["t"]["name"] == 2
