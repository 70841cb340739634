"""Routing benchmark with a fixed protocol.

Per feed: compile (or load from the cache) with the protocol's options (``PROTOCOL``: 200 m
walking links closed without a walking-time bound, no default change time; HART then has
13,184 directed footpaths), draw N random
(source, target) pairs among stops served by at least one route (seeded), with
departures uniform in 06:00-22:00 of the feed's day, and time each query around
the Python call. Every engine runs through the :class:`Router` on prebuilt
:class:`Query` objects: ``csa``/``raptor`` are ``Router.arrival`` (best arrival only,
at most 8 transfers); ``mcraptor`` (5 transfers), ``range 2h`` (2 h window,
10 transfers), ``reverse`` (arrive-by RAPTOR, 8 transfers, deadline 2 h after the
departure) and ``reverse_csa`` (the same, unbounded) are ``Router.raw`` (the
engine's journeys as steps, no ``Journey`` built); the ``+journey`` rows go through
``Router.route`` and also build the legs. ``tripbased`` is ``Router.arrival`` over the
Trip-Based transfers (8 transfers, as RAPTOR), ``tb profile`` the Pareto profile over
(arrival, transfers) with legs (``Router.transfer_profile``), ``raptor profile`` the same
from RAPTOR runs per bound. Prints mean, median, p90 and p99 in
microseconds, then the mean of the engines' counters (``Router.last_stats``), then the
Trip-Based preprocessing time (one core, wall and CPU) and the ratios of the means
against RAPTOR's rows of the same run.

    python benchmarks/routing.py [--feeds hart wmata dbfv] [--queries 1000] [--seed 42]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dataclasses import replace  # noqa: E402

from planner.routing.query import Query  # noqa: E402
from planner.routing.router import Router, SearchStats  # noqa: E402
from planner.routing.trip_transfers import build  # noqa: E402
from planner.timetable.compile import CompileOptions  # noqa: E402
from planner.timetable.disk_cache import load_or_compile  # noqa: E402
from planner.timetable.model import Timetable  # noqa: E402

DATA = ROOT / ".." / "shared" / "data"
#: The timetable the protocol's numbers were measured on (the defaults before issue 17
#: bounded the footpath closure to 10 minutes and added a 2-minute change time).
PROTOCOL = CompileOptions(footpath_radius=200.0, footpath_max_walk=0, default_change_time=0)
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


def measure(router: Router, fn: Callable[[Query], object],
            qs: list[Query]) -> tuple[np.ndarray, np.ndarray]:
    """Microseconds per query, then (in a second, untimed pass, so the timed loop is
    the same as without counters) the engine's counters per query."""
    for q in qs[:20]:  # warm caches and workspaces
        fn(q)
    out = np.empty(len(qs))
    clock = time.perf_counter
    for i, q in enumerate(qs):
        started = clock()
        fn(q)
        out[i] = clock() - started
    stats = np.empty((len(qs), 4))
    for i, q in enumerate(qs):
        fn(q)
        s: SearchStats = router.last_stats()
        stats[i] = (s.rounds, s.routes_scanned, s.connections_scanned, s.labels)
    return out * 1e6, stats


def searches(router: Router, qs: list[Query]) -> dict[str, tuple[Callable, list[Query]]]:
    """name -> (call, its prebuilt queries)."""
    mc = [replace(q, max_transfers=5) for q in qs]
    window = [replace(q, window=7200, max_transfers=10) for q in qs]
    back = [replace(q, time=q.time + 7200, arrive_by=True) for q in qs]
    return {
        "csa": (lambda q: router.arrival(q, "csa"), qs),
        "raptor": (lambda q: router.arrival(q, "raptor"), qs),
        "csa+journey": (lambda q: router.earliest(q, "csa"), qs),
        "raptor+journey": (lambda q: router.earliest(q, "raptor"), qs),
        "mcraptor": (lambda q: router.raw(q, "mcraptor"), mc),
        "mcraptor+journey": (lambda q: router.route(q, "mcraptor"), mc),
        "range 2h": (lambda q: router.raw(q, "rraptor"), window),
        "range+journey": (lambda q: router.route(q, "rraptor"), window),
        "reverse": (lambda q: router.raw(q, "reverse"), back),
        "reverse+journey": (lambda q: router.route(q, "reverse"), back),
        "reverse_csa": (lambda q: router.raw(q, "reverse_csa"), back),
        "tripbased": (lambda q: router.arrival(q, "tripbased"), qs),
        "tripbased+journey": (lambda q: router.earliest(q, "tripbased"), qs),
        "tb profile": (router.transfer_profile, qs),
        "raptor profile": (lambda q: raptor_profile(router, q), qs),
    }


def raptor_profile(router: Router, q: Query) -> list:
    """The (arrival, transfers) profile from RAPTOR alone: one run per bound."""
    out = []
    bound = q.max_transfers
    while (best := router.earliest(replace(q, max_transfers=bound), "raptor")) is not None:
        out.append(best)
        if best.transfers == 0:
            break
        bound = best.transfers - 1
    return out


#: Rows compared with RAPTOR's (name, baseline) in the same run.
RATIOS = (("tripbased", "raptor"), ("tripbased+journey", "raptor+journey"),
          ("tb profile", "raptor profile"))


def preprocessing(router: Router) -> str:
    """Trip-Based's transfers built once more, timed (the router's own are cached)."""
    wall, cpu = time.perf_counter(), time.thread_time()
    tr = build(router.tt, router.arrays)
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    return (f"  tripbased preprocessing: {wall:.3f} s wall, {cpu:.3f} s CPU (one thread), "
            f"{len(tr.trip)} transfers kept of {tr.generated} generated")


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
        tt = load_or_compile([path], day, PROTOCOL)
        router = Router(tt)
        qs = draw_queries(tt, day, args.queries, args.seed)
        print(f"{name} {day} stops={tt.n_stops} routes={tt.n_routes} trips={tt.n_trips} "
              f"footpaths={tt.n_footpaths} "
              f"connections={tt.n_connections} queries={len(qs)} seed={args.seed}")
        print(f"  {'algorithm':<18}{'mean':>9}{'median':>9}{'p90':>9}{'p99':>9}  (us)"
              f"   mean rounds/routes/connections/labels")
        router.tripbased  # noqa: B018 - transfers loaded (or built and stored) untimed
        means = {}
        for algo, (fn, queries) in searches(router, qs).items():
            us, stats = measure(router, fn, queries)
            means[algo] = us.mean()
            counters = "/".join(f"{x:.0f}" for x in stats.mean(axis=0))
            print(f"  {algo:<18}{us.mean():9.1f}{np.median(us):9.1f}"
                  f"{np.percentile(us, 90):9.1f}{np.percentile(us, 99):9.1f}   {counters}")
        print(preprocessing(router))
        print("  " + ", ".join(f"{a} / {b} = {means[a] / means[b]:.3f}" for a, b in RATIOS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
