"""CSA, RAPTOR and the reference Dijkstra agree to the second on real feeds.

Random queries (seeded) over four feeds, departures from 05:00 to 26:00 of the query
day so late evenings with no service (unreachable, or next morning) are covered.
Variants: several sources/targets with walking offsets, a transfer slack, and
random change times including "no transfer" stops. Every journey is checked leg by
leg with ``tests.test_routing_core.check_journey``.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from planner.routing.query import MAX_TRANSFERS, Query
from planner.routing.reference import ReferenceRouter
from planner.routing.router import Router
from planner.timetable.compile import compile_timetable
from planner.timetable.model import NO_TRANSFER, Timetable
from tests.test_routing_core import check_journey

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"

#: (name, feed path, day, plain random queries)
FEEDS = [
    ("vvs751", "de-vvs-herrenberg/vvs-bus-751-only.gtfs.zip", date(2020, 6, 9), 250),
    ("caltrain", "us-caltrain-rt/ct.zip", date(2023, 11, 7), 250),
    ("pforzheim", "de-vpe-pforzheim/gtfs-hka-s24.zip", date(2025, 3, 4), 250),
    ("dbfv", "de-db-fv-2026/gtfs.zip", date(2026, 4, 20), 250),
]
BIG = 40  # "no bound" for RAPTOR's transfers, far above any optimum here


@pytest.fixture(scope="module", params=FEEDS, ids=[f[0] for f in FEEDS])
def feed(request: pytest.FixtureRequest) -> tuple[Timetable, int]:
    _, rel, day, n = request.param
    path = DATA / rel
    if not path.exists():
        pytest.skip(f"real feed missing: {path}")
    return compile_timetable([path], day), n


def queries(tt: Timetable, n: int, seed: int, max_ends: int = 1):
    """Random (sources, targets, departure) among stops served by some route."""
    rng = np.random.default_rng(seed)
    served = np.nonzero(np.diff(tt.stop_route_offset) > 0)[0]
    day = tt.dates[1]
    out = []
    for _ in range(n):
        ns, nt = rng.integers(1, max_ends + 1, size=2)
        offs = (lambda k: [0] * k) if max_ends == 1 else (
            lambda k: rng.integers(0, 900, size=k).tolist())
        sources = list(zip(rng.choice(served, ns).tolist(), offs(ns), strict=True))
        targets = list(zip(rng.choice(served, nt).tolist(), offs(nt), strict=True))
        dep = tt.time_of(day, int(rng.integers(5 * 3600, 26 * 3600)))
        out.append((sources, targets, dep))
    return out


def compare(tt: Timetable, qs, slack: int = 0) -> dict[str, int]:
    router = Router(tt)
    ref = ReferenceRouter(tt, transfer_slack=slack)
    stats = {"reachable": 0, "unreachable": 0}
    for sources, targets, dep in qs:
        expected = ref.earliest_arrival(sources, targets, dep)
        for algo in ("csa", "raptor"):
            j = router.earliest(Query(sources, targets, dep, max_transfers=MAX_TRANSFERS,
                                      transfer_slack=slack), algo)
            got = None if j is None else j.arrival
            assert got == expected, (algo, sources, targets, dep)
            if j is not None:
                check_journey(tt, j, sources, targets, slack)
            assert router.arrival(Query(sources, targets, dep, max_transfers=MAX_TRANSFERS,
                                        transfer_slack=slack), algo) == expected
        stats["reachable" if expected is not None else "unreachable"] += 1
    return stats


def test_single_pair_queries_agree_with_reference(feed: tuple[Timetable, int]) -> None:
    tt, n = feed
    stats = compare(tt, queries(tt, n, seed=11))
    assert stats["reachable"] > n // 4


def test_multi_source_and_target_offsets_agree_with_reference(
        feed: tuple[Timetable, int]) -> None:
    tt, _ = feed
    stats = compare(tt, queries(tt, 40, seed=12, max_ends=4))
    assert stats["reachable"] > 0


def test_transfer_slack_agrees_with_reference(feed: tuple[Timetable, int]) -> None:
    tt, _ = feed
    compare(tt, queries(tt, 40, seed=13), slack=150)


def test_change_times_and_no_transfer_stops_agree_with_reference(
        feed: tuple[Timetable, int]) -> None:
    tt, _ = feed
    rng = np.random.default_rng(14)
    change = rng.choice([0, 60, 120, 300, NO_TRANSFER], size=tt.n_stops,
                        p=[0.3, 0.2, 0.2, 0.15, 0.15]).astype(np.int32)
    changed = dataclasses.replace(tt, stop_change_time=change, extra={})
    compare(changed, queries(changed, 40, seed=15))


def test_slack_never_makes_arrival_earlier(feed: tuple[Timetable, int]) -> None:
    tt, _ = feed
    router = Router(tt)
    for sources, targets, dep in queries(tt, 60, seed=16):
        for algo in ("csa", "raptor"):
            plain = router.arrival(Query(sources, targets, dep, max_transfers=8), algo)
            slow = router.arrival(Query(sources, targets, dep, transfer_slack=600,
                                        max_transfers=8), algo)
            if plain is None:
                assert slow is None
            elif slow is not None:
                assert slow >= plain


@pytest.mark.parametrize("name", ["vvs751", "caltrain"])
def test_raptor_round_bests_match_reference_with_k_trips(name: str) -> None:
    _, rel, day, _ = next(f for f in FEEDS if f[0] == name)
    path = DATA / rel
    if not path.exists():
        pytest.skip(f"real feed missing: {path}")
    tt = compile_timetable([path], day)
    k_max = 3
    ref = ReferenceRouter(tt, max_trips=k_max)
    router = Router(tt)
    for sources, targets, dep in queries(tt, 60, seed=17):
        by_transfers = router.arrivals_by_transfers(Query(sources, targets, dep,
                                                          max_transfers=k_max - 1))
        finite = [x for x in by_transfers if x is not None]
        assert finite == sorted(finite, reverse=True)  # non-increasing
        assert by_transfers[: len(by_transfers) - len(finite)] == \
            [None] * (len(by_transfers) - len(finite))
        for trips in range(1, k_max + 1):
            assert by_transfers[trips - 1] == ref.earliest_arrival(sources, targets, dep,
                                                                   max_trips=trips)
        j = router.earliest(Query(sources, targets, dep, max_transfers=k_max - 1))
        if j is not None:
            assert j.arrival == by_transfers[-1]
            # the journey uses the fewest trips that reach the best arrival
            assert by_transfers.index(j.arrival) == j.transfers or not j.transit_legs
