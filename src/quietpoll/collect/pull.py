"""Pull: decrypt the stored submissions into a responses file, setting unusable rows aside.

:func:`pull_all` (and :func:`pull`, its row count) reads the sealed rows of a
:class:`quietpoll.collect.store.Store`, opens them with the study's private key and writes the answers
with :func:`quietpoll.io.write_data`; repeats go to linked tables. Rows that cannot be used are moved to
the store's quarantine (:mod:`quietpoll.collect.setaside`) once the good ones are written.
:func:`records_frame` is shared with :mod:`quietpoll.collect.odk`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from quietpoll.collect.envelope import drop_fields, open_sealed
from quietpoll.collect.setaside import PSEUDONYM_COLUMN, PullResult, pseudonymizer, quarantine_id
from quietpoll.errors import CollectError

if TYPE_CHECKING:
    from quietpoll.collect.store import Store

__all__ = ["pull", "pull_all", "records_frame"]


def _column(values: list) -> pl.Series | list:
    """Keep a column's type when all its values agree; otherwise text (lists space-joined, as ODK)."""
    present = [v for v in values if v is not None]
    kinds = {type(v) for v in present}
    if not present:
        return pl.Series(values, dtype=pl.String)
    if kinds == {bool}:
        return pl.Series(values, dtype=pl.Boolean)
    if kinds == {int}:
        try:
            return pl.Series(values, dtype=pl.Int64)
        except (OverflowError, pl.exceptions.PolarsError):
            pass
    if kinds <= {int, float} and kinds:
        try:
            return pl.Series([None if v is None else float(v) for v in values], dtype=pl.Float64)
        except OverflowError:
            pass

    def text(v: object) -> str | None:
        if v is None:
            return None
        if isinstance(v, str):
            return v
        if isinstance(v, list) and all(isinstance(x, (str, int, float)) and not isinstance(x, bool) for x in v):
            return " ".join(str(x) for x in v)
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))

    return pl.Series([text(v) for v in values], dtype=pl.String)


#: A repeat's name as XLSForm allows it (an XML name): only such names become a linked table's file.
_REPEAT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$")


def _is_repeat(name: str, value: object) -> bool:
    """A field sealed as a repeat: a non-empty list of objects under a name that can name a file."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, dict) for item in value)
        and bool(_REPEAT_NAME.match(name))
    )


def _split_repeats(record: dict, key: str, tables: dict[str, list[dict]]) -> dict:
    """``record`` without its repeats, which go (recursively) to ``tables[repeat]`` as rows linked the
    way ODK Briefcase / Central write them: each instance's ``KEY`` is ``<parent KEY>/<repeat>[i]``
    (from 1), its ``PARENT_KEY`` the parent's ``KEY``, and ``SET-OF-<repeat>`` = ``<parent KEY>/<repeat>``
    on the instance and on its parent row."""
    row: dict = {}
    for name, value in record.items():
        if not _is_repeat(name, value):
            row[name] = value
            continue
        set_of = f"{key}/{name}"
        row[f"SET-OF-{name}"] = set_of
        for i, item in enumerate(value, start=1):
            child_key = f"{set_of}[{i}]"
            _check_link_names(item, name, child_key)
            child = _split_repeats(item, child_key, tables)
            child.update({"PARENT_KEY": key, "KEY": child_key, f"SET-OF-{name}": set_of})
            tables.setdefault(name, []).append(child)
    return row


_LINK_COLUMNS = frozenset({"KEY", "PARENT_KEY"})


def _check_link_names(fields: dict, repeat: str | None, key: str) -> None:
    """A field named like a linking column would be overwritten: refuse rather than lose it."""
    clash = sorted(k for k in fields if k in _LINK_COLUMNS or k.startswith("SET-OF-"))
    if clash:
        where = f"an instance of the repeat {repeat!r} ({key})" if repeat else f"submission {key!r}"
        raise CollectError(
            f"{where} has a field named {clash[0]!r}, which the linked repeat tables use for their keys; "
            "rename that question in the form; nothing was written"
        )


def pull(store: Store, private_key, out_path, form_id: str | None = None, device_only=None) -> int:
    """:func:`pull_all`, returning only the number of rows written."""
    return pull_all(store, private_key, out_path, form_id, device_only=device_only).rows


def pull_all(
    store: Store, private_key, out_path, form_id: str | None = None, public_key=None, device_only=None
) -> PullResult:
    """Decrypt every stored submission (of ``form_id``, or all) into ``out_path`` (by extension, via
    :func:`quietpoll.io.write_data`): one row per submission, ``instance_id`` first, then
    ``_interviewer`` (the pseudonym of the token alias that sent it, see
    :func:`quietpoll.collect.setaside.pseudonymizer`), then the answer fields in order of first appearance.

    Repeats (sealed by the browser as a list of objects under the repeat's name) are written as linked
    tables, as :mod:`quietpoll.collect.odk` (``import-odk``) writes them: each repeat to its own file
    ``<OUT stem>-<repeat><OUT suffix>`` beside ``out_path``, one row per instance with ``PARENT_KEY``,
    ``KEY`` (``uuid:.../member[2]``) and ``SET-OF-<repeat>``; nested repeats link to their parent
    instance's ``KEY``. When any submission has a repeat, the main table also gets ``KEY`` (= the
    instance id) and the ``SET-OF-<repeat>`` columns, so
    :func:`quietpoll.instrument.exports.read_responses` reads a CSV pull back with its repeats linked.

    ``device_only`` (form id -> field names, :attr:`Instrument.device_only`): those fields are dropped
    if an older client sealed them (randomization draws are never written).

    A submission that cannot be used never stops the pull: it is set aside (moved to the store's
    quarantine, reasons in :mod:`quietpoll.collect.setaside`) after every good row has been written, and
    listed in the result (``moved`` False when the store could not be written, e.g. a read-only copy:
    the rows are then listed but left among the submissions). Everything is decrypted before anything is
    written or set aside. When no
    submission opens at all, the key may be the wrong one: with ``public_key`` (the study's) the key is
    checked against it and the rows are set aside only if it matches; without it, CollectError (naming
    an instance id only) and nothing is written or set aside.
    """
    from quietpoll.io import write_data

    if public_key is not None and _raw_public(private_key.public_key()) != _raw_public(public_key):
        raise CollectError(
            "this private key does not belong to the study (its public key differs from "
            "keys/study.pub); nothing was written"
        )
    pseudonym = pseudonymizer(private_key)
    opened: list[tuple[dict, tuple]] = []
    failed: list[tuple] = []
    envelope_keys: dict[str, int] = {}
    for sealed in store.sealed(form_id):
        f_id, instance_id, ciphertext, alias = sealed
        enc = ciphertext[:44]  # base64url of the version byte and the HPKE encapsulated key (33 bytes)
        envelope_keys[enc] = envelope_keys.get(enc, 0) + 1
        try:
            payload = open_sealed(private_key, f_id, instance_id, ciphertext)
        except CollectError:
            failed.append(sealed)
            continue
        try:
            payload = drop_fields(payload, (device_only or {}).get(f_id, ()))
        except CollectError:
            failed.append(sealed)
            continue
        opened.append((payload, sealed))
    if failed and not opened and public_key is None:
        raise CollectError(
            f"submission {failed[0][1]!r} (form {failed[0][0]!r}) cannot be decrypted with this key, nor can any "
            "other: is it the study's key? nothing was written"
        )
    aside = [(*s[:3], "replayed" if envelope_keys[s[2][:44]] > 1 else "undecryptable") for s in failed]
    split: list[tuple[dict, dict, dict, tuple]] = []
    for payload, sealed in opened:
        instance_id = sealed[1]
        local: dict[str, list[dict]] = {}
        if payload.get("instance_id", instance_id) != instance_id or PSEUDONYM_COLUMN in payload:
            aside.append((*sealed[:3], "malformed"))
            continue
        record = {"instance_id": instance_id, PSEUDONYM_COLUMN: pseudonym(sealed[3])}
        record |= {k: v for k, v in payload.items() if k != "instance_id"}
        try:
            row = _split_repeats(record, instance_id, local)
        except CollectError:  # a field named like a linking column
            aside.append((*sealed[:3], "malformed"))
            continue
        split.append((record, row, local, sealed))
    any_repeats = any(local for _, _, local, _ in split)
    rows: list[dict] = []
    tables: dict[str, list[dict]] = {}
    for record, row, local, sealed in split:
        if any_repeats and any(k in _LINK_COLUMNS or k.startswith("SET-OF-") for k in record):
            aside.append((*sealed[:3], "malformed"))  # its fields would overwrite the linking columns
            continue
        rows.append(row)
        for name, items in local.items():
            tables.setdefault(name, []).extend(items)
    out = Path(out_path)
    first = ("instance_id", PSEUDONYM_COLUMN)
    if tables:
        for row in rows:
            row["KEY"] = row["instance_id"]
        frames = {name: records_frame(items, first=("PARENT_KEY", "KEY")) for name, items in tables.items()}
        main = records_frame(rows, first=("instance_id", "KEY", PSEUDONYM_COLUMN))
    else:
        frames = {}
        main = records_frame(rows, first=first if rows else ("instance_id",))
    write_data(main, out)
    files = [out]
    for name, frame in frames.items():
        files.append(out.with_name(f"{out.stem}-{name}{out.suffix}"))
        write_data(frame, files[-1])
    quarantined: list[dict] = []
    moved = True
    if aside:
        try:
            ids = set(store.set_aside(aside))
            quarantined = [q for q in store.quarantined() if q["id"] in ids]
        except Exception as exc:  # a read-only copy of the store: report them, leave them where they are
            if isinstance(exc, CollectError) and "closed" in str(exc):
                raise
            moved = False
            aliases = {s[1]: s[3] for _, s in opened} | {s[1]: s[3] for s in failed}
            quarantined = [
                {
                    "id": quarantine_id(f, i, c),
                    "instance_id": i,
                    "form_id": f,
                    "token_alias": aliases[i],
                    "received_at": None,
                    "reason": reason,
                }
                for f, i, c, reason in aside
            ]
    return PullResult(rows=len(rows), files=files, quarantined=quarantined, moved=moved)


def _raw_public(public_key) -> bytes:
    return public_key.public_bytes_raw()


def records_frame(records: list[dict], first: tuple[str, ...] = ()) -> pl.DataFrame:
    """One row per record (a dict of field -> value): the ``first`` columns, then every other field in
    order of first appearance, each typed by :func:`_column`. Shared by :func:`pull` and
    :mod:`quietpoll.collect.odk` (``quietpoll import-odk``)."""
    columns: dict[str, None] = dict.fromkeys(first)
    for record in records:
        for name in record:
            columns.setdefault(name, None)
    return pl.DataFrame({name: _column([r.get(name) for r in records]) for name in columns})
