"""Hand-made cases for transfer rules that slipped past the real-feed tests.

Both were injected into a copy of the code and passed the whole suite (issue 18):

* arrive-by ignoring the stop's change time (the ``change`` term of reverse RAPTOR's
  and reverse CSA's "alight by" label): with a 180 s change time at B it said "leave
  08:00, arrive by 08:30", where leaving 08:00 really arrives 08:40;
* incoming footpaths built in the wrong direction (``fp_in_*`` in
  ``planner/timetable/footpaths.py``): real feeds' walking links are symmetric, so only a
  one-way transfer shows it. Arrive-by (both reverse engines) and the egress of
  McRAPTOR and rRAPTOR read incoming footpaths.

``tests/test_engine_edges.py`` pins the plain cases for every engine; these add the
change time and slack to the second, the incoming lists themselves, rRAPTOR's egress and
that a one-way footpath is never walked backwards.

The feed is ``tests.test_routing_core``'s: t1 A 08:00 -> B 08:10 -> C 08:20; t2 B 08:12 ->
D 08:30; t3 B 08:20 -> D 08:40; t4 E 08:15 -> D 08:35, every day.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from planner.routing.journeys import Journey, WalkLeg
from planner.routing.query import Query
from planner.routing.reference import ReferenceRouter
from planner.routing.router import Router
from planner.timetable.footpaths import build_footpaths
from planner.timetable.model import Timetable
from tests.test_routing_core import DAY, at, check_journey, ix, tiny

REVERSE_ENGINES = ("reverse", "reverse_csa")
HEADER = "from_stop_id,to_stop_id,transfer_type,min_transfer_time\n"


def day_before(tt: Timetable, hhmm: str) -> int:
    return at(tt, hhmm) - (tt.time_of(DAY) - tt.time_of(DAY - timedelta(days=1)))


def arrive_by(tt: Timetable, engine: str, src: str, tgt: str, deadline: int,
              slack: int = 0) -> list[Journey]:
    sources, targets = [(ix(tt, src), 0)], [(ix(tt, tgt), 0)]
    found = Router(tt).route(Query(sources, targets, deadline, arrive_by=True,
                                   transfer_slack=slack), engine).journeys
    for j in found:
        check_journey(tt, j, sources, targets, slack)
        assert j.arrival <= deadline
    return found


def earliest(tt: Timetable, src: str, tgt: str, departure: int, slack: int = 0) -> int | None:
    """CSA's earliest arrival, which the reference confirms."""
    sources, targets = [(ix(tt, src), 0)], [(ix(tt, tgt), 0)]
    got = Router(tt).arrival(Query(sources, targets, departure, transfer_slack=slack), "csa")
    assert got == ReferenceRouter(tt, transfer_slack=slack).earliest_arrival(
        sources, targets, departure)
    return got


# ---- arrive-by and the change time ---------------------------------------------------------
@pytest.mark.parametrize("engine", REVERSE_ENGINES)
@pytest.mark.parametrize(("change", "slack", "same_day"), [
    (120, 0, True), (121, 0, False), (180, 0, False), (60, 60, True), (60, 61, False),
    (0, 120, True)])
def test_arrive_by_change_time_plus_slack_is_exact_to_the_second(
        tmp_path: Path, engine: str, change: int, slack: int, same_day: bool) -> None:
    """Alighting at B 08:10, t2 leaves at 08:12 -> D 08:30: 120 s of change time and
    slack make the change, 121 s do not, and then arriving by 08:30 means leaving 08:00
    the day before (t1, then t3 at 08:20 arrives 08:40). With a 180 s change time the
    unchecked engines said "leave 08:00, arrive by 08:30" (issue 18)."""
    tt = tiny(tmp_path, transfers=HEADER + f"B,B,2,{change}\n")
    expected = at(tt, "08:00") if same_day else day_before(tt, "08:00")
    found = arrive_by(tt, engine, "A", "D", at(tt, "08:30"), slack)
    assert [j.departure for j in found] == [expected]
    assert (earliest(tt, "A", "D", at(tt, "08:00"), slack) == at(tt, "08:30")) is same_day


# ---- one-way footpaths -----------------------------------------------------------------------
ONE_WAY = HEADER + "B,B,3,\nB,E,2,240\n"  # no change at B; walk B -> E only


def test_incoming_footpaths_are_the_outgoing_ones_reversed() -> None:
    """One-way and asymmetric transfers (closed: 0 -> 1 -> 2 gives 0 -> 2)."""
    lat = np.array([52.0, 52.1, 52.2, 52.3])
    lon = np.full(4, 8.5)
    fp = build_footpaths(lat, lon, [(0, 1, 2, 60), (1, 2, 2, 30), (2, 1, 2, 500),
                                    (3, 0, 2, 7)], radius_m=0)
    out = {(s, int(fp.to[k])): int(fp.dur[k]) for s in range(4)
           for k in range(fp.offset[s], fp.offset[s + 1])}
    into = {(int(fp.in_from[k]), s): int(fp.in_dur[k]) for s in range(4)
            for k in range(fp.in_offset[s], fp.in_offset[s + 1])}
    assert out == {(0, 1): 60, (1, 2): 30, (0, 2): 90, (2, 1): 500, (3, 0): 7, (3, 1): 67,
                   (3, 2): 97}
    assert into == out


def test_compiled_one_way_transfer_is_an_incoming_footpath_of_its_end_only(
        tmp_path: Path) -> None:
    tt = tiny(tmp_path, transfers=ONE_WAY)
    b, e = ix(tt, "B"), ix(tt, "E")
    assert tt.fp_offset[-1] == tt.fp_in_offset[-1] == 1
    assert tt.fp_to[tt.fp_offset[b]] == e and tt.fp_in_from[tt.fp_in_offset[e]] == b
    assert tt.fp_in_dur[tt.fp_in_offset[e]] == 240
    assert tt.fp_in_offset[b + 1] == tt.fp_in_offset[b], "nothing walks into B"


@pytest.mark.parametrize("engine", REVERSE_ENGINES)
def test_arrive_by_walks_a_one_way_footpath_in_its_direction_only(tmp_path: Path,
                                                                   engine: str) -> None:
    tt = tiny(tmp_path, transfers=ONE_WAY)
    # t1 to B 08:10, walk 240 s to E (08:14), t4 08:15 -> D 08:35
    assert earliest(tt, "A", "D", at(tt, "08:00")) == at(tt, "08:35")
    (j,) = arrive_by(tt, engine, "A", "D", at(tt, "08:35"))
    assert j.departure == at(tt, "08:00")
    assert [(w.from_stop, w.to_stop) for w in j.legs if isinstance(w, WalkLeg)] == \
        [(ix(tt, "B"), ix(tt, "E"))]
    assert [j.departure for j in arrive_by(tt, engine, "A", "D", at(tt, "08:34"))] == \
        [day_before(tt, "08:00")]
    # nothing walks E -> B, so E never reaches t1 at B (nor C)
    assert earliest(tt, "E", "C", day_before(tt, "00:00")) is None
    assert arrive_by(tt, engine, "E", "C", at(tt, "08:20")) == []


def test_mcraptor_and_rraptor_egress_walk_a_one_way_footpath_in_its_direction_only(
        tmp_path: Path) -> None:
    tt = tiny(tmp_path, transfers=ONE_WAY)
    router = Router(tt)
    a, b, e = ix(tt, "A"), ix(tt, "B"), ix(tt, "E")
    assert earliest(tt, "A", "E", at(tt, "07:50")) == at(tt, "08:14")
    q = Query([(a, 0)], [(e, 0)], at(tt, "07:50"), window=3600)
    pareto = router.route(q, "mcraptor").journeys
    assert [(j.arrival, j.transfers) for j in pareto] == [(at(tt, "08:14"), 0)]
    profile = router.route(q, "rraptor")
    # in the window, and the first one after it (tomorrow's)
    assert [(j.departure, j.arrival) for j in profile.journeys] == \
        [(at(tt, "08:00"), at(tt, "08:14")), (at(tt, "08:00") + 86400, at(tt, "08:14") + 86400)]
    for j in pareto + profile.journeys:
        check_journey(tt, j, [(a, 0)], [(e, 0)])
        assert isinstance(j.legs[-1], WalkLeg) and j.legs[-1].to_stop == e
    # the other way round there is no footpath: E does not reach B, not even by walking
    back = Query([(e, 0)], [(b, 0)], at(tt, "07:50"), window=3600)
    assert router.route(back, "mcraptor").journeys == []
    profile = router.route(back, "rraptor")
    assert profile.journeys == [] and profile.walk_only is None

