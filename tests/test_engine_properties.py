"""Every engine against the networkx reference on small generated timetables (hypothesis).

The feeds (``tests.generated_feeds``) are second-granular, with zero-duration hops,
per-stop change times and no-transfer stops, one-way and asymmetric footpaths and
pickup/drop-off restrictions; queries have several source and target rows with
offsets, a transfer slack and a trip bound ``K``. Oracles:

* ``EA(d)``: the reference's earliest arrival departing at ``d`` (``EA_K``: with at most
  ``K`` trips, the reference built with trip layers);
* ``LD_K``: the latest departure arriving by a deadline, a bisection over ``d`` of the
  monotone predicate ``EA_K(d) <= deadline``.

Every journey an engine returns is rebuilt into legs and checked leg by leg with
``tests.test_routing_core.check_journey``. Settings are fixed (``property_settings``):
the same examples on every run, nothing printed unless a property fails.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from planner.routing.journeys import Journey
from planner.routing.query import MAX_TRANSFERS
from planner.routing.reference import ReferenceRouter
from planner.routing.router import Router
from planner.timetable.model import INFINITY, NO_TRANSFER, Timetable
from tests.generated_feeds import FeedSpec, QuerySpec, cases, property_settings
from tests.test_routing_core import check_journey

#: trip layers of the bounded reference (queries draw K in 1..3)
LAYERS = 3
#: reverse RAPTOR's "no bound" (the generated timetables have at most 36 trips)
UNBOUNDED = MAX_TRANSFERS + 1
Case = tuple[FeedSpec, list[QuerySpec]]


class Oracle:
    """The reference on one timetable: earliest arrivals and bisected latest departures."""

    def __init__(self, tt: Timetable) -> None:
        self.tt = tt
        self._refs: dict[tuple[int, bool], ReferenceRouter] = {}
        self.first = int(np.min(tt.st_dep)) if len(tt.st_dep) else 0

    def _ref(self, slack: int, bounded: bool) -> ReferenceRouter:
        key = (slack, bounded)
        if key not in self._refs:
            self._refs[key] = ReferenceRouter(self.tt, transfer_slack=slack,
                                              max_trips=LAYERS if bounded else None)
        return self._refs[key]

    def ea(self, q: QuerySpec, departure: int, trips: int | None = None) -> int:
        """EA (``trips=None``) or EA_trips at ``departure``; INFINITY if unreachable."""
        if trips is None or trips >= UNBOUNDED:
            got = self._ref(q.slack, False).earliest_arrival(q.sources, q.targets, departure)
        else:
            got = self._ref(q.slack, True).earliest_arrival(q.sources, q.targets, departure,
                                                            max_trips=trips)
        return INFINITY if got is None else got

    def latest_departure(self, q: QuerySpec, deadline: int,
                         trips: int | None = None) -> int | None:
        """The latest ``d`` with ``EA_trips(d) <= deadline`` (None if even a departure a
        day before the first trip arrives later)."""
        lo, hi = self.first - 86400, deadline
        if self.ea(q, lo, trips) > deadline:
            return None
        while lo < hi:  # invariant: EA(lo) <= deadline
            mid = (lo + hi + 1) >> 1
            if self.ea(q, mid, trips) <= deadline:
                lo = mid
            else:
                hi = mid - 1
        return lo


def without_scoped_rules(tt: Timetable) -> Timetable:
    """``tt`` as if its transfers.txt had no rows scoped to routes or trips (the routes
    stay split as they were)."""
    none, zero = np.zeros(0, dtype=np.int32), np.zeros(1, dtype=np.int32)
    return dataclasses.replace(
        tt, route_alight_rule=none, route_board_rule=none, rule_alight_stop=none,
        rule_board_stop=none, rule_offset=zero, rule_board=none, rule_time=none,
        rule_in_offset=zero, rule_in_alight=none, rule_in_time=none, extra={})


def checked(tt: Timetable, q: QuerySpec, journeys: list[Journey]) -> list[Journey]:
    for j in journeys:
        check_journey(tt, j, q.sources, q.targets, q.slack)
    return journeys


def setup(case: Case) -> tuple[Timetable, Router, Oracle, list[QuerySpec]]:
    spec, queries = case
    tt = spec.compile()
    return tt, Router(tt), Oracle(tt), queries


@property_settings(60)
@given(cases())
def test_csa_raptor_and_reference_agree_on_the_earliest_arrival(case: Case) -> None:
    tt, router, oracle, queries = setup(case)
    for q in queries:
        expected = oracle.ea(q, q.time(tt))
        query = q.query(tt, trips=UNBOUNDED)
        for engine in ("csa", "raptor"):
            found = checked(tt, q, router.route(query, engine).journeys)
            assert [j.arrival for j in found] == ([] if expected == INFINITY else [expected]), \
                engine
            assert router.arrival(query, engine) == (None if expected == INFINITY else expected)
        assert np.array_equal(router.one_to_all(query, "csa"), router.one_to_all(query, "raptor"))


@property_settings(40)
@given(cases())
def test_raptor_best_arrival_after_each_round_is_the_reference_with_that_many_trips(
        case: Case) -> None:
    tt, router, oracle, queries = setup(case)
    for q in queries:
        query = q.query(tt, trips=LAYERS)
        by_round = router.arrivals_by_transfers(query)
        expected = [oracle.ea(q, q.time(tt), k) for k in range(LAYERS + 1)]  # 0: walking
        assert [INFINITY if a is None else a for a in by_round] == expected[1:]
        found = checked(tt, q, router.route(query, "raptor").journeys)
        if expected[-1] == INFINITY:
            assert found == []
        else:  # the earliest arrival with the fewest trips that reach it
            (j,) = found
            assert j.arrival == expected[-1]
            assert len(j.transit_legs) == expected.index(j.arrival)


@property_settings(60)
@given(cases())
def test_mcraptor_fastest_journey_per_trip_count_is_the_reference_arrival(case: Case) -> None:
    tt, router, oracle, queries = setup(case)
    for q in queries:
        journeys = checked(tt, q, router.route(q.query(tt), "mcraptor").journeys)
        assert all(j.departure == q.time(tt) for j in journeys)
        assert all(len(j.transit_legs) <= q.trips for j in journeys)
        for k in range(q.trips + 1):
            got = min((j.arrival for j in journeys if len(j.transit_legs) <= k),
                      default=INFINITY)
            assert got == oracle.ea(q, q.time(tt), k), k
        keys = [(j.arrival, len(j.transit_legs), j.extra["walk"]) for j in journeys]
        assert len(set(keys)) == len(keys)
        for a in keys:
            assert not any(b != a and all(x <= y for x, y in zip(b, a, strict=True))
                           for b in keys), f"{a} is dominated in {keys}"


@property_settings(40)
@given(cases(), st.integers(0, 7200))
def test_rraptor_profile_journeys_arrive_earliest_and_leave_latest(case: Case,
                                                                   window: int) -> None:
    tt, router, oracle, queries = setup(case)
    for q in queries:
        t = q.time(tt)
        result = router.route(q.query(tt, window=window), "rraptor")
        journeys = checked(tt, q, result.journeys)
        deps = [j.departure for j in journeys]
        arrs = [j.arrival for j in journeys]
        assert deps == sorted(set(deps)) and arrs == sorted(set(arrs))
        assert all(d >= t for d in deps) and sum(d > t + window for d in deps) <= 1

        for j in journeys:
            assert len(j.transit_legs) <= q.trips
            assert j.arrival == oracle.ea(q, j.departure, q.trips)
            if j.departure < t + window:  # the run at the window's end boards the first
                # trip that makes its arrival (the search policy finds the last one)
                assert oracle.ea(q, j.departure + 1, q.trips) > j.arrival, "1 s later"
        points = {t, t + window} | {d + 1 for d in deps if d < t + window}
        for d in sorted(points):  # the earliest arrival departing at d, from the profile
            walk = INFINITY if result.walk_only is None else d + result.walk_only
            best = min([walk] + [j.arrival for j in journeys if j.departure >= d])
            assert best == oracle.ea(q, d, q.trips), d


@property_settings(40)
@given(cases(earliest=7 * 3600 + 600, latest=9 * 3600 + 1800))
def test_reverse_raptor_departs_at_the_latest_departure_for_each_trip_bound(
        case: Case) -> None:
    tt, router, oracle, queries = setup(case)
    for q in queries:
        deadline = q.time(tt)
        for k in sorted({q.trips, LAYERS, UNBOUNDED}):
            found = checked(tt, q, router.route(q.query(tt, arrive_by=True, trips=k),
                                                "reverse").journeys)
            expected = oracle.latest_departure(q, deadline, k)
            assert [j.departure for j in found] == ([] if expected is None else [expected]), k
            for j in found:
                assert j.arrival <= deadline and len(j.transit_legs) <= k


@property_settings(40)
@given(cases(earliest=7 * 3600 + 600, latest=9 * 3600 + 1800))
def test_reverse_csa_departs_at_the_latest_departure_as_unbounded_reverse_raptor(
        case: Case) -> None:
    tt, router, oracle, queries = setup(case)
    for q in queries:
        deadline = q.time(tt)
        query = q.query(tt, arrive_by=True, trips=UNBOUNDED)
        found = checked(tt, q, router.route(query, "reverse_csa").journeys)
        expected = oracle.latest_departure(q, deadline)
        assert [j.departure for j in found] == ([] if expected is None else [expected])
        assert all(j.arrival <= deadline for j in found)
        assert [j.departure for j in router.route(query, "reverse").journeys] == \
            [j.departure for j in found]


@property_settings(30)
@given(cases(earliest=7 * 3600 + 600, latest=9 * 3600 + 1800))
def test_arrive_by_arrival_is_the_earliest_arrival_from_its_departure(case: Case) -> None:
    """The journey an arrive-by engine returns is the best one from its departure: not
    one that takes the latest trip at each step back from the deadline (issue 18)."""
    tt, router, oracle, queries = setup(case)
    for q in queries:
        for engine, k in (("reverse", q.trips), ("reverse", UNBOUNDED),
                          ("reverse_csa", UNBOUNDED)):
            query = q.query(tt, arrive_by=True, trips=k)
            for j in checked(tt, q, router.route(query, engine).journeys):
                assert j.arrival == oracle.ea(q, j.departure, k), (engine, k)


def test_generated_cases_need_changes_and_are_decided_by_bounds_and_change_times() -> None:
    """The generator itself, so that the properties above cannot hold vacuously: enough
    queries change trips, are decided by the trip bound or by a change time (arrive-by
    with change times set to 0 answers differently), walk between trips, and the feeds
    have one-way and asymmetric footpaths and pickup/drop-off restrictions."""
    seen: Counter[str] = Counter()

    @property_settings(200)
    @given(cases(earliest=7 * 3600 + 600, latest=9 * 3600 + 1800))
    def collect(case: Case) -> None:
        tt, router, oracle, queries = setup(case)
        change = np.asarray(tt.stop_change_time)
        free = Oracle(dataclasses.replace(tt, stop_change_time=np.where(
            change < NO_TRANSFER, 0, change).astype(np.int32), extra={}))
        unscoped = Oracle(without_scoped_rules(tt))
        seen["scoped rows"] += len(case[0].scoped) > 0
        fps = {(s, int(tt.fp_to[k])): int(tt.fp_dur[k]) for s in range(tt.n_stops)
               for k in range(tt.fp_offset[s], tt.fp_offset[s + 1])}
        seen["one-way footpath"] += any((b, a) not in fps for a, b in fps)
        seen["asymmetric footpath"] += any(fps.get((b, a), d) != d for (a, b), d in fps.items())
        seen["no pickup or drop-off"] += bool((np.asarray(tt.route_pickup) == 0).any()
                                               or (np.asarray(tt.route_dropoff) == 0).any())
        for q in queries:
            seen["queries"] += 1
            t = q.time(tt)
            found = router.route(q.query(tt, trips=UNBOUNDED), "raptor").journeys
            seen["unreachable"] += not found
            for j in found:
                seen["walking only"] += not j.transit_legs
                seen["changes trips"] += len(j.transit_legs) > 1
                seen["walks between trips"] += any(
                    a.kind == "transit" and b.kind == "walk" and c.kind == "transit"
                    for a, b, c in zip(j.legs, j.legs[1:], j.legs[2:], strict=False))
            seen["trip bound decides"] += oracle.ea(q, t, 1) != oracle.ea(q, t, LAYERS)
            seen["scoped rule decides"] += any(
                oracle.ea(q, d) != unscoped.ea(q, d) for d in (t - 3600, t - 1800, t))
            seen["change time decides"] += \
                oracle.latest_departure(q, t) != free.latest_departure(q, t)

    collect()
    n = seen["queries"]
    assert n >= 100, seen
    assert seen["changes trips"] >= n // 6 and seen["trip bound decides"] >= n // 6, seen
    assert seen["change time decides"] >= 5 and seen["walks between trips"] >= 3, seen
    assert seen["unreachable"] >= 1 and seen["walking only"] >= 5, seen
    assert seen["one-way footpath"] >= 10 and seen["asymmetric footpath"] >= 5, seen
    assert seen["no pickup or drop-off"] >= 10, seen
    assert seen["scoped rows"] >= 20 and seen["scoped rule decides"] >= 5, seen


@property_settings(60)
@given(cases())
def test_trip_based_profile_is_the_reference_with_each_number_of_trips(case: Case) -> None:
    """Trip-Based's reduced transfers on the generated timetables (zero-duration hops,
    no-transfer stops, one-way footpaths, pickup/drop-off restrictions), without a slack
    or scoped rules (it answers only those): one journey per trip count that arrives
    earlier than with fewer, each the reference's arrival with that many trips."""
    spec, queries = case
    tt = without_scoped_rules(spec.compile())
    router, oracle = Router(tt), Oracle(tt)
    router.tripbased  # noqa: B018 - built in memory: the router now picks it
    for q in (dataclasses.replace(q, slack=0) for q in queries):
        query = q.query(tt, trips=LAYERS)
        expected = [oracle.ea(q, q.time(tt), k) for k in range(LAYERS + 1)]  # 0: walking
        journeys = checked(tt, q, router.transfer_profile(query))
        assert router.last_stats().engine == "tripbased"
        points, best = [], INFINITY
        for trips, arrival in enumerate(expected):
            if arrival < best:
                points.append((arrival, trips))
                best = arrival
        assert [(j.arrival, len(j.transit_legs)) for j in journeys] == points
        assert router.arrival(query) == (None if best == INFINITY else best)
