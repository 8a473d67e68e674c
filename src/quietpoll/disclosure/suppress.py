"""Local suppression to k-anonymity under the wildcard rule (sdcMicro's rule for missing values).

The wildcard rule
-----------------
A missing value (null) in a quasi-identifier (QI) matches any value, on either side: two records are
*compatible* when, for every QI, their values are equal or at least one of them is null. The
frequency ``f`` of a record is the number of records compatible with it (itself included), and a file
is k-anonymous when every record has ``f >= k``. Values missing in the input count as wildcards too,
as in sdcMicro (``freqCalc``/``localSuppression``). Note that :func:`quietpoll.disclosure.risk.disclosure_risk`
instead treats a null as a value of its own; the release report states ``final_k`` under the
wildcard rule.

Counting (vectorized)
---------------------
Records are collapsed to their distinct QI tuples (with a count), and the tuples are grouped by their
*suppression pattern* (the set of QIs that are not null, a bit mask). For a query tuple of pattern S
and the population tuples of pattern T, the compatible ones are exactly those equal on the QIs of
S & T, so ``f`` is the sum over the patterns T of one hash group-by of pattern T's tuples on S & T,
joined to the queries of pattern S. The Python loop runs over pairs of patterns (at most 2^|QI|,
a handful in practice), never over records.

The suppression heuristic (what it optimizes)
----------------------------------------------
The goal is to reach ``f >= k`` for every record while suppressing few QI values (cells). Finding the
fewest cells is NP-hard, so this is a greedy **heuristic** that does not guarantee the minimum:

1. Only records that are below k in the current round are ever touched; a record that is at or above
   k is never suppressed (suppression only adds matches, so ``f`` never falls).
2. In each round, each distinct tuple below k suppresses exactly one more of its QI values. Among
   its candidate QIs it picks one whose suppression lifts it to k if any does (ties broken by the
   suppression order: by default QIs with more distinct values first, since they split the classes
   most; ``importance`` lists QIs from the most important, suppressed last, in the spirit of the
   ``importance`` argument of sdcMicro's ``localSuppression``); if none does, the one giving the
   largest new frequency (then the suppression order).
3. Tuples that would become the same tuple by suppressing the same QI (they differ only in that QI)
   are handled together: the largest of them is left intact when the suppressions of the others
   already lift it to k (so two unique records differing in one value lose one value, not two).
4. Rounds repeat until the file is k-anonymous; at most one round per QI is needed, since a tuple
   with every QI suppressed matches every record.

The objective it greedily reduces is the number of suppressed cells; ``importance`` moves the loss
to the QIs that matter least. :class:`~quietpoll.errors.ReleaseRefused` is raised when the result
would suppress more than ``max_share`` of all QI values or more than ``max_share_per_qi`` of one
QI's values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from quietpoll.errors import DisclosureError, ReleaseRefused

__all__ = ["wildcard_frequencies", "local_suppression", "SuppressionResult", "MAX_SHARE", "MAX_SHARE_PER_QI"]

#: Default largest share of all QI values (rows x QIs) that may be suppressed before release refuses.
MAX_SHARE = 0.05
#: Default largest share of one QI's values that may be suppressed (beyond it the QI is destroyed).
MAX_SHARE_PER_QI = 0.5

_C = "__c"
_M = "__mask"


@dataclass(frozen=True)
class SuppressionResult:
    """What :func:`local_suppression` did: the frame with suppressed cells set to null, the number of
    cells suppressed per QI, records touched, the rounds run and the final k (wildcard rule)."""

    frame: pl.DataFrame
    cells_by_qi: dict[str, int]
    records_touched: int
    rounds: int
    final_k: int
    order: list[str] = field(default_factory=list)

    @property
    def cells(self) -> int:
        return int(sum(self.cells_by_qi.values()))


def _codes(frame: pl.DataFrame, qi: Sequence[str]) -> pl.DataFrame:
    """Dense integer codes per QI (nulls stay null) and the pattern bit mask."""
    codes = frame.select([pl.col(q).rank("dense").cast(pl.Int64).alias(q) for q in qi])
    return codes.with_columns(_mask_expr(qi))


def _mask_expr(qi: Sequence[str]) -> pl.Expr:
    return pl.sum_horizontal([pl.col(q).is_not_null().cast(pl.Int64) * (1 << j) for j, q in enumerate(qi)]).alias(_M)


def _counts(query: pl.DataFrame, pop: pl.DataFrame, qi: Sequence[str]) -> np.ndarray:
    """For each row of ``query`` (QI codes + mask), the summed ``__c`` of the ``pop`` rows compatible
    with it under the wildcard rule. Loops over pairs of patterns only."""
    out = np.zeros(query.height, dtype=np.int64)
    if query.height == 0:
        return out
    q = query.select([*qi, _M]).with_row_index("__i")
    pops = {int(key[0]): part for key, part in pop.select([*qi, _M, _C]).partition_by(_M, as_dict=True).items()}
    cache: dict[tuple[int, int], pl.DataFrame | int] = {}
    for key, qpart in q.partition_by(_M, as_dict=True).items():
        s = int(key[0])
        idx = qpart.get_column("__i").to_numpy()
        acc = np.zeros(idx.shape[0], dtype=np.int64)
        for t, ppart in pops.items():
            both = s & t
            keys = [name for j, name in enumerate(qi) if both >> j & 1]
            agg = cache.get((t, both))
            if agg is None:
                agg = int(ppart.get_column(_C).sum()) if not keys else ppart.group_by(keys).agg(pl.col(_C).sum())
                cache[(t, both)] = agg
            if isinstance(agg, int):
                acc += agg
            else:
                hit = qpart.select(keys).join(agg, on=keys, how="left", maintain_order="left")
                acc += hit.get_column(_C).fill_null(0).to_numpy()
        out[idx] = acc
    return out


def wildcard_frequencies(frame: pl.DataFrame, qi: Sequence[str]) -> np.ndarray:
    """For every row of ``frame``, the number of rows compatible with it over ``qi`` under the wildcard
    rule (a null matches anything, on either side; the row itself included)."""
    qi = list(qi)
    missing = [q for q in qi if q not in frame.columns]
    if missing:
        raise DisclosureError(f"quasi-identifier column {missing[0]!r} is not in the data")
    if frame.height == 0:
        return np.zeros(0, dtype=np.int64)
    codes = _codes(frame, qi)
    combos = codes.group_by([*qi, _M]).agg(pl.len().cast(pl.Int64).alias(_C)).with_row_index("__id")
    f = _counts(combos, combos, qi)
    row_id = codes.join(combos.select([*qi, "__id"]), on=qi, how="left", nulls_equal=True, maintain_order="left")
    return f[row_id.get_column("__id").to_numpy()]


def _order(frame: pl.DataFrame, qi: list[str], importance: Sequence[str] | None) -> list[str]:
    """QIs in suppression order (first suppressed first)."""
    if importance:
        unknown = [c for c in importance if c not in qi]
        if unknown:
            raise DisclosureError(f"importance column {unknown[0]!r} is not one of the quasi-identifiers")
        listed = list(importance)
        rest = [q for q in qi if q not in listed]
        return _order(frame, rest, None) + list(reversed(listed))
    distinct = {q: frame.get_column(q).drop_nulls().n_unique() for q in qi}
    return sorted(qi, key=lambda q: (-distinct[q], qi.index(q)))


def _refuse(what: str, k: int, qi: Sequence[str]) -> ReleaseRefused:
    return ReleaseRefused(
        f"release refused: reaching k = {k} over {', '.join(qi)} {what}; coarsen the quasi-identifiers first "
        "(--recode COL=bands:..., --year-bands, --top-code), use fewer of them, or a smaller k"
    )


def local_suppression(
    frame: pl.DataFrame,
    qi: Sequence[str],
    k: int,
    *,
    importance: Sequence[str] | None = None,
    max_share: float = MAX_SHARE,
    max_share_per_qi: float = MAX_SHARE_PER_QI,
) -> SuppressionResult:
    """Suppress (set to null) QI values of ``frame`` until it is k-anonymous under the wildcard rule,
    with the greedy heuristic of the module docstring. Raises :class:`ReleaseRefused` when that needs
    more than ``max_share`` of all QI values or more than ``max_share_per_qi`` of one QI's values, or
    when the file has fewer than k rows."""
    qi = list(qi)
    if not qi:
        raise DisclosureError("no quasi-identifiers given: name at least one with --qi")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise DisclosureError(f"k must be an integer of at least 2 (got {k!r})")
    for name, share in (("--max-suppressed", max_share), ("--max-suppressed-per-qi", max_share_per_qi)):
        if not 0 <= share <= 1:
            raise DisclosureError(f"{name} must be a share between 0 and 1 (got {share!r})")
    n = frame.height
    if n < k:
        raise _refuse(f"is impossible: the file has only {n} record(s)", k, qi)
    order = _order(frame, qi, importance)
    rank = np.array([order.index(q) for q in qi], dtype=np.int64)  # suppression rank per QI position
    nq = len(qi)

    codes = _codes(frame, qi)
    state = codes.group_by([*qi, _M]).agg(pl.len().cast(pl.Int64).alias(_C)).with_row_index("__id")
    combos = state  # the distinct input tuples; "__id" indexes `suppressed`
    counts = state.get_column(_C).to_numpy()
    suppressed = np.zeros((state.height, nq), dtype=bool)
    budget = max_share * n * nq
    rounds = 0
    for rounds in range(1, nq + 2):
        f = _counts(state, state, qi)
        unsafe = f < k
        if not unsafe.any():
            break
        low = state.filter(pl.Series(unsafe)).with_columns(pl.Series("__f", f[unsafe]))
        parts = []
        for j, name in enumerate(qi):
            part = (
                low.filter(pl.col(name).is_not_null())
                .with_columns(pl.col(name).alias("__qv"))
                .with_columns(
                    pl.lit(None, dtype=pl.Int64).alias(name),
                    (pl.col(_M) - (1 << j)).alias(_M),
                    pl.lit(j, dtype=pl.Int64).alias("__q"),
                )
            )
            parts.append(part)
        cand = pl.concat(parts)
        fc = _counts(cand, state, qi)
        cand = cand.with_columns(pl.Series("__fc", fc))
        reach = pl.col("__fc") >= k
        qrank = pl.col("__q").replace_strict(list(range(nq)), rank.tolist(), return_dtype=pl.Int64)
        score = pl.when(reach).then(qrank).otherwise((n - pl.col("__fc") + 1) * nq + qrank)
        best = cand.with_columns(score.alias("__s")).sort(["__id", "__s"]).group_by("__id", maintain_order=True).first()
        # step 3: tuples that become the same tuple by suppressing the same QI. Suppressing the others
        # adds to the largest one's frequency the counts of those whose value of that QI differs from
        # its own (tuples equal to it are already counted in its frequency).
        grp = [*qi, _M, "__q"]
        best = best.with_columns(
            pl.col(_C).sum().over(grp).alias("__gsum"),
            pl.col(_C).sum().over([*grp, "__qv"]).alias("__same"),
            pl.len().over(grp).alias("__gn"),
            pl.col(_C).rank("ordinal", descending=True).over(grp).alias("__grank"),
        )
        gain = pl.col("__gsum") - pl.col("__same")
        keep = (pl.col("__gn") > 1) & (pl.col("__grank") == 1) & (gain > 0) & (pl.col("__f") + gain >= k)
        act = best.filter(~keep)
        ids = act.get_column("__id").to_numpy()
        cols = act.get_column("__q").to_numpy()
        suppressed[ids, cols] = True
        # the new state: the suppressed cells set to null
        sup = pl.DataFrame({f"__s{j}": suppressed[:, j] for j in range(nq)})
        state = (
            pl.concat([combos.select(["__id", *qi, _C]), sup], how="horizontal")
            .with_columns(
                [pl.when(pl.col(f"__s{j}")).then(None).otherwise(pl.col(name)).alias(name) for j, name in enumerate(qi)]
            )
            .with_columns(_mask_expr(qi))
            .select(["__id", *qi, _M, _C])
        )
        cells = (suppressed * counts[:, None]).sum(axis=0)
        if cells.sum() > budget:
            raise _refuse(
                f"needs at least {int(cells.sum())} of {n * nq} quasi-identifier values suppressed "
                f"({cells.sum() / (n * nq):.1%}), above --max-suppressed {max_share:.1%}",
                k,
                qi,
            )
    else:  # pragma: no cover - every tuple reaches k once wholly suppressed (n >= k)
        raise DisclosureError("local suppression did not converge")

    cells = (suppressed * counts[:, None]).sum(axis=0)
    for j, name in enumerate(qi):
        if cells[j] > max_share_per_qi * n:
            raise _refuse(
                f"would suppress {int(cells[j])} of {n} values of {name!r} ({cells[j] / n:.1%}), "
                f"above --max-suppressed-per-qi {max_share_per_qi:.0%}",
                k,
                qi,
            )
    # back to the rows: each row takes its tuple's suppression flags
    row_id = (
        codes.select(qi)
        .join(combos.select([*qi, "__id"]), on=qi, how="left", nulls_equal=True, maintain_order="left")
        .get_column("__id")
        .to_numpy()
    )
    flags = suppressed[row_id]
    out = frame.with_columns(
        [pl.when(pl.Series(flags[:, j])).then(None).otherwise(pl.col(name)).alias(name) for j, name in enumerate(qi)]
    )
    final_k = int(f.min())
    return SuppressionResult(
        frame=out,
        cells_by_qi={name: int(cells[j]) for j, name in enumerate(qi)},
        records_touched=int(flags.any(axis=1).sum()),
        rounds=rounds,
        final_k=final_k,
        order=order,
    )
