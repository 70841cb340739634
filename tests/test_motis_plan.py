"""MOTIS's plan and trip operations (/api/v1, /api/v5, /api/v6) on real data.

Every 200 answer is validated against the matching ``openapi-v{1,5,6}.yaml`` (draft
2020-12, formats checked, :mod:`tests.motis_spec`); the demo feed (DB long-distance trains,
2026-04-20) and de-db-fv-2026 with the TIER Wolfsburg GBFS snapshot (the rental app of
:mod:`tests.test_api_rental`) are the data. Also the requests KDE Itinerary and GNOME Maps
send, as written in ``../shared/specs/motis/README.md``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.geo import decode_polyline
from api.settings import load_settings
from feeds.demo import DEMO_FEED
from planner.multimodal.geometry import haversine_m
from tests.motis_spec import assert_valid
from tests.test_api_rental import (
    DEST,
    TIER,
    GbfsServer,
    fresh_feed,
    server,  # noqa: F401
)
from tests.test_api_rental import client as rental_client  # noqa: F401

DAY = "2026-04-20"
BIELEFELD = "de-db-fv-2026:347953"
PADERBORN = "de-db-fv-2026:469041"
GUETERSLOH = "de-db-fv-2026:87584"
HAMBURG = "53.5528,10.0067"  # Hamburg Hbf forecourt
TRAINS_ONLY = "HIGHSPEED_RAIL,LONG_DISTANCE,NIGHT_RAIL,REGIONAL_RAIL,REGIONAL_FAST_RAIL,SUBURBAN"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    # many requests from one test client: no per-client rate limit here
    settings = load_settings(env={}, feeds=(str(DEMO_FEED),), date=DAY, client_rate_per_minute=0)
    with TestClient(create_app(settings)) as c:
        yield c


def get(client: TestClient, version: int, op: str = "plan", **params: Any) -> dict[str, Any]:
    """A 200 answer of ``/api/v{version}/{op}``, validated against MOTIS's spec."""
    if op == "plan":
        params.setdefault("time", f"{DAY}T08:00:00+02:00")
    r = client.get(f"/api/v{version}/{op}", params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert_valid(version, f"/api/v{version}/{op}", body)
    return body


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def transit_legs(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [leg for it in body["itineraries"] for leg in it["legs"] if "tripId" in leg]


SPREAD = [
    {"fromPlace": BIELEFELD, "toPlace": PADERBORN},
    {"fromPlace": "52.0275,8.5327", "toPlace": "51.9069,8.3894", "numItineraries": 2},
    {"fromPlace": BIELEFELD, "toPlace": GUETERSLOH, "arriveBy": "true",
     "time": f"{DAY}T12:00:00+02:00"},
    {"fromPlace": BIELEFELD, "toPlace": HAMBURG, "transitModes": "HIGHSPEED_RAIL"},
    {"fromPlace": BIELEFELD, "toPlace": HAMBURG, "transitModes": "LONG_DISTANCE,NIGHT_RAIL"},
    {"fromPlace": "52.0275,8.5327", "toPlace": "52.0300,8.5300", "transitModes": ""},
    {"fromPlace": "52.0275,8.5327", "toPlace": "52.0350,8.5420",
     "directModes": "WALK,BIKE,CAR", "transitModes": ""},
    {"fromPlace": BIELEFELD, "toPlace": PADERBORN, "detailedLegs": "false",
     "detailedTransfers": "false", "language": "de"},
]


@pytest.mark.parametrize("version", [1, 5, 6])
@pytest.mark.parametrize("params", SPREAD, ids=range(len(SPREAD)))
def test_every_plan_answer_validates_against_motis_spec(client: TestClient, version: int,
                                                        params: dict[str, Any]) -> None:
    body = get(client, version, **params)
    assert body["itineraries"] or body["direct"]
    for page in ("previousPageCursor", "nextPageCursor"):
        if body[page]:
            assert_valid(version, f"/api/v{version}/plan",
                         get(client, version, fromPlace=params["fromPlace"],
                             toPlace=params["toPlace"], pageCursor=body[page]))


def test_versions_differ_where_motis_versions_differ(client: TestClient) -> None:
    v1, v5, v6 = (get(client, v, fromPlace=BIELEFELD, toPlace=PADERBORN) for v in (1, 5, 6))
    for body, precision in ((v1, 7), (v5, 6), (v6, 6)):
        leg = transit_legs(body)[0]
        assert leg["legGeometry"]["precision"] == precision
        first = decode_polyline(leg["legGeometry"]["points"], precision)[0]
        assert haversine_m(*first, leg["from"]["lat"], leg["from"]["lon"]) < 1
    assert "displayName" not in transit_legs(v1)[0]
    assert transit_legs(v5)[0]["displayName"] == transit_legs(v5)[0]["routeShortName"]
    assert all(leg["from"]["level"] == 0 for leg in transit_legs(v5))
    assert isinstance(transit_legs(v1)[0]["routeType"], str)
    # maxTransfers counted one higher on v1: 1 there is 0 on v5
    direct_v5 = get(client, 5, fromPlace=BIELEFELD, toPlace=PADERBORN, maxTransfers=0)
    direct_v1 = get(client, 1, fromPlace=BIELEFELD, toPlace=PADERBORN, maxTransfers=1)
    assert [it["startTime"] for it in direct_v1["itineraries"]] == \
        [it["startTime"] for it in direct_v5["itineraries"]]
    assert all(it["transfers"] == 0 for it in direct_v5["itineraries"])


def test_legs_carry_real_trip_values(client: TestClient) -> None:
    body = get(client, 6, fromPlace=BIELEFELD, toPlace=PADERBORN)
    for it in body["itineraries"]:
        assert it["id"] and it["legs"]
    for leg in transit_legs(body):
        assert leg["scheduled"] is True and leg["cancelled"] is False
        assert leg["displayName"] and leg["agencyId"].startswith("de-db-fv-2026:")
        assert leg["agencyUrl"].startswith("http")
        feed_file, line = leg["source"].rsplit(":", 1)
        assert feed_file == "de-db-fv-2026/trips.txt" and int(line) >= 2
        assert ts(leg["tripFrom"]["departure"]) <= ts(leg["startTime"])
        assert ts(leg["tripTo"]["arrival"]) >= ts(leg["endTime"])
        assert leg["from"]["tz"] == "Europe/Berlin"
        assert leg["from"]["pickupType"] == "NORMAL" and leg["to"]["dropoffType"] == "NORMAL"
        assert leg["mode"] in ("HIGHSPEED_RAIL", "LONG_DISTANCE", "NIGHT_RAIL")
    tracks = [leg["from"] for leg in transit_legs(body) if "track" in leg["from"]]
    assert all(p["track"] == p["scheduledTrack"] for p in tracks)


def test_num_itineraries_is_a_minimum_and_the_window_widens(client: TestClient) -> None:
    # Bielefeld -> Paderborn is served a few times a day: the 900 s window alone holds
    # fewer than 5; the default request widens the window until it has them (or hits the
    # server's widest window)
    only = get(client, 5, fromPlace=BIELEFELD, toPlace=PADERBORN, numItineraries=0,
               searchWindow=900)
    later = [it for it in only["itineraries"]
             if (ts(it["startTime"]) - ts(f"{DAY}T08:00:00+02:00")).total_seconds() > 900]
    assert len(later) <= 1  # no widening: the window, or the first journey after it
    assert len(only["itineraries"]) < 5
    body = get(client, 5, fromPlace=BIELEFELD, toPlace=PADERBORN)  # searchWindow 900
    widest = get(client, 5, fromPlace=BIELEFELD, toPlace=PADERBORN, numItineraries=0,
                 searchWindow=client.app.state.runtime.settings.max_search_window)
    assert len(body["itineraries"]) >= min(5, len(widest["itineraries"]))
    assert len(body["itineraries"]) > len(only["itineraries"])
    starts = [ts(it["startTime"]) for it in body["itineraries"]]
    assert starts == sorted(starts) and (starts[-1] - starts[0]).total_seconds() > 900
    capped = get(client, 5, fromPlace=BIELEFELD, toPlace=PADERBORN, maxItineraries=2)
    assert len(capped["itineraries"]) == 2


def test_pages_are_never_empty_while_journeys_exist(client: TestClient) -> None:
    first = get(client, 5, fromPlace=BIELEFELD, toPlace=PADERBORN, numItineraries=2)
    before = get(client, 5, fromPlace=BIELEFELD, toPlace=PADERBORN, numItineraries=2,
                 pageCursor=first["previousPageCursor"])
    after = get(client, 5, fromPlace=BIELEFELD, toPlace=PADERBORN, numItineraries=2,
                pageCursor=first["nextPageCursor"])
    assert before["itineraries"] and after["itineraries"]
    assert max(ts(i["startTime"]) for i in before["itineraries"]) < \
        min(ts(i["startTime"]) for i in first["itineraries"])
    assert min(ts(i["startTime"]) for i in after["itineraries"]) > \
        max(ts(i["startTime"]) for i in first["itineraries"])


def test_transit_modes_filter_by_class(client: TestClient) -> None:
    ice = transit_legs(get(client, 5, fromPlace=BIELEFELD, toPlace=HAMBURG,
                           transitModes="HIGHSPEED_RAIL"))
    assert ice and {leg["mode"] for leg in ice} == {"HIGHSPEED_RAIL"}
    assert all(leg["routeShortName"].startswith("ICE") for leg in ice)
    ic = transit_legs(get(client, 5, fromPlace=BIELEFELD, toPlace=HAMBURG,
                          transitModes="LONG_DISTANCE"))
    assert ic and {leg["mode"] for leg in ic} == {"LONG_DISTANCE"}
    trains = get(client, 5, fromPlace=BIELEFELD, toPlace=PADERBORN, transitModes=TRAINS_ONLY)
    assert trains["itineraries"]  # GNOME's "trains only" finds the DB trains
    bus = get(client, 5, fromPlace=BIELEFELD, toPlace=PADERBORN, transitModes="BUS,COACH")
    assert bus["itineraries"] == []


def test_bike_and_car_are_direct_access_and_egress_modes(client: TestClient) -> None:
    direct = get(client, 5, fromPlace="52.0275,8.5327", toPlace="52.0350,8.5420",
                 directModes="WALK,BIKE,CAR", transitModes="")["direct"]
    by_mode = {d["legs"][0]["mode"]: d["duration"] for d in direct}
    assert set(by_mode) == {"WALK", "BIKE", "CAR"}
    assert by_mode["BIKE"] < by_mode["WALK"]
    slow = get(client, 5, fromPlace="52.0275,8.5327", toPlace="52.0350,8.5420",
               directModes="BIKE", transitModes="", cyclingSpeed=2.0)["direct"]
    assert slow[0]["duration"] > by_mode["BIKE"]
    # 6.5 km from Bielefeld Hbf: beyond 45 min of walking, within 45 min on a bike
    far = "52.0750,8.5900"
    walked = get(client, 5, fromPlace=far, toPlace=PADERBORN, maxPreTransitTime=2700)
    ridden = get(client, 5, fromPlace=far, toPlace=PADERBORN, preTransitModes="WALK,BIKE",
                 maxPreTransitTime=2700)
    assert walked["itineraries"] == []
    assert ridden["itineraries"] and ridden["itineraries"][0]["legs"][0]["mode"] == "BIKE"


def test_require_bike_transport_uses_bikes_allowed(client: TestClient) -> None:
    # de-db-fv-2026 has no bikes_allowed column: no trip is known to carry bikes (nigiri
    # reads only 1 as allowed), so no transit itinerary is offered with a bike
    plain = get(client, 5, fromPlace=BIELEFELD, toPlace=PADERBORN)
    bike = get(client, 5, fromPlace=BIELEFELD, toPlace=PADERBORN, requireBikeTransport="true")
    assert plain["itineraries"] and bike["itineraries"] == []
    assert all(leg["bikesAllowed"] is False for leg in transit_legs(plain))


@pytest.mark.parametrize(("params", "named"), [
    ({"directModes": "WALK,CAR_PARKING"}, "directModes"),
    ({"preTransitModes": "FLEX"}, "preTransitModes"),
    ({"transitModes": "ODM"}, "transitModes"),
    ({"transitModes": "WALK"}, "transitModes"),
    ({"via": BIELEFELD}, "via"),
    ({"pedestrianProfile": "WHEELCHAIR"}, "pedestrianProfile"),
    ({"transferTimeFactor": "2"}, "transferTimeFactor"),
    ({"maxTransfers": "-1"}, "maxTransfers"),
    ({"numItineraries": "many"}, "numItineraries"),
    ({"preTransitModes": "RENTAL"}, "preTransitModes"),  # this server has no GBFS feed
    ({"time": "tomorrow"}, "time"),
])
def test_unsupported_modes_and_bad_values_get_a_400_naming_them(
        client: TestClient, params: dict[str, str], named: str) -> None:
    params = {"fromPlace": BIELEFELD, "toPlace": PADERBORN, **params}
    r = client.get("/api/v5/plan", params=params)
    assert r.status_code == 400, r.text
    assert r.json()["parameter"] == named and named in r.json()["error"]


def test_values_motis_accepts_are_answered(client: TestClient) -> None:
    for extra in ({"pedestrianSpeed": 0}, {"numItineraries": 0}, {"searchWindow": 0},
                  {"elevationCosts": "HIGH"}, {"withFares": "true"}, {"timetableView": "false"},
                  {"algorithm": "RAPTOR"}, {"passengers": 2}, {"maxMatchingDistance": 5}):
        get(client, 6, fromPlace=BIELEFELD, toPlace=PADERBORN, **extra)


def test_trip_returns_the_legs_run_as_an_itinerary(client: TestClient) -> None:
    leg = transit_legs(get(client, 5, fromPlace=BIELEFELD, toPlace=PADERBORN))[0]
    for version in (5, 6):
        trip = get(client, version, "trip", tripId=leg["tripId"])
        (whole,) = trip["legs"]
        assert whole["tripId"] == leg["tripId"]
        assert whole["from"]["stopId"] == leg["tripFrom"]["stopId"]
        assert whole["to"]["stopId"] == leg["tripTo"]["stopId"]
        stops = [whole["from"]["stopId"], *(s["stopId"] for s in whole["intermediateStops"]),
                 whole["to"]["stopId"]]
        assert leg["from"]["stopId"] in stops and leg["to"]["stopId"] in stops
    r = client.get("/api/v5/trip", params={"tripId": "20260420_no-such-trip"})
    assert r.status_code == 404 and r.json()["parameter"] == "tripId"


# --- the exact requests of KDE Itinerary and GNOME Maps -----------------------------------

def test_kde_itinerary_request_is_answered_with_what_it_parses(client: TestClient) -> None:
    body = get(client, 5, fromPlace="52.029200,8.532800,0", toPlace=PADERBORN,
               time="2026-04-20T06:00:00Z", detailedTransfers="true", detailedLegs="true",
               transitModes="TRANSIT", directModes="WALK,BIKE", preTransitModes="WALK",
               postTransitModes="WALK", numItineraries=5, arriveBy="false", language="de",
               requireBikeTransport="false")
    assert len(body["itineraries"]) >= 3  # all within the widest window (see above)
    leg = transit_legs(body)[0]
    for key in ("mode", "from", "to", "headsign", "tripId", "routeShortName", "displayName",
                "routeColor", "agencyName", "intermediateStops", "legGeometry", "realTime",
                "cancelled"):
        assert key in leg
    for key in ("name", "stopId", "lat", "lon", "departure", "scheduledDeparture"):
        assert key in leg["from"]
    assert ts(body["itineraries"][0]["startTime"]) >= ts("2026-04-20T06:00:00Z")
    assert body["nextPageCursor"] and body["previousPageCursor"]
    trip = get(client, 5, "trip", tripId=leg["tripId"])
    assert trip["legs"][0]["displayName"] == leg["displayName"]


def test_gnome_maps_trains_only_and_arrive_by(client: TestClient) -> None:
    body = get(client, 5, fromPlace="52.0292,8.5328", toPlace="51.7154,8.7522",
               time="2026-04-20T10:00:00+02:00", transitModes=TRAINS_ONLY,
               language="de", maxMatchingDistance=250)
    assert body["itineraries"]
    assert all(leg["displayName"] and leg["from"]["tz"] for leg in transit_legs(body))
    arrive = get(client, 5, fromPlace=BIELEFELD, toPlace=PADERBORN, arriveBy="true",
                 time="2026-04-20T12:00:00+02:00", language="de")
    assert arrive["itineraries"]
    assert all(ts(it["endTime"]) <= ts("2026-04-20T12:00:00+02:00")
               for it in arrive["itineraries"])


# --- rentals on de-db-fv-2026 + TIER Wolfsburg ----------------------------------------------

@pytest.mark.skipif(not TIER.is_dir(), reason="TIER Wolfsburg GBFS missing")
def test_rental_itineraries_validate_and_follow_form_factors(
        rental_client: TestClient, server: GbfsServer) -> None:  # noqa: F811
    fresh_feed(rental_client, server)
    params = {"fromPlace": BIELEFELD, "toPlace": f"{DEST[0]:.6f},{DEST[1]:.6f}",
              "postTransitModes": "WALK,RENTAL", "maxPostTransitTime": 2700,
              "numItineraries": 2}
    body = get(rental_client, 5, **params)
    rentals = [leg for it in body["itineraries"] for leg in it["legs"]
               if leg["mode"] == "RENTAL"]
    assert rentals
    for leg in rentals:
        assert leg["rental"]["providerId"] and leg["rental"]["providerGroupId"]
        assert leg["rental"]["formFactor"] in ("SCOOTER_STANDING", "BICYCLE")
    assert_valid(6, "/api/v6/plan", get(rental_client, 6, **params))
    cars = get(rental_client, 5, **params, postTransitRentalFormFactors="CAR")
    assert not [leg for it in cars["itineraries"] for leg in it["legs"]
                if leg["mode"] == "RENTAL"]
    human = get(rental_client, 5, **params, postTransitRentalPropulsionTypes="HUMAN")
    assert all(leg["rental"]["propulsionType"] == "HUMAN"
               for it in human["itineraries"] for leg in it["legs"] if leg["mode"] == "RENTAL")
    provider = rentals[0]["rental"]["providerId"]
    mine = get(rental_client, 5, **params, postTransitRentalProviders=provider)
    assert [leg for it in mine["itineraries"] for leg in it["legs"] if leg["mode"] == "RENTAL"]
