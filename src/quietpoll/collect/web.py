# ruff: noqa: E501  (the HTML template and the markdown form are kept one element / one row per line)
"""The offline web form: server-rendered XLSForm pages, the browser bundle and the service worker.

``add_form_routes(app, instruments, public_key_b64, store=..., disguise=...)`` adds to an app from
:func:`quietpoll.collect.app.create_app` the routes of :mod:`quietpoll.collect.shell`: the neutral
shell ``/f/ROUTE`` (an opaque route id, never the form id: see :mod:`quietpoll.collect.shell`; PIN,
enrolment state, quick wipe; no questionnaire), the one-time enrolment
exchange ``/f/ROUTE/enrol``, the questionnaire ``/f/ROUTE/questionnaire`` (bearer token
only), the disguise's manifest and icon, the bundle under ``/static/`` and the service worker
``/sw.js`` (registered as ``/sw.js?v=VERSION``, VERSION a hash of every questionnaire and of the
bundle, so a new form version or bundle installs a new worker whose cache replaces the old one).

The questionnaire rendered here (Jinja2, autoescaped) has one input per question with ``name`` = the
question name (radio buttons inside a repeat instance: ``name[N]``, so instances do not share one
radio group), groups as fieldsets, repeats as a ``<template>`` with add/remove buttons, labels in
every language with a switch, and the expressions in ``data-relevant`` / ``data-constraint`` /
``data-required`` / ``data-calculate`` / ``data-choice-filter`` for the script. Calculations are
empty hidden elements: their values live only in the script's memory (and in the draft encrypted
under the PIN key). No inline script or style: the configuration is in ``data-`` attributes, so the
app's CSP (``script-src 'self'``) holds. :func:`render_form` gives the whole page as an unlocked
browser shows it (shell and questionnaire), for tests and tools.

The page never contains an answer or a token; the browser seals the answers (HPKE, exactly as
:mod:`quietpoll.collect.envelope`) before anything is stored or sent. Repeats are sealed as a list of
objects under the repeat's name (``{"members": [{"age": 34, ...}, ...]}``); ``pull`` writes each
repeat as a linked table (``OUT-members.csv`` with ``PARENT_KEY`` / ``KEY`` / ``SET-OF-members``, as
``import-odk``). Calculations are sealed with the answers (numbers as JSON numbers), except device-only ones.

Uniform envelopes and device-only fields: the page carries the form's envelope size
(``data-envelope-size``, :func:`quietpoll.collect.sizing.envelope_size`) and text cap
(``data-text-max``; text inputs also get ``maxlength``); the script pads every submission of the form to
exactly that size and refuses a text answer over the cap. A field marked ``bind::quietpoll:device-only``
carries ``data-device-only="true"``: the script evaluates it but never seals it. A device-only note (a
private instruction) is hidden for good, for the rest of the interview, once the first question after
it that is not device-only has an answer.

Also from the form: a question's static ``default`` is the input's initial value (``value`` /
``checked``, so a new interview and each new repeat instance start from it); ``read_only`` questions
are shown but cannot be edited (``readonly``, or ``disabled`` for radio buttons and check boxes; an
expression in ``data-read-only`` is evaluated live); a ``calculation`` on a question with an input is
written into the input whenever its result changes; a repeat with a ``repeat_count``
(``data-repeat-count``) has no add/remove buttons and holds exactly that many instances (more than 500:
an error on the repeat blocks submitting);
a ``choice_filter`` may read any column of the choices sheet (``province=${prov}``): each choice's
other columns are in ``data-choice-data`` (JSON) when its question has a filter.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from typing import Any
from pathlib import Path

from quietpoll.errors import CollectError
from quietpoll.instrument.form import Instrument, Question

from .sizing import TEXT_MAX_BYTES, envelope_size

__all__ = [
    "add_form_routes",
    "render_form",
    "bundle_digest_hex",
    "browser_unsupported",
    "BROWSER_FUNCTIONS",
    "STATIC_DIR",
]

STATIC_DIR = Path(__file__).with_name("static")

#: Question types rendered as inputs.
_INPUT_TYPES = {"select_one", "select_multiple", "integer", "decimal", "text", "date"}
#: Metadata the browser fills (inside the sealed answers only): start/end (ISO date-time, UTC), today.
_META_FILLED = {"start", "end", "today"}
#: Metadata the browser leaves empty on purpose: they would identify the device or the interviewer.
_META_EMPTY = {"deviceid", "subscriberid", "simserial", "phonenumber", "username", "email", "audit"}
#: Every type the page renders (and so fills): inputs, notes, calculations, filled metadata.
_RENDERED = _INPUT_TYPES | _META_FILLED | {"note", "calculate"}
_KNOWN_CODES = {"english": "en", "korean": "ko", "한국어": "ko"}

_TEMPLATE = """<div id="qp-questionnaire" data-form-id="{{ instrument.form_id }}" data-form-version="{{ instrument.version or '' }}" data-default-lang="{{ default }}" data-code="{{ code(default) or 'en' }}"
     data-envelope-size="{{ envelope_size }}" data-text-max="{{ text_max }}">
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
{%- if q.calculation %} data-calculate="{{ q.calculation }}"{% endif %}
{%- if q.choice_filter %} data-choice-filter="{{ q.choice_filter }}"{% endif %}
{%- if q.required is sameas true %} data-required="true"{% elif q.required %} data-required="{{ q.required }}"{% endif %}
{%- if q.read_only is sameas true %} data-read-only="true"{% elif q.read_only %} data-read-only="{{ q.read_only }}"{% endif %}
{%- if q.device_only %} data-device-only="true"{% endif %}
{%- endset -%}
{%- set ro = q.read_only is sameas true -%}
{%- set dflt = (q.default or '') if not q.default_dynamic else '' -%}
{%- set req = q.required is sameas true -%}
{%- if q.type == 'note' -%}
<div class="q note" {{ attrs }}>{{ text(q.labels, q.name) }}</div>
{%- elif q.type == 'calculate' or q.type in meta -%}
<div class="q calc" {{ attrs }} hidden></div>
{%- elif q.type in ('select_one', 'select_multiple') -%}
<fieldset class="q" {{ attrs }}>
<legend>{{ text(q.labels, q.name) }}{% if req %} <span class="req" aria-hidden="true">*</span>{% endif %}</legend>
{% if q.hints %}<div class="hint">{{ text(q.hints) }}</div>{% endif %}
{% set picked = dflt.split() %}{% for c in choices(q) %}<label class="choice" data-choice="{{ c.name }}"{% if c.data and q.choice_filter %} data-choice-data="{{ c.data|tojson|forceescape }}"{% endif %}><input type="{{ 'radio' if q.type == 'select_one' else 'checkbox' }}" name="{{ q.name }}" value="{{ c.name }}"{% if c.name in picked %} checked{% endif %}{% if ro %} disabled{% endif %}> <span>{{ text(c.labels, c.name) }}</span></label>
{% endfor %}<p class="err" role="alert" hidden></p>
</fieldset>
{%- else -%}
<div class="q" {{ attrs }}>
<label class="label" for="q-{{ q.path }}">{{ text(q.labels, q.name) }}{% if req %} <span class="req" aria-hidden="true">*</span>{% endif %}</label>
{% if q.hints %}<div class="hint">{{ text(q.hints) }}</div>{% endif %}
{% if q.type == 'integer' %}<input id="q-{{ q.path }}" name="{{ q.name }}" type="number" step="1" inputmode="numeric" autocomplete="off"{% if dflt %} value="{{ dflt }}"{% endif %}{% if ro %} readonly{% endif %}{% if req %} aria-required="true"{% endif %}>
{% elif q.type == 'decimal' %}<input id="q-{{ q.path }}" name="{{ q.name }}" type="number" step="any" inputmode="decimal" autocomplete="off"{% if dflt %} value="{{ dflt }}"{% endif %}{% if ro %} readonly{% endif %}{% if req %} aria-required="true"{% endif %}>
{% elif q.type == 'date' %}<input id="q-{{ q.path }}" name="{{ q.name }}" type="date" autocomplete="off"{% if dflt %} value="{{ dflt }}"{% endif %}{% if ro %} readonly{% endif %}{% if req %} aria-required="true"{% endif %}>
{% else %}<input id="q-{{ q.path }}" name="{{ q.name }}" type="text" maxlength="{{ text_max }}" autocomplete="off" autocapitalize="off" spellcheck="false"{% if dflt %} value="{{ dflt }}"{% endif %}{% if ro %} readonly{% endif %}{% if req %} aria-required="true"{% endif %}>
{% endif %}<p class="err" role="alert" hidden></p>
</div>
{%- endif -%}
{%- endmacro %}
{% macro node(n) -%}
{%- if n.repeat is defined -%}
<section class="repeat" data-repeat="{{ n.repeat }}" data-group="{{ n.group }}"{% if n.relevant %} data-group-relevant="{{ n.relevant|tojson|forceescape }}"{% endif %}{% if n.count %} data-repeat-count="{{ n.count }}"{% endif %}>
<h2>{{ text(n.labels, n.label) }}</h2>
<div class="instances"></div>
<template><fieldset class="instance" data-instance="{{ n.repeat }}"><legend>{{ text(n.labels, n.label) }}</legend>
{% for child in n.children %}{{ node(child) }}
{% endfor %}{% if not n.count %}<button type="button" class="remove" data-remove>{{ text(button_labels.remove, 'Remove') }}</button>
{% endif %}</fieldset></template>
{% if not n.count %}<button type="button" class="add" data-add>{{ text(button_labels.add, 'Add') }}</button>{% else %}<p class="err" role="alert" hidden></p>{% endif %}
</section>
{%- elif n.group is defined -%}
<fieldset class="group" data-group="{{ n.group }}"><legend>{{ text(n.labels, n.label) }}</legend>
{% for child in n.children %}{{ node(child) }}
{% endfor %}</fieldset>
{%- else -%}{{ question(n.question) }}{%- endif -%}
{%- endmacro %}
<form id="qp-form" autocomplete="off" novalidate>
{% for n in tree %}{{ node(n) }}
{% endfor %}
<div class="actions"><button type="submit">{{ text(button_labels.submit, 'Submit') }}</button>
</div>
</form>
</div>
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


def _tree(
    questions: tuple[Question, ...],
    repeats: tuple[str, ...],
    counts: Mapping[str, str] | None = None,
    labels: Mapping[str, Mapping[str, str]] | None = None,
) -> list[dict]:
    """Nest questions by their group path (form order kept; a group reopened later is a new fieldset).
    A path element that is a repeat becomes a repeat node; its ``relevant`` is the group relevance
    its questions share (the repeat's own and its enclosing groups')."""
    top: list[dict] = []
    stack: list[tuple[tuple[str, ...], list[dict], dict | None]] = [((), top, None)]
    repeat_names = set(repeats)
    for q in questions:
        if q.type not in _RENDERED or (q.type == "calculate" and not q.calculation):
            continue
        while stack[-1][0] != q.group[: len(stack[-1][0])]:
            stack.pop()
        while len(stack[-1][0]) < len(q.group):
            path = q.group[: len(stack[-1][0]) + 1]
            node: dict[str, Any] = {
                "group": "/".join(path),
                "labels": (labels or {}).get("/".join(path)) or {},
                "label": path[-1].replace("_", " ").capitalize(),
                "children": [],
            }
            if path[-1] in repeat_names:
                node["repeat"] = path[-1]
                node["relevant"] = None
                node["count"] = (counts or {}).get(path[-1])
            stack[-1][1].append(node)
            stack.append((path, node["children"], node))
        for _, _, open_node in stack[1:]:
            if open_node is not None and "repeat" in open_node:
                shared = list(q.group_relevant)
                if open_node["relevant"] is not None:
                    common = open_node["relevant"]
                    n = 0
                    while n < min(len(common), len(shared)) and common[n] == shared[n]:
                        n += 1
                    shared = common[:n]
                open_node["relevant"] = shared
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


def _bundle_digest() -> bytes:
    digest = hashlib.sha256()
    for name in ("form.js", "form.css", "sw.js"):
        path = STATIC_DIR / name
        digest.update(path.read_bytes() if path.is_file() else b"")
    return digest.digest()


def _render(instrument: Instrument, text_max: int = TEXT_MAX_BYTES) -> str:
    """The questionnaire (header and form): served only to enrolled browsers (bearer token). It carries
    the form's envelope size and text cap (:mod:`quietpoll.collect.sizing`)."""
    languages = list(instrument.languages) or ["default"]
    default = instrument.default_language or languages[0]
    words = {"submit": ("Submit", "제출"), "add": ("Add", "추가"), "remove": ("Remove", "삭제")}
    button_labels = {
        key: {lang: (ko if _code(lang) == "ko" else en) for lang in languages} for key, (en, ko) in words.items()
    }
    return _environment().render(
        instrument=instrument,
        languages=languages,
        default=default,
        tree=_tree(instrument.questions, instrument.repeats, instrument.repeat_counts, instrument.group_labels),
        choices=lambda q: instrument.choices.get(q.list_name or "", ()),
        code=_code,
        lang_name=_lang_name,
        button_labels=button_labels,
        meta=_META_FILLED,
        envelope_size=envelope_size(instrument, text_max),
        text_max=text_max,
    )


def _version(pages: list[str]) -> str:
    digest = hashlib.sha256(_bundle_digest())
    for page in pages:
        digest.update(hashlib.sha256(page.encode("utf-8")).digest())
    return digest.hexdigest()[:16]


def bundle_digest_hex() -> str:
    """SHA-256 (hex) of the served bundle (form.js, form.css, sw.js): what an enrolled browser pins."""
    return hashlib.sha256(_bundle_digest()).hexdigest()


def render_form(
    instrument: Instrument,
    public_key_b64: str,
    *,
    sw_version: str | None = None,
    disguise=None,
    text_max_bytes: int = TEXT_MAX_BYTES,
) -> str:
    """The whole page as an enrolled browser shows it once unlocked: the neutral shell of
    :mod:`quietpoll.collect.shell` with the questionnaire inside (HTML text; holds no answer and no
    token). The server never sends this page: it sends the shell, and the questionnaire only to a
    bearer token. ``sw_version`` (default: a hash of the page and the bundle) names the service
    worker's cache; ``text_max_bytes`` is the form's text cap (:mod:`quietpoll.collect.sizing`)."""
    from .shell import render_shell

    public_key = _check_public_key(public_key_b64)
    fragment = _render(instrument, text_max_bytes)
    if sw_version is None:
        sw_version = _version([fragment])
    return render_shell(
        instrument.form_id,
        public_key,
        bundle_digest_hex(),
        sw_version,
        disguise,
        _code(instrument.default_language or (list(instrument.languages) or [""])[0]),
        fragment,
    )


def add_form_routes(
    app,
    instruments: Mapping[str, Instrument],
    public_key_b64: str,
    store=None,
    disguise=None,
    *,
    text_max_bytes: int = TEXT_MAX_BYTES,
) -> None:
    """Add the browser form's routes to ``app`` (see :mod:`quietpoll.collect.shell`): the neutral
    shell ``/f/ROUTE``, ``/f/ROUTE/enrol``, ``/f/ROUTE/questionnaire`` (both need
    ``store``), ``/manifest.webmanifest``, ``/icon``, ``/static/...`` and ``/sw.js``. ``text_max_bytes``: the text
    cap of every form (it sets the forms' envelope sizes; give ``create_app`` the same sizes, see
    :func:`quietpoll.collect.sizing.envelope_size`).

    Pages are rendered once, here: a broken form or key fails at start-up, not at a respondent. One
    version (a hash of every questionnaire and of the bundle) names the service worker's cache.
    ``disguise``: a :class:`quietpoll.collect.shell.Disguise` (default: neutral title, name, icon).
    """
    from .shell import form_routes, shell_routes

    public_key = _check_public_key(public_key_b64)
    fragments = {form_id: _render(inst, text_max_bytes) for form_id, inst in instruments.items()}
    version = _version([fragments[k] for k in sorted(fragments)])
    codes = {
        form_id: _code(inst.default_language or (list(inst.languages) or [""])[0])
        for form_id, inst in instruments.items()
    }
    routes_by_id = form_routes(fragments, store)
    # the page knows its form by route id only (its outbox, its storage names): the API maps it back
    if hasattr(app.state, "form_routes"):
        app.state.form_routes.update({r: f for r, f in routes_by_id.items() if r != f})
    app.router.routes.extend(
        shell_routes(
            fragments, codes, public_key, bundle_digest_hex(), version, store, disguise, STATIC_DIR, routes_by_id
        )
    )


# ---- what the browser form can run -------------------------------------------------------------

#: Functions web/src/expr.js implements, with their (min, max) argument counts (max None: any);
#: tests/browser/test_expr_crosscheck.py checks this table against the bundle's.
BROWSER_FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "selected": (2, 2),
    "count-selected": (1, 1),
    "selected-at": (2, 2),
    "string-length": (1, 1),
    "regex": (2, 2),
    "if": (3, 3),
    "coalesce": (2, 2),
    "concat": (0, None),
    "contains": (2, 2),
    "starts-with": (2, 2),
    "ends-with": (2, 2),
    "substr": (2, 3),
    "string": (1, 1),
    "number": (1, 1),
    "int": (1, 1),
    "round": (1, 2),
    "floor": (1, 1),
    "ceiling": (1, 1),
    "abs": (1, 1),
    "pow": (2, 2),
    "min": (1, None),
    "max": (1, None),
    "boolean": (1, 1),
    "not": (1, 1),
    "true": (0, 0),
    "false": (0, 0),
    "today": (0, 0),
    "now": (0, 0),
    "once": (1, 1),
    "random": (0, 0),
}


def _expressions(q: Question) -> list[tuple[str, str]]:
    out = [
        ("relevant", q.relevant),
        ("constraint", q.constraint),
        ("required", q.required if isinstance(q.required, str) else None),
        ("calculation", q.calculation),
        ("choice_filter", q.choice_filter),
        ("read_only", q.read_only if isinstance(q.read_only, str) else None),
    ]
    out += [("group relevant", g) for g in q.group_relevant]
    return [(kind, text) for kind, text in out if text]


def _check_expression(
    q: Question, kind: str, text: str, questions: Mapping[str, Question], choice_columns: frozenset[str] = frozenset()
) -> list[str]:
    """Why the browser cannot evaluate ``text`` (of question ``q``) exactly as the Python evaluator.
    ``choice_columns``: the columns of ``q``'s choice list a choice_filter may read besides ``name``."""
    from ..instrument.xpath import Binary, Call, Current, Negate, Number, Path, Ref, String, parse

    where = f"{q.name} ({kind})"
    try:
        tree = parse(text)
    except Exception as exc:  # noqa: BLE001 - any parse failure is a reason to refuse
        return [f"{where}: {exc}"]
    problems: list[str] = []

    def ref(name: str) -> None:
        target = questions.get(name)
        if target is None:
            problems.append(f"{where} refers to ${{{name}}}, which is no question of the form")
        elif target.type not in _RENDERED or (target.type == "calculate" and not target.calculation):
            problems.append(f"{where} reads ${{{name}}} (type {target.type}), which the browser form leaves empty")
        elif target.type == "end":
            problems.append(f"{where} reads ${{{name}}} (end), which is only known when the interview is sealed")
        elif target.repeat is not None and target.repeat not in q.group:
            problems.append(f"{where} reads ${{{name}}} inside the repeat '{target.repeat}' from outside it")

    stack: list[tuple[object, object]] = [(tree, None)]
    while stack:
        n, parent = stack.pop()
        if isinstance(n, Ref):
            ref(n.name)
        elif isinstance(n, Binary):
            stack.extend(((n.left, n), (n.right, n)))
        elif isinstance(n, Negate):
            stack.append((n.operand, n))
        elif isinstance(n, Call):
            arity = BROWSER_FUNCTIONS.get(n.name)
            if arity is None:
                problems.append(f"{where} uses {n.name}(), which the browser form does not implement")
                continue
            lo, hi = arity
            if len(n.args) < lo or (hi is not None and len(n.args) > hi):
                problems.append(f"{where} calls {n.name}() with {len(n.args)} argument(s)")
            if n.name == "random" and not (
                kind == "calculation" and isinstance(parent, Call) and parent.name == "once"
            ):
                problems.append(f"{where} uses random() outside once(): write once(random()) in a calculation")
            if n.name == "regex" and len(n.args) == 2:
                pattern = n.args[1]
                if not isinstance(pattern, String):
                    problems.append(f"{where} uses regex() with a pattern that is not a literal string")
                else:
                    try:
                        re.compile(pattern.value)
                    except re.error as exc:
                        problems.append(f"{where} uses the invalid regex() pattern {pattern.value!r} ({exc})")
            stack.extend((a, n) for a in n.args)
        elif isinstance(n, Path):
            simple = n.start is None and not n.absolute and not n.predicates
            if simple and len(n.steps) == 2 and n.steps[0] == ".." and n.steps[1][:1] not in ("@", "*", "."):
                ref(n.steps[1])
            elif simple and kind == "choice_filter" and len(n.steps) == 1 and n.steps[0] == "name":
                pass  # the choice's name
            elif simple and kind == "choice_filter" and len(n.steps) == 1 and n.steps[0] in choice_columns:
                pass  # a column of the choices sheet (e.g. province=${prov})
            elif simple and kind == "choice_filter" and len(n.steps) == 1 and n.steps[0][:1] not in ("@", "*", "."):
                problems.append(
                    f"{where} reads the column {n.steps[0]!r}, which the choice list {q.list_name!r} does not have "
                    "(add the column to the choices sheet, or write ${...} for a question)"
                )
            else:
                what = "a column of the choices sheet other than name" if kind == "choice_filter" else "an XPath path"
                problems.append(f"{where} uses {what}, which the browser form does not read")
        elif not isinstance(n, (Current, Number, String)):
            problems.append(f"{where} uses {type(n).__name__.lower()} expressions")
    return problems


_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _default_problems(q: Question, instrument: Instrument) -> list[str]:
    """Why the browser cannot prefill ``q`` with its default exactly as the form says."""
    import datetime as _dt

    if not q.default:
        return []
    where = f"{q.name} (default {q.default!r})"
    if q.default_dynamic:
        return [
            f"{where}: a default computed when the form first loads is not run by the browser form; "
            "write a calculation instead"
        ]
    if q.type not in _INPUT_TYPES:
        return [f"{where}: a default on a {q.type} question is not filled by the browser form"]
    if q.type in ("select_one", "select_multiple"):
        names = {c.name for c in instrument.choices.get(q.list_name or "", ())}
        picked = q.default.split()
        unknown = [p for p in picked if p not in names]
        if unknown or (q.type == "select_one" and len(picked) != 1):
            return [f"{where} is not a choice of the list {q.list_name!r}"]
    elif q.type == "integer" and not re.fullmatch(r"[-+]?\d+", q.default):
        return [f"{where} is not a whole number"]
    elif q.type == "decimal":
        try:
            float(q.default)
        except ValueError:
            return [f"{where} is not a number"]
    elif q.type == "date":
        try:
            ok = bool(_DATE_RE.match(q.default)) and _dt.date.fromisoformat(q.default) is not None
        except ValueError:
            ok = False
        if not ok:
            return [f"{where} is not a date written YYYY-MM-DD"]
    return []


def _repeat_count_problems(
    instrument: Instrument, repeat: str, count: str, questions: Mapping[str, Question]
) -> list[str]:
    """Why the browser cannot fix the number of instances of ``repeat`` by its repeat_count."""
    inside = [q for q in instrument.questions if q.repeat == repeat or repeat in q.group]
    if not inside:
        return []
    group = inside[0].group[: inside[0].group.index(repeat)] if repeat in inside[0].group else ()
    host = Question(name=repeat, type="repeat", group=group)
    return _check_expression(host, "repeat_count", count, questions)


def _calculation_cycle(instrument: Instrument) -> list[str] | None:
    from ..instrument.xpath import parse, references

    deps: dict[str, set[str]] = {}
    calculated = {q.name for q in instrument.questions if q.calculation}
    for q in instrument.questions:
        if q.name in calculated and q.calculation:
            try:
                deps[q.name] = references(parse(q.calculation)) & calculated
            except Exception:  # noqa: BLE001 - reported by _check_expression
                deps[q.name] = set()
    state: dict[str, int] = {}
    for start in deps:
        if state.get(start):
            continue
        path = [start]
        iters = [iter(sorted(deps[start]))]
        state[start] = 1
        while iters:
            nxt = next(iters[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                iters.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                iters.append(iter(sorted(deps[nxt])))
    return None


def browser_unsupported(instrument: Instrument) -> list[str]:
    """What the browser form cannot run exactly as the form says, one line each (empty: it can).

    Refused: question types the page has no input for (geopoint, media, time, range, ...); functions
    web/src/expr.js does not implement (:data:`BROWSER_FUNCTIONS`) or called with the wrong number of
    arguments; ``random()`` anywhere but ``once(random())`` in a calculation; XPath paths other than
    ``../name`` (and, in a choice_filter, ``name`` or another column of the choices sheet); references to names that are no question, or into a
    repeat from outside it; a regex() pattern that is not a valid literal; calculations that depend on
    each other in a circle; a choice_filter reading a column its choice list does not have; a
    ``default`` computed at first load (an expression: write a calculation), a default on a question
    with no input, or one that is not a choice of the list / a whole number / a number / a
    YYYY-MM-DD date as the type needs; a ``read_only`` or ``repeat_count`` expression with any of the
    problems above (a repeat_count may not read the repeat's own questions). A form with any of these
    must not be fielded with the browser form: a
    question whose relevance cannot be evaluated would be shown to everyone, which can defeat a list
    experiment or a randomized-response item. The metadata deviceid, subscriberid, simserial,
    phonenumber, username, email and audit are accepted and left empty on purpose (they identify).
    """
    questions: dict[str, Question] = {}
    for q in instrument.questions:
        questions.setdefault(q.name, q)
    problems: list[str] = []
    for q in instrument.questions:
        if q.type not in _RENDERED and q.type not in _META_EMPTY:
            problems.append(f"{q.name} (type {q.type}): the browser form has no input for this type")
            continue
        columns: frozenset[str] = frozenset()
        if q.choice_filter:
            columns = frozenset(k for c in instrument.choices.get(q.list_name or "", ()) for k in c.data)
        for kind, text in _expressions(q):
            problems.extend(_check_expression(q, kind, text, questions, columns))
        problems.extend(_default_problems(q, instrument))
    for repeat, count in instrument.repeat_counts.items():
        problems.extend(_repeat_count_problems(instrument, repeat, count, questions))
    cycle = _calculation_cycle(instrument)
    if cycle:
        problems.append("the calculations " + " -> ".join(cycle) + " depend on each other in a circle")
    return problems
