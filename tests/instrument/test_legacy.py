"""Older XLSForms that current pyxform refuses load with a warning naming what it refuses; any other
refusal stays one clear error (quietpoll.instrument.legacy)."""

from __future__ import annotations

import pytest

from quietpoll.errors import InstrumentError
from quietpoll.instrument.form import load_instrument


def _md(tmp_path, survey: str, choices: str = "", settings: str = "") -> str:
    text = "| survey |  |  |  |\n|---|---|---|---|\n|  | type | name | label |\n" + survey
    if choices:
        text += "| choices |  |  |  |\n|---|---|---|---|\n|  | list_name | name | label |\n" + choices
    if settings:
        text += settings
    path = tmp_path / "form.md"
    path.write_text(text, encoding="utf-8")
    return path


def _legacy(inst) -> list[str]:
    return [w for w in inst.warnings if w.startswith("legacy form: ")]


def test_duplicate_choice_names_load_with_a_warning(tmp_path):
    path = _md(
        tmp_path,
        "|  | select_one yn | q | Q |\n",
        "|  | yn | y | Yes |\n|  | yn | n | No |\n|  | yn | y | Yes again |\n",
    )
    inst = load_instrument(path)
    assert [c.name for c in inst.choices["yn"]] == ["y", "n", "y"]
    [warning] = _legacy(inst)
    assert "yn/y" in warning and "allow_choice_duplicates" in warning


def test_duplicate_names_under_one_parent_are_renamed_later_ones_only(tmp_path):
    path = _md(
        tmp_path,
        "|  | text | a | A |\n|  | begin_group | g | G |\n|  | text | a | A in g |\n|  | text | b | B |\n"
        "|  | text | b | B again |\n|  | text | b | B thrice |\n|  | end_group |  |  |\n",
    )
    inst = load_instrument(path)
    assert [q.path for q in inst.questions if q.type == "text"] == [
        "a",
        "g/a",
        "g/b",
        "g/b_2",
        "g/b_3",
    ]  # a in g is no duplicate
    [warning] = _legacy(inst)
    assert "b -> b_2" in warning and "b -> b_3" in warning and "a -> " not in warning


def test_old_set_form_title_row_moves_to_the_settings(tmp_path):
    path = _md(tmp_path, "|  | set form title | Old_title |  |\n|  | text | a | A |\n")
    inst = load_instrument(path)
    assert inst.title == "Old_title" and [q.name for q in inst.questions if q.type == "text"] == ["a"]
    assert "'set form title' -> settings form_title" in _legacy(inst)[0]


def test_broken_reference_in_a_tools_own_column_is_ignored(tmp_path):
    text = (
        "| survey |  |  |  |  |\n|---|---|---|---|---|\n|  | type | name | label | labelReport |\n"
        "|  | text | first | First |  |\n|  | text | a | Hello ${first} | Hello ${fir |\n"
    )
    path = tmp_path / "form.md"
    path.write_text(text, encoding="utf-8")
    inst = load_instrument(path)
    assert "labelReport" in _legacy(inst)[0] and inst.question("a").labels


def test_a_broken_reference_in_a_real_column_stays_an_error(tmp_path):
    path = _md(tmp_path, "|  | text | first | First |\n|  | text | a | Hello ${fir |\n")
    with pytest.raises(InstrumentError) as info:
        load_instrument(path)
    assert "pyxform rejected the form" in str(info.value) and "\n" not in str(info.value)


def test_other_refusals_stay_errors(tmp_path):
    path = _md(tmp_path, "|  | no_such_type | a | A |\n")
    with pytest.raises(InstrumentError) as info:
        load_instrument(path)
    assert "Unknown question type" in str(info.value) and "legacy" not in str(info.value)


def test_the_repair_is_announced_as_a_warning(tmp_path):
    from quietpoll.errors import FormWarning

    path = _md(tmp_path, "|  | select_one yn | q | Q |\n", "|  | yn | y | Yes |\n|  | yn | y | Yes again |\n")
    with pytest.warns(FormWarning, match=r"form.md: legacy form: choice names repeat within a list \(yn/y\)"):
        load_instrument(path)


def test_a_current_form_has_no_legacy_warning(tmp_path):
    assert _legacy(load_instrument(_md(tmp_path, "|  | text | a | A |\n"))) == []
