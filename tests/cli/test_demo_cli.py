"""`quietpoll demo --out DIR`: the SYNTHETIC study, the report and the one-screen summary, end to end;
the report's numbers agree with the demo's own pipeline; bad input is one line and exit 2."""

from __future__ import annotations

import json

import pytest

from quietpoll.cli import main
from quietpoll.demo import run_pipeline


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    capture = pytest.MonkeyPatch()
    import io
    import sys

    buf = io.StringIO()
    capture.setattr(sys, "stdout", buf)
    try:
        code = main(["demo", "--out", str(out)])
    finally:
        capture.undo()
    return out, code, buf.getvalue()


def test_demo_writes_study_and_report(demo):
    out, code, text = demo
    assert code == 0
    for name in (
        "study/study.toml",
        "study/form.xlsx",
        "study/responses.csv",
        "study/truth.json",
        "study/README-SYNTHETIC.md",
        "report.html",
        "report.json",
        "demo-summary.json",
    ):
        assert (out / name).exists(), name
    assert "SYNTHETIC" in text and str(out / "report.html") in text
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["synthetic"] is True


def test_summary_table_shows_truth_naive_weighted_covered(demo):
    out, _, text = demo
    summary = json.loads((out / "demo-summary.json").read_text(encoding="utf-8"))
    truth = json.loads((out / "study" / "truth.json").read_text(encoding="utf-8"))
    assert [r["id"] for r in summary["indicators"]] == list(truth)
    n_cov = sum(r["covered"] for r in summary["indicators"])
    n_miss = sum(r["naive_miss"] for r in summary["indicators"])
    assert f"cover the truth for {n_cov} of 10" in text and f"more than 2 SE for {n_miss}" in text
    assert n_cov >= 7 and n_miss >= 7
    assert "Ever watched foreign video" in text and "covered?" in text
    assert "copied interviews flagged: data rows" in text


def test_report_agrees_with_the_demo_pipeline(demo):
    out, _, _ = demo
    mine = {r["id"]: r for r in run_pipeline(out / "study")["indicators"]}
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    overall = {r["id"]: r for r in report["indicators"] if not r["domain"]}
    assert set(overall) == set(mine)
    for k, r in overall.items():
        assert r["estimate"] == pytest.approx(mine[k]["estimate"], rel=1e-9), k
        assert r["ci_low"] == pytest.approx(mine[k]["ci_low"], rel=1e-9), k


def test_demo_again_into_the_same_folder(demo, capsys):
    out, _, _ = demo
    assert main(["demo", "--out", str(out)]) == 0
    assert "SYNTHETIC" in capsys.readouterr().out


def test_refuses_a_folder_holding_another_study(tmp_path, capsys):
    (tmp_path / "study").mkdir()
    (tmp_path / "study" / "study.toml").write_text("[study]\n", encoding="utf-8")
    assert main(["demo", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a demo study" in err and "Traceback" not in err


def test_public_data_demo(capsys):
    assert main(["demo", "--public-data"]) == 0
    assert "California API" in capsys.readouterr().out


def test_validate_and_quality_commands_find_the_planted_faults(demo, capsys):
    out, _, _ = demo
    study = out / "study"
    args = [str(study / "responses.csv"), "--instrument", str(study / "form.xlsx"), "--format", "json"]
    assert main(["validate", *args]) == 0
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert [(p["column"], p["rule"]) for p in problems] == [("months_third", "constraint")]
    assert main(["quality", *args, "--interviewer", "intermediary"]) == 0
    pairs = json.loads(capsys.readouterr().out)["near_duplicates"]
    assert len({d["row"] for d in pairs} | {d["match_row"] for d in pairs}) == 4
    assert {d["interviewer"] for d in pairs} == {"R3"}
