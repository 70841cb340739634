"""Transit modes (MOTIS names) of GTFS route types, and the route masks the engines read.

A mode filter never copies the timetable: it becomes ``Query.route_mask``, one flag per
RAPTOR route, computed from the lines' route types.
"""

from __future__ import annotations

import numpy as np

from planner.timetable.model import Timetable

RAIL_MODES = frozenset({"RAIL", "HIGHSPEED_RAIL", "LONG_DISTANCE", "NIGHT_RAIL",
                        "REGIONAL_FAST_RAIL", "REGIONAL_RAIL", "SUBURBAN"})
TRANSIT_MODES = frozenset({"TRAM", "SUBWAY", "FERRY", "AIRPLANE", "BUS", "COACH", "METRO",
                           "FUNICULAR", "AERIAL_LIFT", "CABLE_CAR", "OTHER"}) | RAIL_MODES
#: transitModes values: concrete modes, plus the groups TRANSIT (all) and RAIL (all rail).
TRANSIT_FILTERS = TRANSIT_MODES | {"TRANSIT"}


def mode_of_route_type(route_type: int) -> str:
    """GTFS basic and extended (HVT) route types to MOTIS mode names."""
    rt = int(route_type)
    basic = {0: "TRAM", 1: "SUBWAY", 2: "RAIL", 3: "BUS", 4: "FERRY", 5: "CABLE_CAR",
             6: "AERIAL_LIFT", 7: "FUNICULAR", 11: "BUS", 12: "RAIL"}
    if rt in basic:
        return basic[rt]
    exact = {101: "HIGHSPEED_RAIL", 102: "LONG_DISTANCE", 105: "NIGHT_RAIL",
             106: "REGIONAL_RAIL", 109: "SUBURBAN", 401: "METRO", 1100: "AIRPLANE"}
    if rt in exact:
        return exact[rt]
    ranges = ((100, 200, "RAIL"), (200, 300, "COACH"), (400, 500, "SUBWAY"),
              (700, 800, "BUS"), (800, 900, "BUS"), (900, 1000, "TRAM"),
              (1000, 1100, "FERRY"), (1100, 1200, "AIRPLANE"), (1200, 1300, "FERRY"),
              (1300, 1400, "AERIAL_LIFT"), (1400, 1500, "FUNICULAR"))
    for lo, hi, name in ranges:
        if lo <= rt < hi:
            return name
    return "OTHER"


def mode_allowed(mode: str, filters: tuple[str, ...]) -> bool:
    """Whether ``mode`` passes ``filters`` (TRANSIT: all, RAIL: every rail mode)."""
    if "TRANSIT" in filters or mode in filters:
        return True
    return "RAIL" in filters and mode in RAIL_MODES


def line_modes(tt: Timetable) -> list[str]:
    """The mode of each line (GTFS route) of the timetable."""
    return [mode_of_route_type(int(x)) for x in tt.line_type]


def route_mask(tt: Timetable, filters: tuple[str, ...],
               modes: list[str] | None = None) -> np.ndarray | None:
    """``uint8[n_routes]`` with 1 where the route's mode passes ``filters``; None when
    every route does (the engines then skip the check). ``modes``: ``line_modes(tt)``,
    precomputed by callers that ask often."""
    modes = line_modes(tt) if modes is None else modes
    allowed = np.fromiter((mode_allowed(m, filters) for m in modes), dtype=bool,
                          count=len(modes))
    if allowed.all():
        return None
    if tt.n_routes == 0:
        return np.zeros(0, dtype=np.uint8)
    return np.ascontiguousarray(allowed[np.asarray(tt.route_line)], dtype=np.uint8)
