"""The files of the SYNTHETIC demo study besides its data: the study's form (the foreign-media template
plus the study team's fields and derived columns), study.toml (census raking targets, the report's
indicators) and README-SYNTHETIC.md. The data and the truth are made in :mod:`quietpoll.demo_study`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from .demo_census import CENSUS, FIELDWORK, INDICATORS, PROVINCE_GROUPS

__all__ = ["write_form", "study_toml", "weighting_targets", "README"]


STUDY_FIELDS = [
    ("begin_group", "study_fields", "Z. Study team fields", "Z. 조사팀 기입 항목", {}),
    (
        "text",
        "intermediary",
        "Intermediary or interviewer code (a code, never a name)",
        "중개인 또는 조사원 코드 (이름이 아닌 코드)",
        {"required": "yes"},
    ),
    (
        "select_one age_group",
        "age_group",
        "Age group for weighting: is the respondent 65 or older?",
        "가중치용 연령 집단: 응답자가 65세 이상입니까?",
        {
            "required": "yes",
            "constraint": ". = 'a15_64' or ${age_band} = 'a60_plus'",
            "constraint_message::English": "65 or older needs the age group '60 or older'.",
            "constraint_message::Korean": "65세 이상은 연령대 '60세 이상'이어야 합니다.",
        },
    ),
    ("calculate", "sample", "", "", {"calculation": "if(${status} = 'inside', 'residents', 'defectors')"}),
    (
        "calculate",
        "exit_cohort",
        "",
        "",
        {
            "calculation": (
                "if(${status} = 'inside', 'inside', if(${year_left} < 2012, 'before_2012', if(${year_left} < 2016, "
                "'2012_2015', if(${year_left} < 2020, '2016_2019', '2020_on'))))"
            )
        },
    ),
    (
        "calculate",
        "province_group",
        "",
        "",
        {
            "calculation": (
                "if(${province} = 'north_hamgyong' or ${province} = 'ryanggang', 'ne_border', "
                "if(${province} = 'north_pyongan' or ${province} = 'chagang', 'nw_border', "
                "if(${province} = 'pyongyang', 'pyongyang', 'interior')))"
            )
        },
    ),
    (
        "calculate",
        "watch_monthly",
        "",
        "",
        {"calculation": ("if(${watch_freq} = 'daily' or ${watch_freq} = 'weekly' or ${watch_freq} = 'monthly', 1, 0)")},
    ),
    (
        "calculate",
        "radio_weekly",
        "",
        "",
        {"calculation": ("if(${radio_freq} = 'daily' or ${radio_freq} = 'weekly', 1, 0)")},
    ),
    ("calculate", "owns_usb", "", "", {"calculation": "if(selected(${devices_owned}, 'usb'), 1, 0)"}),
    ("calculate", "watched_sk", "", "", {"calculation": "if(selected(${origins}, 'south_korea'), 1, 0)"}),
    ("calculate", "more_danger", "", "", {"calculation": "if(${danger_change} = 'more', 1, 0)"}),
    (
        "calculate",
        "inspected_any",
        "",
        "",
        {"calculation": ("if(${home_inspected} = 'once' or ${home_inspected} = 'several', 1, 0)")},
    ),
    ("calculate", "base_weight", "", "", {"calculation": "1"}),
    ("end_group", "", "", "", {}),
]
STUDY_CHOICES = [("age_group", "a15_64", "15-64", "15-64세"), ("age_group", "a65_plus", "65 or older", "65세 이상")]


def write_form(path: Path) -> Path:
    """The foreign-media template plus the study team's fields and derived columns (group Z)."""
    import xlsxwriter

    from .instrument.templates import make_foreign_media as tpl

    rows = list(tpl.SURVEY)
    for qtype, name, en, ko, extra in STUDY_FIELDS:
        row = {"type": qtype, "name": name, "label::English": en, "label::Korean": ko}
        row.update(extra)
        rows.append(row)
    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties(
        {
            "title": f"{tpl.TITLE_EN} (SYNTHETIC demo study)",
            "created": dt.datetime(2026, 1, 1),
            "comments": "SYNTHETIC: made by quietpoll.demo_study; no real respondents",
        }
    )
    ws = wb.add_worksheet("survey")
    for j, c in enumerate(tpl.SURVEY_COLUMNS):
        ws.write_string(0, j, c)
    for i, row in enumerate(rows, start=1):
        for j, c in enumerate(tpl.SURVEY_COLUMNS):
            if row.get(c):
                ws.write_string(i, j, str(row[c]))
    wc = wb.add_worksheet("choices")
    for j, c in enumerate(["list_name", "name", "label::English", "label::Korean"]):
        wc.write_string(0, j, c)
    for i, choice in enumerate([*tpl.CHOICES, *STUDY_CHOICES], start=1):
        for j, v in enumerate(choice):
            wc.write_string(i, j, v)
    wset = wb.add_worksheet("settings")
    settings = [
        ("form_title", f"{tpl.TITLE_EN} (SYNTHETIC demo)"),
        ("form_id", f"{tpl.FORM_ID}_demo"),
        ("version", f"{tpl.VERSION}-demo"),
        ("default_language", "English"),
        ("namespaces", tpl.NAMESPACES),
    ]
    for j, (k, v) in enumerate(settings):
        wset.write_string(0, j, k)
        wset.write_string(1, j, v)
    wb.close()
    return path


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(str(v), ensure_ascii=False)


def weighting_targets() -> tuple[int, dict[str, dict[str, float]]]:
    """Adults (15+) in the census and the raking margins as shares: sex, province group, age group."""
    a = CENSUS["age_share"]
    adults = round(CENSUS["total"] * (a["15-64"] + a["65+"]))
    sex = {k: v / CENSUS["total"] for k, v in CENSUS["sex"].items()}
    prov_total = sum(CENSUS["province"].values())
    group = {g: sum(CENSUS["province"][p] for p in ps) / prov_total for g, ps in PROVINCE_GROUPS.items()}
    old = a["65+"] / (a["15-64"] + a["65+"])
    return adults, {"sex": sex, "province_group": group, "age_group": {"a15_64": 1 - old, "a65_plus": old}}


def study_toml(seed: int) -> str:
    adults, targets = weighting_targets()
    lines = [
        "# quietpoll demo study: SYNTHETIC data made by quietpoll.demo_study.make_study"
        f"(seed={seed}). No real respondents.",
        "# See README-SYNTHETIC.md for the model, the planted faults and the truth (truth.json).",
        "",
        "[study]",
        'title = "Access to foreign media in North Korea (SYNTHETIC demo)"',
        "synthetic = true",
        f"seed = {seed}",
        'sponsor = "none: synthetic demonstration data generated by quietpoll"',
        f'fieldwork = "{FIELDWORK[0].isoformat()} to {FIELDWORK[1].isoformat()}"',
        'mode = "residents: clandestine phone calls through intermediaries; defectors: face to face in Seoul"',
        'population = "people aged 15 or older living in North Korea (DPRK 2008 census margins)"',
        'sampling = "convenience samples: 50 residents reached by phone through 5 intermediaries, 100 defectors '
        "recruited through networks in Seoul (72% women, 78% from North Hamgyong and Ryanggang); no selection "
        "probabilities are known, so every interview has base weight 1 and the samples are raked to census "
        'margins"',
        "",
        "[instrument]",
        'path = "form.xlsx"',
        "",
        "[data]",
        'path = "responses.csv"',
        "",
        "[design]",
        'weights = "base_weight"',
        'strata = "sample"',
        "",
        "# Raking to the DPRK 2008 census margins. Shares: sex of the whole population, province groups of the",
        "# population outside military camps, 65+ among people aged 15+ (8.72 / 76.81). The sex x province",
        "# joint distribution is not published, so the margins are raked separately. population = census total",
        "# x share aged 15+ (derived). Levels with fewer than min_cell interviews are merged into a neighbour.",
        "[weighting]",
        'method = "rake"',
        f"population = {adults}",
        "min_cell = 5",
        "maxit = 100",
    ]
    for var, shares in targets.items():
        lines += ["", f"[weighting.targets.{var}]"] + [f"{k} = {v!r}" for k, v in shares.items()]
    lines += [
        "",
        "[quality]",
        'interviewer = "intermediary"',
        "drop_flagged = true",
        "",
        "[report]",
        'language = "English"',
        "min_cell = 10",
        "max_ci_width = 0.30",
        "min_n = 30",
        'by = ["sample", "exit_cohort", "sex", "province_group"]',
        "# by-group rows whose direct estimate is suppressed, too imprecise or outside 0-100% show a model-based",
        "# (MRP) estimate; fits are cached in model-cache/ (the first report takes minutes, later ones seconds)",
        "model_based = true",
    ]
    for ind in INDICATORS:
        lines += ["", "[[report.indicators]]"] + [f"{k} = {_toml_value(v)}" for k, v in ind.items()]
    return "\n".join(lines) + "\n"


README = """# SYNTHETIC demo study - not real data

Everything in this folder was generated by `quietpoll.demo_study.make_study(seed={seed})`. No person was
interviewed. The numbers are SYNTHETIC and say nothing about North Korea; only the census margins used
for weighting (DPRK 2008 census) and the shape of the samples (MOU defector statistics, the UMG 2022
design) follow published figures.

Files: `study.toml` (the study), `form.xlsx` (quietpoll's foreign-media template plus group Z: the
intermediary code, an age group for weighting and derived columns as calculates), `responses.csv`
({n} synthetic interviews; the `_synthetic` column says so on every row), `truth.json` (the true
population value of every indicator in the synthetic population).

## How the data were made
- A synthetic population of {n_pop:,} adults with province, sex and age group drawn from the census
  margins (independently: their joint distribution is unknown), and a latent openness to foreign media
  that is higher in the border provinces, among the young, women, city dwellers and traders. True
  behaviours are drawn from it; their population means are in truth.json.
- 100 defectors: 72 women; 78 from North Hamgyong and Ryanggang; exit cohorts mostly after 2012. They
  answer about life before they left, so older cohorts report less than today's population.
- 50 residents reached by phone through five intermediaries (R1-R5), chosen with probability rising with
  openness: outward-looking people talk. Weighting cannot remove this selection.
- Direct questions about illegal acts are under-reported (about 7% of watchers refuse or deny; 15% of
  South Korean video watchers do not name South Korea; 15% of those who know someone punished deny it).
  The list experiment (le_treat drawn at random, 4 control items) and the forced-response item
  (1/6 forced yes, 1/6 forced no, 2/3 truthful) are answered from the true behaviour.

## Planted faults (the checks should find them)
- Copied interviews: data rows {copies} (counted from 1, as the report shows them) are copies of row
  {source}, all from intermediary {inter}, with two answers (danger, education) changed and short
  durations. `quietpoll quality` flags them (and the row they copy) as near-duplicates.
- One constraint violation: data row {bad_row}, months_third = 700 (the form allows 0 to 600).
  `quietpoll validate` reports it (its rows count from 0); no other problem is expected.

## Weighting
Every interview has base weight 1 (convenience samples: no selection probabilities are known); the
interviews are raked to the census margins of sex, province group (north-east border, north-west border,
Pyongyang, interior) and age group (15-64, 65+) among people aged 15+, separately, since the joint
distribution is not published. A level with fewer than 5 interviews is merged into its neighbour: few
respondents are 65 or older, so the age margin is usually merged away, as the report's weighting
section records.

## What the demo should show
Weighted 95% intervals cover the true value for most indicators; the unweighted (naive) estimates miss
most of them by more than two standard errors, because the samples over-represent the border provinces,
women and open people.
"""
