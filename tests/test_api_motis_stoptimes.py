"""MOTIS's stoptimes (v1, v5, v6) and v6 stop on the demo feed (DB long distance, April 2026).

Every 200 body is checked against MOTIS's own OpenAPI file of its version
(``tests/motis_spec.py``); the semantics (direction with arriveBy, n, pages, modes,
center+radius, tracks) are checked against the timetable and the GTFS files themselves.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import load_settings
from feeds.demo import DEMO_FEED
from planner.multimodal.geometry import haversine_m
from tests.motis_spec import assert_valid

DAY = "2026-04-20"
AT = f"{DAY}T08:00:00+02:00"
BIELEFELD = "de-db-fv-2026:347953"  # the station; its platforms carry the trains
BIELEFELD_POS = (52.029263, 8.53272)
BERLIN_HBF = "de-db-fv-2026:302272"  # station whose platforms have platform_code


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    settings = load_settings(env={}, feeds=(str(DEMO_FEED),), date=DAY, search_deadline=30.0)
    with TestClient(create_app(settings)) as c:
        yield c


def board(client: TestClient, version: int, **params: Any) -> dict[str, Any]:
    r = client.get(f"/api/v{version}/stoptimes", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert_valid(version, f"/api/v{version}/stoptimes", body)
    return body


def ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def event_time(stop_time: dict[str, Any], arrival: bool) -> float:
    return ts(stop_time["place"]["arrival" if arrival else "departure"])


def gtfs_rows(name: str) -> list[dict[str, str]]:
    with zipfile.ZipFile(DEMO_FEED) as zf:
        return list(csv.DictReader(io.StringIO(zf.read(name).decode("utf-8-sig"))))


SPREAD = [
    (1, {"stopId": BIELEFELD, "n": 5, "time": AT}),
    (1, {"stopId": BIELEFELD, "n": 3, "time": AT, "arriveBy": "true"}),
    (5, {"stopId": BIELEFELD, "n": 4, "time": "2026-04-20T06:00:00Z", "radius": 200,
         "mode": "HIGHSPEED_RAIL,LONG_DISTANCE,NIGHT_RAIL"}),
    (5, {"stopId": BERLIN_HBF, "n": 6, "time": AT, "fetchStops": "true"}),
    (5, {"stopId": BIELEFELD, "n": 3, "time": AT, "arriveBy": "true", "fetchStops": "true"}),
    (6, {"center": "52.0290,8.5325", "radius": 300, "n": 5, "time": AT}),
    (6, {"center": "52.0290,8.5325", "radius": 300, "n": 5, "time": AT, "arriveBy": "true",
         "direction": "LATER"}),
    (6, {"stopId": BIELEFELD, "time": AT, "window": 3600, "n": 0}),
    (6, {"stopId": BIELEFELD, "time": AT, "n": 4, "both": "true"}),
    (6, {"stopId": BIELEFELD, "time": AT, "n": 4, "withScheduledSkippedStops": "true",
         "exactRadius": "true", "radius": 100}),
    (6, {"stopId": BIELEFELD, "time": AT, "n": 0}),
    (6, {"center": "0,0", "radius": 1000, "n": 5, "time": AT}),
]


@pytest.mark.parametrize(("version", "params"), SPREAD)
def test_every_board_response_matches_motis_schema(client: TestClient, version: int,
                                                   params: dict[str, Any]) -> None:
    body = board(client, version, **params)
    if params["n"] and params.get("center") != "0,0":
        assert body["stopTimes"], "the spread must exercise real stop times"


def test_departures_start_at_the_time_and_arrivals_end_there(client: TestClient) -> None:
    t = ts(AT)
    later = board(client, 6, stopId=BIELEFELD, n=5, time=AT)["stopTimes"]
    earlier = board(client, 6, stopId=BIELEFELD, n=5, time=AT, direction="EARLIER")["stopTimes"]
    arrivals = board(client, 6, stopId=BIELEFELD, n=5, time=AT, arriveBy="true")["stopTimes"]
    arrivals_after = board(client, 6, stopId=BIELEFELD, n=5, time=AT, arriveBy="true",
                           direction="LATER")["stopTimes"]
    assert all(event_time(s, False) >= t for s in later) and len(later) >= 5
    assert all(event_time(s, False) <= t for s in earlier) and len(earlier) >= 5
    assert all(event_time(s, True) <= t for s in arrivals) and len(arrivals) >= 5
    assert all(event_time(s, True) >= t for s in arrivals_after) and len(arrivals_after) >= 5
    for page, arrival in ((later, False), (earlier, False), (arrivals, True)):
        times = [event_time(s, arrival) for s in page]
        assert times == sorted(times)
    # Arrivals before the time are the latest ones: none is missing between them and it.
    assert max(event_time(s, True) for s in arrivals) == max(
        event_time(s, True) for s in board(client, 6, stopId=BIELEFELD, n=50, time=AT,
                                           arriveBy="true")["stopTimes"])


def test_n_zero_is_answered_with_no_events_and_empty_cursors(client: TestClient) -> None:
    body = board(client, 6, stopId=BIELEFELD, n=0, time=AT)
    assert body["stopTimes"] == []
    assert body["previousPageCursor"] == body["nextPageCursor"] == ""


def test_window_returns_every_event_within_it(client: TestClient) -> None:
    hour = board(client, 6, stopId=BIELEFELD, n=0, window=3600, time=AT)["stopTimes"]
    many = board(client, 6, stopId=BIELEFELD, n=100, time=AT)["stopTimes"]
    t = ts(AT)
    expected = [s["tripId"] for s in many if event_time(s, False) <= t + 3600]
    assert [s["tripId"] for s in hour] == expected and expected


def test_pages_continue_without_gap_or_overlap(client: TestClient) -> None:
    whole = board(client, 6, stopId=BIELEFELD, n=8, time=AT)["stopTimes"]
    first = board(client, 6, stopId=BIELEFELD, n=4, time=AT)
    second = board(client, 6, pageCursor=first["nextPageCursor"], stopId=BIELEFELD, n=4)
    keys = [(s["tripId"], s["place"]["departure"]) for s in whole]
    paged = [(s["tripId"], s["place"]["departure"])
             for s in first["stopTimes"] + second["stopTimes"]]
    assert paged == keys
    back = board(client, 6, pageCursor=second["previousPageCursor"], stopId=BIELEFELD, n=4)
    assert [(s["tripId"], s["place"]["departure"]) for s in back["stopTimes"]] == keys[:4]


def test_mode_filters_by_motis_class(client: TestClient) -> None:
    every = board(client, 6, stopId=BIELEFELD, n=30, time=AT)["stopTimes"]
    classes = {s["mode"] for s in every}
    assert {"HIGHSPEED_RAIL", "LONG_DISTANCE"} <= classes
    only = board(client, 6, stopId=BIELEFELD, n=10, time=AT, mode="LONG_DISTANCE")
    assert only["stopTimes"] and {s["mode"] for s in only["stopTimes"]} == {"LONG_DISTANCE"}
    rail = board(client, 6, stopId=BIELEFELD, n=30, time=AT, mode="RAIL")["stopTimes"]
    assert [s["tripId"] for s in rail] == [s["tripId"] for s in every]
    assert board(client, 6, stopId=BIELEFELD, n=10, time=AT, mode="BUS")["stopTimes"] == []
    assert board(client, 6, stopId=BIELEFELD, n=10, time=AT, mode="WALK")["stopTimes"] == []


def test_center_with_radius_covers_the_stops_within_it(client: TestClient) -> None:
    body = board(client, 6, center="52.0290,8.5325", radius=300, n=10, time=AT)
    assert body["place"]["name"] == "center" and body["place"]["vertexType"] == "NORMAL"
    assert body["stopTimes"]
    for s in body["stopTimes"]:
        d = haversine_m(52.0290, 8.5325, s["place"]["lat"], s["place"]["lon"])
        assert d <= 300
    by_stop = board(client, 6, stopId=BIELEFELD, n=10, time=AT)["stopTimes"]
    assert [s["tripId"] for s in body["stopTimes"]] == [s["tripId"] for s in by_stop]
    far = board(client, 6, center="52.0290,8.5325", radius=10, n=10, time=AT)
    assert far["stopTimes"] == []  # no stop within 10 m of that point


def test_track_is_the_gtfs_platform_code(client: TestClient) -> None:
    codes = {f"de-db-fv-2026:{r['stop_id']}": r["platform_code"]
             for r in gtfs_rows("stops.txt") if r.get("platform_code")}
    body = board(client, 6, stopId=BERLIN_HBF, n=20, time=AT)
    seen = 0
    for s in body["stopTimes"]:
        place = s["place"]
        code = codes.get(place["stopId"])
        if code is None:
            assert "track" not in place and "scheduledTrack" not in place
        else:
            assert place["track"] == place["scheduledTrack"] == code
            seen += 1
    assert seen


def test_stop_times_name_the_trip_its_line_and_its_source(client: TestClient) -> None:
    agencies = {f"de-db-fv-2026:{r['agency_id']}": r for r in gtfs_rows("agency.txt")}
    trips = gtfs_rows("trips.txt")
    body = board(client, 6, stopId=BIELEFELD, n=6, time=AT)
    for s in body["stopTimes"]:
        agency = agencies[s["agencyId"]]
        assert (s["agencyName"], s["agencyUrl"]) == (agency["agency_name"],
                                                     agency["agency_url"])
        feed, line = s["source"].split("/trips.txt:")
        assert feed == "de-db-fv-2026"
        day = s["serviceDate"].replace("-", "")
        assert s["tripId"] == f"{day}_de-db-fv-2026:{trips[int(line) - 2]['trip_id']}"
        assert s["displayName"] == s["routeShortName"] and s["displayName"]
        assert s["headsign"] == s["tripTo"]["name"]  # the feed has no headsigns
        assert s["place"]["tz"] == "Europe/Berlin" and "level" not in s["place"]


def test_fetch_stops_lists_the_rest_of_the_trip(client: TestClient) -> None:
    body = board(client, 5, stopId=BIELEFELD, n=3, time=AT, fetchStops="true")
    for s in body["stopTimes"]:
        nxt = s["nextStops"]
        assert nxt and nxt[-1]["stopId"] == s["tripTo"]["stopId"]
        times = [ts(p["arrival"]) for p in nxt]
        assert times == sorted(times) and times[0] > ts(s["place"]["departure"])


def test_versions_differ_as_motis_does(client: TestClient) -> None:
    v1 = board(client, 1, stopId=BIELEFELD, n=2, time=AT)
    v5 = board(client, 5, stopId=BIELEFELD, n=2, time=AT)
    v6 = board(client, 6, stopId=BIELEFELD, n=2, time=AT)
    assert "place" not in v1 and "displayName" not in v1["stopTimes"][0]
    assert v5["place"]["level"] == 0 and v5["stopTimes"][0]["place"]["level"] == 0
    assert "level" not in v6["place"]
    assert [s["tripId"] for s in v1["stopTimes"]] == [s["tripId"] for s in v6["stopTimes"]]


@pytest.mark.parametrize(("params", "named"), [
    ({"stopId": BIELEFELD, "time": AT}, "n"),
    ({"n": 3, "time": AT}, "stopId"),
    ({"center": "52.03,8.53", "n": 3, "time": AT}, "stopId"),
    ({"center": "north", "radius": 100, "n": 3}, "center"),
    ({"stopId": BIELEFELD, "n": 3, "mode": "TELEPORT"}, "mode"),
    ({"stopId": BIELEFELD, "n": -1}, "n"),
    ({"stopId": BIELEFELD, "n": 3, "pageCursor": "garbage"}, "pageCursor"),
])
def test_bad_requests_get_a_4xx_naming_the_parameter(client: TestClient,
                                                     params: dict[str, Any],
                                                     named: str) -> None:
    r = client.get("/api/v6/stoptimes", params=params)
    assert 400 <= r.status_code < 500 and r.json()["parameter"] == named, r.text


def test_unknown_stop_is_404(client: TestClient) -> None:
    r = client.get("/api/v6/stoptimes", params={"stopId": "nowhere", "n": 3})
    assert r.status_code == 404 and "nowhere" in r.json()["error"]


def test_kde_itinerary_departures_request(client: TestClient) -> None:
    """KPublicTransport: UTC time, stopId, n, radius=200, mode; reads times, track,
    displayName, headsign, routeColor, page cursors."""
    body = board(client, 5, time="2026-04-20T06:00:00Z", stopId=BIELEFELD, n=12,
                 arriveBy="false", radius=200,
                 mode="HIGHSPEED_RAIL,LONG_DISTANCE,NIGHT_RAIL,REGIONAL_FAST_RAIL,"
                      "REGIONAL_RAIL,SUBURBAN,SUBWAY,TRAM,BUS,FERRY,COACH")
    assert len(body["stopTimes"]) == 12
    for s in body["stopTimes"]:
        assert ts(s["place"]["departure"]) >= ts("2026-04-20T06:00:00Z")
        assert s["place"]["scheduledDeparture"] == s["place"]["departure"]
        assert s["displayName"] and s["headsign"] and "routeColor" in s
    later = board(client, 5, pageCursor=body["nextPageCursor"], stopId=BIELEFELD, n=12,
                  radius=200)
    assert ts(later["stopTimes"][0]["place"]["departure"]) >= ts(
        body["stopTimes"][-1]["place"]["departure"])


def test_gnome_maps_arrivals_request(client: TestClient) -> None:
    """GNOME Maps: v6, center+radius, arriveBy=true&direction=LATER for arrivals after
    now; reads displayName, tz and tripFrom.name (where the train comes from)."""
    body = board(client, 6, n=10, center=f"{BIELEFELD_POS[0]},{BIELEFELD_POS[1]}",
                 radius=250, arriveBy="true", direction="LATER", time=AT,
                 language="de")
    assert len(body["stopTimes"]) == 10
    for s in body["stopTimes"]:
        assert ts(s["place"]["arrival"]) >= ts(AT)
        assert s["tripFrom"]["name"] and s["tripFrom"]["name"] != "Bielefeld Hbf"
        assert s["displayName"] and s["place"]["tz"] == "Europe/Berlin"


def test_stop_lists_the_routes_serving_it(client: TestClient) -> None:
    r = client.get("/api/v6/stop", params={"stopId": BIELEFELD})
    assert r.status_code == 200
    body = r.json()
    assert_valid(6, "/api/v6/stop", body)
    names = [x["routeShortName"] for x in body["routes"]]
    assert names == sorted(names) and body["place"]["stopId"] == BIELEFELD
    served = {s["routeId"] for s in board(client, 6, stopId=BIELEFELD, n=100,
                                          time=AT)["stopTimes"]}
    assert served <= {x["routeId"] for x in body["routes"]}
    near = client.get("/api/v6/stop", params={"center": "52.0290,8.5325", "radius": 300})
    assert near.status_code == 200 and near.json()["place"]["name"] == "center"
    assert_valid(6, "/api/v6/stop", near.json())
    assert client.get("/api/v6/stop").status_code == 400


def test_a_stop_times_trip_id_names_the_run_that_trip_returns(client: TestClient) -> None:
    """Stop times send the day-qualified tripId plan legs send (``20260420_feed:trip``), so
    that /trip shows the very run: a bare GTFS id named no day."""
    times = board(client, 5, stopId=BIELEFELD, time=AT, n=5)["stopTimes"]
    assert times
    for st in times:
        assert st["tripId"].startswith("20260420_de-db-fv-2026:"), st["tripId"]
        trip = client.get("/api/v5/trip", params={"tripId": st["tripId"]})
        assert trip.status_code == 200, trip.text
        (leg,) = trip.json()["legs"]
        stops = [leg["from"], *leg.get("intermediateStops", []), leg["to"]]
        departures = [s.get("departure") for s in stops
                      if str(s.get("stopId", "")).startswith("de-db-fv-2026:")]
        assert st["place"]["departure"] in departures
