"""``RangeRaptor.minute_arrivals``, the search under every travel-time study: each minute's
row must be what one RAPTOR from that minute finds (``Router.one_to_all``), with transfer
slack, a mode mask and scoped transfer rules, on real feeds. Fast and specific, so the
engine's mutants (``tests/mutate.py``) meet these first."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from planner.routing.query import Query
from planner.routing.router import Router
from planner.timetable.compile import compile_timetable
from planner.timetable.model import INFINITY, Timetable
from tests.shared_data import shared

HART_DAY = date(2021, 1, 12)


@pytest.fixture(scope="module")
def hart() -> tuple[Timetable, Router]:
    tt = compile_timetable([shared("us-hart-tampa/hart.zip")], HART_DAY)
    return tt, Router(tt)


def test_minute_arrivals_equal_one_raptor_per_minute_with_slack_and_mode_mask(
        hart: tuple[Timetable, Router]) -> None:
    tt, router = hart
    start = tt.time_of(HART_DAY, 7 * 3600)
    bus_only = (np.asarray(tt.line_type)[np.asarray(tt.route_line)] == 3).astype(np.uint8)
    assert 0 < bus_only.sum() < tt.n_routes
    rng = np.random.default_rng(5)
    engine = router.range_raptor
    ws = engine.workspace()
    for stop, mask, slack in ((int(rng.integers(tt.n_stops)), None, 0),
                              (int(rng.integers(tt.n_stops)), bus_only, 90)):
        q = Query(np.array([[stop, 120]], np.int32), np.zeros((0, 2), np.int32), start,
                  max_transfers=2, transfer_slack=slack, route_mask=mask)
        out = np.empty((15, tt.n_stops), np.int32)
        engine.minute_arrivals(ws, q, 60, out)
        for m in range(15):
            assert (out[m] == router.one_to_all(q.at(start + 60 * m))).all(), (stop, m)
        assert (out[0] < INFINITY).sum() > 100


def test_minute_arrivals_follow_scoped_transfer_rules_as_raptor_does() -> None:
    """VBB's transfers.txt scopes most rows to routes and trips; the range search keeps
    labels per rule key, and its arrivals must count those (one RAPTOR per minute)."""
    day = date(2019, 6, 4)
    tt = compile_timetable([shared("de-vbb-berlin-subset/gtfs")], day)
    assert tt.n_stops and len(getattr(tt, "rule_alight_stop", [])) > 0
    router = Router(tt)
    engine = router.range_raptor
    ws = engine.workspace()
    start = tt.time_of(day, 8 * 3600)
    rng = np.random.default_rng(11)
    for stop in rng.integers(tt.n_stops, size=4):
        q = Query(np.array([[int(stop), 0]], np.int32), np.zeros((0, 2), np.int32), start,
                  max_transfers=3)
        out = np.empty((10, tt.n_stops), np.int32)
        engine.minute_arrivals(ws, q, 60, out)
        for m in range(10):
            assert (out[m] == router.one_to_all(q.at(start + 60 * m))).all(), (stop, m)
