"""The search policy without HTTP: windows widened, pages, arrive-by with a transfer bound.

The oracle is the simplest possible: repeated earliest-arrival queries (RAPTOR), each
one's departure pushed to the latest that keeps its arrival, the next query one second
later. That lists every Pareto (leaving, arrival) journey of an interval.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from planner.routing.journeys import Journey, leave_time
from planner.routing.query import Query
from planner.routing.router import Router
from planner.routing.search import Page, search
from planner.timetable.compile import compile_timetable
from planner.timetable.model import Timetable
from tests.shared_data import shared

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
DAY = date(2025, 3, 4)
HOUR = 3600


@pytest.fixture(scope="module")
def pforzheim() -> tuple[Timetable, Router]:
    path = DATA / "de-vpe-pforzheim" / "gtfs-hka-s24.zip"
    if not path.exists():
        pytest.skip(f"real feed missing: {path}")
    tt = compile_timetable([path], DAY)
    return tt, Router(tt)


def transit_pairs(tt: Timetable, router: Router, n: int, seed: int, hour: float
                  ) -> list[tuple[list[tuple[int, int]], list[tuple[int, int]], int]]:
    """Random stop pairs that need transit at about ``hour`` (no walking-only journey)."""
    rng = np.random.default_rng(seed)
    served = np.nonzero(np.diff(tt.stop_route_offset) > 0)[0]
    out = []
    while len(out) < n:
        s, g = (int(x) for x in rng.choice(served, 2, replace=False))
        t = tt.time_of(DAY, int(hour * HOUR) + int(rng.integers(0, 1800)))
        j = router.earliest(Query([(s, 0)], [(g, 0)], t))
        if j is not None and j.transit_legs and j.legs[0].kind == "transit":
            out.append(([(s, 0)], [(g, 0)], t))
    return out


def repeated(router: Router, src: list, tgt: list, start: int, until: int,
             max_transfers: int = 7) -> list[tuple[int, int]]:
    """(leaving, arrival) of every Pareto journey leaving in ``[start, until]``."""
    out: list[tuple[int, int]] = []
    dep = start
    while True:
        q = Query(src, tgt, dep, max_transfers=max_transfers)
        j = router.earliest(q)
        if j is None or not j.transit_legs:
            return out
        lo, hi = dep, j.arrival
        while hi - lo > 1:
            mid = (lo + hi) // 2
            a = router.arrival(q.at(mid))
            if a is not None and a <= j.arrival:
                lo = mid
            else:
                hi = mid
        if lo > until:
            return out
        out.append((lo, j.arrival))
        dep = lo + 1


def pairs_of(journeys: list[Journey]) -> list[tuple[int, int]]:
    return [(leave_time(j), j.arrival) for j in journeys]


def test_depart_at_widens_the_window_until_min_journeys_are_found(pforzheim) -> None:
    tt, router = pforzheim
    checked = 0
    for src, tgt, t in transit_pairs(tt, router, 12, seed=3, hour=9):
        q = Query(src, tgt, t, window=60, max_window=4 * HOUR, min_journeys=3)
        out = search(router, q)
        want = repeated(router, src, tgt, t, t + 4 * HOUR)[:3]
        if len(want) < 3:
            continue  # fewer in the widest window: alternatives fill (tested below)
        assert pairs_of(out.journeys) == want, (src, tgt, t)
        assert out.reason == "" and out.searched[1] > t + 60  # it did widen
        checked += 1
    assert checked >= 8


def test_later_page_is_never_empty_while_a_journey_departs_within_the_maximum_window(
        pforzheim) -> None:
    tt, router = pforzheim
    for src, tgt, _ in transit_pairs(tt, router, 6, seed=5, hour=6):
        night = tt.time_of(DAY, 1 * HOUR)  # no buses at 01:00: the first is hours later
        first = repeated(router, src, tgt, night, night + 10 * HOUR)[:1]
        assert first and first[0][0] > night + 600
        q = Query(src, tgt, night, window=600, max_window=10 * HOUR, min_journeys=1)
        assert pairs_of(search(router, q).journeys) == first
        # a maximum window that ends before it: the first journey after the window, leaving
        # as late as it can
        short = search(router, Query(src, tgt, night, window=60, max_window=120))
        assert pairs_of(short.journeys) == first


def test_earlier_page_lists_the_last_journeys_before_time_widening_backwards(
        pforzheim) -> None:
    tt, router = pforzheim
    checked = 0
    for src, tgt, t in transit_pairs(tt, router, 10, seed=7, hour=12):
        q = Query(src, tgt, t, window=60, max_window=4 * HOUR, min_journeys=3)
        out = search(router, q, Page.EARLIER)
        want = [p for p in repeated(router, src, tgt, t - 4 * HOUR, t + 4 * HOUR)
                if p[0] < t][-3:]
        assert pairs_of(out.journeys) == want, (src, tgt, t)
        checked += len(want) == 3
    assert checked >= 6


@pytest.mark.parametrize("max_transfers", [0, 1, 2])
def test_arrive_by_respects_the_transfer_bound_and_leaves_as_late_as_possible(
        pforzheim, max_transfers: int) -> None:
    tt, router = pforzheim
    found = 0
    for src, tgt, t in transit_pairs(tt, router, 10, seed=11 + max_transfers, hour=10):
        deadline = t + HOUR
        q = Query(src, tgt, deadline, arrive_by=True, window=HOUR, max_window=3 * HOUR,
                  min_journeys=2, max_transfers=max_transfers)
        limit = deadline
        for j in search(router, q).journeys[::-1]:  # latest first
            leave = leave_time(j)
            assert j.transfers <= max_transfers and j.arrival <= limit
            forward = Query(src, tgt, leave, max_transfers=max_transfers)
            assert router.arrival(forward) <= j.arrival
            later = router.arrival(forward.at(leave + 1))
            assert later is None or later > limit  # nothing leaves later and arrives by it
            limit = j.arrival - 1
            found += 1
    assert found >= 5


def test_pareto_alternatives_fill_a_window_that_holds_too_few(pforzheim) -> None:
    """A window around one departure, not widened: McRAPTOR alternatives from it (fewer
    transfers or less walking, later arrival) fill up, none dominated, no duplicates."""
    tt, router = pforzheim
    filled = 0
    for src, tgt, t in transit_pairs(tt, router, 30, seed=13, hour=8):
        first = repeated(router, src, tgt, t, t + 2 * HOUR)[:1]
        if not first:
            continue
        leave, arrival = first[0]
        q = Query(src, tgt, leave - 30, window=60, max_window=60, min_journeys=4)
        out = search(router, q).journeys
        assert pairs_of(out)[0] == (leave, arrival)
        keys = [(j.arrival, j.transfers,
                 j.access + j.egress + sum(x.duration for x in j.legs if x.kind == "walk"))
                for j in out]
        assert len({(leave_time(j), j.arrival, j.legs) for j in out}) == len(out)
        for a in keys:
            for b in keys:
                assert a == b or not all(x <= y for x, y in zip(a, b, strict=True)), (a, b)
        filled += len(out) > 1
    assert filled >= 2


def test_route_mask_keeps_journeys_on_allowed_routes(pforzheim) -> None:
    tt, router = pforzheim
    rng = np.random.default_rng(17)
    mask = (rng.random(tt.n_routes) < 0.5).astype(np.uint8)
    masked_some = 0
    for src, tgt, t in transit_pairs(tt, router, 15, seed=17, hour=9):
        q = Query(src, tgt, t, window=HOUR, max_window=HOUR, min_journeys=3, route_mask=mask)
        for j in search(router, q).journeys:
            assert all(mask[leg.route] for leg in j.transit_legs)
        plain = search(router, Query(src, tgt, t, window=HOUR, max_window=HOUR,
                                     min_journeys=3)).journeys
        masked_some += any(not mask[leg.route] for j in plain for leg in j.transit_legs)
    assert masked_some > 0  # the mask did exclude journeys the plain search takes


def test_past_deadline_stops_before_searching(pforzheim) -> None:
    tt, router = pforzheim
    src, tgt, t = transit_pairs(tt, router, 1, seed=19, hour=9)[0]
    for page in Page:
        out = search(router, Query(src, tgt, t, window=HOUR, deadline=0.0), page)
        assert out.journeys == [] and out.reason


# --- Pareto alternatives over (arrival, transfers) per departure (issue 17) ---------------
POA_DAY = date(2019, 5, 15)


@pytest.fixture(scope="module")
def porto_alegre(tmp_path_factory: pytest.TempPathFactory) -> tuple[Timetable, Router]:
    feeds = [shared("br-porto-alegre/poa_eptc.zip"), shared("br-porto-alegre/poa_trensurb.zip")]
    tt = compile_timetable(feeds, POA_DAY)
    return tt, Router(tt)


def test_fewer_transfer_alternative_of_a_departure_is_offered_within_the_count(
        porto_alegre: tuple[Timetable, Router]) -> None:
    """Issue 17's Porto Alegre case: at 12:00 with n=3 all three answers had 2 transfers
    while a 1-transfer journey from the first departure arrives 11 minutes later. MOTIS
    offers the Pareto set over (arrival, transfers) for each departure; within n=3 the
    first departure's set comes before the third departure."""
    tt, router = porto_alegre
    a, b = tt.stop_index("poa_eptc:2570"), tt.stop_index("poa_eptc:2321")
    q = Query([(a, 0)], [(b, 0)], tt.time_of(POA_DAY, 12 * 3600), window=3600,
              max_window=6 * 3600, min_journeys=3)
    found = search(router, q).journeys
    assert len(found) == 3
    first = min(leave_time(j) for j in found)
    by_transfers = router.arrivals_by_transfers(q.at(first, 0))
    pareto = {(arr, k) for k, arr in enumerate(by_transfers)
              if arr is not None and (k == 0 or by_transfers[k - 1] != arr)}
    assert len(pareto) >= 2, "the case needs a fewer-transfer alternative"
    offered = {(j.arrival, j.transfers) for j in found}
    assert pareto <= offered, (pareto, offered)
    assert min(j.transfers for j in found) < max(j.transfers for j in found)


def test_every_offered_journey_is_pareto_optimal_over_leave_arrival_transfers(
        porto_alegre: tuple[Timetable, Router]) -> None:
    tt, router = porto_alegre
    rng = np.random.default_rng(17)
    served = np.nonzero(np.diff(tt.stop_route_offset) > 0)[0]
    for _ in range(25):
        a, b = rng.choice(served, 2, replace=False)
        q = Query([(int(a), 0)], [(int(b), 0)], tt.time_of(POA_DAY, 12 * 3600),
                  window=3600, max_window=6 * 3600, min_journeys=3)
        found = search(router, q).journeys
        assert len(found) <= 3
        keys = [(-leave_time(j), j.arrival, j.transfers) for j in found]
        for x in keys:
            assert not any(y != x and all(u <= v for u, v in zip(y, x, strict=True))
                           for y in keys), keys
