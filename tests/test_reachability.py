"""One-to-all and all-to-one reachability against single earliest-arrival and
latest-departure queries on real feeds (the demo feed: DB long distance; HART Tampa buses).

For a sample of the stops reached, the one-to-all duration must equal what
``Router.earliest`` (arrive-by: ``Router.latest_departure``) finds for that stop alone,
with the same transfer bound, and CSA's unbounded earliest arrival must agree where the
bound is loose; trips must be the fewest among the earliest. Stops left out must really be
out of reach within the bound.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from feeds.demo import DEMO_FEED
from planner.analysis.reach import reach
from planner.routing.query import Query
from planner.routing.router import Router
from planner.timetable.compile import compile_timetable
from planner.timetable.model import Timetable
from tests.feedmaker import write_feed
from tests.shared_data import shared

HOUR = 3600


def _load(path: Path, day: date) -> tuple[Timetable, Router]:
    tt = compile_timetable([path], day)
    return tt, Router(tt)


@pytest.fixture(scope="module")
def demo() -> tuple[Timetable, Router, date]:
    day = date(2026, 4, 20)
    return (*_load(DEMO_FEED, day), day)


@pytest.fixture(scope="module")
def tampa() -> tuple[Timetable, Router, date]:
    day = date(2021, 2, 16)
    return (*_load(shared("us-hart-tampa/hart.zip"), day), day)


def busiest(tt: Timetable) -> int:
    return int(np.argmax(np.diff(np.asarray(tt.stop_route_offset))))


def sample(n: int, k: int, seed: int) -> list[int]:
    return sorted(np.random.default_rng(seed).choice(n, min(n, k), replace=False).tolist())


@pytest.mark.parametrize("feed", ["demo", "tampa"])
def test_one_to_all_durations_equal_single_earliest_arrival_queries(
        feed: str, request: pytest.FixtureRequest) -> None:
    tt, router, day = request.getfixturevalue(feed)
    origin = busiest(tt)
    t = tt.time_of(day, 8 * HOUR)
    walk = 90  # seconds from the place to its stop, as for a coordinate
    found = reach(router, [(origin, walk)], t, 4 * HOUR, max_transfers=3)
    assert len(found) > 50 and found.trips.max() >= 2
    assert found.seconds.max() <= 4 * HOUR
    at_origin = np.flatnonzero(found.stops == origin)
    assert found.seconds[at_origin].tolist() == [walk]
    assert found.trips[at_origin].tolist() == [0]
    for i in sample(len(found), 40, seed=1):
        stop = int(found.stops[i])
        q = Query([(origin, walk)], [(stop, 0)], t, max_transfers=3)
        journey = router.earliest(q)
        assert journey is not None
        assert journey.arrival - t == found.seconds[i], stop
        assert len(journey.transit_legs) == found.trips[i], stop
        assert found.event_times[i] == journey.arrival


@pytest.mark.parametrize("feed", ["demo", "tampa"])
def test_unbounded_one_to_all_agrees_with_csa(feed: str,
                                              request: pytest.FixtureRequest) -> None:
    tt, router, day = request.getfixturevalue(feed)
    origin = busiest(tt)
    t = tt.time_of(day, 7 * HOUR + 1800)
    found = reach(router, [(origin, 0)], t, 3 * HOUR, max_transfers=15)
    for i in sample(len(found), 30, seed=2):
        stop = int(found.stops[i])
        csa = router.arrival(Query([(origin, 0)], [(stop, 0)], t, max_transfers=15), "csa")
        assert csa is not None and csa - t == found.seconds[i], stop


@pytest.mark.parametrize("feed", ["demo", "tampa"])
def test_all_to_one_durations_equal_single_latest_departure_queries(
        feed: str, request: pytest.FixtureRequest) -> None:
    tt, router, day = request.getfixturevalue(feed)
    dest = busiest(tt)
    t = tt.time_of(day, 18 * HOUR)
    walk = 90  # seconds from the stop to the place, as for a coordinate
    found = reach(router, [(dest, walk)], t, 4 * HOUR, arrive_by=True, max_transfers=3)
    assert len(found) > 50 and found.trips.max() >= 2
    at_dest = np.flatnonzero(found.stops == dest)
    assert found.seconds[at_dest].tolist() == [walk]
    near = np.asarray(tt.fp_in_from)[int(tt.fp_in_offset[dest]):int(tt.fp_in_offset[dest + 1])]
    picks = sample(len(found), 40, seed=3) + np.flatnonzero(np.isin(found.stops, near)).tolist()
    for i in picks:
        stop = int(found.stops[i])
        journey = router.latest_departure(
            Query([(stop, 0)], [(dest, walk)], t, arrive_by=True, max_transfers=3))
        assert journey is not None
        assert t - journey.departure == found.seconds[i], stop
        assert found.event_times[i] == journey.departure


@pytest.mark.parametrize("arrive_by", [False, True])
def test_trips_are_the_fewest_that_reach_the_best_time(
        arrive_by: bool, tampa: tuple[Timetable, Router, date]) -> None:
    """``k``: with one trip fewer the best time is missed (nigiri's definition)."""
    tt, router, day = tampa
    one = busiest(tt)
    t = tt.time_of(day, (17 if arrive_by else 8) * HOUR)
    found = reach(router, [(one, 0)], t, 3 * HOUR, arrive_by=arrive_by, max_transfers=4)
    checked = 0
    for i in sample(len(found), 60, seed=5):
        k, stop = int(found.trips[i]), int(found.stops[i])
        if k < 2:
            continue
        checked += 1
        if arrive_by:
            fewer = router.latest_departure(Query([(stop, 0)], [(one, 0)], t, arrive_by=True,
                                                  max_transfers=k - 2))
            assert fewer is None or t - fewer.departure > found.seconds[i], stop
        else:
            best = router.arrival(Query([(one, 0)], [(stop, 0)], t, max_transfers=k - 2))
            assert best is None or best - t > found.seconds[i], stop
    assert checked > 10


def test_of_equal_departures_the_one_with_fewer_trips_counts(tmp_path: Path) -> None:
    """A bus leaving A exactly when walking from A still makes the deadline at D: the
    walk (0 trips) counts, as nigiri's k is the fewest trips of the best time."""
    day = date(2026, 4, 20)
    stops = "stop_id,stop_name,stop_lat,stop_lon\nA,A,52.0200,8.5300\nD,D,52.0200,8.5315\n"
    trips = "route_id,service_id,trip_id\nR1,WK,T1\n"

    def feed(dep: str, arr: str) -> Timetable:
        folder = write_feed(tmp_path / dep.replace(":", ""), stops=stops, trips=trips,
                            stop_times="trip_id,arrival_time,departure_time,stop_id,"
                            f"stop_sequence\nT1,{dep},{dep},A,1\nT1,{arr},{arr},D,2\n")
        return compile_timetable([folder], day)

    probe = feed("08:00:00", "08:05:00")
    ids = [str(x).split(":", 1)[1] for x in probe.stop_ids]
    a, d = ids.index("A"), ids.index("D")
    walk = int(probe.fp_dur[int(probe.fp_offset[a]):int(probe.fp_offset[a + 1])][0])
    leave = 9 * HOUR - walk
    tt = feed(f"08:{(leave % HOUR) // 60:02d}:{leave % 60:02d}", "09:00:00")
    router = Router(tt)
    deadline = tt.time_of(day, 9 * HOUR)
    found = reach(router, [(d, 0)], deadline, HOUR, arrive_by=True)
    at_a = int(np.flatnonzero(found.stops == a)[0])
    assert found.seconds[at_a] == walk and found.trips[at_a] == 0


def test_stops_left_out_are_beyond_the_bound(tampa: tuple[Timetable, Router, date]) -> None:
    tt, router, day = tampa
    origin = busiest(tt)
    t = tt.time_of(day, 8 * HOUR)
    bound = 40 * 60
    found = reach(router, [(origin, 0)], t, bound)
    reached = set(found.stops.tolist())
    served = np.flatnonzero(np.diff(np.asarray(tt.stop_route_offset)) > 0)
    missing = [int(s) for s in served if int(s) not in reached]
    assert missing
    for i in sample(len(missing), 30, seed=4):
        arrival = router.arrival(Query([(origin, 0)], [(missing[i], 0)], t))
        assert arrival is None or arrival - t > bound


def test_transfer_bound_and_walking_only(demo: tuple[Timetable, Router, date]) -> None:
    tt, router, day = demo
    origin = busiest(tt)
    t = tt.time_of(day, 8 * HOUR)
    direct = reach(router, [(origin, 0)], t, 6 * HOUR, max_transfers=0)
    more = reach(router, [(origin, 0)], t, 6 * HOUR, max_transfers=2)
    assert set(direct.stops.tolist()) < set(more.stops.tolist())
    assert direct.trips.max() == 1
    walk = reach(router, [(origin, 0)], t, 6 * HOUR,
                 route_mask=np.zeros(tt.n_routes, dtype=np.uint8))
    assert len(walk) >= 1 and not walk.trips.any()
    fp = np.asarray(tt.fp_to)[int(tt.fp_offset[origin]):int(tt.fp_offset[origin + 1])]
    assert set(walk.stops.tolist()) == {origin, *fp.tolist()}
