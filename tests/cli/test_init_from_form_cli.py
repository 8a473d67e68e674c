"""`quietpoll init DIR --from-form FORM [--data FILE]`: a study folder for a questionnaire and data that
exist (a KoboToolbox or ODK user's); the originals are copied, never touched; a bad form or a used folder
is refused before anything is written (SYNTHETIC data)."""

from __future__ import annotations

import json

import polars as pl

from quietpoll.cli import main
from quietpoll.study import load_study

FORM = """| survey |  |  |  |
|---|---|---|---|
|  | type | name | label::English (en) |
|  | select_one yn | watched | Watched? |
|  | integer | age | Age |
| choices |  |  |  |
|---|---|---|---|
|  | list_name | name | label::English (en) |
|  | yn | yes | Yes |
|  | yn | no | No |
| settings |  |
|---|---|
|  | form_title |
|  | Media use |
"""


def test_init_from_form_and_data(tmp_path, capsys):
    form, data = tmp_path / "kobo.md", tmp_path / "export.csv"
    form.write_text(FORM, encoding="utf-8")
    pl.DataFrame({"watched": ["yes", "no", "yes"], "age": [30, 41, 25]}).write_csv(data)
    study = tmp_path / "study"
    assert main(["init", str(study), "--from-form", str(form), "--data", str(data)]) == 0
    assert sorted(p.name for p in study.iterdir()) == ["form.md", "responses.csv", "study.toml"]
    cfg = load_study(study)
    assert cfg.title == "Media use" and cfg.instrument.path.name == "form.md"
    assert cfg.data.path.name == "responses.csv" and cfg.report.language == "English"
    assert form.read_text(encoding="utf-8") == FORM  # the original is untouched
    capsys.readouterr()
    assert main(["validate", "--study", str(study), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_rows"] == 3


def test_init_from_form_refuses_before_writing(tmp_path, capsys):
    bad = tmp_path / "bad.md"
    bad.write_text(FORM.replace("| integer | age |", "| integr | age |"), encoding="utf-8")
    for args, words in (
        (["--from-form", str(bad)], "bad.md"),
        (["--data", str(bad)], "--data goes with --from-form"),
    ):
        capsys.readouterr()
        assert main(["init", str(tmp_path / "new"), *args]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in err
        assert not (tmp_path / "new").exists()
    used = tmp_path / "used"
    used.mkdir()
    (used / "x").write_text("x")
    good = tmp_path / "good.md"
    good.write_text(FORM, encoding="utf-8")
    assert main(["init", str(used), "--from-form", str(good)]) == 2
    assert "not empty" in capsys.readouterr().err
