"""The one study pipeline (quietpoll.pipeline.prepare_study): report, export --weighted, weight and
estimate --study exclude the same interviews and give the same weights, whatever [quality] says; the
typed record of exclusions. SYNTHETIC demo study only."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from quietpoll.cli import main
from quietpoll.demo_study import make_study
from quietpoll.pipeline import NEAR_DUPLICATE, prepare_study
from quietpoll.report import build_report


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return make_study(tmp_path_factory.mktemp("pipeline") / "study")


def with_quality(demo: Path, folder: Path, **keys) -> Path:
    """A copy of the demo study with [quality] keys set (the rest of study.toml as made)."""
    study = folder / "study"
    shutil.copytree(demo, study)
    head, rest = (study / "study.toml").read_text(encoding="utf-8").split("[quality]\n")
    section, tail = rest.split("\n\n", 1)
    section = [line for line in section.splitlines() if line.split(" = ")[0] not in keys]
    section += [f"{k} = {json.dumps(v)}" for k, v in keys.items()]
    toml = head + "[quality]\n" + "\n".join(section) + "\n\n" + tail
    # the report's model rows are not what these tests compare (tests/report/test_model_rows.py has them):
    # off, to spare the suite their fits on other data
    assert "model_based = true" in toml
    toml = toml.replace("model_based = true", "model_based = false")
    (study / "study.toml").write_text(toml, encoding="utf-8")
    return study


def weights_of(path: Path, column: str = "final_weight") -> np.ndarray:
    return pl.read_csv(path, infer_schema_length=0)[column].cast(pl.Float64).fill_null(np.nan).to_numpy()


@pytest.mark.parametrize(
    "keys",
    [{"threshold": 0.6, "drop_flagged": True}, {"drop_flagged": True}],
    ids=["threshold-0.6", "simulated-threshold"],
)
def test_report_export_and_weight_agree(demo, tmp_path, capsys, keys):
    """With [quality] threshold = 0.6 (and with the simulated threshold) `report`, `export --weighted` and
    `weight` exclude the same interviews and give every interview the same weight, row by row."""
    study = with_quality(demo, tmp_path, **keys)
    rep = build_report(study, tmp_path / "report")
    assert main(["export", str(study), "--to", "csv", "--out", str(tmp_path / "export.csv"), "--weighted"]) == 0
    assert main(["weight", "--study", str(study), "--out", str(tmp_path / "weight.csv"), "--format", "json"]) == 0
    diag = json.loads(capsys.readouterr().out.splitlines()[-1])

    exported, weighted = weights_of(tmp_path / "export.csv"), weights_of(tmp_path / "weight.csv")
    reported = rep.prepared.final_weights().fill_null(np.nan).to_numpy()
    n = 150
    assert exported.shape == weighted.shape == reported.shape == (n,)
    # the same interviews excluded: those of the pairs report.json lists, no others
    pairs = rep.data["quality"]["near_duplicates"]["pairs"]
    listed = sorted({p[k] for p in pairs for k in ("row", "match_row")})
    for w in (exported, weighted, reported):
        assert np.flatnonzero(np.isnan(w)).tolist() == listed
    assert [e["row"] for e in diag["excluded"]] == listed
    assert rep.data["sample"]["n_excluded"] == len(listed)
    assert rep.data["sample"]["n_analysed"] == n - len(listed)
    # the same weights, row by row
    np.testing.assert_allclose(exported, reported, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(weighted, reported, rtol=1e-12, equal_nan=True)
    # and the weights the report describes are these
    kept = reported[~np.isnan(reported)]
    assert rep.data["weighting"]["weights"]["min"] == pytest.approx(kept.min(), rel=1e-12)
    assert rep.data["weighting"]["weights"]["max"] == pytest.approx(kept.max(), rel=1e-12)
    assert rep.data["weighting"]["n"] == kept.size
    if "threshold" in keys:
        assert rep.data["quality"]["near_duplicates"]["threshold"] == 0.6
        assert len(listed) == 85  # the user's threshold flags far more than the simulated one (4)
    else:
        assert len(listed) == 4


def test_estimate_study_analyses_the_same_interviews(demo, tmp_path, capsys):
    study = with_quality(demo, tmp_path, threshold=0.6)
    assert main(["estimate", "--study", str(study), "--mean", "le_count", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["design"]["n"] == 65 and out["estimates"][0]["n"] == 65
    assert out["design"]["weighting"] == ["raking"]
    w = prepare_study(study).final_weights().drop_nulls().to_numpy()
    assert out["design"]["sum_weights"] == pytest.approx(w.sum(), rel=1e-12)


def test_exclusions_are_a_typed_record(demo):
    prepared = prepare_study(demo)
    assert [e.row for e in prepared.exclusions] == list(prepared.flagged) == sorted(prepared.flagged)
    assert len(prepared.exclusions) == 4 and prepared.frame.height == 146
    pairs = {(d.row, d.match_row) for d in prepared.quality.near_duplicates}
    for e in prepared.exclusions:
        assert e.reason == NEAR_DUPLICATE and e.matches and 0 < e.share <= 1
        assert all((min(e.row, m), max(e.row, m)) in pairs for m in e.matches)
        assert e.to_dict()["row"] == e.row
    # the analysis frame is the kept rows in the file's order
    assert prepared.kept.sum() == 146 and not prepared.kept[list(prepared.flagged)].any()
    assert prepared.final_weights().null_count() == 4


def test_drop_flagged_false_keeps_every_interview(demo, tmp_path, capsys):
    study = with_quality(demo, tmp_path, threshold=0.6, drop_flagged=False)
    prepared = prepare_study(study)
    assert len(prepared.flagged) == 85 and prepared.exclusions == () and prepared.frame.height == 150
    assert prepared.final_weights().null_count() == 0
    assert main(["export", str(study), "--to", "csv", "--out", str(tmp_path / "e.csv"), "--weighted"]) == 0
    assert not np.isnan(weights_of(tmp_path / "e.csv")).any()


def test_interviewer_column_must_exist(demo, tmp_path, capsys):
    study = with_quality(demo, tmp_path, interviewer="nobody")
    for args in (
        ["weight", "--study", str(study), "--out", str(tmp_path / "w.csv")],
        ["export", str(study), "--to", "csv", "--weighted", "--out", str(tmp_path / "e.csv")],
        ["estimate", "--study", str(study), "--mean", "le_count"],
    ):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "[quality] interviewer" in err and "'nobody'" in err, err


def test_study_without_a_form_keeps_every_row(tmp_path):
    data = Path(__file__).parent / "reference" / "data" / "apiclus1.csv"
    (tmp_path / "study.toml").write_text(f'[data]\npath = "{data}"\n[design]\nweights = "pw"\nids = ["dnum"]\n')
    prepared = prepare_study(tmp_path)
    assert prepared.instrument is None and prepared.exclusions == () and prepared.frame.height == 183
    assert prepared.weighted is prepared.design
    only = prepare_study(tmp_path, columns=["api00"])
    assert set(only.frame.columns) == {"pw", "dnum", "api00"}
