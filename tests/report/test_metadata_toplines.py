"""Collection metadata and the design's own columns are no toplines: the interviewer and questions about
the interviewer (enum_id, enum_gender ...), cluster ids, strata, weights, fpc, start/end/deviceid and the
tools' underscore columns are listed as not tabulated, with the reason, in the report's language. On a
SYNTHETIC study, and on the REACH MSNA 2024 export of the shared corpus when it is there (where the
methods statement must also describe its design weights, not "none")."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from quietpoll.report import build_report
from quietpoll.report.toplines import design_columns, metadata_reason

CORPUS = Path(__file__).parents[3] / "shared" / "corpus"
REACH_DATA = CORPUS / "exports" / "reach-msna-2024" / "dummy_raw_data.xlsx"
REACH_FORM = CORPUS / "forms" / "reach__REACH_2024_MSNA-kobo-tool_draft_v11.xlsx"

SURVEY = [
    ("start", "start", ""),
    ("end", "end", ""),
    ("deviceid", "deviceid", ""),
    ("select_one who", "enumerator", "Enumerator"),
    ("select_one yn", "enum_gender_ok", "Enumerator checked the gender"),
    ("select_one region", "stratum", "Region"),
    ("integer", "cluster", "Cluster number"),
    ("decimal", "hh_weight", "Weight"),
    ("select_one yn", "water", "Do you have safe water?"),
    ("integer", "people", "How many people live here?"),
]
CHOICES = [("who", "e1", "Ann"), ("who", "e2", "Bo"), ("yn", "yes", "Yes"), ("yn", "no", "No")]
CHOICES += [("region", "north", "North"), ("region", "south", "South")]


def _study(folder: Path, language_ko: bool = False) -> Path:
    """A SYNTHETIC household survey: form.xlsx, responses.csv, study.toml with a design."""
    import xlsxwriter

    folder.mkdir(parents=True)
    with xlsxwriter.Workbook(folder / "form.xlsx") as wb:
        ws = wb.add_worksheet("survey")
        ws.write_row(0, 0, ["type", "name", "label::English", "label::Korean"])
        for k, (t, n, lab) in enumerate(SURVEY, 1):
            ws.write_row(k, 0, [t, n, lab, lab and f"{lab} (한국어)"])
        ws = wb.add_worksheet("choices")
        ws.write_row(0, 0, ["list_name", "name", "label::English", "label::Korean"])
        for k, (ln, n, lab) in enumerate(CHOICES, 1):
            ws.write_row(k, 0, [ln, n, lab, f"{lab} (한국어)"])
    rng = np.random.default_rng(3)
    n = 80
    pl.DataFrame(
        {
            "start": ["2026-03-01T09:00:00"] * n,
            "end": ["2026-03-01T09:20:00"] * n,
            "deviceid": ["dev-1"] * n,
            "enumerator": rng.choice(["e1", "e2"], n),
            "enum_gender_ok": rng.choice(["yes", "no"], n),
            "stratum": np.repeat(["north", "south"], n // 2),
            "cluster": np.repeat(np.arange(8), n // 8),
            "hh_weight": rng.uniform(10, 30, n).round(2),
            "water": rng.choice(["yes", "no"], n),
            "people": rng.integers(1, 9, n),
            "_uuid": [f"u{i}" for i in range(n)],
            "_index": np.arange(1, n + 1),
        }
    ).write_csv(folder / "responses.csv")
    (folder / "study.toml").write_text(
        '[study]\ntitle = "Water"\nsynthetic = true\n[instrument]\npath = "form.xlsx"\n[data]\npath = "responses.csv"\n'
        '[design]\nweights = "hh_weight"\nstrata = "stratum"\nids = ["cluster"]\nnest = true\n'
        f'[report]\nlanguage = "{"Korean" if language_ko else "English"}"\nmin_cell = 5\n',
        encoding="utf-8",
    )
    return folder


def test_metadata_and_design_columns_are_no_toplines(tmp_path):
    res = build_report(_study(tmp_path / "s"), tmp_path / "out")
    shown = {t["question"] for t in res.data["tables"] if t["kind"] == "topline"}
    assert shown == {"water", "people"}
    reasons = {s["question"]: s["reason"] for s in res.data["not_tabulated"]}
    for q in ("start", "end", "deviceid", "enumerator", "enum_gender_ok"):
        assert reasons[q] == "collection metadata", q
    for q in ("stratum", "cluster", "hh_weight"):
        assert reasons[q] == "a column of the sample design (strata, clusters, weights), not an answer", q
    html = res.html_path.read_text(encoding="utf-8")
    assert "Enumerator checked the gender" not in html and "Cluster number" not in html


def test_reasons_in_korean(tmp_path):
    res = build_report(_study(tmp_path / "s", language_ko=True), tmp_path / "out")
    reasons = {s["question"]: s["reason"] for s in res.data["not_tabulated"]}
    assert reasons["cluster"] == "표본 설계의 열(층, 집락, 가중치)이며 응답이 아님"
    assert reasons["enumerator"] == "수집 메타데이터"


def test_metadata_reason_rules():
    from quietpoll.design import DesignSpec, ReplicateSpec

    cols = design_columns(DesignSpec(weights="w", strata="s", ids=("psu", "ssu"), fpc=("f1", "f2")))
    assert set(cols) == {"w", "s", "psu", "ssu", "f1", "f2"}
    rep = design_columns(DesignSpec(weights="w", replicates=ReplicateSpec(columns="rw*", type="JK1")))
    assert metadata_reason("rw12", rep) is not None and metadata_reason("w", rep) is not None
    assert metadata_reason("enumeration_area") is None  # not a question about the interviewer
    assert metadata_reason("water") is None and metadata_reason("water", (), interviewer="water") is not None
    for name in ("enum_id", "enumerator", "Interviewer_name", "surveyor", "intermediary", "_tags"):
        assert metadata_reason(name) is not None, name


@pytest.mark.skipif(not REACH_DATA.exists(), reason="../shared/corpus not present (REACH MSNA 2024 export)")
def test_reach_msna_report_has_no_metadata_toplines(tmp_path):
    study = tmp_path / "reach"
    study.mkdir()
    shutil.copyfile(REACH_FORM, study / "form.xlsx")
    shutil.copyfile(REACH_DATA, study / "responses.xlsx")
    (study / "study.toml").write_text(
        '[study]\ntitle = "REACH MSNA 2024 (synthetic values)"\n[instrument]\npath = "form.xlsx"\n'
        '[data]\npath = "responses.xlsx"\n'
        '[design]\nweights = "weight"\nstrata = "stratum"\nids = ["cluster_id"]\nnest = true\n'
        '[report]\nlanguage = "english"\n',
        encoding="utf-8",
    )
    res = build_report(study, tmp_path / "out")
    shown = {t["question"] for t in res.data["tables"] if t["kind"] == "topline"}
    assert len(shown) > 100
    for q in ("enum_id", "enum_gender", "enum_age", "cluster_id", "start", "end", "deviceid", "today"):
        assert q not in shown, q
    assert not any(q.startswith("_") for q in shown)
    reasons = {s["question"]: s["reason"] for s in res.data["not_tabulated"]}
    assert reasons["cluster_id"].startswith("a column of the sample design")
    assert reasons["enum_id"] == reasons["enum_gender"] == "collection metadata"
    # the framing follows the study: design weights, never "none", nothing about speaking freely
    m = res.data["methods"]
    weighting = next(e["value"] for e in m["elements"] if e["element"] == "Weighting")
    assert weighting.startswith("design weights (column weight)")
    assert "Estimates use the design weights (column weight)" in m["statement"]
    assert "(none" not in m["statement"] and "speak freely" not in res.html_path.read_text(encoding="utf-8")
