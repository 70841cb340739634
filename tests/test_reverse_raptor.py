"""Reverse RAPTOR (arrive-by with a trip bound) against forward RAPTOR on real feeds.

The oracle for "latest departure with at most K trips" is a bisection over the
departure ``d`` in ``[deadline - 24 h, deadline]`` of the monotone predicate
``EA_K(d) <= deadline``, with ``EA_K`` forward RAPTOR's earliest arrival through
``Router.arrival`` (``Query.max_transfers = K - 1``). With a large ``K`` the answer
must be reverse CSA's. Journeys are replayed step by step and rebuilt into legs.
"""

from __future__ import annotations

import dataclasses
import types
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from planner.routing.query import Query
from planner.routing.router import Router
from planner.timetable.compile import CompileOptions, compile_timetable
from planner.timetable.model import INFINITY, Timetable
from tests.arrive_by_queries import queries, with_change_times
from tests.feedmaker import write_feed
from tests.shared_data import shared
from tests.test_mcraptor import replay
from tests.test_routing_core import check_journey

reverse_raptor = pytest.importorskip("planner.routing.reverse_raptor",
                                     reason="Cython extensions not built")
from planner.routing.reverse_csa import ArriveBy  # noqa: E402  (after the skip check)

DAY_S = 86400
BOUNDS = (1, 2, 3, 4, 16)
#: name -> (feed, query day, random queries for the bisection test)
FEEDS = {
    "de-db-fv-2026": ("de-db-fv-2026/gtfs.zip", date(2026, 4, 20), 200),
    "us-caltrain-rt": ("us-caltrain-rt/ct.zip", date(2023, 11, 7), 100),
    "de-vvs-herrenberg-751": ("de-vvs-herrenberg/vvs-bus-751-only.gtfs.zip",
                              date(2020, 6, 9), 60),
    "de-vpe-pforzheim": ("de-vpe-pforzheim/gtfs-hka-s24.zip", date(2025, 3, 4), 120),
}


@dataclasses.dataclass
class Feed:
    name: str
    tt: Timetable
    router: Router
    rr: object
    n: int

    def ea(self, src: np.ndarray, tgt: np.ndarray, d: int, k: int, slack: int) -> int:
        """Forward RAPTOR: earliest arrival departing at ``d`` with at most ``k`` trips."""
        got = self.router.arrival(Query(src, tgt, d, max_transfers=k - 1,
                                        transfer_slack=slack), "raptor")
        return INFINITY if got is None else got


def load(name: str, change: bool = False) -> Feed:
    rel, day, n = FEEDS[name]
    tt = compile_timetable([shared(rel)], day)
    if change:
        tt = with_change_times(tt, seed=14)
    return Feed(name, tt, Router(tt), reverse_raptor.ReverseRaptor(tt), n)


def reverse(rr, ws, src, tgt, deadline: int, k: int, slack: int = 0) -> tuple | None:
    """The reverse RAPTOR's journey with at most ``k`` trips, or None. ``k = 0`` cannot
    be a Query (transfers >= 0): the engine reads the same fields from a stand-in."""
    if k == 0:
        q = types.SimpleNamespace(sources=src, targets=tgt, time=deadline, max_trips=0,
                                  transfer_slack=slack, route_mask=None, source_extra=None,
                                  target_extra=None)
    else:
        q = Query(src, tgt, deadline, arrive_by=True, max_transfers=k - 1,
                  transfer_slack=slack)
    found = rr.search(ws, q)
    assert len(found) <= 1
    return found[0] if found else None


def csa_latest(ab, ws, src, tgt, deadline: int, slack: int = 0) -> tuple | None:
    """The reverse CSA's journey, or None."""
    found = ab.search(ws, Query(src, tgt, deadline, arrive_by=True, transfer_slack=slack))
    return found[0] if found else None


@pytest.fixture(scope="module", params=list(FEEDS))
def feed(request: pytest.FixtureRequest) -> Feed:
    return load(request.param)


def bisect_latest(f: Feed, src, tgt, deadline: int, k: int, slack: int) -> int | None:
    """Latest ``d`` in ``[deadline - 24 h, deadline]`` with ``EA_k(d) <= deadline``."""
    lo, hi = deadline - DAY_S, deadline
    if f.ea(src, tgt, lo, k, slack) > deadline:
        return None
    while lo < hi:  # invariant: EA_k(lo) <= deadline
        mid = (lo + hi + 1) >> 1
        if f.ea(src, tgt, mid, k, slack) <= deadline:
            lo = mid
        else:
            hi = mid - 1
    return lo


def check_latest(f: Feed, src, tgt, deadline: int, k: int, slack: int, result) -> None:
    """``result`` departs at the latest ``d`` with ``EA_k(d) <= deadline``, or is None."""
    expected = bisect_latest(f, src, tgt, deadline, k, slack)
    where = (f.name, src.tolist(), tgt.tolist(), deadline, k, slack)
    if expected is not None:
        assert result is not None and result[0] == expected, (where, result, expected)
    elif result is not None:  # only a departure more than a day before the deadline
        dep = result[0]
        assert dep < deadline - DAY_S, (where, result)
        assert f.ea(src, tgt, dep, k, slack) <= deadline < f.ea(src, tgt, dep + 1, k, slack)


def test_latest_departure_matches_bisection_over_forward_raptor_for_each_transfer_bound(
        feed: Feed) -> None:
    ws = feed.rr.workspace()
    found = tighter = 0
    for src, tgt, deadline, slack in queries(feed.tt, feed.n, seed=51):
        latest = []
        for k in BOUNDS:
            result = reverse(feed.rr, ws, src, tgt, deadline, k, slack)
            check_latest(feed, src, tgt, deadline, k, slack, result)
            latest.append(-INFINITY if result is None else result[0])
        assert latest == sorted(latest), "more trips allowed never departs earlier"
        found += latest[-1] > -INFINITY
        tighter += latest[0] < latest[-1]
    assert found > feed.n // 3
    assert tighter > 0, "the bound never changed the answer: the test proves little"


def test_latest_departure_honours_no_transfer_stops_and_change_times() -> None:
    f = load("de-db-fv-2026", change=True)
    ws = f.rr.workspace()
    for src, tgt, deadline, slack in queries(f.tt, 40, seed=52):
        for k in (1, 2, 3):
            check_latest(f, src, tgt, deadline, k, slack,
                         reverse(f.rr, ws, src, tgt, deadline, k, slack))


@pytest.mark.parametrize("change", [False, True], ids=["feed", "random-change-times"])
def test_unbounded_reverse_raptor_equals_reverse_csa(change: bool) -> None:
    for name in ("de-db-fv-2026", "de-vpe-pforzheim"):
        f = load(name, change)
        ab = ArriveBy(f.tt)
        ws, aws = f.rr.workspace(), ab.workspace()
        for src, tgt, deadline, slack in queries(f.tt, 150, seed=53):
            got = reverse(f.rr, ws, src, tgt, deadline, 16, slack)
            want = csa_latest(ab, aws, src, tgt, deadline, slack)
            assert (got is None) == (want is None), (name, src.tolist(), tgt.tolist(), deadline)
            if got is not None:
                assert got[0] == want[0], (name, src.tolist(), tgt.tolist(), deadline, slack)


def test_journey_respects_transfer_bound_and_deadline(feed: Feed) -> None:
    ws = feed.rr.workspace()
    for src, tgt, deadline, slack in queries(feed.tt, 40, seed=54):
        for k in (1, 2, 3):
            result = reverse(feed.rr, ws, src, tgt, deadline, k, slack)
            if result is None:
                continue
            dep, arr, trips, srow, trow, steps = result
            assert trips <= k and arr <= deadline
            assert sum(step[0] == "trip" for step in steps) == trips
            assert replay(feed.tt, steps, src, tgt, srow, trow, dep, slack)[:2] == (arr, trips)
            q = Query(src, tgt, deadline, arrive_by=True, max_transfers=k - 1,
                      transfer_slack=slack)
            journey = feed.router._journey(q, result)
            check_journey(feed.tt, journey, src.tolist(), tgt.tolist(), slack)
            assert (journey.departure, journey.arrival) == (dep, arr)
            assert journey.transfers == max(trips - 1, 0) and len(journey.transit_legs) == trips
            # a fresh workspace gives the same answer: nothing leaks between searches
            assert reverse(feed.rr, feed.rr.workspace(), src, tgt, deadline, k, slack) == result


def test_walking_only_answer_departs_walk_time_before_deadline(feed: Feed) -> None:
    stop = int(np.flatnonzero(np.diff(feed.tt.stop_route_offset) > 0)[0])
    src = np.array([[stop, 90]], dtype=np.int32)
    tgt = np.array([[stop, 30]], dtype=np.int32)
    deadline = feed.tt.time_of(feed.tt.dates[1], 12 * 3600)
    for k in (0, 1, 16):
        assert reverse(feed.rr, feed.rr.workspace(), src, tgt, deadline, k) == \
            (deadline - 120, deadline, 0, 0, 0, [("origin", stop, deadline - 30)])


def test_zero_trips_allows_only_walking(feed: Feed) -> None:
    ws = feed.rr.workspace()
    for src, tgt, deadline, _ in queries(feed.tt, 20, seed=55):
        result = reverse(feed.rr, ws, src, tgt, deadline, 0)
        assert result is None or result[2] == 0


def test_negative_trip_bound_and_bad_rows_are_rejected(feed: Feed) -> None:
    ws = feed.rr.workspace()
    ok = np.array([[0, 0]], dtype=np.int32)
    with pytest.raises(ValueError, match="max_transfers"):
        reverse(feed.rr, ws, ok, ok, 0, -1)
    with pytest.raises(ValueError, match="bad target row 0"):
        reverse(feed.rr, ws, ok, np.array([[-1, 0]], dtype=np.int32), 0, 2)
    with pytest.raises(ValueError, match="bad source row 0"):
        reverse(feed.rr, ws, np.array([[0, -5]], dtype=np.int32), ok, 0, 2)


def test_memory_mapped_footpath_free_and_masked_timetables_agree_with_reverse_csa(
        tmp_path: Path) -> None:
    """The variants the disk cache and mode filters produce: read-only maps, no
    footpaths at all, and a copy with boarding disabled on some routes."""
    rel, day, _ = FEEDS["de-vpe-pforzheim"]
    compile_timetable([shared(rel)], day).save(tmp_path / "tt")
    mapped = Timetable.load(tmp_path / "tt", mmap=True)
    bare = compile_timetable([shared(rel)], day, CompileOptions(footpath_radius=0.0))
    assert bare.n_footpaths == 0
    ok = np.arange(mapped.n_routes) % 2 == 0  # boarding on every other route only
    pos_route = np.repeat(np.arange(mapped.n_routes), np.diff(mapped.route_stop_offset))
    conn_ok = ok[np.asarray(mapped.trip_route)[np.asarray(mapped.conn_trip)]]
    masked = dataclasses.replace(
        mapped, route_pickup=np.asarray(mapped.route_pickup) * ok[pos_route].astype(np.uint8),
        conn_pickup=np.asarray(mapped.conn_pickup) * conn_ok.astype(np.uint8))
    for tt in (mapped, bare, masked):
        rr = reverse_raptor.ReverseRaptor(tt)
        ab = ArriveBy(tt)
        ws, aws = rr.workspace(), ab.workspace()
        fwd = Feed("variant", tt, Router(tt), rr, 0)
        for i, (src, tgt, deadline, slack) in enumerate(queries(tt, 30, seed=56)):
            got = reverse(rr, ws, src, tgt, deadline, 16, slack)
            want = csa_latest(ab, aws, src, tgt, deadline, slack)
            assert (None if got is None else got[0]) == (None if want is None else want[0])
            if i % 3 == 0:
                check_latest(fwd, src, tgt, deadline, 2, slack,
                             reverse(rr, ws, src, tgt, deadline, 2, slack))


# ---------------------------------------------------------------------------------------
# hand-made feed: the bound changes the answer
# ---------------------------------------------------------------------------------------
DAY = date(2026, 6, 10)
STOPS = (  # about 2 km apart: no footpaths
    "stop_id,stop_name,stop_lat,stop_lon\n"
    "A,A,52.00,8.50\nX,X,52.02,8.50\nY,Y,52.04,8.50\nB,B,52.06,8.50\n"
)
ROUTES = (
    "route_id,agency_id,route_short_name,route_long_name,route_type\n"
    "AX,A,1,A-X,3\nXB,A,2,X-B,3\nXY,A,3,X-Y,3\nYB,A,4,Y-B,3\n"
)
TRIPS = (
    "route_id,service_id,trip_id\n"
    "AX,WK,ax1\nAX,WK,ax2\nXB,WK,xb\nXY,WK,xy\nYB,WK,yb\n"
)
STOP_TIMES = (  # A->X->B leaves 08:00 (2 trips); A->X->Y->B leaves 09:00 (3 trips)
    "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
    "ax1,08:00:00,08:00:00,A,1\nax1,08:20:00,08:20:00,X,2\n"
    "xb,08:30:00,08:30:00,X,1\nxb,09:00:00,09:00:00,B,2\n"
    "ax2,09:00:00,09:00:00,A,1\nax2,09:10:00,09:10:00,X,2\n"
    "xy,09:15:00,09:15:00,X,1\nxy,09:25:00,09:25:00,Y,2\n"
    "yb,09:30:00,09:30:00,Y,1\nyb,09:50:00,09:50:00,B,2\n"
)


def test_a_tighter_transfer_bound_forces_an_earlier_departure(tmp_path: Path) -> None:
    feed = write_feed(tmp_path / "f", stops=STOPS, routes=ROUTES, trips=TRIPS,
                      stop_times=STOP_TIMES)
    tt = compile_timetable([feed], DAY, CompileOptions(footpath_radius=0))
    rr = reverse_raptor.ReverseRaptor(tt)
    ws = rr.workspace()
    src = np.array([[tt.stop_index("f:A"), 0]], dtype=np.int32)
    tgt = np.array([[tt.stop_index("f:B"), 0]], dtype=np.int32)
    deadline = tt.time_of(DAY, 10 * 3600)

    def hhmm(t: int) -> str:
        s = tt.seconds_after_midnight(DAY, t)
        return f"{s // 3600:02d}:{s % 3600 // 60:02d}"

    assert reverse(rr, ws, src, tgt, deadline, 1) is None  # no direct trip
    dep, arr, trips, _, _, steps = reverse(rr, ws, src, tgt, deadline, 2)
    assert (hhmm(dep), hhmm(arr), trips) == ("08:00", "09:00", 2)
    dep, arr, trips, _, _, steps = reverse(rr, ws, src, tgt, deadline, 3)
    assert (hhmm(dep), hhmm(arr), trips) == ("09:00", "09:50", 3)
    assert [tt.gtfs_trip_ids[tt.trip_gtfs[s[1]]].split(":")[-1] for s in steps
            if s[0] == "trip"] == \
        ["ax2", "xy", "yb"]
    # the 3-trip journey misses a 09:45 deadline: then two trips leave at 08:00 again
    assert hhmm(reverse(rr, ws, src, tgt, tt.time_of(DAY, 9 * 3600 + 2700), 3)[0]) == "08:00"
