"""Built-in questionnaire templates and `quietpoll init`."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from ...errors import StudyError

TEMPLATES = {"foreign-media": "foreign-media.xlsx"}

STUDY_TOML = """# quietpoll study: {title}
# Made by `quietpoll init --template {template}`. Paths are relative to this folder.

[study]
title = "{title}"

[instrument]
path = "form.xlsx"        # the XLSForm; English and Korean labels

[data]
path = "responses.csv"    # decrypted responses (`quietpoll pull` writes them here; never commit or share them)
keep = "consent == 'yes'" # interviews the analysis uses: the others (declined) are left out and counted

# New columns for weighting and the report's groups, made from the answers before anything is weighted.
[recode.sample]
from = "status"
groups = {{ residents = ["inside"], defectors = ["left"] }}

[recode.exit_cohort]      # defectors by the year they left; people still inside have no year
from = "year_left"
bands = [1950, 2012, 2016, 2020]
labels = ["before 2012", "2012-2015", "2016-2019", "2020 or later"]
missing = "inside"

[recode.province_group]
from = "province"
groups = {{ ne_border = ["north_hamgyong", "ryanggang"], nw_border = ["north_pyongan", "chagang"], pyongyang = ["pyongyang"], interior = ["south_pyongan", "south_hwanghae", "north_hwanghae", "kangwon", "south_hamgyong"] }}

[recode.watch_monthly]    # never watched (the question is skipped) counts as "no"; a refusal stays missing
from = "watch_freq"
groups = {{ yes = ["daily", "weekly", "monthly"], no = ["bimonthly", "yearly", "once", "never"] }}
missing = "no"

[recode.radio_weekly]
from = "radio_freq"
groups = {{ yes = ["daily", "weekly"], no = ["monthly", "bimonthly", "yearly", "once", "never"] }}
missing = "no"

[recode.more_danger]
from = "danger_change"
groups = {{ yes = ["more"], no = ["same", "less"] }}

[recode.home_inspected_any]
from = "home_inspected"
groups = {{ yes = ["once", "several"], no = ["never"] }}

[design]
# Interviews of a convenience sample have no selection probabilities: equal weights, then weighting.
# weights = "w"

# Raking to the DPRK 2008 census (UN-assisted), as listed in quietpoll's domain brief: sex of the whole
# population, province groups of the population outside military camps. The sex x province joint is not
# published, so the margins are raked separately. min_cell merges groups with fewer interviews (and
# groups nobody in the sample comes from), recording each merge, so a small sample still weights.
# Weight defectors to the population they come from (MOU arrivals by sex) instead when that is the target.
[weighting]
method = "rake"
population = 24052231
min_cell = 5
maxit = 100

[weighting.targets.sex]
male = 0.4873493024410085
female = 0.5126506975589915

[weighting.targets.province_group]
ne_border = 0.13047749024951286
nw_border = 0.17252746579754508
pyongyang = 0.13941360416780246
interior = 0.5575814397851396

[report]
language = "English"      # or "Korean"
min_cell = 10             # no published cell smaller than this
by = ["sample", "exit_cohort"]
# By-group rows whose direct estimate is suppressed, too imprecise or outside 0-100% show a model-based
# (MRP) estimate poststratified to the [weighting] margins. Fits are cached in model-cache/ beside the
# answers: the first report takes a minute or more, later ones seconds.
model_based = true
# The report's opening paragraph: the study's own framing (without it the report has none)
description = "A survey of how people inside North Korea, and people who have left, reach foreign media, and what it costs them. Respondents cannot speak freely: every answer was collected and is published so that no one can be identified."
description_ko = "북한 안에 사는 사람들과 북한을 떠난 사람들이 외국 매체를 어떻게 접하고 그 대가가 무엇인지에 관한 조사입니다. 응답자들은 자유롭게 말할 수 없으므로, 모든 응답은 누구도 식별될 수 없도록 수집되고 공개됩니다."

# The headline indicators of the foreign-media surveys, each overall and by sample and exit cohort.
[[report.indicators]]
id = "ever_watched"
label = "Ever watched foreign video"
label_ko = "외국 영상을 본 적이 있음"
variable = "ever_watched"
level = "yes"

[[report.indicators]]
id = "watch_monthly"
label = "Watches foreign video at least monthly"
label_ko = "외국 영상을 월 1회 이상 시청"
variable = "watch_monthly"
level = "yes"

[[report.indicators]]
id = "radio_weekly"
label = "Listens to foreign radio at least weekly"
label_ko = "외국 라디오를 주 1회 이상 청취"
variable = "radio_weekly"
level = "yes"

[[report.indicators]]
id = "watched_sk_list"
label = "Watched South Korean video (list experiment)"
label_ko = "남한 영상을 본 적이 있음 (목록 실험)"
list_experiment = {{ count = "le_count", treatment = "le_treat" }}

[[report.indicators]]
id = "knows_punished"
label = "Knows someone punished for foreign media (direct question)"
label_ko = "외국 매체로 처벌받은 사람을 앎 (직접 질문)"
variable = "knows_punished"
level = "yes"

[[report.indicators]]
id = "knows_punished_rr"
label = "Knows someone punished for foreign media (randomized response)"
label_ko = "외국 매체로 처벌받은 사람을 앎 (무작위 응답)"
randomized_response = {{ answer = "rr_answer", design = "forced", p_truth = 0.6666666666666666, p_yes = 0.16666666666666666 }}
direct = "knows_punished"

[[report.indicators]]
id = "witnessed"
label = "Witnessed a punishment for foreign media"
label_ko = "외국 매체로 인한 처벌을 목격함"
variable = "witnessed"
level = "yes"

[[report.indicators]]
id = "more_danger"
label = "Sees more danger than before 2012"
label_ko = "2012년 이전보다 더 위험해졌다고 봄"
variable = "more_danger"
level = "yes"

[[report.indicators]]
id = "home_inspected"
label = "Home inspected for media at least once"
label_ko = "매체 단속으로 집이 검열된 적이 있음"
variable = "home_inspected_any"
level = "yes"
"""


def create_study(directory: Path, template: str = "foreign-media") -> Path:
    """A new study folder: study.toml, form.xlsx and the field team's README."""
    if template not in TEMPLATES:
        raise StudyError(f"unknown template '{template}'; available: {', '.join(TEMPLATES)}")
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise StudyError(f"'{directory}' exists and is not empty; give a new folder")
    directory.mkdir(parents=True, exist_ok=True)
    here = resources.files(__package__)
    with resources.as_file(here / TEMPLATES[template]) as form:
        shutil.copyfile(form, directory / "form.xlsx")
    with resources.as_file(here / "README-field-team.md") as readme:
        shutil.copyfile(readme, directory / "README-field-team.md")
    title = "Foreign media access" if template == "foreign-media" else template
    (directory / "study.toml").write_text(STUDY_TOML.format(title=title, template=template), encoding="utf-8")
    return directory


FROM_FORM_TOML = """# quietpoll study: {title}
# Made by `quietpoll init --from-form {form_name}{data_note}`. Paths are relative to this folder.

[study]
title = {title_toml}

[instrument]
path = {form_toml}

[data]
path = {data_toml}        # the responses (an export of the form: KoboToolbox, ODK, CSV, XLSX, ...)

# [design]                 # the sample's design: weights, strata, clusters (see the README)
# weights = "weight"

[report]
language = {language_toml}
min_cell = 10             # no published cell smaller than this
"""


def create_from_form(directory: Path, form: Path, data: Path | None = None) -> Path:
    """A new study folder for an existing questionnaire (and, when given, its data): the form and the data
    are copied in (the originals are never touched), study.toml names them, the report speaks the
    form's default language. The form is loaded first, so a form pyxform cannot read is refused before
    anything is written."""
    import json

    from ..form import load_instrument

    form, directory = Path(form), Path(directory)
    inst = load_instrument(form)  # an error here: nothing written
    if data is not None and not Path(data).is_file():
        raise StudyError(f"--data {str(data)!r}: no such file")
    if directory.exists() and any(directory.iterdir()):
        raise StudyError(f"'{directory}' exists and is not empty; give a new folder")
    directory.mkdir(parents=True, exist_ok=True)
    form_name = "form" + form.suffix.lower()
    shutil.copyfile(form, directory / form_name)
    data_name = "responses.csv"
    if data is not None:
        data_name = "responses" + "".join(Path(data).suffixes[-1:]).lower()
        shutil.copyfile(data, directory / data_name)
    languages = [lang.split(" (")[0] for lang in inst.languages if lang != "default"]
    default = inst.default_language
    language = default.split(" (")[0] if default is not None and default != "default" else None
    language = language or (languages[0] if languages else "English")
    (directory / "study.toml").write_text(
        FROM_FORM_TOML.format(
            title=inst.title,
            title_toml=json.dumps(inst.title, ensure_ascii=False),
            form_name=form.name,
            data_note=f" --data {Path(data).name}" if data is not None else "",
            form_toml=json.dumps(form_name),
            data_toml=json.dumps(data_name),
            language_toml=json.dumps(language, ensure_ascii=False),
        ),
        encoding="utf-8",
    )
    return directory
