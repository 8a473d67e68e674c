"""Weighting benchmark: quietpoll vs R survey vs weightipy vs balance, on one synthetic sample, in one run.

    .venv/bin/python benchmarks/bench_weighting.py [--rows 1000000] [--out benchmarks/out] [--no-docs]

Steps:
  1. data: a SYNTHETIC sample generated here with numpy (fixed seed): 4 categorical weighting variables
     (region 10 levels, age 7, edu 5, urban 6; correlated, and skewed against the population), base
     weights w ~ uniform(0.5, 2), a numeric income; population targets = margins that differ from the
     sample's (every margin sums to the same N) and an income total. Written to
     OUT/weighting_synth_ROWS.csv + OUT/weighting_targets_ROWS.json (regenerated each run; deterministic).
  2. quietpoll, one subprocess per operation (so each peak RSS is that operation's): polars.read_csv, then
     qp.svydesign(frame, weights="w") and des.rake(targets) / des.calibrate(targets, calfun="linear") /
     the same + the income total; first call and best of --repeats after it.
  3. R survey: benchmarks/weighting_bench.R (rake(), calibrate(calfun="linear")), one timed call each.
  4. weightipy and balance (PyPI), each in its own venv OUT/<name>-venv (created on first use), raking only
     (neither has linear calibration), one timed call each.
  5. agreement of the weights (max relative difference to quietpoll's) and how well each tool's weights
     hit the targets; cProfile of quietpoll's operations.
  6. prints a table, writes OUT/weighting_results.json and docs/benchmarks_weighting.md (a file of its own:
     bench_estimate.py rewrites the whole of docs/benchmarks.md) and makes sure docs/benchmarks.md links it
     from inside its hand-written analysis block (the only part bench_estimate.py keeps).

These are measurements, not tests: nothing here asserts anything.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import func_name as _fname, machine_info, run_measured  # noqa: E402
from benchlib import profile_text as _profile_text, src_state as _src_state  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DOCS = REPO / "docs" / "benchmarks_weighting.md"
MAIN_DOCS = REPO / "docs" / "benchmarks.md"
R_SCRIPT = HERE / "weighting_bench.R"

SEED = 20240611
N_POP = 40_000_000
VARS = {"region": ("r", 10), "age": ("a", 7), "edu": ("e", 5), "urban": ("u", 6)}
MAXIT = 100  # raking sweeps allowed (R's default is 10; raised so that every tool converges)
EPSILON = 1.0  # R's rake: stop when no cell of the joint table moves by >= 1 (weight units)
TARGET_SPEEDUP = 10.0
TARGET_MEM_RATIO = 2.0

# (key, label, which tools have it)
OPS = [
    ("design", "design build (`svydesign`, weights only)"),
    ("rake", "raking to 4 margins (IPF to convergence)"),
    ("linear", "linear calibration (GREG), 4 margins"),
    ("linear_income", "linear calibration (GREG), 4 margins + income total"),
]
PEERS = ["r", "weightipy", "balance"]
PEER_NAMES = {"quietpoll": "quietpoll", "r": "R survey", "weightipy": "weightipy", "balance": "balance"}
PIP = {"weightipy": ["weightipy"], "balance": ["balance"]}


# ----------------------------------------------------------------------------------------------
# data


def level_names(var):
    p, k = VARS[var]
    return [f"{p}{i + 1}" for i in range(k)]


def _softmax(x):
    import numpy as np

    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _draw(rng, n, probs, parent=None):
    """n categorical draws; probs is (K,), or (levels of parent, K) with row i drawn from probs[parent[i]]."""
    import numpy as np

    cum = np.cumsum(probs, axis=-1)
    cum[..., -1] = 1.0
    if parent is None:
        return np.searchsorted(cum, rng.random(n), side="right").astype(np.int32)
    u = rng.random(len(parent))
    out = np.empty(len(parent), dtype=np.int32)
    for lev in range(cum.shape[0]):
        idx = np.flatnonzero(parent == lev)
        out[idx] = np.searchsorted(cum[lev], u[idx], side="right")
    return out


def generate(rows, outdir):
    """Synthetic sample + population targets. Returns (csv path, targets path, codes dict, w, income)."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(SEED)
    lin = np.linspace
    # sample: region skewed to the first regions; urban depends on region, age on urban, edu on age
    region = _draw(rng, rows, _softmax(lin(0.9, -0.9, 10)))
    urban = _draw(
        rng, rows, _softmax(lin(0.6, -0.6, 6)[None, :] + lin(-0.8, 0.8, 10)[:, None] * lin(-1, 1, 6)[None, :]), region
    )
    age = _draw(
        rng, rows, _softmax(lin(-0.7, 0.5, 7)[None, :] + lin(0.6, -0.6, 6)[:, None] * lin(-1, 1, 7)[None, :]), urban
    )
    edu = _draw(
        rng, rows, _softmax(lin(-0.4, 0.6, 5)[None, :] + lin(-0.7, 0.7, 7)[:, None] * lin(-1, 1, 5)[None, :]), age
    )
    codes = {"region": region, "age": age, "edu": edu, "urban": urban}
    w = rng.uniform(0.5, 2.0, rows)
    income = np.exp(9.6 + 0.18 * edu + 0.07 * urban - 0.03 * (age - 3) ** 2 + 0.6 * rng.standard_normal(rows))
    income = np.round(income, 2)

    # population margins: the sample's base-weighted shares tilted (by factors of up to ~e^0.6 either way),
    # so the sample over-represents the first regions, urban levels and older, more educated people
    tilt = {
        "region": lin(-0.6, 0.6, 10) + 0.15 * np.sin(np.arange(10)),
        "age": lin(0.5, -0.5, 7),
        "edu": lin(0.6, -0.4, 5),
        "urban": lin(-0.5, 0.5, 6),
    }
    pop_p = {}
    for v, tl in tilt.items():
        sh = np.bincount(codes[v], weights=w, minlength=len(tl)) / w.sum()
        pop_p[v] = sh * np.exp(tl) / np.sum(sh * np.exp(tl))
    margins = {}
    for v, p in pop_p.items():
        counts = np.floor(p * N_POP).astype(np.int64)
        counts[-1] += N_POP - counts.sum()
        margins[v] = dict(zip(level_names(v), (int(c) for c in counts)))
    # income total: 2% above what the margins alone imply (estimate from weights raked to the margins,
    # a few sweeps of plain IPF), so that the extra constraint is a moderate one
    rw = w.copy()
    for _ in range(30):
        for v, lev in margins.items():
            t = np.array(list(lev.values()), dtype=float)
            rw *= (t / np.bincount(codes[v], weights=rw, minlength=len(t)))[codes[v]]
    income_total = float(round(1.02 * np.dot(rw, income), 0))

    frame = pl.DataFrame(
        {
            "id": np.arange(rows, dtype=np.int64),
            **{v: np.array(level_names(v))[codes[v]] for v in VARS},
            "w": np.round(w, 6),
            "income": income,
        }
    )
    csv = outdir / f"weighting_synth_{rows}.csv"
    frame.write_csv(csv)
    tgt = outdir / f"weighting_targets_{rows}.json"
    tgt.write_text(
        json.dumps(
            {"N": N_POP, "margins": margins, "income_total": income_total, "seed": SEED, "synthetic": True}, indent=1
        )
    )
    # what the tools actually read (w rounded to 6 decimals in the CSV)
    w = frame["w"].to_numpy()
    return csv, tgt, codes, w, frame["income"].to_numpy()


# ----------------------------------------------------------------------------------------------
# workers (each runs in its own subprocess; peers in their own venvs, so only numpy/pandas here)


def _rss_now_mb():
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _maxrss_mb():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _hwm_mb():
    """VmHWM: the process's peak RSS since it started or since the last _reset_hwm()."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_hwm():
    """Reset VmHWM to the current RSS (Linux: write 5 to /proc/self/clear_refs); False if not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


_PEAK = {"mb": 0.0}  # the process's peak RSS since exec, kept across the VmHWM resets below
_CPU = {"last": None}  # CPU seconds (all threads of the process) of the last measured call


def _note_peak():
    h = _hwm_mb()
    if h is not None:
        _PEAK["mb"] = max(_PEAK["mb"], h)
    return _PEAK["mb"] or None


def _measured_call(fn):
    """(result, seconds, RSS before the call, peak RSS during the call or None)."""
    _note_peak()  # the peak so far, before the reset forgets it
    rss0 = _rss_now_mb()
    reset = _reset_hwm()
    c = time.process_time()
    t = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t
    _CPU["last"] = time.process_time() - c
    peak = _hwm_mb() if reset else None
    _note_peak()
    return out, dt, rss0, peak


def load_average():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _qp_targets(tg, with_income=False):
    t = {v: dict(levels) for v, levels in tg["margins"].items()}
    if with_income:
        t["income"] = tg["income_total"]
    return t


def _qp_op(des, tg, op, maxit, epsilon):
    if op == "rake":
        return lambda: des.rake(_qp_targets(tg), maxit=maxit, epsilon=epsilon)
    if op == "linear":
        return lambda: des.calibrate(_qp_targets(tg), calfun="linear")
    if op == "linear_income":
        return lambda: des.calibrate(_qp_targets(tg, True), calfun="linear")
    raise ValueError(op)


def worker_quietpoll(a):
    """One operation (or the design build) in this process: first call + best of repeats."""
    import gc

    rss_start = _rss_now_mb()
    import numpy as np
    import polars as pl
    import quietpoll as qp
    from quietpoll.weighting import apply as _apply  # noqa: F401  (the weighting engine, imported up front)

    rss_imports = _rss_now_mb()
    tg = json.loads(Path(a.targets).read_text())
    t = time.perf_counter()
    frame = pl.read_csv(a.data)
    t_read = time.perf_counter() - t
    res = {
        "op": a.op,
        "read_s": t_read,
        "data_bytes": frame.estimated_size(),
        "rss_start_mb": rss_start,
        "rss_after_imports_mb": rss_imports,
        "rss_after_load_mb": _rss_now_mb(),
        "hwm_after_load_mb": _note_peak(),
        "versions": {"quietpoll": qp.__version__, "polars": pl.__version__, "numpy": np.__version__},
    }
    if a.op == "rake_unit":  # untimed: raking from unit base weights, for the weightipy comparison
        des = qp.svydesign(frame.with_columns(pl.lit(1.0).alias("one")), weights="one")
        out = des.rake(_qp_targets(tg), maxit=a.maxit, epsilon=a.epsilon)
        np.save(Path(a.outdir) / "weights_quietpoll_rake_unit.npy", np.asarray(out.weights, dtype=np.float64))
        res["maxrss_mb"] = _maxrss_mb()
        Path(a.result).write_text(json.dumps(res))
        return
    runs, mem, cpu = [], [], []
    for i in range(a.repeats + 1):
        gc.collect()
        if a.op == "design":
            out, dt, rss0, peak = _measured_call(lambda: qp.svydesign(frame, weights="w"))
        else:
            des = qp.svydesign(frame, weights="w")
            fn = _qp_op(des, tg, a.op, a.maxit, a.epsilon)
            gc.collect()
            out, dt, rss0, peak = _measured_call(fn)
            if i == 0:
                np.save(Path(a.outdir) / f"weights_quietpoll_{a.op}.npy", np.asarray(out.weights, dtype=np.float64))
            del des, fn
        runs.append(dt)
        cpu.append(_CPU["last"])
        mem.append(
            {"rss_before_mb": rss0, "peak_during_mb": peak, "increment_mb": None if peak is None else peak - rss0}
        )
        if i == 0:
            res["maxrss_after_first_mb"] = _maxrss_mb()
        del out
    incs = [m["increment_mb"] for m in mem if m["increment_mb"] is not None]
    res.update(
        first=runs[0],
        runs=runs[1:],
        best=min(runs[1:]) if runs[1:] else runs[0],
        maxrss_mb=_maxrss_mb(),
        cpu_first=cpu[0],
        cpu_best=min(cpu[1:]) if cpu[1:] else cpu[0],
        peak_hwm_mb=_note_peak(),
        calls_memory=mem,
        op_increment_first_mb=mem[0]["increment_mb"],
        op_increment_max_mb=max(incs) if incs else None,
    )
    Path(a.result).write_text(json.dumps(res))


def worker_profile(a, top=14):
    """cProfile of one call (after a warm-up) of each quietpoll weighting operation."""
    import cProfile
    import pstats
    import polars as pl
    import quietpoll as qp

    tg = json.loads(Path(a.targets).read_text())
    frame = pl.read_csv(a.data)
    res = {}
    for op in a.ops.split(","):
        des = qp.svydesign(frame, weights="w")
        _qp_op(des, tg, op, a.maxit, a.epsilon)()  # warm-up
        fn = _qp_op(qp.svydesign(frame, weights="w"), tg, op, a.maxit, a.epsilon)
        prof = cProfile.Profile()
        prof.enable()
        fn()
        prof.disable()
        st = pstats.Stats(prof)
        rows = []
        for (file, line, name), (cc, nc, tt, ct, callers) in st.stats.items():
            rows.append(
                {
                    "func": _fname(file, line, name),
                    "ncalls": nc,
                    "tottime": tt,
                    "cumtime": ct,
                    "callers": sorted(((_fname(*c), v[2]) for c, v in callers.items()), key=lambda x: -x[1])[:2],
                }
            )
        res[op] = {
            "total": st.total_tt,
            "top_tottime": sorted(rows, key=lambda r: -r["tottime"])[:top],
            "top_quietpoll_cumtime": sorted(
                (r for r in rows if "quietpoll/" in r["func"]), key=lambda r: -r["cumtime"]
            )[:top],
        }
    Path(a.result).write_text(json.dumps(res))


def worker_weightipy(a):
    import gc

    rss_start = _rss_now_mb()
    import numpy as np
    import pandas as pd
    import weightipy as wp

    tg = json.loads(Path(a.targets).read_text())
    df = pd.read_csv(a.data, dtype={v: str for v in VARS})
    res = {
        "rss_start_mb": rss_start,
        "rss_after_load_mb": _rss_now_mb(),
        "hwm_after_load_mb": _hwm_mb(),
        "data_bytes": int(df.memory_usage(deep=True).sum()),
        "versions": {"weightipy": wp.__version__, "pandas": pd.__version__, "numpy": np.__version__},
    }
    # weightipy takes targets as percentages and always starts from unit weights (no base weights)
    scheme = {v: {k: 100.0 * c / tg["N"] for k, c in lev.items()} for v, lev in tg["margins"].items()}

    def run(key, fname):
        gc.collect()
        t = time.perf_counter()
        rim = wp.scheme_from_dict(scheme, name="bench")
        out = wp.weight_dataframe(df, rim, weight_column="wt")
        res[key] = {"seconds": time.perf_counter() - t}
        np.save(Path(a.outdir) / fname, out["wt"].to_numpy(dtype=np.float64))
        try:
            res[key]["iterations"] = int(rim.groups["_default_name_"]["iterations"])
        except Exception:  # noqa: BLE001 - report field only
            pass
        del out, rim

    # 1. as shipped. Its Rake.start starts from diff_error = 999999 (an absolute sum of weight changes) and
    #    stops as soon as a sweep changes the weights by more than 0.99 * that: on a large sample the first
    #    sweep always does, so it stops after one sweep.
    run("rake_as_shipped", "weights_weightipy_rake_as_shipped.npy")
    res["maxrss_as_shipped_mb"] = _maxrss_mb()
    # 2. the same code with only that starting value made infinite (patched in this process), so that it
    #    iterates until a sweep improves by less than 1% (its convcrit): the converged, comparable run.
    import inspect
    import textwrap
    from weightipy.internal import rim as rim_mod

    src = textwrap.dedent(inspect.getsource(rim_mod.Rake.start))
    patched = src.replace("diff_error = 999999", "diff_error = sys.float_info.max").replace(
        "diff_error_old = 99999999999", "diff_error_old = float('inf')"
    )
    res["patch_applied"] = patched != src
    ns = dict(vars(rim_mod))
    ns["sys"] = sys
    exec(compile(patched, "<weightipy Rake.start, start threshold patched>", "exec"), ns)
    rim_mod.Rake.start = ns["start"]
    run("rake", "weights_weightipy_rake.npy")
    res["maxrss_mb"] = _maxrss_mb()
    res["peak_hwm_mb"] = _hwm_mb()
    Path(a.result).write_text(json.dumps(res))


def worker_balance(a):
    import gc
    import itertools
    import logging

    rss_start = _rss_now_mb()
    import numpy as np
    import pandas as pd
    import balance
    from balance import Sample

    logging.getLogger("balance").setLevel(logging.WARNING)
    tg = json.loads(Path(a.targets).read_text())
    df = pd.read_csv(a.data, dtype={v: str for v in VARS})
    res = {
        "rss_start_mb": rss_start,
        "rss_after_load_mb": _rss_now_mb(),
        "hwm_after_load_mb": _hwm_mb(),
        "data_bytes": int(df.memory_usage(deep=True).sum()),
        "versions": {
            "balance": getattr(balance, "__version__", "?"),
            "pandas": pd.__version__,
            "numpy": np.__version__,
        },
    }
    # balance rakes a sample to a *target sample*: the target is the product table of the margins
    # (10*7*5*6 cells, weight N * p_region * p_age * p_edu * p_urban), whose margins are exactly the targets
    vars_ = list(tg["margins"])
    combos = list(itertools.product(*[list(tg["margins"][v]) for v in vars_]))
    tw = np.array([np.prod([tg["margins"][v][lv] / tg["N"] for v, lv in zip(vars_, c)]) for c in combos]) * tg["N"]
    tdf = pd.DataFrame(combos, columns=vars_)
    tdf.insert(0, "id", np.arange(len(tdf)).astype(str))
    tdf["w"] = tw
    t = time.perf_counter()
    sample = Sample.from_frame(df[["id", *vars_, "w"]], id_column="id", weight_column="w")
    target = Sample.from_frame(tdf, id_column="id", weight_column="w")
    s = sample.set_target(target)
    res["setup"] = {"seconds": time.perf_counter() - t}
    gc.collect()
    t = time.perf_counter()
    adj = s.adjust(
        method="rake", transformations=None, max_iteration=1000, convergence_rate=a.balance_conv, rate_tolerance=0.0
    )
    res["rake"] = {"seconds": time.perf_counter() - t}
    out = adj.df
    ids = out["id"].astype(np.int64).to_numpy()
    wts = np.empty(len(df))
    wts[ids] = out["w"].to_numpy(dtype=np.float64)
    np.save(Path(a.outdir) / "weights_balance_rake.npy", wts)
    try:
        m = adj.model
        res["converged"] = int(m.get("converged")) if isinstance(m, dict) else None
        res["iterations"] = int(len(m["iterations"])) if isinstance(m, dict) else None
    except Exception:  # noqa: BLE001 - report field only
        pass
    res["settings"] = {
        "transformations": None,
        "max_iteration": 1000,
        "convergence_rate": a.balance_conv,
        "rate_tolerance": 0.0,
    }
    res["maxrss_mb"] = _maxrss_mb()
    res["peak_hwm_mb"] = _hwm_mb()
    Path(a.result).write_text(json.dumps(res))


# ----------------------------------------------------------------------------------------------
# driver helpers

FOREIGN: dict = {}


def run_proc(cmd, *, log, timeout=None, phase=None, env=None):
    """Run cmd (benchlib.run_measured) from the repository root."""
    return run_measured(cmd, log=log, timeout=timeout, env=env, cwd=REPO, foreign=FOREIGN, phase=phase)


def tail(text, n=6):
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return " | ".join(lines[-n:])[-900:]


def ensure_venv(name, outdir):
    """OUT/<name>-venv with the package installed; returns (python path or None, why not)."""
    venv = outdir / f"{name}-venv"
    py = venv / "bin" / "python"
    mod = {"weightipy": "weightipy", "balance": "balance"}[name]
    if py.exists() and subprocess.run([str(py), "-c", f"import {mod}"], capture_output=True).returncode == 0:
        return py, None
    log = outdir / f"{name}-venv-install.log"
    with open(log, "w") as fh:
        r = subprocess.run(["python3", "-m", "venv", str(venv)], stdout=fh, stderr=subprocess.STDOUT)
        if r.returncode == 0:
            r = subprocess.run(
                [str(venv / "bin" / "pip"), "install", "-q", *PIP[name]], stdout=fh, stderr=subprocess.STDOUT
            )
    if r.returncode != 0:
        return None, f"pip install {' '.join(PIP[name])} failed (rc {r.returncode}): {tail(log.read_text(), 3)}"
    chk = subprocess.run([str(py), "-c", f"import {mod}"], capture_output=True, text=True)
    if chk.returncode != 0:
        return None, f"installed but `import {mod}` fails: {tail(chk.stderr, 3)}"
    return py, None


def quietpoll_importable():
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "import quietpoll.weighting.apply as a, quietpoll.weighting.rake, "
            "quietpoll.weighting.calibrate, quietpoll.weighting.targets",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    return r.returncode == 0, tail(r.stderr, 2)


# ----------------------------------------------------------------------------------------------
# checks


def margin_error(codes, weights, tg, income=None):
    """Max |achieved/target - 1| over all margin cells (and the income total when given)."""
    import numpy as np

    err = 0.0
    for v, lev in tg["margins"].items():
        tot = np.bincount(codes[v], weights=weights, minlength=len(lev))
        tgt = np.array(list(lev.values()), dtype=float)
        err = max(err, float(np.max(np.abs(tot / tgt - 1))))
    if income is not None:
        err = max(err, abs(float(np.dot(weights, income)) / tg["income_total"] - 1))
    return err


def rel_diff(a, b):
    import numpy as np

    return float(np.max(np.abs(a - b) / np.abs(b)))


def diffs(a, b):
    """max relative difference, and max absolute difference over the mean |weight| (robust to weights
    near zero, which linear calibration can produce)."""
    import numpy as np

    return {"max_rel_diff": rel_diff(a, b), "max_abs_diff_over_mean": float(np.max(np.abs(a - b)) / np.mean(np.abs(b)))}


def load_weights(path):
    import numpy as np

    if not path.exists():
        return None
    if path.suffix == ".bin":
        return np.fromfile(path, dtype="<f8")
    return np.load(path)


# ----------------------------------------------------------------------------------------------
# report

PROFILE_NOTE = " (cProfile; overhead inflates Python-heavy code)"


def fmt_s(s):
    if s is None:
        return "—"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.0f} ms"
    return f"{s:.2f} s"


def fmt_mb(m):
    return "—" if m is None else f"{m:,.0f} MB"


def fmt_x(x):
    return "—" if x is None else (f"{x:.1f}x" if x < 100 else f"{x:.0f}x")


def peer_seconds(res, tool, op):
    p = res.get(tool, {})
    if tool == "r":
        return p.get("ops", {}).get(op, {}).get("seconds")
    if tool == "balance" and op == "design":
        return p.get("setup", {}).get("seconds")
    return p.get(op, {}).get("seconds") if isinstance(p.get(op), dict) else None


def qp_seconds(res, op, which="first"):
    return res.get("quietpoll", {}).get(op, {}).get(which)


def speedups(res):
    out = {}
    for op, _ in OPS:
        q = qp_seconds(res, op)
        for tool in PEERS:
            s = peer_seconds(res, tool, op)
            if q and s:
                out[f"{op}:{tool}"] = s / q
    return out


def table_text(res):
    head = (
        "| operation | quietpoll first call | quietpoll best of "
        f"{res['repeats']} | quietpoll CPU time, first / best ³ | R survey | weightipy | balance | "
        "speed-up vs R / weightipy / balance |"
    )
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---|"]
    sp = res["speedups"]
    for op, label in OPS:
        cells = [
            label,
            fmt_s(qp_seconds(res, op)),
            fmt_s(qp_seconds(res, op, "best")),
            f"{fmt_s(qp_seconds(res, op, 'cpu_first'))} / {fmt_s(qp_seconds(res, op, 'cpu_best'))}",
        ]
        for tool in PEERS:
            s = peer_seconds(res, tool, op)
            if s is None:
                if tool in ("weightipy", "balance") and op in ("linear", "linear_income"):
                    s_txt = "n/a (no GREG)"
                elif tool == "weightipy" and op == "design":
                    s_txt = "n/a"
                elif res.get(tool, {}).get("skipped"):
                    s_txt = "skipped"
                else:
                    s_txt = "failed"
                cells.append(s_txt)
            else:
                txt = fmt_s(s) + (" (setup)" if tool == "balance" and op == "design" else "")
                shipped = res.get(tool, {}).get("rake_as_shipped") if (tool, op) == ("weightipy", "rake") else None
                if shipped:
                    err = res.get("margin_check", {}).get("weightipy as shipped:rake", {}).get("err")
                    txt += (
                        f" ¹ (as shipped: {fmt_s(shipped['seconds'])}, "
                        + (
                            "not converged"
                            if err is None
                            else "converged"
                            if err < 1e-4
                            else f"margins off by up to {err:.0%}"
                        )
                        + ")"
                    )
                cells.append(txt)
        cells.append(" / ".join(fmt_x(sp.get(f"{op}:{t}")) for t in PEERS))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def memory_text(res):
    lines = [
        "| tool | process | whole-process peak RSS | RSS after imports | RSS after imports + load | "
        "data in that tool's memory | whole-process peak / data | peak during the calls − RSS after load | "
        "the operation's own peak increment | increment / data |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    qp = res.get("quietpoll", {})
    for op, label in OPS:
        q = qp.get(op)
        if not q or "data_bytes" not in q:
            continue
        dm = q["data_bytes"] / 2**20
        inc = q.get("op_increment_max_mb")
        during = [m["peak_during_mb"] for m in q.get("calls_memory", []) if m.get("peak_during_mb")]
        over_load = max(during) - q["rss_after_load_mb"] if during and q.get("rss_after_load_mb") else None
        lines.append(
            f"| quietpoll | {op} (own process) | {fmt_mb(q.get('peak_mb'))} | "
            f"{fmt_mb(q.get('rss_after_imports_mb'))} | {fmt_mb(q.get('rss_after_load_mb'))} | "
            f"{fmt_mb(dm)} (polars) | {q['peak_mb'] / dm:.1f}x | {fmt_mb(over_load)} | "
            f"{fmt_mb(inc)} (first call {fmt_mb(q.get('op_increment_first_mb'))}) | "
            f"{'—' if inc is None else f'{inc / dm:.2f}x'} |"
        )
    r = res.get("r", {})
    if r.get("peak_mb"):
        gcs = ", ".join(f"{k} {v.get('gc_max_mb', 0):,.0f}" for k, v in r.get("ops", {}).items())
        lines.append(
            f"| R survey | all operations (one process; gc max used MB: {gcs}) | {fmt_mb(r['peak_mb'])} | — | "
            f"— | {fmt_mb(r.get('data_mb'))} (data.frame) | {r['peak_mb'] / r['data_mb']:.1f}x | — | — | — |"
        )
    for tool in ("weightipy", "balance"):
        p = res.get(tool, {})
        if p.get("peak_mb") and p.get("data_bytes"):
            dm = p["data_bytes"] / 2**20
            inc = p["peak_mb"] - p["hwm_after_load_mb"] if p.get("hwm_after_load_mb") else None
            lines.append(
                f"| {tool} | rake (one process) | {fmt_mb(p['peak_mb'])} | — | "
                f"{fmt_mb(p.get('rss_after_load_mb'))} | {fmt_mb(dm)} (pandas, deep) | "
                f"{p['peak_mb'] / dm:.1f}x | — | {fmt_mb(inc)} ² | "
                f"{'—' if inc is None else f'{inc / dm:.2f}x'} |"
            )
    return "\n".join(lines)


def agreement_text(res):
    ag = res.get("agreement", {})
    lines = [
        "| weights compared | max relative difference | max abs difference / mean weight | note |",
        "|---|---:|---:|---|",
    ]
    for k, v in ag.items():
        d, e = v.get("max_rel_diff"), v.get("max_abs_diff_over_mean")
        lines.append(
            f"| {k} | {'—' if d is None else f'{d:.2e}'} | {'—' if e is None else f'{e:.2e}'} | {v.get('note', '')} |"
        )
    lines.append("")
    lines.append(
        "How closely each tool's weights hit the targets (max |achieved / target − 1| over all margin "
        "cells, and the income total for that operation):"
    )
    lines.append("")
    lines.append("| tool | operation | max relative margin error | sum of weights | negative weights |")
    lines.append("|---|---|---:|---:|---:|")
    for k, v in res.get("margin_check", {}).items():
        tool, op = k.split(":")
        lines.append(
            f"| {PEER_NAMES.get(tool, tool)} | {op} | {v['err']:.1e} | {v['sum']:,.0f} | {v.get('neg', 0):,} |"
        )
    return "\n".join(lines)


def misses(res):
    out = []
    sp = res["speedups"]
    for op, label in OPS:
        why = []
        for tool in PEERS:
            x = sp.get(f"{op}:{tool}")
            if x is not None and x < TARGET_SPEEDUP:
                why.append(f"{x:.1f}x vs {PEER_NAMES[tool]} (target {TARGET_SPEEDUP:.0f}x)")
        q = res.get("quietpoll", {}).get(op)
        if q and q.get("peak_mb") and q.get("data_bytes"):
            dm = q["data_bytes"] / 2**20
            ratio = q["peak_mb"] / dm
            inc = q.get("op_increment_max_mb")
            if inc is not None and inc / dm >= TARGET_MEM_RATIO:
                why.append(
                    f"the operation's own peak increment {fmt_mb(inc)} = {inc / dm:.1f}x the data "
                    f"({fmt_mb(dm)}; target < {TARGET_MEM_RATIO:.0f}x)"
                )
            if ratio >= TARGET_MEM_RATIO:
                why.append(
                    f"whole-process peak RSS {fmt_mb(q['peak_mb'])} = {ratio:.1f}x the data (target < "
                    f"{TARGET_MEM_RATIO:.0f}x; the interpreter and libraries alone take "
                    f"{fmt_mb(q.get('rss_after_imports_mb'))}, the loaded frame's process "
                    f"{fmt_mb(q.get('rss_after_load_mb'))})"
                )
        if why:
            out.append((op, label, why))
    return out


def write_docs(res):
    m, v = res["machine"], res["versions"]
    miss = misses(res)
    miss_lines = "\n".join(f"- **{label}**: " + "; ".join(why) for _, label, why in miss) or "- none"
    skipped = (
        "\n".join(
            f"- **{PEER_NAMES[t]}** skipped: {res[t]['skipped']}"
            for t in ["quietpoll", *PEERS]
            if res.get(t, {}).get("skipped")
        )
        or "- no tool was skipped"
    )
    d = res["data"]
    notes = "\n".join(f"- {n}" for n in res.get("notes", []))
    qrake = res.get("quietpoll", {}).get("rake", {})
    contention = "; ".join(f"{k} {x['cores']:.2f} cores" for k, x in res.get("foreign_cpu", {}).items())
    wv = f"pandas {v.get('weightipy_pandas', '?')}, numpy {v.get('weightipy_numpy', '?')}"
    bv = f"pandas {v.get('balance_pandas', '?')}, numpy {v.get('balance_numpy', '?')}"
    doc = f"""# Benchmarks: weighting (raking, linear calibration)

Generated by `benchmarks/bench_weighting.py` on {res["date"]}; the whole run took {res["elapsed_s"]:.0f} s.
These are measurements, not tests. Compare ratios within this run only. (Estimation benchmarks:
[benchmarks.md](benchmarks.md).)

## Machine and versions

- CPU: {m.get("cpu", "?")}; nproc {m.get("nproc")}; memory {m.get("mem_gib")} GiB; {m.get("platform")}
- `OPENBLAS_CORETYPE` = `{m.get("OPENBLAS_CORETYPE")}`
- Python {v.get("python")}; quietpoll {v.get("quietpoll", "?")} (src state `{res["src_state"]["start"]}` at start,
  `{res["src_state"]["end"]}` at end), polars {v.get("polars", "?")}, numpy {v.get("numpy", "?")}
- R {v.get("R", "absent")}, survey {v.get("survey", "absent")}, data.table {v.get("data.table", "?")}
- weightipy {v.get("weightipy", "absent")} (own venv: {wv})
- balance {v.get("balance", "absent")} (own venv: {bv})

## Data (synthetic)

A **synthetic** sample generated by the script with numpy (seed {SEED}): {d["rows"]:,} rows; weighting
variables region (10 levels), age (7), edu (5), urban (6), text-coded (`r1`…`r10`, …), correlated (urban depends
on region, age on urban, edu on age) and skewed so that the sample's margins differ from the population's;
base weights `w` ~ uniform(0.5, 2); numeric `income` (log-normal, depends on edu, urban, age). Targets: one
population margin per variable (integer counts, each margin summing to N = {N_POP:,}): the sample's weighted
shares tilted by up to about e^±0.6, so the sample over-represents some levels of each variable (largest
sample/target share ratio {d["max_share_ratio"]:.2f}); for the second GREG, also an
income total ({d["income_total"]:,.0f}, 2% above the estimate implied by raking to the margins). CSV
`{d["file"]}` ({d["csv_mb"]:.0f} MB); in memory as a polars frame: {fmt_mb(d["polars_mb"])}
(`frame.estimated_size()`).

## Results

{table_text(res)}

Speed-ups are peer time / quietpoll's first call (the peers are timed once each, in a fresh process, so the
first call is the like-for-like number; quietpoll's best-of-{res["repeats"]} is shown beside it).
³ CPU seconds of the whole quietpoll process (all threads: polars uses both cores) during the call
(`time.process_time()`): less sensitive than wall time to other processes on the machine; on an idle
2-core machine the wall time lies between half of it and all of it.

How each tool was run (each in its own subprocess; loading the data is not timed):

- **quietpoll**: `polars.read_csv`, `qp.svydesign(frame, weights="w")`, then `des.rake(targets, maxit={MAXIT},
  epsilon={EPSILON})`, `des.calibrate(targets, calfun="linear")`, and the same with `targets["income"] = total`.
  Each operation in a process of its own (so its peak RSS is its own), first call and then {res["repeats"]} more;
  a fresh design is built before each call (not timed). `import quietpoll` and its weighting package happen
  before any clock starts, as the peers' imports do. What it does per call: one parallel polars `select`
  codes the 4 text columns into the targets' level order (Enum physical codes, 1 byte a row); the codes are
  combined into each row's joint cell (2 bytes a row, {d["target_cells"]:,} cells); IPF, or the GREG normal
  equations, run on the table of joint-cell sums (one bincount over the rows; the income column adds one
  more); the weights go back to the rows with one gather. The records the standard errors need keep the
  codes and per-cell factors; their n-long arrays are made only when a standard error is asked for.
- **R survey** (`benchmarks/weighting_bench.R`): `data.table::fread`, factors with the targets' level order,
  `svydesign(ids=~1, weights=~w, data=d)`, `rake(des, list(~region, ~age, ~edu, ~urban), <4 population
  tables>, control=list(maxit={MAXIT}, epsilon={EPSILON}))`, `calibrate(des, ~region+age+edu+urban[+income],
  population=<totals>, calfun="linear")`; one call each, `proc.time()` elapsed.
- **weightipy**: `pandas.read_csv`, `weight_dataframe(df, scheme_from_dict(<target percentages>))` with its
  default settings (max 1000 iterations, stops when an iteration no longer improves by 1%), timed twice in
  the same process: as shipped, then with the start-threshold bug patched (note ¹). weightipy has no
  base weights: it always rakes from unit weights (so it solves a different problem; its weights are compared
  with quietpoll raking from unit weights, untimed) and returns weights scaled to mean 1.
- **balance**: `Sample.from_frame` (sample with `id`, the 4 variables, weight `w`) and a target `Sample` made of
  the {d["target_cells"]:,} cells of the product of the target margins (weights N·p·p·p·p, so its margins are exactly
  the targets), `set_target`, then `adjust(method="rake", transformations=None, max_iteration=1000,
  convergence_rate={res["balance_conv"]:g}, rate_tolerance=0)`. `transformations=None` because balance's default
  transformations lump rare levels; the convergence rate is tightened from its default 5e-4 so that it reaches
  the same solution. The "design build" cell for balance is its `from_frame` + `set_target` time.
  balance has no linear calibration.
- **peak memory**, two numbers (see the table below): (1) *whole-process peak RSS*, interpreter, libraries,
  reading the CSV and data included: the kernel's peak RSS of the worker process since it started (`VmHWM`
  in `/proc/self/status`, read by the worker; for R, which has no such worker code, `ru_maxrss` from `wait4`,
  which on Linux also counts the driver's own RSS at the moment it started R, {fmt_mb(res.get("driver_rss_mb"))}
  here); (2) for quietpoll, *the
  operation's own peak increment*: just before each timed call the worker resets the kernel's RSS
  high-water mark (`echo 5 > /proc/self/clear_refs`), and after the call reads `VmHWM` from
  `/proc/self/status`; the increment is that peak minus the RSS just before the call (the largest over the
  {res["repeats"] + 1} calls; the first call's is shown too). Beside it, the peak during the calls minus the
  RSS right after loading: that also counts the design built before each call (its weights and one-stage
  codes: the "design" row's own increment) and what the allocator kept from earlier calls.
  "Data in memory" is polars' `frame.estimated_size()` of the loaded frame.
- **machine load** (`os.getloadavg()`, 1/5/15 min): at start {res.get("load", {}).get("start")}, at end
  {res.get("load", {}).get("end")}.
- **contention** (CPU used by *other* processes while each phase ran): {contention or "not measured"}.
  Above ~0.15 cores the phase's timings are inflated.

{skipped}

### Peak memory

{memory_text(res)}

Target: peak memory under {TARGET_MEM_RATIO:.0f}x the in-memory size of the data. Read as the whole process's
peak RSS it cannot be met by any Python tool here: the interpreter with numpy, polars, scipy and quietpoll
imported takes {fmt_mb(qrake.get("rss_after_imports_mb"))} before reading anything, and after `read_csv` the
process holds {fmt_mb(qrake.get("rss_after_load_mb"))} (the frame plus what polars' reader and allocator keep). What the
weighting code controls is the memory an operation adds on top of the loaded data: the "own peak increment" column.

² weightipy and balance: whole-process peak minus the peak RSS right after loading (`VmHWM`, no reset:
that peak includes the CSV reader's own, so the difference can understate what raking adds).

### Agreement of the weights

{agreement_text(res)}

{notes}

## Where quietpoll is not yet there

Targets: at least {TARGET_SPEEDUP:.0f}x faster than each peer on each operation it has; peak memory under
{TARGET_MEM_RATIO:.0f}x the in-memory data. Misses in this run:

{miss_lines}

### Profiles (cProfile, one call after a warm-up, in a separate process)

{_profile_text(res.get("profiles", {}), fmt_s, top=10, top_quietpoll=8, note=PROFILE_NOTE) or "_no profiles_"}
"""
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(doc)
    link_from_main_docs()


LINK_LINE = (
    "- Weighting (raking, linear calibration) is benchmarked separately by `benchmarks/bench_weighting.py`: "
    "see [benchmarks_weighting.md](benchmarks_weighting.md)."
)


def link_from_main_docs():
    """One line in docs/benchmarks.md, inside the analysis markers: bench_estimate.py rewrites everything
    else in that file, but keeps that block verbatim."""
    if not MAIN_DOCS.exists():
        return
    text = MAIN_DOCS.read_text()
    if "benchmarks_weighting.md" in text:
        return
    end = "<!-- analysis:end -->"
    if end in text:
        MAIN_DOCS.write_text(text.replace(end, LINK_LINE + "\n" + end, 1))


# ----------------------------------------------------------------------------------------------
# driver


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--out", default=str(HERE / "out"))
    ap.add_argument("--repeats", type=int, default=3, help="timed quietpoll calls after the first (best kept)")
    ap.add_argument("--maxit", type=int, default=MAXIT)
    ap.add_argument("--epsilon", type=float, default=EPSILON)
    ap.add_argument("--balance-conv", type=float, default=1e-10)
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--no-weightipy", action="store_true")
    ap.add_argument("--no-balance", action="store_true")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks_weighting.md")
    ap.add_argument("--worker", choices=["quietpoll", "profile", "weightipy", "balance"], help=argparse.SUPPRESS)
    ap.add_argument("--op", help=argparse.SUPPRESS)
    ap.add_argument("--ops", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--targets", help=argparse.SUPPRESS)
    ap.add_argument("--outdir", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    a = ap.parse_args()

    if a.worker:
        {
            "quietpoll": worker_quietpoll,
            "profile": worker_profile,
            "weightipy": worker_weightipy,
            "balance": worker_balance,
        }[a.worker](a)
        return

    import numpy as np
    import polars as pl

    t_start = time.perf_counter()
    out = Path(a.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    res = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "machine": machine_info(),
        "repeats": a.repeats,
        "maxit": a.maxit,
        "epsilon": a.epsilon,
        "balance_conv": a.balance_conv,
        "versions": {"python": platform.python_version(), "polars": pl.__version__, "numpy": np.__version__},
        "src_state": {"start": _src_state(REPO)},
        "notes": [],
        "load": {"start": load_average()},
    }
    print(
        f"[load] machine load average (1, 5, 15 min) at start: {res['load']['start']}; nproc {os.cpu_count()}",
        flush=True,
    )
    print(f"[data] generating {a.rows:,} synthetic rows ...", flush=True)
    csv, tgt_path, codes, w, income = generate(a.rows, out)
    tg = json.loads(tgt_path.read_text())
    shares = [
        np.bincount(codes[v], weights=w, minlength=len(lev)) / w.sum() / (np.array(list(lev.values())) / tg["N"])
        for v, lev in tg["margins"].items()
    ]
    ratio = max(float(np.max(np.maximum(s, 1 / s))) for s in shares)
    res["data"] = {
        "rows": a.rows,
        "file": str(csv.relative_to(REPO)) if csv.is_relative_to(REPO) else str(csv),
        "csv_mb": csv.stat().st_size / 2**20,
        "income_total": tg["income_total"],
        "synthetic": True,
        "max_share_ratio": ratio,
        "target_cells": int(np.prod([len(x) for x in tg["margins"].values()])),
    }
    common = [
        "--data",
        str(csv),
        "--targets",
        str(tgt_path),
        "--outdir",
        str(out),
        "--maxit",
        str(a.maxit),
        "--epsilon",
        str(a.epsilon),
    ]
    for f in out.glob("weights_*"):
        f.unlink()

    # quietpoll ------------------------------------------------------------------------------
    ok, why = quietpoll_importable()
    qp = res["quietpoll"] = {}
    if not ok:
        qp["skipped"] = f"weighting engine not importable: {why}"
        print(f"[quietpoll] skipped: {why}", flush=True)
    else:
        for op in [k for k, _ in OPS] + ["rake_unit"]:
            rf = out / f"weighting_qp_{op}.json"
            rf.unlink(missing_ok=True)
            rc, wall, peak, text = run_proc(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    "quietpoll",
                    "--op",
                    op,
                    "--repeats",
                    str(a.repeats),
                    "--result",
                    str(rf),
                    *common,
                ],
                log=out / f"weighting_qp_{op}.log",
                timeout=240,
                phase="quietpoll",
            )
            if rc != 0 or not rf.exists():
                qp[op] = {"error": f"rc {rc}: {tail(text)}"}
                print(f"[quietpoll] {op} FAILED: {tail(text)}", flush=True)
                continue
            r = json.loads(rf.read_text())
            r["ru_maxrss_mb"] = peak  # wait4: on Linux this also counts the driver's RSS at fork
            r["peak_mb"] = r.get("peak_hwm_mb") or peak
            qp[op] = r
            res["versions"].update({k: v for k, v in r.get("versions", {}).items()})
            if op != "rake_unit":
                print(
                    f"[quietpoll] {op}: first {fmt_s(r['first'])}, best {fmt_s(r['best'])}, "
                    f"peak {fmt_mb(r['peak_mb'])}, own increment {fmt_mb(r.get('op_increment_max_mb'))}",
                    flush=True,
                )
        sizes = [v["data_bytes"] for v in qp.values() if isinstance(v, dict) and "data_bytes" in v]
        if sizes:
            res["data"]["polars_mb"] = sizes[0] / 2**20
    if "polars_mb" not in res["data"]:
        res["data"]["polars_mb"] = pl.read_csv(csv).estimated_size() / 2**20

    # R survey ------------------------------------------------------------------------------
    if a.no_r:
        res["r"] = {"skipped": "--no-r"}
    elif subprocess.run(["which", "Rscript"], capture_output=True).returncode != 0:
        res["r"] = {"skipped": "Rscript not found"}
    else:
        rf = out / "weighting_r.json"
        rf.unlink(missing_ok=True)
        print("[R] running ...", flush=True)
        res["driver_rss_mb"] = _rss_now_mb()
        rc, wall, peak, text = run_proc(
            ["Rscript", str(R_SCRIPT), str(csv), str(tgt_path), str(out), str(a.maxit), str(a.epsilon)],
            log=out / "weighting_r.log",
            timeout=420,
            phase="r",
        )
        if rc != 0 or not rf.exists():
            res["r"] = {"skipped": f"Rscript failed (rc {rc}): {tail(text)}"}
        else:
            r = json.loads(rf.read_text())
            r["peak_mb"] = peak
            r["wall_s"] = wall
            res["r"] = r
            res["versions"].update({k: v for k, v in r.get("versions", {}).items()})
        print(f"[R] {tail(text, 5)}; peak {fmt_mb(peak)}", flush=True)

    # weightipy, balance --------------------------------------------------------------------
    for tool in ("weightipy", "balance"):
        if getattr(a, f"no_{tool}"):
            res[tool] = {"skipped": f"--no-{tool}"}
            continue
        py, why = ensure_venv(tool, out)
        if py is None:
            res[tool] = {"skipped": why}
            print(f"[{tool}] skipped: {why}", flush=True)
            continue
        rf = out / f"weighting_{tool}.json"
        rf.unlink(missing_ok=True)
        extra = ["--balance-conv", str(a.balance_conv)] if tool == "balance" else []
        rc, wall, peak, text = run_proc(
            [str(py), __file__, "--worker", tool, "--result", str(rf), *common, *extra],
            log=out / f"weighting_{tool}.log",
            timeout=300,
            phase=tool,
        )
        if rc != 0 or not rf.exists():
            res[tool] = {"skipped": f"ran but failed (rc {rc}): {tail(text)}"}
            print(f"[{tool}] FAILED: {tail(text)}", flush=True)
            continue
        r = json.loads(rf.read_text())
        r["ru_maxrss_mb"] = peak  # wait4: on Linux this also counts the driver's RSS at fork
        r["peak_mb"] = r.get("peak_hwm_mb") or peak
        r["log_tail"] = tail(text, 3)
        res[tool] = r
        for k, v in r.get("versions", {}).items():
            res["versions"][k if k == tool else f"{tool}_{k}"] = v
        print(f"[{tool}] rake {fmt_s(r['rake']['seconds'])}, peak {fmt_mb(r['peak_mb'])}", flush=True)

    # checks ---------------------------------------------------------------------------------
    wq = {
        op: load_weights(out / f"weights_quietpoll_{op}.npy") for op in ("rake", "linear", "linear_income", "rake_unit")
    }
    wr = {op: load_weights(out / f"weights_r_{op}.bin") for op in ("rake", "linear", "linear_income")}
    ww = load_weights(out / "weights_weightipy_rake.npy")
    ww0 = load_weights(out / "weights_weightipy_rake_as_shipped.npy")
    wb = load_weights(out / "weights_balance_rake.npy")
    ag = res["agreement"] = {}
    for op in ("rake", "linear", "linear_income"):
        if wq[op] is not None and wr[op] is not None:
            ag[f"quietpoll vs R survey, {op}"] = {**diffs(wq[op], wr[op]), "note": "same problem, same base weights"}
    if wq["rake"] is not None and wb is not None:
        ag["quietpoll vs balance, rake"] = {**diffs(wq["rake"], wb), "note": "same problem, same base weights"}
    if wr["rake"] is not None and wb is not None:
        ag["R survey vs balance, rake"] = {**diffs(wr["rake"], wb), "note": "peers against each other"}
    if ww is not None:
        if wq["rake_unit"] is not None:
            u = wq["rake_unit"]
            ag["quietpoll (unit base weights) vs weightipy (patched, converged), rake"] = {
                **diffs(u, ww * u.sum() / ww.sum()),
                "note": "weightipy has no base weights: compared with quietpoll raking from w = 1, after scaling "
                "weightipy's mean-1 weights to the same total",
            }
            if ww0 is not None:
                ag["quietpoll (unit base weights) vs weightipy as shipped, rake"] = {
                    **diffs(u, ww0 * u.sum() / ww0.sum()),
                    "note": "weightipy as shipped stops after one sweep on this sample (see notes)",
                }
        if wq["rake"] is not None:
            ag["quietpoll (base weights w) vs weightipy, rake"] = {
                **diffs(wq["rake"], ww * wq["rake"].sum() / ww.sum()),
                "note": "different problems (weightipy ignores w): shows how much the base weights matter",
            }
    mc = res["margin_check"] = {}
    for tool, ws in (("quietpoll", wq), ("r", wr)):
        for op, x in ws.items():
            if x is not None:
                mc[f"{tool}:{op}"] = {
                    "err": margin_error(codes, x, tg, income if op == "linear_income" else None),
                    "sum": float(x.sum()),
                    "neg": int((x < 0).sum()),
                }
    for tool, x in (("weightipy", ww), ("weightipy as shipped", ww0), ("balance", wb)):
        if x is not None:
            mc[f"{tool}:rake"] = {
                "err": margin_error(codes, x * tg["N"] / x.sum(), tg),
                "sum": float(x.sum()),
                "neg": int((x < 0).sum()),
            }
    if ww is not None:
        res["notes"].append(
            "weightipy's margin error is computed after scaling its weights to N (it returns "
            "weights with mean 1, i.e. targets as shares of the sample size)."
        )
    if res.get("r", {}).get("ops", {}).get("rake", {}).get("warning"):
        res["notes"].append(f"R rake warned: {res['r']['ops']['rake']['warning']}")
    for tool in ("balance",):
        if res.get(tool, {}).get("log_tail"):
            res["notes"].append(f"{tool} printed: `{res[tool]['log_tail']}`")
        if res.get(tool, {}).get("iterations") is not None:
            res["notes"].append(
                f"{tool} iterations: {res[tool]['iterations']}, converged flag {res[tool].get('converged')}"
            )
    if res.get("weightipy", {}).get("rake"):
        err0 = mc.get("weightipy as shipped:rake", {}).get("err")
        head = (
            f"¹ weightipy: the comparable run is weightipy's own code with one starting value patched in-process "
            f"(patch applied: {res['weightipy'].get('patch_applied')}). As shipped, `Rake.start` starts from "
            "`diff_error = 999999` (an absolute sum of weight changes) and stops as soon as a sweep changes the "
            "weights by more than 0.99 times that, so on a large sample whose first sweep moves the weights "
            "by more than ~990,000 in total it stops after one sweep, unconverged. "
        )
        if err0 is not None and err0 > 1e-4:
            tail_ = f"It did here: as shipped, its margins are off by up to {err0:.0%}."
        else:
            tail_ = (
                "On this data the first sweep stays under that threshold and the as-shipped run converged too "
                "(an earlier, more skewed version of this data set left its margins off by up to 42%)."
            )
        res["notes"].append(head + tail_)

    # profiles -------------------------------------------------------------------------------
    if ok and not a.no_profile:
        rf = out / "weighting_qp_profile.json"
        rf.unlink(missing_ok=True)
        ops = [op for op in ("rake", "linear", "linear_income") if "error" not in qp.get(op, {"error": 1})]
        if ops:
            rc, wall, peak, text = run_proc(
                [sys.executable, __file__, "--worker", "profile", "--ops", ",".join(ops), "--result", str(rf), *common],
                log=out / "weighting_qp_profile.log",
                timeout=240,
                phase="profile",
            )
            res["profiles"] = (
                json.loads(rf.read_text()) if rc == 0 and rf.exists() else {"all": {"error": f"rc {rc}: {tail(text)}"}}
            )

    res["speedups"] = speedups(res)
    res["foreign_cpu"] = FOREIGN
    res["src_state"]["end"] = _src_state(REPO)
    res["load"]["end"] = load_average()
    print(f"[load] machine load average (1, 5, 15 min) at end: {res['load']['end']}", flush=True)
    if res["src_state"]["end"] != res["src_state"]["start"]:
        res["notes"].append(
            "quietpoll's src/ changed during the run (another session is editing it): the "
            "quietpoll numbers may mix two versions of the code."
        )
    res["elapsed_s"] = time.perf_counter() - t_start
    (out / "weighting_results.json").write_text(json.dumps(res, indent=2, default=str))
    print()
    print(table_text(res))
    print()
    print(memory_text(res))
    print()
    print(agreement_text(res))
    print()
    for _, label, why in misses(res):
        print(f"MISS {label}: " + "; ".join(why))
    if not a.no_docs:
        write_docs(res)
        print(f"\nwrote {out / 'weighting_results.json'} and {DOCS}")
    print(f"total {res['elapsed_s']:.0f} s")


if __name__ == "__main__":
    main()
