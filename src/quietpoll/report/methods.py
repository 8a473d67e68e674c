"""The methods statement: the AAPOR Transparency Initiative disclosure elements, filled from
study.toml ([study] sponsor, population, sampling, fieldwork, mode), the data, the weighting and the
questionnaire. An element study.toml does not give is said to be missing, never made up. Every
sentence is a whole message of the report's catalogue (report/i18n.py), in the report's language; the
summary paragraph says only what the study's own design and [study] fields support."""

from __future__ import annotations

import math
import re

from scipy import special

from .i18n import N_, translations
from .toplines import question_label

MISSING = N_("not stated in study.toml")
#: weighting method names as the report shows them (weighting/apply.py METHODS)
METHOD_NAMES = {
    "rake": N_("raking"),
    "raking": N_("raking"),
    "poststratify": N_("post-stratification"),
    "linear": N_("linear calibration"),
    "logit": N_("logit calibration"),
    "propensity": N_("propensity weighting"),
}


def _wording(instrument, ind, language: str, tr) -> list[dict]:
    _ = tr.gettext
    names = {q.name for q in instrument.questions}

    def label(name):
        return question_label(instrument, name, language) if name in names else None

    out = []
    if ind.list_experiment:
        count = ind.list_experiment["count"]
        parts = [q.name for q in instrument.questions if q.name.startswith(f"{count}_") and q.labels]
        if label(count) and instrument.question(count).labels:
            parts.insert(0, count)
        for p in parts:
            out.append({"question": p, "wording": label(p)})
        if not out:
            out.append(
                {
                    "question": count,
                    "wording": _("item count column '%(column)s' (list experiment)") % {"column": count},
                }
            )
        return out
    if ind.randomized_response:
        a = ind.randomized_response["answer"]
        return [
            {
                "question": a,
                "wording": label(a) or _("answer column '%(column)s'") % {"column": a},
                "note": _("randomized response (%(design)s design)") % {"design": ind.randomized_response["design"]},
            }
        ]
    v = ind.variable
    q = instrument.question(v) if v in names else None
    calc = q.calculation if q is not None else None
    # a calculate question: show how it is derived, with the questions it reads
    if calc and q is not None and not q.labels:
        refs = dict.fromkeys(re.findall(r"\$\{([^}]+)\}", calc))
        return [
            {"question": v, "wording": _("derived from other answers: %(calculation)s") % {"calculation": calc}}
        ] + [{"question": r, "wording": label(r)} for r in refs if r in names and instrument.question(r).labels]
    return [
        {
            "question": v,
            "wording": label(v) or _("derived column '%(column)s' (computed from other answers)") % {"column": v},
        }
    ]


def _weighting_texts(w: dict, design_weights: str | None, level: float, deff: float, tr) -> tuple[str, str]:
    """(the Weighting element, the summary's sentence on weighting) for the three cases: weighting to
    population margins, design weights only, no weights."""
    _ = tr.gettext
    lv = f"{100 * level:g}"
    if w.get("method"):
        method = _(METHOD_NAMES.get(w["method"], w["method"]))
        variables = ", ".join(w.get("variables") or [])
        element = _(
            "%(method)s to population margins of %(variables)s; Kish design effect of the weights "
            "%(deff).2f, effective sample size %(neff).0f"
        ) % {"method": method, "variables": variables, "deff": deff, "neff": w["effective_n"]}
        sentence = _(
            "Estimates are weighted to population margins of %(variables)s (%(method)s) and their "
            "%(level)s%% intervals account for the weighting. Weighting corrects these known margins, "
            "not how the people interviewed were selected."
        ) % {"variables": variables, "method": method, "level": lv}
    elif design_weights:
        element = _(
            "design weights (column %(column)s); no weighting to population margins (the study has no "
            "[weighting] section); Kish design effect of the weights %(deff).2f"
        ) % {"column": design_weights, "deff": deff}
        sentence = _(
            "Estimates use the design weights (column %(column)s) and their %(level)s%% intervals "
            "account for the sampling design; they are not weighted to population margins."
        ) % {"column": design_weights, "level": lv}
    else:
        element = _("none (no design weights and no [weighting] section): estimates describe the sample only")
        sentence = _(
            "Estimates are unweighted and describe the sample only; their %(level)s%% intervals account "
            "for the sampling design."
        ) % {"level": lv}
    return element, sentence


def methods_statement(data: dict, opts, instrument, cfg, tr=None) -> dict:
    """The AAPOR elements and a plain-language paragraph (in report.json's "methods"), in the language
    of `tr` (gettext translations; default: the report's language)."""
    tr = tr or translations(opts.language)
    _, ngettext = tr.gettext, tr.ngettext
    st = opts.study
    sample = data["sample"]
    w = data["weighting"]
    n = sample["n_analysed"]
    z = float(special.ndtri(0.5 + opts.level / 2))
    deff = w.get("kish_deff") or 1.0
    moe = z * math.sqrt(deff * 0.25 / n) if n else None
    overall = [r for r in data["indicators"] if not r["domain"] and r["deff"] is not None]
    mean_deff = sum(r["deff"] for r in overall) / len(overall) if overall else None
    by_sizes = "; ".join(
        f"{by}: " + ", ".join(f"{x['label']} {_('suppressed') if x['suppressed'] else x['n']}" for x in levels)
        for by, levels in sample["by"].items()
    )
    spec = getattr(cfg, "design", None)
    design_weights = getattr(spec, "weights", None) or getattr(spec, "probs", None)
    weighting, weighting_sentence = _weighting_texts(w, design_weights, opts.level, deff, tr)
    size = ngettext(
        "%(num)d interview analysed (%(read)d collected, %(excluded)d excluded by the quality checks)",
        "%(num)d interviews analysed (%(read)d collected, %(excluded)d excluded by the quality checks)",
        n,
    ) % {"num": n, "read": sample["n_read"], "excluded": sample["n_excluded"]}
    if moe is None:
        margin = _(MISSING)
    else:
        values = {"moe": 100 * moe, "n": n, "level": f"{100 * opts.level:g}", "deff": deff, "mean_deff": mean_deff}
        margin = (
            _(
                "±%(moe).1f percentage points for a share of 50%% over all %(n)d interviews at %(level)s%% "
                "confidence, including the design effect of the weights (%(deff).2f); larger in subgroups. "
                "Each estimate's own interval (design-based, Taylor linearization) is shown beside it; mean "
                "design effect of the headline indicators %(mean_deff).2f"
            )
            if mean_deff is not None
            else _(
                "±%(moe).1f percentage points for a share of 50%% over all %(n)d interviews at %(level)s%% "
                "confidence, including the design effect of the weights (%(deff).2f); larger in subgroups. "
                "Each estimate's own interval (design-based, Taylor linearization) is shown beside it"
            )
        ) % values
    form = {"title": instrument.title, "form": instrument.form_id, "version": instrument.version}
    questionnaire = (
        _("%(title)s (form %(form)s, version %(version)s)") if instrument.version else _("%(title)s (form %(form)s)")
    ) % form
    n_problems = data["quality"]["validation"]["n_problems"]
    elements = [
        {"element": _("Sponsor and who conducted the survey"), "value": st.sponsor or _(MISSING)},
        {"element": _("Population"), "value": st.population or _(MISSING)},
        {"element": _("Who was sampled and how"), "value": st.sampling or _(MISSING)},
        {"element": _("Dates of data collection"), "value": st.fieldwork or _(MISSING)},
        {"element": _("Mode of data collection"), "value": st.mode or _(MISSING)},
        {"element": _("Sample size"), "value": size + (f"; {by_sizes}" if by_sizes else "")},
        {"element": _("Weighting"), "value": weighting},
        {"element": _("Margin of error and design effect"), "value": margin},
        {"element": _("Questionnaire"), "value": questionnaire},
        {
            "element": _("Data quality"),
            "value": ngettext(
                "%(num)d validation problem; %(action)s", "%(num)d validation problems; %(action)s", n_problems
            )
            % {"num": n_problems, "action": data["quality"]["near_duplicates"]["action"]},
        },
        {
            "element": _("Disclosure control"),
            "value": (
                _(
                    "no published cell comes from fewer than %(min_cell)d respondents; small cells and enough "
                    "others to stop them being worked out from the totals are suppressed (threshold rule with "
                    "audited secondary suppression); dominance rule (%(dom_n)d, %(dom_k)s%%) on weights"
                )
                % {"min_cell": opts.min_cell, "dom_n": opts.dominance[0], "dom_k": f"{opts.dominance[1]:g}"}
            ),
        },
    ]
    if opts.synthetic:
        elements.insert(
            0,
            {
                "element": _("Data"),
                "value": _(
                    "SYNTHETIC: every interview in this report was generated by a computer; no real person answered"
                ),
            },
        )
    wording = [
        {"id": ind.id, "label": ind.text(opts.language), **q}
        for ind in opts.indicators
        for q in _wording(instrument, ind, opts.language, tr)
    ]
    parts = [_("This report uses SYNTHETIC data.")] if opts.synthetic else []
    parts.append(ngettext("%(num)d interview was analysed.", "%(num)d interviews were analysed.", n) % {"num": n})
    if st.population:
        parts.append(_("Population: %(population)s.") % {"population": st.population.rstrip(".")})
    parts.append(weighting_sentence)
    parts.append(_("Treat every number as an estimate with the interval shown."))
    return {
        "elements": elements,
        "question_wording": wording,
        "margin_of_error": moe,
        "kish_deff": deff,
        "mean_indicator_deff": mean_deff,
        "statement": " ".join(parts),
        "standard": _("AAPOR Transparency Initiative disclosure elements"),
    }
