"""Under CI=true a missing PostgreSQL fails the store tests instead of skipping them (so the PostgreSQL
half of every ``st``/``store_url`` test cannot silently vanish); outside CI it skips. Checked by running
pytest on a one-test file whose server binaries are made unfindable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

PROBE = f"""
import sys
sys.path.insert(0, {str(HERE)!r})
import pgserver
from pgserver import pg_server, store_url  # noqa: F401
pgserver.find_bindir = lambda: None  # as on a machine without the server binaries


def test_probe(store_url):
    assert store_url
"""


@pytest.mark.parametrize("ci,expected", [("true", "1 error"), ("", "1 skipped")])
def test_missing_postgresql_fails_under_ci(tmp_path, ci, expected):
    (tmp_path / "test_probe.py").write_text(PROBE)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = ci
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            "-k",
            "postgresql",
            str(tmp_path / "test_probe.py"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert expected in proc.stdout, proc.stdout + proc.stderr
    if ci:
        assert proc.returncode == 1 and "scripts/install-test-deps.sh" in proc.stdout
