"""transfers.txt rows scoped to routes or trips on the real feeds (issue 17, point 2).

VBB's subset has 9,613 such rows (route to route, types 1 and 2, many between two
platforms), ÖBB's 587 (trip to trip, types 2 and 3). The rows must be loaded, plans must
follow them (at U Kurfürstendamm the feed needs 120 s from the U1 to the U9, where the
stop-level model changes in 0 s), and every engine must agree with the networkx
reference, which models the same rules, on random queries: CSA, RAPTOR and McRAPTOR on
the earliest arrival, rRAPTOR's profile journeys on the earliest arrival from their
departure (and later when leaving a second later), both arrive-by engines on a latest
departure that is tight (``EA(LD) <= deadline < EA(LD + 1)``). The same queries without
the scoped rows answer differently often enough that the rows decide.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import random
import zipfile
from datetime import date
from functools import cache

import numpy as np
import pytest

from planner.routing.journeys import TransitLeg
from planner.routing.query import MAX_TRANSFERS, Query
from planner.routing.reference import ReferenceRouter
from planner.routing.router import Router
from planner.timetable.compile import compile_timetable
from planner.timetable.integrity import DamagedTimetable, check_structure
from planner.timetable.model import INFINITY, Timetable
from planner.timetable.transfer_rules import FORBIDDEN, SCOPE_COLUMNS, Rule, resolve
from tests.shared_data import shared
from tests.test_engine_properties import without_scoped_rules
from tests.test_routing_core import check_journey

VBB = ("de-vbb-berlin-subset/gtfs", date(2019, 6, 4), 12)  # path, day, first hour of service
OEBB = ("at-oebb-2020/OBB.zip", date(2020, 3, 3), 7)
SLACK = 30
U1, U9 = "17512_400", "17526_400"  # VBB route ids
KUDAMM_U1 = ("070201013201", "070201013202")  # U Kurfürstendamm, U1 platforms
KUDAMM_U9 = ("070201093001", "070201093002")


def raw_transfers(relative: str) -> list[dict[str, str]]:
    path = shared(relative)
    if path.is_dir():
        text = (path / "transfers.txt").read_text(encoding="utf-8-sig")
    else:
        with zipfile.ZipFile(path) as z:
            text = z.read("transfers.txt").decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


@cache
def timetable(relative: str, day: date) -> Timetable:
    return compile_timetable([shared(relative)], day)


@cache
def reference(relative: str, day: date) -> ReferenceRouter:
    return ReferenceRouter(timetable(relative, day), transfer_slack=SLACK)


def ea(feed: tuple[str, date, int], a: int, b: int, departure: int) -> int:
    got = reference(*feed[:2]).earliest_arrival([(a, 0)], [(b, 0)], departure)
    return INFINITY if got is None else got


@pytest.mark.parametrize(("feed", "rows"), [(VBB, 9_613), (OEBB, 587)], ids=["vbb", "oebb"])
def test_every_scoped_row_is_read_and_those_naming_known_trips_become_rules(
        feed: tuple[str, date, int], rows: int) -> None:
    relative, day, _ = feed
    raw = raw_transfers(relative)
    scoped = [r for r in raw if any(r.get(c) for c in SCOPE_COLUMNS)]
    assert len(scoped) == rows  # the count
    stats = timetable(relative, day).extra["transfer_rule_stats"]
    assert stats["scoped_rows"] == rows
    # VBB's 152 trip-scoped rows name trips the subset has no stop_times for
    named_trip = sum(bool(r.get("from_trip_id")) for r in scoped)
    unknown = named_trip if relative == VBB[0] else 0
    assert stats["scoped_unknown_ids"] == unknown
    assert stats["scoped_rules"] == rows - unknown and stats["rule_entries"] > 0


def test_kurfuerstendamm_u1_to_u9_takes_the_feeds_120_seconds() -> None:
    """Every plan from a U1 stop to a U9 stop that changes at Kurfürstendamm leaves the
    feed's 120 s; without the scoped rows some plan changes faster (so the rows decide)."""
    relative, day, hour = VBB
    rows = [r for r in raw_transfers(relative) if r["from_route_id"] == U1
            and r["to_route_id"] == U9 and r["from_stop_id"] in KUDAMM_U1]
    assert {int(r["min_transfer_time"]) for r in rows} == {120}
    tt = timetable(relative, day)
    ids = [str(s).split(":", 1)[1] for s in tt.stop_ids]
    u1 = {ids.index(s) for s in KUDAMM_U1}
    u9 = {ids.index(s) for s in KUDAMM_U9}
    lines = [str(x).split(":", 1)[1] for x in tt.line_ids]
    on = {name: sorted({int(s) for r in range(tt.n_routes) if lines[tt.route_line[r]] == name
                        for s in tt.route_stops[tt.route_stop_offset[r]:
                                                tt.route_stop_offset[r + 1]]})
          for name in (U1, U9)}
    changes = {"rules": [], "plain": []}
    for name, tab in (("rules", tt), ("plain", without_scoped_rules(tt))):
        router = Router(tab)
        for a in on[U1]:
            for b in on[U9]:
                if a in u1 or b in u9:
                    continue
                for minute in range(0, 40, 10):
                    q = Query([(a, 0)], [(b, 0)], tt.time_of(day, hour * 3600 + minute * 60))
                    for engine in ("csa", "raptor"):
                        j = router.earliest(q, engine)
                        if j is None:
                            continue
                        legs = [leg for leg in j.legs if isinstance(leg, TransitLeg)]
                        for x, y in zip(legs, legs[1:], strict=False):
                            if x.alight_stop in u1 and y.board_stop in u9 and \
                                    lines[x.line] == U1 and lines[y.line] == U9:
                                changes[name].append(y.departure - x.arrival)
    assert changes["rules"], "no plan changes from the U1 to the U9 at Kurfürstendamm"
    assert min(changes["rules"]) >= 120, changes["rules"]
    assert min(changes["plain"]) < 120, "the stop-level model would not decide this"


def random_pairs(tt: Timetable, n: int, seed: int) -> list[tuple[int, int]]:
    served = sorted({int(s) for s in tt.route_stops})
    rng = random.Random(seed)
    return [tuple(rng.sample(served, 2)) for _ in range(n)]  # type: ignore[misc]


@pytest.mark.parametrize("feed", [VBB, OEBB], ids=["vbb", "oebb"])
def test_csa_raptor_and_mcraptor_agree_with_the_reference_on_random_queries(
        feed: tuple[str, date, int]) -> None:
    relative, day, hour = feed
    tt = timetable(relative, day)
    router, plain = Router(tt), Router(without_scoped_rules(tt))
    ref = reference(relative, day)
    rng = random.Random(7)
    differences, decided, reached = 0, 0, 0
    for a, b in random_pairs(tt, 120, 11):
        dep = tt.time_of(day, hour * 3600 + rng.randint(0, 3600))
        sources, targets = [(a, 0)], [(b, 0)]
        q = Query(sources, targets, dep, transfer_slack=SLACK)
        expected = ref.earliest_arrival(sources, targets, dep)
        got = [router.arrival(q, "csa"), router.arrival(q, "raptor")]
        for engine in ("csa", "raptor", "mcraptor"):
            for j in router.route(q, engine).journeys:
                check_journey(tt, j, sources, targets, SLACK)
        fastest = min((j.arrival for j in router.route(q, "mcraptor").journeys), default=None)
        differences += any(g != expected for g in [*got, fastest])
        decided += plain.arrival(q, "csa") != expected
        reached += expected is not None
    assert differences == 0
    assert reached >= 60 and decided >= 3, (reached, decided)


def rule_queries(tt: Timetable, n: int, seed: int) -> list[tuple[int, int, int, int]]:
    """``(a, b, departure, deadline)``: from a stop before an alighting under a scoped
    rule to one after a boarding the rule allows, leaving shortly before that trip and
    due shortly after the first trip of the boarding's route that the change could make
    (ÖBB's rules name single trains, which random pairs and times rarely meet)."""
    rng = random.Random(seed)
    rso, stops = np.asarray(tt.route_stop_offset), np.asarray(tt.route_stops)
    rto, tso = np.asarray(tt.route_trip_offset), np.asarray(tt.trip_st_offset)
    route_of = np.repeat(np.arange(tt.n_routes), np.diff(rso))
    alight, board = np.asarray(tt.route_alight_rule), np.asarray(tt.route_board_rule)
    keyed = [int(p) for p in np.flatnonzero(alight >= 0)
             if tt.rule_offset[alight[p] + 1] > tt.rule_offset[alight[p]]
             and p > rso[route_of[p]]]
    out: list[tuple[int, int, int, int]] = []
    while len(out) < n:
        p = rng.choice(keyed)
        r, x = int(route_of[p]), int(alight[p])
        i = rng.randrange(0, p - rso[r])
        t = rng.randrange(rto[r], rto[r + 1])
        k = rng.randrange(int(tt.rule_offset[x]), int(tt.rule_offset[x + 1]))
        onward = [int(v) for v in np.flatnonzero(board == tt.rule_board[k])
                  if v < rso[route_of[v] + 1] - 1]
        if not onward:
            continue
        v = rng.choice(onward)
        r2 = int(route_of[v])
        ready = int(tt.st_arr[tso[t] + p - rso[r]]) + int(tt.rule_time[k])
        later = [u for u in range(rto[r2], rto[r2 + 1])
                 if tt.st_dep[tso[u] + v - rso[r2]] >= ready]
        if not later:
            continue
        j = rng.randrange(v - rso[r2] + 1, rso[r2 + 1] - rso[r2])
        out.append((int(stops[rso[r] + i]), int(stops[rso[r2] + j]),
                    int(tt.st_dep[tso[t] + i]) - rng.randint(0, 300),
                    int(tt.st_arr[tso[later[0]] + j]) + rng.randint(0, 300)))
    return out


def mixed_queries(feed: tuple[str, date, int], n: int, seed: int,
                  arrive_by: bool) -> list[tuple[int, int, int]]:
    """Two fifths random pairs at the feed's busy hour, the rest :func:`rule_queries`."""
    relative, day, hour = feed
    tt = timetable(relative, day)
    rng = random.Random(seed)
    shift = 3600 if arrive_by else 0
    out = [(a, b, tt.time_of(day, hour * 3600 + shift + rng.randint(0, 3600)))
           for a, b in random_pairs(tt, n - n * 3 // 5, seed)]
    return out + [(a, b, deadline if arrive_by else dep)
                  for a, b, dep, deadline in rule_queries(tt, n * 3 // 5, seed)]


@pytest.mark.parametrize("feed", [VBB, OEBB], ids=["vbb", "oebb"])
def test_rraptor_profile_journeys_are_the_reference_earliest_arrivals(
        feed: tuple[str, date, int]) -> None:
    """Every profile journey arrives at the reference's earliest arrival from its
    departure and leaves as late as it can; the profile gives the earliest arrival at
    the window's start."""
    relative, day, hour = feed
    tt = timetable(relative, day)
    router, plain = Router(tt), Router(without_scoped_rules(tt))
    window = 1800
    inside, decided = 0, 0
    for a, b, t in mixed_queries(feed, 40, 13, arrive_by=False):
        q = Query([(a, 0)], [(b, 0)], t, window=window, max_transfers=MAX_TRANSFERS,
                  transfer_slack=SLACK)
        result = router.route(q, "rraptor")
        for j in result.journeys:
            check_journey(tt, j, [(a, 0)], [(b, 0)], SLACK)
            assert j.arrival == ea(feed, a, b, j.departure), (a, b, j.departure)
            if j.departure < t + window:
                inside += 1
                assert ea(feed, a, b, j.departure + 1) > j.arrival, (a, b, j.departure)
        walk = INFINITY if result.walk_only is None else t + result.walk_only
        assert min([walk] + [j.arrival for j in result.journeys]) == ea(feed, a, b, t)
        profile = [(j.departure, j.arrival) for j in result.journeys]
        decided += profile != [(j.departure, j.arrival)
                               for j in plain.route(q, "rraptor").journeys]
    assert inside >= 20 and decided >= 3, (inside, decided)


@pytest.mark.parametrize("engine", ["reverse", "reverse_csa"])
@pytest.mark.parametrize("feed", [VBB, OEBB], ids=["vbb", "oebb"])
def test_arrive_by_latest_departure_is_tight_against_the_reference(
        feed: tuple[str, date, int], engine: str) -> None:
    relative, day, hour = feed
    tt = timetable(relative, day)
    router, plain = Router(tt), Router(without_scoped_rules(tt))
    found, decided = 0, 0
    for a, b, deadline in mixed_queries(feed, 40, 17, arrive_by=True):
        q = Query([(a, 0)], [(b, 0)], deadline, arrive_by=True, transfer_slack=SLACK,
                  max_transfers=MAX_TRANSFERS)
        journeys = router.route(q, engine).journeys
        decided += [j.departure for j in journeys] != \
            [j.departure for j in plain.route(q, engine).journeys]
        if not journeys:  # then leaving two days early does not make it either
            assert ea(feed, a, b, deadline - 2 * 86400) > deadline, (a, b)
            continue
        (j,) = journeys
        check_journey(tt, j, [(a, 0)], [(b, 0)], SLACK)
        assert j.arrival == ea(feed, a, b, j.departure) <= deadline, (a, b, deadline)
        assert ea(feed, a, b, j.departure + 1) > deadline, (a, b, deadline)
        found += bool(j.transit_legs)
    assert found >= 20 and decided >= 3, (found, decided)


@pytest.mark.parametrize("feed", [VBB, OEBB], ids=["vbb", "oebb"])
def test_compiled_rule_tables_pass_the_structure_check_and_damage_to_them_does_not(
        feed: tuple[str, date, int]) -> None:
    """A cache entry's rule arrays are followed without bounds checks like the others
    (``planner.timetable.integrity``): the compiled ones pass, an index out of range in
    any of them (or a rule table without its keys) is caught."""
    tt = timetable(*feed[:2])
    check_structure(tt)
    for name in ("route_alight_rule", "route_board_rule", "rule_alight_stop",
                 "rule_board_stop", "rule_board", "rule_in_alight", "rule_offset"):
        arr = np.array(getattr(tt, name))
        arr[len(arr) // 2] = 2**30
        with pytest.raises(DamagedTimetable, match=name):
            check_structure(dataclasses.replace(tt, **{name: arr}, extra={}))
    with pytest.raises(DamagedTimetable, match="route_alight_rule"):
        check_structure(dataclasses.replace(
            tt, route_alight_rule=np.zeros(0, dtype=np.int32), extra={}))


def test_each_named_trip_is_alone_in_its_raptor_route() -> None:
    """The compiler splits RAPTOR routes so that each named trip is its own route: every
    trip of a route shares the rules' classes."""
    relative, day, _ = OEBB
    tt = timetable(relative, day)
    named = {r[c] for r in raw_transfers(relative)
             for c in ("from_trip_id", "to_trip_id") if r.get(c)}
    ids = np.array([str(t).split(":", 1)[1] for t in tt.gtfs_trip_ids])[
        np.asarray(tt.trip_gtfs)]
    for r in range(tt.n_routes):
        members = set(ids[tt.route_trip_offset[r]:tt.route_trip_offset[r + 1]].tolist())
        assert len(members) == 1 or not (members & named), members


def test_the_most_specific_matching_row_decides_and_the_strictest_of_equals() -> None:
    """GTFS ranks trips over routes over stops; a row that does not match is skipped."""
    route_row = Rule(0, 0, -1, -1, 3, 4, 300)
    trip_row = Rule(0, 0, 7, 8, -1, -1, 60)
    other_trip = Rule(0, 0, 9, 8, -1, -1, FORBIDDEN)
    co, ci = (7, 3), (8, 4)  # trip 7 of line 3 to trip 8 of line 4
    assert resolve([route_row, trip_row, other_trip], co, ci, 120) == 60
    assert resolve([trip_row, route_row], co, ci, 120) == 60
    assert resolve([route_row], co, ci, 120) == 300
    assert resolve([route_row], (-1, 3), (-1, 5), 120) == 120  # to another line
    assert resolve([route_row, Rule(0, 0, -1, -1, 3, 4, FORBIDDEN)], co, ci, 0) == FORBIDDEN
    assert resolve([Rule(0, 0, -1, -1, 3, -1, 500), route_row], co, ci, 0) == 300
