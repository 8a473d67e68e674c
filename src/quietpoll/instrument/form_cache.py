"""The study's questionnaire as pyxform read it, kept in the study folder so that later commands need
neither pyxform (0.3 s of imports) nor its reading and checking of the workbook (0.2 to 0.5 s).

``STUDY/form-cache/<key>.json`` (folder 0700, file 0600, written whole through a temporary file) holds
the flattened :class:`~quietpoll.instrument.form.Instrument` (questions, choices, labels, the warnings
pyxform gave and the repairs an older form needed), i.e. what the form file beside it already says,
never answers, never a path. The key is the SHA-256 of the form file's bytes together with its name
(a form without an id takes its id from the file name), the pyxform version and the source of the
code that reads forms (form.py, legacy.py): any change of the form, of pyxform or of that code is a
new key, and the form is read again. Writing a new entry removes the folder's other entries, so an
earlier version of the form does not linger beside the current one. A cache that cannot be written
(a read-only study folder) is skipped; an entry that is a symlink, unreadable or not what this module
writes is ignored and rewritten.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .form import Choice, Instrument, Question, parse_instrument, warn_legacy

CACHE_DIR = "form-cache"
FORMAT = 1  # of the cached entry's shape

_TUPLES = ("group", "group_relevant")


def _code_digest() -> bytes:
    h = hashlib.sha256()
    here = Path(__file__).parent
    for name in ("form.py", "legacy.py", "form_cache.py"):
        h.update(name.encode() + b"\0" + (here / name).read_bytes() + b"\0")
    return h.digest()


def _pyxform_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("pyxform")
    except metadata.PackageNotFoundError:  # pragma: no cover - pyxform is a dependency
        return "?"


def cache_key(name: str, content: bytes) -> str:
    """The entry's name for a form file called ``name`` holding ``content``."""
    h = hashlib.sha256()
    h.update(f"quietpoll-form-cache/{FORMAT}\0{_pyxform_version()}\0{name}\0".encode())
    h.update(_code_digest())
    h.update(hashlib.sha256(content).digest())
    return h.hexdigest()


def _to_json(inst: Instrument, legacy: list[str]) -> dict[str, Any]:
    def choice(c: Choice) -> dict[str, Any]:
        return {"name": c.name, "labels": dict(c.labels), "data": dict(c.data)}

    def question(q: Question) -> dict[str, Any]:
        out = {f.name: getattr(q, f.name) for f in fields(Question)}
        out["labels"], out["hints"] = dict(q.labels), dict(q.hints)
        for k in _TUPLES:
            out[k] = list(out[k])
        return out

    return {
        "form_id": inst.form_id,
        "title": inst.title,
        "version": inst.version,
        "languages": list(inst.languages),
        "default_language": inst.default_language,
        "questions": [question(q) for q in inst.questions],
        "choices": {k: [choice(c) for c in v] for k, v in inst.choices.items()},
        "repeats": list(inst.repeats),
        "warnings": list(inst.warnings),
        "repeat_counts": dict(inst.repeat_counts),
        "group_labels": {k: dict(v) for k, v in inst.group_labels.items()},
        "legacy": list(legacy),
    }


def _from_json(d: dict[str, Any], source: str) -> tuple[Instrument, list[str]]:
    names = {f.name for f in fields(Question)}
    questions = []
    for q in d["questions"]:
        if set(q) != names:
            raise ValueError("not a cached question")
        kwargs: dict[str, Any] = {k: tuple(v) if k in _TUPLES else v for k, v in q.items()}
        questions.append(Question(**kwargs))
    inst = Instrument(
        form_id=str(d["form_id"]),
        title=str(d["title"]),
        version=d["version"],
        languages=tuple(d["languages"]),
        default_language=d["default_language"],
        questions=tuple(questions),
        choices={
            str(k): tuple(Choice(name=str(c["name"]), labels=c["labels"], data=c["data"]) for c in v)
            for k, v in d["choices"].items()
        },
        repeats=tuple(d["repeats"]),
        source=source,
        warnings=tuple(d["warnings"]),
        repeat_counts=dict(d["repeat_counts"]),
        group_labels={str(k): MappingProxyType(dict(v)) for k, v in d["group_labels"].items()},
    )
    return inst, [str(x) for x in d["legacy"]]


def _read(folder: Path, key: str, source: str) -> tuple[Instrument, list[str]] | None:
    from ..safe_output import read_private_entry

    got = read_private_entry(folder, key, FORMAT, "instrument")
    if got is None:
        return None
    try:
        return _from_json(got, source)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None  # read again from the form and rewritten


def _write(folder: Path, key: str, inst: Instrument, legacy: list[str]) -> None:
    from ..safe_output import write_private_entry

    try:
        path = write_private_entry(folder, key, FORMAT, "instrument", _to_json(inst, legacy), ensure_ascii=False)
        for old in path.parent.glob("*.json"):  # one form per study: earlier versions do not linger
            if old != path:
                with contextlib.suppress(OSError):
                    old.unlink()
    except OSError:
        return  # a study folder we may not write to: no cache, same result


def load_study_instrument(path: str | Path, study_dir: str | Path) -> Instrument:
    """:func:`~quietpoll.instrument.form.load_instrument` of the study's form ``path``, through the cache in
    ``study_dir/form-cache`` (see the module docstring). Same Instrument, same warnings, same errors (a
    form pyxform rejects is never cached)."""
    p = Path(path)
    try:
        content = p.read_bytes()
    except OSError:
        content = None
    if content is None:  # missing or unreadable: load_instrument says so, as without a cache
        inst, legacy = parse_instrument(p)
        warn_legacy(p.name, legacy)
        return inst
    folder = Path(study_dir) / CACHE_DIR
    key = cache_key(p.name, content)
    got = _read(folder, key, str(p))
    if got is None:
        inst, legacy = parse_instrument(p)
        with contextlib.suppress(OSError):
            if p.read_bytes() == content:  # the form did not change while it was read
                _write(folder, key, inst, legacy)
        got = inst, legacy
    warn_legacy(p.name, got[1])
    return got[0]


__all__ = ["CACHE_DIR", "cache_key", "load_study_instrument"]
