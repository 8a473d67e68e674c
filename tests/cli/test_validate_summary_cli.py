"""`quietpoll validate` on a terminal leads with a summary (count, rows hit, problems by rule, the columns
with the most problems) and shows data rows as people count them (the first data row is row 1), as the
SYNTHETIC demo's README names its planted row."""

from __future__ import annotations

import re

from quietpoll.cli import main
from quietpoll.demo_study import make_study


def test_validate_leads_with_a_summary_and_counts_rows_from_1(tmp_path, capsys, monkeypatch):
    study = make_study(tmp_path / "study")
    planted = int(re.search(r"row (\d+)", (study / "README-SYNTHETIC.md").read_text()).group(1))
    monkeypatch.setenv("COLUMNS", "200")
    capsys.readouterr()
    assert main(["validate", "--study", str(study), "--format", "table"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "1 problem(s) in 1 of 150 row(s)"
    assert out.index("Problems by rule") < out.index("Columns with the most problems") < out.index("The first")
    assert re.search(rf"│ {planted}\s+│ months_third\s+│ constraint", out), out
