"""``geocode`` and ``reverse-geocode`` with an OSM extract loaded (issue 15), over HTTP.

The demo feed (de-db-fv-2026: Frankfurt and Darmstadt Hbf among its stations) with the
Frankfurt–Darmstadt extract: stops, addresses and places come back mixed and ranked,
every body valid against MOTIS's OpenAPI files. A broken or an empty extract is reported
in health while stop search keeps answering.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import osmium
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.runtime import runtime_of
from api.settings import load_settings
from feeds.demo import DEMO_FEED
from tests.motis_spec import assert_valid
from tests.shared_data import shared

FRANKFURT = "gbfs-de-callabike-darmstadt/osm/frankfurt-darmstadt-test_case.osm.pbf"
DAY = "2026-04-20"


def serve(osm: Path, tmp: Path) -> TestClient:
    settings = load_settings(env={}, feeds=(str(DEMO_FEED),), date=DAY, gbfs_config="",
                             osm=(str(osm),), cache_dir=str(tmp / "cache"),
                             search_deadline=30.0)
    return TestClient(create_app(settings))


def get(client: TestClient, path: str, **params: Any) -> Any:
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    for version in (5, 6):
        assert_valid(version, path, body)
    return body


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with serve(shared(FRANKFURT), tmp_path_factory.mktemp("places")) as c:
        assert runtime_of(c.app).places.ready.wait(120)
        yield c


def test_an_address_has_motis_street_house_number_zip_and_areas(client: TestClient) -> None:
    hits = get(client, "/api/v1/geocode", text="Münchener Straße 46")
    top = hits[0]
    assert top["type"] == "ADDRESS" and top["name"] == "Münchener Straße 46"
    assert (top["street"], top["houseNumber"], top["zip"]) == \
        ("Münchener Straße", "46", "60329")
    assert top["areas"] == [{"name": "Frankfurt am Main", "adminLevel": 8.0,
                             "matched": False, "default": True}]
    assert top["tokens"] == [[0.0, 9.0], [10.0, 6.0], [17.0, 2.0]]
    assert top["match"] == "exact" and top["id"].startswith("osm:")


def test_stops_places_and_addresses_come_mixed_and_ranked(client: TestClient) -> None:
    hits = get(client, "/api/v1/geocode", text="Darmstadt", numResults=20)
    types = [h["type"] for h in hits]
    assert types[0] == "STOP" and "PLACE" in types  # the station, then Darmstadt's places
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    stop = hits[0]
    # The stop's town from the extract: the municipality of the nearest address.
    assert stop["areas"][0]["name"] == "Darmstadt" and stop["areas"][0]["matched"]
    assert 0 < stop["importance"] <= 1 and stop["modes"]


def test_type_filters_each_kind(client: TestClient) -> None:
    for text, kind in (("Darmstadt", "STOP"), ("Darmstadt", "PLACE"),
                       ("Hauptbahnhof", "ADDRESS")):
        hits = get(client, "/api/v1/geocode", text=text, type=kind, numResults=20)
        assert hits and {h["type"] for h in hits} == {kind}, kind
    both = get(client, "/api/v1/geocode", text="Hauptbahnhof", type="ADDRESS,PLACE",
               numResults=20)
    assert {h["type"] for h in both} == {"ADDRESS", "PLACE"}


def test_place_bias_pulls_the_nearer_of_equal_places(client: TestClient) -> None:
    """Two McDonald's of the extract: the one near the bias point comes first."""
    plain = get(client, "/api/v1/geocode", text="McDonald's", type="PLACE")
    assert len([h for h in plain if h["name"] == "McDonald's"]) == 2
    for h in plain[:2]:
        biased = get(client, "/api/v1/geocode", text="McDonald's", type="PLACE",
                     place=f"{h['lat']},{h['lon']}")
        assert (biased[0]["lat"], biased[0]["lon"]) == (h["lat"], h["lon"])


def test_stops_of_equal_match_rank_by_departures(client: TestClient) -> None:
    hits = get(client, "/api/v1/geocode", text="Hbf", type="STOP", numResults=50)
    for a, b in zip(hits, hits[1:], strict=False):
        if a["score"] == b["score"]:
            assert a["importance"] >= b["importance"], (a["name"], b["name"])
    assert max(h["importance"] for h in hits) == 1.0  # the busiest station of the feed


def test_reverse_geocoding_mixes_addresses_places_and_stops(client: TestClient) -> None:
    address = get(client, "/api/v1/geocode", text="Münchener Straße 46")[0]
    near = get(client, "/api/v1/reverse-geocode", place=f"{address['lat']},{address['lon']}",
               numResults=10)
    assert near[0]["name"] == "Münchener Straße 46" and near[0]["distance"] < 1
    assert {"ADDRESS", "STOP"} <= {h["type"] for h in near}
    dists = [h["distance"] for h in near]
    assert dists == sorted(dists)
    only_stops = get(client, "/api/v1/reverse-geocode",
                     place=f"{address['lat']},{address['lon']}", type="STOP")
    assert only_stops and {h["type"] for h in only_stops} == {"STOP"}


def test_health_reports_the_loaded_places(client: TestClient) -> None:
    places = client.get("/api/v1/health").json()["places"]
    assert places["status"] == "ready" and places["addresses"] > 100


def _empty_extract(path: Path) -> Path:
    with osmium.SimpleWriter(str(path)):
        pass
    return path


@pytest.mark.parametrize(("make", "status", "says"), [
    (lambda p: (p.write_bytes(b"\x00\x00\x00\x0enot a pbf file" * 40), p)[1], "failed",
     "extract.osm.pbf"),
    (_empty_extract, "empty", "no named streets, addresses or places"),
])
def test_a_broken_or_empty_extract_is_reported_and_stops_still_answer(
        tmp_path: Path, make: Any, status: str, says: str) -> None:
    osm = make(tmp_path / "extract.osm.pbf")
    with serve(osm, tmp_path) as c:
        assert runtime_of(c.app).places.ready.wait(60)
        health = c.get("/api/v1/health").json()
        assert health["places"]["status"] == status and health["status"] == "degraded"
        assert says in health["places"]["error"]
        assert str(tmp_path) not in health["places"]["error"]  # names, not paths
        hits = get(c, "/api/v1/geocode", text="Frankfurt Hbf")
        assert hits and hits[0]["type"] == "STOP"
        assert get(c, "/api/v1/geocode", text="Frankfurt Hbf", type="ADDRESS") == []
