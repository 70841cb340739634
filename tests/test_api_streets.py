"""Street graph (OSM) in the API's rental options, and ``transitModes=`` (no transit).

DB long-distance trains (de-db-fv-2026, 2026-04-20), the Call a Bike Darmstadt GBFS
fixture (one station at Darmstadt Hbf with 48 bikes, ``return_constraint: hybrid``, so a
ride may end at the destination) served from a loopback HTTP server, and the
Frankfurt-Darmstadt OSM test extract. The extract covers only a few hundred metres around
Darmstadt Hbf, so the ride on streets is short; the point of the tests is that the API
reports the street model's times and paths where the graph covers a leg and the straight
line where it does not. The app loads the extract once (``osm`` setting); its loaded model
is the reference for expected times.
"""

from __future__ import annotations

import gc
import math
import time
import weakref
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.cli import main as cli_main
from api.geo import decode_polyline
from api.runtime import Runtime, runtime_of
from api.settings import load_settings
from api.sharing import SharingManager
from api.store import Prepared
from planner.multimodal.geometry import haversine_m
from planner.multimodal.streets import Streets
from tests.servers import serve_directory

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
DB = DATA / "de-db-fv-2026" / "gtfs.zip"
CAB = DATA / "gbfs-de-callabike-darmstadt"
GBFS_DIR = CAB / "gbfs"
OSM = CAB / "osm" / "frankfurt-darmstadt-test_case.osm.pbf"
pytestmark = pytest.mark.skipif(
    not (DB.exists() and GBFS_DIR.is_dir() and OSM.exists()),
    reason="../shared/data (de-db-fv-2026, gbfs-de-callabike-darmstadt with osm/) missing")

DAY = "2026-04-20"
#: GBFS clock at start: just after the fixture's last_updated (2024-10-21).
EPOCH = 1_729_500_800.0
FRANKFURT_HBF = "de-db-fv-2026:65711"
DARMSTADT_HBF = (49.8725, 8.629636)  # the DB stop
CAB_STATION = (49.871651, 8.631084)  # Call a Bike "Darmstadt Hbf"
#: 270 m north of the bike station, on the part of the bike graph reachable from it.
NORTH = (49.8740217, 8.6315189)
#: 2 km east of Darmstadt Hbf, outside the extract: rides there are straight lines.
EAST = (49.879, 8.655)


def latlon(p: tuple[float, float]) -> str:
    return f"{p[0]},{p[1]}"


@pytest.fixture(scope="module")
def gbfs_url() -> Iterator[str]:
    with serve_directory(GBFS_DIR) as srv:
        yield f"{srv.base}/gbfs.json"


def _client(gbfs_url: str, osm: tuple[str, ...]) -> Iterator[TestClient]:
    settings = load_settings(env={}, feeds=(str(DB),), date=DAY, gbfs=(gbfs_url,),
                             gbfs_config="", gbfs_resolve="manifest", gbfs_epoch=EPOCH,
                             gbfs_min_interval=3600.0, osm=osm, search_deadline=30.0)
    with TestClient(create_app(settings)) as c:
        sharing = runtime(c).sharing
        waited = time.monotonic() + 60
        while sharing.feeds[0].last_success is None or not sharing.streets_ready.is_set():
            assert time.monotonic() < waited, "GBFS refresher or OSM load did not finish"
            time.sleep(0.05)
        assert sharing.feeds[0].last_error is None
        yield c


@pytest.fixture(scope="module")
def with_osm(gbfs_url: str) -> Iterator[TestClient]:
    yield from _client(gbfs_url, (str(OSM),))


@pytest.fixture(scope="module")
def plain(gbfs_url: str) -> Iterator[TestClient]:
    yield from _client(gbfs_url, ())


def runtime(client: TestClient) -> Runtime:
    return runtime_of(client.app)


def streets_of(client: TestClient) -> Streets:
    return runtime(client).sharing.streets


def plan(client: TestClient, **params: Any) -> dict[str, Any]:
    params.setdefault("time", f"{DAY}T08:00:00+02:00")
    r = client.get("/api/v1/plan", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def direct_bike(client: TestClient) -> dict[str, Any]:
    body = plan(client, fromPlace=latlon(DARMSTADT_HBF), toPlace=latlon(NORTH),
                directModes="BIKE_RENTAL")
    (trip,) = [d for d in body["direct"] if any(x["mode"] == "RENTAL" for x in d["legs"])]
    return trip


def seconds(streets: Streets, mode: str, a: tuple[float, float],
            b: tuple[float, float]) -> float:
    return streets.travel_time(mode, a, b)


def straight(streets: Streets, mode: str, a: tuple[float, float],
             b: tuple[float, float]) -> float:
    return float(streets.straight_line(mode, np.array([a]), np.array([b]))[0, 0])


# --- street graph --------------------------------------------------------------------------------


def test_health_reports_the_loaded_osm_street_model(with_osm: TestClient,
                                                    plain: TestClient) -> None:
    streets = with_osm.get("/api/v1/health").json()["sharing"]["streets"]
    assert streets["model"] == "osm" and streets["osm"] == [str(OSM)]
    assert streets["graphs"]["bike"]["nodes"] > 500 and streets["graphs"]["walk"]["edges"] > 0
    assert plain.get("/api/v1/health").json()["sharing"]["streets"] == {"model": "straight-line"}


def test_direct_bike_ride_takes_the_street_graph_time_and_follows_the_streets(
    with_osm: TestClient,
) -> None:
    streets = streets_of(with_osm)
    assert "bike" in streets.graphs
    walk, ride = direct_bike(with_osm)["legs"]
    assert walk["mode"] == "WALK" and ride["mode"] == "RENTAL"
    r = ride["rental"]
    assert r["systemId"] == "callabike" and r["fromStationName"] == "Darmstadt Hbf"
    assert (ride["from"]["lat"], ride["from"]["lon"]) == pytest.approx(CAB_STATION)
    # parked at the request's toPlace, which the direct trip ends at like a walk would
    assert ride["to"] == {"name": "END", "lat": NORTH[0], "lon": NORTH[1], "level": 0,
                          "vertexType": "NORMAL"}
    on_streets = seconds(streets, "bike", CAB_STATION, NORTH)
    crow = straight(streets, "bike", CAB_STATION, NORTH)
    assert abs(round(on_streets) - round(crow)) >= 5  # the two models disagree here
    assert r["rideSeconds"] == round(on_streets)
    assert ride["duration"] == r["pickupSeconds"] + r["rideSeconds"] + r["dropoffSeconds"]
    # the drawn path is the street path: station, graph nodes, destination
    pts = decode_polyline(ride["legGeometry"]["points"])
    assert len(pts) > 2 and ride["legGeometry"]["length"] == len(pts)
    path = streets.route("bike", CAB_STATION, NORTH)
    assert path is not None and len(pts) == len(path.points)
    assert all(haversine_m(*p, *q) < 0.05 for p, q in zip(pts, path.points, strict=True))
    assert haversine_m(*pts[-1], *NORTH) < 0.05
    assert ride["distance"] == pytest.approx(path.meters, abs=0.1)
    assert ride["distance"] > haversine_m(*CAB_STATION, *NORTH)
    # the walk to the bikes is timed and drawn on the walk graph too
    assert walk["duration"] == round(seconds(streets, "walk", DARMSTADT_HBF, CAB_STATION))
    assert walk["duration"] != round(straight(streets, "walk", DARMSTADT_HBF, CAB_STATION))
    assert len(decode_polyline(walk["legGeometry"]["points"])) > 2


def test_without_osm_the_same_ride_takes_the_straight_line_time(plain: TestClient) -> None:
    streets = streets_of(plain)
    assert streets.graphs == {}
    walk, ride = direct_bike(plain)["legs"]
    assert ride["rental"]["rideSeconds"] == round(straight(streets, "bike", CAB_STATION, NORTH))
    assert walk["duration"] == round(straight(streets, "walk", DARMSTADT_HBF, CAB_STATION))
    assert ride["legGeometry"]["length"] == 2 and walk["legGeometry"]["length"] == 2


def test_egress_walk_to_the_bikes_follows_streets_and_a_ride_off_the_graph_stays_straight(
    with_osm: TestClient,
) -> None:
    streets = streets_of(with_osm)
    body = plan(with_osm, fromPlace=FRANKFURT_HBF, toPlace=latlon(EAST),
                postTransitModes="WALK,BIKE_RENTAL", numItineraries=1)
    it = next(i for i in body["itineraries"] if any(x["mode"] == "RENTAL" for x in i["legs"]))
    k = next(i for i, x in enumerate(it["legs"]) if x["mode"] == "RENTAL")
    walk, ride = it["legs"][k - 1], it["legs"][k]
    assert walk["mode"] == "WALK" and walk["to"]["name"] == "Darmstadt Hbf"
    start = (walk["from"]["lat"], walk["from"]["lon"])
    assert haversine_m(*start, *DARMSTADT_HBF) < 300  # a platform of the station
    assert walk["duration"] == round(seconds(streets, "walk", start, CAB_STATION))
    assert len(decode_polyline(walk["legGeometry"]["points"])) > 2
    # EAST is 1.5 km beyond the extract: straight line, two points
    assert ride["rental"]["rideSeconds"] == round(straight(streets, "bike", CAB_STATION, EAST))
    assert ride["legGeometry"]["length"] == 2
    assert ride["endTime"] == it["endTime"]


# --- transitModes= --------------------------------------------------------------------------------


def test_empty_transit_modes_return_only_direct_trips(plain: TestClient) -> None:
    params = {"fromPlace": latlon(DARMSTADT_HBF), "toPlace": latlon(NORTH),
              "directModes": "WALK,BIKE_RENTAL", "postTransitModes": "WALK,BIKE_RENTAL"}
    body = plan(plain, transitModes="", **params)
    assert body["itineraries"] == [] and "reason" not in body
    # no transit search: nothing to page; MOTIS sends empty cursors (its schema: strings)
    assert body["previousPageCursor"] == "" and body["nextPageCursor"] == ""
    kinds = sorted(tuple(x["mode"] for x in d["legs"]) for d in body["direct"])
    assert kinds == [("WALK",), ("WALK", "RENTAL")]
    walk = next(d for d in body["direct"] if len(d["legs"]) == 1)
    assert walk["startTime"] == f"{DAY}T08:00:00+02:00"
    assert walk["duration"] == math.ceil(haversine_m(*DARMSTADT_HBF, *NORTH) * 1.3 / 1.25)


def test_empty_transit_modes_without_a_direct_trip_give_a_reason(plain: TestClient) -> None:
    params = {"fromPlace": FRANKFURT_HBF, "toPlace": latlon(EAST),
              "postTransitModes": "WALK,BIKE_RENTAL", "directModes": "WALK,BIKE_RENTAL"}
    assert plan(plain, **params)["itineraries"]  # train, then the bike
    body = plan(plain, transitModes="", **params)
    assert body["itineraries"] == [] and body["direct"] == []
    assert "transitModes" in body["reason"] and "maxDirectTime" in body["reason"]


# --- command line -----------------------------------------------------------------------------


def test_serve_refuses_a_missing_osm_extract(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere.osm.pbf"
    assert cli_main(["serve", str(DB), "--osm", str(missing)]) == 2
    assert "nowhere.osm.pbf" in capsys.readouterr().err


# --- loading in the background ---------------------------------------------------------------


def _manager(gbfs_url: str, osm: tuple[str, ...]) -> SharingManager:
    settings = load_settings(env={}, feeds=(str(DB),), date=DAY, gbfs=(gbfs_url,),
                             gbfs_config="", gbfs_resolve="manifest", osm=osm)
    return SharingManager(settings, clock=lambda: EPOCH)


def test_planners_use_the_straight_line_until_the_osm_graph_is_loaded(
    gbfs_url: str, with_osm: TestClient,
) -> None:
    prepared = runtime(with_osm).store.get(date.fromisoformat(DAY))
    sharing = _manager(gbfs_url, (str(OSM),))
    try:
        assert not sharing.streets_ready.is_set()
        before, token = sharing.planner_for(prepared), sharing.state_token()
        assert before.streets.graphs == {} and "streets:loading" in token
        assert sharing.planner_for(prepared) is before  # kept per timetable
        sharing.load_streets()  # what the background thread runs
        assert sharing.streets_ready.is_set() and sharing.streets_status == "osm"
        after = sharing.planner_for(prepared)
        assert after is not before and "bike" in after.streets.graphs
        assert sharing.state_token() != token  # plans cached while loading expire
        other = Prepared(prepared.tt, prepared.feedset)
        assert sharing.planner_for(other) is not after  # one per prepared timetable
        planner = weakref.ref(sharing.planner_for(other))
        del other
        gc.collect()
        assert planner() is None  # gone with its timetable
        assert sharing.planner_for(prepared) is after
    finally:
        sharing.close()


def test_a_broken_osm_extract_keeps_the_straight_line_and_degrades_health(
    gbfs_url: str, tmp_path: Path,
) -> None:
    broken = tmp_path / "broken.osm.pbf"
    broken.write_bytes(b"not a protobuf file at all" * 10)
    sharing = _manager(gbfs_url, (str(broken),))
    try:
        sharing.load_streets()
        assert sharing.streets_ready.is_set() and sharing.streets.graphs == {}
        health = sharing.streets_health()
        assert health["model"] == "failed" and health["error"]
        assert health["osm"] == [str(broken)]
    finally:
        sharing.close()


def test_without_gbfs_feeds_the_osm_extract_is_still_loaded_for_walking() -> None:
    """Plans walk to and from their stops on the streets of the extract, GBFS or not."""
    settings = load_settings(env={}, feeds=(str(DB),), date=DAY, gbfs_config="",
                             osm=(str(OSM),))
    sharing = SharingManager(settings)
    assert not sharing.streets_ready.is_set() and sharing.streets_status == "loading"
    sharing.start()
    try:
        assert sharing._thread is None  # no GBFS refresher without feeds
        assert sharing.streets_ready.wait(120)
        assert sharing.streets_status == "osm" and "walk" in sharing.streets.graphs
    finally:
        sharing.close()


def test_without_an_extract_the_straight_line_stays() -> None:
    settings = load_settings(env={}, feeds=(str(DB),), date=DAY, gbfs_config="", osm=())
    sharing = SharingManager(settings)
    sharing.start()
    assert sharing.streets_ready.is_set() and sharing.streets_status == "straight-line"
    assert sharing._osm_thread is None
    sharing.close()
