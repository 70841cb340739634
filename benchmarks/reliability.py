"""Reliability soak on loopback: ``owl-planner serve`` on HART (Tampa) under abuse.

Phases, each bounded in time, figures printed as JSON (issue 16's goals in brackets):

* ``baseline``: ordinary plans alone (one client, sequential), for the ratio below;
* ``cost-attack``: the same ordinary plans while one client keeps 20 requests in flight
  with the largest plan the cost budget allows (2 h window x 10 itineraries x 1 h walks);
  ordinary p50/p99, their errors [0, p99 < 100 ms on 2 cores], the attacker's answers by
  status, and ordinary p99 under attack / baseline p99 (same run);
* ``header-flood``: 10 connections sending 50 MB headers straight at uvicorn; the server's
  RSS growth [< 50 MB] and whether it still answers;
* ``half-sent``: 200 connections that send half a request and stop; how many uvicorn still
  holds after 25 s (it has no header timeout: docs/PRODUCTION.md, the proxy closes them).

Clients are told apart by ``X-Forwarded-For`` from the trusted loopback proxy address, as
behind the nginx of docs/deploy. Run: ``python benchmarks/reliability.py`` (``--seconds``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
HART = ROOT.parent / "shared" / "data" / "us-hart-tampa" / "hart.zip"
DAY = "2021-01-12"
SEED = 16


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OWL_")}
    env.update(OWL_TRUSTED_PROXIES="127.0.0.1", OWL_CACHE_SIZE="0")  # every plan searched
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port",
         str(port), str(HART), "--date", DAY], cwd=ROOT, env=env,
        stdout=log.open("wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"server did not start: {log.read_text()[-2000:]}")


def ordinary_requests(n: int) -> list[dict[str, str]]:
    """Seeded plans between points of downtown Tampa and the University area."""
    rng = random.Random(SEED)
    out = []
    for _ in range(n):
        a = (27.94 + rng.random() * 0.03, -82.47 + rng.random() * 0.03)
        b = (28.04 + rng.random() * 0.03, -82.43 + rng.random() * 0.03)
        out.append({"fromPlace": f"{a[0]:.5f},{a[1]:.5f}", "toPlace": f"{b[0]:.5f},{b[1]:.5f}",
                    "time": f"{DAY}T{rng.randrange(6, 19):02d}:{rng.randrange(60):02d}:00-05:00",
                    "numItineraries": "3"})
    return out


def ordinary_phase(base: str, seconds: float, stop: threading.Event | None = None
                   ) -> dict[str, float | int]:
    latencies, errors = [], 0
    plans = ordinary_requests(10_000)
    with httpx.Client(timeout=30, headers={"X-Forwarded-For": "203.0.113.7"}) as c:
        end = time.monotonic() + seconds
        for params in plans:
            if time.monotonic() > end or (stop is not None and stop.is_set()):
                break
            t = time.perf_counter()
            r = c.get(f"{base}/api/v5/plan", params=params)
            latencies.append((time.perf_counter() - t) * 1000)
            errors += r.status_code != 200
    latencies.sort()
    return {"requests": len(latencies), "errors": errors,
            "p50_ms": round(statistics.median(latencies), 1),
            "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 1)}


def attacker(base: str, stop: threading.Event, statuses: dict[int, int],
             lock: threading.Lock) -> None:
    worst = {"fromPlace": "27.9506,-82.4572", "toPlace": "28.0587,-82.4139",
             "time": f"{DAY}T07:00:00-05:00", "searchWindow": "7200", "numItineraries": "10",
             "maxPreTransitTime": "3600", "maxPostTransitTime": "3600"}
    with httpx.Client(timeout=60, headers={"X-Forwarded-For": "198.51.100.66"}) as c:
        while not stop.is_set():
            try:
                code = c.get(f"{base}/api/v5/plan", params=worst).status_code
            except httpx.HTTPError:
                code = 0
            with lock:
                statuses[code] = statuses.get(code, 0) + 1
            if code == 429:
                time.sleep(0.05)  # a client that honours nothing still pauses a little


def cost_attack(base: str, seconds: float) -> dict[str, object]:
    stop, lock = threading.Event(), threading.Lock()
    statuses: dict[int, int] = {}
    threads = [threading.Thread(target=attacker, args=(base, stop, statuses, lock))
               for _ in range(20)]
    for t in threads:
        t.start()
    time.sleep(1.0)  # the attack is in full swing
    try:
        ordinary = ordinary_phase(base, seconds)
    finally:
        stop.set()
        for t in threads:
            t.join()
    return {"ordinary": ordinary, "attacker_statuses": dict(sorted(statuses.items()))}


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1])
    return 0


def header_flood(base: str, pid: int) -> dict[str, object]:
    host, port = base.removeprefix("http://").split(":")
    before = rss_kb(pid)
    refused = 0
    chunk = b"a" * (1 << 20)
    for _ in range(10):
        with socket.create_connection((host, int(port)), timeout=10) as s:
            try:
                s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Pad: ")
                for _ in range(50):
                    s.sendall(chunk)
                s.sendall(b"\r\n\r\n")
                refused += not s.recv(64).startswith(b"HTTP/1.1 200")
            except OSError:
                refused += 1
    alive = httpx.get(f"{base}/api/v1/health", timeout=10).status_code == 200
    return {"connections": 10, "header_mb": 50, "refused": refused,
            "rss_growth_mb": round((rss_kb(pid) - before) / 1024, 1), "still_answers": alive}


def half_sent(base: str, n: int = 200, wait: float = 25.0) -> dict[str, int]:
    host, port = base.removeprefix("http://").split(":")
    socks = []
    for _ in range(n):
        s = socket.create_connection((host, int(port)), timeout=5)
        s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    time.sleep(wait)
    held = 0
    for s in socks:
        s.settimeout(0.5)
        try:
            held += s.recv(16) != b""
        except TimeoutError:
            held += 1
        except OSError:
            pass
        s.close()
    return {"connections": n, "held_after_s": int(wait), "held": held}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="per measured phase")
    args = parser.parse_args()
    if not HART.exists():
        raise SystemExit(f"{HART} missing")
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = serve(port, Path(tmp) / "server.log")
        base = f"http://127.0.0.1:{port}"
        try:
            report: dict[str, object] = {"baseline": ordinary_phase(base, args.seconds)}
            report["cost-attack"] = attack = cost_attack(base, args.seconds)
            base_p99 = report["baseline"]["p99_ms"]  # type: ignore[index]
            report["p99_ratio_under_attack"] = round(
                attack["ordinary"]["p99_ms"] / max(base_p99, 0.1), 2)  # type: ignore[index]
            report["header-flood"] = header_flood(base, proc.pid)
            report["half-sent"] = half_sent(base)
        finally:
            proc.terminate()
            proc.wait(20)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
