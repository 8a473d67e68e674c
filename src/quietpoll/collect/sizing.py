"""Uniform envelopes: the one padded size every submission of a form is sealed to.

A padded size that follows the answers tells an observer of the wire or of the store which branch an
interview took ("never watched" against "watched, many devices"). So the browser pads every submission
of a form to exactly :func:`envelope_size`: the smallest padding bucket of
:mod:`quietpoll.collect.envelope` that holds the form's **largest possible payload**
(:func:`max_payload_bytes`), the answers object exactly as web/src/form.js builds it, written as
compact JSON in UTF-8, with every field at its longest:

* every question that can be sealed is present (all branches relevant at once); device-only fields
  (``bind::quietpoll:device-only``) and notes are never sealed and count nothing;
* ``select_one``: its longest choice name; ``select_multiple``: every choice, joined by spaces;
* ``integer``, ``decimal`` and numeric calculations: :data:`NUMBER_BYTES`, the longest text of a
  JavaScript number as JSON (``-1.2345678901234567e-308``);
* ``date``: 12 characters (a six-digit year); ``start`` / ``end``: an ISO date-time with
  milliseconds; ``today``: ``YYYY-MM-DD``;
* ``text``: the form's text cap, ``text_max_bytes`` (default :data:`TEXT_MAX_BYTES`; ``quietpoll serve``
  reads it from the study file, ``[collect] text_max_bytes = 500``): the most bytes
  a text answer may take **as a JSON string body** (UTF-8, escapes counted, quotes not). The browser
  enforces the same cap (``data-text-max`` on the page): it refuses, with a message on the question, an
  answer longer than that instead of sealing a bigger envelope;
* text-valued calculations: bounded from their expression (``concat`` adds up its parts, ``if`` and
  ``coalesce`` take the longest branch, a ``${ref}`` the referenced field's bound, a literal its
  length), and never more than the text cap;
* repeats: every instance at its longest, times the largest count: a literal ``repeat_count``, else
  :data:`MAX_REPEAT_INSTANCES` (the browser form allows no more instances of any repeat).

Whatever the answers, the browser seals to exactly this size or not at all: an interview whose answers
would not fit (only possible when a text-valued calculation outgrows its bound) is refused with a
message, never sealed larger.

The size is a property of the form, computed the same way by ``serve`` (the server may refuse an
envelope of another size for that form) and by the page (``data-envelope-size``).
"""

from __future__ import annotations

import json
import math

from quietpoll.errors import CollectError
from quietpoll.instrument.form import Instrument, Question

from .envelope import BUCKETS

__all__ = [
    "TEXT_MAX_BYTES",
    "NUMBER_BYTES",
    "MAX_REPEAT_INSTANCES",
    "max_payload_bytes",
    "envelope_size",
    "text_bytes",
]

#: Default cap of one text answer (bytes of its JSON string body, UTF-8).
TEXT_MAX_BYTES = 500
#: The longest JSON text of a finite JavaScript number: ``-1.2345678901234567e-308`` is 24; 25 for safety.
NUMBER_BYTES = 25
#: The most instances of one repeat the browser form holds (web/src/form.js MAX_INSTANCES).
MAX_REPEAT_INSTANCES = 500
_BOOL_BYTES = len('"false"')
_ISO_BYTES = len('"2026-12-04T10:04:02.123Z"')
_FIXED = {"date": 12 + 2, "today": 10 + 2, "start": _ISO_BYTES, "end": _ISO_BYTES}
_NUMERIC_TYPES = frozenset({"integer", "decimal"})
_NUMERIC_FUNCS = frozenset(
    {
        "count-selected",
        "string-length",
        "number",
        "int",
        "round",
        "floor",
        "ceiling",
        "abs",
        "pow",
        "min",
        "max",
        "random",
        "today",
        "now",
    }
)
_BOOL_FUNCS = frozenset(
    {"selected", "regex", "contains", "starts-with", "ends-with", "boolean", "not", "true", "false"}
)
_SEALED_TYPES = frozenset(
    {"select_one", "select_multiple", "integer", "decimal", "text", "date", "calculate", "start", "end", "today"}
)


def text_bytes(value: str) -> int:
    """Bytes of ``value`` as a JSON string body (UTF-8, escapes counted, no quotes): what the cap limits."""
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8")) - 2


def _key_bytes(name: str) -> int:
    return len(json.dumps(name, ensure_ascii=False).encode("utf-8")) + 1  # "name":


class _Bounds:
    def __init__(self, instrument: Instrument, text_max: int) -> None:
        self.inst = instrument
        self.text_max = text_max
        self.by_name: dict[str, Question] = {}
        for q in instrument.questions:
            self.by_name.setdefault(q.name, q)
        self.memo: dict[str, int] = {}
        self.visiting: set[str] = set()

    def choices(self, q: Question) -> list[str]:
        return [c.name for c in self.inst.choices.get(q.list_name or "", ())]

    def value(self, q: Question) -> int:
        """The most bytes of ``q``'s value as sealed (JSON, quotes included)."""
        if q.type == "select_one":
            names = self.choices(q)
            return max((text_bytes(n) for n in names), default=0) + 2
        if q.type == "select_multiple":
            return text_bytes(" ".join(self.choices(q))) + 2
        if q.type in _NUMERIC_TYPES:
            return NUMBER_BYTES
        if q.type in _FIXED:
            return _FIXED[q.type]
        if q.type == "calculate":
            return self.calculation(q)
        return self.text_max + 2  # text, and anything else the page may render with a text input

    def calculation(self, q: Question) -> int:
        if q.name in self.memo:
            return self.memo[q.name]
        if q.name in self.visiting or not q.calculation:
            return self.text_max + 2
        from quietpoll.instrument.xpath import parse

        self.visiting.add(q.name)
        try:
            tree = parse(q.calculation)
            numeric, text = self.expr(tree)
        except Exception:  # noqa: BLE001 - an expression we cannot bound takes the cap
            numeric, text = False, math.inf
        finally:
            self.visiting.discard(q.name)
        bound = NUMBER_BYTES if numeric else int(min(text, self.text_max + 2))
        self.memo[q.name] = bound
        return bound

    def expr(self, n) -> tuple[bool, float]:
        """(always a number, most bytes as JSON text with quotes) of an expression's value."""
        from quietpoll.instrument.xpath import Binary, Call, Negate, Number, Ref, String

        if isinstance(n, Number):
            return True, NUMBER_BYTES
        if isinstance(n, String):
            return False, text_bytes(n.value) + 2
        if isinstance(n, Negate):
            return True, NUMBER_BYTES
        if isinstance(n, Binary):
            if n.op in ("+", "-", "*", "div", "mod"):
                return True, NUMBER_BYTES
            return False, _BOOL_BYTES
        if isinstance(n, Ref):
            target = self.by_name.get(n.name)
            if target is None:
                return False, math.inf
            if target.type in _NUMERIC_TYPES:
                return True, NUMBER_BYTES
            return False, self.value(target)
        if isinstance(n, Call):
            if n.name in _NUMERIC_FUNCS:
                return True, NUMBER_BYTES
            if n.name in _BOOL_FUNCS:
                return False, _BOOL_BYTES
            parts = [self.expr(a) for a in n.args]
            if n.name in ("once", "string", "substr") and parts:
                return (parts[0][0] and n.name == "once"), parts[0][1]
            if n.name == "if" and len(parts) == 3:
                return parts[1][0] and parts[2][0], max(parts[1][1], parts[2][1])
            if n.name == "coalesce" and parts:
                return all(p[0] for p in parts), max(p[1] for p in parts)
            if n.name == "concat":
                return False, 2 + sum(p[1] - 2 for p in parts)
            if n.name == "selected-at":
                return False, parts[0][1] if parts else math.inf
        return False, math.inf


def _sealed(q: Question) -> bool:
    return q.type in _SEALED_TYPES and not q.device_only and not (q.type == "calculate" and not q.calculation)


def max_payload_bytes(instrument: Instrument, text_max_bytes: int = TEXT_MAX_BYTES) -> int:
    """The most bytes the sealed answers of one interview of ``instrument`` can take (compact JSON,
    UTF-8), with every field at its longest (see the module docstring)."""
    if isinstance(text_max_bytes, bool) or not isinstance(text_max_bytes, int) or text_max_bytes < 1:
        raise CollectError(f"text_max_bytes must be a positive whole number of bytes, got {text_max_bytes!r}")
    bounds = _Bounds(instrument, text_max_bytes)
    counts = _repeat_counts(instrument)
    # fields per scope: the form (None) and each repeat; a name counts once per scope (the page keeps one)
    scopes: dict[str | None, dict[str, int]] = {None: {}}
    for r in instrument.repeats:
        scopes.setdefault(r, {})
    for q in instrument.questions:
        if not _sealed(q):
            continue
        fields = scopes.setdefault(q.repeat, {})
        fields[q.name] = max(fields.get(q.name, 0), _key_bytes(q.name) + bounds.value(q) + 1)  # ,
    parent = _repeat_parents(instrument)
    children: dict[str | None, list[str]] = {}
    for r in instrument.repeats:
        children.setdefault(parent.get(r), []).append(r)

    def scope_bytes(scope: str | None) -> int:
        total = 2 + sum(scopes.get(scope, {}).values())  # {} and one comma per field (one too many: fine)
        for r in children.get(scope, []):
            one = scope_bytes(r)
            total += _key_bytes(r) + 2 + counts.get(r, MAX_REPEAT_INSTANCES) * (one + 1) + 1
        return total

    return scope_bytes(None)


def _repeat_counts(instrument: Instrument) -> dict[str, int]:
    """Each repeat's largest instance count when its repeat_count is a literal (pyxform writes a literal
    as a calculate ``<repeat>_count`` holding it, referred to as ``${<repeat>_count}``)."""
    calcs = {q.name: q.calculation for q in instrument.questions if q.type == "calculate" and q.calculation}
    out: dict[str, int] = {}
    for name, text in instrument.repeat_counts.items():
        text = str(text).strip()
        if text.startswith("${") and text.endswith("}") and text[2:-1] in calcs:
            text = str(calcs[text[2:-1]]).strip()
        try:
            n = float(text)
        except ValueError:
            continue  # an expression: the browser's limit applies
        if math.isfinite(n):
            out[name] = max(0, min(MAX_REPEAT_INSTANCES, int(n)))
    return out


def _repeat_parents(instrument: Instrument) -> dict[str, str | None]:
    """Each repeat's enclosing repeat (None at the top), from the group paths of its questions."""
    names = set(instrument.repeats)
    parents: dict[str, str | None] = {}
    for q in instrument.questions:
        path = [g for g in q.group if g in names]
        for i, r in enumerate(path):
            parents.setdefault(r, path[i - 1] if i else None)
    return parents


def envelope_size(instrument: Instrument, text_max_bytes: int = TEXT_MAX_BYTES) -> int:
    """The padded size (a bucket of :data:`quietpoll.collect.envelope.BUCKETS`) every submission of
    ``instrument`` is sealed to: the smallest bucket that holds its largest payload plus the 4-byte
    length. CollectError when even the largest bucket is too small (shorten the text cap or the
    repeats' counts)."""
    need = max_payload_bytes(instrument, text_max_bytes) + 4
    for bucket in BUCKETS:
        if need <= bucket:
            return bucket
    raise CollectError(
        f"form {instrument.form_id!r}: its largest possible submission ({need - 4} bytes) exceeds the largest "
        f"envelope ({BUCKETS[-1]} bytes); lower the text cap or give its repeats a literal repeat_count"
    )
