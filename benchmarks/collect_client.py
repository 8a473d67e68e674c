"""The load generator of benchmarks/bench_collect.py, one process per client:

    python benchmarks/collect_client.py SHARD.json RESULT.json CONCURRENCY raw|httpx

SHARD.json: ``{"base", "form_id", "items": [[token, instance_id, ciphertext], ...], "rate"}`` (rate 0: closed
loop; else that many submissions per second, open loop). The connections are opened and warmed with health
checks (which store nothing), then the process prints ``ready`` and waits for a line on stdin to start.
RESULT.json: start and end (time.monotonic, comparable across processes), every latency, the status counts
and the process's CPU seconds over the timed window.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path


async def _http_post_loop(
    host: str,
    port: int,
    requests: list[bytes],
    latencies: list,
    statuses: dict,
    it,
    warm: bytes,
    ready: list,
    go: asyncio.Event,
    pace: list,
) -> None:
    """One keep-alive HTTP/1.1 connection: send a prepared request, read the answer (status line, headers,
    Content-Length body), repeat. Minimal on purpose, so that the client spends little CPU per request."""
    reader, writer = await asyncio.open_connection(host, port)

    async def exchange(raw: bytes) -> int:
        writer.write(raw)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await reader.readexactly(length)
        if b"connection: close" in head.lower():
            raise ConnectionError("the server closed the connection")
        return status

    await exchange(warm)
    ready.append(True)
    await go.wait()
    try:
        for index in it:
            t = time.perf_counter()
            if pace:  # open loop: request `index` is due at start + index / rate; latency counts from then
                due = pace[0] + index / pace[1]
                if due > t:
                    await asyncio.sleep(due - t)
                t = due
            try:
                key = str(await exchange(requests[index]))
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                latencies.append(time.perf_counter() - t)
                statuses[type(exc).__name__] = statuses.get(type(exc).__name__, 0) + 1
                return
            latencies.append(time.perf_counter() - t)
            statuses[key] = statuses.get(key, 0) + 1
    finally:
        writer.close()


async def _client_raw(shard: dict, concurrency: int) -> dict:
    go, ready, pace = asyncio.Event(), [], []
    host, port = shard["base"].removeprefix("http://").rsplit(":", 1)
    requests = []
    for token, iid, ct in shard["items"]:
        body = json.dumps(
            {"form_id": shard["form_id"], "instance_id": iid, "ciphertext": ct}, separators=(",", ":")
        ).encode()
        requests.append(
            f"POST /api/v1/submissions HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
    warm = f"GET /api/v1/health HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    it = iter(range(len(requests)))
    tasks = [
        asyncio.create_task(_http_post_loop(host, int(port), requests, latencies, statuses, it, warm, ready, go, pace))
        for _ in range(concurrency)
    ]
    while len(ready) < concurrency:  # every connection open and warmed (a health check stores nothing)
        await asyncio.sleep(0.01)
        for task in tasks:
            if task.done():
                task.result()
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    cpu0, t0 = os.times(), time.monotonic()
    if shard.get("rate"):
        pace.extend([time.perf_counter(), shard["rate"]])
    go.set()
    await asyncio.gather(*tasks)
    t1, cpu1 = time.monotonic(), os.times()
    return {
        "start": t0,
        "end": t1,
        "latencies": latencies,
        "statuses": statuses,
        "cpu_s": (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system),
    }


async def _client_httpx(shard: dict, concurrency: int) -> dict:
    import httpx

    base, items = shard["base"], shard["items"]
    bodies = [
        (
            tok,
            json.dumps(
                {"form_id": shard["form_id"], "instance_id": iid, "ciphertext": ct}, separators=(",", ":")
            ).encode(),
        )
        for tok, iid, ct in items
    ]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60.0) as client:
        # open the pool's connections before timing (health checks store nothing)
        await asyncio.gather(*(client.get("/api/v1/health") for _ in range(concurrency)))
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        latencies: list[float] = []
        statuses: dict[str, int] = {}
        it = iter(bodies)
        cpu0, t0 = os.times(), time.monotonic()

        async def worker():
            for token, body in it:
                headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
                t = time.perf_counter()
                try:
                    r = await client.post("/api/v1/submissions", content=body, headers=headers)
                    key = str(r.status_code)
                except httpx.HTTPError as exc:
                    key = type(exc).__name__
                latencies.append(time.perf_counter() - t)
                statuses[key] = statuses.get(key, 0) + 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        t1, cpu1 = time.monotonic(), os.times()
    return {
        "start": t0,
        "end": t1,
        "latencies": latencies,
        "statuses": statuses,
        "cpu_s": (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system),
    }


def client_main(shard_path: str, result_path: str, concurrency: int, lib: str) -> None:
    shard = json.loads(Path(shard_path).read_text())
    run = _client_httpx if lib == "httpx" else _client_raw
    result = asyncio.run(run(shard, concurrency))
    Path(result_path).write_text(json.dumps(result))


if __name__ == "__main__":
    client_main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
