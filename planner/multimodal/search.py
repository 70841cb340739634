"""The one multimodal search: walking and shared vehicles around transit, and direct trips.

What a trip request becomes (the API only parses it and renders the :class:`TripPlan`):

* **Places to stops.** A stop place yields its station group at no cost; a coordinate
  yields the stops within walking range, bounded by ``max_pre_transit``/
  ``max_post_transit``: on the street model's walk graph where an OSM extract is loaded
  (one Dijkstra from the point, cut at that bound, to the stops' snapped nodes; a point
  or stop beyond the snapping distance, or on streets the extract does not link, walks
  the straight line), else the straight line x ``DETOUR`` at the walking speed. Walking
  is symmetric (the walk graph ignores oneway), so access and egress share
  :func:`walking_access`, and so does the direct walk.
* **Transit** runs the search policy of :mod:`planner.routing.search` (windows, pages,
  arrive-by) on the walking rows.
* **Sharing** (``BIKE_RENTAL``, ``SCOOTER_RENTAL``, ``CAR_RENTAL``): the
  :class:`~planner.multimodal.rentals.RentalPlanner` gives access/egress options (walk,
  ride, walk) from the sharing state at ``Sharing.now``; only options faster than
  walking to the same stop are kept. McRAPTOR then gets walking and rental rows together,
  rental seconds as the extra criterion so the two stay apart; a rental itinerary is kept
  only where it arrives strictly earlier than the walking journeys of the same run and no
  walking itinerary leaves later and arrives no later. Depart-at repeats the run from each
  found departure (at most ``num_itineraries`` runs); arrive-by runs it once from the
  latest departure of all rows. A full page of walking itineraries fixes the page's span.
* **Own vehicles** (``BIKE``, ``CAR``): ridden to or from stops, or the whole way, on the
  street model (:class:`~planner.multimodal.streets.Streets`: the OSM graph where loaded,
  else the straight line); their rows join the walking rows (the faster per stop), and the
  itinerary says which mode a row was (``TripPlan.access_modes``/``egress_modes``).
* **One journey, one itinerary, at most ``num_itineraries``.** Itineraries on the same
  trips between the same stations (platforms of one parent station, or stops of one name
  within ``SAME_STATION_M``) with the same access and egress modes, leaving and arriving
  within ``NEAR_DUPLICATE_S`` of each other, are one journey: the one arriving first
  (then leaving latest, then walking least) stays. Walking and rental itineraries
  together are then cut to ``num_itineraries``: the first ones of a later page, the last
  ones (nearest ``time``) of an earlier or arrive-by page; with ``count_is_minimum``
  (MOTIS's ``numItineraries``, the minimum that widens the window: the v5/v6 API) every
  itinerary of the final window stays.
* **Direct** trips: a walk (within ``max_direct``), a bike or car ride of ``direct_modes``,
  and rental trips of ``direct_modes``.
* ``transit=False`` asks for direct trips only (MOTIS's empty ``transitModes``).
"""

from __future__ import annotations

import math
import time as clock
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from feeds.gbfs import GbfsSnapshot
from planner.multimodal.geometry import haversine_m
from planner.multimodal.rentals import (
    AccessOption,
    OptionLeg,
    RentalLeg,
    RentalOptions,
    RentalPlanner,
)
from planner.multimodal.streets import Streets
from planner.routing.journeys import Journey, Leg, leave_time
from planner.routing.query import DEFAULT_MAX_TRANSFERS, Query, as_rows
from planner.routing.router import Router
from planner.routing.search import (
    Found,
    Page,
    SearchOutcome,
    page_starts,
    search,
    walk_seconds,
)
from planner.timetable.model import Timetable

RENTAL_MODES = frozenset({"BIKE_RENTAL", "SCOOTER_RENTAL", "CAR_RENTAL"})
#: Own vehicles, by their street-model mode.
VEHICLE_MODES = {"BIKE": "bike", "CAR": "car"}
STREET_MODES = frozenset({"WALK"}) | RENTAL_MODES | frozenset(VEHICLE_MODES)
#: Longest walk to or from a vehicle within a rental access/egress option.
RENTAL_MAX_WALK = 900
#: Straight-line walks are longer on streets; the same factor as planner.multimodal.streets.
DETOUR = 1.3
NO_RENTAL_HELPS = "no connection with a rental part helps within the search window"
#: Two itineraries on the same trips whose leaving and arrival times differ by at most
#: this many seconds (a platform change's walk) are one journey.
NEAR_DUPLICATE_S = 120
#: Stops of one name within this distance are one station (feeds without parent stations
#: list "Wolfsburg Hbf" twice, 4 s of walking apart).
SAME_STATION_M = 300.0


@dataclass(frozen=True)
class Location:
    """A trip's origin or destination: a stop (index) or a coordinate."""

    lat: float
    lon: float
    stop: int | None = None
    name: str = ""


class StopsNear(Protocol):
    """A point index over the timetable's stops."""

    def within(self, lat: float, lon: float, radius_m: float) -> list[tuple[int, float]]:
        """(stop index, metres) within ``radius_m``, nearest first."""
        ...


@dataclass(frozen=True)
class Network:
    """What the multimodal search reads of one timetable."""

    router: Router
    stops: StopsNear
    group: Callable[[int], list[int]]  # a stop and its platforms (its station group)


@dataclass(frozen=True)
class Sharing:
    """The sharing side of one request: the systems' frozen state, the GBFS clock ``now``
    (unix seconds) it is judged at, and the rental planner of this timetable. Nothing
    here changes while the request is planned."""

    planner: RentalPlanner
    systems: Sequence[GbfsSnapshot]
    now: float


#: What a plan says when its search stopped at ``TripRequest.deadline`` (never cached).
CUT_SHORT = ("the search stopped at the server's time limit: itineraries may be missing; "
             "retry, or ask for a shorter searchWindow or fewer itineraries")


@dataclass(frozen=True)
class TripRequest:
    """A trip between two places; times on the timetable axis, durations in seconds."""

    origin: Location
    destination: Location
    time: int
    arrive_by: bool = False
    page: Page = Page.LATER
    window: int = 7200
    max_window: int = 7200
    num_itineraries: int = 5
    max_transfers: int = DEFAULT_MAX_TRANSFERS
    transfer_slack: int = 0
    walk_speed: float = 1.25  # m/s
    max_pre_transit: int = 900
    max_post_transit: int = 900
    max_direct: int = 1800
    transit: bool = True
    route_mask: np.ndarray | None = None
    pre_modes: tuple[str, ...] = ("WALK",)
    post_modes: tuple[str, ...] = ("WALK",)
    direct_modes: tuple[str, ...] = ("WALK",)
    providers: tuple[str, ...] = ()  # GBFS system ids; empty: all
    deadline: float = math.inf
    #: Rental vehicles allowed (access, egress, direct): GBFS form factors and propulsion
    #: types, lower case; empty: any.
    rental_filters: tuple[RentalFilter, RentalFilter, RentalFilter] | None = None
    bike_speed: float | None = None  # m/s for BIKE; None: the street model's
    #: Coordinate places use every stop within this many metres, timed at
    #: ``RADIUS_SPEED`` (MOTIS's ``radius``); None: the walking model.
    radius: float | None = None
    #: MOTIS's bounds on the answer: itineraries longer than ``max_travel_time`` seconds
    #: or than ``fastest_direct_factor`` x the fastest direct trip are dropped, and at
    #: most ``max_itineraries`` kept (None: no bound).
    max_travel_time: int | None = None
    fastest_direct_factor: float | None = None
    max_itineraries: int | None = None
    #: MOTIS's reading of ``num_itineraries``: the minimum the window widens to, every
    #: itinerary of the final window kept (``max_itineraries`` bounds them). False: the
    #: count is also the most returned (this server's ``/api/v1``).
    count_is_minimum: bool = False

    @property
    def wants_rental(self) -> bool:
        return any(m in RENTAL_MODES for m in
                   self.pre_modes + self.post_modes + self.direct_modes)


@dataclass(frozen=True)
class RentalFilter:
    """Which rental vehicles one side of a trip may use (empty: any)."""

    form_factors: tuple[str, ...] = ()
    propulsion_types: tuple[str, ...] = ()

    def allows(self, option: AccessOption) -> bool:
        for leg in option.legs:
            if isinstance(leg, RentalLeg):
                if self.form_factors and leg.form_factor not in self.form_factors:
                    return False
                if self.propulsion_types and leg.propulsion_type not in self.propulsion_types:
                    return False
        return True


#: MOTIS's crow-fly speed for ``radius`` stops (m/s), rounded down to whole minutes.
RADIUS_SPEED = 1.5


@dataclass(frozen=True)
class Access:
    """One walk between a place and a stop: ``seconds`` over ``meters``."""

    stop: int
    seconds: int
    meters: float


@dataclass(frozen=True)
class Itinerary:
    """A transit journey; ``access``/``egress`` rental options replace its plain walks."""

    journey: Journey
    access: AccessOption | None = None
    egress: AccessOption | None = None

    @property
    def leave(self) -> int:
        return leave_time(self.journey)

    @property
    def arrival(self) -> int:
        return self.journey.arrival

    @property
    def uses_rental(self) -> bool:
        return self.access is not None or self.egress is not None

    @property
    def legs(self) -> tuple[OptionLeg | Leg, ...]:
        """Rental access legs, the journey's legs, rental egress legs (timetable axis)."""
        j = self.journey
        head = self.access.legs_from(self.leave) if self.access is not None else ()
        tail = (self.egress.legs_from(j.arrival - self.egress.duration)
                if self.egress is not None else ())
        return (*head, *j.legs, *tail)

    @property
    def rental_legs(self) -> list[RentalLeg]:
        return [leg for leg in self.legs if isinstance(leg, RentalLeg)]


@dataclass(frozen=True)
class DirectTrip:
    """Origin to destination without transit: a walk (``option`` None) or a rental."""

    start: int
    duration: int
    option: AccessOption | None = None
    mode: str = "WALK"  # WALK, BIKE or CAR when ``option`` is None


@dataclass
class TripPlan:
    itineraries: list[Itinerary]  # by leaving time, then arrival
    direct: list[DirectTrip]
    warnings: list[str] = field(default_factory=list)
    reason: str = ""  # why there is no itinerary ("" when there are)
    #: Where the previous and the next page start (depart-at, timetable axis); None
    #: without transit.
    pages: tuple[int, int] | None = None
    streets: Streets | None = None  # the street model the rental options were timed on
    #: False when the deadline cut the search short: the plan may lack itineraries.
    complete: bool = True
    #: (stop, seconds) rows that an own vehicle gave (BIKE, CAR); others are walks.
    access_modes: dict[tuple[int, int], str] = field(default_factory=dict)
    egress_modes: dict[tuple[int, int], str] = field(default_factory=dict)


def walking_access(network: Network, place: Location, max_seconds: int, speed: float,
                   modes: tuple[str, ...], radius: float | None = None,
                   streets: Streets | None = None) -> list[Access]:
    """Stops reachable on foot from (or to) ``place`` within ``max_seconds``; a stop place
    is its station group, whatever the modes. With ``radius``, every stop within it at
    MOTIS's crow-fly estimate instead. With ``streets`` holding a walk graph, the walks
    are timed on it (:func:`street_walks`)."""
    if place.stop is not None:
        return [Access(s, 0, 0.0) for s in network.group(place.stop)]
    out: list[Access] = []
    if radius is not None:
        for stop, metres in network.stops.within(place.lat, place.lon, radius):
            out.append(Access(stop, int(metres / RADIUS_SPEED) // 60 * 60, metres))
        return out
    if "WALK" not in modes or max_seconds <= 0 or speed <= 0:
        return out
    if streets is not None and "walk" in streets.graphs:
        return street_walks(network, streets, place, max_seconds, speed)
    radius = max_seconds * speed / DETOUR
    for stop, metres in network.stops.within(place.lat, place.lon, radius):
        seconds = int(math.ceil(metres * DETOUR / speed))
        if seconds <= max_seconds:
            out.append(Access(stop, seconds, metres * DETOUR))
    return out


def walk_scale(streets: Streets, speed: float) -> float:
    """Factor on the street model's walking times for a walker at ``speed`` m/s
    (``pedestrianSpeed``)."""
    return streets.model.speed_mps("walk") / speed


def street_walks(network: Network, streets: Streets, place: Location, max_seconds: int,
                 speed: float) -> list[Access]:
    """The stops within ``max_seconds`` of walking on streets from ``place``: candidates
    within the straight-line reach (no street walk is shorter than the crow flies), then
    one Dijkstra from the point's snapped node cut at ``max_seconds``
    (:meth:`Streets.many_to_many`). A stop whose pair the graph cannot time (off the graph,
    unlinked streets) keeps the street model's straight line; metres are the time at the
    model's walking speed."""
    scale = walk_scale(streets, speed)
    near = network.stops.within(place.lat, place.lon, max_seconds * speed)
    if not near:
        return []
    tt = network.router.tt
    points = np.array([(float(tt.stop_lat[s]), float(tt.stop_lon[s])) for s, _ in near])
    times = streets.many_to_many("walk", [(place.lat, place.lon)], points,
                                 max_seconds / scale)[0]
    walk = streets.model.speed_mps("walk")
    out = []
    for (stop, _), t in zip(near, times, strict=True):
        seconds = t * scale
        if math.isfinite(seconds) and seconds <= max_seconds:
            out.append(Access(stop, int(math.ceil(seconds)), float(t) * walk))
    return out


def direct_walk_seconds(req: TripRequest, streets: Streets | None = None) -> float:
    """The walk from origin to destination: on the walk graph where ``streets`` has one
    (bounded by ``max_direct``), else the straight line."""
    a, b = req.origin, req.destination
    if req.walk_speed <= 0:
        return math.inf
    if streets is not None and "walk" in streets.graphs:
        scale = walk_scale(streets, req.walk_speed)
        t = streets.many_to_many("walk", [(a.lat, a.lon)], [(b.lat, b.lon)],
                                 req.max_direct / scale)[0, 0]
        return math.ceil(t * scale) if math.isfinite(t) else math.inf
    return math.ceil(haversine_m(a.lat, a.lon, b.lat, b.lon) * DETOUR / req.walk_speed)


def vehicle_scale(streets: Streets, req: TripRequest, mode: str) -> float:
    """Factor on the street model's times for an own vehicle (``cyclingSpeed``)."""
    if mode == "bike" and req.bike_speed is not None:
        if req.bike_speed <= 0:
            return math.inf
        return streets.model.speed_mps("bike") / req.bike_speed
    return 1.0


def vehicle_access(network: Network, streets: Streets, req: TripRequest, place: Location,
                   modes: tuple[str, ...], max_seconds: int, egress: bool = False
                   ) -> dict[str, list[Access]]:
    """Stops an own bike or car reaches from a coordinate (``egress``: to it) within
    ``max_seconds``, per API mode, timed on ``streets``."""
    out: dict[str, list[Access]] = {}
    if place.stop is not None or max_seconds <= 0:
        return out
    for name, mode in VEHICLE_MODES.items():
        if name not in modes:
            continue
        scale = vehicle_scale(streets, req, mode)
        if not math.isfinite(scale):
            continue
        top = streets.model.speed_mps(mode) / scale
        if mode == "car" and mode in streets.graphs:
            top = max(top, 130 / 3.6)
        near = network.stops.within(place.lat, place.lon, max_seconds * top)
        if not near:
            continue
        points = [(float(network.router.tt.stop_lat[s]), float(network.router.tt.stop_lon[s]))
                  for s, _ in near]
        here = [(place.lat, place.lon)]
        times = (streets.many_to_many(mode, points, here).T if egress
                 else streets.many_to_many(mode, here, points))[0] * scale
        rows = []
        for (stop, metres), sec in zip(near, times, strict=True):
            if math.isfinite(sec) and sec <= max_seconds:
                rows.append(Access(stop, int(math.ceil(sec)), metres))
        out[name] = rows
    return out


def _merge_access(walk: list[Access], vehicles: dict[str, list[Access]]
                  ) -> tuple[list[Access], dict[tuple[int, int], str]]:
    """Walking rows plus the vehicle rows faster than walking to the same stop."""
    best = {a.stop: a.seconds for a in walk}
    rows, modes = list(walk), {}
    for name, options in vehicles.items():
        for a in options:
            if a.seconds < best.get(a.stop, math.inf):
                rows.append(a)
                modes[(a.stop, a.seconds)] = name
    return rows, modes


@dataclass
class _Rentals:
    access: list[AccessOption] = field(default_factory=list)
    egress: list[AccessOption] = field(default_factory=list)
    direct: list[AccessOption] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _rental_modes(of: Iterable[str]) -> list[str]:
    return [m for m in of if m in RENTAL_MODES]


def _faster_than_walking(options: list[AccessOption], walk: list[Access]) -> list[AccessOption]:
    best: dict[int, int] = {}
    for a in walk:
        best[a.stop] = min(a.seconds, best.get(a.stop, a.seconds))
    return [o for o in options if o.duration < best.get(o.stop, math.inf)]


def rental_options(sharing: Sharing, req: TripRequest, walk_access: list[Access],
                   walk_egress: list[Access]) -> _Rentals:
    """Access, egress and direct rental options (bounded by ``max_pre_transit`` /
    ``max_post_transit`` / ``max_direct``, and by ``rental_filters``)."""
    out = _rental_options(sharing, req, walk_access, walk_egress)
    if req.rental_filters is not None:
        pre, post, direct = req.rental_filters
        out.access = [o for o in out.access if pre.allows(o)]
        out.egress = [o for o in out.egress if post.allows(o)]
        out.direct = [o for o in out.direct if direct.allows(o)]
    return out


def _rental_options(sharing: Sharing, req: TripRequest, walk_access: list[Access],
                    walk_egress: list[Access]) -> _Rentals:
    planner, feeds, now = sharing.planner, sharing.systems, sharing.now
    providers = list(req.providers) or None
    out = _Rentals()

    def opts(seconds: int) -> RentalOptions:
        return RentalOptions(max_access_seconds=seconds,
                             max_walk_seconds=min(RENTAL_MAX_WALK, seconds))

    o, d = req.origin, req.destination
    pre, post = _rental_modes(req.pre_modes), _rental_modes(req.post_modes)
    if req.transit and pre and req.max_pre_transit > 0:
        res = planner.access(o.lat, o.lon, pre, feeds, now=now, providers=providers,
                             options=opts(req.max_pre_transit))
        out.access = _faster_than_walking(res.options, walk_access)
        out.warnings += res.warnings
    if req.transit and post and req.max_post_transit > 0:
        res = planner.egress(d.lat, d.lon, post, feeds, now=now, providers=providers,
                             options=opts(req.max_post_transit))
        out.egress = _faster_than_walking(res.options, walk_egress)
        out.warnings += res.warnings
    direct = _rental_modes(req.direct_modes)
    if direct and req.max_direct > 0:
        res = planner.direct((o.lat, o.lon), (d.lat, d.lon), direct, feeds, now=now,
                             providers=providers, options=opts(req.max_direct))
        out.direct = res.options
        out.warnings += res.warnings
    out.warnings = list(dict.fromkeys(out.warnings))
    return out


@dataclass
class _Rows:
    """Walking and rental rows of one side, with their criterion values and options."""

    rows: np.ndarray
    extra: np.ndarray
    options: dict[tuple[int, int], list[AccessOption | None]]

    @classmethod
    def of(cls, walk: list[Access], rental: list[AccessOption]) -> _Rows:
        pairs = [(a.stop, a.seconds) for a in walk] + [(o.stop, o.duration) for o in rental]
        options: dict[tuple[int, int], list[AccessOption | None]] = {}
        kinds: list[AccessOption | None] = [None] * len(walk) + list(rental)
        for (stop, sec), o in zip(pairs, kinds, strict=True):
            options.setdefault((stop, sec), []).append(o)
        extra = np.array([0] * len(walk) + [o.extra for o in rental], dtype=np.int32)
        return cls(as_rows(pairs), extra, options)


def _criterion(j: Journey) -> int:
    """McRAPTOR's extra criterion of a journey (rental seconds; 0 for walking only)."""
    value = j.extra.get("criterion", 0)
    return int(value) if isinstance(value, int | np.integer) else 0


def _extra(o: AccessOption | None) -> int:
    return 0 if o is None else o.extra


def _options_of(j: Journey, src: _Rows, tgt: _Rows
                ) -> tuple[AccessOption | None, AccessOption | None]:
    """The rows a Pareto journey used: rows are known by (stop, seconds); the criterion
    settles a tie between a walking and a rental row."""
    pairs = [(a, e) for a in src.options.get((j.source, j.access), [None])
             for e in tgt.options.get((j.target, j.egress), [None])]
    criterion = _criterion(j)
    return next(((a, e) for a, e in pairs if _extra(a) + _extra(e) == criterion), pairs[0])


def _dominated(j: Journey, walking: list[Journey]) -> bool:
    """A walking itinerary leaves no earlier and arrives no later: the rental buys nothing."""
    leave = leave_time(j)
    return any(leave_time(w) >= leave and w.arrival <= j.arrival for w in walking)


def _rental_bounds(router: Router, req: TripRequest, base: Query,
                   walking: list[Journey]) -> tuple[int, int, int | None, int] | None:
    """(first departure, last departure, latest arrival, McRAPTOR runs) of the rental
    search, or None when nothing can depart."""
    n = req.num_itineraries
    if req.arrive_by:
        back = router.latest_departure(base)
        if back is None or not back.transit_legs:
            return None
        return back.departure, req.time, req.time, 1
    if req.page is Page.EARLIER:
        return req.time - req.window, req.time - 1, None, n
    # nothing in the window: the walking search returned journeys after it
    hi = max([req.time + req.window] + [leave_time(w) for w in walking])
    return req.time, hi, None, n


def search_rental(router: Router, req: TripRequest, base: Query, src: _Rows, tgt: _Rows,
                  walking: list[Journey]) -> list[Itinerary]:
    """Itineraries with a rental part, each strictly better than walking."""
    bounds = _rental_bounds(router, req, Query(src.rows, tgt.rows, req.time, arrive_by=True,
                                               max_transfers=base.max_transfers,
                                               transfer_slack=base.transfer_slack,
                                               route_mask=base.route_mask), walking)
    if bounds is None:
        return []
    lo, hi, latest_arrival, runs = bounds
    found = Found()
    out: list[Itinerary] = []
    while runs > 0 and lo <= hi and clock.monotonic() < req.deadline:
        runs -= 1
        q = Query(src.rows, tgt.rows, lo, max_transfers=base.max_transfers,
                  transfer_slack=base.transfer_slack, route_mask=base.route_mask,
                  source_extra=src.extra, target_extra=tgt.extra)
        journeys = [j for j in router.pareto(q) if j.transit_legs]
        if not journeys:
            break
        best_walk = min((j.arrival for j in journeys if _criterion(j) == 0),
                        default=math.inf)
        for j in journeys:
            if (_criterion(j) <= 0 or j.arrival >= best_walk
                    or leave_time(j) > hi or _dominated(j, walking)
                    or (latest_arrival is not None and j.arrival > latest_arrival)):
                continue
            a, e = _options_of(j, src, tgt)
            if (a is not None or e is not None) and found.add(j):
                out.append(Itinerary(j, a, e))
        lo = min(leave_time(j) for j in journeys) + 1
    return out


def same_station(tt: Timetable, a: int, b: int) -> bool:
    """One station: the same stop, platforms of one parent (or a parent and its
    platform), or stops of one name within ``SAME_STATION_M``."""
    if a == b:
        return True
    pa, pb = int(tt.stop_parent[a]), int(tt.stop_parent[b])
    if (pa >= 0 and pa in (pb, b)) or pb == a:
        return True
    return (str(tt.stop_names[a]) == str(tt.stop_names[b]) != ""
            and haversine_m(float(tt.stop_lat[a]), float(tt.stop_lon[a]),
                            float(tt.stop_lat[b]), float(tt.stop_lon[b])) <= SAME_STATION_M)


def _kind(o: AccessOption | None) -> object:
    return None if o is None else o.kind


def near_duplicates(tt: Timetable, x: Itinerary, y: Itinerary) -> bool:
    """The same journey for a rider: same trips, boarded and left at the same stations,
    the same access and egress modes, times apart by a platform change's walk at most."""
    if abs(x.leave - y.leave) > NEAR_DUPLICATE_S or abs(x.arrival - y.arrival) > \
            NEAR_DUPLICATE_S:
        return False
    if (_kind(x.access), _kind(x.egress)) != (_kind(y.access), _kind(y.egress)):
        return False
    lx, ly = x.journey.transit_legs, y.journey.transit_legs
    return len(lx) == len(ly) and all(
        a.trip == b.trip and same_station(tt, a.board_stop, b.board_stop)
        and same_station(tt, a.alight_stop, b.alight_stop) for a, b in zip(lx, ly, strict=True))


def _preference(x: Itinerary) -> tuple[int, int, int]:
    """Of near-duplicates: arriving first, then leaving latest, then walking least."""
    return (x.arrival, -x.leave, walk_seconds(x.journey))


def merge(tt: Timetable, walking: list[Journey], rental: list[Itinerary], req: TripRequest
          ) -> list[Itinerary]:
    """Walking itineraries and rental ones by leaving time, near-duplicates as one, at most
    ``num_itineraries`` (see the module docstring). A full page of walking ones fixes the
    page's span: rental ones outside it are left to the adjacent page."""
    candidates = [Itinerary(j) for j in walking]
    earlier_side = req.arrive_by or req.page is Page.EARLIER  # the page ends at ``time``
    if walking and len(walking) >= req.num_itineraries:
        leaves = [leave_time(j) for j in walking]
        if earlier_side:
            rental = [r for r in rental if r.leave >= min(leaves)]
        else:
            rental = [r for r in rental if r.leave <= max(leaves)]
    candidates += rental
    out: list[Itinerary] = []
    for it in sorted(candidates, key=_preference):
        if not any(near_duplicates(tt, it, kept) for kept in out):
            out.append(it)
    out.sort(key=lambda x: (x.leave, x.arrival))
    if req.count_is_minimum:
        return out
    n = max(1, req.num_itineraries)
    return out[-n:] if earlier_side else out[:n]


def _direct(req: TripRequest, rentals: _Rentals, streets: Streets | None) -> list[DirectTrip]:
    out: list[DirectTrip] = []
    if "WALK" in req.direct_modes:
        walked = direct_walk_seconds(req, streets)
        if walked <= req.max_direct:
            seconds = int(walked)
            out.append(DirectTrip(req.time - seconds if req.arrive_by else req.time, seconds))
    a, b = req.origin, req.destination
    for name, mode in VEHICLE_MODES.items():
        if name not in req.direct_modes or streets is None:
            continue
        scale = vehicle_scale(streets, req, mode)
        ride = streets.travel_time(mode, (a.lat, a.lon), (b.lat, b.lon)) * scale
        if math.isfinite(ride) and ride <= req.max_direct:
            seconds = int(math.ceil(ride))
            out.append(DirectTrip(req.time - seconds if req.arrive_by else req.time, seconds,
                                  mode=name))
    for o in rentals.direct:
        out.append(DirectTrip(req.time - o.duration if req.arrive_by else req.time,
                              o.duration, o))
    return out


def bounded(itineraries: list[Itinerary], direct: list[DirectTrip], req: TripRequest
            ) -> list[Itinerary]:
    """The itineraries within MOTIS's answer bounds (``TripRequest.max_travel_time`` and
    the rest)."""
    longest = math.inf if req.max_travel_time is None else req.max_travel_time
    if req.fastest_direct_factor is not None and direct:
        longest = min(longest, req.fastest_direct_factor * min(d.duration for d in direct))
    out = [i for i in itineraries if i.arrival - i.leave <= longest]
    if req.max_itineraries is not None:
        out = out[:max(req.max_itineraries, 0)]
    return out


def _window(req: TripRequest) -> tuple[int, int]:
    """The request's own interval (before any widening)."""
    if req.arrive_by or req.page is Page.EARLIER:
        return req.time - req.window, req.time
    return req.time, req.time + req.window


def plan_trip(network: Network, req: TripRequest, sharing: Sharing | None = None,
              streets: Streets | None = None) -> TripPlan:
    """Itineraries and direct trips for ``req`` (see the module docstring); ``streets``
    times own bikes and cars (default: the sharing planner's)."""
    access: list[Access] = []
    egress: list[Access] = []
    if streets is None and sharing is not None:
        streets = sharing.planner.streets
    access_modes: dict[tuple[int, int], str] = {}
    egress_modes: dict[tuple[int, int], str] = {}
    if req.transit:
        access = walking_access(network, req.origin, req.max_pre_transit, req.walk_speed,
                                req.pre_modes, req.radius, streets)
        egress = walking_access(network, req.destination, req.max_post_transit,
                                req.walk_speed, req.post_modes, req.radius, streets)
        if streets is not None:
            access, access_modes = _merge_access(access, vehicle_access(
                network, streets, req, req.origin, req.pre_modes, req.max_pre_transit))
            egress, egress_modes = _merge_access(egress, vehicle_access(
                network, streets, req, req.destination, req.post_modes,
                req.max_post_transit, egress=True))
    rentals = _Rentals()
    if req.wants_rental and sharing is not None:
        rentals = rental_options(sharing, req, access, egress)
    plan = TripPlan([], _direct(req, rentals, streets), rentals.warnings,
                    streets=streets, access_modes=access_modes, egress_modes=egress_modes)
    if not req.transit:
        return plan
    router = network.router
    base = Query(np.zeros((0, 2), np.int32), np.zeros((0, 2), np.int32), req.time,
                 arrive_by=req.arrive_by, window=req.window, max_window=req.max_window,
                 min_journeys=req.num_itineraries, max_transfers=req.max_transfers,
                 transfer_slack=req.transfer_slack, route_mask=req.route_mask,
                 deadline=req.deadline, whole_window=req.count_is_minimum)
    reason = ""
    if not access and not rentals.access:
        reason = f"no stop within {req.max_pre_transit} s of walking from fromPlace"
    elif not egress and not rentals.egress:
        reason = f"no stop within {req.max_post_transit} s of walking to toPlace"
    outcome = SearchOutcome([], reason, _window(req))
    rental: list[Itinerary] = []
    if not reason:
        if access and egress:
            q = Query(as_rows([(a.stop, a.seconds) for a in access]),
                      as_rows([(e.stop, e.seconds) for e in egress]), req.time,
                      arrive_by=req.arrive_by, window=req.window, max_window=req.max_window,
                      min_journeys=req.num_itineraries, max_transfers=req.max_transfers,
                      transfer_slack=req.transfer_slack, route_mask=req.route_mask,
                      deadline=req.deadline, whole_window=req.count_is_minimum)
            outcome = search(router, q, req.page)
        else:
            outcome = SearchOutcome([], NO_RENTAL_HELPS, _window(req))
        if rentals.access or rentals.egress:
            rental = search_rental(router, req, base, _Rows.of(access, rentals.access),
                                   _Rows.of(egress, rentals.egress), outcome.journeys)
    plan.itineraries = bounded(merge(router.tt, outcome.journeys, rental, req), plan.direct,
                               req)
    if not plan.itineraries:
        plan.reason = outcome.reason or NO_RENTAL_HELPS
    plan.pages = page_starts([i.journey for i in plan.itineraries], base, req.page,
                             outcome.searched)
    plan.complete = clock.monotonic() < req.deadline
    if not plan.complete:
        plan.warnings.append(CUT_SHORT)
    return plan
