"""``numItineraries``: MOTIS's minimum on v5/v6, this server's bound on /api/v1.

MOTIS widens the window until it holds ``numItineraries`` and returns every itinerary of
that window (``maxItineraries`` bounds them); the v1 API, as issue 17 asked, never
returns more than the count. Demo feed, Bielefeld Hbf -> Hamm, 2 h window at 08:00."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import load_settings
from feeds.demo import DEMO_FEED

PARAMS = {"fromPlace": "de-db-fv-2026:347953", "toPlace": "de-db-fv-2026:8000149",
          "time": "2026-04-20T08:00:00+02:00", "searchWindow": 7200, "numItineraries": 1}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(load_settings(env={}, feeds=(str(DEMO_FEED),),
                                             date="2026-04-20"))) as c:
        yield c


def test_v5_and_v6_return_every_itinerary_of_the_window(client: TestClient) -> None:
    hamm = client.get("/api/v1/geocode", params={"text": "Hamm(Westf)Hbf"}).json()[0]["id"]
    params = {**PARAMS, "toPlace": hamm}
    for path in ("/api/v5/plan", "/api/v6/plan"):
        its = client.get(path, params=params).json()["itineraries"]
        assert len(its) > 1, path  # a 2 h window between Bielefeld and Hamm has several
        capped = client.get(path, params={**params, "maxItineraries": 1}).json()
        assert len(capped["itineraries"]) == 1
    v1 = client.get("/api/v1/plan", params=params).json()["itineraries"]
    assert len(v1) == 1


def test_v5_arrive_by_returns_every_arrival_of_the_window(client: TestClient) -> None:
    hamm = client.get("/api/v1/geocode", params={"text": "Hamm(Westf)Hbf"}).json()[0]["id"]
    params = {**PARAMS, "toPlace": hamm, "arriveBy": "true",
              "time": "2026-04-20T12:00:00+02:00"}
    its = client.get("/api/v5/plan", params=params).json()["itineraries"]
    assert len(its) > 1
    assert all(it["endTime"] <= "2026-04-20T12:00:00+02:00" for it in its)
    assert len(client.get("/api/v1/plan", params=params).json()["itineraries"]) == 1
