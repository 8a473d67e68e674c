"""STUDY/form-cache (instrument/form_cache.py): the questionnaire as pyxform read it, keyed by the form file's
content hash (with pyxform's version and the reading code), in a 0700 folder of 0600 files, holding only
what the form says; the same Instrument and warnings as reading the form; a changed form, pyxform or code
is read again and the earlier entry removed. Forms and answers here are SYNTHETIC."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from quietpoll.errors import FormWarning, InstrumentError
from quietpoll.instrument import form_cache
from quietpoll.instrument.form import load_instrument
from quietpoll.instrument.form_cache import CACHE_DIR, load_study_instrument

CORPUS = Path(__file__).parents[3] / "shared" / "corpus" / "forms"
CORPUS_FILES = (
    sorted(p for p in CORPUS.glob("*") if p.suffix.lower() in (".xlsx", ".xls", ".md")) if CORPUS.is_dir() else []
)

SURVEY = (
    "|  | begin group | hh | Household |  |  |\n"
    "|  | select_one yn | water | Safe water? |  |  |\n"
    "|  | integer | people | How many people? | . > 0 |  |\n"
    "|  | text | note_w | Why not? |  | ${water} = 'n' |\n"
    "|  | end group |  |  |  |  |\n"
)


def _form(folder: Path, survey: str = SURVEY, choices: str = "|  | yn | y | Yes |\n|  | yn | n | No |\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = (
        "| survey |  |  |  |  |  |\n|---|---|---|---|---|---|\n|  | type | name | label | constraint | relevant |\n"
        + survey
        + "| choices |  |  |  |\n|---|---|---|---|\n|  | list_name | name | label |\n"
        + choices
    )
    path = folder / "form.md"
    path.write_text(text, encoding="utf-8")
    return path


def _entries(study: Path) -> list[Path]:
    return sorted((study / CACHE_DIR).glob("*.json"))


def test_cached_instrument_equals_the_form_read_again(tmp_path):
    path = _form(tmp_path)
    first = load_study_instrument(path, tmp_path)
    [entry] = _entries(tmp_path)
    second = load_study_instrument(path, tmp_path)  # from the entry
    assert first == second == load_instrument(path)
    assert second.question("note_w").group == ("hh",) and second.group_labels["hh"] == {"default": "Household"}
    assert second.source == str(path)


@pytest.mark.skipif(not CORPUS_FILES, reason="../shared/corpus not present (shared corpus of published forms)")
@pytest.mark.parametrize("form", CORPUS_FILES[:8] + [p for p in CORPUS_FILES if p.name.startswith("reach")], ids=str)
def test_corpus_forms_round_trip(tmp_path, form):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FormWarning)
        want = load_instrument(form)  # every corpus form loads (test_form.py::test_every_corpus_form_loads)
        study = tmp_path / "s"
        study.mkdir()
        (study / form.name).write_bytes(form.read_bytes())
        load_study_instrument(study / form.name, study)
        got = load_study_instrument(study / form.name, study)
    assert len(_entries(study)) == 1
    assert got == want.__class__(**{**want.__dict__, "source": str(study / form.name)})


def test_legacy_repairs_are_warned_from_the_cache_too(tmp_path):
    path = _form(tmp_path, "|  | select_one yn | q | Q |  |  |\n", "|  | yn | y | Yes |\n|  | yn | y | Yes again |\n")
    for _ in range(2):  # read, then from the entry
        with pytest.warns(FormWarning, match=r"form.md: legacy form: choice names repeat within a list \(yn/y\)"):
            load_study_instrument(path, tmp_path)
    assert len(_entries(tmp_path)) == 1


def test_modes_0700_folder_0600_file_whatever_the_umask(tmp_path):
    path = _form(tmp_path)
    old = os.umask(0)
    try:
        load_study_instrument(path, tmp_path)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / CACHE_DIR).stat().st_mode) == 0o700
    [entry] = _entries(tmp_path)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600


def test_holds_only_what_the_form_says(tmp_path):
    """No path, no answer: the entry's text is labels, names and expressions of the form."""
    study = tmp_path / "study-of-someone"
    path = _form(study)
    (study / "responses.csv").write_text("water,people\ny,SECRET-ANSWER-4711\n", encoding="utf-8")
    load_study_instrument(path, study)
    [entry] = _entries(study)
    text = entry.read_text(encoding="utf-8")
    assert "SECRET-ANSWER-4711" not in text and "study-of-someone" not in text and str(tmp_path) not in text
    doc = json.loads(text)
    assert set(doc) == {"v", "key", "instrument"} and "source" not in doc["instrument"]


def test_a_changed_form_is_read_again_and_the_old_entry_removed(tmp_path):
    path = _form(tmp_path)
    load_study_instrument(path, tmp_path)
    [old] = _entries(tmp_path)
    _form(tmp_path, SURVEY + "|  | text | district | District |  |  |\n")
    inst = load_study_instrument(path, tmp_path)
    assert inst.question("district").type == "text"
    [new] = _entries(tmp_path)
    assert new != old and not old.exists()


def test_pyxform_version_and_reading_code_are_in_the_key(tmp_path, monkeypatch):
    content = _form(tmp_path).read_bytes()
    key = form_cache.cache_key("form.md", content)
    assert form_cache.cache_key("form.md", content) == key
    assert form_cache.cache_key("other.md", content) != key  # an id-less form takes its id from the name
    monkeypatch.setattr(form_cache, "_pyxform_version", lambda: "0.0.1")
    assert form_cache.cache_key("form.md", content) != key
    monkeypatch.undo()
    monkeypatch.setattr(form_cache, "_code_digest", lambda: b"other code")
    assert form_cache.cache_key("form.md", content) != key


@pytest.mark.parametrize("bad", ["{not json", '{"v": 1, "key": "wrong", "instrument": {}}', '{"v": 1}', "[]"])
def test_a_damaged_entry_is_ignored_and_rewritten(tmp_path, bad):
    path = _form(tmp_path)
    want = load_study_instrument(path, tmp_path)
    [entry] = _entries(tmp_path)
    entry.write_text(bad.replace("wrong", "x"), encoding="utf-8")
    assert load_study_instrument(path, tmp_path) == want
    assert json.loads(entry.read_text(encoding="utf-8"))["key"] == entry.stem


def test_a_forged_entry_with_another_shape_is_ignored(tmp_path):
    path = _form(tmp_path)
    want = load_study_instrument(path, tmp_path)
    [entry] = _entries(tmp_path)
    doc = json.loads(entry.read_text(encoding="utf-8"))
    doc["instrument"]["questions"][0]["extra"] = 1
    entry.write_text(json.dumps(doc), encoding="utf-8")
    assert load_study_instrument(path, tmp_path) == want


def test_a_symlinked_entry_is_not_followed(tmp_path):
    path = _form(tmp_path)
    load_study_instrument(path, tmp_path)
    [entry] = _entries(tmp_path)
    target = tmp_path / "elsewhere.json"
    target.write_text(entry.read_text(encoding="utf-8"), encoding="utf-8")
    entry.unlink()
    entry.symlink_to(target)
    before = target.read_text(encoding="utf-8")
    assert load_study_instrument(path, tmp_path) == load_instrument(path)
    assert target.read_text(encoding="utf-8") == before  # neither read through nor written through
    assert not entry.is_symlink() and stat.S_IMODE(entry.stat().st_mode) == 0o600


def test_no_cache_where_none_can_be_written(tmp_path):
    path = _form(tmp_path)
    (tmp_path / CACHE_DIR).write_text("a file where the folder would be", encoding="utf-8")
    assert load_study_instrument(path, tmp_path) == load_instrument(path)
    assert (tmp_path / CACHE_DIR).is_file()


def test_a_rejected_form_is_an_error_and_not_cached(tmp_path):
    path = _form(tmp_path, "|  | no_such_type | a | A |  |  |\n")
    with pytest.raises(InstrumentError, match="form.md"):
        load_study_instrument(path, tmp_path)
    assert not (tmp_path / CACHE_DIR).exists()
    with pytest.raises(InstrumentError, match="no such questionnaire"):
        load_study_instrument(tmp_path / "missing.md", tmp_path)


def test_from_the_cache_pyxform_is_not_imported(tmp_path):
    path = _form(tmp_path)
    load_study_instrument(path, tmp_path)
    code = (
        "import sys\n"
        "from quietpoll.instrument.form_cache import load_study_instrument\n"
        f"inst = load_study_instrument({str(path)!r}, {str(tmp_path)!r})\n"
        "print(inst.question('people').constraint, sorted(m for m in sys.modules if m.startswith('pyxform')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ". > 0 []"
