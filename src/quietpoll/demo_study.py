"""A SYNTHETIC demo study shaped like the published foreign-media surveys of North Korea.

:func:`make_study` writes a complete study folder (``study.toml``, ``form.xlsx``, ``responses.csv``,
``truth.json``, ``README-SYNTHETIC.md``) that the rest of quietpoll reads like a real one. Nothing in
it is real: every answer is drawn by numpy from the model below, with a fixed seed.

The model (every coefficient is a synthetic choice, not a fact):

* **Population.** ``N_POP`` synthetic adults (15 or older). Province, sex and age group (15-64 / 65+)
  are drawn independently from the DPRK 2008 census margins (the joint distribution is unknown, so
  independence is an assumption); the 10-year age bands within 15-64 are spread by years of age.
  Settlement and trade involvement are synthetic.
* **Behaviour.** Each person has a latent openness ``eta`` (border provinces, youth, women, cities
  and traders higher, plus personal noise); the true behaviours (ever watched foreign video, at least
  monthly, South Korean video, foreign radio weekly, owns a USB drive, home inspected, knows someone
  punished, sees more danger since 2012) are Bernoulli in logistic functions of ``eta``. Their
  population means are the truth (``truth.json``).
* **Samples.** 100 defectors in fixed (province x sex) counts, 72% women and 78% from North Hamgyong
  and Ryanggang (the MOU shape), mostly people who left after 2012; they answer about life before they
  left, so older exit cohorts report less (a cohort shift of ``eta``). 50 residents reached by phone
  through five intermediaries, spread over provinces but selected on openness (outward-looking people
  talk). Three resident interviews are copies of another interview of the same intermediary with two
  answers changed; one defector interview has a months-in-third-country value that breaks the form's
  constraint. Both are planted and documented in README-SYNTHETIC.md.
* **Answers.** Direct questions about illegal acts are under-reported (some watchers refuse or deny);
  the list experiment (treatment drawn at random) and the forced-response item are answered from the
  true behaviour. Every question of the form is filled according to its skip logic and constraints.

Weighting (raking to the census margins of sex, province group and age group) removes the province,
sex and age selection but not the selection on openness nor the cohort shift: the weighted intervals
should cover most true values, the unweighted estimates should miss most by far.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

from quietpoll.safe_output import neutralize_formulas

from .demo_census import CENSUS, FIELDWORK, INDICATORS, N_POP, PROVINCE_GROUPS, PROVINCES  # noqa: F401

__all__ = ["make_study", "INDICATORS", "PROVINCES", "PROVINCE_GROUPS", "CENSUS", "N_POP"]

AGE_BANDS = ("a10_19", "a20_29", "a30_39", "a40_49", "a50_59", "a60_plus")
COHORTS = ("before_2012", "2012_2015", "2016_2019", "2020_on")
COHORT_YEARS = {
    "before_2012": (2000, 2011),
    "2012_2015": (2012, 2015),
    "2016_2019": (2016, 2019),
    "2020_on": (2020, 2025),
}

# ---- synthetic model coefficients (logit scale) -------------------------------------------------------
PROVINCE_EFFECT = {
    "north_hamgyong": 1.6,
    "ryanggang": 1.6,
    "north_pyongan": 0.9,
    "chagang": 0.6,
    "pyongyang": 0.6,
    "south_pyongan": 0.0,
    "south_hwanghae": -0.3,
    "north_hwanghae": -0.2,
    "kangwon": -0.4,
    "south_hamgyong": 0.2,
}
AGE_EFFECT = np.array([0.5, 0.6, 0.4, 0.1, -0.3, -0.9])
COHORT_SHIFT = {"before_2012": -1.0, "2012_2015": -0.3, "2016_2019": 0.0, "2020_on": 0.1}
RESIDENT_SELECTION = 0.8  # residents drawn with probability proportional to exp(0.8 * eta)
DEFECTOR_SELECTION = 0.3

# Fixed sample shapes (synthetic, after the MOU statistics and the UMG 2022 design).
DEFECTOR_PROVINCES = {
    "north_hamgyong": 62,
    "ryanggang": 16,
    "north_pyongan": 6,
    "chagang": 2,
    "south_hamgyong": 6,
    "pyongyang": 2,
    "south_pyongan": 3,
    "north_hwanghae": 1,
    "south_hwanghae": 1,
    "kangwon": 1,
}
DEFECTOR_WOMEN = 0.72
DEFECTOR_COHORTS = (0.10, 0.35, 0.40, 0.15)
RESIDENT_PROVINCES = {
    "north_hamgyong": 9,
    "ryanggang": 4,
    "north_pyongan": 7,
    "chagang": 3,
    "pyongyang": 8,
    "south_pyongan": 7,
    "south_hamgyong": 5,
    "north_hwanghae": 3,
    "south_hwanghae": 2,
    "kangwon": 2,
}
RESIDENT_WOMEN = 0.5
COPIES = 3  # copied interviews planted in the residents' sample
COPY_INTERMEDIARY = "R3"


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _pick(values, probs, u):
    """One of `values` per row: `u` (uniforms) against the cumulative `probs` (one row of probs per row, or one)."""
    cum = np.cumsum(np.atleast_2d(probs), axis=1)
    cum = cum / cum[:, -1:]
    idx = (u[:, None] > cum).sum(axis=1)
    return np.asarray(values, dtype=object)[np.minimum(idx, len(values) - 1)]


def _join(chosen: np.ndarray, names, exclusive: str | None = None) -> np.ndarray:
    """Space-separated select_multiple answers from an n x k Boolean matrix (`exclusive` where none)."""
    frame = pl.DataFrame({nm: chosen[:, j] for j, nm in enumerate(names)})
    joined = (
        frame.select(
            pl.concat_str([pl.when(pl.col(nm)).then(pl.lit(nm)) for nm in names], separator=" ", ignore_nulls=True)
        )
        .to_series()
        .to_numpy()
        .astype(object)
    )
    if exclusive is not None:
        joined[~chosen.any(axis=1)] = exclusive
    return joined


def _multi(rng, names, probs, n, exclusive=None, at_least_one=True):
    """Space-separated select_multiple answers: each choice independently with its probability.
    `exclusive` (e.g. "none") is the answer where nothing else was chosen."""
    chosen = rng.random((n, len(names))) < np.asarray(probs)[None, :]
    if at_least_one and exclusive is None:
        empty = ~chosen.any(axis=1)
        chosen[empty, np.argmax(np.asarray(probs))] = True
    return _join(chosen, names, exclusive), chosen


def _cells(counts: dict[str, int], women: float) -> list[tuple[str, str, int]]:
    """(province, sex, count) cells: each province's count split by sex (women rounded)."""
    out = []
    for prov, n in counts.items():
        f = int(round(n * women))
        out += [(prov, "female", f), (prov, "male", n - f)]
    return out


def _top_k(rng, cell, score, want):
    """Rows drawn without replacement within cells with probability proportional to exp(score)
    (Gumbel top-k): `want[c]` rows from cell c."""
    g = score + rng.gumbel(size=score.shape)
    order = np.lexsort((-g, cell))
    sc = cell[order]
    start = np.searchsorted(sc, np.arange(len(want)))
    rank = np.arange(len(order)) - start[sc]
    return order[rank < want[sc]]


def _population(rng):
    n = N_POP
    prov_p = np.array(list(CENSUS["province"].values()), float)
    province = rng.choice(len(PROVINCES), size=n, p=prov_p / prov_p.sum())
    female = rng.random(n) < CENSUS["sex"]["female"] / CENSUS["total"]
    a = CENSUS["age_share"]
    old = rng.random(n) < a["65+"] / (a["15-64"] + a["65+"])
    # bands within 15-64 spread by years of age (15-19: 5 years, 60-64: 5 years, the others 10)
    band = rng.choice(6, size=n, p=np.array([5, 10, 10, 10, 10, 5]) / 50.0)
    band[old] = 5
    settle_p = np.where(province == PROVINCES.index("pyongyang"), 0.9, 0.45)
    u = rng.random(n)
    settlement = np.where(u < settle_p, 0, np.where(u < settle_p + (1 - settle_p) / 2, 1, 2))  # city/town/village
    border = np.isin(
        province, [PROVINCES.index(p) for p in ("north_hamgyong", "ryanggang", "north_pyongan", "chagang")]
    )
    trade_p = np.where(border[:, None], [[0.45, 0.30, 0.15, 0.10]], [[0.60, 0.32, 0.03, 0.05]])
    trade = (rng.random(n)[:, None] > np.cumsum(trade_p, axis=1)).sum(axis=1)
    eta = (
        -0.6
        + np.array([PROVINCE_EFFECT[p] for p in PROVINCES])[province]
        + AGE_EFFECT[band]
        + 0.25 * female
        + np.array([0.4, 0.0, -0.5])[settlement]
        + np.array([0.0, 0.4, 0.9, 1.0])[trade]
        + rng.normal(0, 0.6, n)
    )
    return {
        "province": province,
        "female": female,
        "old": old,
        "band": band,
        "settlement": settlement,
        "trade": trade,
        "border": border,
        "eta": eta,
        "u": rng.random((n, 8)),
    }


def _behaviour(eta, u, border):
    """True behaviours from openness `eta` and fixed uniforms `u` (so a cohort shift of eta moves them)."""
    watched = u[:, 0] < _sigmoid(eta + 0.3)
    return {
        "watched": watched,
        "monthly": watched & (u[:, 1] < _sigmoid(eta - 0.6)),
        "sk": watched & (u[:, 2] < _sigmoid(eta + 0.8)),
        "radio_weekly": u[:, 3] < _sigmoid(0.5 * eta - 2.0),
        "usb": u[:, 4] < _sigmoid(eta - 0.3),
        "inspected": u[:, 5] < _sigmoid(0.6 * eta - 1.3),
        "knows_punished": u[:, 6] < _sigmoid(0.7 * eta + 0.6 * border - 0.9),
        "more_danger": u[:, 7] < _sigmoid(0.1 + 0.6 * eta + 0.3 * watched),
    }


TRUTH_OF = {
    "ever_watched": "watched",
    "watch_monthly": "monthly",
    "radio_weekly": "radio_weekly",
    "owns_usb": "usb",
    "watched_sk": "sk",
    "watched_sk_list": "sk",
    "knows_punished": "knows_punished",
    "knows_punished_rr": "knows_punished",
    "more_danger": "more_danger",
    "home_inspected": "inspected",
}


def _samples(rng, pop):
    """Indices in the population of the defectors then the residents, and each one's exit cohort (-1: inside)."""
    prov, female = pop["province"], pop["female"]
    cell = prov * 2 + female
    want_d = np.zeros(2 * len(PROVINCES), int)
    for p, sex, k in _cells(DEFECTOR_PROVINCES, DEFECTOR_WOMEN):
        want_d[PROVINCES.index(p) * 2 + (sex == "female")] = k
    age_pref = np.array([-0.3, 0.6, 0.8, 0.5, 0.0, -0.6])[pop["band"]]
    d = _top_k(rng, cell, DEFECTOR_SELECTION * pop["eta"] + age_pref, want_d)
    want_r = np.zeros_like(want_d)
    for p, sex, k in _cells(RESIDENT_PROVINCES, RESIDENT_WOMEN):
        want_r[PROVINCES.index(p) * 2 + (sex == "female")] = k
    score = RESIDENT_SELECTION * pop["eta"] + np.array([0.0, 0.5, 0.5, 0.3, 0.0, -0.8])[pop["band"]]
    score[d] = -np.inf
    r = _top_k(rng, cell, score, want_r)
    d = rng.permutation(d)
    r = rng.permutation(r)
    cohort = np.concatenate([rng.choice(len(COHORTS), size=len(d), p=DEFECTOR_COHORTS), np.full(len(r), -1)])
    return np.concatenate([d, r]), cohort


def _answers(rng, pop, idx, cohort):
    """Every column of the export for the sampled people, following the form's skip logic."""
    n = len(idx)
    left = cohort >= 0
    shift = np.where(left, np.array([COHORT_SHIFT[c] for c in COHORTS])[np.maximum(cohort, 0)], 0.0)
    eta = pop["eta"][idx] + shift
    border = pop["border"][idx]
    b = _behaviour(eta, pop["u"][idx], border)
    prov = pop["province"][idx]
    col: dict[str, np.ndarray] = {}
    U = lambda: rng.random(n)  # noqa: E731

    # fieldwork meta
    days = (FIELDWORK[1] - FIELDWORK[0]).days
    start = (
        np.datetime64(FIELDWORK[0].isoformat())
        + rng.integers(0, days + 1, n).astype("timedelta64[D]")
        + rng.integers(9 * 60, 20 * 60, n).astype("timedelta64[m]")
    )
    minutes = np.clip(rng.normal(42, 9, n), 22, 80).round().astype(int)
    col["start"] = start.astype("datetime64[s]").astype(str).astype(object)
    col["end"] = (start + minutes.astype("timedelta64[m]")).astype("datetime64[s]").astype(str).astype(object)
    col["today"] = start.astype("datetime64[D]").astype(str).astype(object)
    col["consent"] = np.full(n, "yes", dtype=object)

    # A. profile
    col["status"] = np.where(left, "left", "inside").astype(object)
    year = np.array([COHORT_YEARS[c][0] for c in COHORTS])[np.maximum(cohort, 0)]
    span = np.array([COHORT_YEARS[c][1] - COHORT_YEARS[c][0] + 1 for c in COHORTS])[np.maximum(cohort, 0)]
    year = year + (U() * span).astype(int)
    col["year_left"] = np.where(left, year, None).astype(object)
    col["province"] = np.asarray(PROVINCES, dtype=object)[prov]
    col["sex"] = np.where(pop["female"][idx], "female", "male").astype(object)
    col["age_band"] = np.asarray(AGE_BANDS, dtype=object)[pop["band"][idx]]
    col["settlement"] = np.asarray(["city", "county_town", "village"], dtype=object)[pop["settlement"][idx]]
    occ = ("worker", "farmer", "trader", "office", "military", "student", "homemaker", "none", "other")
    col["occupation"] = _pick(occ, [0.3, 0.15, 0.18, 0.08, 0.05, 0.06, 0.12, 0.03, 0.03], U())
    col["education"] = _pick(("none_primary", "secondary", "college", "university"), [0.05, 0.65, 0.18, 0.12], U())
    third = np.where(cohort == 0, rng.integers(6, 120, n), rng.integers(0, 36, n))
    col["months_third"] = np.where(left, third, None).astype(object)
    col["trade"] = np.asarray(["none", "market", "cross_border", "both"], dtype=object)[pop["trade"][idx]]

    # B. devices
    dev = ("tv", "radio", "dvd", "notel", "usb", "sd", "nk_phone", "cn_phone", "pc", "tablet")
    p_dev = np.array([0.85, 0.25, 0.6, 0.45, 0.0, 0.4, 0.6, 0.15, 0.2, 0.1])
    owned = rng.random((n, len(dev))) < p_dev[None, :]
    owned[:, dev.index("usb")] = b["usb"]
    owned[:, dev.index("cn_phone")] |= ~left  # residents reached by phone have a phone that reaches China
    col["devices_owned"] = _join(owned, dev, "none")
    tuning = ("fixed", "tunable", "modified", "dont_know")
    col["tv_tuning"] = np.where(owned[:, 0], _pick(tuning, [0.6, 0.15, 0.2, 0.05], U()), None)
    col["radio_tuning"] = np.where(owned[:, 1], _pick(tuning, [0.4, 0.3, 0.25, 0.05], U()), None)

    # C. exposure (direct answers: watchers sometimes refuse or deny)
    r = U()
    ever = np.where(
        b["watched"], np.where(r < 0.93, "yes", np.where(r < 0.98, "refuse", "no")), np.where(r < 0.97, "no", "refuse")
    ).astype(object)
    col["ever_watched"] = ever
    yes = ever == "yes"
    col["watched_12m"] = np.where(yes, np.where(b["monthly"] | (U() < 0.6), "yes", "no"), None)
    freq_hi = _pick(("daily", "weekly", "monthly"), [0.25, 0.4, 0.35], U())
    freq_lo = _pick(("bimonthly", "yearly", "once"), [0.5, 0.35, 0.15], U())
    col["watch_freq"] = np.where(yes, np.where(b["monthly"], freq_hi, freq_lo), None)
    radio_hi = _pick(("daily", "weekly"), [0.3, 0.7], U())
    radio_lo = _pick(("monthly", "bimonthly", "yearly", "once", "never"), [0.1, 0.08, 0.07, 0.1, 0.65], U())
    col["radio_freq"] = np.where(b["radio_weekly"], radio_hi, radio_lo).astype(object)
    col["direct_tv"] = _pick(
        ("yes", "no", "refuse"),
        np.column_stack([np.where(border, 0.15, 0.05), np.where(border, 0.8, 0.9), np.full(n, 0.05)]),
        U(),
    )
    used, _ = _multi(rng, dev, [0.5, 0.05, 0.55, 0.5, 0.55, 0.3, 0.15, 0.2, 0.15, 0.05], n)
    col["devices_used"] = np.where(yes, used, None)

    # D. content (South Korea among the origins: the true behaviour, sometimes not admitted)
    ori = ("south_korea", "china", "us_west", "japan", "russia", "other")
    _, chosen = _multi(rng, ori, [0.0, 0.6, 0.25, 0.08, 0.1, 0.03], n, at_least_one=False)
    admit = b["sk"] & (U() < 0.85)
    chosen[:, 0] = admit
    chosen[~chosen.any(axis=1), 1] = True  # a watcher watched something: China if nothing else
    col["origins"] = np.where(yes, _join(chosen, ori), None)
    first = np.asarray(ori, dtype=object)[np.argmax(chosen, axis=1)]
    col["origin_most"] = np.where(yes, first, None)
    genres, _ = _multi(
        rng, ("drama", "film", "music", "documentary", "news", "education"), [0.8, 0.6, 0.3, 0.1, 0.1, 0.05], n
    )
    col["genres"] = np.where(yes, genres, None)
    col["info_wanted"] = np.where(
        yes,
        _pick(
            ("daily_life", "news_world", "news_nk", "economy", "entertainment", "other"),
            [0.35, 0.15, 0.1, 0.15, 0.2, 0.05],
            U(),
        ),
        None,
    )

    # E. access and sharing
    how, _ = _multi(
        rng, ("family", "friends", "market", "traders", "copied", "other"), [0.6, 0.5, 0.2, 0.15, 0.2, 0.03], n
    )
    col["how_obtained"] = np.where(yes, how, None)
    col["watched_with"] = np.where(
        yes, _pick(("alone", "family", "friends", "other"), [0.2, 0.55, 0.2, 0.05], U()), None
    )
    passed, _ = _multi(rng, ("family", "friends", "sold"), [0.35, 0.3, 0.05], n, exclusive="nobody")
    col["passed_on"] = np.where(yes, passed, None)
    col["view_time"] = np.where(
        yes, _pick(("day", "evening", "late_night", "varied"), [0.1, 0.25, 0.45, 0.2], U()), None
    )

    # F. risk and enforcement
    col["danger"] = _pick(("1", "2", "3", "4", "5"), [0.03, 0.07, 0.2, 0.4, 0.3], U())
    col["danger_change"] = np.where(
        b["more_danger"], "more", _pick(("same", "less", "dont_know"), [0.6, 0.15, 0.25], U())
    ).astype(object)
    knew = _pick(("yes", "no", "refuse"), [0.85, 0.12, 0.03], U())
    col["knew_penalties"] = knew
    pen, _ = _multi(
        rng,
        ("bribe_fine", "labour_training", "reeducation", "political_prison", "banishment", "execution"),
        [0.7, 0.7, 0.5, 0.3, 0.3, 0.25],
        n,
    )
    col["penalties_known"] = np.where(knew == "yes", pen, None)
    r = U()
    col["knows_punished"] = np.where(
        b["knows_punished"],
        np.where(r < 0.85, "yes", np.where(r < 0.95, "no", "refuse")),
        np.where(r < 0.95, "no", "refuse"),
    ).astype(object)
    col["witnessed"] = _pick(
        ("yes", "no", "refuse"),
        np.column_stack(
            [np.where(b["knows_punished"], 0.5, 0.1), np.where(b["knows_punished"], 0.45, 0.85), np.full(n, 0.05)]
        ),
        U(),
    )
    several = U() < 0.35
    col["home_inspected"] = np.where(b["inspected"], np.where(several, "several", "once"), "never").astype(object)
    hit = b["inspected"]
    col["confiscated"] = np.where(hit, _pick(("yes", "no", "refuse"), [0.35, 0.6, 0.05], U()), None)
    col["bribe"] = np.where(hit, _pick(("yes", "no", "refuse"), [0.45, 0.45, 0.1], U()), None)

    # G. effects
    agree = ("1", "2", "3", "4", "5")
    col["curiosity_south"] = np.where(yes, _pick(agree, [0.05, 0.1, 0.25, 0.35, 0.25], U()), None)
    col["view_regime"] = np.where(yes, _pick(agree, [0.1, 0.15, 0.35, 0.25, 0.15], U()), None)
    col["decision_leave"] = np.where(yes & left, _pick(agree, [0.15, 0.15, 0.3, 0.25, 0.15], U()), None)

    # H1. list experiment: treatment drawn at random, counts from the true behaviour
    draw = U()
    treat = (draw < 0.5).astype(int)
    control = (rng.random((n, 4)) < np.array([0.7, 0.75, 0.5, 0.4])[None, :]).sum(axis=1)
    count = control + treat * b["sk"]
    col["le_treat"] = treat.astype(object)
    col["le_count_control"] = np.where(treat == 0, count, None).astype(object)
    col["le_count_treat"] = np.where(treat == 1, count, None).astype(object)
    col["le_count"] = count.astype(object)
    # H2. forced response: 1/6 forced yes, 1/6 forced no, 2/3 the truth
    spin = U()
    # the draws le_draw and rr_spin are device-only in the form: never collected, so not in the data
    col["rr_answer"] = np.where(
        spin < 1 / 6, "yes", np.where(spin < 2 / 6, "no", np.where(b["knows_punished"], "yes", "no"))
    ).astype(object)
    # H3. about the interview
    col["mode"] = np.where(left, "face_to_face", "phone").astype(object)
    col["paid"] = np.where(U() < np.where(left, 0.7, 0.5), "yes", "no").astype(object)

    # Z. study team fields and derived columns (calculates of the study's form)
    interviewers = np.where(left, "D" + (np.arange(n) % 4 + 1).astype(str), "R" + (np.arange(n) % 5 + 1).astype(str))
    col["intermediary"] = interviewers.astype(object)
    old = pop["old"][idx]
    col["age_group"] = np.where(old, "a65_plus", "a15_64").astype(object)
    col["sample"] = np.where(left, "defectors", "residents").astype(object)
    col["exit_cohort"] = np.where(left, np.asarray(COHORTS, dtype=object)[np.maximum(cohort, 0)], "inside")
    group_of = {p: g for g, ps in PROVINCE_GROUPS.items() for p in ps}
    col["province_group"] = np.asarray([group_of[p] for p in PROVINCES], dtype=object)[prov]
    _derive(col)
    col["base_weight"] = np.ones(n, dtype=int).astype(object)
    return col, b


def _derive(col):
    """The form's derived 0/1 calculates, recomputed from the answers (as the device would)."""
    freq = col["watch_freq"]
    col["watch_monthly"] = np.isin(freq, ["daily", "weekly", "monthly"]).astype(int).astype(object)
    col["radio_weekly"] = np.isin(col["radio_freq"], ["daily", "weekly"]).astype(int).astype(object)
    col["owns_usb"] = _has(col["devices_owned"], "usb")
    col["watched_sk"] = _has(col["origins"], "south_korea")
    col["more_danger"] = (col["danger_change"] == "more").astype(int).astype(object)
    col["inspected_any"] = np.isin(col["home_inspected"], ["once", "several"]).astype(int).astype(object)


def _has(values: np.ndarray, choice: str) -> np.ndarray:
    """1 where a space-separated select_multiple answer contains `choice`, else 0 (also when unanswered)."""
    s = pl.Series(values.tolist(), dtype=pl.String)
    return s.str.contains(rf"(^| ){choice}( |$)").fill_null(False).cast(pl.Int64).to_numpy().astype(object)


def _plant(rng, col) -> dict:
    """The deliberate faults: COPIES copied interviews (from one intermediary, two answers changed in
    each) and one value breaking a constraint. Returns what was planted (0-based rows)."""
    rows = np.flatnonzero(col["intermediary"] == COPY_INTERMEDIARY)
    source, copies = int(rows[0]), [int(r) for r in rows[1 : 1 + COPIES]]
    keep = {"start", "end", "today", "intermediary"}
    for name, values in col.items():
        if name not in keep:
            values[copies] = values[source]
    # two answers changed per copy, on questions nothing else depends on
    col["danger"][copies] = np.where(col["danger"][source] == "5", "4", "5")
    col["education"][copies] = np.asarray(["secondary", "college", "university"], dtype=object)[
        rng.integers(0, 3, len(copies))
    ]
    # copies are typed in quickly: short durations
    start = col["start"][copies].astype("datetime64[s]")
    col["end"][copies] = (start + rng.integers(9, 14, len(copies)).astype("timedelta64[m]")).astype(str)
    defector = int(np.flatnonzero(col["status"] == "left")[7])
    col["months_third"][defector] = 700
    return {
        "copied_from": source,
        "copies": copies,
        "constraint_violation": {"row": defector, "column": "months_third", "value": 700},
    }


def make_study(directory: Path, seed: int = 20261122) -> Path:
    """Write the SYNTHETIC demo study folder (see the module docstring) and return it."""
    from .demo_folder import README, study_toml, write_form

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pop = _population(rng)
    truth_b = _behaviour(pop["eta"], pop["u"], pop["border"])
    truth = {ind["id"]: float(np.mean(truth_b[TRUTH_OF[ind["id"]]])) for ind in INDICATORS}
    idx, cohort = _samples(rng, pop)
    col, _ = _answers(rng, pop, idx, cohort)
    planted = _plant(rng, col)
    col["_synthetic"] = np.full(len(idx), "SYNTHETIC", dtype=object)
    frame = pl.DataFrame(
        {
            k: pl.Series(k, v.tolist(), dtype=pl.String if k not in _INTS else pl.Int64, strict=False)
            for k, v in col.items()
        }
    )
    neutralize_formulas(frame).write_csv(directory / "responses.csv")  # SYNTHETIC, but one rule for every CSV
    write_form(directory / "form.xlsx")
    (directory / "study.toml").write_text(study_toml(seed), encoding="utf-8")
    (directory / "truth.json").write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    (directory / "README-SYNTHETIC.md").write_text(
        README.format(
            seed=seed,
            n=frame.height,
            n_pop=N_POP,
            copies=", ".join(str(r + 1) for r in planted["copies"]),
            source=planted["copied_from"] + 1,
            inter=COPY_INTERMEDIARY,
            bad_row=planted["constraint_violation"]["row"] + 1,
        ),
        encoding="utf-8",
    )
    return directory


_INTS = {
    "year_left",
    "months_third",
    "le_treat",
    "le_count_control",
    "le_count_treat",
    "le_count",
    "watch_monthly",
    "radio_weekly",
    "owns_usb",
    "watched_sk",
    "more_danger",
    "inspected_any",
    "base_weight",
}


#: Columns the demo study's own form adds to the template (group Z); the template's data lack them.
STUDY_ONLY = (
    "intermediary",
    "age_group",
    "sample",
    "exit_cohort",
    "province_group",
    "watch_monthly",
    "radio_weekly",
    "owns_usb",
    "watched_sk",
    "more_danger",
    "inspected_any",
    "base_weight",
)


def template_responses(n: int, seed: int = 20261204) -> pl.DataFrame:
    """``n`` SYNTHETIC interviews answering the foreign-media template's form as shipped (no study team
    fields): people drawn at random from the synthetic population, two in three defectors (exit cohort
    at random), the rest residents, every question filled by its skip logic. For tests and trying the
    template end to end; nothing in it is real."""
    rng = np.random.default_rng(seed)
    pop = _population(rng)
    idx = rng.choice(len(pop["eta"]), size=n, replace=False)
    cohort = np.where(rng.random(n) < 2 / 3, rng.choice(len(COHORTS), size=n, p=DEFECTOR_COHORTS), -1)
    col, _ = _answers(rng, pop, idx, cohort)
    col = {k: v for k, v in col.items() if k not in STUDY_ONLY}
    col["_synthetic"] = np.full(n, "SYNTHETIC", dtype=object)
    return pl.DataFrame(
        {
            k: pl.Series(k, v.tolist(), dtype=pl.String if k not in _INTS else pl.Int64, strict=False)
            for k, v in col.items()
        }
    )
