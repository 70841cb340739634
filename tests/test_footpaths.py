"""The footpath closure's walking-time bound (issue 17: chained 200 m links made walks of
almost two hours; the longest in Porto Alegre was 6,885 s)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from benchmarks.routing import PROTOCOL
from planner.timetable.compile import CompileOptions, compile_timetable
from planner.timetable.footpaths import build_footpaths, walking_links
from tests.shared_data import shared

#: Twelve stops 150 m apart on a meridian: every neighbour within the 200 m radius.
LAT = 52.0 + np.arange(12) * 150 / 111_195
LON = np.full(12, 8.5)


def as_dict(fp) -> dict[tuple[int, int], int]:
    return {(s, int(fp.to[k])): int(fp.dur[k]) for s in range(len(fp.offset) - 1)
            for k in range(fp.offset[s], fp.offset[s + 1])}


def shortest_walks(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    a, b, secs = walking_links(lat, lon, 200.0, 4.5)
    graph = coo_matrix((secs.astype(float), (a, b)), shape=(len(lat), len(lat))).tocsr()
    return dijkstra(graph, directed=True)


@pytest.mark.parametrize("bound", [300, 600, 900])
def test_closure_keeps_every_walk_within_the_bound_as_one_hop_and_none_longer(
        bound: int) -> None:
    fp = as_dict(build_footpaths(LAT, LON, [], radius_m=200.0, max_walk_s=bound))
    dist = shortest_walks(LAT, LON)
    within = {(i, j): int(np.floor(dist[i, j] + 1e-6)) for i in range(12) for j in range(12)
              if i != j and dist[i, j] <= bound}
    assert fp == within  # one hop for every walk within the bound, no longer walk
    assert max(fp.values()) <= bound < dist.max()


def test_bound_zero_is_the_unbounded_closure() -> None:
    fp = as_dict(build_footpaths(LAT, LON, [], radius_m=200.0, max_walk_s=0))
    assert len(fp) == 12 * 11
    assert max(fp.values()) == int(np.floor(shortest_walks(LAT, LON).max() + 1e-6))


def test_a_transfers_txt_link_longer_than_the_bound_stays() -> None:
    """The feed states that walk; the bound is about chaining generated links."""
    fp = as_dict(build_footpaths(LAT, LON, [(0, 11, 2, 900)], radius_m=200.0,
                                 max_walk_s=600))
    assert fp[(0, 11)] == 900 and (11, 0) not in fp
    assert max(d for (a, b), d in fp.items() if (a, b) != (0, 11)) <= 600


def test_default_compile_bounds_walks_and_the_benchmark_footpaths_stay_reproducible(
        ) -> None:
    """HART: the benchmark protocol's footpaths (200 m, closed, 13,184 directed, longest
    2,079 s) with the protocol's explicit options; the default bounds walks to 10 minutes."""
    hart = shared("us-hart-tampa/hart.zip")
    day = date(2021, 1, 12)
    assert PROTOCOL.footpath_max_walk == 0 and PROTOCOL.footpath_radius == 200.0
    protocol = compile_timetable([hart], day, PROTOCOL)
    assert protocol.n_footpaths == 13_184 and int(protocol.fp_dur.max()) == 2_079
    bounded = compile_timetable([hart], day)
    assert CompileOptions().footpath_max_walk == 600
    assert 0 < bounded.n_footpaths < 13_184 and int(bounded.fp_dur.max()) <= 600
    # the bounded set is the protocol's set minus the walks over the bound
    full = {(int(s), int(t)): int(d) for s, t, d in zip(
        np.repeat(np.arange(protocol.n_stops), np.diff(protocol.fp_offset)), protocol.fp_to,
        protocol.fp_dur, strict=True)}
    kept = {(int(s), int(t)): int(d) for s, t, d in zip(
        np.repeat(np.arange(bounded.n_stops), np.diff(bounded.fp_offset)), bounded.fp_to,
        bounded.fp_dur, strict=True)}
    assert kept == {k: d for k, d in full.items() if d <= 600}
