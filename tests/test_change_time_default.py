"""The default minimum change time at stops without a transfers.txt rule (issue 17: a
change took 0 s; ICE 25 arrived at Nürnberg 12:25 and the plan boarded ICE 29 at 12:25).
MOTIS and OpenTripPlanner default to 2 minutes; 0 keeps the old model."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from feeds.demo import DEMO_FEED
from planner.routing.journeys import TransitLeg
from planner.routing.query import Query
from planner.routing.router import Router
from planner.timetable.compile import CompileOptions, compile_timetable
from planner.timetable.disk_cache import load_or_compile
from planner.timetable.model import Timetable
from tests.feedmaker import LINE_STOPS, write_feed

DAY = date(2026, 6, 10)
FV_DAY = date(2026, 4, 20)


def changes(tt: Timetable, legs: list[TransitLeg]) -> list[tuple[int, int, int]]:
    """(stop, arrival, next departure) of every change at one stop."""
    return [(a.alight_stop, a.arrival, b.departure)
            for a, b in zip(legs, legs[1:], strict=False) if a.alight_stop == b.board_stop]


@pytest.fixture(scope="module")
def two_trips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """t1 S1 -> S2 arrives 08:00; t2 S2 -> S3 leaves 08:01, t3 leaves 08:05."""
    return write_feed(
        tmp_path_factory.mktemp("f") / "f", stops=LINE_STOPS,
        routes="route_id,agency_id,route_short_name,route_long_name,route_type\n"
        "R1,A,1,Line 1,3\nR2,A,2,Line 2,3\n",
        trips="route_id,service_id,trip_id\nR1,WK,t1\nR2,WK,t2\nR2,WK,t3\n",
        stop_times="trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "t1,07:50:00,07:50:00,S1,1\nt1,08:00:00,08:00:00,S2,2\n"
        "t2,08:01:00,08:01:00,S2,1\nt2,08:10:00,08:10:00,S3,2\n"
        "t3,08:05:00,08:05:00,S2,1\nt3,08:14:00,08:14:00,S3,2\n")


def arrival(tt: Timetable, engine: str) -> int | None:
    s1, s3 = tt.stop_index("f:S1"), tt.stop_index("f:S3")
    return Router(tt).arrival(Query([(s1, 0)], [(s3, 0)], tt.time_of(DAY, 7 * 3600 + 2940)),
                              engine)


@pytest.mark.parametrize("engine", ["raptor", "csa"])
def test_a_change_takes_two_minutes_by_default(two_trips: Path, engine: str) -> None:
    tt = compile_timetable([two_trips], DAY, CompileOptions(footpath_radius=0))
    assert set(np.asarray(tt.stop_change_time).tolist()) == {120}
    assert arrival(tt, engine) == tt.time_of(DAY, 8 * 3600 + 14 * 60)  # t3, not t2


@pytest.mark.parametrize("engine", ["raptor", "csa"])
def test_min_change_time_zero_keeps_the_change_in_no_time(two_trips: Path,
                                                          engine: str) -> None:
    tt = compile_timetable([two_trips], DAY, CompileOptions(footpath_radius=0,
                                                            default_change_time=0))
    assert arrival(tt, engine) == tt.time_of(DAY, 8 * 3600 + 10 * 60)  # t2


def test_a_transfers_txt_rule_at_the_stop_wins_over_the_default(tmp_path: Path,
                                                                two_trips: Path) -> None:
    ruled = tmp_path / "ruled"
    ruled.mkdir()
    for f in two_trips.iterdir():
        (ruled / f.name).write_bytes(f.read_bytes())
    (ruled / "transfers.txt").write_text(
        "from_stop_id,to_stop_id,transfer_type,min_transfer_time\nS2,S2,2,30\n")
    tt = compile_timetable([ruled], DAY, CompileOptions(footpath_radius=0))
    change = dict(zip(tt.stop_ids.tolist(), np.asarray(tt.stop_change_time).tolist(),
                      strict=True))
    assert change["ruled:S2"] == 30 and change["ruled:S1"] == 120


def test_no_plan_through_nuernberg_changes_from_ice_25_to_ice_29_in_no_time(
        tmp_path: Path) -> None:
    """The issue's case on the DB long-distance feed: ICE 25 arrives at Nürnberg Hbf at
    12:25, ICE 29 leaves there at 12:25."""
    zero = load_or_compile([DEMO_FEED], FV_DAY, CompileOptions(default_change_time=0),
                           cache_dir=tmp_path)
    default = load_or_compile([DEMO_FEED], FV_DAY, cache_dir=tmp_path)
    (nbg,) = [i for i, n in enumerate(zero.stop_names.tolist())
              if n == "Nürnberg Hbf" and zero.stop_route_offset[i + 1] > zero.stop_route_offset[i]]
    found: dict[str, tuple[int, int, int]] = {}  # line -> (trip, position, time)
    for k in range(zero.stop_route_offset[nbg], zero.stop_route_offset[nbg + 1]):
        route, pos = int(zero.stop_route_route[k]), int(zero.stop_route_pos[k])
        for trip in range(zero.route_trip_offset[route], zero.route_trip_offset[route + 1]):
            line = str(zero.line_short_name[zero.gtfs_trip_line[zero.trip_gtfs[trip]]])
            row = int(zero.trip_st_offset[trip]) + pos
            if line == "ICE 25" and zero.st_arr[row] == zero.time_of(FV_DAY, 12 * 3600 + 1500):
                found["25"] = (trip, pos, int(zero.st_arr[row]))
            if line == "ICE 29" and zero.st_dep[row] == zero.time_of(FV_DAY, 12 * 3600 + 1500):
                found["29"] = (trip, pos, int(zero.st_dep[row]))
    assert set(found) == {"25", "29"}
    t25, p25, _ = found["25"]
    t29, p29, _ = found["29"]
    r25 = int(zero.trip_route[t25])
    r29 = int(zero.trip_route[t29])
    before = int(zero.route_stops[zero.route_stop_offset[r25] + p25 - 1])
    after = int(zero.route_stops[zero.route_stop_offset[r29] + p29 + 1])
    leave = int(zero.st_dep[zero.trip_st_offset[t25] + p25 - 1])
    on29 = int(zero.st_arr[zero.trip_st_offset[t29] + p29 + 1])
    at1225 = zero.time_of(FV_DAY, 12 * 3600 + 1500)
    q = Query([(before, 0)], [(after, 0)], leave, max_transfers=3)
    old = Router(zero).route(q, "raptor").journeys[0]
    assert old.arrival == on29
    assert (nbg, at1225, at1225) in changes(zero, old.transit_legs)  # the 0-s change
    for engine in ("raptor", "csa"):
        new = Router(default).route(q, engine).journeys[0]
        assert new.arrival > on29
        assert all(dep - arr >= 120 for _, arr, dep in changes(default, new.transit_legs))
