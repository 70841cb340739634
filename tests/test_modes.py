"""MOTIS transit classes of GTFS routes, the transitModes filters, and the version names."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from api.versions import V1, V5, V6
from feeds.demo import DEMO_FEED
from planner.routing.modes import (
    CLASSES,
    FILTERS,
    line_class,
    line_modes,
    mode_allowed,
    mode_of_route_type,
    route_mask,
)
from planner.timetable.compile import CompileOptions, compile_timetable

GNOME_TRAINS_ONLY = ("HIGHSPEED_RAIL", "LONG_DISTANCE", "NIGHT_RAIL", "REGIONAL_RAIL",
                     "REGIONAL_FAST_RAIL", "SUBURBAN")


@pytest.mark.parametrize(("route_type", "expected"), [
    (0, "TRAM"), (1, "SUBWAY"), (3, "BUS"), (4, "FERRY"), (5, "FUNICULAR"),
    (6, "AERIAL_LIFT"), (7, "FUNICULAR"), (11, "BUS"), (12, "OTHER"),
    (101, "HIGHSPEED_RAIL"), (102, "LONG_DISTANCE"), (103, "REGIONAL_RAIL"),
    (105, "NIGHT_RAIL"), (106, "REGIONAL_RAIL"), (109, "SUBURBAN"), (116, "FUNICULAR"),
    (200, "COACH"), (209, "COACH"), (400, "SUBWAY"), (402, "SUBWAY"), (403, "SUBURBAN"),
    (405, "OTHER"), (700, "BUS"), (714, "BUS"), (715, "ODM"), (800, "BUS"),
    (900, "TRAM"), (906, "TRAM"), (1000, "FERRY"), (1100, "AIRPLANE"), (1200, "FERRY"),
    (1300, "AERIAL_LIFT"), (1303, "OTHER"), (1400, "FUNICULAR"), (1501, "ODM"),
    (1700, "OTHER"), (1702, "OTHER"), (99, "OTHER"),
])
def test_extended_route_types_map_to_motis_classes(route_type: int, expected: str) -> None:
    assert mode_of_route_type(route_type) == expected
    assert expected in CLASSES


def test_product_names_split_basic_rail_but_never_override_an_extended_type() -> None:
    assert line_class(2, "ICE 599", "") == "HIGHSPEED_RAIL"
    assert line_class(2, "IC", "") == "LONG_DISTANCE"
    assert line_class(2, "EN", "") == "NIGHT_RAIL"
    assert line_class(2, "S5", "") == "SUBURBAN"
    assert line_class(2, "RE6", "") == "REGIONAL_RAIL"
    assert line_class(2, "", "ICE") == "HIGHSPEED_RAIL"  # the long name when no short one
    assert line_class(2, "Hermann", "") == "REGIONAL_RAIL"  # no product: type 2's class
    assert line_class(102, "ICE", "") == "LONG_DISTANCE"  # the feed said so explicitly
    assert line_class(3, "ICE", "") == "BUS"


@pytest.fixture(scope="module")
def demo_tt():
    return compile_timetable([DEMO_FEED], date(2026, 4, 20),
                             CompileOptions(days_before=0, days_after=0))


def test_db_long_distance_trains_are_not_one_class(demo_tt) -> None:
    modes = line_modes(demo_tt)
    by_product = {}
    for name, mode in zip(demo_tt.line_short_name, modes, strict=True):
        by_product.setdefault(str(name).split()[0], set()).add(mode)
    assert by_product["ICE"] == {"HIGHSPEED_RAIL"}
    assert by_product["IC"] == {"LONG_DISTANCE"}
    assert by_product["EC"] == {"LONG_DISTANCE"}
    assert by_product["EN"] == {"NIGHT_RAIL"}
    assert len(Counter(modes)) >= 3


def test_filters_follow_motis_groups(demo_tt) -> None:
    assert mode_allowed("SUBWAY", ("RAIL",)) and not mode_allowed("TRAM", ("RAIL",))
    assert all(mode_allowed(c, ("TRANSIT",)) for c in CLASSES)
    assert mode_allowed("SUBURBAN", ("METRO",)) and mode_allowed("AERIAL_LIFT", ("AREAL_LIFT",))
    assert FILTERS["REGIONAL_FAST_RAIL"] == {"REGIONAL_RAIL"}
    # every DB train passes GNOME's "trains only"; only the ICEs pass HIGHSPEED_RAIL
    assert route_mask(demo_tt, GNOME_TRAINS_ONLY) is None
    mask = route_mask(demo_tt, ("HIGHSPEED_RAIL",))
    assert mask is not None and 0 < int(mask.sum()) < demo_tt.n_routes
    modes = line_modes(demo_tt)
    lines = demo_tt.route_line[mask.astype(bool)]
    assert {modes[int(x)] for x in lines} == {"HIGHSPEED_RAIL"}
    assert route_mask(demo_tt, ("BUS",)).sum() == 0  # type: ignore[union-attr]


def test_versions_name_modes_and_polylines_as_motis_did() -> None:
    assert V1.mode("SUBURBAN") == "METRO" and V5.mode("SUBURBAN") == "SUBURBAN"
    assert V1.mode("FUNICULAR") == "OTHER" and V5.mode("AERIAL_LIFT") == "AERIAL_LIFT"
    assert V1.polyline_precision == 7 and V5.polyline_precision == V6.polyline_precision == 6
    assert V1.max_transfers(3) == 2 and V5.max_transfers(3) == 3 and V1.max_transfers(0) == 0
    assert not V1.has_display_name and V5.has_display_name
    assert V5.level(-1.0) == 0.0 and V6.level(-1.0) == -1.0
