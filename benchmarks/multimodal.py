"""Multimodal plan latency: DB long-distance trains + TIER e-scooters in Wolfsburg.

Fixed seeded queries on de-db-fv-2026 (2026-04-20): origins at OWL stations, destinations
at random points within 3 km of Wolfsburg Hbf and, for a share of queries, near other DB
cities (no scooters there: the rental machinery runs and finds nothing). Each query is
planned by ``planner.multimodal.search.plan_trip`` (one itinerary from the departure)
transit-only (walking access/egress) and multimodal (walking or scooter egress, direct
scooter). The GBFS feed is served from 127.0.0.1 and read with a fixed GBFS clock so the
2023 positions count as current.

The same queries then go through the API's function path (``api.plan.compute_plan`` and
the JSON serialisation, no HTTP, no response cache): transit-only requests
(``postTransitModes=WALK``) against multimodal ones (``WALK,SCOOTER_RENTAL`` after and
``WALK,SCOOTER_RENTAL`` direct), with the GBFS feed refreshed by the app's SharingManager.

Usage: python benchmarks/multimodal.py [--queries N] [--seed S] [--api-only]
The machine has 2 cores shared with other engineers: figures are noisy while others run.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import threading
import time
from datetime import date
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

from feeds.gbfs import GbfsFeed
from planner.multimodal.geometry import PointIndex
from planner.multimodal.rentals import RentalOptions, RentalPlanner
from planner.multimodal.search import Location, Network, Sharing, TripRequest, plan_trip
from planner.routing.router import Router
from planner.timetable.compile import compile_timetable
from planner.timetable.model import Timetable

Query = tuple[tuple[float, float], tuple[float, float], int]

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
DAY = date(2026, 4, 20)
T0 = 1_700_000_000.0  # GBFS clock for refresh and queries
OWL = ["Bielefeld Hbf", "Gütersloh Hbf", "Herford", "Paderborn Hbf", "Minden, Kaiserstraße",
       "Bünde(Westf)", "Bad Oeynhausen"]
WOLFSBURG = (52.4295, 10.7878)
OTHER_CITIES = ["Hannover Hbf", "Berlin Hbf", "Köln Hbf", "Hamburg Hbf", "Frankfurt(Main)Hbf"]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def random_point(rng: np.random.Generator, center: tuple[float, float],
                 radius_m: float) -> tuple[float, float]:
    r = radius_m * math.sqrt(rng.random())
    a = rng.random() * 2 * math.pi
    lat = center[0] + r * math.cos(a) / 111_195.0
    lon = center[1] + r * math.sin(a) / (111_195.0 * math.cos(math.radians(center[0])))
    return lat, lon


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values) * 1000, q))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--api-only", action="store_true", help="only the API function path")
    args = ap.parse_args()

    tt = compile_timetable([SHARED / "de-db-fv-2026" / "gtfs.zip"], DAY)
    router = Router(tt)
    # 1 h of access/egress: every destination within 3 km of Wolfsburg Hbf is walkable,
    # so transit-only plans answer the same queries
    rentals = RentalPlanner(tt, options=RentalOptions(max_access_seconds=3600))
    names = {str(n): i for i, n in reversed(list(enumerate(tt.stop_names)))}

    def at(name: str) -> tuple[float, float]:
        i = names[name]
        return float(tt.stop_lat[i]), float(tt.stop_lon[i])

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(
        _Quiet, directory=str(SHARED / "gbfs-de-tier-wolfsburg")))
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    feed = GbfsFeed(f"http://127.0.0.1:{httpd.server_address[1]}/gbfs.json",
                    resolve="manifest", max_age=10 * 365 * 86400)
    feed.refresh(T0)
    assert feed.last_error is None and feed.usable_vehicles(T0), "TIER feed not loaded"

    rng = np.random.default_rng(args.seed)
    queries: list[Query] = []
    for _ in range(args.queries):
        origin = at(OWL[int(rng.integers(len(OWL)))])
        if rng.random() < 0.8:
            dest = random_point(rng, WOLFSBURG, 3000)
        else:
            dest = random_point(rng, at(OTHER_CITIES[int(rng.integers(len(OTHER_CITIES)))]),
                                1500)
        dep = tt.time_of(DAY, int(rng.integers(6 * 3600, 20 * 3600)))
        queries.append((origin, dest, dep))

    if not args.api_only:
        planner_path(args, tt, router, rentals, feed, queries)
    api_path(args, f"http://127.0.0.1:{httpd.server_address[1]}/gbfs.json", tt, queries)
    httpd.shutdown()
    httpd.server_close()


# ``python benchmarks/multimodal.py`` puts benchmarks/ first on the path, where
# benchmarks/api.py would shadow the api package
if Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(ROOT)


def planner_path(args: argparse.Namespace, tt: Timetable, router: Router,
                 rentals: RentalPlanner, feed: GbfsFeed, queries: list[Query]) -> None:
    network = Network(router, PointIndex(tt.stop_lat, tt.stop_lon), lambda s: [s])
    sharing = Sharing(rentals, [feed.snapshot()], T0)
    runs = {
        "transit-only (walk access/egress)": dict(post_modes=("WALK",), direct_modes=()),
        "multimodal (walk or scooter egress)": dict(
            post_modes=("WALK", "SCOOTER_RENTAL"), direct_modes=("SCOOTER_RENTAL",)),
    }

    def plan(q: Query, kw: dict[str, Any]) -> Any:
        origin, dest, dep = q
        req = TripRequest(Location(*origin), Location(*dest), dep, window=0, max_window=0,
                          num_itineraries=1, max_pre_transit=3600, max_post_transit=3600,
                          **kw)
        return plan_trip(network, req, sharing)

    for kw in runs.values():  # warm-up: workspaces, imports
        plan(queries[0], kw)
    print(f"{args.queries} queries, seed {args.seed}, de-db-fv-2026 {DAY}, "
          f"{len(feed.usable_vehicles(T0))} TIER scooters")
    arrivals: dict[str, list[int | None]] = {}
    for label, kw in runs.items():
        times: list[float] = []
        arr: list[int | None] = []
        scooter = 0
        for q in queries:
            t = time.perf_counter()
            result = plan(q, kw)
            times.append(time.perf_counter() - t)
            arr.append(min((it.arrival for it in result.itineraries), default=None))
            scooter += any(it.uses_rental for it in result.itineraries)
        arrivals[label] = arr
        answered = sum(a is not None for a in arr)
        print(f"{label:38s} p50 {pct(times, 50):6.2f} ms  p99 {pct(times, 99):6.2f} ms  "
              f"mean {statistics.fmean(times) * 1000:6.2f} ms  answered {answered}  "
              f"with scooter {scooter}")
    base, multi = arrivals.values()
    gains = [(b - m) / 60 for b, m in zip(base, multi, strict=True)
             if b is not None and m is not None and m < b]
    print(f"scooter saves time on {len(gains)} queries, median "
          f"{statistics.median(gains) if gains else 0:.1f} min")
    t = time.perf_counter()
    for _, dest, _ in queries:
        rentals.egress(*dest, ["WALK", "SCOOTER_RENTAL"], [feed.snapshot()], now=T0)
    per = (time.perf_counter() - t) / len(queries) * 1000
    print(f"egress options alone (walk + scooter): {per:.2f} ms per query")


def api_path(args: argparse.Namespace, gbfs_url: str, tt: Timetable,
             queries: list[Query]) -> None:
    """compute_plan + serialisation per request, transit-only against multimodal."""
    from api.app import create_app
    from api.common import parse_place
    from api.plan import PlanRequest, compute_plan, dumps
    from api.runtime import runtime_of
    from api.settings import load_settings

    settings = load_settings(env={}, feeds=(str(SHARED / "de-db-fv-2026" / "gtfs.zip"),),
                             date=DAY.isoformat(), gbfs=(gbfs_url,), gbfs_config="",
                             gbfs_resolve="manifest", gbfs_epoch=T0,
                             gbfs_max_age=10 * 365 * 86400, search_deadline=60.0)
    rt = runtime_of(create_app(settings))  # no lifespan: refreshed here, no thread
    rt.sharing.clock = lambda: T0
    rt.sharing.refresh_all()
    prepared = rt.store.get(DAY)
    t0 = prepared.tt.t0
    base = dict(search_window=7200, num_itineraries=5, max_transfers=7, min_transfer_time=0,
                pedestrian_speed=1.25, max_pre_transit_time=900,
                max_post_transit_time=3600, max_direct_time=3600,
                transit_modes=("TRANSIT",), pre_transit_modes=("WALK",), arrive_by=False)
    runs = {
        "API transit-only (WALK)": dict(post_transit_modes=("WALK",), direct_modes=("WALK",)),
        "API multimodal (WALK,SCOOTER_RENTAL)": dict(
            post_transit_modes=("SCOOTER_RENTAL", "WALK"),
            direct_modes=("SCOOTER_RENTAL", "WALK")),
    }

    def request(q: Query, modes: dict[str, Any]) -> tuple[PlanRequest, Any, Any, int]:
        (olat, olon), (dlat, dlon), dep = q
        fp, tp = f"{olat:.6f},{olon:.6f}", f"{dlat:.6f},{dlon:.6f}"
        unix = dep + tt.t0  # the queries are on the benchmark timetable's axis
        req = PlanRequest(from_place=fp, to_place=tp, time=unix, **base, **modes)
        return (req, parse_place(fp, "fromPlace", prepared),
                parse_place(tp, "toPlace", prepared), unix - t0)

    for modes in runs.values():  # warm-up: routers, shapes, rental planner
        compute_plan(rt, prepared, *request(queries[0], modes), time.monotonic() + 60)
    print(f"API function path ({len(queries)} queries, numItineraries 5, window 2 h, "
          "no response cache):")
    for label, modes in runs.items():
        times: list[float] = []
        with_rental = 0
        warnings = 0
        for q in queries:
            req, origin, dest, dep = request(q, modes)
            t = time.perf_counter()
            out, _ = compute_plan(rt, prepared, req, origin, dest, dep, time.monotonic() + 60)
            dumps(out)
            times.append(time.perf_counter() - t)
            with_rental += any(leg["mode"] == "RENTAL" for it in out["itineraries"]
                               for leg in it["legs"])
            warnings += bool(out["warnings"])
        print(f"{label:38s} p50 {pct(times, 50):6.2f} ms  p99 {pct(times, 99):6.2f} ms  "
              f"mean {statistics.fmean(times) * 1000:6.2f} ms  with scooter {with_rental}  "
              f"with warnings {warnings}")


if __name__ == "__main__":
    main()
