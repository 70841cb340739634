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


def _plan_reference(net: TransportNetwork, study: Study, origins: Points,
                    street_mode: str, egress_mode: str) -> dict[tuple[str, str], list[int]]:
    """Seconds per departure minute as the planner's own trip search times them: the
    bike/car legs by the plan search's ``vehicle_access`` (access and egress) on the same
    street model, one ``Router.earliest`` per minute, and the direct trip of
    ``plan_trip`` without transit (neither is the study's code)."""
    from planner.multimodal.geometry import PointIndex
    from planner.multimodal.search import Location, Network, TripRequest, plan_trip, vehicle_access

    r = study.request
    tt, router = net.tt, net.router
    assert router is not None
    network = Network(router, PointIndex(tt.stop_lat, tt.stop_lon), lambda s: [s])
    api = {"bike": "BIKE", "car": "CAR", "walk": "WALK"}
    access_api, egress_api = api[street_mode], api[egress_mode]
    bound = {m: r.max_street_seconds(m) for m in (street_mode, egress_mode)}

    def place(points: Points, i: int) -> Location:
        return Location(float(points.coords[i, 0]), float(points.coords[i, 1]))

    def rows(found: dict[str, list], name: str) -> np.ndarray:
        return np.array([(a.stop, a.seconds) for a in found.get(name, [])],
                        np.int32).reshape(-1, 2)

    base = TripRequest(place(origins, 0), place(origins, 0), study.start)
    dests = study.destinations
    tgts = [rows(vehicle_access(network, net.streets, base, place(dests, d), (egress_api,),
                                bound[egress_mode], egress=True), egress_api)
            for d in range(len(dests))]
    out: dict[tuple[str, str], list[int]] = {}
    for i, o in enumerate(origins.ids):
        src = rows(vehicle_access(network, net.streets, base, place(origins, i),
                                  (access_api,), bound[street_mode]), access_api)
        for d, dest in enumerate(dests.ids):
            plan = plan_trip(network, TripRequest(
                place(origins, i), place(dests, d), study.start, transit=False,
                direct_modes=(access_api,), max_direct=bound[street_mode]),
                streets=net.streets)
            direct = min([t.duration for t in plan.direct], default=INFINITY)
            times = []
            for m in range(r.time_window):
                dep = study.start + 60 * m
                t = direct
                if len(src) and len(tgts[d]):
                    j = router.earliest(Query(src, tgts[d], dep, max_transfers=r.max_transfers))
                    if j is not None:
                        t = min(t, j.arrival - dep)
                times.append(t if t <= r.max_trip_duration * 60 else INFINITY)
            out[(o, dest)] = times
    return out


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "egress"), [("BICYCLE", "BICYCLE"), ("CAR", "BICYCLE")])
def test_bike_and_car_legs_equal_the_trip_search_on_the_osm_streets(
        mode: str, egress: str, cache: object) -> None:
    """Porto Alegre with its OSM extract: cells with bike or car access and bike egress
    are the statistics of the planner's own trip search per departure minute, with the
    bike and car legs timed on the same OSM graphs (one-way streets, car parking)."""
    net, departure = _network("porto-alegre", cache)
    assert {"bike", "car"} <= set(net.streets.graphs)
    origins = _points(net, 4, 41, "o")
    destinations = _points(net, 50, 42, "d")
    speeds = net.streets.model.speeds_kmh  # the plan search rides at the model's speed
    params = dict(time_window=5, percentiles=(25, 50, 100), max_trip_duration=75,
                  max_rides=3, min_mean=True, mode=f"{mode},TRANSIT", mode_egress=egress,
                  bike_speed=speeds["bike"], walk_speed=speeds["walk"], max_bike_time=12,
                  max_car_time=15, max_walk_time=10)
    m = TravelTimeMatrix(net, origins, destinations, departure=departure, **params)
    request = m_request(departure, params)
    study = Study(net.tt, request, destinations, net.streets, net.router)
    street = request.access_mode
    ref = _plan_reference(net, study, origins, street, request.egress_mode)
    assert len(ref) >= 200
    cells = {(r.from_id, r.to_id): r for r in m.itertuples(index=False)}
    by_transit = 0
    for pair, times in ref.items():
        if all(t >= INFINITY for t in times):
            assert pair not in cells, pair
            continue
        row = cells[pair]
        for p in (25, 50, 100):
            got = getattr(row, f"travel_time_p{p}")
            assert (None if pd.isna(got) else int(got)) == _r5r_percentile(times, p), (pair, p)
        assert int(row.travel_time_min) == min(times) // 60, pair
        if max(times) < INFINITY:
            assert row.travel_time_mean == pytest.approx(np.mean(times) / 60), pair
        by_transit += len(set(times)) > 1  # varies with the minute: a transit ride
    assert len(cells) == sum(any(t < INFINITY for t in v) for v in ref.values())
    assert by_transit >= 20, by_transit
