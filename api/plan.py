"""``GET /api/v1/plan``: HTTP parameters in, MOTIS-style JSON out.

The search itself is :func:`planner.multimodal.search.plan_trip` (places to stops,
transit search policy, sharing options, direct trips); this module parses and checks the
parameters, caches whole responses and renders the plan:

* ``pageCursor`` continues from the first itinerary's departure (earlier: the journeys
  before it) or just after the last one's (later); the planner says where.
* ``transitModes`` becomes a route mask (:func:`planner.routing.modes.route_mask`);
  ``transitModes=`` (empty) asks for direct trips only, as in MOTIS.
* ``searchWindow`` is the first window; the planner widens it up to the server's
  ``max_search_window`` until ``numItineraries`` are found (as MOTIS does).
* Rental legs are drawn along the street path of the model they were timed on
  (:meth:`planner.multimodal.streets.Streets.route`); plans with rental modes depend on
  live data, so their cache key includes the GBFS state token, and stale or broken feeds
  are named in ``warnings``.
"""


import json
import time as clock
from dataclasses import asdict, dataclass, fields, is_dataclass
from datetime import date, datetime
from datetime import time as dtime
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import numpy as np
import orjson
from fastapi import FastAPI, Query, Request
from fastapi.responses import Response

from api import itinerary_id
from api.cache import cache_key
from api.common import (
    LEVEL_UNSET_FROM,
    ApiError,
    coord_place,
    decode_cursor,
    encode_cursor,
    iso,
    parse_modes,
    parse_place,
    parse_time,
    split_trip_id,
    stop_place,
    trip_fields,
    trip_id,
    versioned_level,
)
from api.fast_params import fast_query
from api.geo import PolylinePieces, encode_polyline
from api.limits import check_cost, request_cost
from api.plan_params import (
    FORM_FACTORS,
    PROPULSION_TYPES,
    UNSUPPORTED_MODES,
    QueryParams,
    check_values,
    refuse_unless,
)
from api.realtime import LegTimes, cancelled_run, leg_alerts, stop_alerts
from api.shapes import ShapeStore
from api.sharing import iso_utc
from api.store import Prepared
from api.versions import V1, V5, V6, ApiVersion
from feeds.gbfs import GbfsSnapshot
from planner.multimodal.geometry import haversine_m, path_length_m
from planner.multimodal.rentals import AccessOption, RentalLeg
from planner.multimodal.rentals import Place as OptionPlace
from planner.multimodal.search import (
    DETOUR,
    RENTAL_MODES,
    STREET_MODES,
    DirectTrip,
    Itinerary,
    Location,
    Network,
    RentalFilter,
    Sharing,
    TripPlan,
    TripRequest,
    plan_trip,
)
from planner.multimodal.streets import FORM_FACTOR_MODE, StreetPath, Streets
from planner.routing.journeys import StopVisits, TransitLeg, leave_time, transit_leg
from planner.routing.modes import TRANSIT_FILTERS, bike_route_mask, route_mask
from planner.routing.query import DEFAULT_MAX_TRANSFERS, MAX_TRANSFERS
from planner.routing.search import Page
from planner.timetable.options import OutOfRangeError

if TYPE_CHECKING:
    from api.runtime import Runtime

#: JSON of a response: orjson (a dependency), which also writes the ``orjson.Fragment``
#: pieces that rendering keeps as text.
dumps = orjson.dumps


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
    rental_providers: tuple[str, ...] = ()  # GBFS system ids; empty: all
    version: int = 1  # the API version asked (rendering differs)
    detailed_transfers: bool = True  # street paths of transfer walks
    detailed_legs: bool = True  # legGeometry of transit legs
    require_bike: bool = False  # only trips with bikes_allowed=1
    max_travel_time: int | None = None  # seconds; longer itineraries are dropped
    max_itineraries: int | None = None
    fastest_direct_factor: float | None = None
    widen: bool = True  # False: only the asked window (numItineraries=0, timetableView)
    radius: float | None = None
    cycling_speed: float | None = None
    max_matching_distance: float | None = None
    rental_filters: tuple[RentalFilter, RentalFilter, RentalFilter] | None = None

    @property
    def wants_rental(self) -> bool:
        return any(m in RENTAL_MODES for m in
                   self.pre_transit_modes + self.post_transit_modes + self.direct_modes)

    def as_dict(self) -> dict[str, Any]:
        """``dataclasses.asdict`` of the request, without its deep copy of every field
        (it took a third of a cached answer's CPU): only the rental filters are objects."""
        out = {f.name: getattr(self, f.name) for f in _REQUEST_FIELDS}
        if isinstance(self.rental_filters, tuple):
            out["rental_filters"] = tuple(asdict(x) if is_dataclass(x) else x
                                          for x in self.rental_filters)
        return out

    def key(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True)


_REQUEST_FIELDS = fields(PlanRequest)


def check_rental(rt: "Runtime", modes: tuple[tuple[str, ...], ...],
                 providers: str | None) -> tuple[str, ...]:
    """400 for rental modes on a server without GBFS feeds (the widget then plans without
    them) and for unknown ``rentalProviders``; returns the providers as system ids."""
    names = ("preTransitModes", "postTransitModes", "directModes")
    if not rt.sharing.enabled:
        for name, given in zip(names, modes[1:], strict=True):
            rental = [m for m in given if m in RENTAL_MODES]
            if rental:
                raise ApiError(400, f"{name}: {', '.join(rental)} not available: this server "
                                    "has no shared-mobility (GBFS) feed configured", name,
                               code="sharing_unavailable")
    if providers is None:
        return ()
    wanted = list(dict.fromkeys(p.strip() for p in providers.split(",") if p.strip()))
    known = rt.sharing.known_providers()
    unknown = [p for p in wanted if p not in known]
    if unknown:
        ids = sorted({v for v in known.values() if v} | set(known))
        raise ApiError(400, f"rentalProviders: unknown system id(s) {', '.join(unknown)}; "
                            f"known: {', '.join(ids) or 'none'}", "rentalProviders")
    return tuple(sorted({known[p] or p for p in wanted}))


#: Entries a per-timetable rendering cache holds before it starts over (a feed with
#: many trips would otherwise keep every trip a plan ever rode).
RENDER_CACHE_SIZE = 100_000


def visit_columns(leg: TransitLeg) -> tuple[list[int], list[int], list[int]]:
    """(stops, arrivals, departures) of a leg's visits, read as columns where the leg
    reads them lazily (no named tuple per visit)."""
    if isinstance(leg.stops, StopVisits):
        return leg.stops.columns()
    stops = leg.stops
    return [v.stop for v in stops], [v.arrival for v in stops], [v.departure for v in stops]


def _bounded(cache: dict[Any, Any]) -> dict[Any, Any]:
    if len(cache) >= RENDER_CACHE_SIZE:
        cache.clear()
    return cache


class ItineraryBuilder:
    """MOTIS JSON of a plan's itineraries, in the shape of API ``version``
    (:mod:`api.versions`)."""

    def __init__(self, prepared: Prepared, shapes: ShapeStore, origin: Location, dest: Location,
                 speed: float, version: ApiVersion = V1, detailed_transfers: bool = True,
                 detailed_legs: bool = True) -> None:
        self.p = prepared
        self.tt = prepared.tt
        self.shapes = shapes
        self.origin = origin
        self.dest = dest
        self.speed = speed
        self.version = version
        self.precision = version.polyline_precision
        self.detailed_transfers = detailed_transfers
        self.detailed_legs = detailed_legs
        self.gbfs_now: float | None = None  # GBFS clock of the rental options
        #: Street graphs the rental options were timed on (None: straight lines).
        self.streets: Streets | None = None
        #: (stop, seconds) rows an own vehicle gave, by side (TripPlan.access_modes).
        self.access_modes: dict[tuple[int, int], str] = {}
        self.egress_modes: dict[tuple[int, int], str] = {}
        self._level_unset = version.number >= LEVEL_UNSET_FROM
        self._iso_cache = prepared.iso_cache
        #: Whether the version has alerts at all (else no stop or leg is looked up).
        self._alerts = bool(prepared.realtime is not None and prepared.realtime.alerts)

    def _v(self, place: dict[str, Any]) -> dict[str, Any]:
        return versioned_level(place, self.version.number)

    def stop(self, stop: int, **times: object) -> dict[str, Any]:
        return self._v(stop_place(self.p, stop, **times))

    def _place(self, stop: int | None, place: Location | None, label: str,
               **times: object) -> dict[str, Any]:
        if stop is not None:
            return self.stop(stop, **times)
        assert place is not None
        return self._v(coord_place(place.lat, place.lon, label, **times))

    def _latlon(self, stop: int) -> tuple[float, float]:
        return float(self.tt.stop_lat[stop]), float(self.tt.stop_lon[stop])

    def _geometry(self, pts: list[tuple[float, float]]) -> dict[str, Any]:
        return {"points": encode_polyline(pts, self.precision), "precision": self.precision,
                "length": len(pts)}

    def walk(self, a: tuple[float, float], b: tuple[float, float], start: int, end: int,
             frm: dict[str, Any], to: dict[str, Any], path: StreetPath | None = None,
             mode: str = "WALK", between_stops: bool = False) -> dict[str, Any]:
        if path is None and between_stops:  # a footpath: its line once per pair of stops
            geometry, distance = self._straight(a, b)
        elif path is None:
            geometry = self._geometry([a, b])
            distance = round(haversine_m(*a, *b) * DETOUR, 1)
        else:
            geometry, distance = self._geometry(path.points), round(path.meters, 1)
        begins, ends = self._iso(start), self._iso(end)
        return {
            "mode": mode,
            "from": frm, "to": to,
            "startTime": begins, "endTime": ends,
            "scheduledStartTime": begins, "scheduledEndTime": ends,
            "duration": end - start,
            "distance": distance,
            "realTime": False,
            "scheduled": True,
            "legGeometry": geometry,
        }

    def _straight(self, a: tuple[float, float], b: tuple[float, float]
                  ) -> tuple[dict[str, Any], float]:
        """(legGeometry, distance) of a walk drawn as a straight line from ``a`` to ``b``,
        built once per timetable and precision (footpaths between stops repeat; encoding
        their polylines was a sixth of rendering a plan). Shared: callers copy it."""
        key = ("straight", a, b, self.precision)
        cache = self.p.geometry_cache
        hit = cache.get(key)
        if hit is None:
            if len(cache) >= GEOMETRIES_KEPT:
                cache.clear()
            hit = cache[key] = (self._geometry([a, b]),
                                round(haversine_m(*a, *b) * DETOUR, 1))
        return dict(hit[0]), hit[1]

    def _street(self, mode: str, a: tuple[float, float], b: tuple[float, float],
                seconds: int) -> StreetPath | None:
        """The street path of an own-vehicle or walking leg where a graph timed it."""
        if self.streets is None or mode not in self.streets.graphs:
            return None
        return self.streets.route(mode, a, b, seconds + 1)

    def _base(self, stop: int) -> dict[str, Any]:
        """The stop's ``Place`` without times, as this version sends it (shared: copy it)."""
        cache = self.p.level_free_places if self._level_unset else self.p.place_cache
        base = cache.get(stop)
        if base is None:
            base = cache[stop] = self._v(stop_place(self.p, stop))
        return base

    def _iso(self, t: int) -> str:
        text = self._iso_cache.get(t)
        return iso(self.p, t) if text is None else text

    def _visit_alerts(self, place: dict[str, Any], stop: int, departure: int) -> None:
        alerts = stop_alerts(self.p.realtime, str(self.tt.stop_ids[stop]),
                             self.tt.t0 + departure)
        if alerts:
            place["alerts"] = alerts

    def _trip_end(self, leg: TransitLeg, last: bool) -> "orjson.Fragment":
        """``tripFrom``/``tripTo``: the trip's first or last stop, at its time (JSON text:
        the same for every leg of the trip)."""
        key = (leg.trip, last, self.version.number)
        cached = self.p.trip_end_cache.get(key)
        if cached is None:
            tt = self.tt
            base = int(tt.route_stop_offset[leg.route])
            n = int(tt.route_stop_offset[leg.route + 1]) - base
            pos = n - 1 if last else 0
            t = int(tt.trip_st_offset[leg.trip]) + pos
            when = self._iso(int(tt.st_arr[t] if last else tt.st_dep[t]))
            place = dict(self._base(int(tt.route_stops[base + pos])))
            if last:
                place["arrival"] = place["scheduledArrival"] = when
            else:
                place["departure"] = place["scheduledDeparture"] = when
            cached = _bounded(self.p.trip_end_cache)[key] = orjson.Fragment(dumps(place))
        return cached

    def _trip_fields(self, leg: TransitLeg, g: int) -> dict[str, Any]:
        """What a leg says about its trip, line and agency (the same for every leg of
        that trip and day: built once per timetable and version)."""
        key = (leg.trip, self.version.number)
        cached = self.p.trip_fields_cache.get(key)
        if cached is None:
            tt = self.tt
            cached = {**trip_fields(tt, g, self.version.number),
                      "tripId": trip_id(tt, leg.trip),
                      "routeType": self.version.route_type(int(tt.line_type[leg.line])),
                      "headsign": leg.headsign,
                      "serviceDate": tt.dates[int(tt.trip_day[leg.trip])].isoformat(),
                      "mode": self.version.mode(self.p.line_modes[leg.line])}
            _bounded(self.p.trip_fields_cache)[key] = cached
        return cached

    def transit(self, leg: TransitLeg) -> dict[str, Any]:
        """A transit leg (MOTIS ``Leg``). The hot part of a plan's rendering: stops come
        from per-stop ``Place`` objects built once, times from the timetable's ISO cache,
        trip and line fields once per trip, alerts only when the version has any."""
        tt = self.tt
        g = int(tt.trip_gtfs[leg.trip])
        if self.detailed_legs:
            points, n_points, distance = self.geometry(leg)
        else:  # MOTIS: no geometry asked for, none sent
            points, n_points = "", 0
            distance = self.geometry(leg)[2]
        ids, arrs, deps = visit_columns(leg)
        last = len(ids) - 1
        # cache lookups inline (a C call per time, a Python call only on a miss; no
        # cached text is empty)
        iso_, known = self._iso, self._iso_cache.get
        live = LegTimes(self.p.realtime, leg)
        alerts = self._alerts
        pos = int(tt.route_stop_offset[leg.route]) + leg.board_pos
        pickup_at = tt.route_pickup[pos:pos + last + 1].tolist()
        dropoff_at = tt.route_dropoff[pos:pos + last + 1].tolist()
        middle: Any = []
        if live.from_schedule and not alerts:  # the usual case: times only at the ends
            # of dicts; the intermediate stops as JSON text (no dict per visit)
            dep = s_dep0 = known(deps[0]) or iso_(deps[0])
            arr = s_arr_last = known(arrs[last]) or iso_(arrs[last])
            if last > 1:
                middle = self._scheduled_middle(ids[1:last], pickup_at[1:last],
                                                dropoff_at[1:last], arrs[1:last],
                                                deps[1:last])
        else:
            arr_iso = [known(a) or iso_(a) for a in arrs]
            dep_iso = [known(d) or iso_(d) for d in deps]
            if live.from_schedule:
                s_arr, s_dep = arr_iso, dep_iso
            else:
                s_arr = [known(a) or iso_(a) for a, _ in live.scheduled]
                s_dep = [known(d) or iso_(d) for _, d in live.scheduled]
            dep, s_dep0, arr, s_arr_last = dep_iso[0], s_dep[0], arr_iso[last], s_arr[last]
            skipped = live.skipped_stops
            if alerts:
                middle = [{**self._base(x), "pickupType": "NORMAL" if pu else "NOT_ALLOWED",
                           "dropoffType": "NORMAL" if do else "NOT_ALLOWED",
                           "cancelled": sk, "arrival": a, "scheduledArrival": sa,
                           "departure": d, "scheduledDeparture": sd}
                          for x, pu, do, sk, a, sa, d, sd in zip(
                              ids[1:last], pickup_at[1:last], dropoff_at[1:last],
                              skipped[1:last], arr_iso[1:last], s_arr[1:last],
                              dep_iso[1:last], s_dep[1:last], strict=True)]
            elif last > 1:
                middle = self._middle(ids[1:last], pickup_at[1:last], dropoff_at[1:last],
                                      skipped[1:last], arr_iso[1:last], s_arr[1:last],
                                      dep_iso[1:last], s_dep[1:last])
        # one dict display per stop, its keys in the order the fields were set one by one
        visits = [{**self._base(ids[0]),
                   "pickupType": "NORMAL" if pickup_at[0] else "NOT_ALLOWED",
                   "dropoffType": "NORMAL" if dropoff_at[0] else "NOT_ALLOWED",
                   "cancelled": False}]
        if last > 0:
            visits[0]["departure"], visits[0]["scheduledDeparture"] = dep, s_dep0
        if alerts:
            visits += middle
        if last > 0:
            visits.append({**self._base(ids[last]),
                           "pickupType": "NORMAL" if pickup_at[last] else "NOT_ALLOWED",
                           "dropoffType": "NORMAL" if dropoff_at[last] else "NOT_ALLOWED",
                           "cancelled": False, "arrival": arr, "scheduledArrival": s_arr_last})
        if alerts:
            for k, place in enumerate(visits):
                self._visit_alerts(place, ids[k], deps[k])
        about = self._trip_fields(leg, g)
        return {
            "mode": about["mode"],
            "from": visits[0],
            "to": visits[-1],
            "startTime": dep, "endTime": arr,
            "scheduledStartTime": s_dep0, "scheduledEndTime": s_arr_last,
            "duration": leg.arrival - leg.departure,
            "distance": distance,
            "realTime": live.realtime,
            "scheduled": live.scheduled_trip,
            "cancelled": False,
            "alerts": [] if not alerts else leg_alerts(
                self.p.realtime, str(tt.gtfs_trip_ids[g]), str(tt.line_ids[leg.line]),
                [str(tt.stop_ids[x]) for x in ids], tt.t0 + leg.departure),
            "interlineWithPreviousLeg": False,
            **about,
            "tripFrom": self._trip_end(leg, last=False),
            "tripTo": self._trip_end(leg, last=True),
            "intermediateStops": middle,
            "legGeometry": {"points": points, "precision": self.precision,
                            "length": n_points},
        }

    def _middle(self, ids: list[int], pickup: list[int], dropoff: list[int],
                skipped: list[bool], arrs: list[str], s_arrs: list[str], deps: list[str],
                s_deps: list[str]) -> "orjson.Fragment":
        """A leg's ``intermediateStops`` as JSON text (without alerts): each visit is its
        stop's head (place and stop types, serialised once per stop) and its times, the
        bytes that the visit's dict gave; building and serialising ~20 dicts per leg was
        the largest part of rendering a plan."""
        heads, unset = self.p.visit_heads, self._level_unset
        parts = []
        for stop, pu, do, sk, a, sa, d, sd in zip(ids, pickup, dropoff, skipped, arrs,
                                                  s_arrs, deps, s_deps, strict=True):
            head = heads.get((stop, pu, do, unset))
            if head is None:
                head = self._visit_head(stop, pu, do)
            parts.append(f'{head}{"true" if sk else "false"},"arrival":"{a}",'
                         f'"scheduledArrival":"{sa}","departure":"{d}",'
                         f'"scheduledDeparture":"{sd}"}}')
        return orjson.Fragment(f"[{','.join(parts)}]")

    def _scheduled_middle(self, ids: list[int], pickup: list[int], dropoff: list[int],
                          arrs: list[int], deps: list[int]) -> "orjson.Fragment":
        """:meth:`_middle` of a leg on its schedule: no stop skipped, the scheduled times
        are the times (each looked up once)."""
        heads, unset = self.p.visit_heads, self._level_unset
        iso_, known = self._iso, self._iso_cache.get
        parts = []
        for stop, pu, do, t_arr, t_dep in zip(ids, pickup, dropoff, arrs, deps, strict=True):
            head = heads.get((stop, pu, do, unset))
            if head is None:
                head = self._visit_head(stop, pu, do)
            a = known(t_arr) or iso_(t_arr)
            d = known(t_dep) or iso_(t_dep)
            parts.append(f'{head}false,"arrival":"{a}","scheduledArrival":"{a}",'
                         f'"departure":"{d}","scheduledDeparture":"{d}"}}')
        return orjson.Fragment(f"[{','.join(parts)}]")

    def _visit_head(self, stop: int, pickup: int, dropoff: int) -> str:
        """A visit's JSON up to ``"cancelled":`` (what follows it is per visit)."""
        text = dumps({**self._base(stop), "pickupType": "NORMAL" if pickup else "NOT_ALLOWED",
                      "dropoffType": "NORMAL" if dropoff else "NOT_ALLOWED",
                      "cancelled": False}).decode()
        assert text.endswith('"cancelled":false}'), text  # the fields added come last
        head = text[:-len("false}")]
        _bounded(self.p.visit_heads)[(stop, pickup, dropoff, self._level_unset)] = head
        return head

    def geometry(self, leg: TransitLeg) -> tuple[str, int, float]:
        """(encoded polyline, points, metres) of a leg, once per timetable and precision:
        a stop pattern (route), its shape and the two positions fix it, and cutting
        shapes is costly."""
        tt = self.tt
        shape_id = str(tt.gtfs_trip_shape[int(tt.trip_gtfs[leg.trip])])
        key = (shape_id, leg.route, leg.board_pos, leg.alight_pos, self.precision)
        cache = self.p.geometry_cache
        hit = cache.get(key)
        if hit is None:
            pattern = cache.get((shape_id, leg.route, self.precision))
            if pattern is None:
                base = int(tt.route_stop_offset[leg.route])
                end = int(tt.route_stop_offset[leg.route + 1])
                route_stops = [self._latlon(int(x)) for x in tt.route_stops[base:end]]
                idx = self.shapes.match(shape_id, route_stops)
                pattern = cache[(shape_id, leg.route, self.precision)] = (
                    (None, None) if idx is None else
                    (idx.tolist(), self._pieces(shape_id)))
            first, last = self._latlon(leg.board_stop), self._latlon(leg.alight_stop)
            if pattern[0] is None or len(leg.stops) < 2:
                geometry = [self._latlon(v.stop) for v in leg.stops]
                hit = (encode_polyline(geometry, self.precision), len(geometry),
                       round(path_length_m(geometry), 1))
            else:
                idx, pieces = pattern
                text, n, metres = pieces.piece(first, idx[leg.board_pos],
                                               idx[leg.alight_pos], last)
                hit = (text, n, round(metres, 1))
            if len(cache) >= GEOMETRIES_KEPT:
                cache.clear()
            cache[key] = hit
        return hit

    def _pieces(self, shape_id: str) -> PolylinePieces:
        """The shape encoded once per timetable and precision (legs are pieces of it)."""
        key = ("pieces", shape_id, self.precision)
        found = self.p.geometry_cache.get(key)
        if found is None:
            found = self.p.geometry_cache[key] = (
                PolylinePieces(self.shapes.shapes[shape_id], self.precision),)
        return found[0]

    def _end_leg(self, a: tuple[float, float], b: tuple[float, float], start: int,
                 seconds: int, frm: dict[str, Any], to: dict[str, Any],
                 mode: str) -> dict[str, Any]:
        """A walk, or an own bike or car ride, between a place and a stop."""
        street = {"WALK": "walk", "BIKE": "bike", "CAR": "car"}[mode]
        if mode != "WALK":
            path = self._street(street, a, b, seconds)
        else:
            path = self._street_walk(a, b, seconds) if self.detailed_legs else None
        return self.walk(a, b, start, start + seconds, frm, to, path, mode)

    def _street_walk(self, a: tuple[float, float], b: tuple[float, float],
                     seconds: int) -> StreetPath | None:
        """The street path of a walk between a place and a stop (or the direct walk),
        timed at ``pedestrianSpeed`` on the walk graph (planner.multimodal.search's
        ``street_walks``); None where the straight line timed it."""
        if self.streets is None or "walk" not in self.streets.graphs or self.speed <= 0:
            return None
        at_model = seconds * self.speed / self.streets.model.speed_mps("walk")
        return self.streets.route("walk", a, b, at_model + 1)

    def itinerary(self, it: Itinerary) -> dict[str, Any]:
        """JSON of an itinerary; its ``access``/``egress`` options (rental) replace the
        plain walks to the first and from the last stop."""
        j, access, egress = it.journey, it.access, it.egress
        legs: list[dict[str, Any]] = []
        leave = leave_time(j)
        t = leave
        if access is not None:
            legs += self.option_legs(access, t)
            t += access.duration
        elif j.access > 0:
            mode = self.access_modes.get((j.source, j.access), "WALK")
            legs.append(self._end_leg((self.origin.lat, self.origin.lon),
                                      self._latlon(j.source), t, j.access,
                                      self._place(None, self.origin, "START"),
                                      self.stop(j.source), mode))
            t += j.access
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
                a, b = self._latlon(leg.from_stop), self._latlon(leg.to_stop)
                path = self._street("walk", a, b, leg.duration) \
                    if self.detailed_transfers else None
                legs.append(self.walk(a, b, start, end, self.stop(leg.from_stop),
                                      self.stop(leg.to_stop), path, between_stops=True))
                t = end
        if egress is not None:
            legs += self.option_legs(egress, t)
            t += egress.duration
        elif j.egress > 0:
            mode = self.egress_modes.get((j.target, j.egress), "WALK")
            legs.append(self._end_leg(self._latlon(j.target), (self.dest.lat, self.dest.lon),
                                      t, j.egress, self.stop(j.target),
                                      self._place(None, self.dest, "END"), mode))
            t += j.egress
        return self._wrap(legs, j.arrival - leave, self._iso(leave), self._iso(j.arrival),
                          j.transfers)

    def _wrap(self, legs: list[dict[str, Any]], duration: int, start: str, end: str,
              transfers: int) -> dict[str, Any]:
        """An Itinerary object; its ``id`` carries its legs and times (stable per answer;
        ``refresh-itinerary`` rebuilds it from the id, :mod:`api.itinerary_id`)."""
        return {"id": itinerary_id.encode(legs), "duration": duration,
                "startTime": start, "endTime": end, "transfers": transfers, "legs": legs}

    # -- rental options: walk, ride, walk ---------------------------------------------------
    def _option_place(self, p: OptionPlace, vehicle_name: str) -> dict[str, Any]:
        if p.stop >= 0:
            return self.stop(p.stop)
        if p.kind == "origin":
            return self._place(self.origin.stop, self.origin, "START")
        if p.kind == "destination":
            return self._place(self.dest.stop, self.dest, "END")
        name = vehicle_name if p.kind == "vehicle" else p.name
        return {**self._v(coord_place(p.lat, p.lon, name)), "vertexType": "BIKESHARE"}

    def option_legs(self, option: AccessOption, start: int) -> list[dict[str, Any]]:
        """An access/egress/direct option's legs from ``start`` (timetable axis)."""
        ride = next((x for x in option.legs if isinstance(x, RentalLeg)), None)
        vehicle = "" if ride is None else \
            f"{ride.system_name} {ride.form_factor.replace('_', ' ')}"
        out = []
        legs = option.legs_from(start)
        for k, leg in enumerate(legs):
            frm = self._option_place(leg.from_place, vehicle)
            if option.stop < 0 and k == len(legs) - 1:  # a direct trip ends at toPlace
                to = self._place(self.dest.stop, self.dest, "END")
            else:
                to = self._option_place(leg.to_place, vehicle)
            if isinstance(leg, RentalLeg):
                path = self._path(FORM_FACTOR_MODE.get(leg.form_factor, "bike"), leg,
                                  leg.ride_seconds)
                out.append(self.rental(leg, frm, to, path))
            else:
                out.append(self.walk((leg.from_place.lat, leg.from_place.lon),
                                     (leg.to_place.lat, leg.to_place.lon), leg.start,
                                     leg.end, frm, to, self._path("walk", leg, leg.duration)))
        return out

    def _path(self, mode: str, leg: Any, seconds: int) -> StreetPath | None:
        """The street path of an option leg timed at ``seconds`` (whole seconds of the
        model's time), or None where the model timed it as a straight line."""
        return self._street(mode, (leg.from_place.lat, leg.from_place.lon),
                            (leg.to_place.lat, leg.to_place.lon), seconds)

    def rental(self, leg: RentalLeg, frm: dict[str, Any], to: dict[str, Any],
               path: StreetPath | None = None) -> dict[str, Any]:
        """MOTIS-style ``RENTAL`` leg; ``rental`` holds the system, vehicle or stations and
        the availability seen at the GBFS clock ``availabilityTime``. A GBFS system is
        MOTIS's provider and, with no groups configured, its own provider group."""
        pts = [(leg.from_place.lat, leg.from_place.lon), (leg.to_place.lat, leg.to_place.lon)]
        if path is not None:
            pts = path.points
        uris = leg.rental_uris
        rental = {
            "providerId": leg.system_id,
            "providerGroupId": leg.system_id,
            "systemId": leg.system_id,
            "systemName": leg.system_name,
            "formFactor": api_form_factor(leg.form_factor),
            "propulsionType": leg.propulsion_type.upper(),
            "vehicleId": leg.vehicle_id,
            "vehicleTypeId": leg.vehicle_type_id or None,
            "stationName": leg.pickup_station_name,
            "fromStationName": leg.pickup_station_name,
            "fromStationId": leg.pickup_station_id,
            "toStationName": leg.dropoff_station_name,
            "toStationId": leg.dropoff_station_id,
            "vehiclesAvailable": leg.vehicles_available,
            "docksAvailable": leg.docks_available,
            "pickupSeconds": leg.pickup_seconds,
            "rideSeconds": leg.ride_seconds,
            "dropoffSeconds": leg.dropoff_seconds,
            "availabilityTime": iso_utc(self.gbfs_now),
            "rentalUriAndroid": uris.get("android"),
            "rentalUriIOS": uris.get("ios"),
            "rentalUriWeb": uris.get("web"),
            "returnConstraint": ("ROUNDTRIP_STATION" if leg.dropoff_station_id is not None
                                 and leg.dropoff_station_id == leg.pickup_station_id
                                 else "ANY_STATION" if leg.dropoff_station_id is not None
                                 else "NONE"),
        }
        return {
            "mode": "RENTAL",
            "from": frm, "to": to,
            "startTime": iso(self.p, leg.start), "endTime": iso(self.p, leg.end),
            "scheduledStartTime": iso(self.p, leg.start),
            "scheduledEndTime": iso(self.p, leg.end),
            "duration": leg.end - leg.start,
            "distance": round(leg.distance_m if path is None else path.meters, 1),
            "realTime": False,
            "scheduled": True,
            "legGeometry": self._geometry(pts),
            "rental": {k: v for k, v in rental.items() if v is not None},
        }

    def direct(self, trip: DirectTrip) -> dict[str, Any]:
        """A direct trip: the rental option's legs, or one walk or own-vehicle ride."""
        if trip.option is not None:
            legs = self.option_legs(trip.option, trip.start)
            return self._wrap(legs, trip.duration, legs[0]["startTime"], legs[-1]["endTime"],
                              0)
        a = (self.origin.lat, self.origin.lon)
        b = (self.dest.lat, self.dest.lon)
        leg = self._end_leg(a, b, trip.start, trip.duration,
                            self._place(self.origin.stop, self.origin, "START"),
                            self._place(self.dest.stop, self.dest, "END"), trip.mode)
        return self._wrap([leg], trip.duration, leg["startTime"], leg["endTime"], 0)


#: GBFS form factors as MOTIS names them (GBFS 2.2's "scooter" is 2.3's standing one).
_FORM_FACTORS = {"scooter": "SCOOTER_STANDING"}


def api_form_factor(gbfs: str) -> str:
    return _FORM_FACTORS.get(gbfs, gbfs.upper())


#: Leg geometries a timetable keeps rendered (``Prepared.geometry_cache``: transit legs
#: and straight footpath lines), cleared when full.
GEOMETRIES_KEPT = 200_000
#: ``transitModes`` values whose route masks a timetable keeps (``Prepared.route_masks``).
ROUTE_MASKS_KEPT = 64


def trip_request(rt: "Runtime", req: PlanRequest, origin: Location, dest: Location, t: int,
                 prepared: Prepared, deadline: float) -> TripRequest:
    """The planner's request for an HTTP one (``t`` on the timetable axis)."""
    s = rt.settings
    mask = None
    if req.transit_modes:
        masks = prepared.route_masks
        if req.transit_modes in masks:
            mask = masks[req.transit_modes]
        else:  # few distinct values in practice; a client sending many cannot grow it
            if len(masks) >= ROUTE_MASKS_KEPT:
                masks.clear()
            mask = masks[req.transit_modes] = route_mask(prepared.tt, req.transit_modes,
                                                         prepared.line_modes)
            if mask is not None:
                mask.flags.writeable = False  # shared by every request with these modes
    if req.require_bike:
        bikes = bike_route_mask(prepared.tt)
        mask = bikes if mask is None else np.ascontiguousarray(mask & bikes)
    window = req.search_window
    return TripRequest(
        origin=origin, destination=dest,
        time=t, arrive_by=req.arrive_by,
        page=Page.EARLIER if req.earlier else Page.LATER,
        window=window,
        max_window=max(window, s.max_search_window) if req.widen else window,
        num_itineraries=max(1, req.num_itineraries), max_transfers=req.max_transfers,
        transfer_slack=req.min_transfer_time * 60, walk_speed=req.pedestrian_speed,
        max_pre_transit=req.max_pre_transit_time, max_post_transit=req.max_post_transit_time,
        max_direct=req.max_direct_time, transit=bool(req.transit_modes),
        route_mask=mask,
        pre_modes=req.pre_transit_modes, post_modes=req.post_transit_modes,
        direct_modes=req.direct_modes, providers=req.rental_providers, deadline=deadline,
        rental_filters=req.rental_filters, bike_speed=req.cycling_speed, radius=req.radius,
        max_travel_time=req.max_travel_time, fastest_direct_factor=req.fastest_direct_factor,
        max_itineraries=req.max_itineraries,
        count_is_minimum=req.version >= 2)  # MOTIS from v2 on; /api/v1 keeps it a bound


def compute_plan(rt: "Runtime", prepared: Prepared, req: PlanRequest, origin: Location,
                 dest: Location, t: int, deadline: float,
                 systems: list[GbfsSnapshot] | None = None) -> tuple[dict[str, Any], bool]:
    """(response JSON, whether the search ran to the end: only then may it be cached).
    ``systems``: the GBFS state to plan with (default: taken now)."""
    trip = trip_request(rt, req, origin, dest, t, prepared, deadline)
    sharing = None
    if trip.wants_rental:
        sharing = Sharing(rt.sharing.planner_for(prepared),
                          rt.sharing.snapshots() if systems is None else systems,
                          rt.sharing.now())
    streets = rt.sharing.streets
    if req.max_matching_distance is not None:  # snapping bound of this request
        streets = Streets(streets.graphs, streets.model, req.max_matching_distance,
                          streets.chunk)
    network = Network(prepared.router, prepared.stop_index, prepared.group)
    plan = plan_trip(network, trip, sharing, streets)
    body = render_plan(prepared, plan, req, origin, dest,
                       None if sharing is None else sharing.now)
    body["warnings"] = [*body["warnings"], *rt.realtime.warnings()]
    # what the search found (no timings: equal requests get equal answers, cached or not)
    body["debugOutput"] = {"itineraries": len(body["itineraries"]),
                           "direct": len(body["direct"]),
                           "warnings": len(plan.warnings)}
    return body, plan.complete


def render_plan(prepared: Prepared, plan: TripPlan, req: PlanRequest, origin: Location,
                dest: Location, gbfs_now: float | None) -> dict[str, Any]:
    version = ApiVersion(req.version)
    builder = ItineraryBuilder(prepared, prepared.feedset.shapes, origin, dest,
                               req.pedestrian_speed, version, req.detailed_transfers,
                               req.detailed_legs)
    builder.gbfs_now = gbfs_now
    builder.access_modes, builder.egress_modes = plan.access_modes, plan.egress_modes
    if plan.streets is not None and plan.streets.graphs:
        builder.streets = plan.streets
    out: dict[str, Any] = {
        "requestParameters": {},
        "debugOutput": {},
        "from": builder._place(origin.stop, origin, "START"),
        "to": builder._place(dest.stop, dest, "END"),
        "itineraries": [builder.itinerary(it) for it in plan.itineraries],
        "direct": [builder.direct(d) for d in plan.direct],
        # MOTIS sends empty cursors when there is nothing to page (no transit search)
        "previousPageCursor": "", "nextPageCursor": "",
    }
    out["warnings"] = plan.warnings
    if plan.pages is None:  # direct trips only
        if not out["direct"]:
            out["reason"] = ("transitModes is empty (direct trips only) and no direct trip "
                             f"of the directModes takes at most maxDirectTime "
                             f"({req.max_direct_time} s)")
        return out
    if plan.reason:
        out["reason"] = plan.reason
    earlier_from, later_from = plan.pages
    t0 = prepared.tt.t0
    out["previousPageCursor"] = encode_cursor({"time": earlier_from + t0, "arriveBy": False,
                                               "dir": "earlier"})
    out["nextPageCursor"] = encode_cursor({"time": later_from + t0, "arriveBy": False,
                                           "dir": "later"})
    return out


def cursor_moment(page_cursor: str) -> tuple[datetime, bool, bool]:
    """(time, arriveBy, earlier page) of a cursor this server returned."""
    cur = decode_cursor(page_cursor)
    try:
        moment = datetime.fromtimestamp(float(cur["time"])).astimezone()
        arrive = bool(cur["arriveBy"])
        earlier = cur.get("dir", "later") == "earlier" and not arrive
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        raise ApiError(400, "pageCursor: not a cursor returned by this server",
                       "pageCursor") from None
    return moment, arrive, earlier


#: JSON text of request parameter values already written (by type and value: True
#: and 1 are equal keys otherwise); a plan wrote ~30 with json.dumps.
_PARAMETER_TEXT: dict[tuple[type, object], str] = {}


def parameter_text(value: object) -> str:
    """A ``requestParameters`` value: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    # only where equal keys mean equal JSON: scalars by type, tuples of strings
    if not (value is None or type(value) in (bool, int, float) or (
            type(value) is tuple and all(type(x) is str for x in value))):
        return json.dumps(value, default=str)  # rental filters (dicts) and the rest
    key = (type(value), value)
    text = _PARAMETER_TEXT.get(key)
    if text is None:
        text = json.dumps(value, default=str)
        _bounded(_PARAMETER_TEXT)[key] = text
    return text


#: Share of the request's time budget the search may use: it stops there with what it
#: has (answered with a warning, never cached), before the 503 at the full deadline.
SEARCH_SHARE = 0.8


@dataclass(frozen=True)
class PlanInputs:
    """A request's parameters before the timetable is known (places unresolved)."""

    from_place: str
    to_place: str
    moment: datetime | None
    request: dict[str, Any]  # PlanRequest fields except places and time
    deadline: float
    realtime: bool = True  # route on the realtime version (MOTIS realtimeMode != OFF)


async def answer_plan(rt: "Runtime", inputs: PlanInputs) -> Response:
    """Plan (or take from the cache) and send one plan request of any version."""
    asked = inputs.request
    pre, post = asked["max_pre_transit_time"], asked["max_post_transit_time"]
    check_cost(rt.settings.max_request_cost,
               window=("searchWindow", asked["search_window"]),
               itineraries=("numItineraries", asked["num_itineraries"]),
               walk=("maxPreTransitTime", pre) if pre >= post
               else ("maxPostTransitTime", post))
    heavy = request_cost(asked["search_window"], asked["num_itineraries"],
                         max(pre, post)) > rt.settings.heavy_cost

    def work() -> bytes:
        prepared, when = rt.prepared_for(inputs.moment, inputs.realtime)
        origin = parse_place(inputs.from_place, "fromPlace", prepared)
        dest = parse_place(inputs.to_place, "toPlace", prepared)
        req = PlanRequest(from_place=inputs.from_place.strip(),
                          to_place=inputs.to_place.strip(), time=int(when.timestamp()),
                          **inputs.request)
        systems = rt.sharing.snapshots() if req.wants_rental else []
        # plans walk on the street graph once it is loaded: plans made before then expire
        live = rt.sharing.state_token(systems) if req.wants_rental else \
            f"|streets:{rt.sharing.streets_status}" if rt.sharing.osm_paths else ""
        key = cache_key("plan", prepared.version, req.key() + live)
        cached = rt.cache.get(key)
        if cached is not None:
            rt.metrics.cache.labels("hit").inc()
            return cached
        rt.metrics.cache.labels("miss").inc()
        t = req.time - prepared.tt.t0
        out, complete = compute_plan(rt, prepared, req, origin, dest, t, inputs.deadline,
                                     systems)
        # the normalised request (the cache key's), so a cached answer says the same
        out["requestParameters"] = {k: parameter_text(v) for k, v in req.as_dict().items()}
        body = dumps(out)
        if complete:  # a search cut short by the deadline is not the whole answer
            rt.cache.set(key, body)
        return body

    body = await rt.run(work, heavy=heavy)
    return Response(body, media_type="application/json")


def register_plan(app: FastAPI, rt: "Runtime") -> None:
    """``/api/v1/plan`` (declared parameters, v1 behaviour), ``/api/v5/plan`` and
    ``/api/v6/plan`` (MOTIS's parameters, :mod:`api.plan_params`), and the trips."""
    _register_v1(app, rt)
    for version in (V5, V6):
        _register_motis_plan(app, rt, version)
        _register_trip(app, rt, version)


def _register_v1(app: FastAPI, rt: "Runtime") -> None:
    s = rt.settings
    walk_default = 900

    @app.get("/api/v1/plan", tags=["routing"], summary="Plan journeys between two places",
             response_class=Response,
             responses={200: {"content": {"application/json": {}},
                              "description": "{from, to, itineraries[], direct[], "
                                             "previousPageCursor, nextPageCursor}"}})
    async def plan(
        fromPlace: Annotated[str, Query(min_length=1, max_length=200,
                                        description="'lat,lon[,level]' or a stop id",
                                        examples=["52.0275,8.5327", "de-db-fv-2026:347953"])],
        toPlace: Annotated[str, Query(min_length=1, max_length=200,
                                      description="'lat,lon[,level]' or a stop id",
                                      examples=["51.9069,8.3894", "de-db-fv-2026:469041"])],
        time: Annotated[str | None, Query(description="ISO 8601; default now")] = None,
        arriveBy: bool = False,
        searchWindow: Annotated[int, Query(ge=0, le=s.max_search_window,
                                           description="seconds")] = 7200,
        numItineraries: Annotated[int, Query(ge=1, le=s.max_itineraries)] = 5,
        maxTransfers: Annotated[int, Query(ge=0, le=MAX_TRANSFERS)] = DEFAULT_MAX_TRANSFERS,
        minTransferTime: Annotated[int, Query(ge=0, le=60,
                                              description="minutes added to every transfer"
                                              )] = 0,
        pedestrianSpeed: Annotated[float, Query(ge=0.3, le=3.0,
                                                description="m/s")] = s.walk_speed_kmh / 3.6,
        maxPreTransitTime: Annotated[int, Query(ge=0, le=s.max_walk_seconds)] = walk_default,
        maxPostTransitTime: Annotated[int, Query(ge=0, le=s.max_walk_seconds)] = walk_default,
        maxDirectTime: Annotated[int, Query(ge=0, le=s.max_walk_seconds * 4)] = 1800,
        transitModes: Annotated[str | None, Query(
            description="comma-separated transit modes (TRANSIT: all, RAIL: all rail, "
                        "or BUS, TRAM, ...); default TRANSIT. Empty: no transit, only "
                        "direct[] trips of directModes (as in MOTIS)")] = None,
        preTransitModes: str | None = None,
        postTransitModes: str | None = None,
        directModes: str | None = None,
        rentalProviders: Annotated[str | None, Query(
            max_length=1000, description="comma-separated GBFS system ids (see "
                                         "/api/v1/health); default all")] = None,
        pageCursor: str | None = None,
    ) -> Response:
        zone = rt.store.timezone()
        moment = parse_time(time, "time", zone)
        arrive = arriveBy
        earlier = False
        if pageCursor:
            moment, arrive, earlier = cursor_moment(pageCursor)
        modes = (
            parse_modes(transitModes, "transitModes", TRANSIT_FILTERS, ("TRANSIT",)),
            parse_modes(preTransitModes, "preTransitModes", STREET_MODES, ("WALK",)),
            parse_modes(postTransitModes, "postTransitModes", STREET_MODES, ("WALK",)),
            parse_modes(directModes, "directModes", STREET_MODES, ("WALK",)),
        )
        providers = check_rental(rt, modes, rentalProviders)
        request: dict[str, Any] = dict(
            arrive_by=arrive, search_window=searchWindow,
            num_itineraries=numItineraries, max_transfers=V1.max_transfers(maxTransfers),
            min_transfer_time=minTransferTime, pedestrian_speed=round(pedestrianSpeed, 3),
            max_pre_transit_time=maxPreTransitTime,
            max_post_transit_time=maxPostTransitTime, max_direct_time=maxDirectTime,
            transit_modes=modes[0], pre_transit_modes=modes[1],
            post_transit_modes=modes[2], direct_modes=modes[3], earlier=earlier,
            rental_providers=providers, version=V1.number)
        return await answer_plan(rt, PlanInputs(
            fromPlace, toPlace, moment, request,
            clock.monotonic() + SEARCH_SHARE * s.search_deadline))

    fast_query(app, "/api/v1/plan")  # its 18 parameters without pydantic per request


def _register_motis_plan(app: FastAPI, rt: "Runtime", version: ApiVersion) -> None:
    @app.get(f"{version.prefix}/plan", tags=["routing"], response_class=Response,
             summary=f"MOTIS {version.prefix}/plan (parameters and answer as MOTIS's "
                     f"openapi-v{version.number}.yaml)")
    async def plan(request: Request) -> Response:
        params = QueryParams.of(request.query_params.multi_items())
        return await answer_plan(rt, motis_plan_inputs(rt, params, version))


def _register_trip(app: FastAPI, rt: "Runtime", version: ApiVersion) -> None:
    @app.get(f"{version.prefix}/trip", tags=["timetable"], response_class=Response,
             summary="A trip as an itinerary of one leg (MOTIS's /trip)")
    async def trip(request: Request) -> Response:
        params = QueryParams.of(request.query_params.multi_items())
        trip_id = params.required("tripId")
        detailed = params.boolean("detailedLegs", True)
        params.boolean("joinInterlinedLegs", True)  # no interlined trips (no block_id)
        params.boolean("withScheduledSkippedStops", False)  # no realtime: none skipped
        params.array("language")  # names are the feed's

        day, gtfs_id = split_trip_id(trip_id)
        zone = ZoneInfo(rt.store.timezone())
        moment = None if day is None else datetime.combine(day, dtime(12), zone)

        def work() -> bytes:
            try:
                prepared, when = rt.prepared_for(moment)
            except OutOfRangeError as exc:
                raise ApiError(404, f"tripId: {exc}", "tripId") from None
            found = find_trip(prepared, gtfs_id, when.date())
            static = cancelled_run(prepared, gtfs_id, day)
            if static is not None:  # cancelled by a realtime feed: the schedule's run
                prepared, found = static
            if found is None:
                raise ApiError(404, f"tripId: unknown trip {trip_id!r}", "tripId")
            tt = prepared.tt
            route = int(tt.trip_route[found])
            n = int(tt.route_stop_offset[route + 1]) - int(tt.route_stop_offset[route])
            leg = transit_leg(tt, found, 0, n - 1)
            first = stop_location(prepared, leg.board_stop)
            last = stop_location(prepared, leg.alight_stop)
            builder = ItineraryBuilder(prepared, prepared.feedset.shapes, first, last,
                                       rt.settings.walk_speed_kmh / 3.6, version,
                                       detailed_legs=detailed)
            rendered = builder.transit(leg)
            rendered["cancelled"] = static is not None
            body = builder._wrap([rendered], leg.arrival - leg.departure,
                                 iso(prepared, leg.departure), iso(prepared, leg.arrival), 0)
            return dumps(body)

        return Response(await rt.run(work), media_type="application/json")


def stop_location(prepared: Prepared, stop: int) -> Location:
    tt = prepared.tt
    return Location(float(tt.stop_lat[stop]), float(tt.stop_lon[stop]), stop,
                    str(tt.stop_names[stop]))


def find_trip(prepared: Prepared, trip_id: str, day: date) -> int | None:
    """The timetable trip of a leg's ``tripId``: the GTFS trip (feed-scoped, or unscoped
    when unambiguous) on the timetable's service day, else its first compiled day."""
    tt = prepared.tt
    ids = np.asarray(tt.gtfs_trip_ids)
    hits = np.flatnonzero(ids == trip_id)
    if len(hits) == 0 and ":" not in trip_id:
        hits = np.flatnonzero(np.char.endswith(ids.astype(str), ":" + trip_id))
        if len(hits) > 1:
            return None
    if len(hits) == 0:
        return None
    trips = np.flatnonzero(np.asarray(tt.trip_gtfs) == int(hits[0]))
    if len(trips) == 0:
        return None
    days = np.asarray(tt.trip_day)[trips]
    on_day = trips[days == tt.dates.index(day)] if day in tt.dates else trips[:0]
    return int(on_day[0] if len(on_day) else trips[np.argmin(days)])


#: RENTAL form factors (MOTIS names) and the rental mode of this server that offers them.
_RENTAL_MODE_OF = {"BICYCLE": "BIKE_RENTAL", "CARGO_BICYCLE": "BIKE_RENTAL",
                   "SCOOTER_STANDING": "SCOOTER_RENTAL", "SCOOTER_SEATED": "SCOOTER_RENTAL",
                   "MOPED": "SCOOTER_RENTAL", "CAR": "CAR_RENTAL"}
_SIDES = (("preTransit", "pre"), ("postTransit", "post"), ("direct", "direct"))


def _street_modes(params: QueryParams, side: str) -> tuple[tuple[str, ...], RentalFilter]:
    """A side's street modes (RENTAL resolved by its form factors) and rental filter."""
    name = f"{side}Modes"
    given = [m.upper() for m in params.array(name, ("WALK",)) or ()]
    unsupported = [m for m in given if m in UNSUPPORTED_MODES]
    if unsupported:
        raise ApiError(400, f"{name}: {', '.join(unsupported)} not supported by this "
                            f"server; it offers WALK, BIKE, CAR and RENTAL", name)
    bad = [m for m in given if m not in STREET_MODES and m != "RENTAL"]
    if bad:
        raise ApiError(400, f"{name}: {', '.join(bad)} not a street mode; expected any of "
                            "WALK, BIKE, CAR, RENTAL", name)
    factors = params.array(f"{side}RentalFormFactors")
    check_values(f"{side}RentalFormFactors", factors, FORM_FACTORS)
    propulsion = params.array(f"{side}RentalPropulsionTypes")
    check_values(f"{side}RentalPropulsionTypes", propulsion, PROPULSION_TYPES)
    refuse_unless(not params.boolean(
        f"ignore{side[0].upper()}{side[1:]}RentalReturnConstraints", False),
        f"ignore{side[0].upper()}{side[1:]}RentalReturnConstraints",
        "this server always keeps to the systems' return areas and stations")
    modes = [m for m in given if m != "RENTAL"]
    if "RENTAL" in given:
        wanted = [f.upper() for f in factors] if factors else list(_RENTAL_MODE_OF)
        modes += [_RENTAL_MODE_OF[f] for f in wanted if f in _RENTAL_MODE_OF]
    rental = RentalFilter(tuple(f.lower() for f in factors or ()),
                          tuple(p.lower() for p in propulsion or ()))
    return tuple(sorted(set(modes))), rental


def motis_plan_inputs(rt: "Runtime", params: QueryParams, version: ApiVersion) -> PlanInputs:
    """MOTIS's plan parameters (see :mod:`api.plan_params` for what each one does)."""
    s = rt.settings
    from_place, to_place = params.string("fromPlace"), params.string("toPlace")
    for name, value in (("fromPlace", from_place), ("toPlace", to_place)):
        if not value or not value.strip():
            raise ApiError(400, f"{name}: required ('lat,lon[,level]' or a stop id)", name)
    assert from_place is not None and to_place is not None
    moment = parse_time(params.string("time"), "time", rt.store.timezone())
    arrive = params.boolean("arriveBy", False)
    earlier = False
    cursor = params.string("pageCursor")
    if cursor:
        moment, arrive, earlier = cursor_moment(cursor)
    refuse_unless(not params.array("via"), "via", "via stops are not supported by this "
                  "server")
    params.array("viaMinimumStay")  # only with via
    factor = params.number("transferTimeFactor", 1.0)
    refuse_unless(factor == 1.0, "transferTimeFactor",
                  "only 1.0 is supported (change times are the feed's)")
    params.enum("pedestrianProfile", ("FOOT", "WHEELCHAIR"), "FOOT")
    refuse_unless(params.enum("pedestrianProfile", ("FOOT", "WHEELCHAIR"), "FOOT") == "FOOT",
                  "pedestrianProfile", "WHEELCHAIR routing needs accessibility data this "
                  "server does not have")
    params.enum("elevationCosts", ("NONE", "LOW", "HIGH"), "NONE")  # no elevation data
    refuse_unless(not params.boolean("useRoutedTransfers", False), "useRoutedTransfers",
                  "this server has no transfers routed on OSM")
    refuse_unless(not params.boolean("requireCarTransport", False), "requireCarTransport",
                  "car carriage (GTFS cars_allowed) is not read by this server")
    refuse_unless((params.integer("numLegAlternatives", 0, 0) or 0) == 0,
                  "numLegAlternatives", "leg alternatives are not computed by this server")
    for name in ("joinInterlinedLegs", "noCompulsoryReservation", "withFares",
                 "withScheduledSkippedStops", "slowDirect"):
        params.boolean(name, False)  # answered as MOTIS does without the data (module doc)
    params.number("fastestSlowDirectFactor", 3.0, 0)
    params.integer("passengers", None, 1)
    params.integer("luggage", None, 1)
    params.enum("algorithm", ("RAPTOR", "PONG", "TB"), "PONG")
    # OFF: the schedule alone; otherwise the realtime version (annotation-only included)
    realtime = params.enum("realtimeMode", ("OFF", "REALTIME_ANNOTATION_ONLY", "REALTIME"),
                           "REALTIME") != "OFF"
    params.array("language")
    max_transfers = params.integer("maxTransfers")
    if max_transfers is not None and max_transfers < 0:
        raise ApiError(400, f"maxTransfers: must be at least 0, got {max_transfers}",
                       "maxTransfers")
    transfers = DEFAULT_MAX_TRANSFERS if max_transfers is None else \
        min(MAX_TRANSFERS, version.max_transfers(max_transfers))
    slack = (params.integer("minTransferTime", 0, 0) or 0) + \
        (params.integer("additionalTransferTime", 0, 0) or 0)
    n = params.integer("numItineraries", 5) or 0
    max_its = params.integer("maxItineraries")
    window = params.integer("searchWindow", 900, 0) or 0
    timetable_view = params.boolean("timetableView", True)
    if not timetable_view:  # the first journeys from ``time``, no departure window
        window = 0
    travel = params.integer("maxTravelTime")
    transit = params.array("transitModes", ("TRANSIT",)) or ()
    transit = tuple(m.upper() for m in transit)
    unsupported = [m for m in transit if m in UNSUPPORTED_MODES]
    if unsupported:
        raise ApiError(400, f"transitModes: {', '.join(unsupported)} not supported by this "
                            "server", "transitModes")
    bad = [m for m in transit if m not in TRANSIT_FILTERS]
    if bad:
        raise ApiError(400, f"transitModes: {', '.join(bad)} not a transit mode; expected "
                            f"any of {', '.join(sorted(TRANSIT_FILTERS))}", "transitModes")
    sides = {key: _street_modes(params, side) for side, key in _SIDES}
    providers = [p for side, _ in _SIDES for what in ("Providers", "ProviderGroups")
                 for p in params.strings(f"{side}Rental{what}") or ()]
    modes = (transit, sides["pre"][0], sides["post"][0], sides["direct"][0])
    chosen = check_rental(rt, modes, ",".join(providers) if providers else None)
    speed = params.number("pedestrianSpeed", s.walk_speed_kmh / 3.6)
    cycling = params.number("cyclingSpeed")
    timeout = params.integer("timeout", None, 0)
    deadline = s.search_deadline if timeout is None else min(s.search_deadline, timeout)
    radius = params.number("radius")
    request = dict(
        arrive_by=arrive, search_window=min(window, s.max_search_window),
        num_itineraries=min(max(n, 0), s.max_itineraries),
        # a transfer longer than a day never fits the compiled days: a day is the bound
        max_transfers=transfers, min_transfer_time=min(slack, 24 * 60),
        pedestrian_speed=round(speed or 0.0, 3),
        max_pre_transit_time=min(params.integer("maxPreTransitTime", 900, 0) or 0,
                                 s.max_walk_seconds),
        max_post_transit_time=min(params.integer("maxPostTransitTime", 900, 0) or 0,
                                  s.max_walk_seconds),
        max_direct_time=min(params.integer("maxDirectTime", 1800, 0) or 0,
                            s.max_walk_seconds * 4),
        transit_modes=tuple(sorted(set(transit))), pre_transit_modes=modes[1],
        post_transit_modes=modes[2], direct_modes=modes[3], earlier=earlier,
        rental_providers=chosen, version=version.number,
        detailed_transfers=params.boolean("detailedTransfers", True),
        detailed_legs=params.boolean("detailedLegs", True),
        require_bike=params.boolean("requireBikeTransport", False),
        max_travel_time=None if travel is None else travel * 60,
        max_itineraries=max_its,
        fastest_direct_factor=params.number("fastestDirectFactor", None, 0),
        widen=n > 0 and timetable_view,
        radius=None if radius is None or radius < 0 else radius,
        cycling_speed=cycling,
        # a negative distance matches nothing, as 0 does
        max_matching_distance=max(0.0, params.number("maxMatchingDistance") or 0.0)
        if params.raw("maxMatchingDistance") else None,
        rental_filters=(sides["pre"][1], sides["post"][1], sides["direct"][1]))
    return PlanInputs(from_place, to_place, moment, request,
                      clock.monotonic() + SEARCH_SHARE * max(0.0, float(deadline)), realtime)
