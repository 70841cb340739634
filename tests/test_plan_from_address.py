"""A plan from and to an address result's coordinates (issue 15 point 4), end to end.

VVS bus 751 (de-vvs-herrenberg) with the Böblingen extract that covers its northern
end: ``geocode`` finds the house "Brunnenstraße 31/1" of the extract, and a plan from
its coordinates starts with a walk from exactly that point to a stop of line 751; the
plan back ends with a walk to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.runtime import runtime_of
from api.settings import load_settings
from planner.multimodal.geometry import haversine_m
from tests.motis_spec import assert_valid
from tests.shared_data import shared

FEED = "de-vvs-herrenberg/vvs-bus-751-only.gtfs.zip"
OSM = "de-vvs-herrenberg/osm/boeblingen-minimal.osm.pbf"
DAY = "2020-06-09"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("plan-from-address")
    settings = load_settings(env={}, feeds=(str(shared(FEED)),), date=DAY, gbfs_config="",
                             osm=(str(shared(OSM)),), cache_dir=str(tmp / "cache"),
                             search_deadline=30.0)
    with TestClient(create_app(settings)) as c:
        assert runtime_of(c.app).places.ready.wait(60)
        yield c


def get(client: TestClient, path: str, **params: Any) -> Any:
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert_valid(5, path, body)
    return body


def test_a_plan_from_an_address_walks_from_its_point_to_the_bus(client: TestClient) -> None:
    (house,) = [m for m in get(client, "/api/v1/geocode", text="Brunnenstraße 31/1 Böblingen",
                               type="ADDRESS", numResults=1)]
    assert (house["street"], house["houseNumber"], house["zip"]) == \
        ("Brunnenstraße", "31/1", "71032")
    stop = get(client, "/api/v1/geocode", text="Altes Rathaus", type="STOP")[0]
    here = f"{house['lat']},{house['lon']}"
    body = get(client, "/api/v5/plan", fromPlace=here, toPlace=stop["id"],
               time=f"{DAY}T08:00:00+02:00")
    assert body["itineraries"], body.get("debugOutput")
    for it in body["itineraries"]:
        first = it["legs"][0]
        assert first["mode"] == "WALK"
        assert (first["from"]["lat"], first["from"]["lon"]) == (house["lat"], house["lon"])
        assert any(leg["mode"] == "BUS" for leg in it["legs"])
        boarding = next(leg for leg in it["legs"] if leg["mode"] == "BUS")["from"]
        # The walk ends where the bus is boarded, a few hundred metres from the house.
        assert (first["to"]["lat"], first["to"]["lon"]) == (boarding["lat"], boarding["lon"])
        assert haversine_m(house["lat"], house["lon"], boarding["lat"], boarding["lon"]) \
            < 1500
    back = get(client, "/api/v5/plan", fromPlace=stop["id"], toPlace=here,
               time=f"{DAY}T16:00:00+02:00")
    assert back["itineraries"]
    for it in back["itineraries"]:
        last = it["legs"][-1]
        assert last["mode"] == "WALK"
        assert (last["to"]["lat"], last["to"]["lon"]) == (house["lat"], house["lon"])
