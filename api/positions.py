"""``/api/v{1,5,6}/map/trips``: the trip segments a map shows moving, as MOTIS's ``railviz``.

A segment is one hop of one trip, from a stop to the next stop of its pattern, with the
scheduled departure and arrival; the MOTIS web UI places each vehicle by interpolating
between the two along the segment's polyline (MOTIS sends no positions either, and
without realtime the times are the scheduled ones, ``realTime`` false). As MOTIS's
``get_trains`` without realtime:

* a route is looked at when its stops' bounding box overlaps the box and the zoom shows
  its class at its size (``min_zoom``, MOTIS's ``min_zoom_level``: long-distance rail
  from zoom 4, buses from 9 or 10...); ``distance`` is the diagonal of that box in metres;
* a hop is sent when the box of its two stops overlaps the box and
  ``[departure, arrival + 1 min)`` overlaps ``[startTime, endTime)``;
* the polyline is the trip's GTFS shape between the two stops (the two stops without a
  shape), encoded with ``precision`` (default 5, 0..6), repeated points dropped;
* more than ``MAX_SEGMENTS`` segments are refused (MOTIS's ``kTripsLimit``, "too many").

The compiled timetable covers the day before and after the requested one, so a window
across midnight finds the trips of both service days.
"""

from __future__ import annotations

import math
import threading
import weakref
from typing import Annotated, Any

import numpy as np
from fastapi import FastAPI, Query

from api.common import (
    ApiError,
    display_name,
    iso,
    parse_time,
    stop_place,
    trip_id,
    versioned_level,
)
from api.geo import encode_polyline
from api.maps import parse_box
from api.realtime import scheduled_at, trip_is_realtime
from api.runtime import Runtime
from api.store import Prepared
from api.versions import V1, V5, V6, ApiVersion
from planner.multimodal.geometry import haversine_m_array
from planner.routing.modes import CLASSES

#: MOTIS's ``kTripsLimit``.
MAX_SEGMENTS = 12_000
Box = tuple[float, float, float, float]  # min lat, min lon, max lat, max lon


def min_zoom(mode: str, distance: float) -> int:
    """MOTIS's ``min_zoom_level``: the lowest zoom showing a route of class ``mode``
    whose stops span ``distance`` metres."""
    if mode in ("AIRPLANE", "COACH") and distance < 50_000:
        return 8  # typically long distance, maybe also quite short
    if mode in ("AIRPLANE", "COACH", "HIGHSPEED_RAIL", "LONG_DISTANCE", "NIGHT_RAIL"):
        return 4
    if mode in ("REGIONAL_RAIL", "RIDE_SHARING"):
        return 7
    if mode == "SUBURBAN":
        return 8
    if mode == "SUBWAY":
        return 9
    if mode in ("TRAM", "BUS"):
        return 9 if distance > 10_000 else 10
    if mode == "FERRY":
        return 5 if distance > 100_000 else 8 if distance > 10_000 else 10
    return 11


class RouteBoxes:
    """Per RAPTOR route of one timetable: its stops' bounding box, its diagonal, class and
    minimum zoom (built once per timetable, on the first map request)."""

    def __init__(self, prepared: Prepared) -> None:
        tt = prepared.tt
        offsets = np.asarray(tt.route_stop_offset, dtype=np.int64)
        stops = np.asarray(tt.route_stops)
        lat = np.asarray(tt.stop_lat, dtype=float)[stops]
        lon = np.asarray(tt.stop_lon, dtype=float)[stops]
        starts = offsets[:-1].clip(0, max(len(stops) - 1, 0))
        if len(stops):
            self.lat0 = np.minimum.reduceat(lat, starts)
            self.lat1 = np.maximum.reduceat(lat, starts)
            self.lon0 = np.minimum.reduceat(lon, starts)
            self.lon1 = np.maximum.reduceat(lon, starts)
        else:
            self.lat0 = self.lat1 = self.lon0 = self.lon1 = np.zeros(0)
        self.distance = haversine_m_array(self.lat0, self.lon0, self.lat1, self.lon1)
        lines = np.asarray(tt.route_line)
        self.mode = [prepared.line_modes[int(line)] for line in lines]
        self.zoom = np.array([min_zoom(m, float(d)) for m, d in
                              zip(self.mode, self.distance.tolist(), strict=True)],
                             dtype=np.int32)
        rank = {c: i for i, c in enumerate(CLASSES)}
        self.rank = np.array([rank.get(m, len(CLASSES)) for m in self.mode], dtype=np.int32)


_BOXES: weakref.WeakKeyDictionary[Prepared, RouteBoxes] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def route_boxes(prepared: Prepared) -> RouteBoxes:
    with _LOCK:
        found = _BOXES.get(prepared)
        if found is None:
            found = _BOXES[prepared] = RouteBoxes(prepared)
        return found


def _overlaps(lat0: np.ndarray, lon0: np.ndarray, lat1: np.ndarray, lon1: np.ndarray,
              box: Box) -> np.ndarray:
    return (lat0 <= box[2]) & (lat1 >= box[0]) & (lon0 <= box[3]) & (lon1 >= box[1])


def trip_hops(prepared: Prepared, box: Box, zoom: int, start: int, end: int
              ) -> list[tuple[int, int]]:
    """``(trip, position)`` of every hop to show, by class, route, position and trip."""
    tt = prepared.tt
    boxes = route_boxes(prepared)
    wanted = np.flatnonzero((boxes.zoom <= zoom) & _overlaps(
        boxes.lat0, boxes.lon0, boxes.lat1, boxes.lon1, box))
    wanted = wanted[np.argsort(boxes.rank[wanted], kind="stable")]
    lat, lon = np.asarray(tt.stop_lat), np.asarray(tt.stop_lon)
    out: list[tuple[int, int]] = []
    for r in wanted.tolist():
        base, stop_end = int(tt.route_stop_offset[r]), int(tt.route_stop_offset[r + 1])
        stops = np.asarray(tt.route_stops[base:stop_end])
        if len(stops) < 2:
            continue
        a, b = stops[:-1], stops[1:]
        hop = np.flatnonzero(_overlaps(np.minimum(lat[a], lat[b]), np.minimum(lon[a], lon[b]),
                                       np.maximum(lat[a], lat[b]), np.maximum(lon[a], lon[b]),
                                       box))
        if not len(hop):
            continue
        trips = np.arange(int(tt.route_trip_offset[r]), int(tt.route_trip_offset[r + 1]))
        st = np.asarray(tt.trip_st_offset)[trips][:, None] + hop[None, :]
        dep = np.asarray(tt.st_dep)[st]
        arr = np.asarray(tt.st_arr)[st + 1]
        ti, hi = np.nonzero((dep < end) & (arr + 60 > start))
        if len(out) + len(ti) > MAX_SEGMENTS:
            raise ApiError(429, f"too many trips: more than {MAX_SEGMENTS} trip segments in "
                                "the box and time window; zoom in or narrow startTime/endTime",
                           "endTime")
        order = np.lexsort((ti, hi))
        out.extend(zip(trips[ti[order]].tolist(), hop[hi[order]].tolist(), strict=True))
    return out


class SegmentRenderer:
    """MOTIS's ``TripSegment`` of a hop; polylines cached per shape, pattern and hop."""

    def __init__(self, prepared: Prepared, version: ApiVersion, precision: int) -> None:
        self.p = prepared
        self.v = version
        self.precision = precision
        self.boxes = route_boxes(prepared)

    def place(self, stop: int) -> dict[str, object]:
        return versioned_level(stop_place(self.p, stop), self.v.number)

    def polyline(self, trip: int, route: int, pos: int, a: int, b: int) -> str:
        tt = self.p.tt
        shape_id = str(tt.gtfs_trip_shape[int(tt.trip_gtfs[trip])])
        key = ("map-trips", shape_id, route, pos, self.precision)
        cache = self.p.geometry_cache
        hit = cache.get(key)
        if hit is not None:
            return str(hit[0])
        ends = [(float(tt.stop_lat[a]), float(tt.stop_lon[a])),
                (float(tt.stop_lat[b]), float(tt.stop_lon[b]))]
        points = ends
        shapes = self.p.feedset.shapes
        if shape_id and shape_id in shapes.shapes:
            pattern = cache.get((shape_id, route))
            if pattern is None:
                base, stop_end = int(tt.route_stop_offset[route]), \
                    int(tt.route_stop_offset[route + 1])
                stops = tt.route_stops[base:stop_end].tolist()
                pattern = cache[(shape_id, route)] = (shapes.match(
                    shape_id, [(float(tt.stop_lat[s]), float(tt.stop_lon[s])) for s in stops]),)
            idx = pattern[0]
            if idx is not None:
                piece = shapes.shapes[shape_id][int(idx[pos]):int(idx[pos + 1]) + 1]
                points = [ends[0], *map(tuple, piece.tolist()), ends[1]]
        factor = 10.0 ** self.precision
        kept: list[tuple[float, float]] = []
        for lat, lon in points:  # MOTIS's push_nonzero_diff: no zero steps
            if not kept or (round(lat * factor), round(lon * factor)) != \
                    (round(kept[-1][0] * factor), round(kept[-1][1] * factor)):
                kept.append((lat, lon))
        text = encode_polyline(kept, self.precision)
        cache[key] = (text,)
        return text

    def segment(self, trip: int, pos: int) -> dict[str, Any]:
        tt = self.p.tt
        route = int(tt.trip_route[trip])
        base = int(tt.route_stop_offset[route])
        a, b = int(tt.route_stops[base + pos]), int(tt.route_stops[base + pos + 1])
        st = int(tt.trip_st_offset[trip]) + pos
        g = int(tt.trip_gtfs[trip])
        line = int(tt.gtfs_trip_line[g])
        label = display_name(tt, g)
        info: dict[str, str] = {"tripId": trip_id(tt, trip)}  # as plan legs and stop times
        info["displayName" if self.v.has_display_name else "routeShortName"] = label
        departure, arrival = iso(self.p, int(tt.st_dep[st])), iso(self.p, int(tt.st_arr[st + 1]))
        # on a realtime version the times are the delayed ones; the schedule beside them
        planned_from = scheduled_at(self.p.realtime, trip, pos)
        planned_to = scheduled_at(self.p.realtime, trip, pos + 1)
        scheduled_departure = departure if planned_from is None else \
            iso(self.p, planned_from[1])
        scheduled_arrival = arrival if planned_to is None else iso(self.p, planned_to[0])
        out: dict[str, Any] = {"trips": [info]}
        color = str(tt.line_color[line])
        if color:
            out["routeColor"] = color
        out.update({
            "mode": self.v.mode(self.p.line_modes[line]),
            "distance": round(float(self.boxes.distance[route]), 1),
            "from": self.place(a),
            "to": self.place(b),
            "departure": departure,
            "arrival": arrival,
            "scheduledDeparture": scheduled_departure,
            "scheduledArrival": scheduled_arrival,
            "realTime": trip_is_realtime(self.p.realtime, trip),
            "polyline": self.polyline(trip, route, pos, a, b),
        })
        return out


def register_positions(app: FastAPI, rt: Runtime) -> None:
    """map/trips on every version's path: v1 (``routeShortName``, ``METRO``, level 0),
    v5 (``displayName``, level 0) and v6."""
    for version in (V1, V5, V6):
        _register_map_trips(app, rt, version)


def _register_map_trips(app: FastAPI, rt: Runtime, version: ApiVersion) -> None:
    @app.get(f"{version.prefix}/map/trips", tags=["map"], name=f"map_trips_v{version.number}",
             summary="Trip segments inside a box and a time window (vehicles on a map)")
    async def map_trips(  # camelCase parameters: MOTIS's names
        zoom: float,
        box_min: Annotated[str, Query(alias="min", description="lat,lon")],
        box_max: Annotated[str, Query(alias="max", description="lat,lon")],
        startTime: Annotated[str, Query(description="ISO 8601")],
        endTime: Annotated[str, Query(description="ISO 8601")],
        precision: float = 5,
        language: Annotated[list[str] | None, Query()] = None,
    ) -> list[dict[str, Any]]:
        box = parse_box(box_min, box_max)
        if not math.isfinite(zoom):
            raise ApiError(400, f"zoom: not a number: {zoom}", "zoom")
        if not (math.isfinite(precision) and 0 <= int(precision) <= 6):
            raise ApiError(400, "precision: invalid precision for polylines, allowed are "
                                "[0, 6]", "precision")
        zone = rt.store.timezone()
        start_at = parse_time(startTime, "startTime", zone)
        end_at = parse_time(endTime, "endTime", zone)
        assert start_at is not None and end_at is not None

        def work() -> list[dict[str, Any]]:
            prepared, _ = rt.prepared_for(start_at)
            t0 = prepared.tt.t0
            start = int(start_at.timestamp()) - t0
            end = int(end_at.timestamp()) - t0
            hops = trip_hops(prepared, box, int(zoom), start, end) if start < end else []
            render = SegmentRenderer(prepared, version, int(precision))
            return [render.segment(trip, pos) for trip, pos in hops]

        return await rt.run(work)
