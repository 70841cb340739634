"""The shared kernel seen from the Router: search counters and route masks in every engine.

A masked query must equal the same query on the timetable whose masked routes allow no
boarding (what the Router used to build per mode set), for every engine, on real feeds.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import pytest

from planner.routing.query import Query
from planner.routing.router import ENGINES, Router
from planner.timetable.compile import CompileOptions, compile_timetable
from planner.timetable.model import Timetable
from tests.feedmaker import write_feed
from tests.shared_data import shared
from tests.test_mcraptor import random_queries

ARRIVE_BY = ("reverse", "reverse_csa")
SCANS = ("csa", "reverse_csa")  # connection scans; the others run RAPTOR rounds
FEEDS = {
    "de-vpe-pforzheim": ("de-vpe-pforzheim/gtfs-hka-s24.zip", date(2025, 3, 4)),
    "de-db-fv-2026": ("de-db-fv-2026/gtfs.zip", date(2026, 4, 20)),
}


@pytest.fixture(scope="module", params=list(FEEDS))
def feed(request) -> Timetable:
    rel, day = FEEDS[request.param]
    return compile_timetable([shared(rel)], day)


def without_boarding(tt: Timetable, mask: np.ndarray) -> Timetable:
    """``tt`` with pickup disabled on every route ``mask`` excludes."""
    ok = mask.astype(bool)
    pos_route = np.repeat(np.arange(tt.n_routes), np.diff(tt.route_stop_offset))
    pickup = (np.asarray(tt.route_pickup) * ok[pos_route]).astype(np.uint8)
    conn_ok = ok[np.asarray(tt.trip_route)[np.asarray(tt.conn_trip)]]
    conn_pickup = (np.asarray(tt.conn_pickup) * conn_ok).astype(np.uint8)
    return dataclasses.replace(tt, route_pickup=pickup, conn_pickup=conn_pickup, extra={})


def line_mask(tt: Timetable, seed: int) -> np.ndarray:
    """About half of the lines (GTFS routes), as a mask over RAPTOR routes."""
    keep = np.random.default_rng(seed).random(len(tt.line_ids)) < 0.5
    return keep[np.asarray(tt.route_line)].astype(np.uint8)


def queries(tt: Timetable, n: int, seed: int, **kw) -> list[Query]:
    return [Query(src, tgt, dep, **kw) for src, tgt, dep, _, _ in
            random_queries(tt, n // 2, seed) + random_queries(tt, n - n // 2, seed + 1,
                                                              multi=True)]


def test_masked_query_equals_the_timetable_without_boarding_on_masked_routes(feed):
    tt = feed
    mask = line_mask(tt, seed=5)
    assert 0 < mask.sum() < tt.n_routes
    masked, reference = Router(tt), Router(without_boarding(tt, mask))
    compared = 0
    for q in queries(tt, 30, seed=51, max_transfers=5, transfer_slack=60, window=3600):
        mq = dataclasses.replace(q, route_mask=mask)
        back = dataclasses.replace(mq, time=q.time + 3 * 3600, arrive_by=True)
        for engine in ENGINES:
            a, b = (mq, q) if engine not in ARRIVE_BY else (
                back, dataclasses.replace(back, route_mask=None))
            got, expected = masked.raw(a, engine), reference.raw(b, engine)
            assert got == expected, (engine, q.sources.tolist(), q.targets.tolist(), q.time)
            compared += bool(expected)
        for engine in ("csa", "raptor"):
            assert masked.arrival(mq, engine) == reference.arrival(q, engine)
            assert np.array_equal(masked.one_to_all(mq, engine), reference.one_to_all(q, engine))
        assert masked.arrivals_by_transfers(mq) == reference.arrivals_by_transfers(q)
    assert compared > 0


def test_masked_routes_are_never_boarded(feed):
    tt = feed
    mask = line_mask(tt, seed=7)
    router = Router(tt)
    boarded = 0
    for q in queries(tt, 20, seed=71, window=3600, route_mask=mask):
        for engine in ENGINES:
            qq = dataclasses.replace(q, time=q.time + 7200, arrive_by=True) \
                if engine in ARRIVE_BY else q
            for journey in router.route(qq, engine).journeys:
                for leg in journey.transit_legs:
                    assert mask[leg.route], (engine, leg.route)
                    boarded += 1
    assert boarded > 0


def test_a_mask_of_the_wrong_length_is_rejected(feed):
    router = Router(feed)
    q = queries(feed, 1, seed=3, route_mask=np.ones(feed.n_routes + 1, dtype=np.uint8))[0]
    for engine in ENGINES:
        with pytest.raises(ValueError, match="one flag per route"):
            router.raw(q, engine)


def test_every_engine_reports_plausible_counters(feed):
    tt = feed
    router = Router(tt)
    mask = line_mask(tt, seed=9)
    work: dict[str, int] = {}  # labels or connections summed over the queries
    scanned = {engine: [0, 0] for engine in ENGINES if engine not in SCANS}
    for q in queries(tt, 10, seed=91, window=3600, max_transfers=4):
        for engine in ENGINES:
            qq = dataclasses.replace(q, time=q.time + 7200, arrive_by=True) \
                if engine in ARRIVE_BY else q
            result = router.route(qq, engine)
            s = result.stats
            assert s == router.last_stats() and s.engine == engine
            assert min(s.rounds, s.routes_scanned, s.connections_scanned, s.labels) >= 0
            if engine in SCANS:
                assert s.connections_scanned <= tt.n_connections
                assert s.rounds == s.routes_scanned == 0
                work[engine] = work.get(engine, 0) + s.connections_scanned
            else:
                assert s.connections_scanned == 0
                assert s.rounds >= 1 and (engine == "rraptor" or s.rounds <= q.max_trips)
                work[engine] = work.get(engine, 0) + s.labels
            if engine == "mcraptor":
                assert s.labels >= len(q.sources) + len(result.journeys)
            if engine in scanned:
                # per query a mask can cost scans (a later best arrival prunes less)
                router.route(dataclasses.replace(qq, route_mask=mask), engine)
                scanned[engine][0] += s.routes_scanned
                scanned[engine][1] += router.last_stats().routes_scanned
        router.arrival(q, "csa")  # the fast path counts too
        assert router.last_stats().engine == "csa"
        work["arrival"] = work.get("arrival", 0) + router.last_stats().connections_scanned
    assert min(work.values()) > 0, work
    assert all(masked < plain for plain, masked in scanned.values()), scanned


def covering_stops(tt: Timetable) -> np.ndarray:
    """``TimetableArrays.footpath_cover`` by brute force: 1 where every walk of two
    footpaths ``x -> s -> u`` (``u != x``) has a direct footpath ``x -> u`` no longer."""
    fpo, fpt, fpd = (np.asarray(a).tolist() for a in (tt.fp_offset, tt.fp_to, tt.fp_dur))
    out = np.ones(tt.n_stops, dtype=np.uint8)
    for x in range(tt.n_stops):
        direct = dict(zip(fpt[fpo[x]:fpo[x + 1]], fpd[fpo[x]:fpo[x + 1]], strict=True))
        for s, d1 in direct.items():
            for j in range(fpo[s], fpo[s + 1]):
                u = fpt[j]
                if u != x and direct.get(u, 1 << 30) > d1 + fpd[j]:
                    out[x] = 0
    return out


def test_footpath_cover_flags_the_stops_whose_footpaths_cover_every_two_footpath_walk(feed):
    router = Router(feed)
    assert router.csa is not None  # builds the flags its footpath phase reads
    assert np.array_equal(np.asarray(router.arrays.fp_covers), covering_stops(feed))


def test_an_unbounded_footpath_closure_covers_every_stop():
    rel, day = FEEDS["de-vpe-pforzheim"]
    tt = compile_timetable([shared(rel)], day, CompileOptions(footpath_max_walk=0))
    router = Router(tt)
    assert router.raptor is not None  # builds the flags
    assert tt.n_footpaths > 0 and np.asarray(router.arrays.fp_covers).all()



def _arrives_by_csa_and_raptor(tt, day: date, target: str, seconds: int) -> Router:
    """Both engines answer f:O at 07:50 -> ``target`` with the arrival ``seconds``."""
    o, t = tt.stop_index("f:O"), tt.stop_index(target)
    q = Query(np.array([[o, 0]], dtype=np.int32), np.array([[t, 0]], dtype=np.int32),
              tt.time_of(day, 7 * 3600 + 50 * 60))
    router = Router(tt)
    for engine in ("csa", "raptor"):
        assert router.arrival(q, engine) == tt.time_of(day, seconds), engine
    return router

def test_a_trip_reaching_a_stop_after_a_walk_did_still_walks_on_where_that_walk_cannot(
        tmp_path):
    """Footpaths X -> S and S -> U but not X -> U (the closure bounded at 100 s): the walk
    from X reaches S first, then a trip does, and only that trip's footpath reaches U. CSA
    and RAPTOR skip a stop's footpaths only where the walk's start covers them."""
    feed = write_feed(
        tmp_path / "f",
        stops="stop_id,stop_name,stop_lat,stop_lon\n"
              "O,O,48.0,9.0\nX,X,48.1,9.0\nS,S,48.2,9.0\nU,U,48.3,9.0\n",
        routes="route_id,agency_id,route_short_name,route_long_name,route_type\n"
               "R1,A,1,Line 1,3\nR2,A,2,Line 2,3\n",
        trips="route_id,service_id,trip_id\nR1,WK,A\nR2,WK,B\n",
        stop_times="trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                   "A,07:55:00,07:55:00,O,1\nA,08:00:00,08:00:00,X,2\n"
                   "B,07:56:00,07:56:00,O,1\nB,08:02:00,08:02:00,S,2\n",
        transfers="from_stop_id,to_stop_id,transfer_type,min_transfer_time\n"
                  "X,S,2,60\nS,U,2,60\n")
    day = date(2026, 5, 5)
    tt = compile_timetable([feed], day, CompileOptions(footpath_radius=0,
                                                       footpath_max_walk=100))
    router = _arrives_by_csa_and_raptor(tt, day, "f:U", 8 * 3600 + 3 * 60)
    assert np.asarray(router.arrays.fp_covers)[tt.stop_index("f:X")] == 0


def test_a_trip_reaching_a_stop_after_a_walk_did_may_still_walk_back_past_a_long_change(
        tmp_path):
    """Footpaths X <-> S, 600 s to change at X: trip A reaches X, the walk S first, then
    trip B reaches S; walking back to X from B beats changing at X for trip C. The one
    footpath a covered stop still walks is the one back to where the walk began."""
    feed = write_feed(
        tmp_path / "f",
        stops="stop_id,stop_name,stop_lat,stop_lon\n"
              "O,O,48.0,9.0\nX,X,48.1,9.0\nS,S,48.2,9.0\nT,T,48.3,9.0\n",
        routes="route_id,agency_id,route_short_name,route_long_name,route_type\n"
               "R1,A,1,Line 1,3\nR2,A,2,Line 2,3\nR3,A,3,Line 3,3\n",
        trips="route_id,service_id,trip_id\nR1,WK,A\nR2,WK,B\nR3,WK,C\n",
        stop_times="trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                   "A,07:55:00,07:55:00,O,1\nA,08:00:00,08:00:00,X,2\n"
                   "B,07:56:00,07:56:00,O,1\nB,08:02:00,08:02:00,S,2\n"
                   "C,08:05:00,08:05:00,X,1\nC,08:20:00,08:20:00,T,2\n",
        transfers="from_stop_id,to_stop_id,transfer_type,min_transfer_time\n"
                  "X,S,2,60\nS,X,2,60\nX,X,2,600\n")
    day = date(2026, 5, 5)
    tt = compile_timetable([feed], day, CompileOptions(footpath_radius=0))
    router = _arrives_by_csa_and_raptor(tt, day, "f:T", 8 * 3600 + 20 * 60)
    assert np.asarray(router.arrays.fp_covers)[tt.stop_index("f:X")] == 1


def test_derived_queries_are_read_with_their_own_time_and_bound(feed):
    """The kernel reads a Query's packed fields (``_engine_args``): ``at`` and
    ``with_max_transfers`` copies must be read with their own, on the Router's fast
    path (engines already in use) as on a fresh query."""
    router = Router(feed)
    for q in queries(feed, 12, seed=29):
        for engine in ("raptor", "csa", "tripbased"):
            router.arrival(q, engine)  # the engine is in use: later calls take the fast path
            for other in (q.at(q.time + 1800), q.at(q.time - 3600, window=600),
                          q.with_max_transfers(0), q.with_max_transfers(2)):
                fresh = Query(other.sources, other.targets, other.time,
                              max_transfers=other.max_transfers, window=other.window)
                assert router.arrival(other, engine) == router.arrival(fresh, engine), \
                    (engine, other.time, other.max_transfers)


def test_the_fast_path_still_checks_a_query_every_call(feed):
    router = Router(feed)
    q = queries(feed, 1, seed=5)[0]
    empty = dataclasses.replace(q, targets=np.zeros((0, 2), dtype=np.int32))
    for engine in ("raptor", "csa", "tripbased"):
        for _ in range(2):  # the first call makes the engine, the second is the fast path
            with pytest.raises(ValueError, match="at least one target"):
                router.arrival(empty, engine)
            router.arrival(q, engine)
    bad = queries(feed, 1, seed=6)[0]
    bad.targets[0, 0] = feed.n_stops  # changed in place after the Query checked it
    for engine in ("raptor", "csa"):
        with pytest.raises(ValueError, match="bad target row 0"):
            router.arrival(bad, engine)
    with pytest.raises(ValueError, match="bad target row 0"):
        router.arrival(bad, "tripbased")
