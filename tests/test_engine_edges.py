"""Edge cases the random real-feed queries never hit: a departure exactly at a range
window's start, and McRAPTOR's extra criterion deciding between otherwise equal labels."""

from __future__ import annotations

from pathlib import Path

from planner.routing.query import Query
from planner.routing.router import Router
from tests.test_routing_core import at, ix, tiny


def test_range_includes_a_departure_exactly_at_the_window_start(tmp_path: Path) -> None:
    tt = tiny(tmp_path)
    a, c = ix(tt, "A"), ix(tt, "C")
    result = Router(tt).profile(Query([(a, 0)], [(c, 0)], at(tt, "08:00"), window=600))
    assert [(j.departure, j.arrival) for j in result.journeys][:1] == \
        [(at(tt, "08:00"), at(tt, "08:20"))]


def test_mcraptor_keeps_the_row_with_less_extra_among_equal_labels(tmp_path: Path) -> None:
    """Two source rows alike but for the extra criterion (e.g. rental seconds): only the
    one without extra is Pareto-optimal, whatever order the rows come in."""
    tt = tiny(tmp_path)
    a, d = ix(tt, "A"), ix(tt, "D")
    router = Router(tt)
    for extras in ([500, 0], [0, 500]):
        journeys = router.pareto(Query([(a, 0), (a, 0)], [(d, 0)], at(tt, "07:50"),
                                       source_extra=extras))
        assert journeys
        assert [j.extra["criterion"] for j in journeys] == [0] * len(journeys)


def test_every_engine_respects_the_change_time(tmp_path: Path) -> None:
    """180 s to change at B: t1 arrives 08:10, so t2 (08:12) is missed and t3 (08:20)
    reaches D at 08:40, in McRAPTOR, rRAPTOR and the reverse engines as in CSA/RAPTOR."""
    tt = tiny(tmp_path, transfers="from_stop_id,to_stop_id,transfer_type,min_transfer_time\n"
              "B,B,2,180\n")
    a, d = ix(tt, "A"), ix(tt, "D")
    router = Router(tt)
    q = Query([(a, 0)], [(d, 0)], at(tt, "07:50"))
    assert min(j.arrival for j in router.pareto(q)) == at(tt, "08:40")
    profile = router.profile(q.at(at(tt, "07:50"), 600)).journeys
    assert profile and min(j.arrival for j in profile) == at(tt, "08:40")
    for engine in ("reverse", "reverse_csa"):
        # arriving by 08:40 means leaving at 08:00 (t1, then t3), never t1 then t2
        back = router.route(Query([(a, 0)], [(d, 0)], at(tt, "08:40"), arrive_by=True),
                            engine).journeys
        assert [(j.departure, j.arrival) for j in back] == [(at(tt, "08:00"), at(tt, "08:40"))]
        # by 08:39 only yesterday's 08:00 departure works; changes at B take >= 180 s
        found = router.route(Query([(a, 0)], [(d, 0)], at(tt, "08:39"), arrive_by=True),
                             engine).journeys
        assert found and found[0].departure == at(tt, "08:00") - 86400
        for j in found:
            legs = j.transit_legs
            assert all(y.departure - x.arrival >= 180 for x, y in zip(legs, legs[1:], strict=False)
                       if x.alight_stop == y.board_stop)


def test_one_way_footpath_is_used_in_its_direction_by_arrive_by_and_mcraptor(
        tmp_path: Path) -> None:
    """transfers.txt B -> E (300 s) only: alight t1 at B 08:10, walk to E, t4 08:15 -> D
    08:35. The reverse engines and McRAPTOR's egress read the footpaths by to-stop."""
    tt = tiny(tmp_path, transfers="from_stop_id,to_stop_id,transfer_type,min_transfer_time\n"
              "B,B,3,\nB,E,2,300\n")
    a, b, d, e = ix(tt, "A"), ix(tt, "B"), ix(tt, "D"), ix(tt, "E")
    assert tt.fp_to[tt.fp_offset[b]:tt.fp_offset[b + 1]].tolist() == [e]
    assert tt.fp_to[tt.fp_offset[e]:tt.fp_offset[e + 1]].tolist() == []  # one way
    router = Router(tt)
    for engine in ("reverse", "reverse_csa"):
        found = router.route(Query([(a, 0)], [(d, 0)], at(tt, "08:35"), arrive_by=True),
                             engine).journeys
        assert [(j.departure, j.arrival) for j in found] == [(at(tt, "08:00"), at(tt, "08:35"))]
    # McRAPTOR to E (egress 0): alighting at B and walking the footpath arrives 08:15
    pareto = router.pareto(Query([(a, 0)], [(e, 0)], at(tt, "07:50")))
    assert min(j.arrival for j in pareto) == at(tt, "08:15")


def test_arrive_by_answer_is_the_earliest_arrival_from_its_departure(tmp_path: Path) -> None:
    """Issue 18's "depart 08:00, arrive 08:30 the next day": by 08:39 the latest departure
    is yesterday 08:00; the answer must arrive when leaving then arrives (yesterday 08:40),
    not after a day of waiting at B for today's t2."""
    tt = tiny(tmp_path, transfers="from_stop_id,to_stop_id,transfer_type,min_transfer_time\n"
              "B,B,2,180\n")
    a, d = ix(tt, "A"), ix(tt, "D")
    router = Router(tt)
    q = Query([(a, 0)], [(d, 0)], at(tt, "08:39"), arrive_by=True)
    j = router.latest_departure(q)
    assert j is not None and j.departure == at(tt, "08:00") - 86400
    assert j.arrival == router.arrival(Query([(a, 0)], [(d, 0)], j.departure))
    assert j.arrival == at(tt, "08:40") - 86400
