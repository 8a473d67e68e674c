"""`quietpoll demo`: estimates on the bundled public data, printed as tables."""

from __future__ import annotations

from importlib import resources

import polars as pl
from rich.console import Console

from .api import estimate
from .design import DesignSpec


def bundled(name: str) -> pl.DataFrame:
    """One of the bundled public datasets (apistrat, apiclus1)."""
    with resources.as_file(resources.files("quietpoll") / "data" / f"{name}.parquet") as p:
        return pl.read_parquet(p)


def run_demo(console: Console) -> None:
    from .cli import print_table

    strat = bundled("apistrat")
    spec = DesignSpec(strata="stype", weights="pw", fpc=("fpc",))
    console.print("[bold]quietpoll demo[/bold]: California API stratified sample (public data from R's survey "
                  "package), strata = school type, fpc = schools per type")
    t = estimate(strat, spec, mean_=["api00", "api99"], prop=["sch.wide"], ratio_=[("api00", "api99")],
                 quantile_={"api00": [0.25, 0.5, 0.75]}, ci_method="beta")
    print_table(t, console, title="Whole population (proportion intervals: Korn-Graubard beta)")
    t = estimate(strat, spec, mean_=["api00"], prop=["awards"], by=["stype"], ci_method="logit")
    print_table(t, console, title="By school type (domains keep the full design)")
    clus = bundled("apiclus1")
    t = estimate(clus, DesignSpec(ids=("dnum",), weights="pw", fpc=("fpc",)), mean_=["api00"],
                 total_=["enroll"], prop=["sch.wide"], ci_method="wilson")
    print_table(t, console, title="One-stage cluster sample of 15 districts (Wilson intervals, effective n)")
    # weighting: post-stratify the cluster sample to the known number of schools of each type
    # (public counts from the API population file), so the estimates and their SEs reflect it
    weighted = DesignSpec(ids=("dnum",), weights="pw", fpc=("fpc",)).build(clus).poststratify(
        {"stype": {"E": 4421, "H": 755, "M": 1018}})
    t = estimate(clus, weighted, mean_=["api00"], total_=["enroll"], prop=["sch.wide"], ci_method="wilson")
    print_table(t, console, title="The same sample post-stratified to the population's school types")
