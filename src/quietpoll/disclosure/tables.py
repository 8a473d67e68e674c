"""Disclosure rules for published tables: threshold rule, secondary suppression audited by linear
programming, and the dominance (n, k) and p% rules for totals.

A table is published with its row totals, column totals and grand total. Everything works on the
*full array* F of shape (r + 1, c + 1): the cells in F[:r, :c], the row totals in F[:r, c], the column
totals in F[r, :c] and the grand total in F[r, c]. Every row of F adds up to its last entry and every
column to its last entry; a suppressed entry of F (cell or total) is published as "suppressed".

Threshold rule (primary suppression)
    An entry built from 1 to ``min_cell - 1`` respondents is sensitive (counts are unweighted
    respondent counts, whatever the table shows). Zero cells are not sensitive: they hold nobody.
    Entries flagged by another rule (dominance, p%) are added to the primary set.

Secondary (complementary) suppression
    1. Line completion: every row or column of F holding exactly one suppressed entry gets a second
       one, the cheapest eligible entry of that line (cost: the respondent count; interior non-zero
       cells first, then totals, zero cells last: a zero is often known to be zero, so it protects
       little). Repeated until no line has a lone suppression.
    2. Audit: for every suppressed entry, the smallest and largest value it can take consistent with
       everything published (all unsuppressed entries, the additivity of rows and columns, and
       non-negativity) are found with scipy.optimize.linprog (HiGHS). This is exactly what an
       attacker can learn from the margins. The constraint matrix is totally unimodular (each entry
       is in one row and one column equation; the 2-colouring {body rows, row-totals column} vs
       {body columns, column-totals row} meets the Heller-Tompkins condition), so for counts the
       LP's extreme values are whole numbers: the LP range equals the range over integer tables.
    3. Protection interval (what "cannot be recovered" means here): every suppressed entry's feasible
       range must be at least ``protection`` wide (default ``min_cell`` respondents) in the count table,
       and, when the weighted table is published too, at least ``value_protection`` wide in it
       (default: ``protection`` respondents' worth of weight, protection x grand total / respondents).
       An entry that fails gets a further suppression (the cheapest eligible entry in its row or
       column, else anywhere), then 1-3 repeat until every suppressed entry passes.

Dominance rule (n, k)
    A total is sensitive when its ``n`` largest contributions hold more than ``k`` percent of it.
p% rule
    A total is sensitive when the second-largest contributor could estimate the largest to within
    ``p`` percent: (total - x1 - x2) < p/100 * x1.

Not covered (stated, not hidden): attackers who are themselves respondents in a suppressed cell
(coalitions subtracting their own contribution), and differencing against other tables of the same
data beyond one table's own margins (the report suppresses each table against its own margins).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DisclosureError

__all__ = [
    "SuppressedTable",
    "suppress_table",
    "audit_ranges",
    "full_array",
    "dominance_sensitive",
    "p_percent_sensitive",
    "threshold_primary",
]

_BIG = 1e9  # cost offset: totals are chosen only after interior cells
_ZERO = 1e15  # cost offset: zero cells last
_GRAND = 1e18  # cost offset: the grand total only when nothing else is left


@dataclass(frozen=True)
class SuppressedTable:
    """The suppression pattern of one table, on the full array (cells + totals).

    ``primary`` and ``secondary`` are boolean arrays of shape (r + 1, c + 1). The exact feasible range
    of every suppressed entry is :func:`audit_ranges` of the table's full array and this pattern.
    """

    primary: np.ndarray
    secondary: np.ndarray
    min_cell: int
    protection: float
    value_protection: float | None

    @property
    def suppressed(self) -> np.ndarray:
        return self.primary | self.secondary

    @property
    def cells(self) -> np.ndarray:
        """Suppressed interior cells, shape (r, c)."""
        return self.suppressed[:-1, :-1]

    @property
    def row_totals(self) -> np.ndarray:
        return self.suppressed[:-1, -1]

    @property
    def col_totals(self) -> np.ndarray:
        return self.suppressed[-1, :-1]

    @property
    def grand_total(self) -> bool:
        return bool(self.suppressed[-1, -1])

    def summary(self) -> dict:
        return {
            "rule": f"threshold: fewer than {self.min_cell} respondents; secondary suppression audited "
            f"by linear programming (protection {self.protection:g} respondents)",
            "primary": int(self.primary.sum()),
            "secondary": int(self.secondary.sum()),
        }


def full_array(table: np.ndarray) -> np.ndarray:
    """The (r + 1, c + 1) array of a table with its row, column and grand totals."""
    t = np.asarray(table, dtype=float)
    if t.ndim != 2:
        raise DisclosureError(f"a table must be two-dimensional, got shape {t.shape}")
    F = np.zeros((t.shape[0] + 1, t.shape[1] + 1))
    F[:-1, :-1] = t
    F[:-1, -1] = t.sum(axis=1)
    F[-1, :-1] = t.sum(axis=0)
    F[-1, -1] = t.sum()
    return F


def threshold_primary(counts_full: np.ndarray, min_cell: int) -> np.ndarray:
    """Entries from 1 to min_cell - 1 respondents (zeros hold nobody and are not sensitive)."""
    return (counts_full > 0) & (counts_full < min_cell)


def audit_ranges(F: np.ndarray, suppressed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest value of every suppressed entry of the full array F given the published
    entries, additivity and non-negativity (linprog, HiGHS). NaN where published; +inf when unbounded."""
    from scipy.optimize import linprog  # imported when a table needs it (a report without one starts faster)

    F = np.asarray(F, dtype=float)
    S = np.asarray(suppressed, dtype=bool)
    low = np.full(F.shape, np.nan)
    high = np.full(F.shape, np.nan)
    if not S.any():
        return low, high
    if F.shape[0] == 2 or F.shape[1] == 2:
        return _one_line_ranges(F, S)
    idx, var, A, b = _lp_matrix(F, S)
    for k, flat in enumerate(idx):
        c = np.zeros(idx.size)
        c[k] = 1.0
        lo = linprog(c, A_eq=A, b_eq=b, bounds=(0, None), method="highs")
        hi = linprog(-c, A_eq=A, b_eq=b, bounds=(0, None), method="highs")
        if lo.status != 0:  # infeasible cannot happen for a true table; be explicit if it does
            raise DisclosureError("table audit: the published table is inconsistent (rows or columns do not add up)")
        low.flat[flat] = lo.fun
        high.flat[flat] = np.inf if hi.status == 3 else -hi.fun
    return low, high


def _lp_matrix(F: np.ndarray, S: np.ndarray):
    """Equality constraints A x = b over the suppressed entries (flat indices idx) of the full array."""
    nr, nc = F.shape
    idx = np.flatnonzero(S.ravel())
    var = np.full(F.size, -1)
    var[idx] = np.arange(idx.size)
    known = np.where(S, 0.0, F)
    sign_row = np.ones(nc)
    sign_row[-1] = -1.0
    sign_col = np.ones(nr)
    sign_col[-1] = -1.0
    rows_A, rhs = [], []
    for i in np.flatnonzero(S.any(axis=1)):
        a = np.zeros(idx.size)
        a[var[i * nc + np.flatnonzero(S[i])]] = sign_row[S[i]]
        rows_A.append(a)
        rhs.append(-float(sign_row @ known[i]))
    for j in np.flatnonzero(S.any(axis=0)):
        a = np.zeros(idx.size)
        a[var[np.flatnonzero(S[:, j]) * nc + j]] = sign_col[S[:, j]]
        rows_A.append(a)
        rhs.append(-float(sign_col @ known[:, j]))
    return idx, var, np.array(rows_A), np.array(rhs)


def _first_unprotected(F: np.ndarray, S: np.ndarray, prot: float, order: np.ndarray) -> np.ndarray:
    """A mask holding the first suppressed entry (in `order`) whose feasible range is narrower than
    `prot`, or an empty mask when every one is protected. Every LP solution is a feasible table, so
    the spread of values seen across solutions (and the true table) proves a range at least that wide:
    an entry already seen to spread over `prot` needs no LP of its own; one that does not gets its
    exact minimum and maximum."""
    fail = np.zeros_like(S)
    if F.shape[0] == 2 or F.shape[1] == 2:
        lo, hi = _one_line_ranges(F, S)
        bad = S & ((hi - lo) < prot)
        if bad.any():
            first = next(int(f) for f in order if bad.flat[f])
            fail.flat[first] = True
        return fail
    from scipy.optimize import linprog  # only tables of 3 x 3 and more need linear programs (0.1 s import)

    idx, var, A, b = _lp_matrix(F, S)
    seen_lo = F.ravel()[idx].astype(float)
    seen_hi = seen_lo.copy()
    for flat in order:
        k = int(var[flat])
        if k < 0 or seen_hi[k] - seen_lo[k] >= prot:
            continue
        c = np.zeros(idx.size)
        c[k] = 1.0
        for sign in (1.0, -1.0):
            res = linprog(sign * c, A_eq=A, b_eq=b, bounds=(0, None), method="highs")
            if res.status == 3:  # unbounded: the entry can be as large as you like
                seen_hi[k] = np.inf
                continue
            if res.status != 0:
                raise DisclosureError(
                    "table audit: the published table is inconsistent (rows or columns do not add up)"
                )
            np.minimum(seen_lo, res.x, out=seen_lo)
            np.maximum(seen_hi, res.x, out=seen_hi)
            if seen_hi[k] - seen_lo[k] >= prot:
                break
        if seen_hi[k] - seen_lo[k] < prot:
            fail.flat[flat] = True
            return fail
    return fail


def _one_line_ranges(F: np.ndarray, S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact ranges for a table of one row (or one column), whose full array repeats the line: an
    entry is known when its copy is published; the k entries hidden in both copies add up to the total
    less the published ones (R), so each ranges over [0, R] when k >= 2 (fixed at R when k = 1), or
    over [0, inf) when both copies of the total are hidden."""
    if F.shape[0] != 2:
        lo, hi = _one_line_ranges(F.T, S.T)
        return lo.T, hi.T
    low = np.full(F.shape, np.nan)
    high = np.full(F.shape, np.nan)
    both = S[0] & S[1]
    cells = both[:-1]
    total_known = not both[-1]
    total = F[0, -1]
    resid = total - F[0, :-1][~cells].sum()
    k = int(cells.sum())
    for j in range(F.shape[1]):
        for i in (0, 1):
            if not S[i, j]:
                continue
            if not both[j]:
                low[i, j] = high[i, j] = F[i, j]
            elif j == F.shape[1] - 1:
                low[i, j], high[i, j] = (F[0, :-1][~cells].sum(), np.inf) if k else (total, total)
            elif not total_known:
                low[i, j], high[i, j] = 0.0, np.inf
            else:
                low[i, j], high[i, j] = (0.0, resid) if k >= 2 else (resid, resid)
    return low, high


def _quick_fail(F: np.ndarray, S: np.ndarray, prot: float) -> np.ndarray:
    """Entries that fail without an LP: a suppressed entry inside a line whose total is published can
    be no larger than that line's residual (its total less its published entries), so its range is at
    most the residual wide."""
    fail = np.zeros_like(S)
    known = np.where(S, 0.0, F)
    inner = S.copy()
    # rows: entries [:, :-1] add up to [:, -1]
    resid = F[:, -1] - known[:, :-1].sum(axis=1)
    row_ok = ~S[:, -1]
    fail[:, :-1] |= inner[:, :-1] & (row_ok & (resid < prot))[:, None]
    resid = F[-1, :] - known[:-1, :].sum(axis=0)
    col_ok = ~S[-1, :]
    fail[:-1, :] |= inner[:-1, :] & (col_ok & (resid < prot))[None, :]
    return fail


def _costs(counts_full: np.ndarray) -> np.ndarray:
    nr, nc = counts_full.shape
    cost = counts_full.astype(float).copy()
    cost[-1, :] += _BIG
    cost[:, -1] += _BIG
    cost[counts_full == 0] += _ZERO
    cost[-1, -1] = _GRAND + counts_full[-1, -1]
    return cost


def _cheapest(cost: np.ndarray, S: np.ndarray, where: np.ndarray) -> tuple[int, int] | None:
    cand = where & ~S
    if not cand.any():
        return None
    c = np.where(cand, cost, np.inf)
    row, col = np.unravel_index(int(np.argmin(c)), c.shape)
    return int(row), int(col)


def _complete_lines(S: np.ndarray, cost: np.ndarray) -> None:
    """Give every row and column of the full array with exactly one suppression a second one."""
    nr, nc = S.shape
    changed = True
    while changed:
        changed = False
        for i in np.flatnonzero(S.sum(axis=1) == 1):
            where = np.zeros_like(S)
            where[i, :] = True
            pick = _cheapest(cost, S, where)
            if pick is not None:
                S[pick] = True
                changed = True
        for j in np.flatnonzero(S.sum(axis=0) == 1):
            where = np.zeros_like(S)
            where[:, j] = True
            pick = _cheapest(cost, S, where)
            if pick is not None:
                S[pick] = True
                changed = True


def suppress_table(
    counts,
    values=None,
    *,
    min_cell: int,
    protection: float | None = None,
    value_protection: float | None = None,
    sensitive=None,
) -> SuppressedTable:
    """Threshold rule plus audited secondary suppression for one table.

    ``counts``: (r, c) unweighted respondent counts (decide the suppression). ``values``: optional
    (r, c) weighted totals published with the same pattern (audited too). ``sensitive``: an optional
    (r, c) or (r + 1, c + 1) boolean array of entries made primary by another rule (dominance, p%).
    """
    counts = np.asarray(counts)
    if counts.ndim != 2 or counts.size == 0:
        raise DisclosureError(f"suppress_table needs a non-empty two-dimensional table, got shape {counts.shape}")
    if np.any(counts < 0) or not np.all(np.isfinite(counts)):
        raise DisclosureError("suppress_table: respondent counts must be finite and non-negative")
    if int(min_cell) < 1:
        raise DisclosureError(f"min_cell must be at least 1, got {min_cell}")
    Fc = full_array(counts)
    Fv = None
    if values is not None:
        values = np.asarray(values, dtype=float)
        if values.shape != counts.shape:
            raise DisclosureError(f"values shape {values.shape} differs from counts shape {counts.shape}")
        if np.any(values < 0):
            raise DisclosureError("suppress_table: weighted values must be non-negative")
        Fv = full_array(values)
    prot = float(min_cell if protection is None else protection)
    vprot = None
    if Fv is not None:
        vprot = (
            float(value_protection)
            if value_protection is not None
            else (prot * Fv[-1, -1] / Fc[-1, -1] if Fc[-1, -1] > 0 else 0.0)
        )
    primary = threshold_primary(Fc, int(min_cell))
    if sensitive is not None:
        sens = np.asarray(sensitive, dtype=bool)
        if sens.shape == counts.shape:
            sens = np.pad(sens, ((0, 1), (0, 1)))
        if sens.shape != Fc.shape:
            raise DisclosureError(f"sensitive mask shape {sens.shape} does not fit table shape {counts.shape}")
        primary = primary | sens
    if primary[-1, -1]:  # the whole table holds fewer than min_cell respondents: publish nothing
        S = np.ones_like(primary)
    else:
        S = primary.copy()
    cost = _costs(Fc)
    order = np.argsort(cost, axis=None, kind="stable")  # cheapest (smallest, most sensitive) entries first
    tol = 1e-9
    while True:
        _complete_lines(S, cost)
        # a line residual below the protection, else the first entry the LP audit finds unprotected
        fail = _quick_fail(Fc, S, prot - tol)
        if Fv is not None and vprot is not None and not fail.any():  # vprot is set with Fv
            fail = _quick_fail(Fv, S, vprot - tol * max(1.0, vprot))
        if not fail.any():
            fail = _first_unprotected(Fc, S, prot - tol, order)
        if Fv is not None and vprot is not None and not fail.any():
            fail = _first_unprotected(Fv, S, vprot - tol * max(1.0, vprot), order)
        if not fail.any():
            break
        i, j = np.unravel_index(int(np.argmax(np.where(fail, -cost, -np.inf))), fail.shape)
        where = np.zeros_like(S)
        where[i, :] = True
        where[:, j] = True
        pick = _cheapest(cost, S, where) or _cheapest(cost, S, np.ones_like(S))
        if pick is None:  # everything is suppressed and still fails: nothing more to hide
            break
        S[pick] = True
    return SuppressedTable(
        primary=primary, secondary=S & ~primary, min_cell=int(min_cell), protection=prot, value_protection=vprot
    )


def _top_sums(cell: np.ndarray, x: np.ndarray, n_cells: int, top: int) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: the total of x and the sums of its `top` largest values (shape (n_cells, top))."""
    cell = np.asarray(cell, dtype=np.int64)
    x = np.asarray(x, dtype=float)
    if cell.shape != x.shape:
        raise DisclosureError("cell ids and contributions must have the same length")
    if x.size and (np.any(x < 0) or not np.all(np.isfinite(x))):
        raise DisclosureError("contributions must be finite and non-negative")
    total = np.bincount(cell, weights=x, minlength=n_cells)
    order = np.lexsort((-x, cell))
    c_sorted = cell[order]
    x_sorted = x[order]
    first = np.searchsorted(c_sorted, np.arange(n_cells))
    rank = np.arange(c_sorted.size) - first[c_sorted]
    tops = np.zeros((n_cells, top))
    keep = rank < top
    np.add.at(tops, (c_sorted[keep], rank[keep]), x_sorted[keep])
    return total, tops


def dominance_sensitive(cell, contributions, n_cells: int, *, n: int = 2, k: float = 85.0) -> np.ndarray:
    """(n, k) dominance rule: per cell, True when its n largest contributions exceed k% of its total."""
    if n < 1 or not 0 < k <= 100:
        raise DisclosureError(f"dominance rule needs n >= 1 and 0 < k <= 100, got n={n}, k={k}")
    total, tops = _top_sums(cell, contributions, n_cells, n)
    return (total > 0) & (tops.sum(axis=1) > k / 100.0 * total)


def p_percent_sensitive(cell, contributions, n_cells: int, *, p: float = 10.0) -> np.ndarray:
    """p% rule: True when the total less its two largest contributions is below p% of the largest, so
    the second-largest contributor could estimate the largest to within p%."""
    if not 0 < p <= 100:
        raise DisclosureError(f"the p% rule needs 0 < p <= 100, got {p}")
    total, tops = _top_sums(cell, contributions, n_cells, 2)
    return (total > 0) & (total - tops[:, 0] - tops[:, 1] < p / 100.0 * tops[:, 0])
