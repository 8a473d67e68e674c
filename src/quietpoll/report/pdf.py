"""report.html -> report.pdf through a real renderer: headless Chromium's --print-to-pdf.

The renderer is the first of QUIETPOLL_PDF_RENDERER (a path), then chromium, chromium-browser,
google-chrome, google-chrome-stable found on PATH. None installed: ReportError (exit status 2)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import ReportError

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_renderer() -> str:
    env = os.environ.get("QUIETPOLL_PDF_RENDERER")
    if env:
        if not (Path(env).is_file() and os.access(env, os.X_OK)):
            raise ReportError(f"QUIETPOLL_PDF_RENDERER='{env}' is not an executable file")
        return env
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise ReportError(
        "{fmt} pdf needs a PDF renderer and none is installed: install Chromium "
        "(e.g. apt-get install chromium) or use {fmt} html and print the page from a browser",
        param="fmt",
    )


def html_to_pdf(html: Path, pdf: Path, *, timeout: float = 120.0) -> Path:
    exe = find_renderer()
    pdf = Path(pdf).resolve()
    if pdf.exists():
        pdf.unlink()
    with tempfile.TemporaryDirectory(prefix="quietpoll-pdf-") as profile:
        args = [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            Path(html).resolve().as_uri(),
        ]
        try:
            proc = subprocess.run(args, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise ReportError(f"the PDF renderer ({exe}) did not finish in {timeout:g} s") from None
    if not pdf.exists() or pdf.stat().st_size == 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        raise ReportError(f"the PDF renderer ({exe}) wrote no PDF: {detail[0]}")
    return pdf
