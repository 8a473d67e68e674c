"""Table disclosure rules: threshold, audited secondary suppression, dominance and p% rules.

The attacker below sees only what is published (cells and totals, None where suppressed) and tries to
recover each suppressed cell with its own integer program (scipy.optimize.milp, built here from the
published view, sharing no code with quietpoll's audit) or, for tiny tables, by enumerating every
non-negative integer completion. It must fail: every suppressed entry keeps a range at least the
protection interval wide. All tables are SYNTHETIC.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from quietpoll.disclosure.tables import (
    audit_ranges,
    dominance_sensitive,
    full_array,
    p_percent_sensitive,
    suppress_table,
)
from quietpoll.errors import DisclosureError


def published(table, result):
    """What a reader sees: cells, row totals, column totals, grand total, None where suppressed."""
    t = np.asarray(table, dtype=float)
    r, c = t.shape
    view = [[None if result.cells[i, j] else float(t[i, j]) for j in range(c)] for i in range(r)]
    rows = [None if result.row_totals[i] else float(t[i].sum()) for i in range(r)]
    cols = [None if result.col_totals[j] else float(t[:, j].sum()) for j in range(c)]
    grand = None if result.grand_total else float(t.sum())
    return view, rows, cols, grand


def attacker_milp(view, rows, cols, grand, integer=True):
    """Min and max of every unknown (cells and totals) over non-negative (integer) tables that agree
    with the published numbers. Returns {("cell", i, j) | ("row", i) | ("col", j) | ("grand",): (lo, hi)}."""
    r, c = len(view), len(view[0])
    names = (
        [("cell", i, j) for i in range(r) for j in range(c)]
        + [("row", i) for i in range(r)]
        + [("col", j) for j in range(c)]
        + [("grand",)]
    )
    pos = {nm: k for k, nm in enumerate(names)}
    known = {}
    for i in range(r):
        for j in range(c):
            if view[i][j] is not None:
                known[("cell", i, j)] = view[i][j]
    known.update({("row", i): v for i, v in enumerate(rows) if v is not None})
    known.update({("col", j): v for j, v in enumerate(cols) if v is not None})
    if grand is not None:
        known[("grand",)] = grand
    A = []
    for i in range(r):  # cells of row i add up to its total
        a = np.zeros(len(names))
        for j in range(c):
            a[pos[("cell", i, j)]] = 1
        a[pos[("row", i)]] = -1
        A.append(a)
    for j in range(c):
        a = np.zeros(len(names))
        for i in range(r):
            a[pos[("cell", i, j)]] = 1
        a[pos[("col", j)]] = -1
        A.append(a)
    a = np.zeros(len(names))
    for i in range(r):
        a[pos[("row", i)]] = 1
    a[pos[("grand",)]] = -1
    A.append(a)
    lo_b = np.zeros(len(names))
    hi_b = np.full(len(names), np.inf)
    for nm, v in known.items():
        lo_b[pos[nm]] = hi_b[pos[nm]] = v
    cons = LinearConstraint(np.array(A), 0, 0)
    integrality = np.ones(len(names)) if integer else np.zeros(len(names))
    out = {}
    for nm in names:
        if nm in known:
            continue
        obj = np.zeros(len(names))
        obj[pos[nm]] = 1
        lo = milp(obj, constraints=cons, bounds=Bounds(lo_b, hi_b), integrality=integrality)
        hi = milp(-obj, constraints=cons, bounds=Bounds(lo_b, hi_b), integrality=integrality)
        assert lo.status == 0
        out[nm] = (lo.fun, np.inf if hi.status != 0 else -hi.fun)
    return out


def attacker_enumerate(view, rows, cols, grand, bound):
    """Every non-negative integer completion with unknown cells up to `bound`: the range of each cell."""
    r, c = len(view), len(view[0])
    unknown = [(i, j) for i in range(r) for j in range(c) if view[i][j] is None]
    seen = {u: [] for u in unknown}
    for vals in itertools.product(range(bound + 1), repeat=len(unknown)):
        t = np.array([[0.0 if view[i][j] is None else view[i][j] for j in range(c)] for i in range(r)])
        for (i, j), v in zip(unknown, vals):
            t[i, j] = v
        if any(rows[i] is not None and t[i].sum() != rows[i] for i in range(r)):
            continue
        if any(cols[j] is not None and t[:, j].sum() != cols[j] for j in range(c)):
            continue
        if grand is not None and t.sum() != grand:
            continue
        for u, v in zip(unknown, vals):
            seen[u].append(v)
    return {u: (min(v), max(v)) for u, v in seen.items()}


def assert_protected(table, result, protection):
    view, rows, cols, grand = published(table, result)
    ranges = attacker_milp(view, rows, cols, grand)
    t = np.asarray(table, dtype=float)
    for nm, (lo, hi) in ranges.items():
        true = {
            "cell": lambda: t[nm[1], nm[2]],
            "row": lambda: t[nm[1]].sum(),
            "col": lambda: t[:, nm[1]].sum(),
            "grand": lambda: t.sum(),
        }[nm[0]]()
        assert lo - 1e-6 <= true <= hi + 1e-6
        assert hi - lo >= protection - 1e-6, f"{nm} recovered to [{lo}, {hi}] (true {true})"


def test_threshold_cells_are_suppressed_and_not_recoverable():
    table = np.array([[3, 50, 20], [40, 60, 12], [25, 8, 30]])
    res = suppress_table(table, min_cell=10)
    assert res.primary[0, 0] and res.primary[2, 1]
    assert res.cells[0, 0] and res.cells[2, 1]
    assert not res.primary[1, 1]
    # every row and column holding a suppression holds at least two
    S = res.suppressed
    assert not np.any(S.sum(axis=0) == 1) and not np.any(S.sum(axis=1) == 1)
    assert_protected(table, res, 10)


def test_single_small_cell_in_row_would_be_recoverable_without_secondary():
    table = np.array([[4, 30], [30, 30]])
    res = suppress_table(table, min_cell=5)
    assert res.secondary.any()
    assert res.cells.sum() >= 2
    assert_protected(table, res, 5)


def test_one_way_table_needs_two_suppressions():
    table = np.array([[3, 40, 50, 12]])
    res = suppress_table(table, min_cell=10)
    assert res.cells[0, 0] and res.cells.sum() >= 2
    assert_protected(table, res, 10)


def test_zero_cells_are_not_primary_and_are_used_last():
    table = np.array([[0, 5, 40], [0, 30, 25]])
    res = suppress_table(table, min_cell=10)
    assert not res.primary[0, 0] and not res.primary[1, 0]
    assert not res.cells[:, 0].any()  # non-zero cells were available as complements
    assert_protected(table, res, 10)


def test_small_table_total_suppresses_everything():
    table = np.array([[2, 3], [1, 0]])
    res = suppress_table(table, min_cell=10)
    assert res.suppressed.all()


def test_weighted_table_is_protected_too():
    rng = np.random.default_rng(5)
    counts = np.array([[6, 25, 31], [22, 19, 40], [35, 3, 28]])
    values = counts * rng.uniform(100, 900, counts.shape)
    res = suppress_table(counts, values, min_cell=10)
    assert res.value_protection == pytest.approx(10 * values.sum() / counts.sum())
    # the attacker also works on the weighted table (real-valued LP)
    view, rows, cols, grand = published(values, res)
    for nm, (lo, hi) in attacker_milp(view, rows, cols, grand, integer=False).items():
        assert hi - lo >= res.value_protection - 1e-6, nm


def test_sensitive_mask_from_dominance_is_primary():
    counts = np.array([[20, 30], [25, 40]])
    mask = np.array([[False, True], [False, False]])
    res = suppress_table(counts, min_cell=10, sensitive=mask)
    assert res.primary[0, 1] and res.cells[0, 1]
    assert_protected(counts, res, 10)


def test_attacker_by_enumeration_on_tiny_table():
    table = np.array([[1, 4, 6], [5, 2, 7]])
    res = suppress_table(table, min_cell=3, protection=3)
    view, rows, cols, grand = published(table, res)
    for (i, j), (lo, hi) in attacker_enumerate(view, rows, cols, grand, bound=int(table.sum())).items():
        assert hi - lo >= 3, ((i, j), lo, hi)


def test_attacker_beats_naive_primary_only_suppression():
    """The attacker is not toothless: with only the primary cell hidden it recovers it exactly."""
    table = np.array([[3, 50], [40, 60]])
    res = suppress_table(table, min_cell=10)
    naive = type(res)(
        primary=res.primary, secondary=np.zeros_like(res.secondary), min_cell=10, protection=10, value_protection=None
    )
    view, rows, cols, grand = published(table, naive)
    ranges = attacker_milp(view, rows, cols, grand)
    assert ranges[("cell", 0, 0)] == (3, 3)


def test_audit_ranges_equal_the_attackers_integer_ranges():
    rng = np.random.default_rng(11)
    for _ in range(5):
        table = rng.integers(0, 25, (4, 5))
        res = suppress_table(table, min_cell=8)
        low, high = audit_ranges(full_array(table), res.suppressed)
        view, rows, cols, grand = published(table, res)
        for nm, (lo, hi) in attacker_milp(view, rows, cols, grand).items():
            i, j = {
                "cell": (nm[1:] if len(nm) == 3 else None),
                "row": (nm[1], -1) if nm[0] == "row" else None,
                "col": (-1, nm[1]) if nm[0] == "col" else None,
                "grand": (-1, -1),
            }[nm[0]]
            assert low[i, j] == pytest.approx(lo, abs=1e-6)
            assert high[i, j] == pytest.approx(hi, abs=1e-6) or (np.isinf(hi) and np.isinf(high[i, j]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 4), st.integers(2, 4), st.integers(2, 10), st.data())
def test_random_tables_are_protected(r, c, min_cell, data):
    table = np.array(data.draw(st.lists(st.lists(st.integers(0, 40), min_size=c, max_size=c), min_size=r, max_size=r)))
    res = suppress_table(table, min_cell=min_cell)
    F = np.zeros((r + 1, c + 1))
    F[:r, :c] = table
    F[:r, c] = table.sum(1)
    F[r, :c] = table.sum(0)
    F[r, c] = table.sum()
    small = (F > 0) & (F < min_cell)
    assert np.all(res.suppressed[small])  # every small entry is hidden
    assert not np.any(res.primary & ~small) or F[r, c] < min_cell
    if res.suppressed.any():
        assert_protected(table, res, min_cell)


def test_dominance_rule_against_direct_count():
    rng = np.random.default_rng(3)
    cell = rng.integers(0, 6, 200)
    x = rng.exponential(10, 200)
    x[cell == 2] = 0.1
    x[np.flatnonzero(cell == 2)[0]] = 500.0  # one giant contributor in cell 2
    got = dominance_sensitive(cell, x, 6, n=2, k=85)
    for g in range(6):
        v = np.sort(x[cell == g])[::-1]
        assert got[g] == (v[:2].sum() > 0.85 * v.sum())
    assert got[2]


def test_p_percent_rule_against_direct_count():
    rng = np.random.default_rng(4)
    cell = rng.integers(0, 5, 120)
    x = rng.exponential(5, 120)
    x[cell == 1] = 0.01
    x[np.flatnonzero(cell == 1)[:2]] = [100.0, 50.0]
    got = p_percent_sensitive(cell, x, 5, p=10)
    for g in range(5):
        v = np.sort(x[cell == g])[::-1]
        assert got[g] == (v.sum() - v[0] - v[1] < 0.10 * v[0])
    assert got[1]


@pytest.mark.parametrize(
    "kwargs, msg",
    [
        (dict(counts=np.array([1, 2, 3]), min_cell=3), "two-dimensional"),
        (dict(counts=np.array([[1, -2]]), min_cell=3), "non-negative"),
        (dict(counts=np.array([[1, 2]]), min_cell=0), "min_cell"),
        (dict(counts=np.array([[1, 2]]), values=np.array([[1.0]]), min_cell=3), "shape"),
    ],
)
def test_bad_input(kwargs, msg):
    with pytest.raises(DisclosureError, match=msg):
        suppress_table(**kwargs)


def test_bad_rule_parameters():
    with pytest.raises(DisclosureError, match="dominance"):
        dominance_sensitive(np.zeros(3, int), np.ones(3), 1, n=0)
    with pytest.raises(DisclosureError, match="p% rule"):
        p_percent_sensitive(np.zeros(3, int), np.ones(3), 1, p=0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 4), st.integers(2, 4), st.data())
def test_random_weighted_tables_are_protected(r, c, data):
    counts = np.array(data.draw(st.lists(st.lists(st.integers(0, 30), min_size=c, max_size=c), min_size=r, max_size=r)))
    weights = np.array(
        data.draw(st.lists(st.lists(st.floats(0.5, 20.0), min_size=c, max_size=c), min_size=r, max_size=r))
    )
    values = counts * weights
    res = suppress_table(counts, values, min_cell=6)
    if not res.suppressed.any():
        return
    assert_protected(counts, res, 6)
    view, rows, cols, grand = published(values, res)
    for nm, (lo, hi) in attacker_milp(view, rows, cols, grand, integer=False).items():
        assert hi - lo >= res.value_protection * (1 - 1e-9) - 1e-6, nm
