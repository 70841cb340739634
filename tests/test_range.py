"""rRAPTOR range queries against repeated earliest-arrival queries, minute by minute."""

from __future__ import annotations

import numpy as np
import pytest

from planner.routing.query import Query
from planner.timetable.compile import compile_timetable
from planner.timetable.model import INFINITY, Timetable
from tests.shared_data import shared
from tests.test_mcraptor import FEEDS, Oracle, random_queries, replay, replay_later

range_mod = pytest.importorskip("planner.routing.rraptor", reason="Cython extensions not built")

N_QUERIES = {"de-db-fv-2026": 30, "us-caltrain-rt": 30, "de-vvs-herrenberg-751": 20,
             "de-vpe-pforzheim": 30}
WINDOW = 2 * 3600
MAX_TRANSFERS = 15


class EarliestArrival:
    """The team's CSA when built, else the plain oracle: EA(departure) for one query."""

    def __init__(self, tt: Timetable, oracle: Oracle) -> None:
        self.oracle = oracle
        try:
            from planner.routing.csa import CSA
        except ImportError:
            self.csa = None
        else:
            self.csa = CSA(tt)
            self.ws = self.csa.workspace()

    def __call__(self, src: np.ndarray, tgt: np.ndarray, dep: int, slack: int) -> int:
        if self.csa is not None:
            return int(self.csa.arrival(self.ws, Query(src, tgt, dep, transfer_slack=slack)))
        return self.oracle.ea_by_trips([tuple(r) for r in src.tolist()],
                                       [tuple(r) for r in tgt.tolist()], dep, slack,
                                       MAX_TRANSFERS + 1)[-1]


def load_feed(name: str) -> tuple[str, Timetable, Oracle, EarliestArrival]:
    """A feed of ``FEEDS`` compiled for its day, with the oracle and an EA function."""
    rel, day = FEEDS[name]
    tt = compile_timetable([shared(rel)], day)
    oracle = Oracle(tt)
    return name, tt, oracle, EarliestArrival(tt, oracle)


@pytest.fixture(scope="module", params=list(FEEDS))
def feed(request):
    return load_feed(request.param)


def profile(rr, ws, src, tgt, t: int, window: int, slack: int = 0,
            max_transfers: int = 10) -> tuple[list[tuple], int | None]:
    """(journeys, walking-only seconds or None) of one range search."""
    journeys = rr.search(ws, Query(src, tgt, t, window=window, transfer_slack=slack,
                                   max_transfers=max_transfers))
    return journeys, ws.walk_only


def earliest_from_profile(journeys: list[tuple], walk_only: int | None, d: int) -> int:
    best = d + walk_only if walk_only is not None else INFINITY
    return min([best] + [j[1] for j in journeys if j[0] >= d])


@pytest.mark.parametrize("slack", [0, 90])
def test_profile_gives_earliest_arrival_for_every_departure_minute(feed, slack):
    name, tt, oracle, ea = feed
    rr = range_mod.RangeRaptor(tt)
    ws = rr.workspace()
    n = N_QUERIES[name] // 2
    queries = random_queries(tt, n, seed=21 + slack) + random_queries(tt, n, 22, multi=True)
    nonempty = 0
    for src, tgt, t, _, _ in queries:
        journeys, walk_only = profile(rr, ws, src, tgt, t, WINDOW, slack=slack,
                                      max_transfers=MAX_TRANSFERS)
        nonempty += bool(journeys)
        for d in range(t, t + WINDOW + 1, 60):
            expected = ea(src, tgt, d, slack)
            got = earliest_from_profile(journeys, walk_only, d)
            assert got == expected, (name, src.tolist(), tgt.tolist(), t, d, got, expected)
        # the independent oracle agrees at the window's ends too
        for d in (t, t + WINDOW):
            best = oracle.ea_by_trips([tuple(r) for r in src.tolist()],
                                      [tuple(r) for r in tgt.tolist()], d, slack,
                                      MAX_TRANSFERS + 1)[-1]
            assert earliest_from_profile(journeys, walk_only, d) == best
    assert nonempty > 0


def test_profile_is_sorted_pareto_and_journeys_replay(feed):
    from planner.routing.router import Router

    name, tt, _, _ = feed
    rr = range_mod.RangeRaptor(tt)
    ws = rr.workspace()
    router = Router(tt)
    slack = 30
    replayed = leading_walks = 0
    for src, tgt, t, _, _ in random_queries(tt, N_QUERIES[name], seed=23, multi=True):
        journeys, walk_only = profile(rr, ws, src, tgt, t, WINDOW, slack=slack)
        deps = [j[0] for j in journeys]
        arrs = [j[1] for j in journeys]
        # sorted by departure; a later departure must arrive strictly later, else it
        # would dominate the earlier one
        assert all(a < b for a, b in zip(deps, deps[1:], strict=False))
        assert all(a < b for a, b in zip(arrs, arrs[1:], strict=False))
        assert all(j[0] >= t for j in journeys)
        assert sum(j[0] > t + WINDOW for j in journeys) <= 1, "one journey after the window"
        for dep, arr, trips, srow, trow, steps in journeys:
            if walk_only is not None:
                assert dep + walk_only > arr, "walking would dominate this journey"
            assert replay(tt, steps, src, tgt, srow, trow, dep, slack)[:2] == (arr, trips)
            # one second later the journey misses its first vehicle (a leading walk moved
            # along): it leaves when it must
            assert replay_later(tt, steps, src, tgt, srow, trow, dep, slack) is None, \
                (name, src.tolist(), tgt.tolist(), t, dep, steps)
            later = router.arrival(Query(src, tgt, dep + 1, transfer_slack=slack,
                                         max_transfers=10))
            if dep < t + WINDOW:
                # a journey of the window leaves latest: one second later nothing
                # arrives by its arrival (runs at every departure in the window)
                assert later is None or later > arr, (name, src.tolist(), tgt.tolist(), t,
                                                      dep, later, arr)
            else:
                # the one after the window is the earliest arrival from its end, found by
                # one run there: a later departure may still make it (the search policy's
                # _leaving_latest looks for that one), never an earlier arrival
                assert later is None or later >= arr
            replayed += 1
            leading_walks += steps[1][0] == "walk"
    assert replayed > 0 and leading_walks > 0


def test_empty_window_still_returns_first_journey_after_it(feed):
    name, tt, _, ea = feed
    rr = range_mod.RangeRaptor(tt)
    ws = rr.workspace()
    found = 0
    for src, tgt, t, _, _ in random_queries(tt, 10, seed=29):
        journeys, walk_only = profile(rr, ws, src, tgt, t, 0, max_transfers=MAX_TRANSFERS)
        assert earliest_from_profile(journeys, walk_only, t) == ea(src, tgt, t, 0)
        assert len(journeys) <= 1
        found += len(journeys)
    assert found > 0


def test_negative_window_is_rejected():
    tt = compile_timetable([shared(FEEDS["us-caltrain-rt"][0])], FEEDS["us-caltrain-rt"][1])
    rr = range_mod.RangeRaptor(tt)
    with pytest.raises(ValueError, match="window"):
        profile(rr, rr.workspace(), np.array([[0, 0]], dtype=np.int32),
                np.array([[1, 0]], dtype=np.int32), 0, -1)


def test_router_range_query_journeys_depart_in_order(feed):
    from planner.routing.router import Router

    name, tt, _, ea = feed
    router = Router(tt)
    checked = 0
    for src, tgt, t, _, _ in random_queries(tt, 10, seed=37):
        result = router.profile(Query(src, tgt, t, window=3600, max_transfers=10))
        journeys = result.journeys
        assert [j.departure for j in journeys] == sorted({j.departure for j in journeys})
        checked += len(journeys)
        for j in journeys:
            assert ea(src, tgt, j.departure, 0) == j.arrival
            if j.departure < t + 3600:  # the one after the window may leave earlier than needed
                assert ea(src, tgt, j.departure + 1, 0) > j.arrival
            last = j.legs[-1]
            assert (last.end if last.kind == "walk" else last.arrival) + j.egress == j.arrival
    assert checked > 0
