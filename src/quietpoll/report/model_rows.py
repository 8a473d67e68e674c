"""Model-based (MRP) estimates for the report's by-group rows, with ``[report] model_based = true``.

**Which rows** (the rule). A by-group row of a share indicator (a level's share, the mean of a 0/1
answer, or a list experiment's sensitive item) is shown model-based when its direct, design-based
estimate is

* suppressed by the table rules (threshold, dominance, secondary suppression), or
* too imprecise: its interval is wider than ``[report] max_ci_width`` or it rests on fewer than
  ``[report] min_n`` respondents, or
* outside [0, 1] (the estimate or an end of its interval: list experiments can give 130%),

and its group holds at least ``[report] min_cell`` interviews with the answer: a smaller group stays
suppressed, since even a model-based estimate leans on its few answers. Headline rows stay direct (they
carry MUBP's selection bounds instead, report/selection.py). Randomized-response rows and means of other
numbers stay direct: quietpoll has no model-based estimator for them, and the report says so.

**Model** (quietpoll.estimators.mrp, NumPyro NUTS): one fit per indicator, giving every group of every
by-column. The cells are the study's ``[weighting.targets]`` margins crossed under independence
(mrp_cells.cells_from_targets), crossed with the by-columns the census does not hold (sample, exit
cohort) at their weighted shares in the sample: the population's joint distribution of those is
unknown, and the weighted sample is the study's estimate of it. A group of such a column is thus the
population as the model predicts it for people in that group. A by-column that another by-column
determines (sample, given exit cohort) is in the cells but not in the model: the finer grouping carries
it. The variables enter by mrp's documented rule (two levels: a fixed effect; three or more: random
intercepts). A fit that fails its diagnostics (R-hat, effective sample size, divergent transitions,
after mrp's one retry) publishes nothing, and the report says so.

**Cache.** A fit takes seconds to a minute (JAX compiles the sampler once per process), so each fit's
posterior summaries (estimates and intervals of the groups, the diagnostics: aggregates only, never a
respondent's row) are kept in ``STUDY/model-cache/<sha256>.json`` (folder 0700, files 0600, written
atomically), keyed by the SHA-256 of the exact inputs: the model's data columns, the outcome, the cells,
the seed, the sampler settings and the library versions. Any change to one of them is a new key, so a
stale summary is never used. The cache lives beside the study's answers, never in the report's output
folder, which is the one that gets published. A process also keeps the summaries in memory.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..errors import QuietpollError
from .i18n import N_

__all__ = ["CACHE_DIR", "SETTINGS", "add_model_rows", "needs_model", "model_cells"]

CACHE_DIR = "model-cache"
VERSION = 1  # of the cached summary's shape and the rule that made its inputs
#: the sampler settings of the report's fits (two sequential chains: the machine's other work goes on)
SETTINGS: dict[str, Any] = {
    "num_warmup": 500,
    "num_samples": 1000,
    "num_chains": 2,
    "chain_method": "sequential",
    "target_accept": 0.8,
    "retry_target_accept": 0.95,
}
SEED = 20261122
REASONS = ("suppressed", "wide_interval", "small_n", "outside_range")
_MEMORY: dict[str, dict] = {}

NO_MODEL = {
    "randomized_response": N_(
        "randomized response: quietpoll has no model-based estimator for it, so these rows stay design-based"
    ),
    "mean": N_("a mean of numbers: the model is for yes/no answers, so these rows stay design-based"),
}


def needs_model(row: Mapping[str, Any], opts) -> list[str]:
    """Why a by-group row's direct estimate is replaced (module text): a subset of REASONS, in order;
    empty when the direct estimate stands."""
    if row.get("suppressed"):
        return ["suppressed"]
    out = [f for f in ("wide_interval", "small_n", "outside_range") if f in (row.get("flags") or [])]
    return out


def _text(col: pl.Series) -> pl.Series:
    from ..weighting.targets import text_series

    return text_series(col)


def _determined(frame: pl.DataFrame, a: str, b: str) -> bool:
    """Is column `a` a function of column `b` (each level of b occurs with one level of a) with b finer?"""
    pair = pl.DataFrame({"a": _text(frame.get_column(a)), "b": _text(frame.get_column(b))}).drop_nulls().unique()
    return (
        pair.height > 0
        and pair.get_column("b").n_unique() == pair.height
        and pair.get_column("a").n_unique() < pair.height
    )


@dataclass
class Cells:
    """The poststratification cells of the report's fits (module text)."""

    census: list[str]  # the [weighting.targets] variables
    extra: list[str]  # by-columns the census does not hold, crossed in at their weighted sample shares
    carried: dict[str, str]  # extra by-column -> the by-column that determines it: in the cells, not the model
    full: pl.DataFrame  # every column (census, extra) and N: what each by-column is poststratified over
    fit: pl.DataFrame  # the model's variables and N


def model_cells(targets, population, frame: pl.DataFrame, weights: np.ndarray, by: Sequence[str]) -> Cells:
    """The census cells crossed with the by-columns it lacks (module text). Raises a QuietpollError
    (mrp_cells) when the targets give no cells (a numeric total, a data level without a target)."""
    from ..estimators.mrp_cells import COUNT, cells_from_targets

    census = cells_from_targets(targets, frame, population)
    census_vars = [c for c in census.columns if c != COUNT]
    extra = [b for b in by if b not in census_vars and b in frame.columns]
    carried = {a: b for a in extra for b in extra if b != a and _determined(frame, a, b)}
    full = census
    if extra:
        mix = (
            pl.DataFrame({**{b: _text(frame.get_column(b)) for b in extra}, "_w": np.asarray(weights, float)})
            .drop_nulls()
            .group_by(extra)
            .agg(pl.col("_w").sum())
            .sort(extra)
        )
        mix = mix.with_columns((pl.col("_w") / pl.col("_w").sum()).alias("_w"))
        full = census.join(mix, how="cross").with_columns((pl.col(COUNT) * pl.col("_w")).alias(COUNT)).drop("_w")
    model_vars = [c for c in full.columns if c != COUNT and c not in carried]
    fit = full.group_by(model_vars, maintain_order=True).agg(pl.col(COUNT).sum()) if carried else full
    return Cells(census_vars, extra, carried, full, fit.select(*model_vars, COUNT))


def _outcome(ind) -> dict:
    if ind.kind == "list_experiment":
        return {"list_experiment": (ind.list_experiment["count"], ind.list_experiment["treatment"])}
    return {"prop": ind.variable, "success": ind.level}


def _key(frame: pl.DataFrame, ind, cells: Cells, by: Sequence[str], level: float, seed: int) -> str:
    outcome = _outcome(ind)
    cols = list(dict.fromkeys([*ind.columns(), *cells.census, *cells.extra]))
    versions: dict[str, str | None] = {}
    for lib in ("numpyro", "jax", "jaxlib"):
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:  # pragma: no cover - installed with quietpoll
            versions[lib] = None
    h = hashlib.sha256()
    head = {
        "v": VERSION,
        "outcome": {k: list(v) if isinstance(v, tuple) else v for k, v in outcome.items()},
        "by": list(by),
        "carried": sorted(cells.carried),
        "level": level,
        "seed": seed,
        "settings": SETTINGS,
        "versions": versions,
    }
    h.update(json.dumps(head, sort_keys=True).encode())
    h.update(b"\0cells\0" + cells.full.write_csv().encode())
    h.update(b"\0data\0" + frame.select(cols).write_csv().encode())
    return h.hexdigest()


def _fit(frame: pl.DataFrame, ind, cells: Cells, by: Sequence[str], level: float, seed: int) -> dict:
    """One MRP fit of `ind` poststratified by every by-column: the summary the cache keeps."""
    from ..estimators.mrp import ESS_MIN, RHAT_MAX, mrp

    res = mrp(frame, **_outcome(ind), poststrat=cells.fit, level=level, seed=seed, **SETTINGS)
    head = res.rows[0]
    out: dict[str, Any] = {
        "published": bool(head["published"]),
        "rhat": head["rhat"],
        "ess": head["ess"],
        "divergences": head["divergences"],
        "rhat_max": RHAT_MAX,
        "ess_min": ESS_MIN,
        "target_accept": list(res.model["target_accept"]),
        "fixed": list(dict.fromkeys(c.split("=")[0] for c in res.model["fixed"])),  # variables, not columns
        "random": list(res.model["random"]),
        "priors": dict(res.model["priors"]),
        "n_used": res.model["n_used"],
        "domains": {},
    }
    if not out["published"]:
        return out  # a failed fit keeps no numbers, not even in the cache
    for b in by:
        if b not in cells.full.columns:
            continue
        rows = res.poststratify(cells.full, by=b)[1:]
        out["domains"][b] = {
            str(r["domain"][b]): {k: r[k] for k in ("estimate", "se", "ci_low", "ci_high")} for r in rows
        }
    return out


def _cached(study_dir: Path | None, key: str) -> dict | None:
    if key in _MEMORY:
        if study_dir is not None and not (study_dir / CACHE_DIR / f"{key}.json").is_file():
            _store(study_dir, key, _MEMORY[key])  # the study's cache is whole whatever this process fitted
        return _MEMORY[key]
    if study_dir is None:
        return None
    from ..safe_output import read_private_entry

    got = read_private_entry(study_dir / CACHE_DIR, key, VERSION, "summary")  # unreadable: fitted again
    if not isinstance(got, dict):
        return None
    _MEMORY[key] = got
    return got


def _store(study_dir: Path | None, key: str, summary: dict) -> None:
    _MEMORY[key] = summary
    if study_dir is None:
        return
    from ..safe_output import write_private_entry

    write_private_entry(study_dir / CACHE_DIR, key, VERSION, "summary", summary, allow_nan=False)


def _group_sizes(frame: pl.DataFrame, ind, cells: Cells, by: str) -> dict[str, int]:
    """Interviews per group of `by` with the answer and every model variable (the rows a fit uses)."""
    cols = list(dict.fromkeys([*ind.columns(), *cells.census, *cells.extra]))
    ok = pl.all_horizontal([pl.col(c).is_not_null() for c in cols])
    used = frame.filter(ok)
    counts = _text(used.get_column(by)).value_counts()
    return {str(v): int(n) for v, n in counts.iter_rows()}


def _failure_text(fit: dict, tr) -> str:
    _, ngettext = tr.gettext, tr.ngettext
    why = []
    if fit.get("error"):
        return _("the model could not be fitted to these data")
    if fit["rhat"] is None or not fit["rhat"] <= fit["rhat_max"]:
        why.append(
            _("R-hat %(rhat)s above %(max)s")
            % {"rhat": "—" if fit["rhat"] is None else f"{fit['rhat']:.3f}", "max": f"{fit['rhat_max']:g}"}
        )
    if fit["ess"] is None or not fit["ess"] >= fit["ess_min"]:
        why.append(
            _("effective sample size %(ess)s below %(min)s")
            % {"ess": "—" if fit["ess"] is None else f"{fit['ess']:.0f}", "min": f"{fit['ess_min']:g}"}
        )
    if fit["divergences"]:
        why.append(
            ngettext("%(num)d divergent transition", "%(num)d divergent transitions", fit["divergences"])
            % {"num": fit["divergences"]}
        )
    return "; ".join(why)


def add_model_rows(
    rows: list[dict],
    *,
    frame: pl.DataFrame,
    weights: np.ndarray,
    weighting,
    opts,
    study_dir: Path | None,
    tr,
    progress=None,
) -> dict:
    """Adds "model_based" (the MRP estimate and interval, the reasons) to each by-group row the rule picks
    (module text) and returns report.json's "model_based" section: the model, the rule, every fit with
    its diagnostics, and the rows that stay design-based and why."""
    _ = tr.gettext
    by = [b for b in opts.by if b in frame.columns]
    section: dict[str, Any] = {
        "rule": {"max_ci_width": opts.max_ci_width, "min_n": opts.min_n, "min_cell": opts.min_cell},
        "level": opts.level,
        "fits": [],
        "direct_only": [],
        "unavailable": None,
    }
    wanted: dict[str, list[dict]] = {}
    for r in rows:
        if r["domain"] and needs_model(r, opts):
            wanted.setdefault(r["id"], []).append(r)
    if not wanted:
        return section
    if weighting is None or not weighting.targets:
        section["unavailable"] = _(
            "no model-based estimates: the study has no [weighting] targets, which give the population cells"
        )
        return section
    try:
        cells = model_cells(weighting.targets, weighting.population, frame, weights, by)
    except QuietpollError:
        section["unavailable"] = _(
            "no model-based estimates: the [weighting] targets give no population cells (a numeric total, or "
            "a level of the data without a target)"
        )
        return section
    section["cells"] = {
        "n": cells.full.height,
        "census": cells.census,
        "sample_shares": cells.extra,
        "carried": [{"column": a, "through": b} for a, b in cells.carried.items()],
    }
    from ..estimators.mrp import ESS_MIN, RHAT_MAX

    section["settings"] = SETTINGS | {"seed": SEED, "rhat_max": RHAT_MAX, "ess_min": ESS_MIN}
    for ind in opts.indicators:
        todo = wanted.get(ind.id)
        if not todo:
            continue
        share = bool(todo[0].get("share"))
        kind = ind.kind if ind.kind != "mean" or not share else "proportion"
        if kind not in ("proportion", "list_experiment"):
            section["direct_only"].append(
                {
                    "id": ind.id,
                    "label": todo[0]["label"],
                    "rows": len(todo),
                    "why": _(NO_MODEL.get(kind, NO_MODEL["mean"])),
                }
            )
            continue
        if progress is not None:
            progress(ind.id)
        key = _key(frame, ind, cells, by, opts.level, SEED)
        fit = _cached(study_dir, key)
        if fit is None:
            try:
                fit = _fit(frame, ind, cells, by, opts.level, SEED)
            except QuietpollError:
                fit = {"published": False, "error": True, "domains": {}}
            _store(study_dir, key, fit)
        entry: dict[str, Any] = {
            "id": ind.id,
            "label": todo[0]["label"],
            "kind": ind.kind,
            "published": fit["published"],
            "failure": None if fit["published"] else _failure_text(fit, tr),
            **{k: fit.get(k) for k in ("rhat", "ess", "divergences", "target_accept", "n_used")},
            "rows": 0,
            "too_few": 0,
        }
        section.setdefault("fixed", fit.get("fixed"))
        section.setdefault("random", fit.get("random"))
        section.setdefault("priors", fit.get("priors"))
        if fit["published"]:
            sizes = {b: _group_sizes(frame, ind, cells, b) for b in {next(iter(r["domain"])) for r in todo}}
            for r in todo:
                ((b, value),) = r["domain"].items()
                got = fit["domains"].get(b, {}).get(str(value))
                if sizes[b].get(str(value), 0) < opts.min_cell:
                    entry["too_few"] += 1
                    continue
                if got is None or any(
                    got[k] is None or not math.isfinite(got[k]) for k in ("estimate", "ci_low", "ci_high")
                ):
                    continue
                r["model_based"] = {
                    "method": "mrp",
                    "estimate": got["estimate"],
                    "ci_low": got["ci_low"],
                    "ci_high": got["ci_high"],
                    "se": got["se"],
                    "level": opts.level,
                    "reasons": needs_model(r, opts),
                }
                entry["rows"] += 1
        section["fits"].append(entry)
    return section


def methods_element(section: dict, tr) -> dict:
    """The methods table's line on the model-based estimates (in the report's language)."""
    _, ngettext = tr.gettext, tr.ngettext
    if section.get("unavailable"):
        return {"element": _("Model-based estimates"), "value": section["unavailable"]}
    shown = sum(f["rows"] for f in section["fits"])
    failed = [f["label"] for f in section["fits"] if not f["published"]]
    value = ngettext(
        "multilevel regression and poststratification (MRP) for %(num)d by-group row whose direct estimate "
        "was suppressed, too imprecise or outside 0–100%%; see “Model-based estimates”",
        "multilevel regression and poststratification (MRP) for %(num)d by-group rows whose direct estimate "
        "was suppressed, too imprecise or outside 0–100%%; see “Model-based estimates”",
        shown,
    ) % {"num": shown}
    if failed:
        value += "; " + _("fits that failed their diagnostics publish nothing: %(indicators)s") % {
            "indicators": ", ".join(failed)
        }
    return {"element": _("Model-based estimates"), "value": value}
