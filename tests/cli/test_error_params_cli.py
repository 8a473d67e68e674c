"""The CLI writes a core error's parameter as the running command's flag, and as the study.toml key when
the command has no such flag (or the error is about study.toml itself). SYNTHETIC demo study."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from quietpoll.cli import main
from quietpoll.demo_study import make_study

STRAT = str(Path(__file__).resolve().parents[1] / "reference" / "data" / "apistrat.csv")


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("quietpoll: error: ") and "Traceback" not in err, err
    return err


def test_a_flag_for_a_flag(capsys):
    assert main(["estimate", STRAT, "--repweights", "pw", "--rep-type", "Fay", "--mean", "api00"]) == 2
    err = one_line(capsys)
    assert "replicate type Fay needs --rho (the Fay coefficient" in err and "{" not in err
    assert main(["estimate", STRAT, "--weights", "pw", "--mean", "api00", "--ci-method", "beta"]) == 2
    assert "--ci-method beta applies to proportions" in one_line(capsys)


@pytest.fixture(scope="module")
def unnested(tmp_path_factory) -> Path:
    """The demo study with PSU ids (sex) that repeat across strata (sample) and no nest."""
    study = tmp_path_factory.mktemp("params") / "study"
    make_study(study)
    toml = (study / "study.toml").read_text(encoding="utf-8")
    (study / "study.toml").write_text(
        toml.replace('strata = "sample"\n', 'strata = "sample"\nids = ["sex"]\n'), encoding="utf-8"
    )
    return study


def test_the_study_key_where_the_command_has_no_flag(unnested, tmp_path, capsys):
    assert main(["weight", "--study", str(unnested), "--out", str(tmp_path / "w.csv")]) == 2
    assert "use --nest if PSU ids are only unique within strata" in one_line(capsys)
    assert main(["export", str(unnested), "--to", "csv", "--weighted", "--out", str(tmp_path / "e.csv")]) == 2
    err = one_line(capsys)
    assert "use nest if PSU ids are only unique within strata" in err and "--nest" not in err


def test_a_study_file_error_names_the_key(tmp_path, capsys):
    shutil.copyfile(STRAT, tmp_path / "d.csv")
    (tmp_path / "study.toml").write_text('[data]\npath = "d.csv"\n[design.replicates]\ncolumns = "pw"\ntype = "Fay"\n')
    assert main(["estimate", "--study", str(tmp_path), "--mean", "api00"]) == 2
    err = one_line(capsys)
    assert "[design]: replicate type Fay needs rho (the Fay" in err and "--rho" not in err
    (tmp_path / "study.toml").write_text('[data]\npath = "d.csv"\n[quality]\nthreshold = 7\n')
    assert main(["estimate", "--study", str(tmp_path), "--mean", "api00"]) == 2
    assert "[quality] threshold must be a share between 0 and 1" in one_line(capsys)
