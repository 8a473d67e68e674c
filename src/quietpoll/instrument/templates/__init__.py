"""Built-in questionnaire templates and `quietpoll init`."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from ...errors import StudyError

TEMPLATES = {"foreign-media": "foreign-media.xlsx"}

STUDY_TOML = '''# quietpoll study: {title}
# Made by `quietpoll init --template {template}`. Paths are relative to this folder.

[study]
title = "{title}"

[instrument]
path = "form.xlsx"        # the XLSForm; English and Korean labels

[data]
path = "responses.csv"    # decrypted responses (never commit or share them)

[design]
# A convenience sample of interviews has no sampling design: equal weights until weighting.
# weights = "w"

# Weighting to population margins. The figures below are the DPRK 2008 census (UN-assisted),
# as listed in quietpoll's domain brief: people by sex and by province. Weight defectors to the
# population they come from (MOU arrivals by sex) instead when that is the target population.
# [weighting]
# method = "rake"
# [weighting.targets.sex]
# male = 11721838
# female = 12330393
# [weighting.targets.province]
# pyongyang = 3255288
# south_pyongan = 4051696
# north_pyongan = 2728662
# chagang = 1299830
# south_hwanghae = 2310485
# north_hwanghae = 2113672
# kangwon = 1477582
# south_hamgyong = 3066013
# north_hamgyong = 2327362
# ryanggang = 719269

[report]
language = "English"      # or "Korean"
min_cell = 10             # no published cell smaller than this
'''


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
