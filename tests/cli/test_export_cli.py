"""`quietpoll export`: a labelled file from a study folder; bad input is one line and exit 2 (SYNTHETIC study)."""

from __future__ import annotations

import pyreadstat
import pytest

from quietpoll.cli import main
from quietpoll.demo_study import make_study


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return make_study(tmp_path_factory.mktemp("cli_exp") / "study")


def test_export_sav(study, tmp_path, capsys):
    out = tmp_path / "r.sav"
    assert main(["export", str(study), "--to", "sav", "--out", str(out), "--language", "Korean"]) == 0
    assert f"wrote {out}: 150 rows" in capsys.readouterr().out
    _, meta = pyreadstat.read_sav(out, output_format="polars")
    assert meta.variable_value_labels["sex"] == {1.0: "남성", 2.0: "여성"}


def test_export_csv_names_its_codebook(study, tmp_path, capsys):
    assert main(["export", str(study), "--to", "csv", "--out", str(tmp_path / "r.csv")]) == 0
    assert "r_codebook.csv" in capsys.readouterr().out
    assert (tmp_path / "r_codebook.csv").exists()


def _one_line_error(capsys, needle):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err


def test_study_folder_missing_its_data(tmp_path, capsys):
    s = make_study(tmp_path / "s")
    (s / "responses.csv").unlink()
    assert main(["export", str(s), "--to", "csv"]) == 2
    _one_line_error(capsys, "missing its data")


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--to", "spss"], "--to 'spss'"),
        (["--to", "csv", "--language", "French"], "French"),
        (["--to", "csv", "--out", "/nonexistent-folder/x.csv"], "does not exist"),
    ],
)
def test_bad_options(study, capsys, args, needle):
    assert main(["export", str(study), *args]) == 2
    _one_line_error(capsys, needle)


def test_no_study(tmp_path, capsys):
    assert main(["export", str(tmp_path / "nowhere"), "--to", "csv"]) == 2
    _one_line_error(capsys, "not found")


def test_missing_to(study, capsys):
    assert main(["export", str(study)]) == 2
    _one_line_error(capsys, "--to")
