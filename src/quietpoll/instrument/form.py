"""Loading XLSForm questionnaires with pyxform.

quietpoll never reads the sheets itself: pyxform reads the workbook (.xlsx, .xlsm, .xls, .csv or
its markdown form, .md), converts it to its JSON form description (``workbook_to_json``) and builds
the survey and its XForm (``to_xml``), so every check pyxform makes on a form is made here too. A
form pyxform rejects, or a file it cannot read, becomes one :class:`InstrumentError` naming the file.

The JSON form description is then flattened into :class:`Question` rows in form order: groups and
repeats disappear into ``group`` (enclosing names, outermost first), ``group_relevant`` (their
``relevant`` expressions, which apply to the question too) and ``repeat`` (innermost repeat).
pyxform's type names are normalised to the XLSForm spelling (``select one`` -> ``select_one``,
``select all that apply`` -> ``select_multiple``, ``gps`` -> ``geopoint``, ``int`` -> ``integer``,
``dateTime`` -> ``datetime``, ``string`` -> ``text``).

Also kept: each question's ``default`` (as written; ``default_dynamic`` when pyxform reads it as an
expression evaluated at the first load), ``read_only`` (True, or an expression), each repeat's
``repeat_count`` (``Instrument.repeat_counts``: repeat name -> its ``jr:count`` expression; pyxform
turns a literal count into a calculate question ``<repeat>_count`` and refers to it), and every
column of the choices sheet other than ``name``, labels and media (``Choice.data``, e.g. a
``province`` column a ``choice_filter`` reads).

Device-only fields
    A field that must live only on the interviewing device and never be sealed, stored or published
    (a randomization draw such as ``once(random())`` of a randomized-response item, and anything
    computed from it) is marked in the survey sheet with pyxform's custom bind column
    ``bind::quietpoll:device-only`` set to ``yes`` (``true``, ``1``). pyxform copies the column onto
    the field's ``<bind>`` as the attribute ``quietpoll:device-only="yes"``, so the form must declare
    the prefix in the settings sheet: ``namespaces`` = ``quietpoll="urn:quietpoll:xforms"`` (any URI);
    without it the XForm would not be well-formed XML and loading fails with an InstrumentError.
    ``Question.device_only`` and ``Instrument.device_only`` (the names) carry the mark. The browser
    form evaluates such fields (relevance, other calculations and notes can read them) but never puts
    them in the sealed answers; ``pull`` and ``release`` drop any that still reach them (from an older
    client, or a file from another tool). Other tools (ODK Collect) ignore the attribute and submit the
    field: collect sensitive designs with quietpoll's browser form only. A field that the estimators
    need (a list experiment's arm, e.g. ``le_treat``) is not device-only: the estimators need only the
    design's probabilities and the assignment, never the randomized-response draw.
"""

from __future__ import annotations

import re
import warnings as _warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from quietpoll.errors import FormWarning, InstrumentError

__all__ = ["Choice", "Question", "Instrument", "load_instrument", "SUPPORTED_SUFFIXES", "DEVICE_ONLY_ATTR"]

SUPPORTED_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv", ".md")

_TYPE_NAMES = {
    "select one": "select_one",
    "select all that apply": "select_multiple",
    "select one external": "select_one_external",
    "select one from file": "select_one_from_file",
    "select multiple from file": "select_multiple_from_file",
    "gps": "geopoint",
    "int": "integer",
    "dateTime": "datetime",
    "string": "text",
    "uri:deviceid": "deviceid",
    "rank": "rank",
}

# Types that never yield a column of answers.
_NO_COLUMN = frozenset({"note", "entity"})

#: The bind attribute (``bind::quietpoll:device-only`` column) marking a field that is never sealed.
DEVICE_ONLY_ATTR = "quietpoll:device-only"
_NAMESPACE_RE = re.compile(r"""(?:^|\s)quietpoll\s*=\s*["'][^"']+["']""")

_TRUE = frozenset({"yes", "true", "true()", "t", "y", "1"})
_FALSE = frozenset({"no", "false", "false()", "f", "n", "0", ""})
# Keys of a pyxform choice that are not columns of the choices sheet kept in Choice.data.
_CHOICE_OWN = frozenset({"name", "label", "media", "image", "audio", "video", "big-image"})


@dataclass(frozen=True)
class Choice:
    """One choice of a choice list: its name (the stored value), its label per language and its other
    columns of the choices sheet (``data``: column -> text, e.g. ``{"province": "p1"}``)."""

    name: str
    labels: Mapping[str, str]
    data: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Question:
    """One row of the survey sheet that is not a group or repeat (notes included)."""

    name: str
    type: str
    list_name: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    hints: Mapping[str, str] = field(default_factory=dict)
    relevant: str | None = None
    constraint: str | None = None
    constraint_message: str | None = None
    required: bool | str = False
    calculation: str | None = None
    choice_filter: str | None = None
    appearance: str | None = None
    group: tuple[str, ...] = ()
    group_relevant: tuple[str, ...] = ()
    repeat: str | None = None
    default: str | None = None
    default_dynamic: bool = False
    read_only: bool | str = False
    device_only: bool = False

    @property
    def path(self) -> str:
        """The question's path inside the form, e.g. ``household/member/age``."""
        return "/".join((*self.group, self.name))


@dataclass(frozen=True)
class Instrument:
    """A questionnaire as pyxform understood it."""

    form_id: str
    title: str
    version: str | None
    languages: tuple[str, ...]
    default_language: str | None
    questions: tuple[Question, ...]
    choices: Mapping[str, tuple[Choice, ...]]
    repeats: tuple[str, ...]
    source: str
    warnings: tuple[str, ...] = ()
    repeat_counts: Mapping[str, str] = field(default_factory=dict)
    #: a group's or repeat's path ("a/b") -> its label by language (groups without a label absent)
    group_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def question(self, name: str) -> Question:
        """The question called ``name`` (the first one, if a name repeats in different groups)."""
        for q in self.questions:
            if q.name == name:
                return q
        raise InstrumentError(f"{self.source}: the form has no question named {name!r}")

    def data_questions(self) -> tuple[Question, ...]:
        """Every question that yields a column of data (everything but notes)."""
        return tuple(q for q in self.questions if q.type not in _NO_COLUMN)

    @property
    def device_only(self) -> frozenset[str]:
        """Names of the fields marked ``bind::quietpoll:device-only`` (never sealed, pulled or released)."""
        return frozenset(q.name for q in self.questions if q.device_only)


# ----------------------------------------------------------------------------------------------
def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


def _texts(value: Any, languages: list[str]) -> dict[str, str]:
    """A pyxform label/hint (a string, or a dict language -> text) as language -> text."""
    if value is None or value == "":
        return {}
    if isinstance(value, Mapping):
        out: dict[str, str] = {}
        for lang, text in value.items():
            if isinstance(text, Mapping):  # media dicts (image/audio) are not labels
                continue
            lang = str(lang)
            if lang not in languages:
                languages.append(lang)
            out[lang] = str(text)
        return out
    return {"default": str(value)}


def _required(value: Any) -> bool | str:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip()
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    return text


def _opt(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _default_is_dynamic(default: str | None, pyxform_type: str) -> bool:
    """Whether pyxform reads ``default`` as an expression (evaluated when the form first loads)."""
    if not default:
        return False
    from pyxform.utils import default_is_dynamic

    return bool(default_is_dynamic(default, pyxform_type))


def _constraint_message(bind: Mapping[str, Any]) -> str | None:
    msg = bind.get("jr:constraintMsg")
    if isinstance(msg, Mapping):
        # translated messages: keep the first (they are all the same message)
        msg = next(iter(msg.values()), None)
    return _opt(msg)


def _device_only(value: Any, name: str) -> bool:
    if value is None:
        return False
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InstrumentError(f"{name}: bind::{DEVICE_ONLY_ATTR} must be yes or no, got {value!r}")


class _Flattener:
    def __init__(self) -> None:
        self.questions: list[Question] = []
        self.repeats: list[str] = []
        self.languages: list[str] = []
        self.extra_choices: dict[str, tuple[Choice, ...]] = {}
        self.repeat_counts: dict[str, str] = {}
        self.group_labels: dict[str, dict[str, str]] = {}

    def choices(self, items: Any) -> tuple[Choice, ...]:
        out = []
        for c in items or ():
            if not isinstance(c, Mapping) or "name" not in c:
                continue
            data = {
                str(k): str(v)
                for k, v in c.items()
                if k not in _CHOICE_OWN and v is not None and not isinstance(v, (Mapping, list))
            }
            out.append(Choice(name=str(c["name"]), labels=_texts(c.get("label"), self.languages), data=data))
        return tuple(out)

    def walk(
        self,
        children: Any,
        group: tuple[str, ...],
        group_relevant: tuple[str, ...],
        repeat: str | None,
        loop_label: Mapping[str, str] | None = None,
    ) -> None:
        for child in children or ():
            if not isinstance(child, Mapping):
                continue
            ctype = str(child.get("type", ""))
            name = str(child.get("name", ""))
            bind = child.get("bind") or {}
            relevant = _opt(bind.get("relevant"))
            if ctype in ("group", "repeat"):
                if _device_only(bind.get(DEVICE_ONLY_ATTR), name):
                    raise InstrumentError(
                        f"{name}: bind::{DEVICE_ONLY_ATTR} marks fields, not a {ctype}; mark each field inside it"
                    )
                inner_group = (*group, name)
                inner_rel = (*group_relevant, relevant) if relevant else group_relevant
                inner_repeat = repeat
                group_label = _texts(child.get("label"), self.languages)
                if group_label:
                    self.group_labels["/".join(inner_group)] = group_label
                if ctype == "repeat":
                    self.repeats.append(name)
                    inner_repeat = name
                    count = _opt((child.get("control") or {}).get("jr:count"))
                    if count:
                        self.repeat_counts[name] = count
                self.walk(child.get("children"), inner_group, inner_rel, inner_repeat, loop_label)
                continue
            if ctype == "loop":
                # pyxform expands a loop into one group per column, each holding the children
                for column in child.get("columns") or ():
                    col_name = str(column.get("name"))
                    label = _texts(column.get("label"), self.languages)
                    inner_rel = (*group_relevant, relevant) if relevant else group_relevant
                    self.walk(child.get("children"), (*group, name, col_name), inner_rel, repeat, label)
                continue
            qtype = _TYPE_NAMES.get(ctype, ctype)
            labels = _texts(child.get("label"), self.languages)
            if loop_label is not None:
                labels = {
                    lang: text.replace("%(label)s", loop_label.get(lang, next(iter(loop_label.values()), "")))
                    for lang, text in labels.items()
                }
            list_name = _opt(child.get("list_name")) or _opt(child.get("itemset"))
            if list_name and child.get("choices"):
                self.extra_choices.setdefault(list_name, self.choices(child.get("choices")))
            control = child.get("control") or {}
            default = _opt(child.get("default"))
            self.questions.append(
                Question(
                    name=name,
                    type=qtype,
                    list_name=list_name,
                    labels=labels,
                    hints=_texts(child.get("hint"), self.languages),
                    relevant=relevant,
                    constraint=_opt(bind.get("constraint")),
                    constraint_message=_constraint_message(bind),
                    required=_required(bind.get("required")),
                    calculation=_opt(bind.get("calculate")),
                    choice_filter=_opt(child.get("choice_filter")),
                    appearance=_opt(control.get("appearance")),
                    group=group,
                    group_relevant=group_relevant,
                    repeat=repeat,
                    default=default,
                    default_dynamic=_default_is_dynamic(default, ctype),
                    read_only=_required(bind.get("readonly")),
                    device_only=_device_only(bind.get(DEVICE_ONLY_ATTR), name),
                )
            )


def load_instrument(path: str | Path) -> Instrument:
    """Read an XLSForm (.xlsx, .xlsm, .xls, .csv, .md) with pyxform and return its :class:`Instrument`.

    Raises :class:`InstrumentError` (one line, naming the file) when the file is missing or
    unreadable, or when pyxform rejects the form; the message is the first line of pyxform's. The
    repairs an older form needed (instrument/legacy.py) are each warned once as a :class:`FormWarning`.
    """
    instrument, legacy = parse_instrument(path)
    warn_legacy(Path(path).name, legacy)
    return instrument


def warn_legacy(label: str, legacy: list[str] | tuple[str, ...]) -> None:
    """One :class:`FormWarning` per repair of an older form (shown once per run by the CLI)."""
    for note in legacy:  # shown once per run by the CLI as a `quietpoll: warning:` line
        _warnings.warn(f"{label}: {note}", FormWarning, stacklevel=3)


def parse_instrument(path: str | Path) -> tuple[Instrument, list[str]]:
    """:func:`load_instrument` without the warnings: the Instrument and the repairs the form needed."""
    p = Path(path)
    label = p.name
    if not p.is_file():
        raise InstrumentError(f"{path}: no such questionnaire file")
    if p.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise InstrumentError(
            f"{label}: unsupported questionnaire format {p.suffix!r}; use one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    try:
        from pyxform.builder import create_survey_element_from_dict
        from pyxform.errors import PyXFormError
        from pyxform.xls2json import workbook_to_json
        from pyxform.xls2json_backends import get_xlsform
    except ImportError as exc:  # pragma: no cover - pyxform is a dependency
        raise InstrumentError(f"{label}: pyxform is needed to read questionnaires ({exc})") from exc

    from .legacy import repair

    conversion_warnings: list[str] = []
    legacy: list[str] = []
    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")  # openpyxl style chatter
            workbook = get_xlsform(str(p))
    except Exception as exc:  # noqa: BLE001 - any reader failure is a broken workbook
        raise InstrumentError(
            f"{label}: cannot read the questionnaire ({type(exc).__name__}: {_first_line(exc)})"
        ) from exc
    for _attempt in range(12):  # an older form may need several repairs (one per refusal)
        conversion_warnings = []
        try:
            with _warnings.catch_warnings():
                _warnings.simplefilter("ignore")
                form = workbook_to_json(
                    workbook_dict=workbook,
                    fallback_form_name=workbook.fallback_form_name,
                    warnings=conversion_warnings,
                )
                survey = create_survey_element_from_dict(form)
                survey.to_xml(validate=False, warnings=conversion_warnings)
            break
        except PyXFormError as exc:
            fixed = repair(workbook, str(exc))
            if fixed is None:
                raise InstrumentError(f"{label}: pyxform rejected the form: {_first_line(exc)}") from exc
            workbook, note = fixed
            legacy.append(note)
        except Exception as exc:  # noqa: BLE001 - any reader failure is a broken workbook
            raise InstrumentError(
                f"{label}: cannot read the questionnaire ({type(exc).__name__}: {_first_line(exc)})"
            ) from exc
    else:
        raise InstrumentError(f"{label}: pyxform rejected the form after repairs of older forms ({'; '.join(legacy)})")
    conversion_warnings = legacy + conversion_warnings

    flat = _Flattener()
    try:
        flat.walk(form.get("children"), (), (), None)
    except InstrumentError as exc:
        raise InstrumentError(f"{label}: {exc}") from None
    marked = [q.name for q in flat.questions if q.device_only]
    if marked and not _NAMESPACE_RE.search(str(form.get("namespaces") or "")):
        raise InstrumentError(
            f"{label}: {marked[0]} is marked bind::{DEVICE_ONLY_ATTR} but the settings sheet does not declare the "
            'prefix: add a namespaces column with quietpoll="urn:quietpoll:xforms"'
        )
    choices: dict[str, tuple[Choice, ...]] = {}
    for list_name, items in (form.get("choices") or {}).items():
        choices[str(list_name)] = flat.choices(items)
    for list_name, items in flat.extra_choices.items():
        choices.setdefault(list_name, items)

    languages = tuple(flat.languages)
    has_any_label = any(q.labels for q in flat.questions)
    if not languages and has_any_label:
        languages = ("default",)
    declared = _opt(form.get("default_language"))
    if declared in languages:
        default_language: str | None = declared
    elif "default" in languages:
        default_language = "default"
    else:
        default_language = languages[0] if languages else None

    form_id = _opt(form.get("id_string")) or p.stem
    instrument = Instrument(
        form_id=form_id,
        title=_opt(form.get("title")) or form_id,
        version=_opt(form.get("version")),
        languages=languages,
        default_language=default_language,
        questions=tuple(flat.questions),
        choices=choices,
        repeats=tuple(flat.repeats),
        source=str(p),
        warnings=tuple(w for w in conversion_warnings if w),
        repeat_counts=dict(flat.repeat_counts),
        group_labels={k: MappingProxyType(v) for k, v in flat.group_labels.items()},
    )
    return instrument, legacy
