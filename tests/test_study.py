"""study.toml -> StudyConfig: every section typed and checked once, errors naming the file, section and
key; unknown sections refused, unknown keys refused where they change the numbers and warned about
elsewhere; every study.toml the repository ships still reads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from quietpoll.demo_study import make_study
from quietpoll.design import DesignSpec
from quietpoll.errors import StudyError, StudyWarning
from quietpoll.instrument.templates import create_study
from quietpoll.study import CollectSection, InstrumentSection, QualitySection, ReportOptions, StudySection, load_study

DATA = Path(__file__).parent / "reference" / "data" / "apistrat.csv"


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "study.toml").write_text(text, encoding="utf-8")
    return tmp_path


def test_the_demo_study_is_typed(tmp_path):
    cfg = load_study(make_study(tmp_path / "demo"))
    assert isinstance(cfg.study, StudySection) and cfg.study.synthetic and "SYNTHETIC" in cfg.title
    assert cfg.study.seed == 20261122 and cfg.study.sponsor.startswith("none")
    assert cfg.instrument == InstrumentSection(path=tmp_path / "demo" / "form.xlsx")
    assert cfg.data_path == tmp_path / "demo" / "responses.csv"
    assert cfg.design == DesignSpec(weights="base_weight", strata="sample")
    assert cfg.weighting.method == "rake" and set(cfg.weighting.targets) == {"sex", "province_group", "age_group"}
    assert cfg.quality == QualitySection(interviewer="intermediary", drop_flagged=True, seed=0, threshold=None)
    assert isinstance(cfg.report, ReportOptions) and len(cfg.report.indicators) == 10
    assert cfg.report.by == ("sample", "exit_cohort", "sex", "province_group") and cfg.report.synthetic
    assert cfg.collect == CollectSection()


def test_the_init_template_reads(tmp_path):
    cfg = load_study(create_study(tmp_path / "s"))
    assert cfg.title == "Foreign media access" and cfg.design is None
    assert cfg.weighting is not None and cfg.weighting.method == "rake" and cfg.weighting.min_cell == 5
    assert [r.name for r in cfg.recode][:3] == ["sample", "exit_cohort", "province_group"]
    assert len(cfg.report.indicators) == 9
    assert cfg.report.language == "English" and cfg.report.language_set and cfg.report.min_cell == 10
    assert cfg.quality == QualitySection()


def test_quality_and_collect_keys(tmp_path):
    cfg = load_study(
        write(
            tmp_path,
            "[quality]\nthreshold = 0.6\ndrop_flagged = false\nseed = 3\n"
            'interviewer = "enum"\n[collect]\nstore = "sqlite:///x.db"\n',
        )
    )
    assert cfg.quality == QualitySection(interviewer="enum", drop_flagged=False, seed=3, threshold=0.6)
    assert cfg.collect.store == "sqlite:///x.db"
    assert load_study(write(tmp_path, "[quality]\nthreshold = 1\n")).quality.threshold == 1.0


@pytest.mark.parametrize(
    "text,needle",
    [
        ("[quality]\nthreshold = 1.5\n", "[quality] threshold must be a share between 0 and 1"),
        ("[quality]\nthreshold = 0\n", "[quality] threshold must be a share between 0 and 1"),
        ('[quality]\nthreshold = "high"\n', "[quality] threshold must be a number, got 'high'"),
        ('[quality]\ndrop_flagged = "yes"\n', "[quality] drop_flagged must be true or false, got 'yes'"),
        ("[quality]\nseed = 1.5\n", "[quality] seed must be a whole number, got 1.5"),
        ("[quality]\ninterviewer = 3\n", "[quality] interviewer must be text"),
        ("[quality]\ntreshold = 0.6\n", "[quality] has unknown key(s) treshold; known: interviewer, drop_flagged"),
        ('[study]\nsynthetic = "yes"\n', "[study] synthetic must be true or false"),
        ("[study]\ntitle = 3\n", "[study] title must be text (in quotes), got 3"),
        ("[instrument]\npath = 3\n", "[instrument] path must be text"),
        ('quality = "strict"\n', "[quality] must be a table"),
        ("design = 3\n", "[design] must be a table"),
        ("[weightng]\nmethod = 'rake'\n", "unknown section(s): weightng; known: study"),
        ("[design]\nweight = 'w'\n", "[design]: [design] has unknown key(s): weight"),
        ("[design.replicates]\ncolumns = 'rw*'\ntype = 'Fay'\n", "[design]: replicate type Fay needs rho"),
        ("[report]\nmin_cell = 0\n", "[report] min_cell must be at least 1"),
        ("[[report.indicators]]\nid = 'a'\n", "report indicator 'a' needs exactly one of"),
    ],
)
def test_bad_values_name_the_key(tmp_path, text, needle):
    with pytest.raises(StudyError) as e:
        load_study(write(tmp_path, text))
    assert needle in str(e.value) and "study.toml" in str(e.value), str(e.value)


def test_a_bad_key_is_the_error_parameter(tmp_path):
    with pytest.raises(StudyError) as e:
        load_study(write(tmp_path, "[quality]\nthreshold = 2\n"))
    assert e.value.param == "quality.threshold"
    with pytest.raises(StudyError) as e:
        load_study(write(tmp_path, "[design]\nlonely_psu = 'sometimes'\n"))
    assert e.value.param == "design.lonely_psu" and "lonely_psu must be one of" in str(e.value)


@pytest.mark.parametrize(
    "text,key",
    [
        ('[study]\ntitle = "t"\ncontact = "nobody"\n', "[study] has unknown key 'contact'"),
        ('[instrument]\npath = "f.xlsx"\nversion = 2\n', "[instrument] has unknown key 'version'"),
        ('[data]\npath = "d.csv"\nsheet = "x"\n', "[data] has unknown key 'sheet'"),
        ('[collect]\nstore = "sqlite:///c.db"\nport = 1\n', "[collect] has unknown key 'port'"),
    ],
)
def test_unknown_descriptive_keys_warn_and_are_ignored(tmp_path, text, key):
    with pytest.warns(StudyWarning, match=key.replace("[", r"\[").replace("]", r"\]")):
        cfg = load_study(write(tmp_path, text))
    assert cfg.folder == tmp_path


def test_the_cli_prints_the_warning_on_one_line(tmp_path):
    write(tmp_path, f'[study]\ncontact = "nobody"\n[data]\npath = "{DATA}"\n[design]\nweights = "pw"\n')
    exe = Path(sys.executable).parent / "quietpoll"
    p = subprocess.run(
        [str(exe), "estimate", "--study", str(tmp_path), "--mean", "api00", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    assert p.stderr == (
        "quietpoll: warning: study.toml [study] has unknown key 'contact' (ignored); known: "
        "title, synthetic, seed, sponsor, fieldwork, mode, population, sampling\n"
    )


def test_sections_stay_readable_as_read(tmp_path):
    cfg = load_study(write(tmp_path, '[collect]\nstore = "postgresql://x"\n'))
    assert cfg.sections["collect"]["store"] == "postgresql://x"
    with pytest.raises(TypeError):
        cfg.sections["collect"] = {}  # read-only: the typed sections are the truth


def test_collect_section_is_typed(tmp_path):
    from quietpoll.study import load_study

    (tmp_path / "study.toml").write_text(
        '[collect]\nstore = "sqlite:///c.db"\ntext_max_bytes = 64\n[collect.disguise]\ntitle = "Notes"\n',
        encoding="utf-8",
    )
    c = load_study(tmp_path).collect
    assert (c.store, c.text_max_bytes, dict(c.disguise)) == ("sqlite:///c.db", 64, {"title": "Notes"})


@pytest.mark.parametrize(
    "body, key",
    [
        ("text_max_bytes = 0", "text_max_bytes"),
        ("text_max_bytes = 'big'", "text_max_bytes"),
        ("disguise = 'x'", "disguise"),
    ],
)
def test_bad_collect_keys_are_named(tmp_path, body, key):
    from quietpoll.errors import StudyError
    from quietpoll.study import load_study

    (tmp_path / "study.toml").write_text(f"[collect]\n{body}\n", encoding="utf-8")
    with pytest.raises(StudyError) as e:
        load_study(tmp_path)
    assert e.value.param == f"collect.{key}" and key in str(e.value)
