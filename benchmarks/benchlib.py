"""What the benchmark scripts share: running a peer in its own process and measuring it."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path


def busy_cpu_seconds():
    """CPU seconds the whole machine has spent busy (not idle, not iowait), from /proc/stat."""
    try:
        v = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return (sum(v) - v[3] - (v[4] if len(v) > 4 else 0)) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return None


def run_measured(cmd, *, log, timeout=None, env=None, cwd=None, foreign=None, phase=None):
    """Run cmd to completion with its output in `log`; return (returncode, wall seconds, peak RSS MB of
    that process (wait4), log text). With `foreign` (a dict) and `phase`, record how much CPU other
    processes on the machine used meanwhile, so contended timings can be flagged."""
    out = open(log, "w+")
    busy0 = busy_cpu_seconds()
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    deadline = None if timeout is None else t + timeout
    killed = False
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if deadline and time.perf_counter() > deadline:
            p.kill()
            killed = True
            pid, status, ru = os.wait4(p.pid, 0)
            break
        time.sleep(0.05)
    wall = time.perf_counter() - t
    busy1 = busy_cpu_seconds()
    if foreign is not None and phase and busy0 is not None and busy1 is not None:
        extra = max(0.0, (busy1 - busy0) - (ru.ru_utime + ru.ru_stime))
        prev = foreign.get(phase, {"cpu_s": 0.0, "wall_s": 0.0})
        cpu_s, wall_s = prev["cpu_s"] + extra, prev["wall_s"] + wall
        foreign[phase] = {
            "cpu_s": round(cpu_s, 2),
            "wall_s": round(wall_s, 2),
            "cores": round(cpu_s / wall_s, 3) if wall_s else 0.0,
        }
    out.close()
    text = Path(log).read_text(errors="replace")
    rc = os.waitstatus_to_exitcode(status)
    if killed:
        text += f"\n[killed after {timeout} s]"
        rc = rc if rc else -9
    return rc, wall, ru.ru_maxrss / 1024, text


def machine_info() -> dict:
    """CPU model, core count, memory, platform, the BLAS core type and the load average, as the docs report
    them."""
    import platform

    info = {
        "platform": platform.platform(),
        "nproc": os.cpu_count(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "loadavg": list(os.getloadavg()),  # 1, 5 and 15 minutes, when the facts were taken
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["mem_gib"] = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return info


def src_state(repo: Path) -> str:
    """HEAD + a digest of uncommitted and untracked changes under src/, to see whether the code a run
    measured moved while it ran."""
    import hashlib

    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True
        ).stdout.strip()
        h = hashlib.sha1(subprocess.run(["git", "diff", "HEAD", "--", "src"], cwd=repo, capture_output=True).stdout)
        untracked = subprocess.run(
            ["git", "ls-files", "--others", "--exclude-standard", "--", "src"], cwd=repo, capture_output=True, text=True
        ).stdout.split()
        for name in sorted(untracked):
            h.update((repo / name).read_bytes())
        return f"{head}+{h.hexdigest()[:10]}"
    except OSError:
        return "?"


def func_name(file, line, name) -> str:
    """A profiled function as `quietpoll/module.py:line(name)` (or the file's name outside quietpoll)."""
    if file == "~":
        return name
    i = file.find("quietpoll/")
    f = file[i:] if i >= 0 else Path(file).name
    return f"{f}:{line}({name})"


def profile_text(
    profiles: dict, fmt_s, labels: dict | None = None, top: int = 8, top_quietpoll: int = 6, note: str = ""
) -> str:
    """Markdown of cProfile summaries ({op: {"total", "top_tottime", "top_quietpoll_cumtime"} or
    {"error"}}): self-time table and quietpoll's functions by cumulative time."""
    out = []
    for key, p in profiles.items():
        label = (labels or {}).get(key, key)
        if "error" in p:
            out.append(f"#### {label}: profiling failed\n\n`{p['error']}`\n")
            continue
        title = f"{label} (`{key}`)" if label != key else key
        out.append(f"#### {title}, profiled total {fmt_s(p['total'])}{note}\n")
        out.append("| function (self time) | calls | self | share | called mostly from |")
        out.append("|---|---:|---:|---:|---|")
        for r in p["top_tottime"][:top]:
            share = r["tottime"] / p["total"] if p["total"] else 0
            caller = r["callers"][0][0] if r["callers"] else ""
            out.append(f"| `{r['func']}` | {r['ncalls']} | {fmt_s(r['tottime'])} | {share:.0%} | `{caller}` |")
        out.append("")
        out.append(
            "quietpoll functions by cumulative time: "
            + "; ".join(
                f"`{r['func']}` {fmt_s(r['cumtime'])} ({r['cumtime'] / p['total']:.0%})"
                for r in p["top_quietpoll_cumtime"][:top_quietpoll]
                if p["total"]
            )
        )
        out.append("")
    return "\n".join(out)
