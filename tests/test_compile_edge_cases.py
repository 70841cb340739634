"""Hand-made feeds for the compiler's edge cases."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from feeds.demo import DEMO_FEED
from feeds.gtfs import GtfsError, load_feeds
from planner.timetable.compile import CompileOptions, OutOfRangeError, compile_timetable
from planner.timetable.model import NO_TRANSFER, StopLookup, Timetable
from tests.feedmaker import LINE_STOPS, write_feed

DAY = date(2026, 6, 10)  # a Wednesday
#: One trip S1 -> S2 at 08:00, the default for tests that need "some service".
ONE_TRIP = {
    "trips": "route_id,service_id,trip_id\nR1,WK,t\n",
    "stop_times": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
    "t,08:00:00,08:00:00,S1,1\nt,08:10:00,08:10:00,S2,2\n",
}


def trips_of(tt: Timetable, gtfs_trip: str) -> list[int]:
    ids = list(tt.gtfs_trip_ids)
    code = ids.index(gtfs_trip)
    return [int(t) for t in np.nonzero(tt.trip_gtfs == code)[0]]


def times(tt: Timetable, trip: int) -> tuple[list[int], list[int]]:
    a, b = tt.trip_st_offset[trip], tt.trip_st_offset[trip + 1]
    return tt.st_arr[a:b].tolist(), tt.st_dep[a:b].tolist()


def test_overtaking_trips_are_split_into_separate_routes(tmp_path: Path) -> None:
    feed = write_feed(
        tmp_path / "f",
        stops=LINE_STOPS,
        trips="route_id,service_id,trip_id\nR1,WK,slow\nR1,WK,fast\n",
        stop_times="trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "slow,08:00:00,08:00:00,S1,1\nslow,08:30:00,08:30:00,S2,2\nslow,09:00:00,09:00:00,S3,3\n"
        "fast,08:10:00,08:10:00,S1,1\nfast,08:20:00,08:20:00,S2,2\nfast,08:40:00,08:40:00,S3,3\n",
    )
    tt = compile_timetable([feed], DAY)
    slow = {int(tt.trip_route[t]) for t in trips_of(tt, "f:slow")}
    fast = {int(tt.trip_route[t]) for t in trips_of(tt, "f:fast")}
    assert slow.isdisjoint(fast)


def test_trips_of_one_route_never_overtake(tmp_path: Path) -> None:
    rows = ["trip_id,arrival_time,departure_time,stop_id,stop_sequence"]
    for i, (start, run) in enumerate([(0, 30), (5, 10), (10, 40), (12, 12), (20, 30)]):
        for seq, stop in enumerate(["S1", "S2", "S3"]):
            t = 8 * 3600 + start * 60 + seq * run * 30
            hh = f"{t // 3600:02d}:{t % 3600 // 60:02d}:{t % 60:02d}"
            rows.append(f"t{i},{hh},{hh},{stop},{seq + 1}")
    feed = write_feed(
        tmp_path / "f", stops=LINE_STOPS,
        trips="route_id,service_id,trip_id\n" + "".join(f"R1,WK,t{i}\n" for i in range(5)),
        stop_times="\n".join(rows) + "\n",
    )
    tt = compile_timetable([feed], DAY)
    assert_no_overtaking(tt)
    assert tt.n_routes > 1


def assert_no_overtaking(tt: Timetable) -> None:
    for r in range(tt.n_routes):
        trips = range(tt.route_trip_offset[r], tt.route_trip_offset[r + 1])
        n = tt.route_stop_offset[r + 1] - tt.route_stop_offset[r]
        arr = np.array([tt.st_arr[tt.trip_st_offset[t]:tt.trip_st_offset[t] + n] for t in trips])
        dep = np.array([tt.st_dep[tt.trip_st_offset[t]:tt.trip_st_offset[t] + n] for t in trips])
        assert (np.diff(arr, axis=0) >= 0).all(), f"route {r} overtakes (arrivals)"
        assert (np.diff(dep, axis=0) >= 0).all(), f"route {r} overtakes (departures)"


def test_times_after_midnight_belong_to_the_service_day(tmp_path: Path) -> None:
    feed = write_feed(
        tmp_path / "f", stops=LINE_STOPS,
        trips="route_id,service_id,trip_id\nR1,WK,night\n",
        stop_times="trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "night,25:00:00,25:00:00,S1,1\nnight,25:30:00,25:30:00,S2,2\n",
    )
    tt = compile_timetable([feed], DAY)
    # The instance that runs on DAY (service day) arrives at 01:30 on the next calendar day.
    day_index = tt.dates.index(DAY)
    trip = next(t for t in trips_of(tt, "f:night") if tt.trip_day[t] == day_index)
    arr, _ = times(tt, trip)
    expected = datetime(2026, 6, 11, 1, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    assert tt.to_datetime(arr[1]) == expected
    assert arr[1] == tt.time_of(DAY, 25 * 3600 + 1800)


def test_removed_service_date_has_no_trips_that_day(tmp_path: Path) -> None:
    feed = write_feed(
        tmp_path / "f", stops=LINE_STOPS,
        **ONE_TRIP,
        calendar_dates="service_id,date,exception_type\nWK,20260610,2\n",
    )
    tt = compile_timetable([feed], DAY)
    days = sorted(tt.dates[tt.trip_day[t]] for t in trips_of(tt, "f:t"))
    assert days == [date(2026, 6, 9), date(2026, 6, 11)]


def test_added_service_date_runs_only_that_day(tmp_path: Path) -> None:
    feed = write_feed(
        tmp_path / "f", stops=LINE_STOPS,
        trips="route_id,service_id,trip_id\nR1,EXTRA,t\n",
        stop_times="trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "t,08:00:00,08:00:00,S1,1\nt,08:10:00,08:10:00,S2,2\n",
        calendar=None,
        calendar_dates="service_id,date,exception_type\nEXTRA,20260611,1\n",
    )
    tt = compile_timetable([feed], date(2026, 6, 11))
    assert tt.dates == [date(2026, 6, 10), date(2026, 6, 11), date(2026, 6, 12)]
    assert [tt.dates[tt.trip_day[t]] for t in trips_of(tt, "f:t")] == [date(2026, 6, 11)]


def test_frequencies_expand_into_trips_with_the_template_running_times(tmp_path: Path) -> None:
    feed = write_feed(
        tmp_path / "f", stops=LINE_STOPS,
        trips="route_id,service_id,trip_id\nR1,WK,tmpl\n",
        stop_times="trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "tmpl,00:00:00,00:00:00,S1,1\ntmpl,00:04:00,00:05:00,S2,2\ntmpl,00:09:00,00:09:00,S3,3\n",
        frequencies="trip_id,start_time,end_time,headway_secs\ntmpl,08:00:00,09:00:00,600\n",
    )
    tt = compile_timetable([feed], DAY)
    day_index = tt.dates.index(DAY)
    instances = [t for t in trips_of(tt, "f:tmpl") if tt.trip_day[t] == day_index]
    starts = sorted(tt.seconds_after_midnight(DAY, times(tt, t)[1][0]) for t in instances)
    assert starts == [8 * 3600 + i * 600 for i in range(6)]
    for t in instances:
        arr, dep = times(tt, t)
        assert [arr[1] - dep[0], dep[1] - arr[1], arr[2] - dep[1]] == [240, 60, 240]


def test_transfer_type_3_forbids_the_footpath_and_type_2_sets_its_time(tmp_path: Path) -> None:
    feed = write_feed(
        tmp_path / "f", stops=LINE_STOPS,
        trips="route_id,service_id,trip_id\nR1,WK,t\n",
        stop_times="trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "t,08:00:00,08:00:00,S1,1\nt,08:10:00,08:10:00,S2,2\nt,08:20:00,08:20:00,S3,3\n",
        transfers="from_stop_id,to_stop_id,transfer_type,min_transfer_time\n"
        "S1,S2,3,\nS2,S3,2,300\nS3,S3,3,\nS2,S2,2,120\n",
    )
    tt = compile_timetable([feed], DAY)
    idx = {s: tt.stop_index(f"f:{s}") for s in ("S1", "S2", "S3")}

    def footpath(a: str, b: str) -> int | None:
        lo, hi = tt.fp_offset[idx[a]], tt.fp_offset[idx[a] + 1]
        for k in range(lo, hi):
            if tt.fp_to[k] == idx[b]:
                return int(tt.fp_dur[k])
        return None

    assert footpath("S1", "S2") is None
    assert footpath("S2", "S1") == 83  # 102.8 m at 4.5 km/h, rounded up
    assert footpath("S2", "S3") == 300
    assert tt.stop_change_time[idx["S3"]] == NO_TRANSFER
    assert tt.stop_change_time[idx["S2"]] == 120


def test_footpaths_are_transitively_closed(tmp_path: Path) -> None:
    feed = write_feed(
        tmp_path / "f", stops=LINE_STOPS,
        trips="route_id,service_id,trip_id\nR1,WK,t\n",
        stop_times="trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "t,08:00:00,08:00:00,S1,1\nt,08:10:00,08:10:00,S3,2\n",
    )
    tt = compile_timetable([feed], DAY)
    s1, s3 = tt.stop_index("f:S1"), tt.stop_index("f:S3")
    # S1 and S3 are 206 m apart (beyond the 200 m radius) but linked through S2.
    to = tt.fp_to[tt.fp_offset[s1]:tt.fp_offset[s1 + 1]].tolist()
    dur = tt.fp_dur[tt.fp_offset[s1]:tt.fp_offset[s1 + 1]].tolist()
    assert dur[to.index(s3)] == 83 + 83


def test_dst_switch_day_keeps_local_clock_times(tmp_path: Path) -> None:
    feed = write_feed(
        tmp_path / "f", stops=LINE_STOPS,
        trips="route_id,service_id,trip_id\nR1,WK,t\n",
        stop_times="trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "t,10:00:00,10:00:00,S1,1\nt,10:10:00,10:10:00,S2,2\n",
    )
    switch = date(2026, 3, 29)  # Europe/Berlin: 02:00 CET -> 03:00 CEST
    tt = compile_timetable([feed], switch)
    by_day = {tt.dates[tt.trip_day[t]]: times(tt, t)[1][0] for t in trips_of(tt, "f:t")}
    tz = ZoneInfo("Europe/Berlin")
    assert tt.to_datetime(by_day[switch]) == datetime(2026, 3, 29, 10, 0, tzinfo=tz)
    assert tt.to_datetime(by_day[date(2026, 3, 28)]) == datetime(2026, 3, 28, 10, 0, tzinfo=tz)
    assert by_day[switch] - by_day[date(2026, 3, 28)] == 23 * 3600


def test_latin1_feed_keeps_non_ascii_names(tmp_path: Path) -> None:
    feed = write_feed(
        tmp_path / "f", stops=LINE_STOPS.replace("Alpha", "Olsøya"),
        **ONE_TRIP,
        encoding="latin-1",
    )
    tt = compile_timetable([feed], DAY)
    assert tt.stop_names[tt.stop_index("f:S1")] == "Olsøya"


def test_utf8_bom_is_stripped(tmp_path: Path) -> None:
    feed = write_feed(
        tmp_path / "f", stops=LINE_STOPS.replace("Alpha", "Gütersloh"),
        **ONE_TRIP,
        encoding="utf-8-sig",
    )
    tt = compile_timetable([feed], DAY)
    assert tt.stop_names[tt.stop_index("f:S1")] == "Gütersloh"


def test_broken_references_reject_the_feed_with_counts_and_examples(tmp_path: Path) -> None:
    feed = write_feed(
        tmp_path / "f", stops=LINE_STOPS,
        trips="route_id,service_id,trip_id\nR1,WK,t\nNOPE,WK,u\n",
        stop_times="trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "t,08:00:00,08:00:00,S1,1\nt,08:10:00,08:10:00,GHOST,2\n"
        "u,08:00:00,08:00:00,S1,1\nu,08:10:00,08:10:00,GHOST2,2\n",
    )
    with pytest.raises(GtfsError) as err:
        load_feeds([feed])
    message = str(err.value)
    assert "2 rows reference a stop_id missing from stops.txt" in message
    assert "'GHOST'" in message
    assert "1 rows reference a route_id missing from routes.txt" in message


def test_stop_times_of_a_trip_missing_from_trips_txt_reject_the_feed(tmp_path: Path) -> None:
    """Rows of an unknown trip would silently vanish from the timetable (no route, no
    service): the feed is rejected, naming the count and an example, and nothing else."""
    feed = write_feed(
        tmp_path / "f", stops=LINE_STOPS,
        trips="route_id,service_id,trip_id\nR1,WK,t\n",
        stop_times="trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "t,08:00:00,08:00:00,S1,1\nt,08:10:00,08:10:00,S2,2\n"
        "GHOST_TRIP,09:00:00,09:00:00,S1,1\nGHOST_TRIP,09:10:00,09:10:00,S2,2\n"
        "GHOST_TRIP,09:20:00,09:20:00,S3,3\n",
    )
    with pytest.raises(GtfsError) as err:
        load_feeds([feed])
    assert err.value.problems == [
        "stop_times.txt: 3 rows reference a trip_id missing from trips.txt "
        "(e.g. 'GHOST_TRIP')"]
    with pytest.raises(GtfsError, match="trip_id missing from trips.txt"):
        compile_timetable([feed], DAY)


def test_demo_feed_without_one_of_its_trips_is_rejected(tmp_path: Path) -> None:
    """The same check on real data: drop one trip from the demo feed's trips.txt and its
    stop_times rows (all of them, counted) are named."""
    with zipfile.ZipFile(DEMO_FEED) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    trips = files["trips.txt"].decode().splitlines(keepends=True)
    header, victim = trips[0], trips[1]
    trip_id = victim.rstrip("\r\n").split(",")[header.strip().split(",").index("trip_id")]
    files["trips.txt"] = "".join([header, *trips[2:]]).encode()
    rows = [line for line in files["stop_times.txt"].decode().splitlines()[1:]
            if line.split(",", 1)[0] == trip_id]
    assert len(rows) >= 2, f"trip {trip_id} has no stop_times: pick another"
    broken = tmp_path / "demo-broken.zip"
    with zipfile.ZipFile(broken, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    with pytest.raises(GtfsError) as err:
        load_feeds([broken])
    assert err.value.problems == [
        f"stop_times.txt: {len(rows)} rows reference a trip_id missing from trips.txt "
        f"(e.g. {trip_id!r})"]


def test_one_broken_feed_rejects_the_whole_merge(tmp_path: Path) -> None:
    good = write_feed(
        tmp_path / "good", stops=LINE_STOPS,
        **ONE_TRIP,
    )
    bad = write_feed(
        tmp_path / "bad", stops=LINE_STOPS,
        trips="route_id,service_id,trip_id\nR1,NOSERVICE,t\n",
        stop_times="trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "t,08:00:00,08:00:00,S1,1\nt,08:10:00,08:10:00,S2,2\n",
    )
    with pytest.raises(GtfsError, match="service_id in neither"):
        compile_timetable([good, bad], DAY)


def test_pickup_and_drop_off_types_are_kept_per_route_position(tmp_path: Path) -> None:
    feed = write_feed(
        tmp_path / "f", stops=LINE_STOPS,
        trips="route_id,service_id,trip_id\nR1,WK,t\n",
        stop_times="trip_id,arrival_time,departure_time,stop_id,stop_sequence,pickup_type,"
        "drop_off_type\nt,08:00:00,08:00:00,S1,1,0,1\nt,08:10:00,08:10:00,S2,2,1,0\n"
        "t,08:20:00,08:20:00,S3,3,0,0\n",
    )
    tt = compile_timetable([feed], DAY)
    assert tt.route_pickup[:3].tolist() == [1, 0, 1]
    assert tt.route_dropoff[:3].tolist() == [0, 1, 1]
    c = int(np.nonzero(tt.conn_dep_stop == tt.stop_index("f:S2"))[0][0])
    assert tt.conn_pickup[c] == 0


def test_missing_times_are_interpolated_between_timepoints(tmp_path: Path) -> None:
    feed = write_feed(
        tmp_path / "f", stops=LINE_STOPS,
        trips="route_id,service_id,trip_id\nR1,WK,t\n",
        stop_times="trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "t,08:00:00,08:00:00,S1,1\nt,,,S2,2\nt,08:20:00,08:20:00,S3,3\n",
    )
    tt = compile_timetable([feed], DAY)
    arr, _ = times(tt, trips_of(tt, "f:t")[0])
    assert arr[1] - arr[0] == 600


def test_day_outside_validity_names_the_valid_range(tmp_path: Path) -> None:
    feed = write_feed(
        tmp_path / "f", stops=LINE_STOPS,
        **ONE_TRIP,
    )
    with pytest.raises(OutOfRangeError, match="valid for f: 2026-01-01 to 2026-12-31"):
        compile_timetable([feed], date(2027, 2, 1))


def test_cached_timetable_round_trips_through_memory_maps(tmp_path: Path) -> None:
    from planner.timetable.disk_cache import load_or_compile

    feed = write_feed(
        tmp_path / "f", stops=LINE_STOPS,
        **ONE_TRIP,
    )
    first = load_or_compile([feed], DAY, cache_dir=tmp_path / "cache")
    second = load_or_compile([feed], DAY, cache_dir=tmp_path / "cache")
    assert (first.extra["cache"], second.extra["cache"]) == ("miss", "hit")
    assert isinstance(second.conn_dep, np.memmap)
    assert second.version == first.version
    assert second.conn_dep.tolist() == first.conn_dep.tolist()
    assert second.stop_names.tolist() == first.stop_names.tolist()
    assert second.dates == first.dates


def test_gtfs_time_parser_handles_long_hours_blanks_and_odd_spellings() -> None:
    import pandas as pd

    from planner.timetable.compile import parse_gtfs_times

    parsed = parse_gtfs_times(pd.Series(["8:00:00", "25:30:00", "", None, "120:00:01",
                                         " 07:05:09", "8:0:00", "x"]))
    expected = [28800, 91800, np.nan, np.nan, 432001, 25509, 28800, np.nan]
    np.testing.assert_array_equal(parsed, np.array(expected, dtype=float))


def test_zero_duration_connections_chain_across_trips_in_csa(tmp_path: Path) -> None:
    # Trip "b" arrives at S2 at 08:00:00 with a zero-duration hop; trip "a" leaves S2 at
    # the same second, also zero-duration. CSA scans connections once, so "b"'s hop must
    # come first although the two share (departure, arrival) and "a" sorts first by id.
    from planner.routing.query import Query
    from planner.routing.router import Router

    feed = write_feed(
        tmp_path / "f", stops=LINE_STOPS,
        trips="route_id,service_id,trip_id\nR1,WK,a\nR1,WK,b\n",
        stop_times="trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "a,08:00:00,08:00:00,S2,1\na,08:00:00,08:00:00,S3,2\n"
        "b,08:00:00,08:00:00,S1,1\nb,08:00:00,08:00:00,S2,2\n",
    )
    # a change in 0 s, so "a" is reachable from "b" at the same second
    tt = compile_timetable([feed], DAY, CompileOptions(footpath_radius=0, default_change_time=0))
    s1, s3 = tt.stop_index("f:S1"), tt.stop_index("f:S3")
    start = tt.time_of(DAY, 8 * 3600)
    router = Router(tt)
    for algorithm in ("csa", "raptor"):
        assert router.arrival(Query([(s1, 0)], [(s3, 0)], start, max_transfers=8),
                              algorithm) == start


def test_stop_lookup_resolves_ids_and_nothing_is_cached_in_the_timetable(
        tmp_path: Path) -> None:
    f = write_feed(tmp_path / "f", stops=LINE_STOPS, **ONE_TRIP)
    g = write_feed(
        tmp_path / "g",
        stops="stop_id,stop_name,stop_lat,stop_lon\nS1,Other S1,52.1,8.6\nG2,Gee,52.11,8.6\n",
        trips="route_id,service_id,trip_id\nR1,WK,t\n",
        stop_times="trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "t,09:00:00,09:00:00,S1,1\nt,09:10:00,09:10:00,G2,2\n",
    )
    tt = compile_timetable([f, g], DAY)
    extra = dict(tt.extra)
    stops = StopLookup(tt.stop_ids)
    assert stops.index("g:S1") == tt.stop_index("g:S1") != stops.index("f:S1")
    assert tt.stop_names[stops.resolve("G2")] == "Gee"  # unscoped: only g has it
    assert stops.resolve("f:S2") == stops.index("f:S2")
    for lookup in (stops.index, stops.resolve, tt.stop_index):
        with pytest.raises(KeyError, match="unknown stop id 'S1'"):
            lookup("S1")  # in both feeds: ambiguous without its prefix
    assert tt.extra == extra  # the immutable timetable remembers no lookups


def test_headsign_falls_back_to_the_last_stop_name_when_the_feed_has_none(
        tmp_path: Path) -> None:
    """Issue 17: without trip_headsign the headsign was empty; OTP shows the last stop."""
    feed = write_feed(
        tmp_path / "f", stops=LINE_STOPS,
        trips="route_id,service_id,trip_id,trip_headsign\nR1,WK,t,\nR1,WK,u,Stadtmitte\n",
        stop_times="trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "t,08:00:00,08:00:00,S1,1\nt,08:10:00,08:10:00,S2,2\nt,08:20:00,08:20:00,S3,3\n"
        "u,09:00:00,09:00:00,S3,1\nu,09:10:00,09:10:00,S1,2\n")
    tt = compile_timetable([feed], DAY)
    heads = dict(zip(tt.gtfs_trip_ids.tolist(), tt.gtfs_trip_headsign.tolist(), strict=True))
    assert heads == {"f:t": "Gamma", "f:u": "Stadtmitte"}


def test_merged_compile_warns_about_a_feed_without_service_on_the_day(
        tmp_path: Path) -> None:
    """Issue 17: the day passes the range check when one feed covers it; the other feed's
    trips are then silently missing. The compile says so."""
    busy = write_feed(tmp_path / "busy", stops=LINE_STOPS, **ONE_TRIP)
    idle = write_feed(tmp_path / "idle", stops=LINE_STOPS, **ONE_TRIP,
                      calendar="service_id,monday,tuesday,wednesday,thursday,friday,"
                      "saturday,sunday,start_date,end_date\nWK,1,1,1,1,1,1,1,20250101,"
                      "20250630\n")
    tt = compile_timetable([busy, idle], DAY)
    (warning,) = [w for w in tt.extra["warnings"] if "no service" in str(w)]
    assert "idle" in str(warning) and "2025-01-01 to 2025-06-30" in str(warning)
    alone = compile_timetable([busy], DAY)
    assert not [w for w in alone.extra["warnings"] if "no service" in str(w)]
