"""PDF through a real renderer (Debian's chromium), or a clear ReportError when none is installed."""

from __future__ import annotations

import os
import shutil

import pytest

from quietpoll.errors import ReportError
from quietpoll.report.pdf import find_renderer, html_to_pdf


def test_no_renderer_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.delenv("QUIETPOLL_PDF_RENDERER", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ReportError, match="needs a PDF renderer"):
        find_renderer()


def test_renderer_from_environment_must_exist(monkeypatch, tmp_path):
    monkeypatch.setenv("QUIETPOLL_PDF_RENDERER", str(tmp_path / "nope"))
    with pytest.raises(ReportError, match="not an executable"):
        find_renderer()


@pytest.mark.skipif(
    shutil.which("chromium") is None and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (make test installs it; CI fails instead)",
)
def test_real_pdf(tmp_path):
    html = tmp_path / "r.html"
    html.write_text("<!DOCTYPE html><html><body><h1>SYNTHETIC report</h1></body></html>", encoding="utf-8")
    pdf = html_to_pdf(html, tmp_path / "r.pdf")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 500
