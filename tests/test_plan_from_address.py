"""A plan from and to an address result's coordinates (issue 15 point 4), end to end.

VVS bus 751 (de-vvs-herrenberg) with the Böblingen extract that covers its northern
end: ``geocode`` finds the house "Brunnenstraße 31/1" of the extract, and a plan from
its coordinates starts with a walk from exactly that point to a stop of line 751; the
plan back ends with a walk to it. With the extract loaded that walk is on its streets:
its duration is the walk graph's time (computed here with scipy's Dijkstra on the graph
``Streets`` builds) and its geometry runs through street nodes; without the extract the
same plan walks the straight line x detour.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from scipy.sparse.csgraph import dijkstra

from api.app import create_app
from api.geo import decode_polyline
from api.runtime import runtime_of
from api.settings import load_settings
from planner.multimodal.geometry import haversine_m, haversine_m_array
from planner.multimodal.search import DETOUR
from planner.multimodal.streets import ModeGraph, StraightLine, Streets
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
        assert runtime_of(c.app).sharing.streets_ready.wait(120)
        assert runtime_of(c.app).sharing.streets_status == "osm"
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


#: A walker slower than the server's 4.5 km/h: the graph's times scale to it.
SPEED = 1.1


def _house(client: TestClient) -> tuple[float, float]:
    (house,) = get(client, "/api/v1/geocode", text="Brunnenstraße 31/1 Böblingen",
                   type="ADDRESS", numResults=1)
    return house["lat"], house["lon"]


def _first_walk(client: TestClient, here: tuple[float, float]) -> dict[str, Any]:
    stop = get(client, "/api/v1/geocode", text="Altes Rathaus", type="STOP")[0]
    body = get(client, "/api/v5/plan", fromPlace=f"{here[0]},{here[1]}", toPlace=stop["id"],
               time=f"{DAY}T08:00:00+02:00", pedestrianSpeed=SPEED)
    assert body["itineraries"], body.get("debugOutput")
    first: dict[str, Any] = body["itineraries"][0]["legs"][0]
    assert first["mode"] == "WALK"
    return first


def _walk_graph() -> ModeGraph:
    """The walk graph of the extract, built again here (the server walks at 4.5 km/h)."""
    model = StraightLine(speeds_kmh={**StraightLine().speeds_kmh, "walk": 4.5})
    return Streets.from_osm(shared(OSM), modes=("walk",), model=model).graphs["walk"]


def _on_graph(graph: ModeGraph, a: tuple[float, float], b: tuple[float, float]) -> float:
    """Seconds at ``SPEED`` from ``a`` to ``b``: the gaps to the nearest street nodes and
    scipy's Dijkstra between them."""
    (na, nb), gaps = graph.snap(np.array([a, b]), 400.0)
    assert na >= 0 and nb >= 0 and graph.component[na] == graph.component[nb]
    dist = dijkstra(graph.matrix, directed=True, indices=[int(na)])[0]
    return (float(dist[nb]) + float(gaps.sum()) / (4.5 / 3.6)) * (4.5 / 3.6) / SPEED


def test_the_walk_from_an_address_is_timed_and_drawn_on_the_streets(
    client: TestClient,
) -> None:
    here = _house(client)
    first = _first_walk(client, here)
    stop = (first["to"]["lat"], first["to"]["lon"])
    graph = _walk_graph()
    assert first["duration"] == math.ceil(_on_graph(graph, here, stop))
    crow = haversine_m(*here, *stop)
    assert first["duration"] >= crow / SPEED
    assert first["duration"] != math.ceil(crow * DETOUR / SPEED)  # not the old estimate
    # The geometry: from the house through street nodes to the stop.
    points = decode_polyline(first["legGeometry"]["points"],
                             first["legGeometry"]["precision"])
    assert len(points) > 2
    assert points[0] == pytest.approx(here, abs=1e-5)
    assert points[-1] == pytest.approx(stop, abs=1e-5)
    inner = np.array(points[1:-1])
    _, idx = graph.tree.query(graph.project(inner[:, 0], inner[:, 1]))
    nodes = graph.snappable[idx]
    off = haversine_m_array(inner[:, 0], inner[:, 1], graph.lat[nodes], graph.lon[nodes])
    assert off.max() < 1.0  # every inner point is a street node
    assert first["distance"] >= crow


def test_without_the_extract_the_walk_is_the_straight_line(client: TestClient,
                                                            tmp_path: Any) -> None:
    here = _house(client)  # the house comes from the extract's index
    settings = load_settings(env={}, feeds=(str(shared(FEED)),), date=DAY, gbfs_config="",
                             osm=(), cache_dir=str(tmp_path / "cache"), search_deadline=30.0)
    with TestClient(create_app(settings)) as plain:
        assert runtime_of(plain.app).sharing.streets_status == "straight-line"
        first = _first_walk(plain, here)
    stop = (first["to"]["lat"], first["to"]["lon"])
    assert first["duration"] == math.ceil(haversine_m(*here, *stop) * DETOUR / SPEED)
    points = decode_polyline(first["legGeometry"]["points"],
                             first["legGeometry"]["precision"])
    assert len(points) == 2


def test_health_shows_the_walk_graph_without_gbfs(client: TestClient) -> None:
    streets = client.get("/api/v1/health").json()["streets"]
    assert streets["model"] == "osm" and streets["osm"] == [str(shared(OSM))]
    assert streets["graphs"]["walk"]["nodes"] > 0


def test_a_broken_extract_walks_the_straight_line_and_degrades_health(
    client: TestClient, tmp_path: Any,
) -> None:
    here = _house(client)
    broken = tmp_path / "broken.osm.pbf"
    broken.write_bytes(b"not a protobuf file at all" * 10)
    settings = load_settings(env={}, feeds=(str(shared(FEED)),), date=DAY, gbfs_config="",
                             osm=(str(broken),), cache_dir=str(tmp_path / "cache"),
                             search_deadline=30.0)
    with TestClient(create_app(settings)) as bad:
        assert runtime_of(bad.app).sharing.streets_ready.wait(60)
        health = bad.get("/api/v1/health").json()
        assert health["status"] == "degraded"
        assert health["streets"]["model"] == "failed" and health["streets"]["error"]
        first = _first_walk(bad, here)
    stop = (first["to"]["lat"], first["to"]["lon"])
    assert first["duration"] == math.ceil(haversine_m(*here, *stop) * DETOUR / SPEED)


def test_the_direct_walk_from_an_address_is_on_the_streets(client: TestClient) -> None:
    here = _house(client)
    first = _first_walk(client, here)
    there = (first["to"]["lat"], first["to"]["lon"])  # the nearby stop boarded there
    body = get(client, "/api/v5/plan", fromPlace=f"{here[0]},{here[1]}",
               toPlace=f"{there[0]},{there[1]}", time=f"{DAY}T08:00:00+02:00",
               pedestrianSpeed=SPEED, transitModes="", directModes="WALK")
    (walk,) = body["direct"]
    (leg,) = walk["legs"]
    assert leg["mode"] == "WALK"
    assert leg["duration"] == math.ceil(_on_graph(_walk_graph(), here, there))
    assert leg["duration"] == first["duration"]  # the same walk as the plan's first leg
    assert leg["legGeometry"]["points"] == first["legGeometry"]["points"]
