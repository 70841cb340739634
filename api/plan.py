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
* Rental modes (``BIKE_RENTAL``, ``SCOOTER_RENTAL``, ``CAR_RENTAL``):
  :mod:`planner.multimodal.rentals` gives access/egress options (walk, ride, walk) from the live
  GBFS state of
  :mod:`api.sharing`; only options faster than walking to the same stop are kept. The
  walking search runs as without them; then McRAPTOR (``Router.pareto``) gets walking and
  rental rows together, with rental seconds as ``source_extra``/``target_extra``, so the two
  stay apart: a rental itinerary is added only where it arrives strictly earlier than the
  walking journeys of the same search and no walking itinerary leaves later and arrives
  no later. Depart-at repeats it from each found departure (at most ``numItineraries``
  runs); arrive-by runs it once from the latest departure of all rows.
* With an OSM street graph (``OWL_OSM``, see :mod:`api.sharing`) rental options are timed
  on streets, and their walks and rides are drawn along the street path
  (:meth:`planner.multimodal.streets.Streets.route`, the same snapping and times); where the graph
  does not cover a leg it stays a straight line. Plain walking access/egress keeps the
  straight-line model.
* ``transitModes=`` (empty) asks for no transit, as in MOTIS: only ``direct[]`` (walking
  and rental trips within ``maxDirectTime``), no itineraries and no page cursors.
* Plans with rental modes depend on live data: their cache key includes the GBFS state
  (each file's last fetch and each feed's staleness), so a refresh or a feed going stale
  makes a new entry; stale or broken feeds are named in ``warnings``.
"""


import json
import math
import threading
import time as clock
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
from fastapi import FastAPI, Query
from fastapi.responses import Response

from api.cache import cache_key
from api.common import (
    ApiError,
    Place,
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
from api.geo import POLYLINE_PRECISION, encode_polyline, haversine_m, path_length_m
from api.shapes import ShapeStore
from api.sharing import iso_utc
from api.store import Prepared
from planner.multimodal.rentals import AccessOption, RentalLeg, RentalOptions
from planner.multimodal.rentals import Place as OptionPlace
from planner.multimodal.streets import FORM_FACTOR_MODE, StreetPath, Streets
from planner.routing.journeys import Journey, TransitLeg, WalkLeg
from planner.routing.modes import TRANSIT_FILTERS, mode_of_route_type, route_mask
from planner.routing.query import Query as SearchQuery
from planner.routing.query import as_rows
from planner.routing.router import Router

if TYPE_CHECKING:
    from api.app import Runtime

try:  # orjson serialises a plan several times faster; plain json is the fallback
    import orjson

    def dumps(obj: object) -> bytes:
        return orjson.dumps(obj)
except ImportError:  # pragma: no cover - depends on the installation
    def dumps(obj: object) -> bytes:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()

RENTAL_MODES = frozenset({"BIKE_RENTAL", "SCOOTER_RENTAL", "CAR_RENTAL"})
STREET_MODES = frozenset({"WALK"}) | RENTAL_MODES
#: Longest walk to or from a vehicle within a rental access/egress option.
RENTAL_MAX_WALK = 900
#: Straight-line walks are longer on streets; the same factor as planner.multimodal.streets.
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
    rental_providers: tuple[str, ...] = ()  # GBFS system ids; empty: all

    @property
    def wants_rental(self) -> bool:
        return any(m in RENTAL_MODES for m in
                   self.pre_transit_modes + self.post_transit_modes + self.direct_modes)

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
        journeys = router.profile(SearchQuery(sources, targets, lo, window=width,
                                        max_transfers=req.max_transfers,
                                        transfer_slack=slack)).journeys
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
        for j in router.pareto(SearchQuery(sources, targets, items[0].departure,
                                     max_transfers=req.max_transfers, transfer_slack=slack)):
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
    journeys = router.profile(SearchQuery(sources, targets, t - req.search_window,
                                    window=req.search_window - 1,
                                    max_transfers=req.max_transfers,
                                    transfer_slack=req.min_transfer_time * 60)).journeys
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
    if (router.arrival(SearchQuery(sources, targets, lo, **kw)) or math.inf) > limit:
        return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        a = router.arrival(SearchQuery(sources, targets, mid, **kw))
        if a is not None and a <= limit:
            lo = mid
        else:
            hi = mid
    return router.earliest(SearchQuery(sources, targets, lo, **kw))


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
        back = router.latest_departure(SearchQuery(sources, targets, limit, arrive_by=True,
                                                     transfer_slack=slack))
        if back is None or not back.transit_legs:
            break
        j = router.earliest(SearchQuery(sources, targets, back.departure, **kw))
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


# --- rental ---------------------------------------------------------------------------------

Spliced = tuple[Journey, AccessOption | None, AccessOption | None]


@dataclass
class Rentals:
    """Rental options of one request (faster than walking to the same stop), direct ones,
    the GBFS clock they were computed at, and warnings about unusable feeds."""

    access: list[AccessOption]
    egress: list[AccessOption]
    direct: list[AccessOption]
    warnings: list[str]
    now: float
    streets: Streets | None = None  # the model the options were timed with


def _faster_than_walking(options: list[AccessOption], walk: list[Access]) -> list[AccessOption]:
    best: dict[int, int] = {}
    for a in walk:
        best[a.stop] = min(a.seconds, best.get(a.stop, a.seconds))
    return [o for o in options if o.duration < best.get(o.stop, math.inf)]


def rental_options(rt: "Runtime", prepared: Prepared, req: PlanRequest, origin: Place,
                   dest: Place, walk_access: list[Access], walk_egress: list[Access]) -> Rentals:
    """Access, egress and direct rental options for the request (each bounded by the
    request's maxPreTransitTime / maxPostTransitTime / maxDirectTime)."""
    sharing = rt.sharing
    planner = sharing.planner_for(prepared)
    now = sharing.now()
    providers = list(req.rental_providers) or None
    feeds = sharing.feeds
    warnings: list[str] = []

    def opts(seconds: int) -> RentalOptions:
        return RentalOptions(max_access_seconds=seconds,
                             max_walk_seconds=min(RENTAL_MAX_WALK, seconds))

    def modes(of: tuple[str, ...]) -> list[str]:
        return [m for m in of if m in RENTAL_MODES]

    acc: list[AccessOption] = []
    egr: list[AccessOption] = []
    direct: list[AccessOption] = []
    transit = bool(req.transit_modes)
    if transit and modes(req.pre_transit_modes) and req.max_pre_transit_time > 0:
        res = planner.access(origin.lat, origin.lon, modes(req.pre_transit_modes), feeds,
                             now=now, providers=providers,
                             options=opts(req.max_pre_transit_time))
        acc, warnings = _faster_than_walking(res.options, walk_access), warnings + res.warnings
    if transit and modes(req.post_transit_modes) and req.max_post_transit_time > 0:
        res = planner.egress(dest.lat, dest.lon, modes(req.post_transit_modes), feeds,
                             now=now, providers=providers,
                             options=opts(req.max_post_transit_time))
        egr, warnings = _faster_than_walking(res.options, walk_egress), warnings + res.warnings
    if modes(req.direct_modes) and req.max_direct_time > 0:
        res = planner.direct((origin.lat, origin.lon), (dest.lat, dest.lon),
                             modes(req.direct_modes), feeds, now=now, providers=providers,
                             options=opts(req.max_direct_time))
        direct, warnings = res.options, warnings + res.warnings
    return Rentals(acc, egr, direct, list(dict.fromkeys(warnings)), now, planner.streets)


@dataclass
class _Rows:
    """Walking and rental rows of one side, with their criterion values and options."""

    rows: np.ndarray
    extra: np.ndarray
    options: dict[tuple[int, int], list[AccessOption | None]]

    @classmethod
    def of(cls, walk: list[Access], rental: list[AccessOption]) -> "_Rows":
        pairs = [(a.stop, a.seconds) for a in walk] + [(o.stop, o.duration) for o in rental]
        options: dict[tuple[int, int], list[AccessOption | None]] = {}
        for (stop, sec), o in zip(pairs, [None] * len(walk) + list(rental), strict=True):
            options.setdefault((stop, sec), []).append(o)
        return cls(as_rows(pairs), np.array([0] * len(walk) + [o.extra for o in rental],
                                            dtype=np.int32), options)


def _extra(o: AccessOption | None) -> int:
    return 0 if o is None else o.extra


def _options_of(j: Journey, src: _Rows, tgt: _Rows
                ) -> tuple[AccessOption | None, AccessOption | None]:
    """The rows a Pareto journey used: rows are known by (stop, seconds); the criterion
    settles a tie between a walking and a rental row."""
    pairs = [(a, e) for a in src.options.get((j.source, j.access), [None])
             for e in tgt.options.get((j.target, j.egress), [None])]
    criterion = j.extra.get("criterion", 0)
    return next(((a, e) for a, e in pairs if _extra(a) + _extra(e) == criterion), pairs[0])


def _dominated(j: Journey, walking: list[Journey]) -> bool:
    """A walking itinerary leaves no earlier and arrives no later: the rental buys nothing."""
    leave = _leave_time(j)
    return any(_leave_time(w) >= leave and w.arrival <= j.arrival for w in walking)


def search_rental(router: Router, req: PlanRequest, src: _Rows, tgt: _Rows, t: int,
                  deadline: float, walking: list[Journey]) -> list[Spliced]:
    """Itineraries with a rental part, each strictly better than walking (see module doc)."""
    slack = req.min_transfer_time * 60
    n = req.num_itineraries
    if req.arrive_by:
        back = router.latest_departure(SearchQuery(src.rows, tgt.rows, t, arrive_by=True,
                                                     transfer_slack=slack))
        if back is None or not back.transit_legs:
            return []
        lo, hi, latest_arrival, rounds = back.departure, t, t, 1
    elif req.earlier:
        lo, hi, latest_arrival, rounds = t - req.search_window, t - 1, None, n
    else:
        lo, hi, latest_arrival, rounds = t, t + req.search_window, None, n
        # nothing in the window: the walking search returned the first journey after it
        hi = max([hi] + [_leave_time(w) for w in walking])
    found = _Found()
    out: list[Spliced] = []
    while rounds > 0 and lo <= hi and clock.monotonic() < deadline:
        rounds -= 1
        q = SearchQuery(src.rows, tgt.rows, lo, max_transfers=req.max_transfers,
                  transfer_slack=slack, source_extra=src.extra, target_extra=tgt.extra)
        journeys = [j for j in router.pareto(q) if j.transit_legs]
        if not journeys:
            break
        best_walk = min((j.arrival for j in journeys if j.extra.get("criterion") == 0),
                        default=math.inf)
        for j in journeys:
            if (j.extra.get("criterion", 0) <= 0 or j.arrival >= best_walk
                    or _leave_time(j) > hi or _dominated(j, walking)
                    or (latest_arrival is not None and j.arrival > latest_arrival)):
                continue
            a, e = _options_of(j, src, tgt)
            if (a is not None or e is not None) and found.add(j):
                out.append((j, a, e))
        lo = min(_leave_time(j) for j in journeys) + 1
    return out


def _merge(walking: list[Journey], rental: list[Spliced], req: PlanRequest) -> list[Spliced]:
    """Walking itineraries and rental ones by departure. A full page of walking ones fixes
    the page's span: rental ones outside it are left to the adjacent page (its cursor
    starts at this page's first / last departure)."""
    out: list[Spliced] = [(j, None, None) for j in walking]
    if walking and len(walking) >= req.num_itineraries:
        leaves = [_leave_time(j) for j in walking]
        if req.arrive_by or req.earlier:  # the page ends at ``time``, filled backwards
            rental = [r for r in rental if _leave_time(r[0]) >= min(leaves)]
        else:
            rental = [r for r in rental if _leave_time(r[0]) <= max(leaves)]
    out += rental
    out.sort(key=lambda x: (_leave_time(x[0]), x[0].arrival))
    return out


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
        self.gbfs_now: float | None = None  # GBFS clock of the rental options
        #: Street graphs the rental options were timed on (None: straight lines).
        self.streets: Streets | None = None

    def _place(self, stop: int | None, place: Place | None, label: str,
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
            "mode": mode_of_route_type(int(tt.line_type[line])),
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

    def itinerary(self, j: Journey, access: AccessOption | None = None,
                  egress: AccessOption | None = None) -> dict[str, Any]:
        """JSON of a journey; ``access``/``egress`` options (rental) replace the plain
        walks to the first and from the last stop."""
        legs: list[dict[str, Any]] = []
        leave = _leave_time(j)
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

    def direct_option(self, option: AccessOption, start: int) -> dict[str, Any]:
        legs = self.option_legs(option, start)
        return {"duration": option.duration, "startTime": legs[0]["startTime"],
                "endTime": legs[-1]["endTime"], "transfers": 0, "legs": legs}

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
    transit = bool(req.transit_modes)
    access = access_egress(prepared, origin, req.max_pre_transit_time, speed,
                           req.pre_transit_modes) if transit else []
    egress = access_egress(prepared, dest, req.max_post_transit_time, speed,
                           req.post_transit_modes) if transit else []
    rentals = Rentals([], [], [], [], 0.0)
    if req.wants_rental:
        rentals = rental_options(rt, prepared, req, origin, dest, access, egress)
        builder.gbfs_now = rentals.now
        if rentals.streets is not None and rentals.streets.graphs:
            builder.streets = rentals.streets
        for o in rentals.direct:
            start = t if not req.arrive_by else t - o.duration
            out["direct"].append(builder.direct_option(o, start))
    if not transit:
        out["warnings"] = rentals.warnings
        if not out["direct"]:
            out["reason"] = ("transitModes is empty (direct trips only) and no direct trip "
                             f"of the directModes takes at most maxDirectTime "
                             f"({req.max_direct_time} s)")
        return out
    reason = ""
    if not access and not rentals.access:
        reason = (f"no stop within {req.max_pre_transit_time} s of walking from fromPlace")
    elif not egress and not rentals.egress:
        reason = (f"no stop within {req.max_post_transit_time} s of walking to toPlace")
    journeys: list[Journey] = []
    rental: list[Spliced] = []
    if not reason:
        mask = route_mask(prepared.tt, req.transit_modes, prepared.line_modes)
        router = prepared.router._for_mask(SearchQuery([], [], 0, route_mask=mask))
        if access and egress:
            journeys, reason = search(router, req, [(a.stop, a.seconds) for a in access],
                                      [(e.stop, e.seconds) for e in egress], t, deadline)
        else:
            reason = "no connection with a rental part helps within the search window"
        if rentals.access or rentals.egress:
            rental = search_rental(router, req, _Rows.of(access, rentals.access),
                                   _Rows.of(egress, rentals.egress), t, deadline, journeys)
            if rental:
                reason = ""
    found = _merge(journeys, rental, req)
    out["itineraries"] = [builder.itinerary(*x) for x in found]
    if reason and not found:
        out["reason"] = reason
    out["warnings"] = rentals.warnings
    journeys = [x[0] for x in found]
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
        transitModes: Annotated[str | None, Query(  # noqa: N803
            description="comma-separated transit modes (TRANSIT: all, RAIL: all rail, "
                        "or BUS, TRAM, ...); default TRANSIT. Empty: no transit, only "
                        "direct[] trips of directModes (as in MOTIS)")] = None,
        preTransitModes: str | None = None,  # noqa: N803
        postTransitModes: str | None = None,  # noqa: N803
        directModes: str | None = None,  # noqa: N803
        rentalProviders: Annotated[str | None, Query(  # noqa: N803
            max_length=1000, description="comma-separated GBFS system ids (see "
                                         "/api/v1/health); default all")] = None,
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
            live = rt.sharing.state_token() if req.wants_rental else ""
            key = cache_key("plan", prepared.version, req.key() + live)
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
