"""`release` end to end in Python, checked independently: k-anonymity by pairwise counting under the
wildcard rule, no identifier or metadata column, no phone number or e-mail left. All data SYNTHETIC."""

from __future__ import annotations

import json
import re

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quietpoll.disclosure.recode import parse_recode
from quietpoll.disclosure.release import publish, release
from quietpoll.errors import DisclosureError, ReleaseRefused
from quietpoll.instrument.form import load_instrument
from quietpoll.io import read_data

PHONE = re.compile(r"\+?\d[\d\s().\-]{6,}\d")
EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[A-Za-z]{2,}")
QI = ["sex", "age", "province", "year_left"]
STORIES = [
    "my brother's phone is +82 10-9876-5432",
    "write to defector77@example.org",
    "Park from Hyesan helped me",
    "박영희가 혜산에서 도와줬다",
    "nothing to add",
    "call 010 2222 3333 or 13912345678",
    None,
]


def synthetic(n: int = 300, seed: int = 5) -> pl.DataFrame:
    """SYNTHETIC respondents with identifiers, Kobo-style metadata and free text."""
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "full_name": [f"Person {i}" for i in range(n)],
            "phone": [f"010-{1000 + i}-{5000 + i}" for i in range(n)],
            "_uuid": [f"uuid-{i:05d}" for i in range(n)],
            "_submission_time": [f"2026-0{1 + i % 6}-1{i % 10}T08:30:00" for i in range(n)],
            "_submitted_by": rng.choice(["enum01", "enum02"], n).tolist(),
            "deviceid": [f"imei:35{i:013d}" for i in range(n)],
            "start": [f"2026-0{1 + i % 6}-1{i % 10}T08:00:00+09:00" for i in range(n)],
            "sex": rng.choice(["male", "female"], n, p=[0.3, 0.7]).tolist(),
            "age": rng.integers(16, 85, n),
            "province": rng.choice(
                ["north_hamgyong", "ryanggang", "pyongyang", "chagang", "kangwon"], n, p=[0.5, 0.3, 0.1, 0.05, 0.05]
            ).tolist(),
            "year_left": rng.integers(1998, 2025, n),
            "watched": rng.choice(["yes", "no"], n).tolist(),
            "story": rng.choice(np.array(STORIES, dtype=object), n).tolist(),
        }
    )


def pairwise_min_k(frame: pl.DataFrame, qi: list[str]) -> int:
    """Independent check: smallest number of records compatible with a record (equal, or missing on a side)."""
    rows = frame.select(qi).rows()
    return min(sum(all(a is None or b is None or a == b for a, b in zip(r, s)) for s in rows) for r in rows)


RECODES = [parse_recode("age=bands:20,30,40,50,60"), parse_recode("year_left=years:5")]


def test_release_is_k_anonymous_without_identifiers_phones_or_emails(tmp_path):
    df = synthetic()
    rel = release(
        df,
        qi=QI,
        k=5,
        identifiers=["full_name", "phone"],
        names=["Park", "Hyesan", "박영희", "혜산"],
        recodes=RECODES,
        max_suppressed=0.2,
    )
    out = rel.frame
    assert pairwise_min_k(out, QI) >= 5
    assert rel.report["final_k"] == pairwise_min_k(out, QI)
    for gone in ("full_name", "phone", "_uuid", "_submitted_by", "deviceid"):
        assert gone not in out.columns
    for text in out.get_column("story").drop_nulls():
        assert not PHONE.search(text) and not EMAIL.search(text), text
        assert "Park" not in text and "Hyesan" not in text and "박영희" not in text and "혜산" not in text
    assert set(out.get_column("start").drop_nulls()) <= {f"2026-0{m}" for m in range(1, 7)}
    assert set(out.get_column("_submission_time").to_list()) <= {f"2026-0{m}" for m in range(1, 7)}
    assert out.get_column("watched").equals(df.get_column("watched"))
    # the report: every change, never the removed text
    rep = rel.report
    reasons = {d["column"]: d["reason"] for d in rep["dropped"]}
    assert reasons["full_name"] == "direct identifier" and "device id" in reasons["deviceid"]
    assert "submitter" in reasons["_submitted_by"]
    assert {d["column"] for d in rep["coarsened"]} == {"start", "_submission_time"}
    assert rep["scrubbed"]["story"]["email"] == sum(1 for s in df.get_column("story") if s and "@" in s)
    assert rep["scrubbed"]["story"]["name"] > 0 and rep["scrubbed"]["story"]["phone"] > 0
    assert [r["column"] for r in rep["recodes"]] == ["age", "year_left"]
    nulls_before = df.select([pl.col(q).is_null().sum() for q in QI]).row(0)
    nulls_after = out.select([pl.col(q).is_null().sum() for q in QI]).row(0)
    assert rep["suppression"]["by_qi"] == {q: a - b for q, a, b in zip(QI, nulls_after, nulls_before)}
    text = json.dumps(rep, ensure_ascii=False)
    for secret in ("9876", "defector77", "Park", "박영희", "Person 1", "imei", "uuid-"):
        assert secret not in text


def test_publish_writes_file_and_logs(tmp_path):
    df = synthetic(120)
    study = tmp_path / "study"
    study.mkdir()
    rel = release(df, qi=["sex", "province"], k=3, identifiers=["full_name", "phone"])
    rep = publish(rel, tmp_path / "out.parquet", study=study)
    back = read_data(tmp_path / "out.parquet").frame
    assert back.equals(rel.frame)
    assert rep["log"]["id"] == 1 and rep["warnings"] == [] and len(rep["output"]["sha256"]) == 64
    # the same records again, but with only 2 fewer: differencing singles them out
    rel2 = release(df.head(118), qi=["sex", "province"], k=3, identifiers=["full_name", "phone"])
    rep2 = publish(rel2, tmp_path / "out2.csv", study=study)
    assert any("removes 2 record(s)" in w for w in rep2["warnings"])
    rep3 = publish(rel, tmp_path / "out3.csv")
    assert rep3["log"] is None and any("not logged" in w for w in rep3["warnings"])


def test_form_metadata_types_and_text_questions(tmp_path):
    form = tmp_path / "form.md"
    form.write_text(
        "| survey |\n| | type | name | label |\n| | start | begun | |\n| | deviceid | dev | |\n"
        "| | username | user | |\n| | begin_group | g | G |\n| | text | note | Note |\n| | end_group | | |\n"
        "| | select_one sx | sex | Sex |\n| | text | comment_code | Code |\n| | geopoint | home | Home |\n"
        "| choices |\n| | list_name | name | label |\n| | sx | m | Male |\n| | sx | f | Female |\n",
        encoding="utf-8",
    )
    inst = load_instrument(form)
    n = 12
    df = pl.DataFrame(
        {
            "begun": ["2026-02-03T10:00:00"] * n,
            "dev": ["d"] * n,
            "user": ["u"] * n,
            "g/note": ["mail me: x@y.org"] * n,
            "sex": ["m", "f"] * 6,
            "comment_code": ["ok 1234567"] * n,
            "home": ["39.0 125.7 0 5"] * n,
            "_home_latitude": [39.0] * n,
            "other_text": ["a@b.org"] * n,
        }
    )
    rel = release(df, qi=["sex"], k=2, instrument=inst, timestamps="quarter")
    out = rel.frame
    assert set(out.columns) == {"begun", "g/note", "sex", "comment_code", "other_text"}
    assert out.get_column("begun").unique().to_list() == ["2026-Q1"]
    assert out.get_column("g/note").unique().to_list() == ["mail me: [removed]"]
    assert out.get_column("comment_code").unique().to_list() == ["ok [removed]"]
    # with a form, only the form's text questions are free text
    assert out.get_column("other_text").unique().to_list() == ["a@b.org"]
    reasons = {d["column"]: d["reason"] for d in rel.report["dropped"]}
    assert "location" in reasons["home"] and "location" in reasons["_home_latitude"]
    assert "user name" in reasons["user"]


def test_value_labels_kept_for_unchanged_columns():
    df = pl.DataFrame({"sex": [1, 2] * 5, "q": [1, 1, 2, 2, 1, 1, 2, 2, 1, 1], "age": list(range(30, 40))})
    rel = release(
        df,
        qi=["sex"],
        k=2,
        recodes=[parse_recode("age=bands:35")],
        value_labels={"sex": {1: "male", 2: "female"}, "age": {30: "thirty"}, "gone": {1: "x"}},
    )
    assert rel.value_labels == {"sex": {1: "male", 2: "female"}}


def test_refused_when_k_would_destroy_the_file():
    df = synthetic(200)
    with pytest.raises(ReleaseRefused, match="release refused.*k = 5"):
        release(df, qi=QI, k=5, identifiers=["full_name"])


@pytest.mark.parametrize(
    "kw,needle",
    [
        ({"qi": ["nope"]}, "'nope' is not in the data"),
        ({"qi": []}, "no quasi-identifiers"),
        ({"k": 1}, "k must be"),
        ({"identifiers": ["sex"]}, "both a direct identifier"),
        ({"identifiers": ["nope"]}, "identifier column 'nope'"),
        ({"free_text": ["sex"]}, "both free text"),
        ({"free_text": ["nope"]}, "'nope'"),
        ({"qi": ["sex", "deviceid"]}, "'deviceid' is collection metadata"),
        ({"recodes": [parse_recode("nope=top:1")]}, "recode column 'nope'"),
        ({"recodes": [parse_recode("watched=top:1")]}, "'watched'.*not numbers"),
        ({"free_text": ["_uuid"]}, "free-text column '_uuid' is collection metadata"),
        ({"record_id": "sex"}, "unique"),
        ({"timestamps": "week"}, "--timestamps"),
    ],
)
def test_bad_input(kw, needle):
    args = {"qi": ["sex"], "k": 2, "identifiers": ["full_name"], **kw}
    with pytest.raises(DisclosureError, match=needle):
        release(synthetic(40), **args)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["m", "f"]),
            st.integers(15, 80),
            st.sampled_from(["a", "b", "c"]),
            st.sampled_from(STORIES[:6]),
        ),
        min_size=5,
        max_size=35,
    ),
    k=st.integers(2, 4),
)
def test_property_release_is_k_anonymous_without_identifiers(rows, k):
    df = pl.DataFrame(
        {
            "name": [f"n{i}" for i in range(len(rows))],
            "sex": [r[0] for r in rows],
            "age": [r[1] for r in rows],
            "province": [r[2] for r in rows],
            "story": [r[3] for r in rows],
        }
    )
    rel = release(
        df,
        qi=["sex", "age", "province"],
        k=k,
        identifiers=["name"],
        recodes=[parse_recode("age=bands:30,50")],
        max_suppressed=1.0,
        max_suppressed_per_qi=1.0,
    )
    out = rel.frame
    assert "name" not in out.columns
    assert pairwise_min_k(out, ["sex", "age", "province"]) >= k
    assert not any(PHONE.search(t) or EMAIL.search(t) for t in out.get_column("story"))
