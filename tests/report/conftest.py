"""Shared fixtures: the SYNTHETIC demo study (quietpoll.demo_study.make_study, fixed seed) and its
report, built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

SEED = 20261122


@pytest.fixture(scope="session")
def demo_study(tmp_path_factory) -> Path:
    from quietpoll.demo_study import make_study

    return make_study(tmp_path_factory.mktemp("demo") / "study", seed=SEED)


@pytest.fixture(scope="session")
def built(demo_study, tmp_path_factory):
    from quietpoll.report import build_report

    steps = []
    result = build_report(
        demo_study, tmp_path_factory.mktemp("report"), progress=lambda step, k, n: steps.append((step, k, n))
    )
    result.steps = steps
    return result
