"""Indicator rows: the estimator's numbers for the weighted design, the unweighted design beside them,
the sensitive-question pairs, and suppression consistent with the crosstab the report shows."""

from __future__ import annotations

import pytest

from quietpoll.report.indicators import is_binary, sensitive_pairs


def row(id_, est, domain=None, kind="proportion", direct=None, suppressed=False):
    return {
        "id": id_,
        "label": id_,
        "kind": kind,
        "direct": direct,
        "domain": domain or {},
        "domain_label": "",
        "estimate": None if suppressed else est,
        "ci_low": None if suppressed else est - 0.1,
        "ci_high": None if suppressed else est + 0.1,
        "suppressed": suppressed,
    }


def test_sensitive_pairs():
    rows = [
        row("d", 0.4),
        row("le", 0.55, kind="list_experiment", direct="d"),
        row("d", 0.3, {"s": "a"}),
        row("le", 0.5, {"s": "a"}, kind="list_experiment", direct="d"),
        row("d", 0.2, {"s": "b"}, suppressed=True),
        row("le", 0.6, {"s": "b"}, kind="list_experiment", direct="d"),
    ]
    pairs = sensitive_pairs(rows)
    assert [p["domain"] for p in pairs] == [{}, {"s": "a"}, {"s": "b"}]
    assert pairs[0]["difference"] == pytest.approx(0.15)
    assert pairs[2]["direct_estimate"] is None and pairs[2]["difference"] is None and pairs[2]["suppressed"]


def test_is_binary():
    import polars as pl

    f = pl.DataFrame({"a": [0, 1, None], "b": [0, 2, 1], "c": ["0", "1", "1"]})
    assert is_binary(f, "a") and not is_binary(f, "b") and not is_binary(f, "c")


def test_indicator_rows_of_the_demo(built):
    rows = built.data["indicators"]
    le = [r for r in rows if r["id"] == "watched_sk_list"]
    assert le[0]["kind"] == "list_experiment" and le[0]["direct"] == "watched_sk"
    # every (indicator, by, domain) appears once; domains of a by-column are that column only
    seen = {(r["id"], tuple(r["domain"].items())) for r in rows}
    assert len(seen) == len(rows)
    assert {tuple(r["domain"]) for r in rows} <= {(), *((b,) for b in built.data["settings"]["by"])}
    # the list-experiment estimate may leave [0, 1] (never clipped); shares of a level stay inside
    for r in rows:
        if r["kind"] == "proportion" and r["estimate"] is not None:
            assert 0 <= r["estimate"] <= 1


def test_groups_in_the_forms_order(built):
    """Groups built by a calculate question come in the order the form names them (residents before
    defectors, exit cohorts in time order), not alphabetically; select_one groups in choice order."""
    from quietpoll.report.toplines import calculated_values

    assert calculated_values("if(${status} = 'inside', 'residents', 'defectors')") == ["residents", "defectors"]
    assert calculated_values('if(${a} != "x" and ${b} >= "y", "g1", if(${c}<\'z\', \'g2\', "g3"))') == [
        "g1",
        "g2",
        "g3",
    ]
    rows = [r for r in built.data["indicators"] if r["id"] == "ever_watched" and r["domain"]]
    order = {}
    for r in rows:
        ((by, v),) = r["domain"].items()
        order.setdefault(by, []).append(v)
    assert order["sample"] == ["residents", "defectors"]
    assert order["exit_cohort"] == ["inside", "before_2012", "2012_2015", "2016_2019", "2020_on"]
    assert order["sex"] == ["male", "female"]
    assert order["province_group"] == ["ne_border", "nw_border", "pyongyang", "interior"]
    assert built.data["settings"]["by_labels"]["sex"] != "sex"  # the question's label
