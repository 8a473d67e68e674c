"""Regenerate tests/report/golden/report.json from the SYNTHETIC demo study at the fixed seed:

    .venv/bin/python tests/report/make_golden.py

Run it only when a change to the report, the estimators or the demo generator is meant to change the
numbers; review the diff of the golden file before committing it.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "src"))

from quietpoll.demo_study import make_study  # noqa: E402
from quietpoll.report import build_report  # noqa: E402

SEED = 20261122


def main() -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        study = make_study(Path(tmp) / "study", seed=SEED)
        result = build_report(study, Path(tmp) / "out")
        target = HERE / "golden" / "report.json"
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(result.json_path, target)
    return target


if __name__ == "__main__":
    print(main())
