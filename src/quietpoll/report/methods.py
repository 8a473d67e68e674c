"""The methods statement: the AAPOR Transparency Initiative disclosure elements, filled from
study.toml ([study] sponsor, population, sampling, fieldwork, mode), the data, the weighting and the
questionnaire. An element study.toml does not give is said to be missing, never made up."""

from __future__ import annotations

import re

import math

from scipy import stats

from .toplines import question_label

MISSING = "not stated in study.toml"


def _wording(instrument, ind, language: str) -> list[dict]:
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
            out.append({"question": count, "wording": f"item count column '{count}' (list experiment)"})
        return out
    if ind.randomized_response:
        a = ind.randomized_response["answer"]
        return [{"question": a, "wording": label(a) or f"answer column '{a}'",
                 "note": f"randomized response ({ind.randomized_response['design']} design)"}]
    v = ind.variable
    q = instrument.question(v) if v in names else None
    calc = q.calculation if q is not None else None
    if calc and not q.labels:     # a calculate question: show how it is derived, with the questions it reads
        refs = dict.fromkeys(re.findall(r"\$\{([^}]+)\}", calc))
        return [{"question": v, "wording": f"derived from other answers: {calc}"}] + [
            {"question": r, "wording": label(r)} for r in refs if r in names and instrument.question(r).labels]
    return [{"question": v, "wording": label(v) or f"derived column '{v}' (computed from other answers)"}]


def methods_statement(data: dict, opts, instrument, cfg) -> dict:
    """The AAPOR elements and a plain-language paragraph (in report.json's "methods")."""
    st = opts.study
    sample = data["sample"]
    w = data["weighting"]
    n = sample["n_analysed"]
    z = float(stats.norm.ppf(0.5 + opts.level / 2))
    deff = w.get("kish_deff") or 1.0
    moe = z * math.sqrt(deff * 0.25 / n) if n else None
    overall = [r for r in data["indicators"] if not r["domain"] and r["deff"] is not None]
    mean_deff = sum(r["deff"] for r in overall) / len(overall) if overall else None
    by_sizes = "; ".join(
        f"{by}: " + ", ".join(f"{x['label']} {'suppressed' if x['suppressed'] else x['n']}" for x in levels)
        for by, levels in sample["by"].items())
    if w.get("method"):
        weighting = (f"{w['method']} to population margins of {', '.join(w.get('variables') or [])}; "
                     f"Kish design effect of the weights {deff:.2f}, effective sample size "
                     f"{w['effective_n']:.0f}")
    else:
        weighting = "none (no [weighting] section): estimates describe the sample only"
    elements = [
        {"element": "Sponsor and who conducted the survey", "value": st.sponsor or MISSING},
        {"element": "Population", "value": st.population or MISSING},
        {"element": "Who was sampled and how", "value": st.sampling or MISSING},
        {"element": "Dates of data collection", "value": st.fieldwork or MISSING},
        {"element": "Mode of data collection", "value": st.mode or MISSING},
        {"element": "Sample size", "value": (f"{n} interviews analysed ({sample['n_read']} collected, "
                                             f"{sample['n_excluded']} excluded by the quality checks)"
                                             + (f"; {by_sizes}" if by_sizes else ""))},
        {"element": "Weighting", "value": weighting},
        {"element": "Margin of error and design effect",
         "value": (f"±{100 * moe:.1f} percentage points for a share of 50% over all {n} interviews at "
                   f"{100 * opts.level:g}% confidence, including the design effect of the weights ({deff:.2f}); "
                   "larger in subgroups. Each estimate's own interval (design-based, Taylor linearization) "
                   "is shown beside it" + (f"; mean design effect of the headline indicators {mean_deff:.2f}"
                                           if mean_deff is not None else "")) if moe is not None else MISSING},
        {"element": "Questionnaire", "value": f"{instrument.title} (form {instrument.form_id}"
                                              f"{', version ' + instrument.version if instrument.version else ''})"},
        {"element": "Data quality", "value": f"{data['quality']['validation']['n_problems']} validation problem(s); "
                                             f"{data['quality']['near_duplicates']['action']}"},
        {"element": "Disclosure control", "value": (
            f"no published cell comes from fewer than {opts.min_cell} respondents; small cells and enough others "
            "to stop them being worked out from the totals are suppressed (threshold rule with audited "
            f"secondary suppression); dominance rule ({opts.dominance[0]}, {opts.dominance[1]:g}%) on weights")},
    ]
    if opts.synthetic:
        elements.insert(0, {"element": "Data", "value": "SYNTHETIC: every interview in this report was generated "
                                                        "by a computer; no real person answered"})
    wording = [{"id": ind.id, "label": ind.text(opts.language), **q}
               for ind in opts.indicators for q in _wording(instrument, ind, opts.language)]
    statement = (f"{'This report uses SYNTHETIC data. ' if opts.synthetic else ''}"
                 f"{n} interviews were analysed. Estimates are weighted ({weighting.split(';')[0]}) and their "
                 f"{100 * opts.level:g}% intervals account for the weighting. Samples of people who cannot speak "
                 "freely are small and not random: weighting corrects the known margins, not the selection of "
                 "who could be reached, so treat every number as an estimate with the interval shown.")
    return {"elements": elements, "question_wording": wording, "margin_of_error": moe, "kish_deff": deff,
            "mean_indicator_deff": mean_deff, "statement": statement,
            "standard": "AAPOR Transparency Initiative disclosure elements"}
