"""RAPTOR's walks to stops where no trip can be boarded (entrances, WMATA's ~25 of 26
footpaths a stop): dropped with targets unless a target is such a stop."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from planner.routing.query import MAX_TRANSFERS, Query
from planner.routing.router import Router
from planner.timetable.compile import CompileOptions, compile_timetable
from planner.timetable.model import INFINITY, Timetable
from tests.feedmaker import write_feed
from tests.test_routing_core import DAY, ROUTES, STOPS, TRIPS, all_agree, at, ix, stop_times


def with_entrance(tmp_path: Path) -> Timetable:
    """The tiny feed of test_routing_core plus X, which no trip serves, 120 s from C and
    from D (D only alights: boarding nowhere either)."""
    feed = write_feed(tmp_path / "f", stops=STOPS + "X,X,52.05,8.50\n", routes=ROUTES,
                      trips=TRIPS, stop_times=stop_times(),
                      transfers="from_stop_id,to_stop_id,transfer_type,min_transfer_time\n"
                                "C,X,2,120\nD,X,2,60\n")
    return compile_timetable([feed], DAY, CompileOptions(footpath_radius=0,
                                                         default_change_time=0))


def test_a_target_no_trip_boards_at_is_still_walked_to(tmp_path: Path) -> None:
    tt = with_entrance(tmp_path)
    a, x, d = ix(tt, "A"), ix(tt, "X"), ix(tt, "D")
    # t1 reaches C at 08:20, X 120 s on foot; t1, t2 via B reach D at 08:30 (+60 s)
    assert all_agree(tt, [(a, 0)], [(x, 0)], at(tt, "07:50")) == at(tt, "08:22")
    assert all_agree(tt, [(a, 0)], [(x, 600), (d, 0)], at(tt, "07:50")) == at(tt, "08:30")
    assert all_agree(tt, [(a, 0)], [(d, 600), (x, 0)], at(tt, "07:50")) == at(tt, "08:22")


def rows(*pairs: tuple[int, int]) -> np.ndarray:
    return np.array(pairs, dtype=np.int32).reshape(-1, 2)


def test_walks_to_unboardable_stops_do_not_change_other_targets(tmp_path: Path) -> None:
    tt = with_entrance(tmp_path)
    router = Router(tt)
    core = router.raptor
    ws = core.workspace()
    a = ix(tt, "A")
    for t in range(tt.n_stops):
        if t == a:
            continue
        q = Query(rows((a, 0)), rows((t, 0)), at(tt, "07:50"), max_transfers=MAX_TRANSFERS)
        best = core.arrival(ws, q)
        one_to_all = router.one_to_all(q)
        assert best == one_to_all[t], tt.stop_ids[t]
    # one-to-all still walks to X (no targets: every stop's arrival is read)
    q = Query(rows((a, 0)), rows((ix(tt, "D"), 0)), at(tt, "07:50"), max_transfers=MAX_TRANSFERS)
    assert router.one_to_all(q)[ix(tt, "X")] == at(tt, "08:22") != INFINITY
