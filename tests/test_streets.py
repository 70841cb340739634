"""Street times: straight-line model and the OSM graph of the Darmstadt/Frankfurt extract."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from planner.analysis.reach import one_to_many
from planner.multimodal.geometry import haversine_m, haversine_m_array
from planner.multimodal.streets import (
    ModeGraph,
    StraightLine,
    Streets,
    build_graph,
    way_speed_kmh,
)

OSM = Path("../shared/data/gbfs-de-callabike-darmstadt/osm/frankfurt-darmstadt-test_case.osm.pbf")

DARMSTADT_HBF = (49.871651, 8.631084)  # Call a Bike station in the GBFS fixture
CALL_A_BIKE = (49.87530897258006, 8.627667300924486)  # the free bike in that fixture
# Frankfurt, Poststraße: a oneway street, drivable only from A towards B.
POSTSTRASSE_A = (50.1083119, 8.6630146)
POSTSTRASSE_B = (50.1082426, 8.662588)
HAUPTWACHE = (50.1138, 8.6791)  # walk graph island not linked to the Hbf part (clipped)
BETWEEN_CITIES = (49.99, 8.65)  # km away from any street in the extract


@pytest.fixture(scope="module")
def streets() -> Streets:
    pytest.importorskip("osmium")
    if not OSM.exists():
        pytest.skip(f"{OSM} not present")
    return Streets.from_osm(OSM)


def straight_seconds(mode: str, a: tuple[float, float], b: tuple[float, float]) -> float:
    """Crow-flies time without detour or penalties: a hard lower bound."""
    return haversine_m(*a, *b) / StraightLine().speed_mps(mode)


# --- straight-line model ------------------------------------------------------------------


def test_default_model_is_haversine_times_detour_over_speed() -> None:
    streets = Streets()
    a = (49.871651, 8.631084)
    b = (49.871651 + 1000 / 111_195, 8.631084)  # 1 km north
    assert streets.travel_time("walk", a, b) == pytest.approx(1000 * 1.3 / (4.5 / 3.6), rel=1e-3)
    assert streets.travel_time("bike", a, b) == pytest.approx(1000 * 1.3 / (15 / 3.6), rel=1e-3)
    assert streets.travel_time("scooter", a, b) == pytest.approx(1300 / 5, rel=1e-3)
    assert streets.travel_time("car", a, b) == pytest.approx(1300 / (30 / 3.6) + 300, rel=1e-3)


def test_car_parking_penalty_is_configurable() -> None:
    streets = Streets(model=StraightLine(car_parking_s=0))
    assert streets.travel_time("car", DARMSTADT_HBF, DARMSTADT_HBF) == 0


def test_unknown_mode_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="'hoverboard'"):
        Streets().travel_time("hoverboard", DARMSTADT_HBF, CALL_A_BIKE)


def test_many_to_many_drops_times_beyond_max_seconds() -> None:
    table = Streets().many_to_many("walk", [DARMSTADT_HBF], [CALL_A_BIKE, POSTSTRASSE_A],
                                   max_seconds=3600)
    assert table.shape == (1, 2)
    assert math.isfinite(table[0, 0]) and table[0, 1] == math.inf


# --- way tags -------------------------------------------------------------------------------


def test_mode_access_follows_highway_and_access_tags() -> None:
    model = StraightLine()
    assert way_speed_kmh({"highway": "motorway"}, "walk", model) is None
    assert way_speed_kmh({"highway": "motorway"}, "bike", model) is None
    assert way_speed_kmh({"highway": "motorway"}, "car", model) == 100
    assert way_speed_kmh({"highway": "steps"}, "bike", model) is None
    assert way_speed_kmh({"highway": "steps"}, "walk", model) == pytest.approx(2.25)
    assert way_speed_kmh({"highway": "footway"}, "bike", model) is None
    assert way_speed_kmh({"highway": "footway", "bicycle": "yes"}, "bike", model) == 15
    assert way_speed_kmh({"highway": "footway"}, "car", model) is None
    assert way_speed_kmh({"highway": "residential", "access": "private"}, "car", model) is None
    assert way_speed_kmh({"highway": "residential", "foot": "no"}, "walk", model) is None
    assert way_speed_kmh({"highway": "primary", "maxspeed": "30"}, "car", model) == 30
    assert way_speed_kmh({"highway": "primary", "maxspeed": "20 mph"}, "car", model) == \
        pytest.approx(32.19, abs=0.01)


def _line_graph(tags: dict[str, str], mode: str) -> tuple[ModeGraph, dict[int, int]]:
    coords = {1: (50.0, 8.0), 2: (50.0, 8.001), 3: (50.0, 8.002)}
    graph = build_graph([(tags, [1, 2, 3])], coords, mode, StraightLine())
    assert graph is not None
    return graph, {int(n): i for i, n in enumerate(graph.node_ids)}


@pytest.mark.parametrize(
    ("tags", "mode", "forward", "backward"),
    [({"highway": "residential", "oneway": "yes"}, "car", True, False),
     ({"highway": "residential", "oneway": "-1"}, "car", False, True),
     ({"highway": "primary", "junction": "roundabout"}, "car", True, False),
     ({"highway": "residential", "oneway": "yes"}, "walk", True, True),
     ({"highway": "residential", "oneway": "yes"}, "bike", True, False),
     ({"highway": "residential", "oneway": "yes", "oneway:bicycle": "no"}, "bike", True, True),
     ({"highway": "residential"}, "car", True, True)],
)
def test_oneway_tags_give_edge_directions(
    tags: dict[str, str], mode: str, forward: bool, backward: bool
) -> None:
    graph, idx = _line_graph(tags, mode)
    m = graph.matrix
    assert bool(m[idx[1], idx[2]] > 0) is forward
    assert bool(m[idx[2], idx[1]] > 0) is backward


# --- the Darmstadt / Frankfurt OSM graph -------------------------------------------------------


def test_darmstadt_osm_graph_loads_for_every_mode(streets: Streets) -> None:
    assert set(streets.graphs) == {"walk", "bike", "scooter", "car"}
    walk, car = streets.graphs["walk"], streets.graphs["car"]
    assert walk.n_nodes > 2000 and car.n_nodes > 500
    assert walk.n_nodes > car.n_nodes  # footways, steps and platforms dominate the extract
    assert walk.matrix.shape == (walk.n_nodes, walk.n_nodes)
    assert walk.matrix.data.min() > 0
    lat, lon = walk.lat[walk.snappable], walk.lon[walk.snappable]
    assert ((lat > 49.86) & (lat < 50.12) & (lon > 8.61) & (lon < 8.70)).all()


def test_walk_from_darmstadt_hbf_to_free_bike_is_longer_than_crow_flies(
    streets: Streets,
) -> None:
    t = streets.travel_time("walk", DARMSTADT_HBF, CALL_A_BIKE)
    crow = straight_seconds("walk", DARMSTADT_HBF, CALL_A_BIKE)  # ~480 m: 6.4 min
    assert crow <= t <= 2 * crow
    assert 5 * 60 < t < 15 * 60
    assert t != pytest.approx(Streets().travel_time("walk", DARMSTADT_HBF, CALL_A_BIKE))
    back = streets.travel_time("walk", CALL_A_BIKE, DARMSTADT_HBF)
    assert back == pytest.approx(t)  # walking ignores oneway


def test_car_respects_oneway(streets: Streets) -> None:
    forward = streets.travel_time("car", POSTSTRASSE_A, POSTSTRASSE_B)
    backward = streets.travel_time("car", POSTSTRASSE_B, POSTSTRASSE_A)
    parking = streets.model.car_parking_s
    assert forward - parking < 10  # 31 m along the street
    assert backward - parking > 60  # around the block
    walk_f = streets.travel_time("walk", POSTSTRASSE_A, POSTSTRASSE_B)
    walk_b = streets.travel_time("walk", POSTSTRASSE_B, POSTSTRASSE_A)
    assert walk_f == pytest.approx(walk_b)


def test_point_off_graph_falls_back_to_straight_line(streets: Streets) -> None:
    plain = Streets()
    for mode in ("walk", "bike", "car"):
        got = streets.travel_time(mode, DARMSTADT_HBF, BETWEEN_CITIES)
        assert got == pytest.approx(plain.travel_time(mode, DARMSTADT_HBF, BETWEEN_CITIES))


def test_points_on_unlinked_parts_of_the_graph_fall_back_to_straight_line(
    streets: Streets,
) -> None:
    got = streets.travel_time("walk", POSTSTRASSE_A, HAUPTWACHE)
    assert math.isfinite(got)
    assert got == pytest.approx(Streets().travel_time("walk", POSTSTRASSE_A, HAUPTWACHE))


def test_many_to_many_matches_single_queries_and_limit(streets: Streets) -> None:
    origins = [DARMSTADT_HBF, CALL_A_BIKE, BETWEEN_CITIES]
    destinations = [CALL_A_BIKE, DARMSTADT_HBF, (49.8728, 8.6290)]
    table = streets.many_to_many("walk", origins, destinations)
    assert table.shape == (3, 3)
    for i, o in enumerate(origins):
        for j, d in enumerate(destinations):
            assert table[i, j] == pytest.approx(streets.travel_time("walk", o, d))
    assert table[0, 1] < 60  # same point: the walk to the snapped node and back
    limited = streets.many_to_many("walk", origins, destinations, max_seconds=300)
    assert np.isinf(limited[0, 0])
    assert np.array_equal(np.isfinite(limited), table <= 300)


@pytest.mark.parametrize("mode", ["walk", "bike", "car"])
def test_many_stops_to_one_point_searches_backwards_with_the_same_times(
        streets: Streets, mode: str) -> None:
    """Egress (many stops to one point) runs one search back from the point; each row
    equals the forward search from that stop alone, limit included."""
    graph = streets.graphs[mode]
    rng = np.random.default_rng(12)
    pick = rng.choice(len(graph.snappable), 60, replace=False)
    nodes = graph.snappable[pick]
    many = np.c_[graph.lat[nodes], graph.lon[nodes]] + rng.normal(0, 2e-4, (60, 2))
    few = many[:2] + 1e-3
    table = streets.many_to_many(mode, many, few, max_seconds=900)
    rows = np.vstack([streets.many_to_many(mode, many[i:i + 1], few, max_seconds=900)
                      for i in range(len(many))])
    assert np.array_equal(table, rows)
    assert np.isfinite(table).sum() > 10  # graph times, not all beyond the limit


def test_scooter_is_faster_than_bike_on_the_same_streets(streets: Streets) -> None:
    a, b = (49.8735, 8.6295), (49.8712, 8.6320)
    bike = streets.many_to_many("bike", [a], [b])[0, 0]
    scooter = streets.many_to_many("scooter", [a], [b])[0, 0]
    assert scooter < bike
    assert bike > Streets().travel_time("bike", a, b)  # routed on streets, not crow-flies


def test_graph_times_are_never_below_crow_flies(streets: Streets) -> None:
    walk = streets.graphs["walk"]
    rng = np.random.default_rng(7)
    nodes = rng.choice(walk.snappable, 40, replace=False)
    pts = np.column_stack([walk.lat[nodes], walk.lon[nodes]]) + rng.normal(0, 2e-4, (40, 2))
    for mode in ("walk", "bike", "car"):
        table = streets.many_to_many(mode, pts, pts)
        crow = haversine_m_array(pts[:, None, 0], pts[:, None, 1], pts[None, :, 0], pts[None, :, 1])
        # No leg (access walk, graph edge) beats the mode's top speed (motorway for cars).
        top = 100 / 3.6 if mode == "car" else streets.model.speed_mps(mode)
        assert (table >= crow / top - 1e-6).all()


OSLO_OSM = Path("../shared/data/gbfs-no-oslo-bysykkel/osm/oslo-east-filtered.osm.pbf")


@pytest.mark.slow
def test_oslo_bike_station_table_is_fast_and_plausible() -> None:
    pytest.importorskip("osmium")
    if not OSLO_OSM.exists():
        pytest.skip(f"{OSLO_OSM} not present")
    import json
    import time

    streets = Streets.from_osm(OSLO_OSM, modes=("bike",))
    info = json.loads((OSLO_OSM.parent.parent / "station_information.json").read_text())
    pts = np.array([(s["lat"], s["lon"]) for s in info["data"]["stations"]])
    start = time.perf_counter()
    table = streets.many_to_many("bike", pts, pts, max_seconds=1800)
    assert time.perf_counter() - start < 10
    assert table.shape == (260, 260)
    assert np.isfinite(table).mean() > 0.9
    crow = haversine_m_array(pts[:, None, 0], pts[:, None, 1], pts[None, :, 0], pts[None, :, 1])
    finite = np.isfinite(table)
    assert (table[finite] >= crow[finite] / (15 / 3.6) - 1e-6).all()


# --- one-to-many (MOTIS's street one-to-many) ----------------------------------------------


def test_one_to_many_is_the_table_row_and_its_reverse_the_column(streets: Streets) -> None:
    many = [CALL_A_BIKE, POSTSTRASSE_A, (49.8728, 8.6290)]
    forward, _ = one_to_many(streets, "car", POSTSTRASSE_B, many, 3600)
    backward, _ = one_to_many(streets, "car", POSTSTRASSE_B, many, 3600, backward=True)
    parking = streets.model.car_parking_s
    table = streets.many_to_many("car", [POSTSTRASSE_B], many, 3600 + parking)[0]
    column = streets.many_to_many("car", many, [POSTSTRASSE_B], 3600 + parking)[:, 0]
    assert forward == pytest.approx(table - parking)  # MOTIS's CAR: a plain drive
    assert backward == pytest.approx(column - parking)
    assert forward[1] != pytest.approx(backward[1])  # the oneway Poststraße


def test_one_to_many_matches_only_within_the_matching_distance(streets: Streets) -> None:
    graph = streets.graphs["walk"]
    _, gaps = graph.snap(np.array([BETWEEN_CITIES, CALL_A_BIKE]), math.inf)
    assert gaps[0] > 1000 > 25 > gaps[1]
    times, _ = one_to_many(streets, "walk", DARMSTADT_HBF, [BETWEEN_CITIES, CALL_A_BIKE],
                           6 * 3600, max_match_m=250)
    assert math.isinf(times[0]) and math.isfinite(times[1])
    loose, _ = one_to_many(streets, "walk", DARMSTADT_HBF, [BETWEEN_CITIES], 6 * 3600,
                           max_match_m=math.inf)
    assert math.isfinite(loose[0])  # unmatched nothing: the straight line, as many_to_many
    none, _ = one_to_many(streets, "walk", BETWEEN_CITIES, [CALL_A_BIKE], 6 * 3600,
                          max_match_m=250)
    assert math.isinf(none[0])  # ``one`` itself off the graph


def test_one_to_many_distance_is_the_path_length(streets: Streets) -> None:
    times, meters = one_to_many(streets, "walk", DARMSTADT_HBF,
                                [CALL_A_BIKE, BETWEEN_CITIES], 600, with_distance=True)
    assert meters is not None
    path = streets.route("walk", DARMSTADT_HBF, CALL_A_BIKE)
    assert path is not None and meters[0] == pytest.approx(path.meters)
    assert math.isinf(times[1]) and math.isnan(meters[1])  # beyond 600 s: no way, no metres
