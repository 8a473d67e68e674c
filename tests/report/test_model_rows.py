"""Model-based (MRP) rows of the report (report/model_rows.py) on the SYNTHETIC demo study, whose
study.toml turns [report] model_based on.

The evidence of issue 15: in the demo report no printed estimate lies outside [0, 1] without its
explanation, and the by-group rows that were suppressed or absurd now carry a labelled model-based
estimate. Both are read from the page itself (report.html, parsed, CSS selectors), then checked
against report.json. Also: the rule, the group floor, a fit failing its diagnostics publishes nothing,
and the cache (mode 0600, aggregates only, keyed by the exact inputs)."""

from __future__ import annotations

import json
import re
import shutil
import stat

import numpy as np
import polars as pl
import pytest

from quietpoll.errors import QuietpollError
from quietpoll.report import build_report, model_rows
from quietpoll.report.i18n import translations
from quietpoll.study import Indicator, ReportOptions, parse_report

from .htmlquery import parse

PCT = re.compile(r"(-?\d+(?:\.\d+)?)%")


@pytest.fixture(scope="module")
def page(built):
    return parse(built.html_path.read_text(encoding="utf-8"))


def _pct(text: str) -> list[float]:
    return [float(x) for x in PCT.findall(text)]


def _estimate_cells(page):
    """Every table cell that prints an estimate or an interval: all but the columns of differences
    between two estimates (the sensitive table's "Difference", MUBP's range of bias in points), which
    may rightly be negative."""
    for table in page.select("table"):
        rows = table.select("tr")
        heads = [th.text() for th in rows[0].select("th")] if rows else []
        for tr in rows:
            col = 0
            for td in tr.select("td"):
                head = heads[col] if col < len(heads) else ""
                if head not in ("Difference", "Selection bias (MUBP), points"):
                    yield td
                col += int(td.attrs.get("colspan", 1))


def test_no_printed_estimate_outside_0_100_without_its_explanation(page, built):
    """Every number printed as a percentage outside 0-100% is marked as such (span.outside), its row
    carries the outside-range marker, and the notes under its table explain it in plain words."""
    outside_note = "Outside 0–100%: this design's estimate is noisy at this sample size"
    marker = "c"
    seen = 0
    for td in _estimate_cells(page):
        for span_or_text in td.children:
            text = span_or_text if isinstance(span_or_text, str) else span_or_text.text()
            bad = [v for v in _pct(text) if not 0 <= v <= 100]
            if not bad:
                continue
            seen += len(bad)
            assert not isinstance(span_or_text, str) and "outside" in span_or_text.attrs.get("class", ""), td.text()
            tr = td.ancestor("tr")
            assert any(s.text() == marker for s in tr.select("sup.fn")), tr.text()
            table = tr.ancestor("table")
            # the notes list right after the table's scroll box explains the marker
            box = table.parent
            sibling = box.parent.children[box.parent.children.index(box) + 1 :]
            notes = next(n for n in sibling if not isinstance(n, str))
            assert notes.tag == "ul" and "notes" in notes.attrs["class"]
            assert any(
                li.select_one("sup.fn").text() == marker and outside_note in li.text() for li in notes.select("li")
            ), notes.text()
    assert seen > 0  # the demo's list experiment still has design-based estimates outside [0, 1]
    # nothing outside 0-100% anywhere else on the page (charts, notes), and never a model-based one
    svg_text = " ".join(t.text() for t in page.select("svg text"))
    assert all(0 <= v <= 100 for v in _pct(svg_text))
    for td in page.select("tr[data-method=mrp] td.model"):
        assert all(0 <= v <= 100 for v in _pct(td.text()))
    # the headline table's rows with an interval beyond 100% carry the same marker
    assert built.data["model_based"]["fits"]


def test_suppressed_and_absurd_group_rows_carry_a_labelled_model_based_estimate(page, built):
    data = built.data
    mb = data["model_based"]
    direct_only = {d["id"] for d in mb["direct_only"]}
    assert direct_only == {"knows_punished_rr"}  # randomized response: no model, said so
    assert page.select_one("p[data-direct-only=knows_punished_rr]") is not None
    fits = {f["id"]: f for f in mb["fits"]}
    rows = [r for r in data["indicators"] if r["domain"]]
    absurd = [r for r in rows if "outside_range" in (r.get("flags") or [])]
    suppressed = [r for r in rows if r["suppressed"]]
    assert len(absurd) >= 10 and len(suppressed) >= 60  # the demo's problem rows (issue 15)
    checked = 0
    for r in absurd + suppressed:
        if r["id"] in direct_only:
            continue
        assert fits[r["id"]]["published"], r["id"]
        m = r["model_based"]
        assert m["method"] == "mrp" and 0 <= m["ci_low"] <= m["estimate"] <= m["ci_high"] <= 1
        ((by, level),) = r["domain"].items()
        tr = page.select_one(f'tr[data-indicator="{r["id"]}"][data-by="{by}"][data-level="{level}"]')
        assert tr is not None and tr.attrs["data-method"] == "mrp"
        est, interval = tr.select("td.model")
        assert est.select_one("span.mb").text() == "model-based"  # the label, on the row itself
        assert _pct(est.text()) == [pytest.approx(100 * m["estimate"], abs=0.051)]
        lo, hi = _pct(interval.text())
        assert lo == pytest.approx(100 * m["ci_low"], abs=0.051) and hi == pytest.approx(100 * m["ci_high"], abs=0.051)
        if r["suppressed"]:  # the direct estimate stays suppressed, and so does the group's n
            assert tr.select_one("td.direct.sup") is not None and r["n"] is None
            assert tr.select("td")[3].text() == ""
        checked += 1
    assert checked == len([r for r in absurd + suppressed if r["id"] not in direct_only]) >= 70
    # every table with model rows says what "model-based" means; the chart shows them apart, with a legend
    for table in page.select("table.by-group"):
        if table.select("tr[data-method=mrp]"):
            box = table.parent
            after = [n for n in box.parent.children[box.parent.children.index(box) + 1 :] if not isinstance(n, str)]
            assert any("model-note" in n.attrs.get("class", "") for n in after[:2])
    assert page.select("svg polygon.model")
    assert "model-based estimate (MRP) and its posterior interval" in " ".join(
        t.text() for t in page.select("svg text")
    )


def test_model_section_names_the_model_and_its_diagnostics(page, built):
    section = page.select_one("#model-based")
    assert section is not None
    text = " ".join(p.text() for p in page.select("p"))
    for needle in (
        "random intercepts for province_group, exit_cohort",
        "fixed effects for sex, age_group",
        "normal(0, 2.5)",
        "half-normal(1)",
        "80 population cells",
        "list likelihood",
        "R-hat at most 1.01",
        "at least 400",
        "no divergent transitions",
        "a fit that fails publishes nothing",
    ):
        assert needle in text, needle
    fits = page.select("#model-fits tr[data-indicator]")
    assert len(fits) == len(built.data["model_based"]["fits"]) == 9
    for f in built.data["model_based"]["fits"]:
        assert f["rhat"] <= 1.01 and f["ess"] >= 400 and f["divergences"] == 0
    element = next(e for e in built.data["methods"]["elements"] if e["element"] == "Model-based estimates")
    assert "multilevel regression and poststratification" in element["value"]


def test_the_cache_keeps_aggregates_only_in_private_files(built, demo_study):
    folder = demo_study / model_rows.CACHE_DIR
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = sorted(folder.glob("*.json"))
    assert len(files) == 9
    answers = pl.read_csv(demo_study / "responses.csv", infer_schema_length=None)
    ids = {str(v) for v in answers.get_column("_uuid").to_list()} if "_uuid" in answers.columns else set()
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
        doc = json.loads(f.read_text(encoding="utf-8"))
        assert set(doc) == {"v", "key", "summary"} and f.stem == doc["key"]
        s = doc["summary"]
        for by, groups in s["domains"].items():
            for stats in groups.values():
                assert set(stats) == {"estimate", "se", "ci_low", "ci_high"}
        assert not any(i in f.read_text() for i in ids if len(i) > 6)


def test_a_second_report_reads_the_cache_and_gives_the_same_file(built, demo_study, tmp_path, monkeypatch):
    model_rows._MEMORY.clear()

    def no_fit(*a, **k):
        raise AssertionError("fitted again although the inputs are unchanged")

    monkeypatch.setattr(model_rows, "_fit", no_fit)
    again = build_report(demo_study, tmp_path)
    assert again.json_path.read_bytes() == built.json_path.read_bytes()


def test_a_fit_this_process_already_made_is_still_written_to_the_study(built, demo_study, tmp_path):
    """Another study with the same inputs, in a process that has the summaries in memory (pytest's, after the
    demo's report): its model-cache/ is written all the same, so it never depends on what ran before."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(demo_study, copy, ignore=shutil.ignore_patterns(model_rows.CACHE_DIR))
    assert model_rows._MEMORY  # the demo's fits are in this process
    build_report(copy, tmp_path / "out")
    written = sorted(p.name for p in (copy / model_rows.CACHE_DIR).glob("*.json"))
    assert written == sorted(p.name for p in (demo_study / model_rows.CACHE_DIR).glob("*.json"))
    assert all(stat.S_IMODE((copy / model_rows.CACHE_DIR / n).stat().st_mode) == 0o600 for n in written)


def test_a_changed_answer_is_a_new_key(demo_study, tmp_path):
    from quietpoll.pipeline import prepare_study
    from quietpoll.study import load_study

    cfg = load_study(demo_study)
    prepared = prepare_study(cfg)
    frame = prepared.frame
    cells = model_rows.model_cells(
        cfg.weighting.targets, cfg.weighting.population, frame, prepared.weighted.weights, cfg.report.by
    )
    ind = next(i for i in cfg.report.indicators if i.id == "owns_usb")
    key = model_rows._key(frame, ind, cells, cfg.report.by, 0.95, 1)
    assert key == model_rows._key(frame, ind, cells, cfg.report.by, 0.95, 1)
    flipped = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(1 - pl.col("owns_usb"))
        .otherwise(pl.col("owns_usb"))
        .alias("owns_usb")
    )
    assert model_rows._key(flipped, ind, cells, cfg.report.by, 0.95, 1) != key
    assert model_rows._key(frame, ind, cells, cfg.report.by, 0.95, 2) != key  # the seed
    assert model_rows._key(frame, ind, cells, cfg.report.by, 0.9, 1) != key  # the level
    # cells: the sample's shares of exit cohort crossed into the census cells, sample carried by exit cohort
    assert cells.census == ["sex", "province_group", "age_group"]
    assert cells.carried == {"sample": "exit_cohort"}
    assert "sample" not in cells.fit.columns and cells.full.height == 80
    assert cells.full.get_column("N").sum() == pytest.approx(cfg.weighting.population)


# --- the rule, the floor and a failing fit, on a small synthetic frame without sampling -----------------


def _frame(n: int = 60) -> pl.DataFrame:
    rng = np.random.default_rng(5)
    return pl.DataFrame(
        {
            "sex": rng.choice(["male", "female"], n),
            "region": np.where(np.arange(n) < 8, "tiny", rng.choice(["a", "b"], n)),
            "y": rng.integers(0, 2, n),
            "rr": rng.integers(0, 2, n),
        }
    )


class _Weighting:
    targets = {"sex": {"male": 0.5, "female": 0.5}, "region": {"tiny": 0.1, "a": 0.45, "b": 0.45}}
    population = 1000.0


def _rows(frame) -> list[dict]:
    def row(iid, region, **kw):
        base = {"id": iid, "label": iid, "share": True, "domain": {"region": region}, "suppressed": False, "flags": []}
        return base | kw

    return [
        row("y", "tiny", suppressed=True),  # 8 interviews < min_cell 10: stays suppressed
        row("y", "a", flags=["outside_range"]),
        row("y", "b"),  # a sound direct estimate: no model
        row("rr", "a", suppressed=True),  # randomized response: no model
    ]


def _opts(**kw) -> ReportOptions:
    inds = (
        Indicator(id="y", label="y", variable="y"),
        Indicator(id="rr", label="rr", randomized_response={"answer": "rr", "design": "forced"}),
    )
    return ReportOptions(by=("region",), indicators=inds, model_based=True, **kw)


def _add_rows(rows: list[dict], frame: pl.DataFrame) -> dict:
    """add_model_rows on the small frame's rows, with unit weights, no study folder, in English."""
    return model_rows.add_model_rows(
        rows,
        frame=frame,
        weights=np.ones(frame.height),
        weighting=_Weighting(),
        opts=_opts(),
        study_dir=None,
        tr=translations("English"),
    )


def test_rule_floor_and_direct_only(monkeypatch):
    frame = _frame()
    summary = {
        "published": True,
        "rhat": 1.0,
        "ess": 900.0,
        "divergences": 0,
        "rhat_max": 1.01,
        "ess_min": 400,
        "target_accept": [0.8],
        "fixed": ["sex"],
        "random": ["region"],
        "priors": {},
        "n_used": 60,
        "domains": {
            "region": {g: {"estimate": 0.4, "se": 0.1, "ci_low": 0.2, "ci_high": 0.6} for g in ("tiny", "a", "b")}
        },
    }
    monkeypatch.setattr(model_rows, "_fit", lambda *a, **k: summary)
    rows = _rows(frame)
    section = _add_rows(rows, frame)
    tiny, a, b, rr = rows
    assert "model_based" not in tiny and "model_based" not in b and "model_based" not in rr
    assert a["model_based"]["estimate"] == 0.4 and a["model_based"]["reasons"] == ["outside_range"]
    (fit,) = section["fits"]
    assert fit["rows"] == 1 and fit["too_few"] == 1
    assert [d["id"] for d in section["direct_only"]] == ["rr"]
    assert "randomized response" in section["direct_only"][0]["why"]
    assert model_rows.needs_model({"suppressed": False, "flags": ["small_n"]}, _opts()) == ["small_n"]
    assert model_rows.needs_model({"suppressed": False, "flags": []}, _opts()) == []


def test_a_fit_failing_its_diagnostics_publishes_nothing(monkeypatch):
    """A real (short) NUTS run: 30 draws cannot reach 400 effective draws, so the fit fails, no row gets
    a model-based number, and the section says why in words."""
    monkeypatch.setattr(model_rows, "SETTINGS", model_rows.SETTINGS | {"num_warmup": 30, "num_samples": 30})
    frame = _frame()
    rows = _rows(frame)
    stored = {}
    monkeypatch.setattr(model_rows, "_store", lambda d, key, s: stored.update({key: s}))
    section = _add_rows(rows, frame)
    (fit,) = section["fits"]
    assert fit["published"] is False and "effective sample size" in fit["failure"]
    assert not any("model_based" in r for r in rows)
    (kept,) = stored.values()
    assert kept["domains"] == {}  # the cache keeps no number of a failed fit either


def test_no_weighting_targets_no_model_rows():
    frame = _frame()
    rows = _rows(frame)
    section = model_rows.add_model_rows(
        rows, frame=frame, weights=np.ones(60), weighting=None, opts=_opts(), study_dir=None, tr=translations("English")
    )
    assert section["unavailable"] and not any("model_based" in r for r in rows)


def test_switch_must_be_true_or_false():
    assert parse_report({"model_based": True}).model_based is True
    assert parse_report({}).model_based is False
    with pytest.raises(QuietpollError, match="model_based must be true or false"):
        parse_report({"model_based": "yes"})


def test_switch_off_means_no_model_rows(demo_study, tmp_path):
    copy = tmp_path / "study"
    shutil.copytree(demo_study, copy, ignore=shutil.ignore_patterns(model_rows.CACHE_DIR))
    toml = (copy / "study.toml").read_text(encoding="utf-8")
    (copy / "study.toml").write_text(toml.replace("model_based = true", "model_based = false"), encoding="utf-8")
    res = build_report(copy, tmp_path / "out", indicators=["owns_usb"])
    assert "model_based" not in res.data and not (copy / model_rows.CACHE_DIR).exists()
    assert 'data-method="mrp"' not in res.html_path.read_text(encoding="utf-8")
