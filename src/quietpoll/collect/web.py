# ruff: noqa: E501  (the HTML template and the markdown form are kept one element / one row per line)
"""The offline web form: server-rendered XLSForm pages, the browser bundle and the service worker.

``add_form_routes(app, instruments, public_key_b64)`` adds to an app from
:func:`quietpoll.collect.app.create_app`:

``GET /f/{form_id}``   a mobile-first HTML page rendered from the instrument (Jinja2, autoescaped):
                       one input per question with ``name`` = the question name, groups as
                       fieldsets, labels in every language with a switch, and the expressions in
                       ``data-relevant`` / ``data-constraint`` / ``data-required`` for the script.
                       ``?token=TOKEN`` enrols the browser: the script keeps the token and removes
                       it from the URL. No inline script or style: the configuration is in
                       ``data-`` attributes, so the app's CSP (``script-src 'self'``) holds.
``GET /static/...``    the built bundle (``form.js``, ``form.css``; built from ``web/`` by esbuild).
``GET /sw.js``         the service worker, at the root so its scope covers ``/f/`` and ``/static/``.

The page never contains an answer or a token; the browser seals the answers (HPKE, exactly as
:mod:`quietpoll.collect.envelope`) before anything is stored or sent.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from quietpoll.errors import CollectError
from quietpoll.instrument.form import Instrument, Question

__all__ = ["add_form_routes", "render_form", "STATIC_DIR"]

STATIC_DIR = Path(__file__).with_name("static")

#: Question types rendered as inputs; others (calculate, metadata, media, geopoint...) are not shown.
_INPUT_TYPES = {"select_one", "select_multiple", "integer", "decimal", "text", "date"}
_KNOWN_CODES = {"english": "en", "korean": "ko", "한국어": "ko"}

_TEMPLATE = """<!doctype html>
<html lang="{{ code(default) or 'en' }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{ instrument.title }}</title>
<link rel="stylesheet" href="/static/form.css">
<script src="/static/form.js" defer></script>
</head>
<body>
<main id="quietpoll" data-form-id="{{ instrument.form_id }}" data-public-key="{{ public_key }}"
      data-api="/api/v1/submissions" data-sw="/sw.js" data-lang="{{ default }}">
<header>
<h1>{{ instrument.title }}</h1>
{% if languages|length > 1 %}<div class="langs" role="group" aria-label="Language / 언어">
{% for lang in languages %}<button type="button" data-set-lang="{{ lang }}" data-code="{{ code(lang) }}" aria-pressed="{{ 'true' if lang == default else 'false' }}">{{ lang_name(lang) }}</button>
{% endfor %}</div>{% endif %}
</header>
{% macro text(labels, fallback='') -%}
{%- if labels -%}{% for lang in languages %}<span data-lang="{{ lang }}" lang="{{ code(lang) }}"{% if lang != default %} hidden{% endif %}>{{ labels.get(lang) or (labels.values()|first) }}</span>{% endfor %}
{%- else %}{{ fallback }}{% endif -%}
{%- endmacro %}
{% macro question(q) -%}
{%- set attrs -%}
data-name="{{ q.name }}" data-type="{{ q.type }}"{% if q.relevant %} data-relevant="{{ q.relevant }}"{% endif %}
{%- if q.group_relevant %} data-group-relevant="{{ q.group_relevant|list|tojson|forceescape }}"{% endif %}
{%- if q.constraint %} data-constraint="{{ q.constraint }}"{% endif %}
{%- if q.constraint_message %} data-constraint-message="{{ q.constraint_message }}"{% endif %}
{%- if q.required is sameas true %} data-required="true"{% elif q.required %} data-required="{{ q.required }}"{% endif %}
{%- endset -%}
{%- set req = q.required is sameas true -%}
{%- if q.type == 'note' -%}
<div class="q note" {{ attrs }}>{{ text(q.labels, q.name) }}</div>
{%- elif q.type in ('select_one', 'select_multiple') -%}
<fieldset class="q" {{ attrs }}>
<legend>{{ text(q.labels, q.name) }}{% if req %} <span class="req" aria-hidden="true">*</span>{% endif %}</legend>
{% if q.hints %}<div class="hint">{{ text(q.hints) }}</div>{% endif %}
{% for c in choices(q) %}<label class="choice"><input type="{{ 'radio' if q.type == 'select_one' else 'checkbox' }}" name="{{ q.name }}" value="{{ c.name }}"> <span>{{ text(c.labels, c.name) }}</span></label>
{% endfor %}<p class="err" role="alert" hidden></p>
</fieldset>
{%- else -%}
<div class="q" {{ attrs }}>
<label class="label" for="q-{{ q.path }}">{{ text(q.labels, q.name) }}{% if req %} <span class="req" aria-hidden="true">*</span>{% endif %}</label>
{% if q.hints %}<div class="hint">{{ text(q.hints) }}</div>{% endif %}
{% if q.type == 'integer' %}<input id="q-{{ q.path }}" name="{{ q.name }}" type="number" step="1" inputmode="numeric" autocomplete="off"{% if req %} aria-required="true"{% endif %}>
{% elif q.type == 'decimal' %}<input id="q-{{ q.path }}" name="{{ q.name }}" type="number" step="any" inputmode="decimal" autocomplete="off"{% if req %} aria-required="true"{% endif %}>
{% elif q.type == 'date' %}<input id="q-{{ q.path }}" name="{{ q.name }}" type="date" autocomplete="off"{% if req %} aria-required="true"{% endif %}>
{% else %}<input id="q-{{ q.path }}" name="{{ q.name }}" type="text" autocomplete="off" autocapitalize="off" spellcheck="false"{% if req %} aria-required="true"{% endif %}>
{% endif %}<p class="err" role="alert" hidden></p>
</div>
{%- endif -%}
{%- endmacro %}
{% macro node(n) -%}
{%- if n.group is defined -%}
<fieldset class="group" data-group="{{ n.group }}"><legend>{{ n.label }}</legend>
{% for child in n.children %}{{ node(child) }}
{% endfor %}</fieldset>
{%- else -%}{{ question(n.question) }}{%- endif -%}
{%- endmacro %}
<form id="qp-form" autocomplete="off" novalidate>
{% for n in tree %}{{ node(n) }}
{% endfor %}
<div class="actions"><button type="submit">{{ text(submit_labels, 'Submit') }}</button>
<p id="qp-status" role="status" aria-live="polite"></p></div>
</form>
</main>
</body>
</html>
"""


def _code(language: str | None) -> str:
    if not language:
        return ""
    m = re.search(r"\(([A-Za-z]{2,3}(?:-[A-Za-z0-9]+)?)\)\s*$", language)
    if m:
        return m.group(1).lower()
    return _KNOWN_CODES.get(language.strip().lower(), "")


def _lang_name(language: str) -> str:
    if language == "default":
        return "Default"
    return re.sub(r"\s*\([^)]*\)\s*$", "", language) or language


def _tree(questions: tuple[Question, ...]) -> list[dict]:
    """Nest questions by their group path (form order kept; a group reopened later is a new fieldset)."""
    top: list[dict] = []
    stack: list[tuple[tuple[str, ...], list[dict]]] = [((), top)]
    for q in questions:
        if q.type not in _INPUT_TYPES and q.type != "note":
            continue
        while stack[-1][0] != q.group[: len(stack[-1][0])]:
            stack.pop()
        while len(stack[-1][0]) < len(q.group):
            path = q.group[: len(stack[-1][0]) + 1]
            node = {"group": "/".join(path), "label": path[-1].replace("_", " ").capitalize(), "children": []}
            stack[-1][1].append(node)
            stack.append((path, node["children"]))
        stack[-1][1].append({"question": q})
    return top


def _environment():
    try:
        import jinja2
    except ImportError as exc:  # pragma: no cover - jinja2 is a dependency of the web form
        raise CollectError("the web form needs Jinja2 (pip install jinja2)") from exc
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=False)
    return env.from_string(_TEMPLATE)


def _check_public_key(public_key_b64: str) -> str:
    try:
        raw = base64.b64decode(public_key_b64, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise CollectError("the study public key must be standard base64") from None
    if len(raw) != 32:
        raise CollectError(f"the study public key must be 32 bytes, got {len(raw)}")
    return base64.b64encode(raw).decode("ascii")


def render_form(instrument: Instrument, public_key_b64: str) -> str:
    """The form page for ``instrument`` (HTML text; holds no answer and no token)."""
    public_key = _check_public_key(public_key_b64)
    languages = list(instrument.languages) or ["default"]
    default = instrument.default_language or languages[0]
    submit_labels = {}
    for lang in languages:
        submit_labels[lang] = "제출" if _code(lang) == "ko" else "Submit"
    return _environment().render(
        instrument=instrument,
        public_key=public_key,
        languages=languages,
        default=default,
        tree=_tree(instrument.questions),
        choices=lambda q: instrument.choices.get(q.list_name or "", ()),
        code=_code,
        lang_name=_lang_name,
        submit_labels=submit_labels,
    )


def add_form_routes(app, instruments: Mapping[str, Instrument], public_key_b64: str) -> None:
    """Add ``/f/{form_id}``, ``/static/...`` and ``/sw.js`` to ``app`` (see the module docstring).

    Pages are rendered once, here: a broken form or key fails at start-up, not at a respondent.
    """
    pages = {form_id: render_form(inst, public_key_b64) for form_id, inst in instruments.items()}

    async def form_page(request: Request) -> Response:
        page = pages.get(request.path_params["form_id"])
        if page is None:
            raise HTTPException(404)
        return HTMLResponse(page)

    async def service_worker(request: Request) -> Response:
        return FileResponse(STATIC_DIR / "sw.js", media_type="text/javascript")

    app.router.routes.extend(
        [
            Route("/f/{form_id}", form_page, methods=["GET"]),
            Route("/sw.js", service_worker, methods=["GET"]),
            Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        ]
    )


# ---- what the browser form can run -------------------------------------------------------------

_BROWSER_FUNCTIONS = {"selected", "count-selected", "not", "true", "false"}
_BROWSER_OPS = {"=", "!=", "<", "<=", ">", ">=", "and", "or"}


def browser_unsupported(instrument: Instrument) -> list[str]:
    """Questions whose skip logic or checks the browser form cannot evaluate (calculations such as a
    device-side random draw, arithmetic, other functions). A form with any of these must not be
    fielded with the browser form: its questions would be shown to everyone, which can defeat a
    list experiment or a randomized-response item."""
    from ..instrument.xpath import Binary, Call, Current, Number, Ref, String, parse

    calculated = {q.name for q in instrument.questions if q.type == "calculate"}
    problems: list[str] = []
    for q in instrument.questions:
        for kind, text in (("relevant", q.relevant), ("constraint", q.constraint),
                           *(("group relevant", g) for g in q.group_relevant if g),
                           ("required", q.required if isinstance(q.required, str) else None)):
            if not text:
                continue
            try:
                stack = [parse(text)]
            except Exception as exc:  # noqa: BLE001 - any parse failure is a reason to refuse
                problems.append(f"{q.name} ({kind}): {exc}")
                continue
            while stack:
                n = stack.pop()
                if isinstance(n, Ref) and n.name in calculated:
                    problems.append(f"{q.name} ({kind}) depends on the calculation ${{{n.name}}}")
                elif isinstance(n, Binary):
                    if n.op not in _BROWSER_OPS:
                        problems.append(f"{q.name} ({kind}) uses '{n.op}'")
                    stack.extend((n.left, n.right))
                elif isinstance(n, Call):
                    if n.name not in _BROWSER_FUNCTIONS:
                        problems.append(f"{q.name} ({kind}) uses {n.name}()")
                    stack.extend(n.args)
                elif not isinstance(n, (Ref, Current, Number, String)):
                    problems.append(f"{q.name} ({kind}) uses {type(n).__name__.lower()} expressions")
    return problems
