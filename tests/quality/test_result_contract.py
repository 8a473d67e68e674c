"""The typed results keep the JSON contract: ``to_dict()`` of ValidationResult, QualityReport, RiskReport,
SensitiveAssessment and WeightDiagnostics is exactly what ``quietpoll validate``, ``quality``, ``disclosure``
and ``weight --format json`` printed when they returned plain dicts. The golden files in tests/quality/golden
were written by those commands before the results were typed (on the SYNTHETIC demo study and on the planted
data set of test_planted.py); both the command output today and ``to_dict()`` are compared with them.

Regenerate only for a deliberate contract change (keys are added, never renamed)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from test_planted import FORM, synthetic

from quietpoll.cli import cli
from quietpoll.demo_study import make_study
from quietpoll.disclosure.risk import RiskReport, disclosure_risk, propose_qi
from quietpoll.disclosure.sensitive import SensitiveAssessment, assess, designs_from
from quietpoll.instrument.exports import read_responses
from quietpoll.instrument.form import load_instrument
from quietpoll.io import read_data
from quietpoll.quality import QualityReport, ValidationResult, quality_report, validate
from quietpoll.study import load_study

GOLDEN = Path(__file__).parent / "golden"


def golden(name: str) -> str:
    return (GOLDEN / name).read_text(encoding="utf-8")


def as_printed(obj, default=str) -> str:
    """The dict as the CLI prints it (json.dumps with its options, and click.echo's newline)."""
    return json.dumps(obj, allow_nan=False, default=default) + "\n"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    study = make_study(tmp_path_factory.mktemp("contract") / "study")
    form = load_instrument(study / "form.xlsx")
    return study, form, read_responses(study / "responses.csv", form).main


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("planted")
    form = folder / "form.csv"
    form.write_text("\n".join(FORM) + "\n")
    data = synthetic()
    data = data.with_columns(data["age"].cast(pl.String).scatter([4], "forty"))
    data.write_csv(folder / "data.csv")
    instrument = load_instrument(form)
    return folder, instrument, read_responses(folder / "data.csv", instrument).main


def run(args: list[str]) -> str:
    res = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


# -- to_dict() against the output of the untyped code --------------------------------------------------


def test_validation_to_dict_is_the_old_json(demo, planted):
    for (_, instrument, frame), name in ((demo, "demo"), (planted, "planted")):
        result = validate(frame, instrument)
        assert isinstance(result, ValidationResult)
        assert as_printed(result.to_dict()) == golden(f"{name}_validate.json")


def test_quality_to_dict_is_the_old_json(demo, planted):
    _, instrument, frame = demo
    result = quality_report(frame, instrument)
    assert isinstance(result, QualityReport)
    assert as_printed(result.to_dict()) == golden("demo_quality.json")
    assert as_printed(quality_report(frame, instrument, threshold=0.6).to_dict()) == golden("demo_quality_given.json")
    _, instrument, frame = planted
    result = quality_report(frame, instrument, interviewer="interviewer", seed=1)
    assert as_printed(result.to_dict()) == golden("planted_quality.json")


def test_disclosure_to_dict_is_the_old_json(demo, planted):
    study, instrument, _ = demo
    frame = read_data(study / "responses.csv").frame  # as `disclosure` reads it
    qi = [c for c in propose_qi(instrument) if c in frame.columns]
    risk = disclosure_risk(frame, qi)
    sensitive = assess(frame, designs_from(sections=load_study(study).sections, instrument=instrument))
    assert isinstance(risk, RiskReport) and isinstance(sensitive, SensitiveAssessment)
    printed = {**risk.to_dict(), "sensitive_designs": sensitive.to_dict()}
    assert as_printed(printed, default=float) == golden("demo_disclosure.json")
    folder, _, _ = planted
    frame = read_data(folder / "data.csv").frame
    printed = {
        **disclosure_risk(frame, ["age", "region"], sensitive=["watched"], k=2).to_dict(),
        "sensitive_designs": assess(frame, designs_from()).to_dict(),
    }
    assert as_printed(printed, default=float) == golden("planted_disclosure.json")


# -- the commands print the same as before ---------------------------------------------------------------


def test_commands_print_the_old_json(demo, planted):
    study, _, _ = demo
    data, form = str(study / "responses.csv"), str(study / "form.xlsx")
    assert run(["validate", data, "--instrument", form, "--format", "json"]) == golden("demo_validate.json")
    assert run(["quality", data, "--instrument", form, "--threshold", "0.6", "--format", "json"]) == golden(
        "demo_quality_given.json"
    )
    assert run(["disclosure", data, "--instrument", form, "--study", str(study), "--format", "json"]) == golden(
        "demo_disclosure.json"
    )
    assert run(
        [
            "disclosure",
            data,
            "--qi",
            "sex,age_group,province_group",
            "--sensitive",
            "months_third",
            "--k",
            "3",
            "--format",
            "json",
        ]
    ) == golden("demo_disclosure_weighted.json")
    folder, _, _ = planted
    data, form = str(folder / "data.csv"), str(folder / "form.csv")
    assert run(["validate", data, "--instrument", form, "--format", "json"]) == golden("planted_validate.json")
    assert run(
        ["quality", data, "--instrument", form, "--interviewer", "interviewer", "--seed", "1", "--format", "json"]
    ) == golden("planted_quality.json")


def test_weight_prints_the_old_json(demo, tmp_path):
    """`weight --format json`: WeightDiagnostics.to_dict() plus the command's collapsed and excluded."""
    study, _, _ = demo
    assert run(
        [
            "weight",
            str(study / "responses.csv"),
            "--study",
            str(study),
            "--out",
            str(tmp_path / "w.csv"),
            "--format",
            "json",
        ]
    ) == golden("demo_weight.json")


# -- the extraction written once ----------------------------------------------------------------------------


def test_flagged_rows_and_pairs(demo):
    _, instrument, frame = demo
    result = quality_report(frame, instrument, threshold=0.6)
    pairs = {(d.row, d.match_row) for d in result.near_duplicates}
    assert pairs and all(a < b for a, b in pairs)
    rows = {r for p in pairs for r in p}
    assert result.flagged_rows == tuple(sorted(rows))
    for f in result.flagged():
        partners = {b for a, b in pairs if a == f.row} | {a for a, b in pairs if b == f.row}
        assert f.matches == tuple(sorted(partners))
        assert f.share == max(d.share for d in result.near_duplicates if f.row in (d.row, d.match_row))
    assert result.pairs() == [
        {"row": d.row, "match_row": d.match_row, "share": d.share} for d in result.near_duplicates
    ]
    assert all("interviewer" not in p for p in result.pairs())  # collection metadata is never published
    assert result.flagged_interviewers() == {d.interviewer for d in result.near_duplicates}


def test_no_pairs_no_flags(planted):
    _, instrument, frame = planted
    result = quality_report(frame, instrument, threshold=0.999)
    assert result.near_duplicates == () and result.flagged() == () and result.flagged_rows == ()
    assert result.pairs() == [] and result.flagged_interviewers() == set()


def test_validation_counts(planted):
    _, instrument, frame = planted
    result = validate(frame, instrument)
    assert result.by_rule() == {"type": 1, "unknown_column": 1}
    assert result.by_column() == [
        {"column": "age", "rule": "type", "count": 1},
        {"column": "interviewer", "rule": "unknown_column", "count": 1},
    ]
    assert result.rows() == (4,) and result.rows("unknown_column") == ()


def test_results_are_frozen(planted):
    _, instrument, frame = planted
    result = validate(frame, instrument)
    with pytest.raises(AttributeError):
        result.n_rows = 0  # type: ignore[misc]
