"""MOTIS's transit classes of GTFS routes, the ``transitModes`` filters over them, and the
route masks the engines read.

Every line (GTFS route) gets one class, named as MOTIS 2 names it from API v5 on (the
names older API versions use are :mod:`api.versions`' business). :func:`line_modes` is the
single entry point; it combines two rules:

* **The route type.** GTFS basic and extended (HVT, 100-1700) route types map as nigiri's
  ``to_clasz`` maps them, because MOTIS clients filter on exactly these classes (GNOME's
  "trains only" asks for ``HIGHSPEED_RAIL,LONG_DISTANCE,NIGHT_RAIL,REGIONAL_RAIL,
  REGIONAL_FAST_RAIL,SUBURBAN``).
* **The rail product, where the type does not say it.** Basic type 2 ("Rail") and 100
  ("Railway Service") cover an ICE and a regional stopping train alike; German and most
  European feeds (gtfs.de/DELFI, the whole ``de-db-fv-2026`` feed) give every train
  type 2 and put the product in the route name ("ICE 1234", "IC", "EN"). There the first
  word of ``route_short_name`` (else ``route_long_name``) decides, with the product table
  below: high-speed products (ICE, TGV, Railjet, ECE, ...) are ``HIGHSPEED_RAIL``,
  InterCity-type trains ``LONG_DISTANCE``, night trains ``NIGHT_RAIL``, S-Bahn
  ``SUBURBAN``, regional products ``REGIONAL_RAIL``. This is the rule the Transitous /
  KDE import scripts give MOTIS for such feeds (product prefix, type 2 only). A type-2
  train whose name is no known product is ``REGIONAL_RAIL``: MOTIS's class for type 2 is
  "regional fast", which it has folded into ``REGIONAL_RAIL``. Extended types are
  explicit and are never overridden by a name. The agency is not used: DB Fernverkehr
  runs ICE and IC alike, so it cannot tell them apart.

A mode filter never copies the timetable: it becomes ``Query.route_mask``, one flag per
RAPTOR route.
"""

from __future__ import annotations

import re

import numpy as np

from planner.timetable.model import Timetable

#: MOTIS's transit classes (nigiri's ``clasz``), v5+ names.
CLASSES = ("AIRPLANE", "HIGHSPEED_RAIL", "LONG_DISTANCE", "COACH", "NIGHT_RAIL",
           "REGIONAL_RAIL", "SUBURBAN", "SUBWAY", "TRAM", "BUS", "FERRY", "ODM",
           "FUNICULAR", "AERIAL_LIFT", "OTHER")

#: What each ``transitModes`` value lets through (MOTIS's ``to_clasz_mask``): a class
#: itself, the groups ``TRANSIT`` (all) and ``RAIL``, and the deprecated names older
#: clients still send.
FILTERS: dict[str, frozenset[str]] = {
    **{c: frozenset({c}) for c in CLASSES},
    "TRANSIT": frozenset(CLASSES),
    "RAIL": frozenset({"HIGHSPEED_RAIL", "LONG_DISTANCE", "NIGHT_RAIL", "REGIONAL_RAIL",
                       "SUBURBAN", "SUBWAY"}),
    "REGIONAL_FAST_RAIL": frozenset({"REGIONAL_RAIL"}),
    "METRO": frozenset({"SUBURBAN"}),
    "AREAL_LIFT": frozenset({"AERIAL_LIFT"}),
    "CABLE_CAR": frozenset({"FUNICULAR"}),
}
#: transitModes values accepted.
TRANSIT_FILTERS = frozenset(FILTERS)

_BASIC = {0: "TRAM", 1: "SUBWAY", 2: "REGIONAL_RAIL", 3: "BUS", 4: "FERRY", 5: "FUNICULAR",
          6: "AERIAL_LIFT", 7: "FUNICULAR", 11: "BUS", 12: "OTHER"}
_RAIL = {100: "REGIONAL_RAIL", 101: "HIGHSPEED_RAIL", 102: "LONG_DISTANCE",
         104: "LONG_DISTANCE", 105: "NIGHT_RAIL", 109: "SUBURBAN", 114: "LONG_DISTANCE",
         116: "FUNICULAR"}
_EXACT = {400: "SUBWAY", 401: "SUBWAY", 402: "SUBWAY", 403: "SUBURBAN", 404: "SUBURBAN",
          405: "OTHER", 715: "ODM", 1100: "AIRPLANE", 1303: "OTHER", 1305: "OTHER",
          1400: "FUNICULAR"}
_RANGES = ((100, 200, "REGIONAL_RAIL"), (200, 300, "COACH"), (700, 800, "BUS"),
           (800, 900, "BUS"), (900, 1000, "TRAM"), (1000, 1100, "FERRY"),
           (1100, 1200, "AIRPLANE"), (1200, 1300, "FERRY"), (1300, 1400, "AERIAL_LIFT"),
           (1500, 1600, "ODM"))

#: Rail products by the first word of a type-2 route's name (upper case).
PRODUCTS: dict[str, str] = {
    **dict.fromkeys(("ICE", "ECE", "TGV", "RJ", "RJX", "THA", "EST", "ES", "FR", "FA",
                     "AVE", "EIP", "ICD", "IRJ"), "HIGHSPEED_RAIL"),
    **dict.fromkeys(("IC", "EC", "ICN", "EIC", "EX", "D", "FLX", "WB", "IR", "IRX", "TLK",
                     "SC", "EXT", "ALX", "NZ"), "LONG_DISTANCE"),
    **dict.fromkeys(("EN", "NJ", "ICNJ", "UEX"), "NIGHT_RAIL"),
    **dict.fromkeys(("S", "RER", "SBAHN", "S-BAHN"), "SUBURBAN"),
    **dict.fromkeys(("RE", "RB", "IRE", "REX", "R", "MEX", "RS", "CJX", "TER", "RX", "BRB",
                     "ERB", "NWB", "WFB", "RT", "SE", "EB"), "REGIONAL_RAIL"),
}
_WORD = re.compile(r"[A-Za-z-]+")


def mode_of_route_type(route_type: int) -> str:
    """The class of a GTFS basic or extended route type alone (nigiri's ``to_clasz``)."""
    rt = int(route_type)
    for table in (_BASIC, _RAIL, _EXACT):
        if rt in table:
            return table[rt]
    for lo, hi, name in _RANGES:
        if lo <= rt < hi:
            return name
    return "OTHER"


def product_class(name: str) -> str | None:
    """The class of a rail product named by the first word of ``name`` ("ICE 599",
    "S5", "RE6"), or None when it names no known product."""
    m = _WORD.match(name.strip())
    if m is None:
        return None
    return PRODUCTS.get(m.group(0).upper())


def line_class(route_type: int, short_name: str, long_name: str) -> str:
    """A line's class: its route type, refined by its product name for type 2 and 100."""
    rt = int(route_type)
    if rt in (2, 100):
        for name in (short_name, long_name):
            found = product_class(name) if name else None
            if found is not None:
                return found
    return mode_of_route_type(rt)


def mode_allowed(mode: str, filters: tuple[str, ...]) -> bool:
    """Whether class ``mode`` passes ``filters`` (``transitModes`` values)."""
    return any(mode in FILTERS.get(f, ()) for f in filters)


def line_modes(tt: Timetable) -> list[str]:
    """The class of each line (GTFS route) of the timetable."""
    return [line_class(int(t), str(s), str(n)) for t, s, n in
            zip(tt.line_type, tt.line_short_name, tt.line_long_name, strict=True)]


def route_mask(tt: Timetable, filters: tuple[str, ...],
               modes: list[str] | None = None) -> np.ndarray | None:
    """``uint8[n_routes]`` with 1 where the route's class passes ``filters``; None when
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


def bike_route_mask(tt: Timetable) -> np.ndarray:
    """``uint8[n_routes]``: 1 where every trip of the route carries bikes (GTFS
    ``bikes_allowed=1``; 0 and 2 do not, as in nigiri). Masks are per RAPTOR route, and a
    route mixing trips with and without bikes is left out whole: a rider with a bike is
    never put on a trip that refuses it."""
    bikes = np.asarray(tt.gtfs_trip_bikes)[np.asarray(tt.trip_gtfs)] == 1
    offsets = np.asarray(tt.route_trip_offset)
    if len(bikes) == 0:
        return np.zeros(tt.n_routes, dtype=np.uint8)
    refused = np.add.reduceat((~bikes).astype(np.int64), offsets[:-1].clip(0, len(bikes) - 1))
    empty = offsets[1:] == offsets[:-1]
    return np.ascontiguousarray((refused == 0) & ~empty, dtype=np.uint8)
