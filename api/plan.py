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
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import FastAPI, Query
from fastapi.responses import Response

from api.cache import cache_key
from api.common import (
    ApiError,
    coord_place,
    decode_cursor,
    encode_cursor,
    iso,
    parse_modes,
    parse_place,
    parse_time,
    route_fields,
    stop_place,
)
from api.geo import POLYLINE_PRECISION, encode_polyline
from api.shapes import ShapeStore
from api.sharing import iso_utc
from api.store import Prepared
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
    Sharing,
    TripPlan,
    TripRequest,
    plan_trip,
)
from planner.multimodal.streets import FORM_FACTOR_MODE, StreetPath, Streets
from planner.routing.journeys import TransitLeg, leave_time
from planner.routing.modes import TRANSIT_FILTERS, route_mask
from planner.routing.query import DEFAULT_MAX_TRANSFERS, MAX_TRANSFERS
from planner.routing.search import Page

if TYPE_CHECKING:
    from api.runtime import Runtime

try:  # orjson serialises a plan several times faster; plain json is the fallback
    import orjson

    def dumps(obj: object) -> bytes:
        return orjson.dumps(obj)
except ImportError:  # pragma: no cover - depends on the installation
    def dumps(obj: object) -> bytes:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


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

    @property
    def wants_rental(self) -> bool:
        return any(m in RENTAL_MODES for m in
                   self.pre_transit_modes + self.post_transit_modes + self.direct_modes)

    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


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
                                    "has no shared-mobility (GBFS) feed configured", name)
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


class ItineraryBuilder:
    def __init__(self, prepared: Prepared, shapes: ShapeStore, origin: Location, dest: Location,
                 speed: float) -> None:
        self.p = prepared
        self.tt = prepared.tt
        self.shapes = shapes
        self.origin = origin
        self.dest = dest
        self.speed = speed
        self.gbfs_now: float | None = None  # GBFS clock of the rental options
        #: Street graphs the rental options were timed on (None: straight lines).
        self.streets: Streets | None = None

    def _place(self, stop: int | None, place: Location | None, label: str,
               **times: object) -> dict[str, Any]:
        if stop is not None:
            return stop_place(self.p, stop, **times)
        assert place is not None
        return coord_place(place.lat, place.lon, label, **times)

    def _latlon(self, stop: int) -> tuple[float, float]:
        return float(self.tt.stop_lat[stop]), float(self.tt.stop_lon[stop])

    def walk(self, a: tuple[float, float], b: tuple[float, float], start: int, end: int,
             frm: dict[str, Any], to: dict[str, Any], path: StreetPath | None = None
             ) -> dict[str, Any]:
        pts = [a, b] if path is None else path.points
        metres = haversine_m(*a, *b) * DETOUR if path is None else path.meters
        return {
            "mode": "WALK",
            "from": frm, "to": to,
            "startTime": iso(self.p, start), "endTime": iso(self.p, end),
            "scheduledStartTime": iso(self.p, start), "scheduledEndTime": iso(self.p, end),
            "duration": end - start,
            "distance": round(metres, 1),
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
            "mode": self.p.line_modes[line],
            "from": stop_place(self.p, leg.board_stop, departure=dep, scheduledDeparture=dep),
            "to": stop_place(self.p, leg.alight_stop, arrival=arr, scheduledArrival=arr),
            "startTime": dep, "endTime": arr,
            "scheduledStartTime": dep, "scheduledEndTime": arr,
            "duration": leg.arrival - leg.departure,
            "distance": distance,
            "realTime": False,
            **route_fields(tt, line),
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

    def itinerary(self, it: Itinerary) -> dict[str, Any]:
        """JSON of an itinerary; its ``access``/``egress`` options (rental) replace the
        plain walks to the first and from the last stop."""
        j, access, egress = it.journey, it.access, it.egress
        legs: list[dict[str, Any]] = []
        leave = leave_time(j)
        t = leave
        origin_is_stop = self.origin.stop is not None
        if access is not None:
            legs += self.option_legs(access, t)
            t += access.duration
        elif j.access > 0 or not origin_is_stop:
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
        if egress is not None:
            legs += self.option_legs(egress, t)
            t += egress.duration
        elif j.egress > 0:
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

    # -- rental options: walk, ride, walk ---------------------------------------------------
    def _option_place(self, p: OptionPlace, vehicle_name: str) -> dict[str, Any]:
        if p.stop >= 0:
            return stop_place(self.p, p.stop)
        if p.kind == "origin":
            return self._place(self.origin.stop, self.origin, "START")
        if p.kind == "destination":
            return self._place(self.dest.stop, self.dest, "END")
        name = vehicle_name if p.kind == "vehicle" else p.name
        return {**coord_place(p.lat, p.lon, name), "vertexType": "BIKESHARE"}

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
        if self.streets is None or mode not in self.streets.graphs:
            return None
        return self.streets.route(mode, (leg.from_place.lat, leg.from_place.lon),
                                  (leg.to_place.lat, leg.to_place.lon), seconds + 1)

    def rental(self, leg: RentalLeg, frm: dict[str, Any], to: dict[str, Any],
               path: StreetPath | None = None) -> dict[str, Any]:
        """MOTIS-style ``RENTAL`` leg; ``rental`` holds the system, vehicle or stations and
        the availability seen at the GBFS clock ``availabilityTime``."""
        pts = [(leg.from_place.lat, leg.from_place.lon), (leg.to_place.lat, leg.to_place.lon)]
        if path is not None:
            pts = path.points
        uris = leg.rental_uris
        rental = {
            "systemId": leg.system_id,
            "systemName": leg.system_name,
            "formFactor": leg.form_factor.upper(),
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
            "legGeometry": {"points": encode_polyline(pts), "precision": POLYLINE_PRECISION,
                            "length": len(pts)},
            "rental": {k: v for k, v in rental.items() if v is not None},
        }

    def direct(self, trip: DirectTrip) -> dict[str, Any]:
        """A direct trip: the rental option's legs, or one walk."""
        if trip.option is not None:
            legs = self.option_legs(trip.option, trip.start)
            return {"duration": trip.duration, "startTime": legs[0]["startTime"],
                    "endTime": legs[-1]["endTime"], "transfers": 0, "legs": legs}
        a = (self.origin.lat, self.origin.lon)
        b = (self.dest.lat, self.dest.lon)
        start, seconds = trip.start, trip.duration
        leg = self.walk(a, b, start, start + seconds,
                        self._place(self.origin.stop, self.origin, "START"),
                        self._place(self.dest.stop, self.dest, "END"))
        return {"duration": seconds, "startTime": leg["startTime"], "endTime": leg["endTime"],
                "transfers": 0, "legs": [leg]}


def trip_request(rt: "Runtime", req: PlanRequest, origin: Location, dest: Location, t: int,
                 prepared: Prepared, deadline: float) -> TripRequest:
    """The planner's request for an HTTP one (``t`` on the timetable axis)."""
    s = rt.settings
    return TripRequest(
        origin=origin, destination=dest,
        time=t, arrive_by=req.arrive_by,
        page=Page.EARLIER if req.earlier else Page.LATER,
        window=req.search_window, max_window=max(req.search_window, s.max_search_window),
        num_itineraries=req.num_itineraries, max_transfers=req.max_transfers,
        transfer_slack=req.min_transfer_time * 60, walk_speed=req.pedestrian_speed,
        max_pre_transit=req.max_pre_transit_time, max_post_transit=req.max_post_transit_time,
        max_direct=req.max_direct_time, transit=bool(req.transit_modes),
        route_mask=route_mask(prepared.tt, req.transit_modes, prepared.line_modes)
        if req.transit_modes else None,
        pre_modes=req.pre_transit_modes, post_modes=req.post_transit_modes,
        direct_modes=req.direct_modes, providers=req.rental_providers, deadline=deadline)


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
    network = Network(prepared.router, prepared.stop_index, prepared.group)
    plan = plan_trip(network, trip, sharing)
    body = render_plan(prepared, plan, req, origin, dest,
                       None if sharing is None else sharing.now)
    return body, plan.complete


def render_plan(prepared: Prepared, plan: TripPlan, req: PlanRequest, origin: Location,
                dest: Location, gbfs_now: float | None) -> dict[str, Any]:
    builder = ItineraryBuilder(prepared, prepared.feedset.shapes, origin, dest,
                               req.pedestrian_speed)
    builder.gbfs_now = gbfs_now
    if plan.streets is not None and plan.streets.graphs:
        builder.streets = plan.streets
    out: dict[str, Any] = {
        "from": builder._place(origin.stop, origin, "START"),
        "to": builder._place(dest.stop, dest, "END"),
        "itineraries": [builder.itinerary(it) for it in plan.itineraries],
        "direct": [builder.direct(d) for d in plan.direct],
        "previousPageCursor": None, "nextPageCursor": None,
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


def register_plan(app: FastAPI, rt: "Runtime") -> None:
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
            cur = decode_cursor(pageCursor)
            try:
                moment = datetime.fromtimestamp(float(cur["time"]))
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
        providers = check_rental(rt, modes, rentalProviders)
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
                post_transit_modes=modes[2], direct_modes=modes[3], earlier=earlier,
                rental_providers=providers)
            systems = rt.sharing.snapshots() if req.wants_rental else []
            live = rt.sharing.state_token(systems) if req.wants_rental else ""
            key = cache_key("plan", prepared.version, req.key() + live)
            cached = rt.cache.get(key)
            if cached is not None:
                rt.metrics.cache.labels("hit").inc()
                return cached
            rt.metrics.cache.labels("miss").inc()
            t = req.time - prepared.tt.t0
            out, complete = compute_plan(rt, prepared, req, origin, dest, t, deadline, systems)
            body = dumps(out)
            if complete:  # a search cut short by the deadline is not the whole answer
                rt.cache.set(key, body)
            return body

        body = await rt.run(work)
        return Response(body, media_type="application/json")
