"""Loading XLSForms through pyxform: the shared corpus, and small forms of each file kind."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from quietpoll.errors import InstrumentError, UnsupportedExpression
from quietpoll.instrument.expressions import compile_expression
from quietpoll.instrument.form import Instrument, load_instrument

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus" / "forms"
TEMPLATE = REPO / "src" / "quietpoll" / "instrument" / "templates" / "foreign-media.xlsx"

needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(), reason="../shared/corpus not present (shared corpus of published forms)"
)
CORPUS_FILES = sorted(CORPUS.glob("*")) if CORPUS.is_dir() else []

# forms pyxform 4.5 rejects, and the start of the reason
# older forms current pyxform refuses: they load, with a warning naming what it would refuse
EXPECTED_LEGACY = {
    "ceat-epfl__Abidjan_2022.xls": "HandWashHabits1 -> HandWashHabits1_2",
    "koboloader__unhcr_XLS_template_MENA__form.xls": "choice names repeat within a list (not_working_reasons/NoAnswer)",
    "liberia__round1_liberiaCoverage.xlsx": "choice names repeat within a list (ea/1,",
    "onadata__xlsx_output_ISO3_EduFacilQuestionnaire.xlsx": "'set form title' -> settings form_title",
}

SURVEY = [
    ["type", "name", "label::English (en)", "label::French (fr)", "relevant", "constraint", "required", "calculation"],
    ["integer", "age", "Age", "Âge", "", ". >= 0 and . <= 120", "yes", ""],
    ["begin_group", "hh", "Household", "Ménage", "${age} >= 18", "", "", ""],
    ["select_multiple dev", "devices", "Devices", "Appareils", "", "", "", ""],
    ["begin_repeat", "member", "Member", "Membre", "", "", "", ""],
    ["text", "role", "Role", "Rôle", "", "", "", ""],
    ["end_repeat", "", "", "", "", "", "", ""],
    ["end_group", "", "", "", "", "", "", ""],
    ["note", "thanks", "Thanks", "Merci", "", "", "", ""],
    ["calculate", "double", "", "", "", "", "", "${age} * 2"],
]
CHOICES = [
    ["list_name", "name", "label::English (en)", "label::French (fr)"],
    ["dev", "tv", "TV", "Télé"],
    ["dev", "radio", "Radio", "Radio"],
]
SETTINGS = [["form_title", "form_id", "version", "default_language"], ["Small", "small_form", "3", "English (en)"]]


def _check_small(inst: Instrument) -> None:
    assert inst.form_id == "small_form"
    assert inst.title == "Small"
    assert inst.version == "3"
    assert set(inst.languages) >= {"English (en)", "French (fr)"}
    assert inst.default_language == "English (en)"
    names = [q.name for q in inst.questions]
    assert names[:5] == ["age", "devices", "role", "thanks", "double"]
    age = inst.question("age")
    assert age.type == "integer" and age.required is True
    assert age.constraint == ". >= 0 and . <= 120"
    assert age.labels["French (fr)"] == "Âge"
    dev = inst.question("devices")
    assert dev.type == "select_multiple" and dev.list_name == "dev"
    assert dev.group == ("hh",) and dev.group_relevant == ("${age} >= 18",) and dev.repeat is None
    role = inst.question("role")
    assert role.group == ("hh", "member") and role.repeat == "member"
    assert inst.repeats == ("member",)
    assert [c.name for c in inst.choices["dev"]] == ["tv", "radio"]
    assert inst.choices["dev"][0].labels["French (fr)"] == "Télé"
    assert inst.question("double").calculation == "${age} * 2"
    assert "thanks" not in [q.name for q in inst.data_questions()]
    with pytest.raises(InstrumentError, match="nope"):
        inst.question("nope")


def _write_xlsx(path: Path, sheets: dict[str, list[list[str]]]) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                if value != "":
                    ws.write_string(i, j, value)
    wb.close()


def test_small_xlsx(tmp_path):
    p = tmp_path / "small.xlsx"
    _write_xlsx(p, {"survey": SURVEY, "choices": CHOICES, "settings": SETTINGS})
    _check_small(load_instrument(p))


def test_small_xls(tmp_path):
    xlwt = pytest.importorskip("xlwt", reason="xlwt is needed to write .xls test files")
    wb = xlwt.Workbook(encoding="utf-8")
    for name, rows in {"survey": SURVEY, "choices": CHOICES, "settings": SETTINGS}.items():
        ws = wb.add_sheet(name)
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                if value != "":
                    ws.write(i, j, value)
    p = tmp_path / "small.xls"
    wb.save(str(p))
    _check_small(load_instrument(p))


def test_small_csv(tmp_path):
    # pyxform's CSV form: each sheet is introduced by its name in the first column
    p = tmp_path / "small.csv"
    with p.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        for name, rows in (("survey", SURVEY), ("choices", CHOICES), ("settings", SETTINGS)):
            w.writerow([name])
            for row in rows:
                w.writerow(["", *row])
    _check_small(load_instrument(p))


def test_small_markdown(tmp_path):
    def table(name, rows):
        lines = [f"| {name} | " + " | ".join(rows[0]) + " |"]
        lines += ["|  | " + " | ".join(r) + " |" for r in rows[1:]]
        return "\n".join(lines)

    p = tmp_path / "small.md"
    p.write_text(
        "\n".join([table("survey", SURVEY), table("choices", CHOICES), table("settings", SETTINGS)]),
        encoding="utf-8",
    )
    _check_small(load_instrument(p))


def test_pyxform_rejection_is_one_line_naming_the_file(tmp_path):
    p = tmp_path / "dup.xlsx"
    rows = [["type", "name", "label"], ["text", "a", "A"], ["text", "1a", "a name pyxform refuses"]]
    _write_xlsx(p, {"survey": rows})
    with pytest.raises(InstrumentError) as info:
        load_instrument(p)
    msg = str(info.value)
    assert msg.startswith("dup.xlsx:") and "\n" not in msg


def test_unknown_type_rejected(tmp_path):
    p = tmp_path / "bad.xlsx"
    _write_xlsx(p, {"survey": [["type", "name", "label"], ["integr", "a", "A"]]})
    with pytest.raises(InstrumentError, match="bad.xlsx"):
        load_instrument(p)


def test_no_survey_sheet(tmp_path):
    p = tmp_path / "nosurvey.xlsx"
    _write_xlsx(p, {"choices": CHOICES})
    with pytest.raises(InstrumentError, match="survey"):
        load_instrument(p)


def test_broken_workbook(tmp_path):
    p = tmp_path / "broken.xlsx"
    p.write_bytes(b"PK\x03\x04 this is not really a zip file")
    with pytest.raises(InstrumentError, match="broken.xlsx"):
        load_instrument(p)


def test_missing_and_unsupported_files(tmp_path):
    with pytest.raises(InstrumentError, match="no such"):
        load_instrument(tmp_path / "absent.xlsx")
    p = tmp_path / "form.docx"
    p.write_text("x")
    with pytest.raises(InstrumentError, match="unsupported"):
        load_instrument(p)


def test_select_one_spelled_with_space(tmp_path):
    p = tmp_path / "space.xlsx"
    _write_xlsx(
        p,
        {
            "survey": [["type", "name", "label"], ["select one yn", "q", "Q"]],
            "choices": [["list_name", "name", "label"], ["yn", "y", "Yes"], ["yn", "n", "No"]],
        },
    )
    inst = load_instrument(p)
    assert inst.question("q").type == "select_one"
    assert inst.languages == ("default",) and inst.default_language == "default"
    assert inst.question("q").labels == {"default": "Q"}


@needs_corpus
@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.name for p in CORPUS_FILES])
def test_corpus_form_loads(path):
    """Every form of the corpus loads; the older ones current pyxform refuses carry a warning that
    names what it refuses (and nothing else does)."""
    inst = load_instrument(path)
    legacy = [w for w in inst.warnings if w.startswith("legacy form: ")]
    if path.name in EXPECTED_LEGACY:
        assert any(EXPECTED_LEGACY[path.name] in w for w in legacy), legacy
    else:
        assert legacy == []
    assert inst.questions
    for q in inst.questions:
        if q.list_name and q.type in ("select_one", "select_multiple"):
            assert q.list_name in inst.choices or "." in q.list_name


@needs_corpus
def test_every_corpus_form_loads():
    assert len(CORPUS_FILES) >= 24
    for path in CORPUS_FILES:
        load_instrument(path)


@needs_corpus
def test_corpus_expressions_compile_or_are_reported():
    """Every relevant/constraint in the corpus compiles or raises UnsupportedExpression."""
    compiled = unsupported = 0
    for path in CORPUS_FILES:
        try:
            inst = load_instrument(path)
        except InstrumentError:
            continue
        types = {q.name: q.type for q in inst.questions}
        for q in inst.questions:
            for text in (q.relevant, q.constraint, q.calculation):
                if not text:
                    continue
                try:
                    compile_expression(text, current=q.name, columns=types)
                    compiled += 1
                except UnsupportedExpression:
                    unsupported += 1
    assert compiled > unsupported


# ------------------------------------------------------------------------------ template
def test_template_loads():
    inst = load_instrument(TEMPLATE)
    assert inst.form_id == "foreign_media"
    assert inst.version
    assert inst.languages == ("English", "Korean")
    assert inst.default_language == "English"
    names = {q.name for q in inst.questions}
    for needed in (
        "status",
        "year_left",
        "province",
        "sex",
        "age_band",
        "settlement",
        "occupation",
        "education",
        "months_third",
        "trade",
        "devices_owned",
        "ever_watched",
        "watch_freq",
        "origins",
        "how_obtained",
        "danger",
        "knows_punished",
        "home_inspected",
        "curiosity_south",
        "le_treat",
        "le_count_control",
        "le_count_treat",
        "rr_spin",
        "rr_answer",
        "mode",
        "paid",
    ):
        assert needed in names, needed
    assert len(inst.choices["province"]) == 10
    assert inst.question("devices_owned").type == "select_multiple"
    for q in inst.questions:
        if q.labels:
            assert q.labels.get("Korean"), q.name
            assert q.labels.get("English"), q.name
    for items in inst.choices.values():
        for c in items:
            assert c.labels.get("Korean") and c.labels.get("English")


def test_template_converts_with_pyxform():
    from pyxform.xls2xform import convert

    result = convert(str(TEMPLATE))
    assert "<h:html" in result.xform
    # the only warning: 'English'/'Korean' are not machine-readable language codes
    assert all("language declarations" in w for w in result.warnings), result.warnings


def test_template_expressions_evaluate():
    inst = load_instrument(TEMPLATE)
    types = {q.name: q.type for q in inst.questions}
    for q in inst.questions:
        for text in (q.relevant, q.constraint, *q.group_relevant):
            if text:
                compile_expression(text, current=q.name, columns=types)


def test_template_is_regenerated_identically(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_fm", TEMPLATE.parent / "make_foreign_media.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = mod.build(tmp_path / "fm.xlsx")
    a, b = load_instrument(out), load_instrument(TEMPLATE)
    assert a.questions == b.questions and a.choices == b.choices


FEATURES_MD = """| survey |
|  | type | name | label | default | read_only | repeat_count | choice_filter | calculation |
|  | select_one prov | prov | Province | p1 | | | | |
|  | select_one city | city | City | | | | province=${prov} | |
|  | integer | n | N | 2 | | | | |
|  | text | ro | Fixed | fixed | yes | | | |
|  | integer | dyn | Dyn | ${n} + 1 | ${n} > 1 | | | |
|  | date | d | D | 2024-01-02 | | | | |
|  | begin_repeat | kids | Kids | | | ${n} | | |
|  | text | kname | Name | anon | | | | |
|  | end_repeat | | | | | | | |
|  | begin_repeat | pets | Pets | | | 3 | | |
|  | text | pname | Name | | | | | |
|  | end_repeat | | | | | | | |
| choices |
|  | list_name | name | label | province | pop |
|  | prov | p1 | P1 | | |
|  | city | c1 | C1 | p1 | 5 |
|  | city | c2 | C2 | p2 | |
| settings |
|  | form_id |
|  | features |
"""


def test_defaults_read_only_repeat_counts_and_choice_columns_are_kept(tmp_path):
    path = tmp_path / "features.md"
    path.write_text(FEATURES_MD, encoding="utf-8")
    inst = load_instrument(path)
    q = {x.name: x for x in inst.questions}
    assert (q["prov"].default, q["n"].default, q["d"].default, q["kname"].default) == ("p1", "2", "2024-01-02", "anon")
    assert not any(q[n].default_dynamic for n in ("prov", "n", "d", "kname"))  # a date's '-' is no subtraction
    assert q["dyn"].default == "${n} + 1" and q["dyn"].default_dynamic
    assert q["city"].default is None and q["city"].read_only is False
    assert q["ro"].read_only is True and q["dyn"].read_only == "${n} > 1"
    # a literal count becomes pyxform's calculate <repeat>_count, which the count refers to
    assert inst.repeat_counts == {"kids": "${n}", "pets": "${pets_count}"}
    assert q["pets_count"].calculation == "3" and q["pets_count"].type == "calculate"
    assert [(c.name, dict(c.data)) for c in inst.choices["city"]] == [
        ("c1", {"province": "p1", "pop": "5"}),
        ("c2", {"province": "p2"}),
    ]
    assert [dict(c.data) for c in inst.choices["prov"]] == [{}]
    assert q["city"].choice_filter == "province=${prov}"


def test_forms_without_the_new_columns_keep_empty_values(tmp_path):
    inst = load_instrument(TEMPLATE)
    assert inst.repeat_counts == {}
    assert all(q.default is None and not q.default_dynamic for q in inst.questions)
    assert all(q.read_only is False for q in inst.questions if q.type not in ("calculate",))


# ---- device-only fields (bind::quietpoll:device-only) ------------------------------------------
_DEVICE_FORM = """| survey |
|  | type | name | label | calculation | relevant | bind::quietpoll:device-only |
|  | calculate | spin | | once(random()) | | {mark} |
|  | note | say_yes | Answer YES | | ${{spin}} < 0.5 | yes |
|  | select_one yn | answer | Do you? | | | |
|  | calculate | arm | | if(${{spin}} < 0.5, 1, 0) | | no |
| choices |
|  | list_name | name | label |
|  | yn | yes | Yes |
|  | yn | no | No |
| settings |
|  | form_id | {ns_header} |
|  | dev | {ns_value} |
"""


def _device_form(tmp_path, mark="yes", namespaces='quietpoll="urn:quietpoll:xforms"'):
    path = tmp_path / "dev.md"
    text = _DEVICE_FORM.format(
        mark=mark, ns_header="namespaces" if namespaces else "version", ns_value=namespaces or "1"
    )
    path.write_text(text, encoding="utf-8")
    return path


def test_device_only_fields_are_read_from_the_custom_bind_column(tmp_path):
    inst = load_instrument(_device_form(tmp_path))
    assert inst.device_only == frozenset({"spin", "say_yes"})
    assert inst.question("spin").device_only and not inst.question("arm").device_only
    assert not inst.question("answer").device_only


def test_device_only_reaches_the_xform_bind(tmp_path):
    from pyxform.xls2xform import convert

    xform = convert(str(_device_form(tmp_path))).xform
    assert 'xmlns:quietpoll="urn:quietpoll:xforms"' in xform
    assert 'quietpoll:device-only="yes"' in xform


@pytest.mark.parametrize(
    ("mark", "namespaces", "expected"),
    [
        ("yes", None, "does not declare the prefix"),
        ("maybe", 'quietpoll="urn:quietpoll:xforms"', "must be yes or no"),
    ],
)
def test_device_only_bad_marks_are_one_line_errors(tmp_path, mark, namespaces, expected):
    with pytest.raises(InstrumentError, match=expected) as info:
        load_instrument(_device_form(tmp_path, mark, namespaces))
    assert "\n" not in str(info.value) and "dev.md" in str(info.value)


def test_device_only_on_a_group_is_refused(tmp_path):
    path = tmp_path / "g.md"
    path.write_text(
        """| survey |
|  | type | name | label | bind::quietpoll:device-only |
|  | begin_group | g | G | yes |
|  | text | t | T | |
|  | end_group | | | |
| settings |
|  | form_id | namespaces |
|  | g | quietpoll="urn:quietpoll:xforms" |
""",
        encoding="utf-8",
    )
    with pytest.raises(InstrumentError, match="marks fields, not a group"):
        load_instrument(path)


def test_template_marks_its_draws_device_only():
    inst = load_instrument(TEMPLATE)
    assert {"rr_spin", "le_draw", "rr_say_yes", "rr_say_no", "rr_say_truth"} == inst.device_only
    # the list experiment's arm and every answer the estimators read stay sealed
    for kept in ("le_treat", "le_count", "rr_answer"):
        assert kept not in inst.device_only
    # every question whose relevance or calculation reads the randomized-response draw is device-only
    from quietpoll.instrument.xpath import parse, references

    for q in inst.questions:
        texts = [t for t in (q.relevant, q.calculation) if t]
        if any("rr_spin" in references(parse(t)) for t in texts):
            assert q.device_only, q.name
