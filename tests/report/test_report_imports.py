"""What `quietpoll report` imports (its start-up is most of a small study's report): never scipy.stats
(0.5 s; the interviewers' KS tests and MUBP's probit have scipy's numbers without it), never JAX or
NumPyro without model-based rows to fit, and pyxform only when the form is not in STUDY/form-cache.
On the SYNTHETIC demo study with [report] model_based = false."""

from __future__ import annotations

import json
import subprocess
import sys

from quietpoll.demo_study import make_study

SEED = 20261122

AUDIT = """
import json, sys
from quietpoll.cli import main
rc = main(["report", sys.argv[1], "--out", sys.argv[2]])
mods = set(sys.modules)
print(json.dumps({"rc": rc, "scipy.stats": "scipy.stats" in mods, "pyxform": "pyxform" in mods,
                  "jax": any(m == "jax" or m.startswith("jax.") for m in mods), "numpyro": "numpyro" in mods}))
"""


def _report(study, out) -> dict:
    proc = subprocess.run([sys.executable, "-c", AUDIT, str(study), str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_report_imports_no_scipy_stats_jax_and_pyxform_only_once(tmp_path):
    study = make_study(tmp_path / "study", seed=SEED)
    toml = study / "study.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("model_based = true", "model_based = false"), "utf-8")
    first = _report(study, tmp_path / "out1")
    assert first == {"rc": 0, "scipy.stats": False, "pyxform": True, "jax": False, "numpyro": False}
    second = _report(study, tmp_path / "out2")  # the form from STUDY/form-cache
    assert second == {"rc": 0, "scipy.stats": False, "pyxform": False, "jax": False, "numpyro": False}
    assert (tmp_path / "out1" / "report.json").read_bytes() == (tmp_path / "out2" / "report.json").read_bytes()
