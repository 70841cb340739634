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
from planner.routing.query import Query
from planner.routing.reachability import reach
from planner.routing.router import Router
from planner.timetable.compile import compile_timetable
from planner.timetable.model import Timetable
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
    found = reach(router, [(origin, 0)], t, 4 * HOUR, max_transfers=3)
    assert len(found) > 50 and found.trips.max() >= 2
    assert found.seconds.max() <= 4 * HOUR
    at_origin = np.flatnonzero(found.stops == origin)
    assert found.seconds[at_origin].tolist() == [0] and found.trips[at_origin].tolist() == [0]
    for i in sample(len(found), 40, seed=1):
        stop = int(found.stops[i])
        q = Query([(origin, 0)], [(stop, 0)], t, max_transfers=3)
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
    found = reach(router, [(dest, 0)], t, 4 * HOUR, arrive_by=True, max_transfers=3)
    assert len(found) > 50 and found.trips.max() >= 2
    for i in sample(len(found), 40, seed=3):
        stop = int(found.stops[i])
        journey = router.latest_departure(
            Query([(stop, 0)], [(dest, 0)], t, arrive_by=True, max_transfers=3))
        assert journey is not None
        assert t - journey.departure == found.seconds[i], stop
        assert found.event_times[i] == journey.departure


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
