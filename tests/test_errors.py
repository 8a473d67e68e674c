"""Errors name parameters (QuietpollError.param); the Python API and study.toml users see the parameter's
name, the CLI its own flag (tests/cli/test_error_params_cli.py)."""

from __future__ import annotations

import polars as pl
import pytest

import quietpoll as qp
from quietpoll.cli.errors import flag, render_error
from quietpoll.design import DesignSpec, ReplicateSpec
from quietpoll.errors import DesignError, EstimationError, QuietpollError


def test_render_replaces_only_the_named_parameters():
    e = DesignError("{rho} must be in [0, 1) for { columns = 'rw*' } and {other}", param="rho")
    assert str(e) == "rho must be in [0, 1) for { columns = 'rw*' } and {other}"
    assert e.render(lambda p: f"--{p}") == "--rho must be in [0, 1) for { columns = 'rw*' } and {other}"
    assert e.param == "rho" and e.params == ("rho",)
    plain = QuietpollError("no parameter here {rho}")
    assert plain.param is None and str(plain) == "no parameter here {rho}"


def test_also_names_further_parameters():
    e = EstimationError("{control_items} applies to {list_method} ml", param="control_items", also=("list_method",))
    assert str(e) == "control_items applies to list_method ml"
    assert e.render(flag) == "--control-items applies to --list-method ml"


def test_cli_flags_of_parameters():
    assert [flag(p) for p in ("rho", "lonely_psu", "mean_", "quantile_", "indicators", "fmt", "to")] == [
        "--rho",
        "--lonely-psu",
        "--mean",
        "--quantile",
        "--indicator",
        "--format",
        "--to",
    ]
    e = DesignError("{nest}", param="nest")
    assert render_error(e) == "--nest"  # outside a command: the flag
    e.cli_flags = frozenset({"--to", "--out"})
    assert render_error(e) == "nest"  # a command without --nest: the study.toml key


@pytest.mark.parametrize(
    "make,param,text",
    [
        (lambda: ReplicateSpec(columns="rw*", type="Fay"), "rho", "replicate type Fay needs rho (the Fay"),
        (lambda: ReplicateSpec(columns="rw*", type="Fay", rho=1.5), "rho", "rho must be in [0, 1), got 1.5"),
        (lambda: DesignSpec(lonely_psu="sometimes"), "lonely_psu", "lonely_psu must be one of fail"),
    ],
)
def test_design_errors_speak_python(make, param, text):
    with pytest.raises(DesignError) as e:
        make()
    assert e.value.param == param and str(e.value).startswith(text) and "--" not in str(e.value)


def test_api_errors_speak_python():
    df = pl.DataFrame({"y": [1.0, 2.0, 3.0], "s": ["a", "b", "c"]})
    with pytest.raises(EstimationError) as e:
        qp.estimate(df, DesignSpec())
    assert "give mean_, total_, prop, ratio_, quantile_, list_experiment or randomized_response" in str(e.value)
    with pytest.raises(EstimationError) as e:
        qp.estimate(df, DesignSpec(), mean_=["y"], ci_method="beta")
    assert str(e.value).startswith("ci_method beta applies to proportions") and e.value.param == "ci_method"
    d = qp.svydesign(
        pl.DataFrame({"y": [1.0, 2, 3, 4], "h": ["a", "a", "b", "b"], "u": [1, 2, 3, 4]}), strata="h", ids="u"
    )
    assert d.n == 4
    with pytest.raises(DesignError) as e:
        qp.svydesign(
            pl.DataFrame({"y": [1.0, 2, 3, 4], "h": ["a", "a", "b", "b"], "u": [1, 2, 1, 2]}), strata="h", ids="u"
        )
    assert "use nest if" in str(e.value) and e.value.param == "nest"


def test_report_errors_speak_python(tmp_path):
    from quietpoll.report.options import parse_options

    with pytest.raises(QuietpollError) as e:
        parse_options({"report": {"indicators": [{"id": "a", "variable": "x"}]}}, only=["zz"])
    assert "unknown indicator 'zz' (indicators)" in str(e.value) and e.value.param == "indicators"
