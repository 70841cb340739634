"""MOTIS's geocode, reverse-geocode, map, health and rentals operations on real data.

de-db-fv-2026 (the demo feed) with the TIER Wolfsburg GBFS snapshot served over
loopback; the GBFS clock starts at the snapshot's time so it counts as current. Every
200 body is validated against MOTIS's OpenAPI file that describes the path.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.runtime import runtime_of
from api.settings import load_settings
from feeds.demo import DEMO_FEED
from planner.multimodal.geometry import haversine_m
from tests.motis_spec import assert_valid
from tests.servers import serve_directory
from tests.shared_data import SHARED

TIER = SHARED / "gbfs-de-tier-wolfsburg"
DAY = "2026-04-20"
BIELEFELD = "de-db-fv-2026:347953"
WOLFSBURG_BOX = {"min": "52.40,10.70", "max": "52.46,10.84"}
pytestmark = pytest.mark.skipif(not TIER.is_dir(), reason="../shared/data TIER GBFS missing")


def tier_bikes() -> list[dict[str, Any]]:
    bikes: list[dict[str, Any]] = json.loads(
        (TIER / "free_bike_status.json").read_text())["data"]["bikes"]
    return bikes


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    last_updated = float(json.loads((TIER / "free_bike_status.json").read_text())
                         ["last_updated"])
    with serve_directory(TIER) as gbfs:
        settings = load_settings(env={}, feeds=(str(DEMO_FEED),), date=DAY, gbfs_config="",
                                 gbfs=(f"{gbfs.base}/gbfs.json",), gbfs_resolve="manifest",
                                 gbfs_epoch=last_updated, gbfs_min_interval=3600.0,
                                 search_deadline=30.0)
        with TestClient(create_app(settings)) as c:
            (feed,) = runtime_of(c.app).sharing.feeds
            deadline = time.monotonic() + 30
            while feed.last_success is None:
                assert time.monotonic() < deadline, feed.last_error
                time.sleep(0.05)
            yield c


def get(client: TestClient, version: int, path: str, **params: Any) -> Any:
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert_valid(version, path, body)
    return body


# --- geocode -----------------------------------------------------------------------------


def test_geocode_matches_carry_tokens_areas_modes_and_score(client: TestClient) -> None:
    hits = get(client, 6, "/api/v1/geocode", text="Bielefeld Hbf")
    top = hits[0]
    assert top["name"] == "Bielefeld Hbf" and top["type"] == "STOP"
    assert top["tokens"] == [[0.0, 9.0], [10.0, 3.0]]  # "Bielefeld", "Hbf"
    # No OSM extract loaded: the town is the configured [[town]] whose box holds the stop.
    assert top["areas"] == [{"name": "Bielefeld", "adminLevel": 8.0, "matched": True,
                             "default": True}]
    assert top["tz"] == "Europe/Berlin"
    assert {"HIGHSPEED_RAIL", "LONG_DISTANCE"} <= set(top["modes"])
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)


def test_geocode_num_results_and_type(client: TestClient) -> None:
    assert len(get(client, 6, "/api/v1/geocode", text="Berlin", numResults=3)) == 3
    assert len(get(client, 6, "/api/v1/geocode", text="Berlin", numResults=1000)) <= 50
    assert get(client, 6, "/api/v1/geocode", text="Berlin", type="ADDRESS") == []
    assert get(client, 6, "/api/v1/geocode", text="Berlin", type="STOP")
    r = client.get("/api/v1/geocode", params={"text": "Berlin", "numResults": 0})
    assert r.status_code == 400 and r.json()["parameter"] == "numResults"
    r = client.get("/api/v1/geocode", params={"text": "Berlin", "type": "CITY"})
    assert r.status_code == 400 and r.json()["parameter"] == "type"


def test_place_bias_prefers_the_nearer_of_equal_matches(client: TestClient) -> None:
    unbiased = get(client, 6, "/api/v1/geocode", text="Hbf", numResults=50)
    assert len({h["score"] for h in unbiased}) < len(unbiased)  # ties exist
    near_bielefeld = get(client, 6, "/api/v1/geocode", text="Hbf", numResults=3,
                         place="52.03,8.53")
    assert near_bielefeld[0]["name"] == "Bielefeld Hbf"
    near_munich = get(client, 6, "/api/v1/geocode", text="Hbf", numResults=3,
                      place="48.14,11.56", placeBias=2)
    assert near_munich[0]["name"].startswith("München")


def test_geocode_mode_and_box_filters(client: TestClient) -> None:
    night = get(client, 6, "/api/v1/geocode", text="Hbf", numResults=50, mode="NIGHT_RAIL")
    assert night and all("NIGHT_RAIL" in h["modes"] for h in night)
    boxed = get(client, 6, "/api/v1/geocode", text="Hbf", numResults=50,
                min="51.5,7.5", max="52.5,9.5")
    assert boxed and all(51.5 <= h["lat"] <= 52.5 and 7.5 <= h["lon"] <= 9.5 for h in boxed)


def test_reverse_geocode_scores_nearest_first(client: TestClient) -> None:
    hits = get(client, 6, "/api/v1/reverse-geocode", place="52.0290,8.5327", numResults=3)
    assert len(hits) == 3 and hits[0]["name"] == "Bielefeld Hbf"
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert get(client, 6, "/api/v1/reverse-geocode", place="52.0290,8.5327",
               type="ADDRESS") == []
    default = get(client, 6, "/api/v1/reverse-geocode", place="52.0290,8.5327")
    assert len(default) == 5  # MOTIS's default


# --- map ---------------------------------------------------------------------------------


def test_map_stops_lists_served_stops_inside_the_box(client: TestClient) -> None:
    box = {"min": "51.9,8.3", "max": "52.1,8.7"}
    v6 = get(client, 6, "/api/v6/map/stops", **box)
    assert v6 and all(51.9 <= p["lat"] <= 52.1 and 8.3 <= p["lon"] <= 8.7 for p in v6)
    assert all(p["modes"] and "level" not in p for p in v6)
    v1 = get(client, 5, "/api/v1/map/stops", min=box["max"], max=box["min"])  # swapped
    assert [p["stopId"] for p in v1] == [p["stopId"] for p in v6]
    assert all(p["level"] == 0 for p in v1)
    grouped = get(client, 6, "/api/v6/map/stops", grouped="true", **box)
    assert all("parentId" not in p for p in grouped)
    assert "Bielefeld Hbf" in {p["name"] for p in grouped}
    night = get(client, 6, "/api/v6/map/stops", modes="NIGHT_RAIL", **box)
    assert all("NIGHT_RAIL" in p["modes"] for p in night)
    bad = client.get("/api/v6/map/stops", params={"min": "x", "max": "52,8"})
    assert bad.status_code == 400 and bad.json()["parameter"] == "min"


def test_map_initial_centres_on_the_stops(client: TestClient) -> None:
    body = get(client, 6, "/api/v1/map/initial")
    assert 47 < body["lat"] < 55 and 5 < body["lon"] < 16  # Germany
    assert 3 <= body["zoom"] <= 8
    assert body["serverConfig"]["maxOneToManySize"] > 0


def test_map_levels_without_indoor_data_is_empty(client: TestClient) -> None:
    assert get(client, 6, "/api/v1/map/levels", min="51.9,8.3", max="52.1,8.7") == []
    assert client.get("/api/v1/map/levels", params={"min": "a", "max": "b"}).status_code == 400


def test_health_says_gbfs_was_consumed_and_no_realtime(client: TestClient) -> None:
    body = get(client, 6, "/api/v1/health")
    assert body["gbfs"] is True and body["rt"] is False


# --- rentals -----------------------------------------------------------------------------


def test_rentals_list_the_tier_vehicles_in_the_box(client: TestClient) -> None:
    body = get(client, 6, "/api/v1/rentals", **WOLFSBURG_BOX)
    (provider,) = body["providers"]
    assert provider["groupId"] == provider["id"] == body["providerGroups"][0]["id"]
    expected = {b["bike_id"] for b in tier_bikes()
                if not b.get("is_reserved") and not b.get("is_disabled")
                and 52.40 <= b["lat"] <= 52.46 and 10.70 <= b["lon"] <= 10.84}
    got = {v["id"] for v in body["vehicles"]}
    assert got == expected and got
    assert all(v["providerId"] == provider["id"] for v in body["vehicles"])
    assert {v["formFactor"] for v in body["vehicles"]} <= set(provider["formFactors"])


def test_rentals_filters(client: TestClient) -> None:
    around = get(client, 6, "/api/v1/rentals", point="52.4295,10.7878", radius=300)
    assert all(haversine_m(52.4295, 10.7878, v["lat"], v["lon"]) <= 300
               for v in around["vehicles"])
    none = get(client, 6, "/api/v1/rentals", providers="no-such-provider")
    assert none["providers"] == [] and none["vehicles"] == []
    bare = get(client, 6, "/api/v1/rentals", withVehicles="false", withZones="false")
    assert bare["vehicles"] == [] and bare["providers"]


def test_kde_itinerary_map_requests(client: TestClient) -> None:
    """KPublicTransport: map/stops and map/rentals with a box and the with* switches,
    geocode with type/numResults/place, reverse-geocode with numResults and type."""
    stops = get(client, 5, "/api/v1/map/stops", min="52.40,10.70", max="52.46,10.84")
    assert any(p["name"].startswith("Wolfsburg") for p in stops)
    rentals = client.get("/api/v1/map/rentals", params={
        **WOLFSBURG_BOX, "withProviders": "true", "withVehicles": "true",
        "withStations": "true", "withZones": "false"})
    assert rentals.status_code == 200
    body = rentals.json()
    assert_valid(6, "/api/v1/rentals", body)
    assert body["vehicles"] and body["zones"] == []
    hits = get(client, 6, "/api/v1/geocode", text="Wolfsburg", numResults=5, type="STOP",
               place="52.42,10.78", language="de")
    assert hits and hits[0]["name"].startswith("Wolfsburg")
    near = get(client, 6, "/api/v1/reverse-geocode", place="52.4295,10.7878",
               numResults=2, type="STOP")
    assert len(near) == 2 and near[0]["name"].startswith("Wolfsburg")
