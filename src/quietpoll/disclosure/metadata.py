"""Collection metadata in a release: which columns are dropped, which timestamps are coarsened.

With the questionnaire (an :class:`~quietpoll.instrument.form.Instrument`), columns are mapped to
questions the way :mod:`quietpoll.instrument.exports` maps Kobo/ODK exports, and the question's type
decides: the XLSForm metadata types ``start``, ``end``, ``today`` (timestamps, coarsened) and
``deviceid``, ``phonenumber``, ``simserial``, ``subscriberid``, ``username``, ``email``, ``audit``,
``start-geopoint``, ``background-audio`` (dropped); the instance id (``meta/instanceID``); answers that
locate a person (``geopoint``, ``geotrace``, ``geoshape`` and their split parts) and media answers
(``image``/``photo``, ``audio``, ``video``, ``file``, their ``_URL`` columns), dropped. Columns the
export tools add (``exports.is_meta``: ``_uuid``, ``_submission_time``, ``_submitted_by``, ``KEY``,
``SubmissionDate``, ``SubmitterName``, ``DeviceID``...) are dropped, except the submission times,
which are coarsened. Without a form the same well-known names are used, plus the plain headers
below (``start``, ``end``, ``deviceid``, ``instance_id``, ``interviewer``, ``token``...).

Coarsening keeps the month (``2026-03``) or the quarter (``2026-Q1``) of a timestamp stored as text
(ISO 8601: the date written first, in the time zone of the device) or as a date/datetime column; a
value that is not a readable date becomes missing and is counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from quietpoll.errors import DisclosureError

__all__ = ["MetaAction", "metadata_actions", "apply_metadata", "text_columns", "GRAINS"]

GRAINS = ("month", "quarter")

_TIMESTAMP_TYPES = frozenset({"start", "end", "today"})
_DROP_TYPES = {
    "deviceid": "collection metadata: device id",
    "phonenumber": "collection metadata: phone number",
    "simserial": "collection metadata: SIM serial",
    "subscriberid": "collection metadata: subscriber id",
    "username": "collection metadata: interviewer user name",
    "email": "collection metadata: interviewer e-mail",
    "audit": "collection metadata: audit log",
    "start-geopoint": "location: start geopoint",
    "background-audio": "media: background audio",
    "geopoint": "location (GPS)",
    "geotrace": "location (GPS)",
    "geoshape": "location (GPS)",
    "photo": "media file",
    "image": "media file",
    "audio": "media file",
    "video": "media file",
    "file": "media file",
}
_TEXT_TYPES = frozenset({"text"})

# export columns that are timestamps (kept as month/quarter)
_EXPORT_TIMES = frozenset({"_submission_time", "SubmissionDate", "start", "end", "today"})
# plain headers (no form, or outside the form) that are metadata; name -> reason
_PLAIN = {
    "deviceid": "collection metadata: device id",
    "device_id": "collection metadata: device id",
    "phonenumber": "collection metadata: phone number",
    "simserial": "collection metadata: SIM serial",
    "subscriberid": "collection metadata: subscriber id",
    "username": "collection metadata: interviewer user name",
    "email": "collection metadata: interviewer e-mail",
    "audit": "collection metadata: audit log",
    "instance_id": "collection metadata: instance id",
    "instanceid": "collection metadata: instance id",
    "uuid": "collection metadata: instance id",
    "interviewer": "interviewer token",
    "interviewer_id": "interviewer token",
    "enumerator": "interviewer token",
    "enumerator_id": "interviewer token",
    "token": "interviewer token",
    "token_alias": "interviewer token",
    "submitter": "interviewer token",
}
_SUBMITTER = frozenset({"_submitted_by", "SubmitterID", "SubmitterName", "_last_edited_by"})
_DEVICE = frozenset({"DeviceID"})
_INSTANCE = frozenset(
    {
        "_uuid",
        "_id",
        "KEY",
        "meta/instanceID",
        "meta-instanceID",
        "instanceID",
        "formhub/uuid",
        "meta/deprecatedID",
        "meta-deprecatedID",
        "meta/rootUuid",
    }
)


@dataclass(frozen=True)
class MetaAction:
    """``action`` is ``drop`` or ``coarsen``; ``reason`` says why (for the release report)."""

    column: str
    action: str
    reason: str


def _export_reason(column: str) -> str:
    if column in _SUBMITTER:
        return "collection metadata: submitter / interviewer"
    if column in _DEVICE:
        return "collection metadata: device id"
    if column in _INSTANCE:
        return "collection metadata: instance id"
    return "collection metadata (export column)"


def metadata_actions(columns: Sequence[str], instrument: Any = None) -> list[MetaAction]:
    """What release does with each metadata column of ``columns`` (answer columns are not listed)."""
    from quietpoll.instrument.exports import detect_format, is_meta, map_columns

    out: list[MetaAction] = []
    types: dict[str, str] = {}
    infos = {}
    if instrument is not None:
        types = {q.name: (q.type.split()[0] if q.type else "") for q in instrument.questions}
        meta_group = {q.name for q in instrument.questions if q.group[:1] == ("meta",)}
        infos = {i.column: i for i in map_columns(list(columns), instrument, detect_format(list(columns)))}
    for c in columns:
        info = infos.get(c)
        qtype = types.get(info.question, "") if info is not None and info.question else ""
        in_meta = instrument is not None and info is not None and info.question in meta_group
        if in_meta and info is not None and qtype not in _TIMESTAMP_TYPES:
            out.append(
                MetaAction(
                    c,
                    "drop",
                    "collection metadata: instance id"
                    if info.question == "instanceID"
                    else "collection metadata (form meta group)",
                )
            )
        elif qtype in _TIMESTAMP_TYPES and info is not None and info.kind == "answer":
            out.append(MetaAction(c, "coarsen", f"collection metadata: {qtype} timestamp"))
        elif qtype in _DROP_TYPES:
            out.append(MetaAction(c, "drop", _DROP_TYPES[qtype]))
        elif c in _EXPORT_TIMES:
            out.append(MetaAction(c, "coarsen", "collection metadata: timestamp"))
        elif is_meta(c) or (info is not None and info.kind == "meta"):
            out.append(MetaAction(c, "drop", _export_reason(c)))
        elif c.lower() in _PLAIN:
            out.append(MetaAction(c, "drop", _PLAIN[c.lower()]))
        elif _is_geo_part(c):
            out.append(MetaAction(c, "drop", "location (GPS)"))
    return out


def _is_geo_part(column: str) -> bool:
    low = column.lower()
    return any(
        low.endswith(sep + part)
        for sep in ("_", "-", "/")
        for part in ("latitude", "longitude", "altitude", "accuracy", "precision")
    )


def text_columns(columns: Sequence[str], instrument: Any) -> list[str]:
    """Columns holding answers to the form's ``text`` questions (free text to scrub)."""
    from quietpoll.instrument.exports import detect_format, map_columns

    types = {q.name: (q.type.split()[0] if q.type else "") for q in instrument.questions}
    infos = map_columns(list(columns), instrument, detect_format(list(columns)))
    return [i.column for i in infos if i.kind == "answer" and types.get(i.question or "") in _TEXT_TYPES]


def apply_metadata(
    frame: pl.DataFrame, actions: Sequence[MetaAction], grain: str = "month"
) -> tuple[pl.DataFrame, list[dict], list[dict]]:
    """Drop and coarsen; return the frame, the dropped entries and the coarsened entries (with the
    number of values that were not readable dates and became missing)."""
    if grain not in GRAINS:
        raise DisclosureError(f"--timestamps must be one of {', '.join(GRAINS)} (got {grain!r})")
    dropped = [{"column": a.column, "reason": a.reason} for a in actions if a.action == "drop"]
    coarsen = [a for a in actions if a.action == "coarsen"]
    exprs = []
    for a in coarsen:
        dtype = frame.schema[a.column]
        if dtype in (pl.Date,) or isinstance(dtype, pl.Datetime):
            year, month = pl.col(a.column).dt.year(), pl.col(a.column).dt.month()
        else:
            text = pl.col(a.column).cast(pl.String).str.strip_chars()
            parts = text.str.extract_groups(r"^(\d{4})-(\d{2})(?:-\d{2})?(?:[T ].*)?$")
            year = parts.struct.field("1").cast(pl.Int32, strict=False)
            month = parts.struct.field("2").cast(pl.Int32, strict=False)
            month = pl.when((month >= 1) & (month <= 12)).then(month)
        if grain == "month":
            new = pl.format("{}-{}", year, month.cast(pl.String).str.zfill(2))
        else:
            new = pl.format("{}-Q{}", year, ((month - 1) // 3 + 1))
        exprs.append(pl.when(year.is_not_null() & month.is_not_null()).then(new).alias(a.column))
    coarsened = []
    if exprs:
        before = frame.select([pl.col(a.column).is_not_null().sum() for a in coarsen]).row(0)
        frame = frame.with_columns(exprs)
        after = frame.select([pl.col(a.column).is_not_null().sum() for a in coarsen]).row(0)
        coarsened = [
            {"column": a.column, "reason": a.reason, "to": grain, "unreadable_removed": int(b - n)}
            for a, b, n in zip(coarsen, before, after)
        ]
    frame = frame.drop([d["column"] for d in dropped])
    return frame, dropped, coarsened
