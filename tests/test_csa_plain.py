"""CSA's plain scan: the one taken where every change time is 0, every stop is gated and
the query has no transfer slack (the reference's protocol). It must answer as RAPTOR and
as the timetable without boarding on masked routes, footpaths walked shortest first."""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import pytest

from planner.routing.router import Router
from planner.timetable.compile import compile_timetable
from planner.timetable.model import Timetable
from planner.timetable.options import CompileOptions
from tests.shared_data import shared
from tests.test_kernel import line_mask, queries, without_boarding

#: No change times and an unbounded footpath closure: every stop gated.
PLAIN = CompileOptions(footpath_max_walk=0, default_change_time=0)


@pytest.fixture(scope="module")
def plain_tt() -> Timetable:
    return compile_timetable([shared("de-vpe-pforzheim/gtfs-hka-s24.zip")], date(2025, 3, 4),
                             PLAIN)


def test_plain_csa_arrivals_equal_raptor_on_many_queries(plain_tt: Timetable) -> None:
    """Multi-source and multi-target queries on a dense closed footpath graph: a walk
    loop that stopped before a shorter footpath would arrive later than RAPTOR."""
    assert np.all(np.asarray(plain_tt.stop_change_time) == 0)
    router = Router(plain_tt)
    found = 0
    for q in queries(plain_tt, 200, seed=13, max_transfers=6):
        csa, raptor = router.arrival(q, "csa"), router.arrival(q, "raptor")
        assert csa == raptor, (q.sources.tolist(), q.targets.tolist(), q.time)
        found += csa is not None
    assert found > 100


def test_plain_csa_never_boards_masked_routes(plain_tt: Timetable) -> None:
    mask = line_mask(plain_tt, seed=5)
    assert 0 < mask.sum() < plain_tt.n_routes
    masked, reference = Router(plain_tt), Router(without_boarding(plain_tt, mask))
    differs = 0
    for q in queries(plain_tt, 60, seed=29, max_transfers=6):
        mq = dataclasses.replace(q, route_mask=mask)
        got = masked.arrival(mq, "csa")
        assert got == reference.arrival(q, "csa"), (q.sources.tolist(), q.time)
        assert got == masked.arrival(mq, "raptor")
        differs += got != masked.arrival(q, "csa")
    assert differs > 0  # the mask changed some answers


def test_plain_csa_walks_to_a_target_where_nothing_departs(plain_tt: Timetable) -> None:
    """A target where no connection departs is reached only by a walk: the scan must not
    take the walks to boardable stops only for such a query."""
    tt = plain_tt
    dep_stops = np.asarray(tt.conn_dep_stop)[np.asarray(tt.conn_pickup).astype(bool)]
    live = np.zeros(tt.n_stops, dtype=bool)
    live[dep_stops] = True
    fpo, fpt = np.asarray(tt.fp_offset), np.asarray(tt.fp_to)
    dead = [s for s in range(tt.n_stops) if not live[s] and fpo[s + 1] > fpo[s]
            and live[fpt[fpo[s]:fpo[s + 1]]].any()]
    assert len(dead) >= 10
    router = Router(tt)
    rng = np.random.default_rng(17)
    found = 0
    for q in queries(tt, 120, seed=41, max_transfers=6)[:120]:
        t = int(rng.choice(dead))
        dq = dataclasses.replace(q, targets=np.array([[t, 0]], dtype=np.int32))
        csa = router.arrival(dq, "csa")
        assert csa == router.arrival(dq, "raptor"), (q.sources.tolist(), t, q.time)
        found += csa is not None
    assert found > 50
