"""The foreign-media template runs as shipped: `quietpoll init`, responses (SYNTHETIC), `quietpoll
report`, with no file edited by hand, on 5 interviews and on 500: its [recode] columns, its raking with
min_cell (merging provinces nobody in a small sample comes from) and every headline indicator."""

from __future__ import annotations

import json

import pytest

from quietpoll.cli import main
from quietpoll.demo_study import template_responses

HEADLINES = {
    "ever_watched",
    "watch_monthly",
    "radio_weekly",
    "watched_sk_list",
    "knows_punished",
    "knows_punished_rr",
    "witnessed",
    "more_danger",
    "home_inspected",
}


@pytest.mark.parametrize("n", [5, 500])
def test_template_reports_as_shipped(tmp_path, capsys, n):
    study = tmp_path / "study"
    assert main(["init", str(study)]) == 0
    template_responses(n).write_csv(study / "responses.csv")  # what `quietpoll pull` writes there
    capsys.readouterr()
    assert main(["report", str(study), "--out", str(tmp_path / "out")]) == 0, capsys.readouterr().err
    data = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    overall = {r["id"]: r for r in data["indicators"] if not r["domain"]}
    assert set(overall) == HEADLINES
    domains = {tuple(r["domain"]) for r in data["indicators"] if r["domain"]}
    assert domains <= {("sample",), ("exit_cohort",)} and domains
    if n == 500:
        shown = [r for r in overall.values() if r["estimate"] is not None]
        assert len(shown) == len(HEADLINES)  # every headline published on 500 interviews
        assert all(
            0 <= r["estimate"] <= 1 for r in shown if r["kind"] not in ("list_experiment", "randomized_response")
        )
    else:
        # five interviews: weighting still runs (every level merged into one, each merge recorded)
        merged = {r["variable"] for r in data["weighting"]["collapsed"]}
        assert merged == {"sex", "province_group"}
