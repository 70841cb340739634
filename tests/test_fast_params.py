"""/api/v1/plan reads its declared parameters without pydantic where they are plain
(api.fast_params), and answers exactly as FastAPI's own parsing does: the same body for
a value written plainly (fast) and in a way only pydantic reads (``+5``, ``TRUE``), the
same 422 for what is out of bounds, missing or unreadable. Demo feed, 2026-04-20."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.fast_params import fast_query
from api.settings import load_settings
from feeds.demo import DEMO_FEED

BIELEFELD, PADERBORN = "de-db-fv-2026:347953", "de-db-fv-2026:469041"
BASE = {"fromPlace": BIELEFELD, "toPlace": PADERBORN, "time": "2026-04-20T08:00:00+02:00"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    settings = load_settings(env={}, feeds=(str(DEMO_FEED),), date="2026-04-20",
                             cache_dir=str(tmp_path_factory.mktemp("cache")))
    with TestClient(create_app(settings)) as c:
        yield c


def body(c: TestClient, **params: str) -> dict:
    r = c.get("/api/v1/plan", params={**BASE, **params})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize(("plain", "pydantic_only"), [
    ({"numItineraries": "2"}, {"numItineraries": "+2"}),
    ({"arriveBy": "true"}, {"arriveBy": "TRUE"}),
    ({"pedestrianSpeed": "1.5"}, {"pedestrianSpeed": "1.5e0"}),
    ({"searchWindow": "3600", "maxTransfers": "1"},
     {"searchWindow": " 3600", "maxTransfers": "01"}),
])
def test_plain_values_answer_as_fastapi_reads_them(client: TestClient, plain: dict,
                                                   pydantic_only: dict) -> None:
    assert body(client, **plain) == body(client, **pydantic_only)


@pytest.mark.parametrize(("params", "parameter"), [
    ({"numItineraries": "11"}, "numItineraries"),  # above le=10
    ({"pedestrianSpeed": "0.1"}, "pedestrianSpeed"),  # below ge=0.3
    ({"maxTransfers": "two"}, "maxTransfers"),
    ({"fromPlace": ""}, "fromPlace"),  # min_length=1
    ({"toPlace": "x" * 201}, "toPlace"),  # max_length=200
])
def test_bad_values_get_fastapis_422_naming_the_parameter(client: TestClient, params: dict,
                                                         parameter: str) -> None:
    r = client.get("/api/v1/plan", params={**BASE, **params})
    assert r.status_code == 422 and r.json()["parameter"] == parameter, r.text


def test_a_missing_required_parameter_is_fastapis_422(client: TestClient) -> None:
    r = client.get("/api/v1/plan", params={"toPlace": PADERBORN})
    assert r.status_code == 422 and r.json()["parameter"] == "fromPlace", r.text


def test_routes_with_more_than_query_scalars_keep_fastapis_path() -> None:
    app = FastAPI()

    @app.get("/items")
    async def items(tags: list[str] | None = None) -> dict:  # a list is not a scalar
        return {"tags": tags}

    assert not fast_query(app, "/items")


def test_the_plan_route_takes_the_fast_path(client: TestClient) -> None:
    route = next(r for r in client.app.routes if getattr(r, "path", "") == "/api/v1/plan")
    assert route.app.__qualname__.startswith("fast_query.")


def test_the_openapi_document_still_lists_every_declared_parameter(client: TestClient,
                                                                   ) -> None:
    doc = client.get("/openapi.json").json()
    names = {p["name"] for p in doc["paths"]["/api/v1/plan"]["get"]["parameters"]}
    assert {"fromPlace", "toPlace", "numItineraries", "pedestrianSpeed"} <= names


