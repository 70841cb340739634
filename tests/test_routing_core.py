"""CSA and RAPTOR on hand-made timetables: each rule of the transfer model in isolation.

Every query is also answered by the reference Dijkstra, so a case that the three
disagree on fails even where the expected time is spelled out.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from planner.routing import router as router_module
from planner.routing.journeys import Journey, TransitLeg, WalkLeg, transit_leg
from planner.routing.query import MAX_TRANSFERS, Query
from planner.routing.reference import ReferenceRouter
from planner.routing.router import Router
from planner.timetable.compile import CompileOptions, compile_timetable
from planner.timetable.model import INFINITY, NO_TRANSFER, Timetable
from planner.timetable.transfer_rules import FORBIDDEN, change_seconds
from tests.feedmaker import write_feed

DAY = date(2026, 6, 10)
DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"

STOPS = (
    "stop_id,stop_name,stop_lat,stop_lon\n"
    "A,A,52.00,8.50\nB,B,52.02,8.50\nC,C,52.04,8.50\nD,D,52.06,8.50\n"
    "E,E,52.08,8.50\nF,F,52.10,8.50\n"
)
ROUTES = (
    "route_id,agency_id,route_short_name,route_long_name,route_type\n"
    "R1,A,1,One,3\nR2,A,2,Two,3\nR3,A,3,Three,3\n"
)
TRIPS = (
    "route_id,service_id,trip_id,trip_headsign\n"
    "R1,WK,t1,to C\nR2,WK,t2,to D early\nR2,WK,t3,to D late\nR3,WK,t4,to D via E\n"
)


def stop_times(pickup_a: int = 0, dropoff_b: int = 0) -> str:
    """t1 A 08:00 -> B 08:10 -> C 08:20; t2/t3 B -> D; t4 E 08:15 -> D 08:35."""
    return (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence,pickup_type,drop_off_type\n"
        f"t1,08:00:00,08:00:00,A,1,{pickup_a},0\n"
        f"t1,08:10:00,08:10:00,B,2,0,{dropoff_b}\n"
        "t1,08:20:00,08:20:00,C,3,0,0\n"
        "t2,08:12:00,08:12:00,B,1,0,0\nt2,08:30:00,08:30:00,D,2,0,0\n"
        "t3,08:20:00,08:20:00,B,1,0,0\nt3,08:40:00,08:40:00,D,2,0,0\n"
        "t4,08:15:00,08:15:00,E,1,0,0\nt4,08:35:00,08:35:00,D,2,0,0\n"
    )


def tiny(tmp_path: Path, *, transfers: str | None = None, pickup_a: int = 0,
         dropoff_b: int = 0) -> Timetable:
    feed = write_feed(tmp_path / "f", stops=STOPS, routes=ROUTES, trips=TRIPS,
                      stop_times=stop_times(pickup_a, dropoff_b), transfers=transfers)
    # Changes in 0 s unless transfers.txt says otherwise: the slack and change-time tests
    # below count every second of the change themselves.
    return compile_timetable([feed], DAY, CompileOptions(footpath_radius=0,
                                                         default_change_time=0))


def at(tt: Timetable, hhmm: str) -> int:
    h, m = hhmm.split(":")
    return tt.time_of(DAY, int(h) * 3600 + int(m) * 60)


def check_journey(tt: Timetable, j: Journey, sources: Sequence[tuple[int, int]],
                  targets: Sequence[tuple[int, int]], slack: int = 0) -> None:
    """Legs chain in time, follow the transfer model and end at the reported arrival."""
    access = {}
    for s, o in sources:
        access[int(s)] = min(access.get(int(s), INFINITY), int(o))
    egress = {}
    for s, e in targets:
        egress[int(s)] = min(egress.get(int(s), INFINITY), int(e))
    assert j.source in access and j.access == access[j.source]
    fps = {}
    for s in range(tt.n_stops):
        for k in range(tt.fp_offset[s], tt.fp_offset[s + 1]):
            fps[(s, int(tt.fp_to[k]))] = int(tt.fp_dur[k])
    cur, t, last = j.source, j.departure + j.access, "origin"
    ready = t
    alighted: tuple[int, int] | None = None  # (flat route position, time) of the last trip
    walk: WalkLeg | None = None  # the walk since then
    for leg in j.legs:
        if isinstance(leg, WalkLeg):
            assert last in ("origin", "transit"), "two footpaths in a row"
            assert leg.from_stop == cur and leg.start >= t
            keyed = alighted is not None and len(tt.route_alight_rule) > 0 and \
                tt.route_alight_rule[alighted[0]] >= 0
            if not keyed:  # a keyed change's walk lasts its rule's seconds (checked below)
                assert fps[(leg.from_stop, leg.to_stop)] == leg.duration
            assert leg.end == leg.start + leg.duration
            ready = leg.end + (slack if last == "transit" else 0)
            cur, t, last, walk = leg.to_stop, leg.end, "walk", leg
        else:
            assert isinstance(leg, TransitLeg)
            assert leg.board_stop == cur
            base = int(tt.route_stop_offset[leg.route])
            rule = None if alighted is None else change_seconds(tt, alighted[0],
                                                                 base + leg.board_pos)
            if rule is not None:  # a transfers.txt row scoped to routes or trips decides
                assert rule != FORBIDDEN, "a change the scoped rules forbid"
                assert walk is None or walk.duration == rule
                ready = alighted[1] + rule + slack  # type: ignore[index]
            elif last == "transit":
                assert tt.stop_change_time[cur] < NO_TRANSFER, "changed at a no-transfer stop"
                ready = t + int(tt.stop_change_time[cur]) + slack
            elif walk is not None and alighted is not None:
                assert fps[(walk.from_stop, walk.to_stop)] == walk.duration
            assert leg.departure >= ready
            st = int(tt.trip_st_offset[leg.trip])
            assert int(tt.trip_route[leg.trip]) == leg.route
            assert tt.route_pickup[base + leg.board_pos] and tt.route_dropoff[base + leg.alight_pos]
            assert leg.board_pos < leg.alight_pos
            assert leg.departure == tt.st_dep[st + leg.board_pos]
            assert leg.arrival == tt.st_arr[st + leg.alight_pos]
            assert [v.stop for v in leg.stops] == \
                tt.route_stops[base + leg.board_pos: base + leg.alight_pos + 1].tolist()
            # the visits are read lazily (journeys.StopVisits): times and length as built
            assert [(v.arrival, v.departure) for v in leg.stops] == list(zip(
                tt.st_arr[st + leg.board_pos: st + leg.alight_pos + 1].tolist(),
                tt.st_dep[st + leg.board_pos: st + leg.alight_pos + 1].tolist(), strict=True))
            assert len(leg.stops) == leg.alight_pos - leg.board_pos + 1
            cur, t, last = leg.alight_stop, leg.arrival, "transit"
            alighted, walk = (base + leg.alight_pos, leg.arrival), None
    if walk is not None and last == "walk" and alighted is not None:  # the egress walk
        assert fps[(walk.from_stop, walk.to_stop)] == walk.duration
    assert cur == j.target and j.egress == egress[j.target]
    assert t + j.egress == j.arrival
    n_transit = sum(isinstance(leg, TransitLeg) for leg in j.legs)
    assert j.transfers == max(n_transit - 1, 0)


def all_agree(tt: Timetable, sources: list[tuple[int, int]], targets: list[tuple[int, int]],
              departure: int, slack: int = 0) -> int | None:
    """The arrival all three searches agree on; journeys are checked on the way."""
    router = Router(tt)
    got = {}
    for algo in ("csa", "raptor"):
        j = router.earliest(Query(sources, targets, departure, max_transfers=MAX_TRANSFERS,
                                  transfer_slack=slack), algo)
        if j is not None:
            check_journey(tt, j, sources, targets, slack)
        got[algo] = None if j is None else j.arrival
    got["reference"] = ReferenceRouter(tt, transfer_slack=slack).earliest_arrival(
        sources, targets, departure)
    assert got["csa"] == got["raptor"] == got["reference"], got
    return got["csa"]


def ix(tt: Timetable, stop: str) -> int:
    return tt.stop_index(f"f:{stop}")


def test_direct_trip_arrives_on_schedule(tmp_path: Path) -> None:
    tt = tiny(tmp_path)
    assert all_agree(tt, [(ix(tt, "A"), 0)], [(ix(tt, "C"), 0)], at(tt, "07:50")) == \
        at(tt, "08:20")


def test_transfer_without_change_time_catches_next_trip(tmp_path: Path) -> None:
    tt = tiny(tmp_path)
    assert all_agree(tt, [(ix(tt, "A"), 0)], [(ix(tt, "D"), 0)], at(tt, "07:50")) == \
        at(tt, "08:30")


def test_transfer_respects_min_transfer_time(tmp_path: Path) -> None:
    tt = tiny(tmp_path, transfers="from_stop_id,to_stop_id,transfer_type,min_transfer_time\n"
              "B,B,2,180\n")
    assert int(tt.stop_change_time[ix(tt, "B")]) == 180
    assert all_agree(tt, [(ix(tt, "A"), 0)], [(ix(tt, "D"), 0)], at(tt, "07:50")) == \
        at(tt, "08:40")


def test_transfer_slack_is_added_to_the_change_time(tmp_path: Path) -> None:
    tt = tiny(tmp_path)
    a, d = ix(tt, "A"), ix(tt, "D")
    assert all_agree(tt, [(a, 0)], [(d, 0)], at(tt, "07:50"), slack=120) == at(tt, "08:30")
    assert all_agree(tt, [(a, 0)], [(d, 0)], at(tt, "07:50"), slack=121) == at(tt, "08:40")


def test_transfer_slack_is_never_added_at_the_origin(tmp_path: Path) -> None:
    """Leaving A exactly when t1 does, with a large slack: the slack is for changes, so t1
    is caught (08:20 at C) by every engine, directly and after the origin's footpath."""
    tt = tiny(tmp_path)
    a, b, c = ix(tt, "A"), ix(tt, "B"), ix(tt, "C")
    assert all_agree(tt, [(a, 0)], [(c, 0)], at(tt, "08:00"), slack=600) == at(tt, "08:20")
    # from B with a 60 s access walk that ends exactly at t1's departure there (08:10)
    assert all_agree(tt, [(b, 60)], [(c, 0)], at(tt, "08:09"), slack=600) == at(tt, "08:20")


def test_transfer_slack_is_added_to_footpaths_after_alighting(tmp_path: Path) -> None:
    tt = tiny(tmp_path, transfers="from_stop_id,to_stop_id,transfer_type,min_transfer_time\n"
              "B,B,3,\nB,E,2,300\n")
    a, d = ix(tt, "A"), ix(tt, "D")
    # alight B 08:10, walk 300 s to E, t4 leaves E at 08:15
    assert all_agree(tt, [(a, 0)], [(d, 0)], at(tt, "07:50"), slack=0) == at(tt, "08:35")
    # one second more misses t4 and waits at E for tomorrow's t4
    assert all_agree(tt, [(a, 0)], [(d, 0)], at(tt, "07:50"), slack=1) == \
        tt.time_of(date(2026, 6, 11), 8 * 3600 + 35 * 60)


def test_no_transfer_stop_forbids_changing_but_allows_walking_away(tmp_path: Path) -> None:
    tt = tiny(tmp_path, transfers="from_stop_id,to_stop_id,transfer_type,min_transfer_time\n"
              "B,B,3,\nB,E,2,240\n")
    assert int(tt.stop_change_time[ix(tt, "B")]) == NO_TRANSFER
    got = all_agree(tt, [(ix(tt, "A"), 0)], [(ix(tt, "D"), 0)], at(tt, "07:50"))
    assert got == at(tt, "08:35")  # via the walk to E, not t2 at B (08:30)
    j = Router(tt).earliest(Query([(ix(tt, "A"), 0)], [(ix(tt, "D"), 0)], at(tt, "07:50"),
                                  max_transfers=8))
    assert j is not None
    assert [type(leg).__name__ for leg in j.legs] == ["TransitLeg", "WalkLeg", "TransitLeg"]
    assert j.legs[2].gtfs_trip_id == "f:t4" and j.legs[0].headsign == "to C"


def test_no_transfer_stop_allows_staying_seated(tmp_path: Path) -> None:
    tt = tiny(tmp_path, transfers="from_stop_id,to_stop_id,transfer_type,min_transfer_time\n"
              "B,B,3,\n")
    assert all_agree(tt, [(ix(tt, "A"), 0)], [(ix(tt, "C"), 0)], at(tt, "07:50")) == \
        at(tt, "08:20")
    assert all_agree(tt, [(ix(tt, "A"), 0)], [(ix(tt, "D"), 0)], at(tt, "07:50")) is None


def test_a_later_trip_arrival_walks_on_where_the_earlier_walk_reaches_no_further(
        tmp_path: Path) -> None:
    """B -> C and C -> D are footpaths (400 s each), B -> D is none (800 s is past the
    closure's bound): alighting t1 at B (08:10) walks to C by 08:16:40; t1 itself reaches
    C later (08:20), and walking on from there reaches D at 08:26:40, before t2 (08:30).
    CSA skips the footpaths of an arrival no earlier than the stop's best only where the
    walk that set that best reaches every stop as early (not C here)."""
    tt = tiny(tmp_path, transfers="from_stop_id,to_stop_id,transfer_type,min_transfer_time\n"
              "B,C,2,400\nC,D,2,400\n")
    b, c, d = ix(tt, "B"), ix(tt, "C"), ix(tt, "D")
    assert d not in tt.fp_to[tt.fp_offset[b]:tt.fp_offset[b + 1]].tolist()
    assert Router(tt).csa.footpath_gates()[c] == 0
    assert all_agree(tt, [(ix(tt, "A"), 0)], [(d, 0)], at(tt, "07:50")) == \
        at(tt, "08:20") + 400


def test_csa_skips_footpaths_only_where_walking_back_is_no_faster_than_the_change(
        tmp_path: Path) -> None:
    """Closed footpaths B <-> C (60 s each way) without change times: every stop's later
    arrivals skip their footpaths. A 180 s change at B is slower than walking to C and
    back (120 s), so C's footpath back to B is relaxed from every arrival (a trip reaching
    C after the walk from B can still make B ready sooner than B's change)."""
    walks = "B,C,2,60\nC,B,2,60\n"
    header = "from_stop_id,to_stop_id,transfer_type,min_transfer_time\n"
    tt = tiny(tmp_path / "closed", transfers=header + walks)
    assert Router(tt).csa.footpath_gates().tolist() == [1] * tt.n_stops
    tt = tiny(tmp_path / "change", transfers=header + walks + "B,B,2,180\n")
    gates = Router(tt).csa.footpath_gates()
    assert gates[ix(tt, "C")] == 0 and gates[ix(tt, "B")] == 1
    assert all_agree(tt, [(ix(tt, "A"), 0)], [(ix(tt, "D"), 0)], at(tt, "07:50")) == \
        at(tt, "08:40")


def test_drop_off_forbidden_stop_cannot_be_alighted_at(tmp_path: Path) -> None:
    tt = tiny(tmp_path, dropoff_b=1)
    a = ix(tt, "A")
    assert all_agree(tt, [(a, 0)], [(ix(tt, "B"), 0)], at(tt, "07:50")) is None
    assert all_agree(tt, [(a, 0)], [(ix(tt, "D"), 0)], at(tt, "07:50")) is None
    assert all_agree(tt, [(a, 0)], [(ix(tt, "C"), 0)], at(tt, "07:50")) == at(tt, "08:20")


def test_pickup_forbidden_stop_cannot_be_boarded_at(tmp_path: Path) -> None:
    tt = tiny(tmp_path, pickup_a=1)
    assert all_agree(tt, [(ix(tt, "A"), 0)], [(ix(tt, "C"), 0)], at(tt, "07:50")) is None


def test_access_offsets_are_added_to_the_departure(tmp_path: Path) -> None:
    tt = tiny(tmp_path)
    sources = [(ix(tt, "A"), 0), (ix(tt, "E"), 600)]
    target = [(ix(tt, "D"), 0)]
    # from A: 08:30 at D; E is ready at 08:00 but t4 only arrives at 08:35
    assert all_agree(tt, sources, target, at(tt, "07:50")) == at(tt, "08:30")
    # leaving at 08:01 misses t1 at A; E ready at 08:11 still catches t4
    assert all_agree(tt, sources, target, at(tt, "08:01")) == at(tt, "08:35")
    # at 08:06, E is only ready at 08:16: tomorrow's t1 and t2
    assert all_agree(tt, sources, target, at(tt, "08:06")) == \
        tt.time_of(date(2026, 6, 11), 8 * 3600 + 30 * 60)


def test_egress_offsets_pick_the_best_target(tmp_path: Path) -> None:
    tt = tiny(tmp_path)
    targets = [(ix(tt, "C"), 900), (ix(tt, "D"), 60)]
    # C 08:20 + 15 min = 08:35 > D 08:30 + 1 min
    assert all_agree(tt, [(ix(tt, "A"), 0)], targets, at(tt, "07:50")) == at(tt, "08:31")
    j = Router(tt).earliest(Query([(ix(tt, "A"), 0)], targets, at(tt, "07:50"), max_transfers=8),
                            "csa")
    assert j is not None and j.target == ix(tt, "D") and j.egress == 60


def test_source_that_is_a_target_gives_a_walking_only_journey(tmp_path: Path) -> None:
    tt = tiny(tmp_path, transfers="from_stop_id,to_stop_id,transfer_type,min_transfer_time\n"
              "A,F,2,400\n")
    a, f = ix(tt, "A"), ix(tt, "F")
    assert all_agree(tt, [(a, 30)], [(f, 20)], at(tt, "07:50")) == at(tt, "07:50") + 450
    j = Router(tt).earliest(Query([(a, 30)], [(f, 20)], at(tt, "07:50"), max_transfers=8))
    assert j is not None and j.transfers == 0
    assert [type(leg).__name__ for leg in j.legs] == ["WalkLeg"]


def test_unreachable_target_returns_none(tmp_path: Path) -> None:
    tt = tiny(tmp_path)
    assert all_agree(tt, [(ix(tt, "D"), 0)], [(ix(tt, "A"), 0)], at(tt, "07:00")) is None
    assert Router(tt).arrival(Query([(ix(tt, "D"), 0)], [(ix(tt, "A"), 0)], at(tt, "07:00"),
                                    max_transfers=8), "csa") is None


def test_departing_after_the_last_trip_waits_for_the_next_day(tmp_path: Path) -> None:
    tt = tiny(tmp_path)
    got = all_agree(tt, [(ix(tt, "A"), 0)], [(ix(tt, "C"), 0)], at(tt, "09:00"))
    assert got == tt.time_of(date(2026, 6, 11), 8 * 3600 + 20 * 60)


def test_max_transfers_bounds_raptor_and_rounds_report_each_bound(tmp_path: Path) -> None:
    tt = tiny(tmp_path)
    router = Router(tt)
    a, d = ix(tt, "A"), ix(tt, "D")
    assert router.arrival(Query([(a, 0)], [(d, 0)], at(tt, "07:50"), max_transfers=0)) is None
    assert router.arrival(Query([(a, 0)], [(d, 0)], at(tt, "07:50"), max_transfers=1)) == \
        at(tt, "08:30")
    assert router.arrivals_by_transfers(Query([(a, 0)], [(d, 0)], at(tt, "07:50"),
                                              max_transfers=2)) == [None, at(tt, "08:30"),
                                                             at(tt, "08:30")]
    with pytest.raises(ValueError, match="max_transfers"):
        router.arrival(Query([(a, 0)], [(d, 0)], at(tt, "07:50"), max_transfers=-1))


def test_bad_queries_raise_clear_errors(tmp_path: Path) -> None:
    tt = tiny(tmp_path)
    router = Router(tt)
    with pytest.raises(ValueError, match="bad source row 0"):
        router.arrival(Query([(tt.n_stops, 0)], [(0, 0)], 0, max_transfers=8))
    with pytest.raises(ValueError, match="bad target row 0"):
        router.arrival(Query([(0, 0)], [(0, -5)], 0, max_transfers=8), "csa")
    with pytest.raises(ValueError, match="unknown earliest-arrival engine"):
        router.arrival(Query([(0, 0)], [(1, 0)], 0, max_transfers=8), "dijkstra")
    with pytest.raises(ValueError, match="at least one target"):
        router.earliest(Query([(0, 0)], [], 0, max_transfers=8))


@pytest.fixture(scope="module")
def db() -> Timetable:
    path = DATA / "de-db-fv-2026" / "gtfs.zip"
    if not path.exists():
        pytest.skip(f"real feed missing: {path}")
    return compile_timetable([path], date(2026, 4, 20))


def random_pairs(tt: Timetable, n: int, seed: int) -> list[tuple[int, int, int]]:
    rng = np.random.default_rng(seed)
    served = np.nonzero(np.diff(tt.stop_route_offset) > 0)[0]
    day = tt.dates[1]
    return [(int(rng.choice(served)), int(rng.choice(served)),
             tt.time_of(day, int(rng.integers(5 * 3600, 23 * 3600)))) for _ in range(n)]


def test_one_to_all_csa_matches_raptor_on_every_stop(db: Timetable) -> None:
    router = Router(db)
    for s, _, dep in random_pairs(db, 20, seed=3):
        csa = router.one_to_all(Query([(s, 0)], [], dep, max_transfers=8), "csa")
        raptor = router.one_to_all(Query([(s, 0)], [], dep, max_transfers=MAX_TRANSFERS), "raptor")
        assert csa.shape == (db.n_stops,)
        assert np.array_equal(csa, raptor)
        assert csa[s] == dep


def test_one_to_all_trips_are_the_fewest_trips_of_each_stops_earliest_arrival(
        db: Timetable) -> None:
    """Per stop, the trips reported beside the earliest arrival are the fewest any
    journey arriving then takes: the first bound of ``arrivals_by_transfers`` reaching it."""
    router = Router(db)
    checked = 0
    for s, _, dep in random_pairs(db, 5, seed=5):
        arrivals, trips = router.one_to_all_trips(Query([(s, 0)], [], dep, max_transfers=8))
        reached = np.flatnonzero(arrivals < INFINITY)
        for t in np.random.default_rng(s).choice(reached, size=min(15, len(reached)),
                                                 replace=False):
            if t == s:
                assert trips[t] == 0
                continue
            bests = router.arrivals_by_transfers(Query([(s, 0)], [(int(t), 0)], dep,
                                                       max_transfers=8))
            fewest = next(k + 1 for k, b in enumerate(bests) if b == arrivals[t])
            if trips[t] > 0:  # 0: walked there no later
                assert trips[t] == fewest, (s, t)
                checked += 1
    assert checked > 20


def test_cached_legs_equal_fresh_ones_and_stay_within_the_visit_budget(
        db: Timetable, monkeypatch: pytest.MonkeyPatch) -> None:
    """The router reuses the legs of rides it found before; the cache is bounded by the
    stop visits it holds (a routing process stays small), and a leg from it is the leg."""
    monkeypatch.setattr(router_module, "LEG_CACHE_VISITS", 400)
    router = Router(db)
    cleared = 0
    for s, t, dep in random_pairs(db, 40, seed=6):
        before = len(router._leg_cache)
        for j in router.pareto(Query([(s, 0)], [(t, 0)], dep, max_transfers=4)):
            for leg in j.transit_legs:
                assert leg == transit_leg(db, leg.trip, leg.board_pos, leg.alight_pos)
        assert router._leg_visits == sum(len(leg.stops) for leg in router._leg_cache.values())
        assert router._leg_visits <= 400
        cleared += len(router._leg_cache) < before
    assert cleared > 0  # the budget was reached and the cache started over


def test_queries_in_a_thread_pool_match_sequential_answers(db: Timetable) -> None:
    router = Router(db)
    queries = random_pairs(db, 200, seed=4)

    def run(q: tuple[int, int, int], algo: str) -> int | None:
        return router.arrival(Query([(q[0], 0)], [(q[1], 0)], q[2], max_transfers=8), algo)

    for algo in ("csa", "raptor"):
        sequential = [run(q, algo) for q in queries]
        with ThreadPoolExecutor(max_workers=4) as pool:
            parallel = list(pool.map(lambda q, a=algo: run(q, a), queries))
        assert parallel == sequential
        assert any(x is not None for x in sequential)


def test_numpy_rows_and_tuples_give_the_same_answer(db: Timetable) -> None:
    router = Router(db)
    for s, t, dep in random_pairs(db, 20, seed=5):
        rows = np.array([[s, 0]], dtype=np.int32), np.array([[t, 0]], dtype=np.int32)
        assert router.arrival(Query(*rows, dep)) == router.arrival(Query([(s, 0)], [(t, 0)], dep))


def test_a_derived_query_runs_as_many_rounds_as_its_own_transfer_bound() -> None:
    """The engines read ``max_trips``; a query derived with another bound or time must
    not keep its parent's (a fewer-transfer search would then search too far)."""
    q = Query([(0, 0)], [(1, 0)], 3600, max_transfers=4)
    fewer = q.with_max_transfers(1)
    assert (fewer.max_transfers, fewer.max_trips) == (1, 2)
    assert q.max_trips == 5
    later = fewer.at(7200)
    assert (later.time, later.max_trips) == (7200, 2)
