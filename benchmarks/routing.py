"""Routing benchmark with a fixed protocol.

Per feed: compile (or load from the cache) with default options, draw N random
(source, target) pairs among stops served by at least one route (seeded), with
departures uniform in 06:00-22:00 of the feed's day, and time each query around
the Python call (``Router.arrival_time`` with prebuilt ``int32`` rows; the
``+journey`` rows also build the legs). McRAPTOR and range (2 h window) run when
their modules are built. Prints mean, median, p90 and p99 in microseconds.

    python benchmarks/routing.py [--feeds hart wmata dbfv] [--queries 1000] [--seed 42]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.routing.query import Query  # noqa: E402
from planner.routing.router import Router  # noqa: E402
from planner.timetable.disk_cache import load_or_compile  # noqa: E402
from planner.timetable.model import Timetable  # noqa: E402

DATA = ROOT / ".." / "shared" / "data"
FEEDS = {
    "hart": ("us-hart-tampa/hart.zip", date(2021, 1, 12)),
    "wmata": ("us-wmata/wmata.zip", date(2026, 5, 5)),
    "dbfv": ("de-db-fv-2026/gtfs.zip", date(2026, 4, 20)),
}


def draw_queries(tt: Timetable, day: date, n: int, seed: int):
    rng = np.random.default_rng(seed)
    served = np.nonzero(np.diff(tt.stop_route_offset) > 0)[0]
    out = []
    for _ in range(n):
        s, t = rng.choice(served, 2, replace=False)
        dep = tt.time_of(day, int(rng.integers(6 * 3600, 22 * 3600 + 1)))
        out.append(Query(np.array([[s, 0]], dtype=np.int32),
                         np.array([[t, 0]], dtype=np.int32), dep, max_transfers=8))
    return out


def measure(fn: Callable[[Query], object], qs: list[Query]) -> np.ndarray:
    for q in qs[:20]:  # warm caches and workspaces
        fn(q)
    out = np.empty(len(qs))
    clock = time.perf_counter
    for i, q in enumerate(qs):
        started = clock()
        fn(q)
        out[i] = clock() - started
    return out * 1e6


def searches(router: Router) -> dict[str, Callable]:
    tt = router.tt
    fns: dict[str, Callable] = {
        "csa": lambda q: router.arrival(q, "csa"),
        "raptor": lambda q: router.arrival(q, "raptor"),
        "csa+journey": lambda q: router.earliest(q, "csa"),
        "raptor+journey": lambda q: router.earliest(q, "raptor"),
    }
    if importlib.util.find_spec("planner.routing.mcraptor") is not None:
        from planner.routing.mcraptor import McRaptor

        mc = McRaptor(tt)
        fns["mcraptor"] = lambda q: mc.search(
            router.workspace("mcraptor", mc.workspace), q.sources, q.targets, q.time)
    if importlib.util.find_spec("planner.routing.rraptor") is not None:
        from planner.routing.rraptor import RangeRaptor

        rr = RangeRaptor(tt)
        fns["range 2h"] = lambda q: rr.search(
            router.workspace("range", rr.workspace), q.sources, q.targets, q.time, 7200)
    return fns


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", nargs="+", choices=sorted(FEEDS), default=list(FEEDS))
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args(argv)
    for name in args.feeds:
        rel, day = FEEDS[name]
        path = DATA / rel
        if not path.exists():
            print(f"{name}: skipped, {path} missing")
            continue
        tt = load_or_compile([path], day)
        router = Router(tt)
        qs = draw_queries(tt, day, args.queries, args.seed)
        print(f"{name} {day} stops={tt.n_stops} routes={tt.n_routes} trips={tt.n_trips} "
              f"connections={tt.n_connections} queries={len(qs)} seed={args.seed}")
        print(f"  {'algorithm':<16}{'mean':>9}{'median':>9}{'p90':>9}{'p99':>9}  (us)")
        for algo, fn in searches(router).items():
            us = measure(fn, qs)
            print(f"  {algo:<16}{us.mean():9.1f}{np.median(us):9.1f}"
                  f"{np.percentile(us, 90):9.1f}{np.percentile(us, 99):9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
