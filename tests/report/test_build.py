"""build_report on the SYNTHETIC demo study: report.json's contract, the table rules checked against
counts made here directly from responses.csv, consistency between tables and estimates, warnings,
quality and weighting sections, and the golden file (rtol 1e-9)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl
import pytest

from quietpoll.errors import ReportError, StudyError
from quietpoll.report import build_report

GOLDEN = Path(__file__).parent / "golden" / "report.json"
REGENERATE = ".venv/bin/python tests/report/make_golden.py"


def analysed(demo_study, data) -> pl.DataFrame:
    """The interviews the report analysed: responses.csv less the flagged rows, read here directly."""
    frame = pl.read_csv(demo_study / "responses.csv", infer_schema_length=0)
    flagged = {p[k] for p in data["quality"]["near_duplicates"]["pairs"] for k in ("row", "match_row")}
    return frame.with_row_index("_r").filter(~pl.col("_r").is_in(sorted(flagged)))


def test_files_and_contract(built):
    data = json.loads(built.json_path.read_text(encoding="utf-8"))
    assert data == built.data
    assert built.html_path.exists() and built.pdf_path is None
    assert data["synthetic"] is True
    for r in data["indicators"]:
        for key in ("id", "label", "estimate", "se", "ci_low", "ci_high", "n", "suppressed", "domain"):
            assert key in r
    overall = [r for r in data["indicators"] if not r["domain"]]
    assert [r["id"] for r in overall] == [
        "ever_watched",
        "watch_monthly",
        "radio_weekly",
        "owns_usb",
        "watched_sk",
        "watched_sk_list",
        "knows_punished",
        "knows_punished_rr",
        "more_danger",
        "home_inspected",
    ]
    assert {s[0] for s in built.steps} >= {"weighting", "tables and disclosure rules", "writing the report"}
    # the model-based rows' fits (seconds each, minutes in all on a first report) say which one runs
    fits = [s for s in built.steps if s[0].startswith("estimating indicators: model-based estimates of ")]
    assert {s[0].rsplit(" ", 1)[1] for s in fits} == {f["id"] for f in built.data["model_based"]["fits"]}


def test_suppressed_rows_carry_no_numbers(built):
    for r in built.data["indicators"]:
        if r["suppressed"]:
            assert all(r[k] is None for k in ("estimate", "se", "ci_low", "ci_high", "n", "naive_estimate"))
    for t in built.data["tables"]:
        for row in t["rows"]:
            if row.get("suppressed"):
                assert row.get("estimate") is None and row.get("share") is None
        for line in t.get("cells", []):
            for cell in line:
                if cell["suppressed"]:
                    assert cell["share"] is None


def test_no_published_cell_from_fewer_than_min_cell(built, demo_study):
    """Every published crosstab cell and topline share comes from 0 or at least min_cell respondents
    (counts made here with polars, independently of the report's code)."""
    data = built.data
    k = data["settings"]["min_cell"]
    frame = analysed(demo_study, data)
    checked = 0
    for t in data["tables"]:
        if t["kind"] == "crosstab":
            sub = frame.filter(pl.col(t["row"]).is_not_null() & pl.col(t["col"]).is_not_null())
            counts = {(a, b): n for a, b, n in sub.group_by([t["row"], t["col"]]).len().iter_rows()}
            for i, row in enumerate(t["rows"]):
                for j, col in enumerate(t["cols"]):
                    if not t["cells"][i][j]["suppressed"]:
                        n = counts.get((row["level"], col["level"]), 0)
                        assert n == 0 or n >= k, (t["id"], row["level"], col["level"], n)
                        checked += 1
            # every row and column holding a suppressed cell holds at least two (no lone suppression)
            for i in range(len(t["rows"])):
                assert sum(c["suppressed"] for c in t["cells"][i]) != 1 or t["rows"][i]["suppressed"]
        elif t["kind"] == "topline" and t["type"] == "select_one":
            counts = dict(frame.filter(pl.col(t["question"]).is_not_null()).group_by(t["question"]).len().iter_rows())
            for row in t["rows"]:
                if not row["suppressed"]:
                    n = counts.get(row["level"], 0)
                    assert n == 0 or n >= k, (t["id"], row["level"], n)
                    checked += 1
    assert checked > 100


def test_domain_estimates_match_their_crosstab(built):
    """The breakdown of a share indicator (estimator) equals the crosstab's column share (bincount)."""
    data = built.data
    tables = {t["id"]: t for t in data["tables"]}
    compared = 0
    for r in data["indicators"]:
        if r["kind"] != "proportion" or not r["domain"] or r["suppressed"]:
            continue
        ((by, value),) = r["domain"].items()
        t = tables[f"crosstab:{r['variable']}:{by}"]
        i = [x["level"] for x in t["rows"]].index(r["level"])
        j = [x["level"] for x in t["cols"]].index(value)
        assert t["cells"][i][j]["share"] == pytest.approx(r["estimate"], rel=1e-9)
        compared += 1
    assert compared >= 4


def test_naive_estimates_are_unweighted_shares(built, demo_study):
    frame = analysed(demo_study, built.data)
    rows = {r["id"]: r for r in built.data["indicators"] if not r["domain"]}
    ew = frame.filter(pl.col("ever_watched").is_not_null())
    assert rows["ever_watched"]["naive_estimate"] == pytest.approx((ew["ever_watched"] == "yes").mean(), rel=1e-12)
    usb = frame["owns_usb"].cast(pl.Int64)
    assert rows["owns_usb"]["naive_estimate"] == pytest.approx(usb.mean(), rel=1e-12)
    assert rows["owns_usb"]["n"] == frame.height


def test_warnings_follow_the_limits(built):
    s = built.data["settings"]
    for r in built.data["indicators"]:
        if r["suppressed"]:
            continue
        wide = r["share"] and r["ci_high"] - r["ci_low"] > s["max_ci_width"]
        small = r["n"] < s["min_n"]
        assert bool(r["warnings"]) == bool(wide or small), r
    assert any("interval wider" in w["warning"] for w in built.data["warnings"])


def test_sensitive_beside_direct(built):
    pairs = {(p["id"], tuple(p["domain"].items())): p for p in built.data["sensitive"]}
    p = pairs[("watched_sk_list", ())]
    assert p["direct"] == "watched_sk"
    rows = {r["id"]: r for r in built.data["indicators"] if not r["domain"]}
    assert p["estimate"] == rows["watched_sk_list"]["estimate"]
    assert p["direct_estimate"] == rows["watched_sk"]["estimate"]
    assert ("knows_punished_rr", ()) in pairs


def test_quality_weighting_and_methods(built):
    d = built.data
    nd = d["quality"]["near_duplicates"]
    assert nd["pairs"] and nd["n_flagged"] == d["sample"]["n_excluded"] > 0
    assert d["sample"]["n_analysed"] == d["sample"]["n_read"] - d["sample"]["n_excluded"]
    assert d["quality"]["validation"]["by_rule"].get("constraint", 0) >= 1
    w = d["weighting"]
    assert w["method"] == "rake" and w["kish_deff"] > 1 and 0 < w["effective_n"] < d["sample"]["n_analysed"]
    for m in w["margins"]:
        assert m["achieved"] == pytest.approx(m["target"], rel=1e-6)
    names = [e["element"] for e in d["methods"]["elements"]]
    for el in (
        "Sponsor and who conducted the survey",
        "Who was sampled and how",
        "Dates of data collection",
        "Mode of data collection",
        "Sample size",
        "Weighting",
        "Margin of error and design effect",
    ):
        assert el in names
    assert d["methods"]["margin_of_error"] == pytest.approx(
        1.959963984540054 * math.sqrt(w["kish_deff"] * 0.25 / d["sample"]["n_analysed"]), rel=1e-9
    )
    assert any(q["id"] == "ever_watched" and "foreign video" in q["wording"] for q in d["methods"]["question_wording"])
    assert "SYNTHETIC" in d["methods"]["statement"]


def test_topline_for_every_select_question(built, demo_study):
    from quietpoll.instrument.form import load_instrument

    inst = load_instrument(demo_study / "form.xlsx")
    shown = {t["question"] for t in built.data["tables"] if t["kind"] == "topline"}
    skipped = {s["question"] for s in built.data["not_tabulated"]}
    for q in inst.data_questions():
        assert q.name in shown | skipped, q.name
        if q.type in ("select_one", "select_multiple"):
            assert q.name in shown, q.name


def test_korean_labels(demo_study, tmp_path):
    from quietpoll.instrument.form import load_instrument
    from quietpoll.instrument.typing import labels

    res = build_report(demo_study, tmp_path, language="Korean", indicators=["ever_watched"])
    inst = load_instrument(demo_study / "form.xlsx")
    top = next(t for t in res.data["tables"] if t["id"] == "topline:ever_watched")
    assert top["title"] == inst.question("ever_watched").labels["Korean"]
    assert [r["label"] for r in top["rows"]] == list(labels(inst, "ever_watched", "Korean").values())
    assert [r["label"] for r in res.data["indicators"] if not r["domain"]] == ["외국 영상을 본 적이 있음"]
    assert "합성 데이터" in res.html_path.read_text(encoding="utf-8")


def test_golden_report_json(built):
    """report.json of the demo study at the fixed seed equals the golden file (numbers at rtol 1e-9).
    Regenerate on purpose only: see tests/report/make_golden.py. The MRP rows' numbers (under
    "model_based": posterior summaries and sampler diagnostics) are checked for their keys and types
    only: MCMC draws repeat exactly on one machine but not across CPUs and XLA builds
    (tests/report/test_model_rows.py checks what they must satisfy)."""
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    problems = []

    def cmp(a, b, path):
        if isinstance(a, dict) and isinstance(b, dict):
            if set(a) != set(b):
                problems.append(f"{path}: keys {sorted(set(a) ^ set(b))}")
            for k in set(a) & set(b):
                cmp(a[k], b[k], f"{path}.{k}")
        elif isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                problems.append(f"{path}: length {len(a)} != {len(b)}")
            for i, (x, y) in enumerate(zip(a, b)):
                cmp(x, y, f"{path}[{i}]")
        elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
            if "model_based" in path:
                return
            if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
                problems.append(f"{path}: {a} != {b}")
        elif a != b:
            problems.append(f"{path}: {a!r} != {b!r}")

    cmp(built.data, golden, "report")
    assert not problems, (
        f"{len(problems)} difference(s) from the golden file (regenerate with {REGENERATE} "
        f"if intended): " + "; ".join(problems[:10])
    )


def test_bad_input(demo_study, tmp_path):
    with pytest.raises(ReportError, match="unknown indicator 'nope'"):
        build_report(demo_study, tmp_path, indicators=["nope"])
    with pytest.raises(ReportError, match="unknown language 'French'"):
        build_report(demo_study, tmp_path, language="French")
    with pytest.raises(ReportError, match="unknown report format"):
        build_report(demo_study, tmp_path, fmt="docx")
    with pytest.raises(ReportError, match="does not exist"):
        build_report(tmp_path / "none", tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(StudyError, match="not found"):
        build_report(empty, tmp_path)


def test_template_study_without_weighting_or_indicators(demo_study, tmp_path):
    """A study made by `quietpoll init` (no [weighting], no indicators) still gives a report, and the
    methods statement says which AAPOR elements study.toml does not give."""
    import shutil

    from quietpoll.instrument.templates import create_study

    study = create_study(tmp_path / "plain")
    shutil.copyfile(demo_study / "responses.csv", study / "responses.csv")
    # the template ships recodes, weighting and indicators: take them out for a bare study
    (study / "study.toml").write_text(
        '[study]\ntitle = "Bare"\n[instrument]\npath = "form.xlsx"\n'
        '[data]\npath = "responses.csv"\n[report]\nlanguage = "English"\n',
        encoding="utf-8",
    )
    res = build_report(study, tmp_path / "out")
    assert res.data["indicators"] == [] and res.data["weighting"]["method"] is None
    assert res.data["weighting"]["kish_deff"] == pytest.approx(1.0)
    values = {e["element"]: e["value"] for e in res.data["methods"]["elements"]}
    assert values["Sponsor and who conducted the survey"] == "not stated in study.toml"
    assert not res.data["synthetic"] and "SYNTHETIC DATA" not in res.html_path.read_text(encoding="utf-8")
    page = res.html_path.read_text(encoding="utf-8")
    assert "The study defines no headline indicators" in page and 'id="breakdowns"' not in page
    assert "Estimates are unweighted and describe the sample only" in res.data["methods"]["statement"]
    assert any(t["kind"] == "topline" for t in res.data["tables"])
