"""``release``: a disclosure-controlled copy of a record-level data file, and the report of every change.

Steps, in order (each in its own module):

1. checks - unknown columns, k < 2, a column in two roles (identifier and QI, QI and free text, ...)
   -> :class:`~quietpoll.errors.DisclosureError`;
1b. sensitive designs (:mod:`.sensitive`): every randomization draw and every column computed from
   one dropped, and the list experiments' ceiling and floor rows top- and bottom-coded in the treated
   rows (unless ``sensitive_coding="none"``), so nothing published decodes a list-experiment or
   randomized-response answer; the report's ``sensitive`` section says what was done and what it
   costs the estimates;
2. direct identifiers (``identifiers``) dropped;
3. collection metadata dropped or timestamps coarsened to month/quarter (:mod:`.metadata`: from the
   form's metadata question types when a form is given, else from the export tools' names);
4. free text scrubbed (:mod:`.scrub`): e-mail, phone numbers, ID numbers, the study's names;
   by default the form's ``text`` questions, or without a form every text column that is not a QI;
5. recodes (:mod:`.recode`): bands, year bands, top-coding;
6. local suppression until k-anonymous under the wildcard rule (:mod:`.suppress`), or
   :class:`~quietpoll.errors.ReleaseRefused` (exit 3) when that would destroy the file.

:func:`release` does all this in memory and returns a :class:`Release` (the frame and the report);
:func:`publish` writes the file (``io.write_data``), checks it against the study's release log
(:mod:`.log`) and logs it. The report holds counts and column names only, never a scrubbed value.

Example (Python)::

    from quietpoll.disclosure.recode import parse_recode
    from quietpoll.disclosure.release import publish, release
    rel = release(frame, qi=["sex", "age", "province"], k=5, identifiers=["name"],
                  recodes=[parse_recode("age=bands:0,20,30,40,50,60")])
    report = publish(rel, "public.csv", study="my-study")
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from quietpoll.errors import DisclosureError

from .metadata import apply_metadata, metadata_actions, text_columns
from .recode import Recode, apply_recodes
from .risk import check_columns
from .scrub import MARKER, scrub_text
from .sensitive import SensitiveDesigns, protect
from .suppress import MAX_SHARE, MAX_SHARE_PER_QI, local_suppression, wildcard_frequencies

__all__ = ["Release", "release", "publish", "MAX_SHARE", "MAX_SHARE_PER_QI"]

# export columns that hold an instance id: the default record fingerprint for the release log
_INSTANCE_IDS = ("meta/instanceID", "meta-instanceID", "instanceID", "_uuid", "KEY", "instance_id")


@dataclass(frozen=True)
class Release:
    """A release prepared in memory: the ``frame`` to publish, its ``report`` (JSON-able), the record
    ``fingerprints`` for the release log and how they were made (``fingerprint_kind``: id | row-hash),
    and the value labels that still apply."""

    frame: pl.DataFrame
    report: dict[str, Any]
    fingerprints: pl.Series
    fingerprint_kind: str
    value_labels: dict[str, dict]


def _fingerprints(frame: pl.DataFrame, record_id: str | None) -> tuple[pl.Series, str]:
    if record_id is not None:
        col = frame.get_column(record_id)
        if col.null_count() or col.n_unique() != frame.height:
            raise DisclosureError(f"record-id column {record_id!r} must be unique and never missing")
        return col.cast(pl.String), "id"
    for name in _INSTANCE_IDS:
        if name in frame.columns:
            col = frame.get_column(name)
            if not col.null_count() and col.n_unique() == frame.height:
                return col.cast(pl.String), "id"
    h = pl.DataFrame({"a": frame.hash_rows(seed=0), "b": frame.hash_rows(seed=1)})  # 128 bits
    return h.select(pl.format("{}-{}", "a", "b")).to_series(), "row-hash"


def release(
    frame: pl.DataFrame,
    *,
    qi: Sequence[str],
    k: int,
    identifiers: Sequence[str] = (),
    instrument: Any = None,
    free_text: Sequence[str] | None = None,
    names: Sequence[str] = (),
    recodes: Sequence[Recode] = (),
    timestamps: str = "month",
    max_suppressed: float = MAX_SHARE,
    max_suppressed_per_qi: float = MAX_SHARE_PER_QI,
    importance: Sequence[str] | None = None,
    record_id: str | None = None,
    value_labels: Mapping[str, Mapping] | None = None,
    marker: str = MARKER,
    sensitive: SensitiveDesigns | None = None,
    sensitive_coding: str = "top-bottom",
) -> Release:
    """Prepare a release of ``frame`` (see the module docstring for the steps). ``free_text=None``
    picks the default free-text columns; ``()`` scrubs none. ``sensitive``: the list experiments,
    randomized-response items and draws (:func:`.sensitive.designs_from`; default: none named, but the
    form's device-only fields and draw-like columns are still dropped). Raises DisclosureError for bad input and
    ReleaseRefused when k-anonymity would cost more suppression than allowed."""
    if not isinstance(frame, pl.DataFrame):
        raise DisclosureError("release needs a polars DataFrame")
    if frame.height == 0:
        raise DisclosureError("the data have no rows")
    qi = check_columns(frame, qi, "quasi-identifier")
    if not qi:
        raise DisclosureError("no quasi-identifiers given: name at least one with --qi")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise DisclosureError(f"k must be an integer of at least 2 (got {k!r})")
    k = int(k)
    identifiers = check_columns(frame, identifiers, "identifier")
    for c in identifiers:
        if c in qi:
            raise DisclosureError(
                f"column {c!r} is both a direct identifier (dropped) and a quasi-identifier; "
                "name it in one of --identifiers and --qi"
            )
    explicit_text = free_text is not None
    free_text = check_columns(frame, free_text, "free-text")
    for c in free_text:
        if c in qi or c in identifiers:
            role = "quasi-identifier" if c in qi else "direct identifier"
            raise DisclosureError(f"column {c!r} is both free text and a {role}; name it once")
    for r in recodes:
        if r.column not in frame.columns:
            raise DisclosureError(f"recode column {r.column!r} is not in the data")
        if r.column in identifiers or r.column in free_text:
            raise DisclosureError(f"column {r.column!r} is recoded but is also an identifier or free text")
    if record_id is not None:
        check_columns(frame, [record_id], "record-id")
    fingerprints, fp_kind = _fingerprints(frame, record_id)
    n_in, m_in = frame.height, frame.width

    # sensitive designs: draws (and what is computed from them) dropped, ceilings and floors coded
    designs = sensitive if sensitive is not None else SensitiveDesigns()
    if designs.instrument is None and instrument is not None:
        designs = replace(designs, instrument=instrument)
    frame, sensitive_report = protect(frame, designs, sensitive_coding, protected=qi, ignore=identifiers)
    drawn = {d["column"] for d in sensitive_report["dropped"]}
    for c in [*(free_text or ()), *(r.column for r in recodes)]:
        if c in drawn:
            raise DisclosureError(
                f"column {c!r} is a randomization draw (or computed from one), which release "
                "drops; do not name it for scrubbing or recoding"
            )
    if record_id in drawn:
        raise DisclosureError(f"record-id column {record_id!r} is a randomization draw, which release drops")

    # metadata (identifiers named by the user win over the automatic reasons)
    actions = [a for a in metadata_actions(frame.columns, instrument) if a.column not in identifiers]
    for a in actions:
        if a.action == "drop" and a.column in qi:
            raise DisclosureError(
                f"quasi-identifier {a.column!r} is {a.reason}, which release drops; take it out of --qi"
            )
        if a.action == "drop" and any(r.column == a.column for r in recodes):
            raise DisclosureError(f"column {a.column!r} is recoded but release drops it ({a.reason})")
    k_before = int(wildcard_frequencies(frame, qi).min())
    out = frame.drop(identifiers)
    out, dropped, coarsened = apply_metadata(out, actions, timestamps)
    dropped = (
        [{"column": c, "reason": "direct identifier"} for c in identifiers]
        + [{"column": d["column"], "reason": d["reason"]} for d in sensitive_report["dropped"]]
        + dropped
    )
    for c in free_text:
        if c not in out.columns:
            raise DisclosureError(
                f"free-text column {c!r} is collection metadata that release drops; take it out of --free-text"
            )

    # free text
    touched = {d["column"] for d in coarsened} | {r.column for r in recodes}
    if not explicit_text:
        if instrument is not None:
            free_text = [c for c in text_columns(out.columns, instrument) if c not in qi]
        else:
            free_text = [c for c, t in out.schema.items() if t == pl.String and c not in qi and c not in touched]
    out, counts = scrub_text(out, free_text, names, marker=marker)
    scrubbed = {c: v for c, v in counts.items()}

    # recodes, then suppression
    out, recode_report = apply_recodes(out, recodes)
    sup = local_suppression(
        out, qi, k, importance=importance, max_share=max_suppressed, max_share_per_qi=max_suppressed_per_qi
    )
    out = sup.frame
    cells_total = n_in * len(qi)
    changed = touched | set(free_text)
    labels = {c: dict(v) for c, v in (value_labels or {}).items() if c in out.columns and c not in changed}
    report = {
        "input": {"rows": n_in, "columns": m_in},
        "output": {"rows": out.height, "columns": out.width},
        "qi": qi,
        "k": k,
        "k_before": k_before,
        "final_k": sup.final_k,
        "k_rule": "wildcard: a missing or suppressed value matches any value",
        "dropped": dropped,
        "coarsened": coarsened,
        "scrubbed": scrubbed,
        "scrub_marker": marker,
        "recodes": recode_report,
        "suppression": {
            "cells": sup.cells,
            "share": sup.cells / cells_total,
            "by_qi": sup.cells_by_qi,
            "records_touched": sup.records_touched,
            "rounds": sup.rounds,
            "order": sup.order,
            "max_suppressed": max_suppressed,
            "max_suppressed_per_qi": max_suppressed_per_qi,
            "method": "greedy local suppression (heuristic, see quietpoll.disclosure.suppress)",
        },
        "sensitive": sensitive_report,
        "warnings": [],
    }
    return Release(out, report, fingerprints, fp_kind, labels)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def publish(
    rel: Release,
    out: str | os.PathLike[str],
    *,
    study: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Write the released file with ``io.write_data`` (format by extension), check it against the study's
    release log and log it (with ``study``); return the report with ``output.file``, ``output.sha256``,
    ``warnings`` (differencing) and ``log`` (the log entry id, or null without a study)."""
    from quietpoll.io import write_data

    from . import log

    report = dict(rel.report)
    warnings = list(report.get("warnings", []))
    if study is not None:
        warnings += log.check_release(
            study, rel.fingerprints, rel.frame, report["qi"], report["k"], fingerprint_kind=rel.fingerprint_kind
        )
    write_data(rel.frame, out, rel.value_labels or None)
    digest = _sha256(Path(out))
    report["output"] = {**report["output"], "file": os.fspath(out), "sha256": digest}
    report["log"] = None
    if study is not None:
        entry = log.record_release(
            study,
            file=os.fspath(out),
            sha256=digest,
            fingerprints=rel.fingerprints,
            published=rel.frame,
            qi=report["qi"],
            k=report["k"],
            final_k=report["final_k"],
            recodes=report["recodes"],
            fingerprint_kind=rel.fingerprint_kind,
        )
        report["log"] = {"id": entry["id"], "path": os.fspath(log.log_path(study))}
    else:
        warnings.append(
            "not logged: pass --study to keep a release log, so that later releases are checked against this one"
        )
    report["warnings"] = warnings
    return report
