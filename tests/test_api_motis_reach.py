"""MOTIS's one-to-all, one-to-many and map/trips on the demo feed (DB long distance).

Every 200 body is validated against MOTIS's ``openapi-v6.yaml``; one-to-all durations are
checked against single earliest-arrival / latest-departure queries on the same timetable,
map/trips segments against a plain loop over the timetable's stop times, one-to-many
against the straight-line street model. The last tests replay the requests the MOTIS web
UI sends (``ui/src/routes/+page.svelte`` isochrones, ``ui/src/lib/RailViz.svelte``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.common import split_trip_id, trip_id
from api.geo import decode_polyline
from api.positions import min_zoom
from api.runtime import runtime_of
from api.settings import load_settings
from api.store import Prepared
from feeds.demo import DEMO_FEED
from planner.multimodal.geometry import haversine_m
from planner.routing.query import Query
from tests.motis_spec import assert_valid
from tests.shared_data import shared

DAY = "2026-04-20"
BIELEFELD = "de-db-fv-2026:347953"
AT_8 = "2026-04-20T08:00:00+02:00"
OWL_BOX = {"min": "51.5,7.5", "max": "52.5,9.5"}
LIMIT = 240  # the server's one-to-all bound in minutes (MOTIS: onetoall_max_travel_minutes)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    settings = load_settings(env={}, feeds=(str(DEMO_FEED),), date=DAY, search_deadline=30.0,
                             max_one_to_all_minutes=LIMIT)
    with TestClient(create_app(settings)) as c:
        yield c


def prepared_of(client: TestClient) -> Prepared:
    prepared, _ = runtime_of(client.app).prepared_for(datetime.fromisoformat(AT_8))
    return prepared


def get(client: TestClient, path: str, spec: int = 6, **params: Any) -> Any:
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert_valid(spec, path, body)
    return body


def refused(client: TestClient, path: str, status: int, parameter: str, **params: Any) -> str:
    r = client.get(path, params=params)
    assert r.status_code == status, r.text
    assert r.json()["parameter"] == parameter
    message: str = r.json()["error"]
    return message


# --- one-to-all ------------------------------------------------------------------------------


def test_one_to_all_durations_equal_single_earliest_arrival_queries(client: TestClient) -> None:
    body = get(client, "/api/v6/one-to-all", one=BIELEFELD, maxTravelTime=240, time=AT_8,
               maxTransfers=2)
    prepared = prepared_of(client)
    tt = prepared.tt
    t = tt.time_of(datetime.fromisoformat(AT_8).date(), 8 * 3600)
    assert body["one"]["stopId"] == BIELEFELD and body["one"]["departure"] == AT_8
    reached = body["all"]
    assert len(reached) > 30 and {p["k"] for p in reached} >= {0, 1, 2}
    assert all(0 <= p["duration"] <= 240 for p in reached)
    origin = prepared.group(prepared.resolve_stop(BIELEFELD))
    for p in reached[::3]:
        stop = prepared.resolve_stop(p["place"]["stopId"])
        journey = prepared.router.earliest(
            Query([(s, 0) for s in origin], [(stop, 0)], t, max_transfers=2))
        assert journey is not None
        assert p["duration"] == math.ceil((journey.arrival - t) / 60), p
        assert p["k"] == len(journey.transit_legs), p
        arrival = datetime.fromisoformat(p["place"]["arrival"])
        assert (arrival - datetime.fromisoformat(AT_8)).total_seconds() == 60 * p["duration"]


def test_one_to_all_arrive_by_equals_single_latest_departure_queries(
        client: TestClient) -> None:
    body = get(client, "/api/v6/one-to-all", one=BIELEFELD, maxTravelTime=180,
               time="2026-04-20T18:00:00+02:00", arriveBy="true")
    prepared = prepared_of(client)
    t = prepared.tt.time_of(datetime.fromisoformat(AT_8).date(), 18 * 3600)
    assert body["one"]["arrival"] == "2026-04-20T18:00:00+02:00"
    dest = prepared.group(prepared.resolve_stop(BIELEFELD))
    assert len(body["all"]) > 10
    for p in body["all"][::2]:
        stop = prepared.resolve_stop(p["place"]["stopId"])
        journey = prepared.router.latest_departure(
            Query([(stop, 0)], [(s, 0) for s in dest], t, arrive_by=True, max_transfers=14))
        assert journey is not None
        assert p["duration"] == math.ceil((t - journey.departure) / 60), p
        assert "departure" in p["place"] and "arrival" not in p["place"]


def test_one_to_all_from_a_coordinate_walks_to_its_stops(client: TestClient) -> None:
    body = get(client, "/api/v6/one-to-all", one="52.0290,8.5325", maxTravelTime=60,
               time="2026-04-20T08:00:30+02:00", maxPreTransitTime=600)
    assert body["one"]["vertexType"] == "NORMAL"
    assert body["one"]["departure"] == AT_8  # MOTIS counts in whole minutes
    walked = [p for p in body["all"] if p["k"] == 0]
    assert walked and all(p["duration"] <= 10 for p in walked)
    nothing = get(client, "/api/v6/one-to-all", one="52.0290,8.5325", maxTravelTime=60,
                  time=AT_8, preTransitModes="")
    assert nothing["all"] == []


def test_one_to_all_mode_and_transfer_bounds(client: TestClient) -> None:
    params = {"one": BIELEFELD, "maxTravelTime": 240, "time": AT_8}
    walk_only = get(client, "/api/v6/one-to-all", **params, transitModes="")
    assert walk_only["all"] and {p["k"] for p in walk_only["all"]} == {0}
    direct = get(client, "/api/v6/one-to-all", **params, maxTransfers=0)
    assert max(p["k"] for p in direct["all"]) == 1
    ice = get(client, "/api/v6/one-to-all", **params, transitModes="HIGHSPEED_RAIL")
    every = get(client, "/api/v6/one-to-all", **params)
    assert 0 < len(ice["all"]) < len(every["all"])
    slack = get(client, "/api/v6/one-to-all", **params, minTransferTime=30)
    assert len(slack["all"]) <= len(every["all"])


def test_one_to_all_limits_and_refusals(client: TestClient) -> None:
    path = "/api/v6/one-to-all"
    base = {"one": BIELEFELD, "time": AT_8}
    assert "maxTravelTime too large" in refused(client, path, 429, "maxTravelTime", **base,
                                                maxTravelTime=LIMIT + 1)
    refused(client, path, 400, "maxTransfers", **base, maxTravelTime=60, maxTransfers=-1)
    refused(client, path, 429, "maxTransfers", **base, maxTravelTime=60, maxTransfers=15)
    assert "BIKE" in refused(client, path, 400, "preTransitModes", **base, maxTravelTime=60,
                             preTransitModes="WALK,BIKE")
    refused(client, path, 400, "pedestrianProfile", **base, maxTravelTime=60,
            pedestrianProfile="WHEELCHAIR")
    refused(client, path, 400, "transferTimeFactor", **base, maxTravelTime=60,
            transferTimeFactor=1.5)
    refused(client, path, 404, "one", one="de-db-fv-2026:nowhere", maxTravelTime=60)
    r = client.get(path, params={"one": BIELEFELD})
    assert r.status_code == 422 and r.json()["parameter"] == "maxTravelTime"


# --- one-to-many -----------------------------------------------------------------------------


def test_one_to_many_walks_on_the_street_model_in_request_order(client: TestClient) -> None:
    one = (52.0290, 8.5325)
    many = [(52.0330, 8.5400), (52.0250, 8.5200), (52.2000, 8.9000)]
    body = get(client, "/api/v1/one-to-many", one="52.0290;8.5325",
               many=",".join(f"{a};{b}" for a, b in many), mode="WALK", max=1800,
               maxMatchingDistance=250, arriveBy="false", withDistance="true")
    model = runtime_of(client.app).sharing.streets.model
    assert len(body) == 3 and body[2] == {}  # 30 km on foot is beyond 1800 s
    for (lat, lon), got in zip(many[:2], body[:2], strict=True):
        metres = haversine_m(one[0], one[1], lat, lon)
        assert got["duration"] == pytest.approx(float(model.seconds("walk", metres)), abs=0.1)
        assert got["distance"] == pytest.approx(metres * model.detour, abs=0.1)
    back = get(client, "/api/v1/one-to-many", one="52.0290;8.5325",
               many=[f"{a};{b}" for a, b in many], mode="BIKE", max=14400,
               maxMatchingDistance=250, arriveBy="true")
    assert all("duration" in d and "distance" not in d for d in back)
    posted = client.post("/api/v1/one-to-many", json={
        "one": "52.0290;8.5325", "many": [f"{a};{b}" for a, b in many], "mode": "CAR",
        "max": 3600, "maxMatchingDistance": 250, "arriveBy": False})
    assert posted.status_code == 200 and len(posted.json()) == 3
    assert_valid(6, "/api/v1/one-to-many", posted.json())


@pytest.mark.parametrize(("mode", "r5r_mode"), [("WALK", "WALK"), ("BIKE", "BICYCLE")])
@pytest.mark.parametrize("arrive_by", [False, True])
def test_one_to_many_equals_the_travel_time_matrix_cell(client: TestClient, mode: str,
                                                        r5r_mode: str, arrive_by: bool) -> None:
    """The same core: a one-to-many answer is the streets-only ``TravelTimeMatrix`` cell of
    ``one`` to each of ``many`` (``arriveBy``: of each to ``one``) over a one-minute
    window, to the second (the API keeps tenths, the matrix rounds up to whole seconds and
    reports whole minutes)."""
    import pandas as pd

    from planner.analysis import Points, TransportNetwork, TravelTimeMatrix
    from planner.analysis.frames import _request
    from planner.analysis.network import NetworkSpec
    from planner.analysis.study import Study

    rt, prepared = runtime_of(client.app), prepared_of(client)
    day = datetime.fromisoformat(AT_8).date()
    net = TransportNetwork(NetworkSpec((DEMO_FEED,), day), prepared.tt, prepared.router,
                           rt.sharing.streets)
    rng = np.random.default_rng(13)
    one = (52.0290, 8.5325)
    many = [(one[0] + a, one[1] + b) for a, b in rng.uniform(-0.03, 0.03, (40, 2))]
    body = get(client, "/api/v1/one-to-many", one=f"{one[0]};{one[1]}",
               many=",".join(f"{a};{b}" for a, b in many), mode=mode, max=1800,
               maxMatchingDistance=250, arriveBy=str(arrive_by).lower())
    here = Points(pd.DataFrame({"id": ["one"], "lat": [one[0]], "lon": [one[1]]}))
    there = Points(pd.DataFrame({"id": [f"m{i}" for i in range(len(many))],
                                 "lat": [p[0] for p in many], "lon": [p[1] for p in many]}))
    origins, destinations = (there, here) if arrive_by else (here, there)
    speeds = net.streets.model.speeds_kmh
    params = dict(time_window=1, percentiles=(50,), mode=r5r_mode, max_trip_duration=30,
                  max_walk_time=30, max_bike_time=30, walk_speed=speeds["walk"],
                  bike_speed=speeds["bike"])
    departure = datetime(2026, 4, 20, 8, 0)
    matrix = TravelTimeMatrix(net, origins, destinations, departure=departure, **params)
    cells = {(r.from_id, r.to_id): r.travel_time_p50 for r in matrix.itertuples(index=False)}
    study = Study(net.tt, _request(departure, dict(params)), destinations, net.streets,
                  net.router)
    direct = study.direct(origins)
    answered = 0
    for i, got in enumerate(body):
        pair = (f"m{i}", "one") if arrive_by else ("one", f"m{i}")
        if "duration" not in got:
            assert pair not in cells, pair
            continue
        answered += 1
        o, d = (i, 0) if arrive_by else (0, i)
        seconds = int(study.travel_times(np.zeros((0, 2), np.int32), direct[o])[d, 0])
        assert math.ceil(got["duration"] - 0.05) <= seconds <= math.ceil(got["duration"] + 0.05)
        assert cells[pair] == seconds // 60, pair
    assert 0 < answered and len(cells) == answered


def test_one_to_many_limits_and_refusals(client: TestClient) -> None:
    path = "/api/v1/one-to-many"
    base = {"one": "52.0290;8.5325", "maxMatchingDistance": 250, "arriveBy": "false"}
    refused(client, path, 400, "mode", **base, many="52.03;8.54", mode="RENTAL", max=60)
    refused(client, path, 400, "many", **base, many="52.03,8.54", mode="WALK", max=60)
    refused(client, path, 429, "max", **base, many="52.03;8.54", mode="WALK", max=21601)
    many = ",".join(["52.03;8.54"] * 129)
    assert "129 > 128" in refused(client, path, 429, "many", **base, many=many, mode="WALK",
                                  max=60)


# --- map/trips -------------------------------------------------------------------------------


def expected_hops(prepared: Prepared, box: tuple[float, float, float, float], zoom: int,
                  start: int, end: int) -> set[tuple[str, str, int]]:
    """(trip id, from stop id, departure) of every hop to show, by a plain loop."""
    tt = prepared.tt
    out = set()
    for trip in range(tt.n_trips):
        r = int(tt.trip_route[trip])
        stops = tt.route_stops[int(tt.route_stop_offset[r]):int(tt.route_stop_offset[r + 1])]
        lats, lons = tt.stop_lat[stops], tt.stop_lon[stops]
        spread = haversine_m(float(lats.min()), float(lons.min()), float(lats.max()),
                             float(lons.max()))
        line = int(tt.gtfs_trip_line[int(tt.trip_gtfs[trip])])
        if min_zoom(prepared.line_modes[line], spread) > zoom:
            continue
        if not (lats.min() <= box[2] and lats.max() >= box[0] and lons.min() <= box[3]
                and lons.max() >= box[1]):
            continue
        st = int(tt.trip_st_offset[trip])
        for p in range(len(stops) - 1):
            a, b = int(stops[p]), int(stops[p + 1])
            if (min(tt.stop_lat[a], tt.stop_lat[b]) > box[2]
                    or max(tt.stop_lat[a], tt.stop_lat[b]) < box[0]
                    or min(tt.stop_lon[a], tt.stop_lon[b]) > box[3]
                    or max(tt.stop_lon[a], tt.stop_lon[b]) < box[1]):
                continue
            dep, arr = int(tt.st_dep[st + p]), int(tt.st_arr[st + p + 1])
            if dep < end and arr + 60 > start:
                out.add((trip_id(tt, trip), str(tt.stop_ids[a]),
                         dep + tt.t0))
    return out


def test_map_trips_are_the_hops_in_the_box_and_window(client: TestClient) -> None:
    start, end = "2026-04-20T08:00:00+02:00", "2026-04-20T08:20:00+02:00"
    body = get(client, "/api/v6/map/trips", zoom=8, **OWL_BOX, startTime=start, endTime=end,
               precision=6)
    prepared = prepared_of(client)
    t0 = prepared.tt.t0
    lo, hi = (int(datetime.fromisoformat(x).timestamp()) - t0 for x in (start, end))
    want = expected_hops(prepared, (51.5, 7.5, 52.5, 9.5), 8, lo, hi)
    got = {(s["trips"][0]["tripId"], s["from"]["stopId"],
            int(datetime.fromisoformat(s["departure"]).timestamp())) for s in body}
    assert len(want) > 5 and got == want and len(body) == len(want)
    for s in body:
        assert s["realTime"] is False and s["scheduledDeparture"] == s["departure"]
        assert s["departure"] < end and s["arrival"] >= start
        assert s["trips"][0]["displayName"] and "level" not in s["from"]
        points = decode_polyline(s["polyline"], 6)  # no shapes in this feed: stop to stop
        ends = [s["from"]["lat"], s["from"]["lon"], s["to"]["lat"], s["to"]["lon"]]
        assert [x for p in points for x in p] == pytest.approx(ends, abs=1.01e-6)


def test_map_trips_zoom_shows_long_distance_first(client: TestClient) -> None:
    window = {"startTime": AT_8, "endTime": "2026-04-20T09:00:00+02:00", **OWL_BOX}
    assert get(client, "/api/v6/map/trips", zoom=3, **window) == []
    far = get(client, "/api/v6/map/trips", zoom=4, **window)
    assert far and {s["mode"] for s in far} <= {"HIGHSPEED_RAIL", "LONG_DISTANCE",
                                                "NIGHT_RAIL", "COACH", "AIRPLANE"}
    near = get(client, "/api/v6/map/trips", zoom=12, **window)
    assert len(near) >= len(far)
    empty = get(client, "/api/v6/map/trips", zoom=12, min="10,10", max="11,11",
                startTime=AT_8, endTime="2026-04-20T09:00:00+02:00")
    assert empty == []


def test_map_trips_refusals(client: TestClient) -> None:
    path = "/api/v6/map/trips"
    window = {"startTime": AT_8, "endTime": "2026-04-20T09:00:00+02:00", **OWL_BOX}
    refused(client, path, 400, "precision", zoom=8, precision=7, **window)
    refused(client, path, 400, "min", zoom=8, min="x", max="52,9", startTime=AT_8,
            endTime=AT_8)
    germany = {"min": "45,0", "max": "56,20", "startTime": "2026-04-19T00:00:00+02:00",
               "endTime": "2026-04-22T00:00:00+02:00"}
    assert "too many" in refused(client, path, 429, "endTime", zoom=12, **germany)


def test_map_trips_follow_the_gtfs_shapes_between_the_stops() -> None:
    """HART Tampa has shapes.txt: a segment is its trip's shape cut at the two stops."""
    feed = shared("us-hart-tampa/hart.zip")
    settings = load_settings(env={}, feeds=(str(feed),), date="2021-02-16",
                             search_deadline=60.0)  # the first request compiles the day
    with TestClient(create_app(settings)) as c:
        body = get(c, "/api/v6/map/trips", zoom=12, min="27.93,-82.48", max="27.97,-82.44",
                   startTime="2021-02-16T08:00:00-05:00", endTime="2021-02-16T08:05:00-05:00",
                   precision=5)
        prepared, _ = runtime_of(c.app).prepared_for(datetime.fromisoformat(
            "2021-02-16T08:00:00-05:00"))
    assert body and "BUS" in {s["mode"] for s in body} <= {"BUS", "TRAM"}  # TECO streetcar
    shaped = 0
    for s in body:
        points = decode_polyline(s["polyline"], 5)
        for point, stop in ((points[0], s["from"]), (points[-1], s["to"])):
            assert point == pytest.approx((stop["lat"], stop["lon"]), abs=1.01e-5)
        assert all(a != b for a, b in zip(points, points[1:], strict=False))  # no zero steps
        shaped += len(points) > 2
        trip = prepared.tt.gtfs_trip_ids.tolist().index(
            split_trip_id(s["trips"][0]["tripId"])[1])
        shape = prepared.feedset.shapes.shapes[str(prepared.tt.gtfs_trip_shape[trip])]
        for lat, lon in points[1:-1]:  # every point between the stops lies on the shape
            assert np.min(np.abs(shape[:, 0] - lat) + np.abs(shape[:, 1] - lon)) < 2e-5
    assert shaped > len(body) // 2


def test_older_paths_answer_with_their_version(client: TestClient) -> None:
    """map/trips on v1 (``routeShortName``, level 0) and v5, one-to-all on v1: the same
    answers in the shape of their time, each valid against the spec of that time."""
    window = {"zoom": 8, **OWL_BOX, "startTime": AT_8, "endTime": "2026-04-20T08:20:00+02:00"}
    v6 = get(client, "/api/v6/map/trips", **window)
    v5 = get(client, "/api/v5/map/trips", 5, **window)
    v1 = get(client, "/api/v1/map/trips", 1, **window)
    assert len(v1) == len(v5) == len(v6) > 0
    assert "displayName" in v5[0]["trips"][0] and "routeShortName" not in v5[0]["trips"][0]
    assert v1[0]["trips"][0]["routeShortName"] == v6[0]["trips"][0]["displayName"]
    assert v1[0]["from"]["level"] == 0 and "level" not in v6[0]["from"]
    old = get(client, "/api/v1/one-to-all", 5, one=BIELEFELD, maxTravelTime=60, time=AT_8)
    new = get(client, "/api/v6/one-to-all", one=BIELEFELD, maxTravelTime=60, time=AT_8)
    assert [p["duration"] for p in old["all"]] == [p["duration"] for p in new["all"]]
    assert old["one"]["level"] == 0


# --- the MOTIS web UI ------------------------------------------------------------------------


def test_motis_ui_isochrones_request(client: TestClient) -> None:
    """The query the UI's isochrones tab sends (defaults of ``ui/src/lib/defaults.ts``)."""
    body = get(client, "/api/v6/one-to-all", one="52.029263,8.53272", maxTravelTime=120,
               time="2026-04-20T06:00:00.000Z", transitModes="TRANSIT", maxTransfers=14,
               arriveBy="false", cyclingSpeed=4.2, pedestrianSpeed=1.2,
               transferTimeFactor=1, additionalTransferTime=0, useRoutedTransfers="false",
               pedestrianProfile="FOOT", requireBikeTransport="false",
               requireCarTransport="false", noCompulsoryReservation="false",
               preTransitModes="WALK", postTransitModes="WALK", maxPreTransitTime=900,
               maxPostTransitTime=900, elevationCosts="NONE", maxMatchingDistance=250,
               ignorePreTransitRentalReturnConstraints="false",
               ignorePostTransitRentalReturnConstraints="false")
    # what the UI reads: place lat/lon/name and duration (minutes, within the bound)
    assert len(body["all"]) > 10
    assert all(p["place"]["lat"] and p["place"]["name"] and 0 <= p["duration"] <= 120
               for p in body["all"])


def test_motis_ui_railviz_request(client: TestClient) -> None:
    """RailViz's query: max north-west, min south-east, three minutes, precision by zoom;
    the UI groups segments by ``trips[0].tripId`` and decodes with ``precision``."""
    zoom = 9.4
    body = get(client, "/api/v6/map/trips", min="51.6,9.2", max="52.3,8.0",
               startTime="2026-04-20T06:00:00.000Z", endTime="2026-04-20T06:03:00.000Z",
               zoom=zoom, precision=4)
    assert body
    for s in body:
        points = np.array(decode_polyline(s["polyline"], 4))
        assert len(points) >= 1
        assert abs(points[0][0] - s["from"]["lat"]) < 1e-3
        assert s["departure"] <= "2026-04-20T08:03:00+02:00"
