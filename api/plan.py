"""``GET /api/v1/plan``: places to stops (access/egress), the router, itineraries as JSON.

* Places are stops (the stop and its platforms, no walk) or coordinates joined to the stops
  around them by :func:`access_egress`, the one place that turns a place into
  ``(stop, seconds)`` pairs; rental modes plug in there.
* Depart-at: one rRAPTOR range query over ``[time, time + searchWindow]`` (Pareto in
  departure and arrival), earliest departures first; McRAPTOR alternatives at the first
  departure fill up when the window holds fewer than ``numItineraries``.
* Arrive-by: the reverse CSA's latest departure that still arrives in time, repeated with
  the deadline moved before each itinerary's arrival.
* Page cursors continue from the first itinerary's departure (earlier: the window before
  it) or just after the last one's (later).
* ``transitModes`` builds (once per timetable and mode set) a router over a copy of the
  timetable in which boarding is disabled on routes of other modes; the arrays are shared.
"""


import json
import math
import threading
import time as clock
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
from fastapi import FastAPI, Query
from fastapi.responses import Response

from api.cache import cache_key
from api.common import (
    TRANSIT_FILTERS,
    ApiError,
    Place,
    coord_place,
    decode_cursor,
    encode_cursor,
    iso,
    mode_allowed,
    mode_of_route_type,
    parse_modes,
    parse_place,
    parse_time,
    stop_place,
)
from api.geo import POLYLINE_PRECISION, encode_polyline, haversine_m, path_length_m
from api.shapes import ShapeStore
from api.store import Prepared
from planner.journeys import Journey, TransitLeg, WalkLeg
from planner.router import Router, as_rows

if TYPE_CHECKING:
    from api.app import Runtime

try:  # orjson serialises a plan several times faster; plain json is the fallback
    import orjson

    def dumps(obj: object) -> bytes:
        return orjson.dumps(obj)
except ImportError:  # pragma: no cover - depends on the installation
    def dumps(obj: object) -> bytes:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()

STREET_MODES = frozenset({"WALK"})
#: Straight-line walks are longer on streets; the same factor as planner.streets.
DETOUR = 1.3


@dataclass(frozen=True)
class PlanRequest:
    """A normalised request: its JSON is the cache key (with the timetable version)."""

    from_place: str
    to_place: str
    time: int  # unix seconds
    arrive_by: bool
    search_window: int
    num_itineraries: int
    max_transfers: int
    min_transfer_time: int  # minutes, as in MOTIS
    pedestrian_speed: float  # m/s
    max_pre_transit_time: int
    max_post_transit_time: int
    max_direct_time: int
    transit_modes: tuple[str, ...]
    pre_transit_modes: tuple[str, ...]
    post_transit_modes: tuple[str, ...]
    direct_modes: tuple[str, ...]
    earlier: bool = False  # previous page: departures before ``time``

    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class Access:
    """One way between a place and a stop: ``seconds`` on ``mode`` over ``meters``."""

    stop: int
    seconds: int
    meters: float
    mode: str


def access_egress(prepared: Prepared, place: Place, max_seconds: int, speed: float,
                  modes: tuple[str, ...]) -> list[Access]:
    """Stops reachable from (or to) ``place`` within ``max_seconds``.

    A stop place yields its station group at no cost. A coordinate yields the stops within
    walking range (KD-tree radius ``max_seconds * speed / DETOUR``), timed as straight line
    x ``DETOUR`` / ``speed``. Walking is symmetric, so access and egress share this.
    """
    if place.stop is not None:
        return [Access(s, 0, 0.0, "WALK") for s in prepared.group(place.stop)]
    out: list[Access] = []
    if "WALK" in modes and max_seconds > 0:
        radius = max_seconds * speed / DETOUR
        for stop, metres in prepared.stop_index.within(place.lat, place.lon, radius):
            seconds = int(math.ceil(metres * DETOUR / speed))
            if seconds <= max_seconds:
                out.append(Access(stop, seconds, metres * DETOUR, "WALK"))
    return out


class RouterCache:
    """Routers per (timetable, transit mode set), built once and shared by threads."""

    def __init__(self) -> None:
        self._routers: dict[tuple[str, tuple[str, ...]], Router] = {}
        self._asked: dict[tuple[int, tuple[str, ...]], tuple[Prepared, Router]] = {}
        self._lock = threading.Lock()

    def get(self, prepared: Prepared, modes: tuple[str, ...]) -> Router:
        fast = self._asked.get((id(prepared), modes))
        if fast is not None and fast[0] is prepared:
            return fast[1]
        tt = prepared.tt
        requested = modes
        line_modes = [mode_of_route_type(int(x)) for x in tt.line_type]
        allowed_lines = np.array([mode_allowed(m, modes) for m in line_modes], dtype=bool)
        if allowed_lines.all():
            modes = ("TRANSIT",)
        key = (id(prepared), modes)
        with self._lock:
            hit = self._routers.get(key)
            if hit is not None:
                self._asked[(id(prepared), requested)] = (prepared, hit)
        if hit is not None:
            return hit
        if modes == ("TRANSIT",):
            router = Router(tt)
        else:
            route_ok = allowed_lines[np.asarray(tt.route_line)] if len(tt.route_line) else \
                np.zeros(0, dtype=bool)
            pos_route = np.repeat(np.arange(tt.n_routes), np.diff(tt.route_stop_offset))
            pickup = np.asarray(tt.route_pickup) * route_ok[pos_route].astype(np.uint8)
            conn_ok = route_ok[np.asarray(tt.trip_route)[np.asarray(tt.conn_trip)]]
            conn_pickup = np.asarray(tt.conn_pickup) * conn_ok.astype(np.uint8)
            router = Router(replace(tt, route_pickup=np.ascontiguousarray(pickup),
                                    conn_pickup=np.ascontiguousarray(conn_pickup)))
        with self._lock:
            if len(self._routers) > 32:  # old timetables: drop everything, rebuild lazily
                self._routers.clear()
            self._routers[key] = router
            if len(self._asked) > 64:
                self._asked.clear()
            self._asked[(id(prepared), requested)] = (prepared, router)  # no mode scan
        return router


def _leave_time(j: Journey) -> int:
    """When the traveller really leaves the origin: access and leading walks end at boarding."""
    first = next((leg for leg in j.legs if isinstance(leg, TransitLeg)), None)
    if first is None:
        return j.arrival - sum(leg.duration for leg in j.legs) - j.access - j.egress
    lead = 0
    for leg in j.legs:
        if isinstance(leg, TransitLeg):
            break
        lead += leg.duration
    return first.departure - lead - j.access


#: Depart-at searches scan the window in spans, starting with this much per itinerary
#: still missing and doubling: a span's journeys are exactly the Pareto (departure, arrival)
#: journeys of the whole window that depart in it, so only the work changes (one short
#: range query answers most requests for a few itineraries in a dense network).
SPAN_PER_ITINERARY = 900


def _signature(j: Journey) -> tuple:
    return tuple((type(x).__name__, getattr(x, "trip", -1), x.from_stop if isinstance(
        x, WalkLeg) else x.board_stop) for x in j.legs) + (_leave_time(j), j.arrival)


class _Found:
    """Journeys in the order found, without duplicates (same legs, departure, arrival)."""

    def __init__(self) -> None:
        self.items: list[Journey] = []
        self._seen: set[tuple] = set()

    def add(self, j: Journey) -> bool:
        sig = _signature(j)
        if sig in self._seen:
            return False
        self._seen.add(sig)
        self.items.append(j)
        return True


def search_later(router: Router, req: PlanRequest, sources: np.ndarray, targets: np.ndarray,
                 t: int, deadline: float) -> tuple[list[Journey], str]:
    """Depart-at: rRAPTOR over ``[t, t + searchWindow]``, earliest departures first.

    Each journey is the latest departure for its arrival and the earliest arrival for its
    departure. When the window holds fewer than ``numItineraries``, McRAPTOR alternatives
    at the first departure (fewer transfers, less walking) fill up, as MOTIS does. With
    nothing in the window, the first journey after it is returned.
    """
    slack = req.min_transfer_time * 60
    n = req.num_itineraries
    end = t + req.search_window
    found = _Found()
    after: Journey | None = None
    lo, doubling = t, 0
    while len(found.items) < n and lo <= end and clock.monotonic() < deadline:
        width = min(end - lo, (SPAN_PER_ITINERARY * (n - len(found.items))) << doubling)
        journeys, _ = router.range_query(sources, targets, lo, width,
                                         max_transfers=req.max_transfers,
                                         transfer_slack=slack)
        if not journeys:
            break  # nothing departs at or after ``lo``
        for j in journeys:
            if not j.transit_legs:
                continue
            if j.departure <= lo + width:
                found.add(j)
            elif lo + width >= end and after is None:  # the first one after the window
                after = j
        lo, doubling = lo + width + 1, doubling + 1
    items = found.items[:n]
    if not items and after is not None:
        found.add(after)
        items = found.items
    if items and len(items) < n and clock.monotonic() < deadline:
        found.items = items
        for j in router.pareto(sources, targets, items[0].departure,
                               max_transfers=req.max_transfers, transfer_slack=slack):
            if len(found.items) >= n:
                break
            if j.transit_legs and _leave_time(j) <= end:
                found.add(j)
        items = found.items
    return items, "" if items else "no connection departs within the search window"


def search_earlier(router: Router, req: PlanRequest, sources: np.ndarray,
                   targets: np.ndarray, t: int, deadline: float) -> tuple[list[Journey], str]:
    """Previous page: the last ``numItineraries`` journeys departing in ``[t - window, t)``."""
    if req.search_window < 1:
        return [], "no connection departs within the search window"
    journeys, _ = router.range_query(sources, targets, t - req.search_window,
                                     req.search_window - 1, max_transfers=req.max_transfers,
                                     transfer_slack=req.min_transfer_time * 60)
    found = _Found()
    for j in journeys:
        if j.transit_legs and j.departure < t:
            found.add(j)
    items = found.items[-req.num_itineraries:]
    return items, "" if items else "no connection departs within the search window"


def _latest_bounded(router: Router, sources: np.ndarray, targets: np.ndarray, limit: int,
                    upper: int, kw: dict[str, int]) -> Journey | None:
    """Latest departure ``<= upper`` arriving by ``limit`` within ``max_transfers``.

    The reverse CSA knows no transfer bound; when its journey needs too many transfers this
    bisects the monotone "earliest arrival for a departure" of RAPTOR instead.
    """
    lo, hi = upper - 24 * 3600, upper + 1
    if (router.arrival_time(sources, targets, lo, **kw) or math.inf) > limit:
        return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        a = router.arrival_time(sources, targets, mid, **kw)
        if a is not None and a <= limit:
            lo = mid
        else:
            hi = mid
    return router.earliest_arrival(sources, targets, lo, **kw)


def search_arrive_by(router: Router, req: PlanRequest, sources: np.ndarray,
                     targets: np.ndarray, t: int, deadline: float) -> tuple[list[Journey], str]:
    """Arrive-by: reverse CSA for the latest departure, then again with a moving deadline.

    Each departure is then searched forward (RAPTOR, ``maxTransfers``): the journey that
    arrives earliest from it, fewest trips among those, so the next deadline (one second
    before that arrival) cannot give the same departure again.
    """
    slack = req.min_transfer_time * 60
    kw = {"max_transfers": req.max_transfers, "transfer_slack": slack}
    found = _Found()
    limit = t
    while len(found.items) < req.num_itineraries and clock.monotonic() < deadline:
        back = router.latest_departure(sources, targets, limit, transfer_slack=slack)
        if back is None or not back.transit_legs:
            break
        j = router.earliest_arrival(sources, targets, back.departure, **kw)
        if j is None or not j.transit_legs or j.arrival > limit:
            j = _latest_bounded(router, sources, targets, limit, back.departure, kw)
        if j is None or not j.transit_legs or j.arrival > limit:
            break
        if found.items and j.arrival < t - req.search_window:
            break
        found.add(j)
        limit = j.arrival - 1
    items = found.items
    return items, "" if items else "no connection arrives in time within the search window"


def search(router: Router, req: PlanRequest, sources: list[tuple[int, int]],
           targets: list[tuple[int, int]], t: int, deadline: float) -> tuple[list[Journey], str]:
    """Journeys for the request at timetable time ``t``; (journeys, reason if none)."""
    src, tgt = as_rows(sources), as_rows(targets)
    if req.arrive_by:
        return search_arrive_by(router, req, src, tgt, t, deadline)
    if req.earlier:
        return search_earlier(router, req, src, tgt, t, deadline)
    return search_later(router, req, src, tgt, t, deadline)


# --- JSON -----------------------------------------------------------------------------------


class ItineraryBuilder:
    def __init__(self, prepared: Prepared, shapes: ShapeStore, origin: Place, dest: Place,
                 speed: float) -> None:
        self.p = prepared
        self.tt = prepared.tt
        self.shapes = shapes
        self.origin = origin
        self.dest = dest
        self.speed = speed

    def _place(self, stop: int | None, place: Place | None, label: str,
               **times: object) -> dict[str, Any]:
        if stop is not None:
            return stop_place(self.p, stop, **times)
        assert place is not None
        return coord_place(place.lat, place.lon, label, **times)

    def _latlon(self, stop: int) -> tuple[float, float]:
        return float(self.tt.stop_lat[stop]), float(self.tt.stop_lon[stop])

    def walk(self, a: tuple[float, float], b: tuple[float, float], start: int, end: int,
             frm: dict[str, Any], to: dict[str, Any]) -> dict[str, Any]:
        pts = [a, b]
        return {
            "mode": "WALK",
            "from": frm, "to": to,
            "startTime": iso(self.p, start), "endTime": iso(self.p, end),
            "scheduledStartTime": iso(self.p, start), "scheduledEndTime": iso(self.p, end),
            "duration": end - start,
            "distance": round(haversine_m(*a, *b) * DETOUR, 1),
            "realTime": False,
            "legGeometry": {"points": encode_polyline(pts), "precision": POLYLINE_PRECISION,
                            "length": len(pts)},
        }

    def transit(self, leg: TransitLeg) -> dict[str, Any]:
        tt = self.tt
        line = leg.line
        points, n_points, distance = self.geometry(leg)
        dep, arr = iso(self.p, leg.departure), iso(self.p, leg.arrival)
        return {
            "mode": mode_of_route_type(int(tt.line_type[line])),
            "from": stop_place(self.p, leg.board_stop, departure=dep, scheduledDeparture=dep),
            "to": stop_place(self.p, leg.alight_stop, arrival=arr, scheduledArrival=arr),
            "startTime": dep, "endTime": arr,
            "scheduledStartTime": dep, "scheduledEndTime": arr,
            "duration": leg.arrival - leg.departure,
            "distance": distance,
            "realTime": False,
            "routeId": str(tt.line_ids[line]),
            "routeShortName": str(tt.line_short_name[line]),
            "routeLongName": str(tt.line_long_name[line]),
            "routeColor": str(tt.line_color[line]),
            "routeTextColor": str(tt.line_text_color[line]),
            "routeType": int(tt.line_type[line]),
            "agencyName": str(tt.line_agency_name[line]),
            "tripId": leg.gtfs_trip_id,
            "serviceDate": tt.dates[int(tt.trip_day[leg.trip])].isoformat(),
            "headsign": leg.headsign,
            "intermediateStops": [
                stop_place(self.p, v.stop, arrival=iso(self.p, v.arrival),
                           departure=iso(self.p, v.departure))
                for v in leg.stops[1:-1]],
            "legGeometry": {"points": points, "precision": POLYLINE_PRECISION,
                            "length": n_points},
        }

    def geometry(self, leg: TransitLeg) -> tuple[str, int, float]:
        """(encoded polyline, points, metres) of a leg, once per timetable: a stop pattern
        (route), its shape and the two positions fix it, and cutting shapes is costly."""
        tt = self.tt
        shape_id = str(tt.gtfs_trip_shape[int(tt.trip_gtfs[leg.trip])])
        key = (shape_id, leg.route, leg.board_pos, leg.alight_pos)
        cache = self.p.geometry_cache
        hit = cache.get(key)
        if hit is None:
            stops = [self._latlon(v.stop) for v in leg.stops]
            pattern = cache.get((shape_id, leg.route))
            if pattern is None:
                base = int(tt.route_stop_offset[leg.route])
                end = int(tt.route_stop_offset[leg.route + 1])
                route_stops = [self._latlon(int(x)) for x in tt.route_stops[base:end]]
                pattern = cache[(shape_id, leg.route)] = (
                    self.shapes.match(shape_id, route_stops),)
            idx = pattern[0]
            if idx is None or len(stops) < 2:
                geometry = stops
            else:
                shape = self.shapes.shapes[shape_id]
                piece = shape[idx[leg.board_pos]:idx[leg.alight_pos] + 1].tolist()
                geometry = [stops[0], *map(tuple, piece), stops[-1]]
            hit = (encode_polyline(geometry), len(geometry), round(path_length_m(geometry), 1))
            if len(cache) > 200_000:
                cache.clear()
            cache[key] = hit
        return hit

    def itinerary(self, j: Journey) -> dict[str, Any]:
        legs: list[dict[str, Any]] = []
        leave = _leave_time(j)
        t = leave
        origin_is_stop = self.origin.stop is not None
        if j.access > 0 or not origin_is_stop:
            if j.access > 0:
                end = t + j.access
                legs.append(self.walk((self.origin.lat, self.origin.lon),
                                      self._latlon(j.source), t, end,
                                      self._place(None, self.origin, "START"),
                                      stop_place(self.p, j.source)))
                t = end
        for k, leg in enumerate(j.legs):
            if isinstance(leg, TransitLeg):
                legs.append(self.transit(leg))
                t = leg.arrival
            else:
                nxt = j.legs[k + 1] if k + 1 < len(j.legs) else None
                # walks before the first trip end at boarding; later ones start at alighting
                start = t if j.transit_legs and j.transit_legs[0] is not None and \
                    any(isinstance(x, TransitLeg) for x in j.legs[:k]) else \
                    (nxt.departure - leg.duration if isinstance(nxt, TransitLeg) else t)
                end = start + leg.duration
                legs.append(self.walk(self._latlon(leg.from_stop), self._latlon(leg.to_stop),
                                      start, end, stop_place(self.p, leg.from_stop),
                                      stop_place(self.p, leg.to_stop)))
                t = end
        if j.egress > 0:
            legs.append(self.walk(self._latlon(j.target), (self.dest.lat, self.dest.lon),
                                  t, t + j.egress, stop_place(self.p, j.target),
                                  self._place(None, self.dest, "END")))
            t += j.egress
        return {
            "duration": j.arrival - leave,
            "startTime": iso(self.p, leave),
            "endTime": iso(self.p, j.arrival),
            "transfers": j.transfers,
            "legs": legs,
        }

    def direct_walk(self, start: int) -> dict[str, Any]:
        a = (self.origin.lat, self.origin.lon)
        b = (self.dest.lat, self.dest.lon)
        seconds = int(math.ceil(haversine_m(*a, *b) * DETOUR / self.speed))
        leg = self.walk(a, b, start, start + seconds,
                        self._place(self.origin.stop, self.origin, "START"),
                        self._place(self.dest.stop, self.dest, "END"))
        return {"duration": seconds, "startTime": leg["startTime"], "endTime": leg["endTime"],
                "transfers": 0, "legs": [leg]}


def compute_plan(rt: "Runtime", prepared: Prepared, req: PlanRequest, origin: Place,
                 dest: Place, t: int, deadline: float) -> dict[str, Any]:
    speed = req.pedestrian_speed
    builder = ItineraryBuilder(prepared, shapes_for(prepared), origin, dest, speed)
    out: dict[str, Any] = {
        "from": builder._place(origin.stop, origin, "START"),
        "to": builder._place(dest.stop, dest, "END"),
        "itineraries": [], "direct": [],
        "previousPageCursor": None, "nextPageCursor": None,
    }
    if "WALK" in req.direct_modes:
        beeline = haversine_m(origin.lat, origin.lon, dest.lat, dest.lon)
        if beeline * DETOUR / speed <= req.max_direct_time:
            start = t if not req.arrive_by else t - int(math.ceil(beeline * DETOUR / speed))
            out["direct"].append(builder.direct_walk(start))
    access = access_egress(prepared, origin, req.max_pre_transit_time, speed,
                           req.pre_transit_modes)
    egress = access_egress(prepared, dest, req.max_post_transit_time, speed,
                           req.post_transit_modes)
    reason = ""
    if not access:
        reason = (f"no stop within {req.max_pre_transit_time} s of walking from fromPlace")
    elif not egress:
        reason = (f"no stop within {req.max_post_transit_time} s of walking to toPlace")
    journeys: list[Journey] = []
    if not reason:
        router = rt.routers.get(prepared, req.transit_modes)
        journeys, reason = search(router, req, [(a.stop, a.seconds) for a in access],
                                  [(e.stop, e.seconds) for e in egress], t, deadline)
    journeys.sort(key=lambda j: (_leave_time(j), j.arrival))
    out["itineraries"] = [builder.itinerary(j) for j in journeys]
    if reason and not journeys:
        out["reason"] = reason
    # Pages continue from this page's first / last departure (MOTIS-style cursors).
    tt = prepared.tt
    window = req.search_window
    if journeys:
        earlier_from = min(_leave_time(j) for j in journeys)
        later_from = max(_leave_time(j) for j in journeys) + 1
    elif req.earlier:
        earlier_from, later_from = t - window, t
    elif req.arrive_by:
        earlier_from, later_from = t - window, t + 1
    else:
        earlier_from, later_from = t, t + window + 1
    out["previousPageCursor"] = encode_cursor({"time": earlier_from + tt.t0, "arriveBy": False,
                                               "dir": "earlier"})
    out["nextPageCursor"] = encode_cursor({"time": later_from + tt.t0, "arriveBy": False,
                                           "dir": "later"})
    return out


_shape_stores: dict[int, ShapeStore] = {}
_shape_lock = threading.Lock()


def shapes_for(prepared: Prepared) -> ShapeStore:
    """One ShapeStore per feed set (shapes do not depend on the service day)."""
    fs = prepared.feedset
    with _shape_lock:
        store = getattr(fs, "_shape_store", None)
        if store is None:
            store = ShapeStore(fs.paths)
            fs._shape_store = store  # type: ignore[attr-defined]
    return store


def register_plan(app: FastAPI, rt: "Runtime") -> None:
    s = rt.settings
    rt.routers = RouterCache()  # type: ignore[attr-defined]
    walk_default = 900

    @app.get("/api/v1/plan", tags=["routing"], summary="Plan journeys between two places",
             response_class=Response,
             responses={200: {"content": {"application/json": {}},
                              "description": "{from, to, itineraries[], direct[], "
                                             "previousPageCursor, nextPageCursor}"}})
    async def plan(
        fromPlace: Annotated[str, Query(min_length=1, max_length=200,  # noqa: N803
                                        description="'lat,lon[,level]' or a stop id",
                                        examples=["52.0275,8.5327", "de-db-fv-2026:347953"])],
        toPlace: Annotated[str, Query(min_length=1, max_length=200,  # noqa: N803
                                      description="'lat,lon[,level]' or a stop id",
                                      examples=["51.9069,8.3894", "de-db-fv-2026:469041"])],
        time: Annotated[str | None, Query(description="ISO 8601; default now")] = None,
        arriveBy: bool = False,  # noqa: N803
        searchWindow: Annotated[int, Query(ge=0, le=s.max_search_window,  # noqa: N803
                                           description="seconds")] = 7200,
        numItineraries: Annotated[int, Query(ge=1, le=s.max_itineraries)] = 5,  # noqa: N803
        maxTransfers: Annotated[int, Query(ge=0, le=15)] = 7,  # noqa: N803
        minTransferTime: Annotated[int, Query(ge=0, le=60,  # noqa: N803
                                              description="minutes added to every transfer"
                                              )] = 0,
        pedestrianSpeed: Annotated[float, Query(ge=0.3, le=3.0,  # noqa: N803
                                                description="m/s")] = s.walk_speed_kmh / 3.6,
        maxPreTransitTime: Annotated[int, Query(ge=0, le=s.max_walk_seconds)] = walk_default,  # noqa: N803
        maxPostTransitTime: Annotated[int, Query(ge=0, le=s.max_walk_seconds)] = walk_default,  # noqa: N803
        maxDirectTime: Annotated[int, Query(ge=0, le=s.max_walk_seconds * 4)] = 1800,  # noqa: N803
        transitModes: str | None = None,  # noqa: N803
        preTransitModes: str | None = None,  # noqa: N803
        postTransitModes: str | None = None,  # noqa: N803
        directModes: str | None = None,  # noqa: N803
        pageCursor: str | None = None,  # noqa: N803
    ) -> Response:
        zone = rt.store.timezone()
        moment = parse_time(time, "time", zone)
        arrive = arriveBy
        earlier = False
        if pageCursor:
            cur = decode_cursor(pageCursor)
            try:
                moment = datetime.fromtimestamp(float(cur["time"]))  # type: ignore[arg-type]
                moment = moment.astimezone()
                arrive = bool(cur["arriveBy"])
                earlier = cur.get("dir", "later") == "earlier" and not arrive
            except (KeyError, TypeError, ValueError, OverflowError, OSError):
                raise ApiError(400, "pageCursor: not a cursor returned by this server",
                               "pageCursor") from None
        modes = (
            parse_modes(transitModes, "transitModes", TRANSIT_FILTERS, ("TRANSIT",)),
            parse_modes(preTransitModes, "preTransitModes", STREET_MODES, ("WALK",)),
            parse_modes(postTransitModes, "postTransitModes", STREET_MODES, ("WALK",)),
            parse_modes(directModes, "directModes", STREET_MODES, ("WALK",)),
        )
        if not modes[0]:
            raise ApiError(400, "transitModes: empty", "transitModes")
        deadline = clock.monotonic() + s.search_deadline

        def work() -> bytes:
            prepared, when = rt.prepared_for(moment)
            origin = parse_place(fromPlace, "fromPlace", prepared)
            dest = parse_place(toPlace, "toPlace", prepared)
            req = PlanRequest(
                from_place=fromPlace.strip(), to_place=toPlace.strip(),
                time=int(when.timestamp()), arrive_by=arrive, search_window=searchWindow,
                num_itineraries=numItineraries, max_transfers=maxTransfers,
                min_transfer_time=minTransferTime, pedestrian_speed=round(pedestrianSpeed, 3),
                max_pre_transit_time=maxPreTransitTime,
                max_post_transit_time=maxPostTransitTime, max_direct_time=maxDirectTime,
                transit_modes=modes[0], pre_transit_modes=modes[1],
                post_transit_modes=modes[2], direct_modes=modes[3], earlier=earlier)
            key = cache_key("plan", prepared.version, req.key())
            cached = rt.cache.get(key)
            if cached is not None:
                rt.metrics.cache.labels("hit").inc()
                return cached
            rt.metrics.cache.labels("miss").inc()
            t = req.time - prepared.tt.t0
            body = dumps(compute_plan(rt, prepared, req, origin, dest, t, deadline))
            rt.cache.set(key, body)
            return body

        body = await rt.run(work)
        return Response(body, media_type="application/json")
