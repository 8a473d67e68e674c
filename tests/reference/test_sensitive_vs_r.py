"""quietpoll's list-experiment (difference in means) and randomized-response estimators against R's
survey package: every case in golden/sensitive.json (written by make_golden_sensitive.R with survey
4.1.1 on SYNTHETIC data: svyby + svycontrast for the list experiment; svymean with the analytic
correction for forced response, Warner and the unrelated question) must agree to rtol 1e-9, on a
stratified cluster design with fpc, an unequal-weight element design and bootstrap replicate weights.
R is not needed to run this test."""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

import pytest

import quietpoll as qp
from quietpoll.design import DesignSpec
from quietpoll.estimators.sensitive import list_experiment, randomized_response

HERE = Path(__file__).parent
GOLDEN = json.loads((HERE / "golden" / "sensitive.json").read_text())
RTOL = 1e-9


@lru_cache(maxsize=None)
def frame(name: str):
    return qp.read_data(HERE / "data" / f"{name}.csv").frame


def design(case):
    d = dict(case["design"])
    d.pop("kind")
    return DesignSpec.from_mapping(d).build(frame(case["data"]))


def test_golden_file_covers_every_design_and_estimator():
    kinds = {(c["name"].split()[0], c["statistic"], c["args"].get("rr_design"), bool(c["by"])) for c in GOLDEN["cases"]}
    assert len(kinds) == 3 * 4 * 2
    assert {c["design"]["kind"] for c in GOLDEN["cases"]} == {"taylor", "replicate"}
    assert GOLDEN["survey_version"] == "4.1.1"


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=[c["name"] for c in GOLDEN["cases"]])
def test_case_matches_r(case):
    des = design(case)
    args = dict(case["args"])
    if case["statistic"] == "list_experiment":
        tab = list_experiment(des, args["count"], args["treatment"], by=case["by"])
        assert all(r.method == "diff" for r in tab.rows)
    else:
        tab = randomized_response(des, args.pop("answer"), by=case["by"], **args)
    got = {tuple(sorted(r.domain.items())): r for r in tab.rows}
    assert len(got) == len(case["rows"])
    for want in case["rows"]:
        r = got[tuple(sorted((k, str(v)) for k, v in want["domain"].items()))]
        assert r.statistic == case["statistic"]
        assert math.isclose(r.estimate, want["estimate"], rel_tol=RTOL, abs_tol=1e-14), (r.estimate, want)
        assert math.isclose(r.se, want["se"], rel_tol=RTOL, abs_tol=1e-14), (r.se, want)
