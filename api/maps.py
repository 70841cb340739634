"""The MOTIS map endpoints: ``map/stops`` (v1, v6), ``map/initial``, ``map/levels``.

As MOTIS: ``map/stops`` lists the served stops inside the box with the classes serving
them (``grouped``: one place per station); ``map/initial`` centres the map on the middle
80 % of the stops; ``map/levels`` lists the OSM levels in a box, of which there are none
without OSM indoor data, so it is an empty list. ``map/trips`` lives in
:mod:`api.positions`.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
from fastapi import FastAPI, Query

from api.common import ApiError, parse_coordinate, stop_place, versioned_level
from api.locate import stop_classes
from api.runtime import Runtime
from api.stoptimes import parse_mode_list
from api.store import Prepared
from api.versions import ApiVersion
from planner.routing.modes import mode_allowed

#: MOTIS's ``stops_max_results`` default: a box with more stops is refused.
MAX_STOPS = 2048


def parse_box(low: str, high: str) -> tuple[float, float, float, float]:
    """``min``/``max`` as (min lat, min lon, max lat, max lon), either corner first."""
    a = parse_coordinate(low, "min")
    if a is None:
        raise ApiError(400, f"min: not a coordinate: {low!r}", "min")
    b = parse_coordinate(high, "max")
    if b is None:
        raise ApiError(400, f"max: not a coordinate: {high!r}", "max")
    return min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1])


def stops_in_box(prepared: Prepared, box: tuple[float, float, float, float]) -> np.ndarray:
    tt = prepared.tt
    lat, lon = np.asarray(tt.stop_lat), np.asarray(tt.stop_lon)
    inside = (lat >= box[0]) & (lat <= box[2]) & (lon >= box[1]) & (lon <= box[3])
    return np.flatnonzero(inside)


def map_stops(prepared: Prepared, box: tuple[float, float, float, float], version: int,
              grouped: bool, modes: tuple[str, ...] | None) -> list[dict[str, object]]:
    tt = prepared.tt
    served = np.diff(np.asarray(tt.stop_route_offset)) > 0
    out: list[dict[str, object]] = []
    seen: set[int] = set()
    for s in stops_in_box(prepared, box):
        stop = int(s)
        if grouped:
            parent = int(tt.stop_parent[stop])
            stop = parent if parent >= 0 else stop
            if stop in seen:
                continue
            seen.add(stop)
            classes = stop_classes(prepared, stop)
        elif not served[stop]:
            continue
        else:
            classes = stop_classes(prepared, stop)
        if not classes or (modes is not None
                           and not any(mode_allowed(c, modes) for c in classes)):
            continue
        if len(out) >= MAX_STOPS:
            raise ApiError(400, f"min/max: more than {MAX_STOPS} stops in the box; "
                                "zoom in", "min")
        out.append({**versioned_level(stop_place(prepared, stop), version),
                    "modes": classes})
    return out


def initial_view(prepared: Prepared) -> tuple[float, float, float]:
    """Centre and zoom (web Mercator) of the middle 80 % of the stops, as MOTIS."""
    tt = prepared.tt
    lat = np.asarray(tt.stop_lat, dtype=float)
    lon = np.asarray(tt.stop_lon, dtype=float)
    ok = np.isfinite(lat) & np.isfinite(lon) & ((lat != 0) | (lon != 0))
    if not ok.any():
        return 0.0, 0.0, 0.0
    lat, lon = lat[ok], lon[ok]
    if len(lat) >= 10:
        lat0, lat1 = np.quantile(lat, [0.2, 0.8])
        lon0, lon1 = np.quantile(lon, [0.2, 0.8])
    else:
        lat0, lat1, lon0, lon1 = lat.min(), lat.max(), lon.min(), lon.max()

    def mercator_y(phi: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(phi) / 2))

    span = max(abs(lon1 - lon0) / 360.0,
               abs(mercator_y(float(lat1)) - mercator_y(float(lat0))) / (2 * math.pi))
    zoom = 0 if span <= 0 else max(0, min(20, int(math.floor(math.log2(1 / span)))))
    return float((lat0 + lat1) / 2), float((lon0 + lon1) / 2), float(zoom)


def register_maps(app: FastAPI, rt: Runtime) -> None:
    for version in (ApiVersion(1), ApiVersion(6)):
        _register_map_stops(app, rt, version)

    @app.get("/api/v1/map/initial", tags=["map"],
             summary="Where a map starts and the server's limits")
    async def initial() -> dict[str, Any]:
        def work() -> dict[str, Any]:
            prepared, _ = rt.prepared_for(None)
            lat, lon, zoom = initial_view(prepared)
            s = rt.settings
            return {"lat": lat, "lon": lon, "zoom": zoom, "serverConfig": {
                "motisVersion": "owl-planner (MOTIS API v6)",
                "hasElevation": False,
                "hasRoutedTransfers": False,
                "hasStreetRouting": bool(s.osm),
                "maxOneToManySize": rt.settings.max_one_to_many,
                "maxOneToAllTravelTimeLimit": rt.settings.max_one_to_all_minutes,
                "maxPrePostTransitTimeLimit": 3600,
                "maxDirectTimeLimit": 6 * 3600,
                "shapesDebugEnabled": False,
            }}

        return await rt.run(work)

    @app.get("/api/v1/map/levels", tags=["map"], summary="OSM levels inside a box")
    async def levels(
        box_min: Annotated[str, Query(alias="min", description="lat,lon")],
        box_max: Annotated[str, Query(alias="max", description="lat,lon")],
    ) -> list[float]:
        parse_box(box_min, box_max)
        return []


def _register_map_stops(app: FastAPI, rt: Runtime, version: ApiVersion) -> None:
    @app.get(f"{version.prefix}/map/stops", tags=["map"],
             summary="The served stops inside a box", name=f"map_stops_v{version.number}")
    async def stops(
        box_min: Annotated[str, Query(alias="min", description="lat,lon")],
        box_max: Annotated[str, Query(alias="max", description="lat,lon")],
        grouped: bool = False,
        modes: Annotated[list[str] | None, Query()] = None,
        language: Annotated[list[str] | None, Query()] = None,
    ) -> list[dict[str, object]]:
        box = parse_box(box_min, box_max)
        wanted = parse_mode_list(modes, "modes") if modes else None

        def work() -> list[dict[str, object]]:
            prepared, _ = rt.prepared_for(None)
            return map_stops(prepared, box, version.number, grouped, wanted)

        return await rt.run(work)
