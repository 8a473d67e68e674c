"""The SYNTHETIC demo study's fixed facts, shared by the generator (demo_study.py) and the study folder
it writes (demo_folder.py): the population size, the fieldwork dates, the 2008 census margins the
sample is weighted to, the weighting cells and the indicators. Plain data, no imports beyond the
standard library."""

from __future__ import annotations

import datetime as dt
from typing import Any

__all__ = ["CENSUS", "FIELDWORK", "INDICATORS", "N_POP", "PROVINCES", "PROVINCE_GROUPS"]

N_POP = 200_000
FIELDWORK = (dt.date(2026, 3, 2), dt.date(2026, 5, 29))

# DPRK 2008 census (UN-assisted), as listed in the domain brief: people by province, by sex, by age.
CENSUS: dict[str, Any] = {
    "total": 24_052_231,
    "military_camps": 702_372,
    "sex": {"male": 11_721_838, "female": 12_330_393},
    "age_share": {"0-14": 0.2319, "15-64": 0.6809, "65+": 0.0872},
    "province": {
        "pyongyang": 3_255_288,
        "south_pyongan": 4_051_696,
        "north_pyongan": 2_728_662,
        "chagang": 1_299_830,
        "south_hwanghae": 2_310_485,
        "north_hwanghae": 2_113_672,
        "kangwon": 1_477_582,
        "south_hamgyong": 3_066_013,
        "north_hamgyong": 2_327_362,
        "ryanggang": 719_269,
    },
}
PROVINCES = tuple(CENSUS["province"])
# Weighting cells: 10 provinces are too many for 150 interviews, so neighbours with similar access are
# merged (the China border in the north-east, the China border in the north-west, the capital, the rest).
PROVINCE_GROUPS = {
    "ne_border": ("north_hamgyong", "ryanggang"),
    "nw_border": ("north_pyongan", "chagang"),
    "pyongyang": ("pyongyang",),
    "interior": ("south_pyongan", "south_hwanghae", "north_hwanghae", "kangwon", "south_hamgyong"),
}

# Indicators: id -> (label, Korean label, how the report computes it). Truth: population mean of the
# true behaviour. The direct questions are under-reported, so their truth is the behaviour, not the answer.
INDICATORS: list[dict[str, Any]] = [
    {
        "id": "ever_watched",
        "label": "Ever watched foreign video",
        "label_ko": "외국 영상을 본 적이 있음",
        "variable": "ever_watched",
        "level": "yes",
    },
    {
        "id": "watch_monthly",
        "label": "Watches foreign video at least monthly",
        "label_ko": "외국 영상을 월 1회 이상 시청",
        "variable": "watch_monthly",
    },
    {
        "id": "radio_weekly",
        "label": "Listens to foreign radio at least weekly",
        "label_ko": "외국 라디오를 주 1회 이상 청취",
        "variable": "radio_weekly",
    },
    {"id": "owns_usb", "label": "Household has a USB drive", "label_ko": "가구에 USB가 있음", "variable": "owns_usb"},
    {
        "id": "watched_sk",
        "label": "Watched South Korean video (direct question)",
        "label_ko": "남한 영상을 본 적이 있음 (직접 질문)",
        "variable": "watched_sk",
    },
    {
        "id": "watched_sk_list",
        "label": "Watched South Korean video (list experiment)",
        "label_ko": "남한 영상을 본 적이 있음 (목록 실험)",
        "list_experiment": {"count": "le_count", "treatment": "le_treat"},
        "direct": "watched_sk",
    },
    {
        "id": "knows_punished",
        "label": "Knows someone punished for foreign media (direct question)",
        "label_ko": "외국 매체로 처벌받은 사람을 앎 (직접 질문)",
        "variable": "knows_punished",
        "level": "yes",
    },
    {
        "id": "knows_punished_rr",
        "label": "Knows someone punished for foreign media (randomized response)",
        "label_ko": "외국 매체로 처벌받은 사람을 앎 (무작위 응답)",
        "randomized_response": {"answer": "rr_answer", "design": "forced", "p_truth": 2 / 3, "p_yes": 1 / 6},
        "direct": "knows_punished",
    },
    {
        "id": "more_danger",
        "label": "Sees more danger than before 2012",
        "label_ko": "2012년 이전보다 더 위험해졌다고 봄",
        "variable": "more_danger",
    },
    {
        "id": "home_inspected",
        "label": "Home inspected for media at least once",
        "label_ko": "매체 단속으로 집이 검열된 적이 있음",
        "variable": "inspected_any",
    },
]
