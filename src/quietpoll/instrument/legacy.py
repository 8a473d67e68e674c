"""Older XLSForms that current pyxform refuses, loaded with a warning naming what it would refuse.

Forms written for older KoboToolbox, ODK and Ona tools often break rules pyxform added later. Their
data exist and must be analysed, so :func:`quietpoll.instrument.form.load_instrument` repairs the
workbook pyxform read (never the file) for these refusals only, one repair per refusal, and records a
warning in ``Instrument.warnings`` (prefix ``legacy form:``) for each:

* **duplicate choice names in one list** ("Choice names must be unique for each choice list"): the
  form is read as with the settings column ``allow_choice_duplicates = yes``, which pyxform offers for
  exactly this; the warning names the lists and names.
* **duplicate names under one parent** ("must be unique within their nearest parent"): every later
  duplicate is renamed ``NAME_2``, ``NAME_3``, ... (the first keeps its name, so data columns of the
  first keep matching); the warning names each rename.
* **a broken ``${...}`` reference in a column that is not XLSForm's** (survey tools' own columns such
  as ``labelReport``, e.g. a label cut short): current pyxform checks references in every column;
  that cell is emptied (pyxform ignores such columns anyway).
* **the old ``set form title`` / ``set form id`` rows** (Ona's early syntax; "Unknown question type"):
  the row is removed and its name becomes the settings' ``form_title`` / ``form_id``.

Any other refusal stays an error: a repair is made only where its meaning is certain.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from typing import Any

__all__ = ["repair", "LEGACY_PREFIX"]

LEGACY_PREFIX = "legacy form: "

_GROUP_OPEN = {"begin group", "begin repeat", "begin loop"}
_GROUP_CLOSE = {"end group", "end repeat", "end loop"}
_SET_ROWS = {"set form title": "form_title", "set form id": "form_id"}


def _kind(row: dict) -> str:
    return re.sub(r"[\s_]+", " ", str(row.get("type") or "")).strip().lower()


def _settings(workbook: Any) -> dict:
    rows = list(workbook.settings or [])
    return dict(rows[0]) if rows else {}


def _with(workbook: Any, **changes: Any) -> Any:
    if "settings" in changes:  # pyxform reads a sheet's columns from its header rows
        changes["settings_header"] = [{k: None for k in changes["settings"][0]}]
    return dataclasses.replace(workbook, **changes)


def _duplicate_choices(workbook: Any) -> tuple[Any, str] | None:
    seen = Counter(
        (str(r.get("list_name") or r.get("list name") or ""), str(r.get("name")))
        for r in workbook.choices or ()
        if r.get("name") is not None
    )
    dups = sorted(f"{lst}/{name}" for (lst, name), n in seen.items() if n > 1)
    if not dups:
        return None
    settings = _settings(workbook) | {"allow_choice_duplicates": "yes"}
    shown = ", ".join(dups[:5]) + (f" and {len(dups) - 5} more" if len(dups) > 5 else "")
    return (
        _with(workbook, settings=[settings]),
        f"{LEGACY_PREFIX}choice names repeat within a list ({shown}); current pyxform refuses this, "
        "read as with allow_choice_duplicates = yes",
    )


def _duplicate_names(workbook: Any) -> tuple[Any, str] | None:
    rows = [dict(r) for r in workbook.survey or ()]
    stack: list[set[str]] = [set()]
    renamed: list[str] = []
    for row in rows:
        kind = _kind(row)
        if kind in _GROUP_CLOSE:
            if len(stack) > 1:
                stack.pop()
            continue
        name = row.get("name")
        if name is not None and str(name).strip():
            name = str(name).strip()
            if name in stack[-1]:
                n = 2
                while f"{name}_{n}" in stack[-1]:
                    n += 1
                row["name"] = f"{name}_{n}"
                renamed.append(f"{name} -> {name}_{n}")
                name = row["name"]
            stack[-1].add(name)
        if kind in _GROUP_OPEN:
            stack.append(set())
    if not renamed:
        return None
    return (
        _with(workbook, survey=rows),
        f"{LEGACY_PREFIX}names repeat under one parent; current pyxform refuses this, the later ones were "
        f"renamed ({', '.join(renamed)})",
    )


def _set_rows(workbook: Any) -> tuple[Any, str] | None:
    kept, settings, moved = [], _settings(workbook), []
    for row in workbook.survey or ():
        key = _SET_ROWS.get(_kind(row))
        if key is None:
            kept.append(row)
            continue
        value = row.get("name") or row.get("label")
        if value:
            settings.setdefault(key, str(value))
        moved.append(f"'{_kind(row)}' -> settings {key}")
    if not moved:
        return None
    return (
        _with(workbook, survey=kept, settings=[settings]),
        f"{LEGACY_PREFIX}old row type(s) current pyxform does not know were moved to the settings ({', '.join(moved)})",
    )


#: columns of the survey sheet that pyxform reads (a reference error there is the form's own error)
_XLSFORM_COLUMNS = {
    "type",
    "name",
    "label",
    "hint",
    "guidance_hint",
    "relevant",
    "constraint",
    "constraint_message",
    "required",
    "required_message",
    "calculation",
    "default",
    "choice_filter",
    "repeat_count",
    "appearance",
    "parameters",
    "read_only",
    "readonly",
    "trigger",
    "image",
    "audio",
    "video",
    "media",
    "note",
    "big-image",
}
_REF_ERROR = re.compile(r"\[row : (\d+)\] On the 'survey' sheet, the '([^']+)' value is invalid\. Reference variables")


def _custom_column_reference(workbook: Any, message: str) -> tuple[Any, str] | None:
    m = _REF_ERROR.search(message)
    if m is None:
        return None
    row_no, column = int(m.group(1)), m.group(2)
    if ":" in column or column.lower() in _XLSFORM_COLUMNS:
        return None
    rows = [dict(r) for r in workbook.survey or ()]
    i = row_no - 2  # pyxform counts the header row and from 1
    if not 0 <= i < len(rows) or column not in rows[i]:
        return None
    del rows[i][column]
    return (
        _with(workbook, survey=rows),
        f"{LEGACY_PREFIX}row {row_no}: a broken ${{...}} reference in the tool's own column '{column}' "
        "(current pyxform checks every column); that cell was ignored",
    )


_REPAIRS = (
    ("Choice names must be unique", _duplicate_choices),
    ("must be unique within their nearest parent", _duplicate_names),
    ("Unknown question type 'set form", _set_rows),
    ("Reference variables must start with", None),
)


def repair(workbook: Any, message: str) -> tuple[Any, str] | None:
    """The workbook (pyxform's ``DefinitionData``) repaired for the refusal ``message``, and the warning
    to record; None when the refusal is not one of the known legacy ones."""
    for marker, fix in _REPAIRS:
        if marker in message:
            return fix(workbook) if fix is not None else _custom_column_reference(workbook, message)
    return None
