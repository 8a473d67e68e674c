"""A codebook of an :class:`Instrument`: every question, its labels, choices and logic.

``codebook(instrument, format="markdown" | "html" | "json")`` returns text. The HTML is one
self-contained page (inline CSS, no scripts, no external assets); all text is escaped.
"""

from __future__ import annotations

import html
import json
from typing import Any

from quietpoll.errors import InstrumentError
from quietpoll.instrument.form import Instrument, Question

__all__ = ["codebook", "codebook_data"]

FORMATS = ("markdown", "html", "json")


def _question_entry(inst: Instrument, q: Question) -> dict[str, Any]:
    choices = inst.choices.get(q.list_name, ()) if q.list_name else ()
    return {
        "name": q.name,
        "path": "/".join((*q.group, q.name)),
        "type": q.type,
        "list_name": q.list_name,
        "labels": dict(q.labels),
        "hints": dict(q.hints),
        "choices": [{"name": c.name, "labels": dict(c.labels)} for c in choices],
        "relevant": q.relevant,
        "group_relevant": list(q.group_relevant),
        "constraint": q.constraint,
        "constraint_message": q.constraint_message,
        "required": q.required,
        "calculation": q.calculation,
        "choice_filter": q.choice_filter,
        "repeat": q.repeat,
    }


def codebook_data(instrument: Instrument) -> dict[str, Any]:
    """The codebook as plain data (what the JSON format prints)."""
    return {
        "form_id": instrument.form_id,
        "title": instrument.title,
        "version": instrument.version,
        "languages": list(instrument.languages),
        "default_language": instrument.default_language,
        "questions": [_question_entry(instrument, q) for q in instrument.questions],
    }


def _md_escape(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("`", "\\`")


def _logic(entry: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for rel in entry["group_relevant"]:
        out.append(("group relevant", rel))
    for key, title in (
        ("relevant", "relevant"),
        ("constraint", "constraint"),
        ("constraint_message", "constraint message"),
        ("calculation", "calculation"),
        ("choice_filter", "choice filter"),
    ):
        if entry[key]:
            out.append((title, entry[key]))
    req = entry["required"]
    if req is True:
        out.append(("required", "yes"))
    elif isinstance(req, str) and req:
        out.append(("required", req))
    if entry["repeat"]:
        out.append(("repeat", entry["repeat"]))
    return out


def _markdown(data: dict[str, Any]) -> str:
    langs = data["languages"]
    lines = [f"# Codebook: {_md_escape(data['title'])}", ""]
    lines.append(f"- form id: `{_md_escape(data['form_id'])}`")
    if data["version"]:
        lines.append(f"- version: {_md_escape(data['version'])}")
    if langs:
        lines.append(
            f"- languages: {', '.join(_md_escape(x) for x in langs)}"
            f" (default: {_md_escape(data['default_language'] or '')})"
        )
    lines.append("")
    for e in data["questions"]:
        lines.append(f"## `{_md_escape(e['path'])}` ({_md_escape(e['type'])})")
        lines.append("")
        for lang, text in e["labels"].items():
            lines.append(f"- label [{_md_escape(lang)}]: {_md_escape(text)}")
        for lang, text in e["hints"].items():
            lines.append(f"- hint [{_md_escape(lang)}]: {_md_escape(text)}")
        for title, text in _logic(e):
            lines.append(f"- {title}: `{_md_escape(text)}`")
        if e["choices"]:
            clangs = [x for x in langs if any(x in c["labels"] for c in e["choices"])] or ["default"]
            lines.append("")
            lines.append("| value | " + " | ".join(_md_escape(x) for x in clangs) + " |")
            lines.append("|---|" + "---|" * len(clangs))
            for c in e["choices"]:
                cells = [_md_escape(c["labels"].get(x, "")) for x in clangs]
                lines.append(f"| `{_md_escape(c['name'])}` | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI','Noto Sans KR',sans-serif;margin:2rem;color:#222;max-width:70rem}
h1{font-size:1.5rem}h2{font-size:1.05rem;margin:1.6rem 0 .4rem;border-top:1px solid #ccc;padding-top:.8rem}
code{background:#f4f4f4;padding:0 .2rem}table{border-collapse:collapse;margin:.4rem 0}
td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left;vertical-align:top}
dl{display:grid;grid-template-columns:max-content auto;gap:.1rem 1rem;margin:.3rem 0}dt{color:#555}dd{margin:0}
.type{color:#666;font-weight:normal}
"""


def _html(data: dict[str, Any]) -> str:
    e_ = html.escape
    langs = data["languages"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Codebook: {e_(data['title'])}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Codebook: {e_(data['title'])}</h1>",
        "<dl>",
        f"<dt>form id</dt><dd><code>{e_(data['form_id'])}</code></dd>",
    ]
    if data["version"]:
        parts.append(f"<dt>version</dt><dd>{e_(data['version'])}</dd>")
    if langs:
        parts.append(
            f"<dt>languages</dt><dd>{e_(', '.join(langs))} (default: {e_(data['default_language'] or '')})</dd>"
        )
    parts.append("</dl>")
    for q in data["questions"]:
        parts.append(
            f'<section id="q-{e_(q["path"])}"><h2><code>{e_(q["path"])}</code> '
            f'<span class="type">{e_(q["type"])}</span></h2><dl>'
        )
        for lang, text in q["labels"].items():
            parts.append(f"<dt>label [{e_(lang)}]</dt><dd>{e_(text)}</dd>")
        for lang, text in q["hints"].items():
            parts.append(f"<dt>hint [{e_(lang)}]</dt><dd>{e_(text)}</dd>")
        for title, text in _logic(q):
            parts.append(f"<dt>{e_(title)}</dt><dd><code>{e_(str(text))}</code></dd>")
        parts.append("</dl>")
        if q["choices"]:
            clangs = [x for x in langs if any(x in c["labels"] for c in q["choices"])] or ["default"]
            parts.append(
                "<table><thead><tr><th>value</th>"
                + "".join(f"<th>{e_(x)}</th>" for x in clangs)
                + "</tr></thead><tbody>"
            )
            for c in q["choices"]:
                parts.append(
                    f"<tr><td><code>{e_(c['name'])}</code></td>"
                    + "".join(f"<td>{e_(c['labels'].get(x, ''))}</td>" for x in clangs)
                    + "</tr>"
                )
            parts.append("</tbody></table>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def codebook(instrument: Instrument, format: str = "markdown") -> str:  # noqa: A002 - the public name
    """The instrument's codebook as markdown, self-contained HTML, or JSON text."""
    data = codebook_data(instrument)
    if format == "markdown":
        return _markdown(data)
    if format == "html":
        return _html(data)
    if format == "json":
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    raise InstrumentError(f"unknown codebook format {format!r}; use one of {', '.join(FORMATS)}")
