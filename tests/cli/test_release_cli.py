"""`quietpoll release`: the released file checked independently (k by pairwise counting with the wildcard rule,
no identifier column, no phone number or e-mail), the report, exit 3 refusal, bad input exit 2. SYNTHETIC data."""

from __future__ import annotations

import json
import re

import numpy as np
import polars as pl
import pytest

from quietpoll.cli import main

PHONE = re.compile(r"\+?\d[\d\s().\-]{6,}\d")
EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[A-Za-z]{2,}")
QI = ["sex", "age", "province"]


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(11)  # SYNTHETIC respondents
    n = 250
    notes = np.array(
        [
            "reach me at +82 10 5555 1234",
            "mail: someone@example.net",
            "김민수가 청진에서 봤다",
            "no comment",
            "ID 800202-2345678",
        ],
        dtype=object,
    )
    path = tmp_path / "d.csv"
    pl.DataFrame(
        {
            "name": [f"Respondent {i}" for i in range(n)],
            "meta/instanceID": [f"uuid:{i:06d}" for i in range(n)],
            "today": [f"2026-0{1 + i % 9}-15" for i in range(n)],
            "sex": rng.choice(["male", "female"], n).tolist(),
            "age": rng.integers(18, 80, n),
            "province": rng.choice(["a", "b", "c", "d", "e", "f"], n, p=[0.4, 0.3, 0.1, 0.1, 0.05, 0.05]).tolist(),
            "watched": rng.choice(["yes", "no"], n).tolist(),
            "note": rng.choice(notes, n).tolist(),
        }
    ).write_csv(path)
    names = tmp_path / "names.txt"
    names.write_text("김민수\n청진\n", encoding="utf-8")
    return tmp_path, str(path), str(names)


def pairwise_min_k(frame: pl.DataFrame, qi: list[str]) -> int:
    rows = frame.select(qi).rows()
    return min(sum(all(a is None or b is None or a == b for a, b in zip(r, s)) for s in rows) for r in rows)


def test_release_json_and_independent_checks(data, capsys):
    tmp, path, names = data
    out = tmp / "public.csv"
    report_file = tmp / "report.json"
    assert (
        main(
            [
                "release",
                path,
                "--qi",
                ",".join(QI),
                "--k",
                "5",
                "--identifiers",
                "name",
                "--out",
                str(out),
                "--recode",
                "age=bands:20,30,40,50,60",
                "--names",
                names,
                "--report",
                str(report_file),
                "--max-suppressed",
                "0.2",
                "--format",
                "json",
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    rep = json.loads(captured.out)
    assert "not logged" in captured.err
    released = pl.read_csv(out, infer_schema_length=0)
    assert pairwise_min_k(released, QI) >= 5 == rep["k"]
    assert rep["final_k"] >= 5
    assert "name" not in released.columns and "meta/instanceID" not in released.columns
    for text in released.get_column("note").drop_nulls():
        assert not PHONE.search(text) and not EMAIL.search(text) and "김민수" not in text and "청진" not in text
    assert set(released.get_column("today")) <= {f"2026-0{m}" for m in range(1, 10)}
    assert json.loads(report_file.read_text()) == rep
    assert rep["output"]["rows"] == 250 and rep["scrubbed"]["note"]["id_number"] > 0
    assert "5555" not in report_file.read_text() and "someone" not in report_file.read_text()


def test_release_table_output_and_study_log(data, capsys):
    tmp, path, _ = data
    study = tmp / "study"
    study.mkdir()
    base = [
        "release",
        path,
        "--qi",
        "sex,province",
        "--k",
        "3",
        "--identifiers",
        "name",
        "--study",
        str(study),
        "--format",
        "table",
    ]
    assert main([*base, "--out", str(tmp / "a.parquet")]) == 0
    out = capsys.readouterr().out
    assert "release report" in out and "dropped" in out and "logged as release 1" in out
    # the same records again under a finer QI set: differencing warning on stderr, still written
    assert (
        main(
            [
                "release",
                path,
                "--qi",
                "sex,province,age",
                "--recode",
                "age=bands:40",
                "--k",
                "3",
                "--identifiers",
                "name",
                "--study",
                str(study),
                "--out",
                str(tmp / "b.csv"),
                "--format",
                "json",
                "--max-suppressed",
                "0.3",
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    rep = json.loads(captured.out)
    assert rep["log"]["id"] == 2
    log = json.loads((study / "releases" / "log.json").read_text())
    assert [e["file"] for e in log["releases"]] == ["a.parquet", "b.csv"]
    # province was suppressed in 2 records now but published for them before: combining the two undoes it
    assert rep["suppression"]["by_qi"]["province"] > 0
    assert "combined" in captured.err and rep["warnings"]


def test_refusal_exit_3(data, capsys):
    tmp, path, _ = data
    out = tmp / "x.csv"
    assert main(["release", path, "--qi", ",".join(QI), "--k", "10", "--identifiers", "name", "--out", str(out)]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "release refused" in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--qi", "nope"], "nope"),
        (["--qi", "sex", "--k", "1"], "k must be"),
        (["--qi", "sex,name"], "both a direct identifier"),
        (["--qi", "sex", "--recode", "age=bands:30,20"], "increase"),
        (["--qi", "sex", "--recode", "age"], "COL=SPEC"),
        (["--qi", "sex", "--top-code", "age=x"], "not a number"),
        (["--qi", "sex", "--year-bands", "age=1"], "at least 2"),
        (["--qi", "sex", "--free-text", "missing_col"], "missing_col"),
        (["--qi", "sex", "--names", "no_such_names.txt"], "names list"),
        (["--qi", "sex", "--max-suppressed", "2"], "--max-suppressed"),
        ([], "--qi"),
    ],
)
def test_bad_input_exit_2(data, capsys, args, needle):
    tmp, path, _ = data
    assert main(["release", path, "--identifiers", "name", "--out", str(tmp / "o.csv"), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err


def test_bad_out_extension_and_missing_file(data, capsys):
    tmp, path, _ = data
    assert main(["release", path, "--qi", "sex", "--out", str(tmp / "o.txt")]) == 2
    assert ".txt" in capsys.readouterr().err
    assert main(["release", str(tmp / "none.csv"), "--qi", "sex", "--out", str(tmp / "o.csv")]) == 2
    assert "not found" in capsys.readouterr().err


def test_study_form_used_for_metadata(tmp_path, capsys):
    assert main(["init", str(tmp_path / "s")]) == 0
    capsys.readouterr()
    rng = np.random.default_rng(4)  # SYNTHETIC
    n = 60
    path = tmp_path / "kobo.csv"
    pl.DataFrame(
        {
            "start": ["2026-05-02T09:00:00.000+09:00"] * n,
            "end": ["2026-05-02T09:40:00.000+09:00"] * n,
            "today": ["2026-05-02"] * n,
            "profile/sex": rng.choice(["male", "female"], n).tolist(),
            "profile/province": rng.choice(["ryanggang", "north_hamgyong"], n).tolist(),
            "meta/instanceID": [f"uuid:{i}" for i in range(n)],
        }
    ).write_csv(path)
    assert (
        main(
            [
                "release",
                str(path),
                "--qi",
                "profile/sex,profile/province",
                "--k",
                "3",
                "--study",
                str(tmp_path / "s"),
                "--timestamps",
                "quarter",
                "--out",
                str(tmp_path / "o.csv"),
                "--format",
                "json",
            ]
        )
        == 0
    )
    rep = json.loads(capsys.readouterr().out)
    assert {d["column"]: d["reason"] for d in rep["coarsened"]} == {
        "start": "collection metadata: start timestamp",
        "end": "collection metadata: end timestamp",
        "today": "collection metadata: today timestamp",
    }
    assert [d["column"] for d in rep["dropped"]] == ["meta/instanceID"]
    released = pl.read_csv(tmp_path / "o.csv")
    assert released.columns == ["start", "end", "today", "profile/sex", "profile/province"]
    assert set(released.get_column("start")) == {"2026-Q2"}
