"""Travel-time studies (planner.analysis) against single earliest-arrival queries on real
feeds: every matrix cell is the statistic, over the window's departure minutes, of one
``Router.earliest`` query per minute (or the direct street trip, where shorter);
accessibility is the sum over the matrix; isochrones contain the reached sample points
and none of the others."""

from __future__ import annotations

import math
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
import shapely

from planner.analysis import Accessibility, Isochrones, Points, TransportNetwork, TravelTimeMatrix
from planner.analysis.study import Study
from planner.routing.query import Query
from planner.timetable.model import INFINITY
from tests.shared_data import shared

PERCENTILES = (10, 50, 90, 100)


def _network(case: str, tmp_cache: object) -> tuple[TransportNetwork, datetime]:
    if case == "hart":
        net = TransportNetwork.build(shared("us-hart-tampa/hart.zip"), date(2021, 1, 12),
                                     cache_dir=str(tmp_cache))
        return net, datetime(2021, 1, 12, 7, 0)
    net = TransportNetwork.build(
        [shared("br-porto-alegre/poa_eptc.zip"), shared("br-porto-alegre/poa_trensurb.zip")],
        date(2019, 5, 13), shared("br-porto-alegre/poa_osm.pbf"), cache_dir=str(tmp_cache))
    return net, datetime(2019, 5, 13, 14, 0)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> object:
    return tmp_path_factory.mktemp("timetables")


def _points(net: TransportNetwork, n: int, seed: int, prefix: str) -> Points:
    """Random points up to ~300 m from random served stops (coordinates, not stops)."""
    tt = net.tt
    rng = np.random.default_rng(seed)
    served = np.flatnonzero(np.diff(np.asarray(tt.stop_route_offset)) > 0)
    if net.streets.graphs:  # inside the OSM extract, so the graph times them
        g = net.streets.graphs["walk"]
        lat, lon = np.asarray(tt.stop_lat)[served], np.asarray(tt.stop_lon)[served]
        served = served[(lat > g.lat.min()) & (lat < g.lat.max()) & (lon > g.lon.min())
                        & (lon < g.lon.max())]
    pick = rng.choice(served, n, replace=False)
    jitter = rng.uniform(-0.0027, 0.0027, size=(n, 2))
    return Points(pd.DataFrame({"id": [f"{prefix}{i}" for i in range(n)],
                                "lat": np.asarray(tt.stop_lat)[pick] + jitter[:, 0],
                                "lon": np.asarray(tt.stop_lon)[pick] + jitter[:, 1]}))


def _reference(study: Study, origins: Points) -> dict[tuple[str, str], list[int]]:
    """Seconds per departure minute from single earliest-arrival queries."""
    r = study.request
    access, direct = study.access(origins), study.direct(origins)
    router = study.router
    assert router is not None
    out: dict[tuple[str, str], list[int]] = {}
    for i, o in enumerate(origins.ids):
        src = access.rows(i)
        for d, dest in enumerate(study.destinations.ids):
            tgt = study.egress.rows(d)
            times = []
            for m in range(r.time_window):
                dep = study.start + 60 * m
                t = INFINITY
                if len(src) and len(tgt):
                    j = router.earliest(Query(src, tgt, dep, max_transfers=r.max_transfers,
                                              route_mask=study.route_mask))
                    if j is not None:
                        t = j.arrival - dep
                t = min(t, int(direct[i, d]))
                times.append(t if t <= r.max_trip_duration * 60 else INFINITY)
            out[(o, dest)] = times
    return out


def _r5r_percentile(times: list[int], p: int) -> int | None:
    ordered = sorted(times)
    t = ordered[math.ceil(p / 100 * len(ordered)) - 1]
    return None if t >= INFINITY else t // 60


@pytest.mark.slow
@pytest.mark.parametrize("case", ["hart", "porto-alegre"])
def test_matrix_cells_equal_statistics_of_single_earliest_arrival_queries(
        case: str, cache: object) -> None:
    net, departure = _network(case, cache)
    origins = _points(net, 4, 11, "o")
    destinations = _points(net, 60, 12, "d")
    params = dict(time_window=12, percentiles=PERCENTILES, max_trip_duration=90, max_rides=3,
                  min_mean=True, share_cutoffs=(30,))
    m = TravelTimeMatrix(net, origins, destinations, departure=departure, **params)
    study = Study(net.tt, m_request(departure, params), destinations, net.streets, net.router)
    ref = _reference(study, origins)
    assert len(ref) >= 200
    cells = {(r.from_id, r.to_id): r for r in m.itertuples(index=False)}
    reached = 0
    for pair, times in ref.items():
        if all(t >= INFINITY for t in times):
            assert pair not in cells, pair  # r5r leaves unreached pairs out
            continue
        reached += 1
        row = cells[pair]
        for p in PERCENTILES:
            got = getattr(row, f"travel_time_p{p}")
            assert (None if pd.isna(got) else int(got)) == _r5r_percentile(times, p), (pair, p)
        assert int(row.travel_time_min) == min(times) // 60
        if max(times) < INFINITY:
            assert row.travel_time_mean == pytest.approx(np.mean(times) / 60)
        else:
            assert np.isnan(row.travel_time_mean)
        assert row.share_under_30 == pytest.approx(np.mean([t < 1800 for t in times]))
    assert reached >= 40  # the comparison is about transit, not empty cells
    assert len(cells) == reached


def m_request(departure: datetime, params: dict[str, object]):  # type: ignore[no-untyped-def]
    from planner.analysis.frames import _request

    return _request(departure, dict(params))


@pytest.mark.slow
def test_accessibility_is_the_sum_over_the_matrix(cache: object) -> None:
    net, departure = _network("hart", cache)
    origins = _points(net, 3, 21, "o")
    opportunities = _points(net, 150, 22, "s")
    opportunities.data["pupils"] = np.random.default_rng(3).integers(10, 500, len(opportunities))
    common = dict(departure=departure, time_window=10, percentiles=(25, 75))
    acc = Accessibility(net, origins, opportunities, cutoffs=[30, 45], weight="pupils",
                        **common)
    m = TravelTimeMatrix(net, origins, opportunities, **common)
    weights = opportunities.data.set_index("id")["pupils"]
    assert len(acc) == 3 * 2 * 2
    nonzero = 0
    for row in acc.itertuples(index=False):
        col = m[m.from_id == row.id][f"travel_time_p{row.percentile}"]
        ids = m[m.from_id == row.id]["to_id"][col.notna() & (col < row.cutoff)]
        expected = float(weights[ids].sum())
        assert row.accessibility == expected
        assert row.opportunity == "pupils"
        nonzero += expected > 0
    assert nonzero >= 4


@pytest.mark.slow
@pytest.mark.parametrize("case", ["hart", "porto-alegre"])
def test_isochrone_contains_reached_points_and_none_of_the_others(
        case: str, cache: object) -> None:
    net, departure = _network(case, cache)
    origins = _points(net, 2, 31, "o")
    samples = _points(net, 300, 32, "x")
    common = dict(departure=departure, time_window=10, percentiles=(50,))
    iso = Isochrones(net, origins, cutoffs=[20, 40], destinations=samples, **common)
    m = TravelTimeMatrix(net, origins, samples, **common)
    assert len(iso) == 4 and iso.crs.to_epsg() == 4326
    lat, lon = samples.data["lat"].to_numpy(), samples.data["lon"].to_numpy()
    inside_some = outside_some = 0
    for row in iso.itertuples(index=False):
        times = m[m.from_id == row.id].set_index("to_id")["travel_time_p50"]
        t = times.reindex(samples.ids).to_numpy(dtype=float, na_value=np.inf)
        reached = t < row.cutoff
        inside = shapely.contains_xy(row.geometry, lon, lat)
        assert (inside == reached).all(), (row.id, row.cutoff,
                                           np.flatnonzero(inside != reached))
        inside_some += int(reached.sum())
        outside_some += int((~reached).sum())
    assert inside_some >= 20 and outside_some >= 20


@pytest.mark.slow
def test_minute_arrivals_equal_one_raptor_per_minute_with_slack_and_mode_mask(
        cache: object) -> None:
    net, departure = _network("hart", cache)
    tt, router = net.tt, net.router
    start = tt.time_of(departure.date(), 7 * 3600)
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
    from datetime import date

    from planner.routing.router import Router
    from planner.timetable.compile import compile_timetable
    from tests.shared_data import shared

    tt = compile_timetable([shared("de-vbb-berlin-subset/gtfs")], date(2019, 6, 4))
    assert tt.n_stops and len(getattr(tt, "rule_alight_stop", [])) > 0
    router = Router(tt)
    engine = router.range_raptor
    ws = engine.workspace()
    start = tt.time_of(date(2019, 6, 4), 8 * 3600)
    rng = np.random.default_rng(11)
    for stop in rng.integers(tt.n_stops, size=4):
        q = Query(np.array([[int(stop), 0]], np.int32), np.zeros((0, 2), np.int32), start,
                  max_transfers=3)
        out = np.empty((10, tt.n_stops), np.int32)
        engine.minute_arrivals(ws, q, 60, out)
        for m in range(10):
            assert (out[m] == router.one_to_all(q.at(start + 60 * m))).all(), (stop, m)
