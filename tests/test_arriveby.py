"""Arrive-by (reverse CSA) against forward earliest arrival at LD and LD + 1."""

from __future__ import annotations

import random

import numpy as np
import pytest

from planner.routing.query import Query
from planner.timetable.compile import compile_timetable
from planner.timetable.model import INFINITY
from tests.shared_data import shared
from tests.test_mcraptor import FEEDS, random_queries, replay, replay_later
from tests.test_range import load_feed

arriveby = pytest.importorskip("planner.routing.reverse_csa", reason="Cython extensions not built")

N_QUERIES = {"de-db-fv-2026": 60, "us-caltrain-rt": 60, "de-vvs-herrenberg-751": 40,
             "de-vpe-pforzheim": 60}


def latest(ab, ws, src, tgt, deadline: int, slack: int = 0) -> tuple | None:
    """The reverse CSA's one journey, or None."""
    found = ab.search(ws, Query(src, tgt, deadline, arrive_by=True, transfer_slack=slack))
    assert len(found) <= 1
    return found[0] if found else None


@pytest.fixture(scope="module", params=list(FEEDS))
def feed(request):
    return load_feed(request.param)


@pytest.mark.parametrize("slack", [0, 120])
def test_latest_departure_is_tight_against_earliest_arrival(feed, slack):
    name, tt, oracle, ea = feed
    ab = arriveby.ArriveBy(tt)
    ws = ab.workspace()
    rng = random.Random(31 + slack)
    n = N_QUERIES[name] // 2
    found = leading_walks = 0
    queries = random_queries(tt, n, seed=33 + slack) + random_queries(tt, n, 34, multi=True)
    for src, tgt, t, _, _ in queries:
        deadline = t + rng.randint(600, 5 * 3600)
        result = latest(ab, ws, src, tgt, deadline, slack=slack)
        if result is None:
            # nothing departing at the very start of the timetable makes it either
            assert ea(src, tgt, -86400, slack) > deadline
            continue
        found += 1
        dep, arr, trips, srow, trow, steps = result
        assert ea(src, tgt, dep, slack) <= deadline
        assert ea(src, tgt, dep + 1, slack) > deadline, (name, src.tolist(), tgt.tolist(),
                                                          deadline, dep)
        assert replay(tt, steps, src, tgt, srow, trow, dep, slack)[:2] == (arr, trips)
        assert arr <= deadline
        # the journey itself is tight: one second later (a leading walk moved along) it
        # misses its first vehicle, or walking only it arrives after the deadline
        later = replay_later(tt, steps, src, tgt, srow, trow, dep, slack)
        if trips:
            assert later is None, (name, src.tolist(), tgt.tolist(), deadline, dep, steps)
        else:
            assert later is not None and later[0] == deadline + 1
        leading_walks += len(steps) > 1 and steps[1][0] == "walk"
        if rng.random() < 0.2:  # the independent oracle agrees as well
            srcs = [tuple(r) for r in src.tolist()]
            tgts = [tuple(r) for r in tgt.tolist()]
            assert oracle.ea_by_trips(srcs, tgts, dep, slack, 16)[-1] <= deadline
            assert oracle.ea_by_trips(srcs, tgts, dep + 1, slack, 16)[-1] > deadline
    assert found > 0 and leading_walks > 0


def test_walking_only_answer_departs_walk_time_before_deadline(feed):
    """A target that is the source: leave exactly egress + access before the deadline."""
    name, tt, _, _ = feed
    ab = arriveby.ArriveBy(tt)
    ws = ab.workspace()
    stop = int(np.flatnonzero(np.diff(tt.stop_route_offset) > 0)[0])
    src = np.array([[stop, 90]], dtype=np.int32)
    tgt = np.array([[stop, 30]], dtype=np.int32)
    deadline = tt.time_of(tt.dates[1], 12 * 3600)
    dep, arr, trips, _, _, steps = latest(ab, ws, src, tgt, deadline)
    assert (dep, arr, trips, steps) == (deadline - 120, deadline, 0,
                                        [("origin", stop, deadline - 30)])


def walking_seconds(tt, src: np.ndarray, tgt: np.ndarray) -> int | None:
    """Fastest walk from a source row to a target row: access, at most one footpath (or
    none at the same stop), egress; None if no target is in walking range."""
    best = None
    for s, access in src.tolist():
        walks = {s: 0}
        for j in range(int(tt.fp_offset[s]), int(tt.fp_offset[s + 1])):
            u = int(tt.fp_to[j])
            walks[u] = min(walks.get(u, INFINITY), int(tt.fp_dur[j]))
        for stop, egress in tgt.tolist():
            if stop in walks:
                total = access + walks[stop] + egress
                best = total if best is None else min(best, total)
    return best


def test_deadline_before_any_service_leaves_walking_or_nothing(feed):
    """Before the first arrival only walking arrives: a pair in walking range leaves exactly
    its walk before the deadline, any other pair has no journey."""
    name, tt, _, ea = feed
    ab = arriveby.ArriveBy(tt)
    ws = ab.workspace()
    deadline = int(tt.conn_arr.min()) - 1
    queries = [(src, tgt) for src, tgt, _, _, _ in random_queries(tt, 6, seed=41, multi=True)]
    # and a pair one footpath apart, with access and egress
    a = int(np.flatnonzero(np.diff(tt.fp_offset) > 0)[0])
    b = int(tt.fp_to[tt.fp_offset[a]])
    queries.append((np.array([[a, 60]], dtype=np.int32), np.array([[b, 30]], dtype=np.int32)))
    walked = unreachable = 0
    for src, tgt in queries:
        result = latest(ab, ws, src, tgt, deadline)
        walk = walking_seconds(tt, src, tgt)
        if walk is None:
            assert result is None, (name, src.tolist(), tgt.tolist(), result)
            assert ea(src, tgt, -86400, 0) > deadline
            unreachable += 1
        else:
            assert result is not None and result[:3] == (deadline - walk, deadline, 0), \
                (name, src.tolist(), tgt.tolist(), walk, result)
            assert ea(src, tgt, deadline - walk, 0) == deadline
            walked += 1
    assert walked > 0 and unreachable > 0


def test_bad_target_row_is_rejected():
    tt = compile_timetable([shared(FEEDS["us-caltrain-rt"][0])], FEEDS["us-caltrain-rt"][1])
    ab = arriveby.ArriveBy(tt)
    with pytest.raises(ValueError, match="bad target row 0"):
        latest(ab, ab.workspace(), np.array([[0, 0]], dtype=np.int32),
               np.array([[tt.n_stops, 0]], dtype=np.int32), 0)


def test_router_latest_departure_journey_arrives_by_the_deadline(feed):
    from planner.routing.router import Router

    name, tt, _, ea = feed
    router = Router(tt)
    found = 0
    for src, tgt, t, _, _ in random_queries(tt, 10, seed=43):
        journey = router.latest_departure(Query(src, tgt, t + 2 * 3600, transfer_slack=30,
                                                arrive_by=True))
        if journey is None:
            # nothing arrives by the deadline with as many transfers, whenever it leaves
            first = router.arrival(Query(src, tgt, -86400, transfer_slack=30))
            assert first is None or first > t + 2 * 3600
            continue
        found += 1
        assert journey.arrival <= t + 2 * 3600
        assert ea(src, tgt, journey.departure, 30) <= t + 2 * 3600 < ea(
            src, tgt, journey.departure + 1, 30)
        assert journey.source == int(src[0, 0]) and journey.target == int(tgt[0, 0])
    assert found > 0
