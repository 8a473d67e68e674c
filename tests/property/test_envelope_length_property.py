"""Uniform envelopes, as a property: every submission of a form, whatever answer path it took, seals
to the same ciphertext length (hypothesis).

An answer path is any subset of the form's sealed fields (every combination of relevant branches is
one of them), each with any value its type allows: a choice of select_one, any subset of a
select_multiple, numbers of every magnitude (JSON text up to 24 characters), text up to the form's
cap in every script (Latin, Korean, emoji, quotes and control characters, which JSON escapes), dates,
calculations as the form computes them, repeats from 0 to their count. Forms: the foreign-media
template (list experiment and randomized response; no text, no repeats) and a small form with text,
a text-valued calculation and a counted repeat. All answers are synthetic.
"""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quietpoll.collect.envelope import open_sealed, seal
from quietpoll.collect.sizing import TEXT_MAX_BYTES, envelope_size, text_bytes
from quietpoll.instrument.form import load_instrument

REPO = Path(__file__).parents[2]
TEMPLATE = load_instrument(REPO / "src" / "quietpoll" / "instrument" / "templates" / "foreign-media.xlsx")
KEY = X25519PrivateKey.generate()
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEALED = {"select_one", "select_multiple", "integer", "decimal", "text", "date", "calculate", "start", "end", "today"}

SMALL_MD = """| survey |
|  | type | name | label | calculation | repeat_count | bind::quietpoll:device-only |
|  | select_one yn | a | A | | | |
|  | select_multiple many | b | B | | | |
|  | decimal | x | X | | | |
|  | text | t | T | | | |
|  | date | d | D | | | |
|  | calculate | spin | | once(random()) | | yes |
|  | calculate | both | | concat(${a}, '-', ${b}) | | |
|  | begin_repeat | kids | Kids | | 3 | |
|  | text | kname | Name | | | |
|  | select_multiple many | kb | B | | | |
|  | end_repeat | | | | | |
| choices |
|  | list_name | name | label |
|  | yn | yes | Yes |
|  | yn | no | No |
|  | many | alpha | Alpha |
|  | many | beta | Beta |
|  | many | gamma_longest | Gamma |
| settings |
|  | form_id | namespaces |
|  | small | quietpoll="urn:quietpoll:xforms" |
"""

# text in every script, and the characters JSON writes longest (\u0001: 6 bytes, emoji: 4 bytes)
CHARS = st.one_of(
    st.characters(codec="utf-8", exclude_categories=("Cs",)),
    st.sampled_from(["가", "힣", "\U0001f600", "\x01", '"', "\\", "a"]),
)


def _fit(text: str, cap: int) -> str:
    """``text`` cut to at most ``cap`` bytes as a JSON string body (what the browser lets through)."""
    while text_bytes(text) > cap:
        text = text[: max(0, len(text) - max(1, (text_bytes(text) - cap) // 6))]
    return text


def _texts(cap: int):
    longest = st.sampled_from(["가", "\x01", "\U0001f600", "x"]).map(lambda c: _fit(c * cap, cap))
    return st.one_of(longest, st.text(CHARS, max_size=cap).map(lambda t: _fit(t, cap)))


NUMBERS = st.one_of(
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([-1.2345678901234567e-308, -0.000001234567890123456, -123456789012345680000.0]),
)
ISO = st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z")
DATES = st.one_of(st.dates().map(lambda d: d.isoformat()), st.just("275760-09-13"))


def _value(draw, instrument, q, cap):
    names = [c.name for c in instrument.choices.get(q.list_name or "", ())]
    if q.type == "select_one":
        return draw(st.sampled_from(names))
    if q.type == "select_multiple":
        picked = draw(st.sets(st.sampled_from(names), min_size=1))
        return " ".join(n for n in names if n in picked)
    if q.type in ("integer", "decimal"):
        return draw(NUMBERS)
    if q.type == "text":
        return draw(_texts(cap))
    if q.type in ("start", "end"):
        return draw(ISO)
    if q.type in ("date", "today"):
        return draw(DATES)
    raise AssertionError(f"no generator for {q.type}")


def _sealed(instrument, repeat):
    return [
        q
        for q in instrument.questions
        if q.repeat == repeat
        and q.type in SEALED
        and not q.device_only
        and not (q.type == "calculate" and not q.calculation)
    ]


@st.composite
def interviews(draw, instrument, calculations, cap=TEXT_MAX_BYTES):
    """One interview's sealed answers, as web/src/form.js builds them, along a random answer path."""
    out: dict = {}
    for q in _sealed(instrument, None):
        if q.type == "calculate" or not draw(st.booleans()):
            continue  # calculations are computed below from the answers; a field left out: a branch not taken
        out[q.name] = _value(draw, instrument, q, cap)
    for name, compute in calculations.items():
        value = compute(draw, out)
        if value is not None:
            out[name] = value
    for repeat in instrument.repeats:
        count = draw(st.integers(0, 3))
        items = []
        for _ in range(count):
            item = {
                q.name: _value(draw, instrument, q, cap)
                for q in _sealed(instrument, repeat)
                if q.type != "calculate" and draw(st.booleans())
            }
            items.append(item)
        if items:
            out[repeat] = items
    return out


TEMPLATE_CALCS = {
    "le_treat": lambda draw, out: draw(st.sampled_from([0, 1])),
    "le_count": lambda draw, out: out.get("le_count_control", out.get("le_count_treat")),
}


def _both(draw, out):
    return (out.get("a", "") + "-" + out.get("b", "")) or None


SMALL_CALCS = {"both": _both, "kids_count": lambda draw, out: 3}


def _sealed_lengths(instrument, payloads):
    size = envelope_size(instrument)
    lengths = set()
    for i, payload in enumerate(payloads):
        ciphertext = seal(KEY.public_key(), instrument.form_id, f"uuid:{i}", payload, size=size)
        assert open_sealed(KEY, instrument.form_id, f"uuid:{i}", ciphertext) == json.loads(json.dumps(payload))
        lengths.add(len(ciphertext))
    return lengths, size


@SETTINGS
@given(st.lists(interviews(TEMPLATE, TEMPLATE_CALCS), min_size=2, max_size=4))
def test_every_template_submission_has_the_same_ciphertext_length(payloads):
    lengths, size = _sealed_lengths(TEMPLATE, payloads)
    assert lengths == {((1 + 32 + size + 16) * 4 + 2) // 3}


def test_template_extremes_have_the_same_ciphertext_length():
    """Explicit corners: nothing answered (consent refused), and everything at its longest."""
    shortest = {"consent": "no"}
    longest: dict = {}
    for q in _sealed(TEMPLATE, None):
        names = [c.name for c in TEMPLATE.choices.get(q.list_name or "", ())]
        if q.type == "select_one":
            longest[q.name] = max(names, key=len)
        elif q.type == "select_multiple":
            longest[q.name] = " ".join(names)
        elif q.type in ("integer", "decimal", "calculate"):
            longest[q.name] = -1.2345678901234567e-308
        else:
            longest[q.name] = "2026-12-04T10:04:02.123Z"
    lengths, _ = _sealed_lengths(TEMPLATE, [shortest, longest])
    assert len(lengths) == 1


def _small():
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="quietpoll-small-"))
    (folder / "small.md").write_text(SMALL_MD, encoding="utf-8")
    return load_instrument(folder / "small.md")


SMALL = _small()


@SETTINGS
@given(st.lists(interviews(SMALL, SMALL_CALCS), min_size=2, max_size=4))
def test_every_small_form_submission_with_text_and_repeats_has_the_same_length(payloads):
    lengths, size = _sealed_lengths(SMALL, payloads)
    assert len(lengths) == 1
    # and the size is the form's, not a bucket chosen from the answers
    assert lengths == {((1 + 32 + size + 16) * 4 + 2) // 3}
