"""Timetable arrays of the routing engines: bound once per Router, no copies, no caches."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import date

import numpy as np
import pytest

from planner.routing.query import Query
from planner.routing.router import Router
from planner.timetable.compile import CompileOptions, compile_timetable
from planner.timetable.model import Timetable
from tests.shared_data import shared

kernel = pytest.importorskip("planner.routing.kernel", reason="Cython extensions not built")
csa = pytest.importorskip("planner.routing.csa", reason="Cython extensions not built")

FEED = ("de-vvs-herrenberg/vvs-bus-751-only.gtfs.zip", date(2020, 6, 9))


@pytest.fixture(scope="module")
def mapped(tmp_path_factory) -> Timetable:
    """The feed saved and memory-mapped back read-only, as the disk cache serves it."""
    rel, day = FEED
    directory = tmp_path_factory.mktemp("tt")
    compile_timetable([shared(rel)], day).save(directory)
    return Timetable.load(directory, mmap=True)


def routing_fields(tt: Timetable) -> list[str]:
    return [f.name for f in fields(tt) if f.name in kernel._FIELDS]


def reachable_pair(router: Router, start: int) -> tuple[list, list]:
    """A served source stop and the stop it reaches last by transit (not walking)."""
    tt = router.tt
    served = np.flatnonzero(np.diff(tt.stop_route_offset) > 0)
    src = [(int(served[0]), 0)]
    arrivals = router.one_to_all(Query(src, [], start, max_transfers=8), "csa").astype(np.int64)
    arrivals[arrivals == np.iinfo(np.int32).max] = -1
    walkable = tt.fp_to[tt.fp_offset[served[0]]:tt.fp_offset[served[0] + 1]]
    arrivals[[served[0], *walkable]] = -1
    assert arrivals.max() > start
    return src, [(int(arrivals.argmax()), 0)]


def test_memory_mapped_arrays_are_bound_without_copies(mapped):
    bound = kernel.TimetableArrays(mapped)
    assert len(routing_fields(mapped)) == len(kernel._FIELDS)
    for name in kernel._FIELDS:
        source = getattr(mapped, name)
        assert isinstance(source, np.memmap) and not source.flags.writeable
        view = np.asarray(getattr(bound, "change" if name == "stop_change_time" else name))
        assert np.shares_memory(view, source) or len(source) == 0, name
        assert np.array_equal(view, source), name


def test_departures_by_position_transpose_each_route(mapped):
    by_pos = np.asarray(kernel.TimetableArrays(mapped).dep_by_pos)
    rto, rso, tso = mapped.route_trip_offset, mapped.route_stop_offset, mapped.trip_st_offset
    for r in range(mapped.n_routes):
        t0, t1 = int(rto[r]), int(rto[r + 1])
        n = int(rso[r + 1] - rso[r])
        block = np.asarray(mapped.st_dep[tso[t0]:tso[t1]]).reshape(t1 - t0, n)
        assert np.array_equal(by_pos[tso[t0]:tso[t1]].reshape(n, t1 - t0), block.T)
        assert (np.diff(block, axis=0) >= 0).all()  # no overtaking: each column sorted


def test_engines_of_a_router_share_its_arrays_and_cache_nothing_in_the_timetable(mapped):
    router = Router(mapped)
    engines = [router.csa, router.raptor, router.mcraptor, router.range_raptor,
               router.arrive_by]
    assert all(engine.a is router.arrays for engine in engines)
    start = mapped.time_of(FEED[1], 6 * 3600)
    src, tgt = reachable_pair(router, start)
    for engine in ("csa", "raptor", "mcraptor", "rraptor"):
        assert router.route(Query(src, tgt, start, window=600), engine).journeys
    router.route(Query(src, tgt, start + 7200, arrive_by=True), "reverse")
    assert not [key for key in mapped.extra if key in ("_arrays", "_conn_by_arrival")]
    assert Router(mapped).arrays is not router.arrays  # one per Router, not per timetable


def test_replaced_timetable_routes_on_its_own_arrays(mapped):
    original = Router(mapped)
    no_boarding = replace(mapped, route_pickup=np.zeros_like(mapped.route_pickup),
                          conn_pickup=np.zeros_like(mapped.conn_pickup))
    variant = Router(no_boarding)
    assert variant.csa.a is not original.csa.a
    assert not np.asarray(variant.csa.a.conn_pickup).any()
    start = mapped.time_of(FEED[1], 6 * 3600)
    src, tgt = reachable_pair(original, start)
    for algorithm in ("csa", "raptor"):
        reached = original.arrival(Query(src, tgt, start, max_transfers=8), algorithm)
        assert reached is not None
        assert variant.arrival(Query(src, tgt, start, max_transfers=8), algorithm) is None
        assert Router(mapped).arrival(Query(src, tgt, start, max_transfers=8), algorithm) == reached


def test_timetable_without_footpaths_routes_without_sentinels():
    rel, day = FEED
    tt = compile_timetable([shared(rel)], day, CompileOptions(footpath_radius=0.0))
    assert tt.n_footpaths == 0 and len(tt.fp_in_from) == 0
    router = Router(tt)
    start = tt.time_of(day, 6 * 3600)
    src, tgt = reachable_pair(router, start)
    got = {a: router.arrival(Query(src, tgt, start, max_transfers=8), a) for a in ("csa", "raptor")}
    assert got["csa"] is not None and got["csa"] == got["raptor"]
    journey = router.earliest(Query(src, tgt, start, max_transfers=8), "csa")
    assert journey is not None and journey.arrival == got["csa"]
    assert min(j.arrival for j in router.pareto(Query(src, tgt, start,
                                                      max_transfers=5))) == got["csa"]
    found = router.profile(Query(src, tgt, start, window=1800, max_transfers=10)).journeys
    assert found and min(j.arrival for j in found) == got["csa"]
    latest = router.latest_departure(Query(src, tgt, got["csa"], arrive_by=True))
    assert latest is not None and latest.arrival <= got["csa"]
