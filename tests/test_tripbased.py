"""Trip-Based routing: its reduced transfers follow the transfer model, and its answers
equal RAPTOR's, CSA's and the reference Dijkstra's on three real feeds.

Per feed 1,000 seeded random queries (one or several source and target rows with walking
offsets, departures 05:00-26:00, a random trip bound): the earliest arrival and its
fewest trips equal RAPTOR's under the same bound, the unbounded ones CSA's, and the
Pareto profile over (arrival, trips) equals RAPTOR's best arrival per round; a share of
them is also answered by the networkx reference, and journeys are checked leg by leg.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from planner.routing.query import MAX_TRANSFERS, Query
from planner.routing.reference import ReferenceRouter
from planner.routing.router import RANGE_RUNS_TRIPBASED, Router
from planner.routing.trip_transfers import build
from planner.timetable.compile import CompileOptions, compile_timetable
from planner.timetable.model import INFINITY, NO_TRANSFER, Timetable
from tests.feedmaker import write_feed
from tests.shared_data import shared
from tests.test_routing_core import DAY, at, check_journey, ix

#: (feed, day, queries also put to the reference: its graph of HART takes a minute)
FEEDS = {
    "pforzheim": ("de-vpe-pforzheim/gtfs-hka-s24.zip", date(2025, 3, 4), 300),
    "dbfv": ("de-db-fv-2026/gtfs.zip", date(2026, 4, 20), 300),
    "hart": ("us-hart-tampa/hart.zip", date(2021, 1, 12), 0),
}
QUERIES = 1000
CHECKED_JOURNEYS = 150  # check_journey reads every footpath per call


class Feed:
    """One compiled feed with its router and Trip-Based engine (built once)."""

    def __init__(self, name: str) -> None:
        rel, day, self.reference_queries = FEEDS[name]
        self.tt = compile_timetable([shared(rel)], day)
        self.router = Router(self.tt)
        tr = build(self.tt, self.router.arrays)
        self.generated = tr.generated
        self.transfers = (tr.offset, tr.trip, tr.pos)
        self.engine = self.router.tripbased  # built again in memory: no disk-cache entry
        self.ws = self.engine.workspace()


@pytest.fixture(scope="module", params=list(FEEDS))
def feed(request: pytest.FixtureRequest) -> Feed:
    return Feed(request.param)


def random_queries(tt: Timetable, n: int, seed: int) -> list[Query]:
    rng = np.random.default_rng(seed)
    served = np.nonzero(np.diff(tt.stop_route_offset) > 0)[0]
    out = []
    for i in range(n):
        ends = (1, 1) if i % 2 == 0 else tuple(rng.integers(1, 4, size=2))
        offsets = (lambda k: [0] * k) if ends == (1, 1) else (
            lambda k: rng.integers(0, 900, size=k).tolist())
        sources = list(zip(rng.choice(served, ends[0]).tolist(), offsets(ends[0]),
                           strict=True))
        targets = list(zip(rng.choice(served, ends[1]).tolist(), offsets(ends[1]),
                           strict=True))
        dep = tt.time_of(tt.dates[1], int(rng.integers(5 * 3600, 26 * 3600)))
        bound = MAX_TRANSFERS if i % 3 == 0 else int(rng.integers(0, 6))
        out.append(Query(sources, targets, dep, max_transfers=bound))
    return out


def pareto_points(round_bests: list[int]) -> list[tuple[int, int]]:
    """(arrival, trips) where a round improves on every round before it."""
    out, prev = [], INFINITY
    for trips, best in enumerate(round_bests):
        if best < prev:
            out.append((best, trips))
            prev = best
    return out


def test_answers_equal_raptor_csa_and_the_reference(feed: Feed) -> None:
    tt, router, engine, ws = feed.tt, feed.router, feed.engine, feed.ws
    ref = ReferenceRouter(tt) if feed.reference_queries else None
    _, raptor_ws = router._core("raptor")
    reachable = checked = 0
    for i, q in enumerate(random_queries(tt, QUERIES, seed=13)):
        expected = router.raw(q, "raptor")
        want = [(j[1], j[2]) for j in expected]
        rounds = raptor_ws.round_bests()
        got = engine.search(ws, q)
        assert [(j[1], j[2]) for j in got] == want, (i, q.sources, q.targets, q.time)
        profile = engine.profile(ws, q)
        assert [(j[1], j[2]) for j in profile] == pareto_points(rounds), i
        if q.max_transfers == MAX_TRANSFERS:
            csa = router.arrival(q, "csa")
            assert (got[0][1] if got else None) == csa, i
            if ref is not None and i < 3 * feed.reference_queries:
                arrival = ref.earliest_arrival(q.sources.tolist(), q.targets.tolist(),
                                               q.time)
                assert (got[0][1] if got else None) == arrival, i
        reachable += bool(got)
        for raw in profile:
            if checked < CHECKED_JOURNEYS:
                check_journey(tt, router._journey(q, raw), q.sources.tolist(),
                              q.targets.tolist())
                checked += 1
    assert reachable > QUERIES // 4


def test_range_search_equals_rraptor(feed: Feed) -> None:
    """Trip-Based's range runs (``rtripbased``) give rRAPTOR's journeys: in the window the
    same (departure, arrival, transfers) list and the same walking-only time; each
    journey's arrival is RAPTOR's earliest arrival from its departure, with no fewer
    transfers. After the window both give the earliest arrival by transit from the
    window's end by some journey (which need not leave latest: the search policy makes it
    so). Trip-Based may give one where rRAPTOR does not: rRAPTOR drops its journey if
    walking from that journey's departure arrives as early, and its journey may leave
    earlier; then it is a valid journey that walking does not beat."""
    tt, router = feed.tt, feed.router
    rng = np.random.default_rng(29)
    found = checked = extra = 0
    for i, q in enumerate(random_queries(tt, QUERIES, seed=17)):
        q = q.at(q.time, int(rng.integers(0, 2 * 3600)))
        want = router.route(q, "rraptor")
        got = router.route(q, "rtripbased")
        end = q.time + q.window
        why = (i, q.sources.tolist(), q.targets.tolist(), q.time, q.window)
        inside = [[(j.departure, j.arrival, j.transfers) for j in r.journeys
                   if j.departure <= end] for r in (got, want)]
        assert inside[0] == inside[1], why
        assert got.walk_only == want.walk_only, why
        after = [[j for j in r.journeys if j.departure > end] for r in (got, want)]
        if after[1]:
            assert [j.arrival for j in after[0]] == [after[1][0].arrival], why
        elif after[0]:
            (j,) = after[0]
            extra += 1
            assert j.arrival >= (router.arrival(q.at(end), "raptor") or INFINITY), why
            assert got.walk_only is None or j.departure + got.walk_only > j.arrival, why
            check_journey(tt, j, q.sources.tolist(), q.targets.tolist())
        found += len(got.journeys)
        for j in got.journeys[:2]:
            if j.departure <= end:  # the earliest arrival from there, with fewest trips
                assert router.arrival(q.at(j.departure), "raptor") == j.arrival, why
                if j.transfers:
                    fewer = q.at(j.departure).with_max_transfers(j.transfers - 1)
                    assert (router.arrival(fewer, "raptor") or INFINITY) > j.arrival, why
            if checked < CHECKED_JOURNEYS:
                check_journey(tt, j, q.sources.tolist(), q.targets.tolist())
                checked += 1
    assert found > QUERIES // 2
    assert extra < QUERIES // 20


def test_latest_departure_by_an_arrival_equals_the_reverse_engines(feed: Feed) -> None:
    """For an earliest-arrival journey, Trip-Based's runs back from its arrival find the
    reverse engine's latest departure arriving by then, and the same (leaving, arrival,
    trips) journey from it (``Router.latest_by``, what the search policy asks)."""
    tt, router = feed.tt, feed.router
    core, ws = router._core("rtripbased")
    compared = 0
    for i, q in enumerate(random_queries(tt, QUERIES, seed=23)):
        found = router.raw(q, "tripbased")
        if not found or found[0][2] == 0:
            continue
        j = found[0]
        leave = q.time  # a departure the window holds: the journey itself fits
        window = q.at(leave, j[1] - leave)
        got = core.latest(ws, window, j[1])
        back = router.raw(Query(q.sources, q.targets, j[1], arrive_by=True,
                                max_transfers=q.max_transfers), "reverse")
        why = (i, q.sources.tolist(), q.targets.tolist(), q.time)
        assert back and got, why
        assert [(x[0], x[1], x[2]) for x in got] == [(back[0][0], back[0][1], back[0][2])], why
        assert got[0][0] >= q.time and got[0][1] <= j[1], why
        compared += 1
    assert compared > QUERIES // 4


def test_range_queries_go_to_trip_based_unless_it_would_run_too_often(feed: Feed) -> None:
    """Trip-Based's range runs where it answers the query and it has at most
    ``RANGE_RUNS_TRIPBASED`` departure times; rRAPTOR for a slack (not what its transfers
    were reduced for) and for a window with more departures than that."""
    router = feed.router
    q = random_queries(feed.tt, 1, seed=5)[0]
    short = q.at(q.time, 600)
    core, ws = router._core("rtripbased")
    assert core.departures(ws, short) <= RANGE_RUNS_TRIPBASED
    assert router.range_engine_for(short) == "rtripbased"
    assert router.range_engine_for(replace(short, transfer_slack=60)) == "rraptor"
    busiest = np.argsort(np.diff(feed.tt.stop_route_offset))[-10:]  # most routes
    day = q.at(feed.tt.time_of(feed.tt.dates[1], 0), 86_400)
    wide = replace(day, sources=np.array([[s, 0] for s in busiest], dtype=np.int32))
    assert core.departures(ws, wide) > RANGE_RUNS_TRIPBASED
    assert router.range_engine_for(wide) == "rraptor"
    assert router.profile(wide).journeys == router.route(wide, "rraptor").journeys


def test_reduction_keeps_far_fewer_transfers_than_generated(feed: Feed) -> None:
    off, trip, _ = feed.transfers
    assert len(off) == len(feed.tt.st_arr) + 1
    assert 0 < len(trip) < feed.generated / 2


def test_every_kept_transfer_is_a_change_the_model_allows(feed: Feed) -> None:
    """Drop-off where alighting, pick-up where boarding, in time by the stop's change
    time or a footpath, the earliest such trip of its route, never staying seated on the
    same route, and no U-turn."""
    tt = feed.tt
    off, to_trip, to_pos = feed.transfers
    rso, tso = tt.route_stop_offset, tt.trip_st_offset
    event_trip = np.repeat(np.arange(tt.n_trips), np.diff(tso))
    from_event = np.repeat(np.arange(len(off) - 1), np.diff(off))
    t = event_trip[from_event]
    i = from_event - tso[t]
    from_flat = rso[tt.trip_route[t]] + i
    to_flat = rso[tt.trip_route[to_trip]] + to_pos
    assert np.all(i >= 1) and tt.route_dropoff[from_flat].all()
    assert tt.route_pickup[to_flat].all()
    assert np.all(to_pos + 1 < np.diff(rso)[tt.trip_route[to_trip]])
    s, v = tt.route_stops[from_flat], tt.route_stops[to_flat]
    arr, dep = tt.st_arr[from_event], tt.st_dep[tso[to_trip] + to_pos]
    walks = {(int(a), int(b)): int(d) for a, b, d in zip(
        np.repeat(np.arange(tt.n_stops), np.diff(tt.fp_offset)), tt.fp_to, tt.fp_dur,
        strict=True)}
    need = np.array([tt.stop_change_time[a] if a == b else walks.get((int(a), int(b)), -1)
                     for a, b in zip(s, v, strict=True)])
    assert np.all((need >= 0) & (need < NO_TRANSFER))
    ready = arr + need
    assert np.all(dep >= ready)
    first = tt.route_trip_offset[tt.trip_route[to_trip]]
    earlier = np.flatnonzero(to_trip > first)
    assert np.all(tt.st_dep[tso[to_trip[earlier] - 1] + to_pos[earlier]] < ready[earlier])
    same = tt.trip_route[to_trip] == tt.trip_route[t]
    assert not np.any(same & (to_trip >= t) & (to_pos >= i))
    turn = (i >= 1) & (to_pos + 2 < np.diff(rso)[tt.trip_route[to_trip]])
    back = np.flatnonzero(turn)
    stop_before = tt.route_stops[from_flat[back] - 1]
    stop_after = tt.route_stops[to_flat[back] + 1]
    in_time = (tt.st_arr[from_event[back] - 1] + tt.stop_change_time[stop_before]
               <= tt.st_dep[tso[to_trip[back]] + to_pos[back] + 1])
    u_turn = ((stop_before == stop_after) & tt.route_dropoff[from_flat[back] - 1].astype(bool)
              & tt.route_pickup[to_flat[back] + 1].astype(bool)
              & (tt.stop_change_time[stop_before] < NO_TRANSFER) & in_time)
    assert not np.any(u_turn)


def test_queries_it_was_not_reduced_for_are_refused(feed: Feed) -> None:
    q = random_queries(feed.tt, 1, seed=3)[0]
    for bad in (Query(q.sources, q.targets, q.time, transfer_slack=60),
                Query(q.sources, q.targets, q.time,
                      route_mask=np.ones(feed.tt.n_routes, dtype=np.uint8))):
        assert not feed.engine.supports(bad)
        with pytest.raises(ValueError, match="use raptor"):
            feed.engine.search(feed.ws, bad)


U_TURN_STOPS = ("stop_id,stop_name,stop_lat,stop_lon\n"
                "X,X,52.00,8.50\nA,A,52.02,8.50\nB,B,52.04,8.50\nY,Y,52.06,8.50\n")
U_TURN_TIMES = (
    "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
    "t,07:50:00,07:50:00,X,1\nt,08:00:00,08:00:00,A,2\nt,08:05:00,08:05:00,B,3\n"
    "u,08:06:00,08:06:00,B,1\nu,08:11:00,08:11:00,A,2\nu,08:20:00,08:20:00,Y,3\n")


def test_a_u_turn_is_kept_where_the_change_at_the_earlier_stop_is_too_short(
        tmp_path: Path) -> None:
    """t X 07:50 -> A 08:00 -> B 08:05; u B 08:06 -> A 08:11 -> Y 08:20. Changing at A
    takes 15 min (transfers.txt), at B no time: riding on to B and back on u is the only
    way to Y by 08:20, so the U-turn transfer t@B -> u@B must stay."""
    feed = write_feed(tmp_path / "f", stops=U_TURN_STOPS, stop_times=U_TURN_TIMES,
                      routes="route_id,agency_id,route_short_name,route_long_name,"
                             "route_type\nR1,A,1,One,3\nR2,A,2,Two,3\n",
                      trips="route_id,service_id,trip_id\nR1,WK,t\nR2,WK,u\n",
                      transfers="from_stop_id,to_stop_id,transfer_type,min_transfer_time\n"
                                "A,A,2,900\n")
    tt = compile_timetable([feed], DAY, CompileOptions(footpath_radius=0,
                                                       default_change_time=0))
    router = Router(tt)
    q = Query([(ix(tt, "X"), 0)], [(ix(tt, "Y"), 0)], at(tt, "07:45"))
    assert router.arrival(q, "raptor") == at(tt, "08:20")
    assert router.arrival(q, "tripbased") == at(tt, "08:20")
    (j,) = router.route(q, "tripbased").journeys
    assert [leg.board_stop for leg in j.transit_legs] == [ix(tt, "X"), ix(tt, "B")]
