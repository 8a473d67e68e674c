"""Collection server benchmark: sealed submissions from concurrent clients to the real `quietpoll serve`.

    .venv/bin/python benchmarks/bench_collect.py                  # 20,000 submissions, SQLite and PostgreSQL
    .venv/bin/python benchmarks/bench_collect.py --n 2000 --no-docs   # quick trial run

One run, for each store (SQLite at STUDY/collect.db, then a throwaway PostgreSQL cluster from Debian's
packages started like the test fixture tests/collect/pgserver.py):

1. a study folder made by `quietpoll init` (the foreign-media XLSForm), `quietpoll keys new`, and
   `--tokens` interviewer tokens added to the store (the server's default per-token rate limit, 60 per
   60 s window counted in the store, is left as users get it: every token sends at most `--n / --tokens`);
2. `--n` SYNTHETIC answer sets sealed with HPKE (`quietpoll.collect.envelope.seal`) **before** timing:
   sealing is the browser's work, not the server's; the JSON bodies are encoded before timing too;
3. `quietpoll serve STUDY --store URL --host 127.0.0.1 --port P` started as a subprocess (the console
   script, as users run it), and `--clients` load-generator processes (benchmarks/collect_client.py), each
   an asyncio loop with `--concurrency` keep-alive connections: closed loop (a connection sends its next
   submission when the previous one is answered), then paced at `--paced-rate` (open loop), each run on a
   fresh store. Each token belongs to one client process (one phone). With PostgreSQL this is repeated
   for each server layout of `--pg-servers`: one `serve` process, two `serve` processes on two ports
   sharing the database (client process c sends to server c mod 2), one `serve --workers 2`;
4. timed: from the start signal to the last answer; every request's latency (send to response);
   CPU seconds of the server (the uvicorn process; with PostgreSQL plus the database's processes) and of
   the client processes, and of the whole machine (what other processes used meanwhile is reported);
5. afterwards the store is opened and must hold exactly `--n` rows, every status must be 201.

Server and load generator share the machine's cores. Results: OUT/collect_results.json and
docs/benchmarks_collect.md (unless --no-docs). Measurements, not tests: nothing here asserts a target.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs" / "benchmarks_collect.md"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import machine_info  # noqa: E402

PASSPHRASE = "synthetic benchmark passphrase"
TICK = os.sysconf("SC_CLK_TCK")
TARGET_RATE, TARGET_P99_MS = 500.0, 100.0


# -------------------------------------------------------------------------------------------------
# measuring


def proc_cpu(pid: int) -> float:
    """utime + stime of one process, seconds (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def tree_pids(root: int) -> list[int]:
    """root and all its descendants (from /proc/*/stat parent ids)."""
    parents: dict[int, list[int]] = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                ppid = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(p.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(parents.get(pid, []))
    return out


def tree_cpu(root: int | None) -> dict[int, float]:
    return {} if root is None else {pid: proc_cpu(pid) for pid in tree_pids(root)}


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two samples by the processes of a tree (a process new since `before` counts
    from zero; one gone by `after` is lost, which the PostgreSQL pool's long-lived backends avoid)."""
    return sum(v - before.get(pid, 0.0) for pid, v in after.items())


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted values."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(-(-q * len(sorted_values) // 100)) - 1))
    return sorted_values[k]


def versions(pg_bindir: Path | None) -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("quietpoll", "starlette", "uvicorn", "httpx", "psycopg", "cryptography", "uvloop", "httptools"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    import sqlite3

    out["sqlite"] = sqlite3.sqlite_version
    if pg_bindir is not None:
        import re

        r = subprocess.run([str(pg_bindir / "postgres"), "--version"], capture_output=True, text=True)
        found = re.search(r"\(PostgreSQL\) (\S+)", r.stdout)
        out["postgresql"] = found.group(1) if found else None
    try:
        out["commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src/quietpoll/collect", "src/quietpoll/cli/collect.py"],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout
        out["collect_uncommitted"] = bool(dirty.strip())
    except OSError:
        pass
    return out


# -------------------------------------------------------------------------------------------------
# the study, the payloads, the server


def synthetic_payload(rng: random.Random, seq: int, names: list[tuple[str, str]]) -> dict:
    """One SYNTHETIC interview shaped like the foreign-media form: every question gets a made-up value."""
    out: dict = {"synthetic": True, "seq": seq}
    for name, qtype in names:
        if qtype in ("start", "end"):
            out[name] = f"2026-01-{1 + seq % 28:02d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00+09:00"
        elif qtype == "today":
            out[name] = f"2026-01-{1 + seq % 28:02d}"
        elif qtype in ("integer", "calculate"):
            out[name] = rng.randrange(0, 40)
        elif qtype == "select_multiple":
            out[name] = " ".join(f"opt{k}" for k in sorted(rng.sample(range(1, 9), rng.randrange(1, 4))))
        elif qtype == "select_one":
            out[name] = f"opt{rng.randrange(1, 7)}"
    return out


def make_study(root: Path) -> tuple[Path, str, object, list[tuple[str, str]]]:
    from quietpoll.collect.keys import load_public
    from quietpoll.instrument.form import load_instrument

    study = root / "study"
    env = os.environ | {"QUIETPOLL_PASSPHRASE": PASSPHRASE}
    qp = str(Path(sys.executable).parent / "quietpoll")
    for args in (["init", str(study)], ["keys", "new", str(study)]):
        subprocess.run([qp, *args], check=True, env=env, capture_output=True, stdin=subprocess.DEVNULL)
    inst = load_instrument(study / "form.xlsx")
    names = [(q.name, q.type) for q in inst.questions if q.type != "note"]
    return study, inst.form_id, load_public(study / "keys" / "study.pub"), names


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    study: Path, url: str, log: Path, profile: Path | None = None, extra: tuple[str, ...] = ()
) -> tuple[subprocess.Popen, str]:
    import httpx

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    prefix = [] if profile is None else [sys.executable, "-m", "cProfile", "-o", str(profile)]
    cmd = [
        *prefix,
        str(Path(sys.executable).parent / "quietpoll"),
        "serve",
        str(study),
        "--store",
        url,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *extra,
    ]
    proc = subprocess.Popen(cmd, stdout=log.open("ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"quietpoll serve exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1.0).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("quietpoll serve did not answer within 60 s")
        time.sleep(0.1)


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


#: server layouts: label -> (number of `serve` processes, extra flags of each)
TOPOLOGIES = {
    "1": ("1 process", 1, ()),
    "2": ("2 processes", 2, ()),
    "workers2": ("1 process, --workers 2", 1, ("--workers", "2")),
}


def run_store(
    kind: str,
    url: str,
    study: Path,
    form_id: str,
    sealed: list[tuple[str, str]],
    args,
    work: Path,
    pg_root: int | None,
    rate: float = 0.0,
    topology: str = "1",
) -> dict:
    """One timed run against a fresh store: closed loop (rate 0) or paced at `rate` submissions/s, with the
    server layout `topology` (TOPOLOGIES: client process c sends to server c % servers)."""
    from benchlib import busy_cpu_seconds

    from quietpoll.collect.store import Store

    with Store.open(url) as st:
        tokens = [st.add_token(f"bench-{i:04d}") for i in range(args.tokens)]
    # submission i is sent with token i % T; token t belongs to client process t % C
    shards: list[list] = [[] for _ in range(args.clients)]
    for i, (iid, ct) in enumerate(sealed):
        t = i % args.tokens
        shards[t % args.clients].append((tokens[t], iid, ct))
    profile = None if args.profile_server is None else args.profile_server.with_suffix(f".{kind}.prof")
    label, n_servers, extra = TOPOLOGIES[topology]
    procs, bases = [], []
    clients = []
    try:
        for k in range(n_servers):
            proc, base = start_server(study, url, work / f"server-{kind}-{k}.log", profile, extra)
            procs.append(proc)
            bases.append(base)
        for c, items in enumerate(shards):
            shard = work / f"shard-{kind}-{c}.json"
            shard.write_text(
                json.dumps(
                    {"base": bases[c % n_servers], "form_id": form_id, "items": items, "rate": rate / args.clients}
                )
            )
            p = subprocess.Popen(
                [
                    sys.executable,
                    str(Path(__file__).with_name("collect_client.py")),
                    str(shard),
                    str(work / f"result-{kind}-{c}.json"),
                    str(args.concurrency),
                    args.client_lib,
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            clients.append(p)
        for p in clients:
            if p.stdout.readline().strip() != "ready":
                raise RuntimeError("a load-generator process did not start")
        srv0, pg0, busy0 = _servers_cpu(procs), tree_cpu(pg_root), busy_cpu_seconds()
        wall0 = time.monotonic()
        for p in clients:
            p.stdin.write("go\n")
            p.stdin.flush()
        for p in clients:
            p.wait(timeout=3600)
        wall = time.monotonic() - wall0
        srv1, pg1, busy1 = _servers_cpu(procs), tree_cpu(pg_root), busy_cpu_seconds()
        server_rss = _rss_mb(procs[0].pid)
    finally:
        for p in clients:
            if p.poll() is None:
                p.kill()
        for proc in procs:
            stop_server(proc)
    results = [json.loads((work / f"result-{kind}-{c}.json").read_text()) for c in range(args.clients)]
    lat = sorted(x for r in results for x in r["latencies"])
    statuses: dict[str, int] = {}
    for r in results:
        for k, v in r["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    span = max(r["end"] for r in results) - min(r["start"] for r in results)
    with Store.open(url) as st:
        rows = st.count()
        distinct = len({row["instance_id"] for row in st.list()})
    expected = {iid for iid, _ in sealed}
    server_cpu = cpu_delta(srv0, srv1)
    db_cpu = cpu_delta(pg0, pg1) if pg_root is not None else 0.0
    client_cpu = sum(r["cpu_s"] for r in results)
    machine = (busy1 - busy0) if busy0 is not None and busy1 is not None else None
    return {
        "store": kind,
        "servers": label,
        "mode": f"paced {rate:.0f}/s" if rate else "closed loop",
        "n": len(sealed),
        "tokens": args.tokens,
        "clients": args.clients,
        "concurrency_per_client": args.concurrency,
        "seconds": span,
        "rate": len(sealed) / span,
        "latency_ms": {f"p{q}": 1000 * percentile(lat, q) for q in (50, 95, 99)}
        | {"max": 1000 * lat[-1], "mean": 1000 * sum(lat) / len(lat)},
        "statuses": statuses,
        "cpu_s": {
            "server": server_cpu,
            "database": db_cpu,
            "clients": client_cpu,
            "machine": machine,
            "others": None if machine is None else max(0.0, machine - server_cpu - db_cpu - client_cpu),
            "wall": wall,
        },
        "server_rss_mb": server_rss,
        "rows_after": rows,
        "distinct_after": distinct,
        "ids_match": distinct == len(expected),
    }


def _servers_cpu(procs: list[subprocess.Popen]) -> dict[int, float]:
    """CPU seconds of every server process tree (uvicorn's workers are children of `serve --workers`)."""
    out: dict[int, float] = {}
    for proc in procs:
        out |= tree_cpu(proc.pid)
    return out


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


# -------------------------------------------------------------------------------------------------
# report


def fmt_ms(v: float) -> str:
    return f"{v:.1f} ms"


def verdict(r: dict) -> str:
    ok_status = set(r["statuses"]) == {"201"}
    ok_rows = r["rows_after"] == r["n"] and r["ids_match"]
    ok_rate, ok_p99 = r["rate"] >= TARGET_RATE, r["latency_ms"]["p99"] < TARGET_P99_MS
    parts = [
        ("met" if ok_rate else "MISSED") + f" {TARGET_RATE:.0f}/s",
        ("met" if ok_p99 else "MISSED") + f" p99 < {TARGET_P99_MS:.0f} ms",
        "all 201" if ok_status else "NOT all 201",
        f"{r['rows_after']:,} rows" + ("" if ok_rows else " (WRONG)"),
    ]
    return "; ".join(parts)


def results_table(res: dict) -> str:
    lines = [
        "| store | servers | load | submissions | throughput | p50 | p95 | p99 | max | statuses | rows after "
        "| CPU server | CPU database | CPU clients | CPU others | targets |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in res["runs"]:
        lat, cpu = r["latency_ms"], r["cpu_s"]
        st = ", ".join(f"{k}: {v:,}" for k, v in sorted(r["statuses"].items()))
        others = "?" if cpu["others"] is None else f"{cpu['others']:.1f} s"
        db = f"{cpu['database']:.1f} s" if r["store"] == "postgresql" else "—"
        lines.append(
            f"| {r['store']} | {r.get('servers', '1 process')} | {r['mode']} | {r['n']:,} | **{r['rate']:,.0f}/s** ({r['seconds']:.1f} s) "
            f"| {fmt_ms(lat['p50'])} | {fmt_ms(lat['p95'])} | **{fmt_ms(lat['p99'])}** | {fmt_ms(lat['max'])} "
            f"| {st} | {r['rows_after']:,} | {cpu['server']:.1f} s | {db} | {cpu['clients']:.1f} s "
            f"| {others} | {verdict(r)} |"
        )
    return "\n".join(lines)


def write_docs(res: dict) -> None:
    import re

    m, v, cfg = res["machine"], res["versions"], res["config"]
    old = DOCS.read_text() if DOCS.exists() else ""
    mk = re.search(r"<!-- analysis:begin -->.*?<!-- analysis:end -->", old, re.S)
    analysis = (
        mk.group(0) if mk else ("<!-- analysis:begin -->\n_(No hand-written analysis yet.)_\n<!-- analysis:end -->")
    )
    per_token = -(-cfg["n"] // cfg["tokens"])
    ct_chars = " or ".join(f"{c:,}" for c in res["ciphertext_chars"])
    client_text = textwrap.fill(
        "The client is a minimal HTTP/1.1 client on asyncio streams (`--client-lib raw`): each request's "
        "bytes are prepared before timing, and it reads the status line, the headers and the Content-Length "
        "body. `httpx.AsyncClient` (`--client-lib httpx`) spent more CPU per request than the server itself in "
        "trial runs (2.7 ms against the server's 1.3 ms on a busy machine), so with it the load generator, not "
        "the server, would have been measured."
        if cfg["client_lib"] == "raw"
        else "The client is `httpx.AsyncClient` with a connection pool (`--client-lib httpx`).",
        width=110,
        initial_indent="  ",
        subsequent_indent="  ",
    )
    short_note = (
        ""
        if cfg["n"] >= 20_000
        else (
            f"\n**This run used `--n {cfg['n']}`**, fewer than the 20,000 submissions of the target, to keep the run "
            "(now with the two-process and `--workers` layouts on PostgreSQL) short on a shared machine.\n"
        )
    )
    doc = f"""# Benchmark: the collection server (`quietpoll serve`)

Generated by `benchmarks/bench_collect.py` on {res["date"]}; the whole run took {res["elapsed_s"]:.0f} s.
These are measurements, not tests. Back to [benchmarks.md](benchmarks.md).

Target (issue 5): at least {TARGET_RATE:.0f} submissions/s with p99 latency under {TARGET_P99_MS:.0f} ms, on 2 cores,
{cfg["n"]:,} submissions from concurrent clients on loopback, with the SQLite and the PostgreSQL store.
{short_note}
## Machine and versions

- CPU: {m.get("cpu", "?")}; nproc {m.get("nproc")}; memory {m.get("mem_gib")} GiB; {m.get("platform")}
- **The server, the database and the load generator all run on these {m.get("nproc")} cores**, and so did
  whatever else was running on the machine (column "CPU others": busy CPU of the whole machine during the
  timed window minus server, database and clients; it also holds kernel time charged to no process,
  such as part of the loopback networking, and the benchmark's own parent process).
- Python {v.get("python")}, starlette {v.get("starlette")}, uvicorn {v.get("uvicorn")} (uvloop:
  {v.get("uvloop") or "not installed"}; httptools: {v.get("httptools") or "not installed"}), httpx {v.get("httpx")},
  psycopg {v.get("psycopg")}, cryptography {v.get("cryptography")}, SQLite {v.get("sqlite")},
  PostgreSQL {v.get("postgresql") or "—"}; quietpoll {v.get("quietpoll")} (commit {v.get("commit")}
  {"+ uncommitted changes under collect/" if v.get("collect_uncommitted") else ""})

## Method

- A study made by `quietpoll init` (the foreign-media XLSForm, form id `{res["form_id"]}`) and `quietpoll keys
  new`; {cfg["n"]:,} **synthetic** answer sets (every question of the form given a made-up value) sealed with
  HPKE by `quietpoll.collect.envelope.seal` **before timing** (sealing is the browser's work; it took
  {res["seal_s"]:.1f} s here), each ciphertext {ct_chars} characters of base64url (the smallest
  padding bucket that holds one interview). The JSON bodies are encoded before timing too.
- The server is the real `quietpoll serve STUDY --store URL --host 127.0.0.1 --port P` process, started from
  the console script as users run it (uvicorn picks httptools and uvloop, which quietpoll depends on); the
  form routes, the form-id check, token checks, body limits and the per-token rate limit are all live.
  Column "servers": one such process; **2 processes** (two `serve` processes on two ports sharing the
  store, client process *c* sending to server *c* mod 2, as two machines behind a proxy would); or one
  process with **`--workers 2`** (uvicorn's worker processes sharing one port, each with its own store
  connection). Layouts run: {"; ".join(cfg.get("topologies_note", ["SQLite: one process"]))}.
  SQLite: `sqlite:///STUDY/collect.db` (WAL, `synchronous=FULL`). PostgreSQL: a throwaway cluster from
  Debian's packages on 127.0.0.1 (started as tests/collect/pgserver.py does; `fsync=on`,
  `synchronous_commit=on`, defaults otherwise).
- **Rate limits as configured**: the server's default, unchanged: {cfg["rate_limit"]} per token, counted
  in the store (a fixed window; one atomic upsert per request, shared by every server process). The load comes from **{cfg["tokens"]} interviewer tokens**
  (`tokens add`, aliases `bench-0000`...), each sending at most {per_token} submissions — within one burst,
  as a field team of {cfg["tokens"]} phones flushing their offline outboxes at once would. No request was
  exempted from any check.
- Load generator: {cfg["clients"]} client processes (benchmarks/collect_client.py), each one asyncio loop holding
  {cfg["concurrency"]} keep-alive connections ({cfg["clients"] * cfg["concurrency"]} connections in all). Each token is
  used by one client process. The connections are opened (health checks, which store nothing) before the
  start signal.
{client_text}
- Two runs per store, each on a fresh empty store: **closed loop** (as fast as the server answers: the
  throughput it sustains, and the latency at that saturation, where every request waits behind the
  others in flight) and **paced** at {cfg["paced_rate"]:.0f} submissions/s (open loop, above the 500/s target:
  request *i* is due at start + *i*/rate whether or not earlier ones were answered, and its latency counts
  from when it was due, so a slow server cannot hide its queue from the measurement).
- Timed from the first request to the last answer; latency is each request's send-to-response time on the
  client. CPU seconds from /proc for the server process tree, the PostgreSQL processes and the clients,
  over the timed window.
- Afterwards the store is opened: it must hold exactly {cfg["n"]:,} rows with {cfg["n"]:,} distinct instance
  ids, and every status must be 201.

## Results

{results_table(res)}

{analysis}

## Rerun

```sh
.venv/bin/python benchmarks/bench_collect.py            # both stores, ~{res["elapsed_s"] / 60:.0f} min here
.venv/bin/python benchmarks/bench_collect.py --stores sqlite --n 2000 --no-docs   # trial run
```

Options: `--n`, `--tokens`, `--clients`, `--concurrency`, `--client-lib raw|httpx`, `--pg-servers 1,2,workers2`,
`--paced-rate R` (0: closed loop only), `--stores sqlite,postgresql`, `--out DIR` (results JSON), `--no-docs`,
`--profile-server FILE` (the server under cProfile; its timings are then not representative).
"""
    DOCS.write_text(doc)


# -------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--tokens", type=int, default=500)
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--stores", default="sqlite,postgresql")
    ap.add_argument(
        "--pg-servers",
        default="1,2,workers2",
        help="PostgreSQL server layouts, of " + ", ".join(TOPOLOGIES) + " (SQLite: 1)",
    )
    ap.add_argument(
        "--paced-rate",
        type=float,
        default=600.0,
        help="after the closed-loop run, a run paced at this many submissions/s (0: none)",
    )
    ap.add_argument(
        "--client-lib",
        choices=["raw", "httpx"],
        default="raw",
        help="load generator: a minimal asyncio HTTP/1.1 client (raw) or httpx.AsyncClient",
    )
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out")
    ap.add_argument("--no-docs", action="store_true")
    ap.add_argument(
        "--profile-server",
        type=Path,
        help="run the server under cProfile, writing FILE.STORE.prof (its timings are then not representative)",
    )
    args = ap.parse_args(argv)
    if -(-args.n // args.tokens) > 60:
        ap.error("more than 60 submissions per token would hit the default rate limit: raise --tokens")

    from quietpoll.collect.app import create_app  # noqa: F401  (fail early when the package is broken)
    from quietpoll.collect.envelope import seal

    started = time.monotonic()
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="qp-bench-collect-"))
    sys.path.insert(0, str(REPO / "tests" / "collect"))
    from pgserver import _Cluster, find_bindir

    bindir = find_bindir()
    res: dict = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_info(),
        "versions": versions(bindir),
        "runs": [],
        "config": {
            "n": args.n,
            "tokens": args.tokens,
            "clients": args.clients,
            "concurrency": args.concurrency,
            "client_lib": args.client_lib,
            "paced_rate": args.paced_rate,
            "rate_limit": "60 requests per 60 s",
            "pg_servers": args.pg_servers.split(","),
            "topologies_note": [
                "SQLite: one process",
                "PostgreSQL: " + " / ".join(TOPOLOGIES[t][0] for t in args.pg_servers.split(",")),
            ],
        },
    }
    try:
        study, form_id, public, names = make_study(work)
        rng = random.Random(20261122)
        t = time.perf_counter()
        sealed = []
        for i in range(args.n):
            iid = f"uuid:{rng.getrandbits(128):032x}"
            sealed.append((iid, seal(public, form_id, iid, synthetic_payload(rng, i, names))))
        res["seal_s"] = time.perf_counter() - t
        res["form_id"] = form_id
        res["ciphertext_chars"] = sorted({len(ct) for _, ct in sealed})
        print(f"sealed {args.n} synthetic submissions in {res['seal_s']:.1f} s", flush=True)
        rates = [0.0] + ([args.paced_rate] if args.paced_rate else [])
        for kind in args.stores.split(","):
            if kind not in ("sqlite", "postgresql"):
                ap.error(f"unknown store {kind!r}: sqlite or postgresql")
            if kind == "postgresql" and bindir is None:
                res.setdefault("notes", []).append("PostgreSQL skipped: server binaries not installed")
                continue
            cluster = _Cluster(bindir) if kind == "postgresql" else None
            try:
                if cluster is not None:
                    server = cluster.start()
                    postmaster = int((cluster.datadir / "postmaster.pid").read_text().split()[0])
                layouts = ["1"] if cluster is None else args.pg_servers.split(",")
                for topology, rate in [(t, r) for t in layouts for r in rates]:  # each run on a fresh store
                    if topology not in TOPOLOGIES:
                        ap.error(f"unknown server layout {topology!r}: one of {', '.join(TOPOLOGIES)}")
                    if cluster is None:
                        db = study / "collect.db"
                        for suffix in ("", "-wal", "-shm"):
                            Path(f"{db}{suffix}").unlink(missing_ok=True)
                        r = run_store(kind, f"sqlite:///{db}", study, form_id, sealed, args, work, None, rate)
                    else:
                        r = run_store(
                            kind,
                            server.create_database(),
                            study,
                            form_id,
                            sealed,
                            args,
                            work,
                            postmaster,
                            rate,
                            topology,
                        )
                    res["runs"].append(r)
                    lat = r["latency_ms"]
                    print(
                        f"{kind}, {r['servers']}, {r['mode']}: {r['rate']:.0f}/s, p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms, "
                        f"max {lat['max']:.1f} ms, statuses {r['statuses']}, rows {r['rows_after']}, "
                        f"CPU server {r['cpu_s']['server']:.1f} s db {r['cpu_s']['database']:.1f} s "
                        f"clients {r['cpu_s']['clients']:.1f} s others {r['cpu_s']['others']}",
                        flush=True,
                    )
            finally:
                if cluster is not None:
                    cluster.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    res["elapsed_s"] = time.monotonic() - started
    (args.out / "collect_results.json").write_text(json.dumps(res, indent=1))
    if not args.no_docs:
        write_docs(res)
        print(f"wrote {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
