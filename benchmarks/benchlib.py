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
        foreign[phase] = {"cpu_s": round(cpu_s, 2), "wall_s": round(wall_s, 2),
                          "cores": round(cpu_s / wall_s, 3) if wall_s else 0.0}
    out.close()
    text = Path(log).read_text(errors="replace")
    rc = os.waitstatus_to_exitcode(status)
    if killed:
        text += f"\n[killed after {timeout} s]"
        rc = rc if rc else -9
    return rc, wall, ru.ru_maxrss / 1024, text
