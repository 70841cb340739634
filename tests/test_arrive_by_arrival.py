"""An arrive-by answer arrives as early as one can from its departure (issue 18).

The reverse engines find the latest departure ``LD`` that still arrives by the deadline;
the journey they return must also be the best one from ``LD``: its arrival is the
earliest arrival departing at ``LD`` with the same transfer bound (reverse RAPTOR:
``EA_K`` by forward RAPTOR; reverse CSA, unbounded: forward CSA). Issue 18 saw
"depart 06-09 08:00, arrive 06-10 08:30" (a day of waiting at the change) where leaving
06-09 08:00 arrives 06-09 08:40: the journey went backwards from the deadline and took
the latest trip at each step, which can be a day later than needed.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from planner.routing.query import MAX_TRANSFERS, Query
from planner.routing.router import Router
from planner.timetable.compile import compile_timetable
from tests.arrive_by_queries import queries, with_change_times
from tests.shared_data import shared
from tests.test_routing_core import DAY, at, check_journey, ix, tiny

#: name -> (feed, query day, random queries)
FEEDS = {
    "de-db-fv-2026": ("de-db-fv-2026/gtfs.zip", date(2026, 4, 20), 80),
    "us-caltrain-rt": ("us-caltrain-rt/ct.zip", date(2023, 11, 7), 60),
    "de-vvs-herrenberg-751": ("de-vvs-herrenberg/vvs-bus-751-only.gtfs.zip",
                              date(2020, 6, 9), 40),
    "de-vpe-pforzheim": ("de-vpe-pforzheim/gtfs-hka-s24.zip", date(2025, 3, 4), 60),
}
#: reverse RAPTOR's trip bounds; reverse CSA has none
BOUNDS = {"reverse": (1, 2, 3, MAX_TRANSFERS + 1), "reverse_csa": (MAX_TRANSFERS + 1,)}
FORWARD = {"reverse": "raptor", "reverse_csa": "csa"}


def check_arrives_earliest(router: Router, engine: str, src, tgt, deadline: int,
                           slack: int) -> list[int]:
    """For each bound: the answer's arrival is the forward engine's earliest arrival from
    its departure; the transit legs of the answers that have one."""
    legs = []
    for k in BOUNDS[engine]:
        q = Query(src, tgt, deadline, arrive_by=True, max_transfers=k - 1,
                  transfer_slack=slack)
        found = router.route(q, engine).journeys
        assert len(found) <= 1
        for j in found:
            check_journey(router.tt, j, src, tgt, slack)
            forward = Query(src, tgt, j.departure, max_transfers=k - 1, transfer_slack=slack)
            assert j.arrival == router.arrival(forward, FORWARD[engine]) <= deadline, \
                (engine, k, src, tgt, deadline, slack, j.departure, j.arrival)
            legs.append(len(j.transit_legs))
    return legs


@pytest.fixture(scope="module", params=[*FEEDS, "de-db-fv-2026+change-times"])
def feed(request: pytest.FixtureRequest) -> tuple[str, Router, int]:
    name = request.param.split("+")[0]
    rel, day, n = FEEDS[name]
    tt = compile_timetable([shared(rel)], day)
    if request.param.endswith("+change-times"):
        tt = with_change_times(tt, seed=18)
    return request.param, Router(tt), n


@pytest.mark.parametrize("engine", list(BOUNDS))
def test_arrive_by_arrival_is_the_earliest_arrival_from_its_departure(
        feed: tuple[str, Router, int], engine: str) -> None:
    name, router, n = feed
    legs: list[int] = []
    for src, tgt, deadline, slack in queries(router.tt, n, seed=18):
        legs += check_arrives_earliest(router, engine, src, tgt, deadline, slack)
    assert sum(k > 0 for k in legs) > n // 4, "too few transit answers to prove much"
    assert any(k > 1 for k in legs), "no answer changed trips"


@pytest.mark.parametrize("engine", list(BOUNDS))
def test_arrive_by_does_not_wait_a_day_for_an_arrival_nearer_the_deadline(
        tmp_path: Path, engine: str) -> None:
    """Issue 18's case: 180 s at B make t1 (B 08:10) miss t2 (B 08:12 -> D 08:30), so
    leaving A 08:00 arrives by t3 at 08:40. Arriving by 06-10 08:30 means leaving 06-09
    08:00, and from there the journey arrives 06-09 08:40, not 06-10 08:30."""
    tt = tiny(tmp_path, transfers="from_stop_id,to_stop_id,transfer_type,min_transfer_time\n"
              "B,B,2,180\n")
    router = Router(tt)
    day = tt.time_of(DAY) - tt.time_of(DAY - timedelta(days=1))
    src, tgt = [(ix(tt, "A"), 0)], [(ix(tt, "D"), 0)]
    found = router.route(Query(src, tgt, at(tt, "08:30"), arrive_by=True), engine).journeys
    assert [(j.departure, j.arrival) for j in found] == \
        [(at(tt, "08:00") - day, at(tt, "08:40") - day)]
    assert [leg.gtfs_trip_id for leg in found[0].transit_legs] == ["f:t1", "f:t3"]
    check_arrives_earliest(router, engine, src, tgt, at(tt, "08:30"), 0)
