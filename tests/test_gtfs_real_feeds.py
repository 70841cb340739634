"""Every real GTFS feed in ../shared/data loads and compiles; counts match SOURCES.md."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from feeds.gtfs import GtfsError, load_feeds
from planner.timetable.compile import compile_timetable
from planner.timetable.integrity import check_structure
from tests.shared_data import shared
from tests.test_compile_edge_cases import assert_no_overtaking

# path, service day inside the feed's range, (stops, routes, trips, stop_times) per SOURCES.md
FEEDS = [
    ("de-vvs-herrenberg/vvs-bus-751-only.gtfs.zip", "2020-06-09", (47, 1, 134, 1_495)),
    ("de-vvs-herrenberg/vvs-bus-764-only.gtfs.zip", "2020-06-09", (17, 1, 26, 271)),
    ("de-vpe-pforzheim/gtfs-hka-s24.zip", "2025-03-04", (490, 14, 454, 10_957)),
    ("de-vbb-berlin-subset/gtfs", "2019-06-04", (957, 52, 28_590, 22_666)),
    ("de-db-fv-2026/gtfs.zip", "2026-04-20", (1_277, 92, 5_379, 55_645)),
    ("de-db-fern-2017/gtfs.zip", "2017-03-07", (644, 1_337, 5_245, 74_278)),
    ("at-oebb-2020/OBB.zip", "2020-03-03", (1_104, 52, 7_326, 92_296)),
    ("no-atb-latin1/gtfs.zip", "2019-01-15", (3_693, 181, 1_098, 26_890)),
    ("us-hart-tampa/hart.zip", "2021-01-12", (2_349, 37, 13_217, 438_421)),
    ("us-wmata/wmata.zip", "2026-05-05", (2_175, 7, 16_514, 352_668)),
    ("us-portland-streetcar/trimet-2routes.zip", "2021-12-07", (103, 2, 2_341, 43_813)),
    ("br-porto-alegre/poa_eptc.zip", "2019-05-07", (3_986, 115, 2_374, 130_019)),
    ("br-porto-alegre/poa_trensurb.zip", "2019-05-07", (24, 2, 1_248, 14_855)),
    ("mx-cdmx/cdmx.zip", "2019-03-05", (6_021, 145, 1_741, 70_714)),
    ("au-cairns/cairns_gtfs.zip", "2014-06-03", (416, 22, 1_339, 37_790)),
    ("us-caltrain-rt/ct.zip", "2023-11-07", (109, 9, 176, 3_498)),
    ("us-bart-rt/bart-rt.zip", "2019-08-07", (48, 8, 2_641, 32_185)),
]


@pytest.mark.parametrize(("relative", "day", "counts"), FEEDS, ids=[f[0] for f in FEEDS])
def test_real_feed_loads_and_compiles_with_expected_counts(
    relative: str, day: str, counts: tuple[int, int, int, int]
) -> None:
    data = load_feeds([shared(relative)])
    loaded = tuple(len(data[t]) for t in ("stops", "routes", "trips", "stop_times"))
    assert loaded == counts
    tt = compile_timetable(data, date.fromisoformat(day))
    assert tt.n_trips > 0 and tt.n_connections > 0
    check_structure(tt)  # what a cache entry must pass to be served
    # Structural invariants the routing core relies on.
    assert (np.diff(tt.conn_dep) >= 0).all()
    assert (tt.conn_arr >= tt.conn_dep).all()
    assert len(tt.trip_st_offset) == tt.n_trips + 1
    assert (np.diff(tt.route_trip_offset) > 0).all()
    assert not np.any(tt.fp_to == np.repeat(np.arange(tt.n_stops), np.diff(tt.fp_offset)))
    assert (tt.fp_dur >= 0).all()
    assert_no_overtaking(tt)
    # Every stop's (route, position) entries point back at the stop.
    for s in range(0, tt.n_stops, max(1, tt.n_stops // 50)):
        for k in range(tt.stop_route_offset[s], tt.stop_route_offset[s + 1]):
            r, pos = tt.stop_route_route[k], tt.stop_route_pos[k]
            assert tt.route_stops[tt.route_stop_offset[r] + pos] == s


def test_latin1_feed_keeps_olsoya_intact() -> None:
    data = load_feeds([shared("no-atb-latin1/gtfs.zip")])
    names = set(data["stops"]["stop_name"])
    assert "Olsøya" in names
    assert not any("\ufffd" in n or "Ã" in n for n in names)


def test_feed_without_agency_txt_loads_with_a_warning() -> None:
    data = load_feeds([shared("de-vbb-berlin-subset/gtfs")])
    assert any("agency.txt missing" in w for w in data.warnings)
    assert any("trips have no stop_times" in w for w in data.warnings)


def test_vbb_transfers_set_change_times_and_footpaths() -> None:
    tt = compile_timetable([shared("de-vbb-berlin-subset/gtfs")], date(2019, 6, 4))
    assert (tt.stop_change_time > 0).sum() > 100
    assert tt.extra["footpath_stats"]["transfer_rows"] > 1_000


def test_broken_hsl_feed_is_rejected_with_counts_and_examples() -> None:
    with pytest.raises(GtfsError) as err:
        load_feeds([shared("fi-hsl-broken/test_broken_gtfs.zip")])
    message = str(err.value)
    assert "stop_times.txt: 1432 rows reference a stop_id missing from stops.txt" in message
    assert "e.g. '" in message
    assert "trips.txt: 1 rows reference a route_id missing from routes.txt" in message


def test_two_feeds_merge_with_feed_scoped_ids() -> None:
    tt = compile_timetable(
        [shared("de-vvs-herrenberg/vvs-bus-751-only.gtfs.zip"),
         shared("de-vvs-herrenberg/vvs-bus-764-only.gtfs.zip")],
        date(2020, 6, 9),
    )
    prefixes = {s.split(":", 1)[0] for s in tt.stop_ids}
    assert prefixes == {"vvs-bus-751-only", "vvs-bus-764-only"}
    assert tt.n_stops == 47 + 17


def test_multi_day_trips_pull_in_earlier_service_days() -> None:
    # DB 2016/17 has stop times up to 57:33: trips from two days back still run.
    tt = compile_timetable([shared("de-db-fern-2017/gtfs.zip")], date(2017, 3, 7))
    assert tt.dates[0] == date(2017, 3, 5)


def test_frequency_based_feed_expands_trips() -> None:
    tt = compile_timetable([shared("mx-cdmx/cdmx.zip")], date(2019, 3, 5))
    assert tt.n_trips > 10 * 1_741
