"""Scrubbing free text before release: e-mail addresses, phone numbers, ID-like numbers, and the names
and place names a study lists. Each match is replaced by a marker (default ``[removed]``).

Everything is polars string expressions (Rust regex), applied to whole columns: no Python loop over
rows. The counts in the report are numbers of matches per column and kind; the matched text itself
is never returned, logged or reported.

What is matched, in this order (each on the text left by the previous step):

1. ``email`` - ``local@domain.tld`` (Unicode letters allowed on both sides).
2. ``phone`` - international numbers (``+`` or ``00`` then 7 or more digits, with spaces, dots,
   hyphens or parentheses between them), grouped local numbers (``010-1234-5678``,
   ``02 123 4567``, ``(02) 123-4567``, ``555.123.4567``: 2-4, 3-4 and 4 digits), and unbroken
   mobile-number shapes (``01012345678``, ``13912345678``).
3. ``id_number`` - a run of 6 or more digits, and the grouped shapes of national ID numbers
   (``900101-1234567``, ``123-45-6789``).
4. ``name`` - each entry of the study's list (one name or place name per line; blank lines and lines
   starting with ``#`` ignored), as a whole word, case-insensitive. A Hangul entry also matches when
   a Korean particle follows it (``김철수가``, ``청진에서``); the particle is kept.

Digits are delimited by "not a digit" rather than a word boundary, so a number written straight after
Hangul (``전화01012345678``) is found. The rules err on the side of removing: a list of three years
separated by spaces has the shape of a grouped phone number and is removed too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import polars as pl

from quietpoll.errors import DisclosureError

__all__ = ["MARKER", "PATTERNS", "scrub_text", "read_names", "name_patterns"]

MARKER = "[removed]"

# Each pattern has exactly one leading capture group (the character before a number, kept) or none.
_NOT_DIGIT = r"(^|[^\d+])"
PATTERNS: dict[str, list[str]] = {
    "email": [r"[\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[A-Za-z]{2,}"],
    "phone": [
        _NOT_DIGIT + r"(?:\+|00)\d[\d\s().\-]{5,}\d",
        _NOT_DIGIT + r"\(?\d{2,4}\)?[\s.\-]\d{3,4}[\s.\-]\d{4}",
        _NOT_DIGIT + r"\(\d{2,4}\)\s?\d{3,4}",
        _NOT_DIGIT + r"(?:01\d{8,9}|1[3-9]\d{9})",
    ],
    "id_number": [
        _NOT_DIGIT + r"\d{6}[\s\-]\d{7}",
        _NOT_DIGIT + r"\d{3}[\s\-]\d{2}[\s\-]\d{4}",
        _NOT_DIGIT + r"\d{6,}",
    ],
}
_HAS_GROUP = {"email": False, "phone": True, "id_number": True}

# Korean particles (josa) that may follow a name; longest first.
_PARTICLES = sorted(
    [
        "이",
        "가",
        "은",
        "는",
        "을",
        "를",
        "의",
        "에",
        "에서",
        "에게",
        "한테",
        "께서",
        "와",
        "과",
        "도",
        "로",
        "으로",
        "랑",
        "이랑",
        "하고",
        "만",
        "까지",
        "부터",
        "씨",
        "님",
        "네",
    ],
    key=len,
    reverse=True,
)
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")


def read_names(path: str | Path) -> list[str]:
    """The study's list of names and place names: one per line, UTF-8; blank and ``#`` lines skipped."""
    p = Path(path)
    if not p.is_file():
        raise DisclosureError(f"names list {str(path)!r} not found; give a UTF-8 text file, one name per line")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DisclosureError(f"names list {str(path)!r} is not UTF-8 text") from None
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def name_patterns(names: Iterable[str]) -> list[str]:
    """Regexes for the names: Latin-script and other names as whole words; Hangul names also before a
    particle (kept through the capture group)."""
    names = sorted({n.strip() for n in names if n and n.strip()}, key=len, reverse=True)
    out = []
    plain = [_bounded(n) for n in names if not _HANGUL.search(n)]
    korean = [_bounded(n, end=False) for n in names if _HANGUL.search(n)]
    if plain:
        out.append(r"(?i)(?:" + "|".join(plain) + r")()")
    if korean:
        out.append(r"(?i)(?:" + "|".join(korean) + r")((?:" + "|".join(_PARTICLES) + r")?)\b")
    return out


def _bounded(name: str, end: bool = True) -> str:
    """The escaped name with a word boundary at each end that is a word character."""
    left = r"\b" if re.match(r"\w", name[0]) else ""
    right = r"\b" if end and re.match(r"\w", name[-1]) else ""
    return left + pl.escape_regex(name) + right


def scrub_text(
    frame: pl.DataFrame,
    columns: Sequence[str],
    names: Iterable[str] = (),
    *,
    marker: str = MARKER,
) -> tuple[pl.DataFrame, dict[str, dict[str, int]]]:
    """Scrub the free-text ``columns`` of ``frame``; return the new frame and, per column, the number
    of matches removed per kind (email, phone, id_number, name). Non-text columns are scrubbed as
    their text (a number of 6+ digits is removed, leaving text)."""
    for c in columns:
        if c not in frame.columns:
            raise DisclosureError(f"free-text column {c!r} is not in the data")
    steps: list[tuple[str, str, bool]] = [(kind, p, _HAS_GROUP[kind]) for kind, ps in PATTERNS.items() for p in ps]
    steps += [("name", p, True) for p in name_patterns(names)]
    safe_marker = marker.replace("$", "$$")
    counts: dict[str, dict[str, int]] = {c: {"email": 0, "phone": 0, "id_number": 0, "name": 0} for c in columns}
    if not columns:
        return frame, counts
    frame = frame.with_columns([pl.col(c).cast(pl.String) for c in columns])
    for kind, pattern, group in steps:
        found = frame.select([pl.col(c).str.count_matches(pattern).sum().alias(c) for c in columns]).row(0)
        hit = [c for c, m in zip(columns, found) if m]
        for c, m in zip(columns, found):
            counts[c][kind] += int(m or 0)
        if not hit:
            continue
        if kind == "name":
            repl = safe_marker + "${1}"
        else:
            repl = "${1}" + safe_marker if group else safe_marker
        frame = frame.with_columns([pl.col(c).str.replace_all(pattern, repl) for c in hit])
    return frame, counts
