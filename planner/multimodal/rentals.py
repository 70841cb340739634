"""Access, egress and direct options with shared bikes, scooters and cars (GBFS).

An *option* links the query point with one stop (or, for a direct trip, with the other
query point): its duration in seconds, a criterion value and the legs to splice into the
journey. The criterion value ``extra`` is the number of seconds spent on the rental
(pick-up + ride + drop-off); walking-only options have 0. McRAPTOR keeps journeys that
differ in it apart, so a rental leg survives only where it buys an earlier arrival.

Shapes of a rental option (``Q`` the query point, ``X`` a stop or the other query point):

* station-based, access: walk Q -> station with a vehicle of the form factor
  (``Station.can_pick_up``) -> ride -> station with a free dock (``can_return``) -> walk X;
* station-based, egress: walk X -> station with a vehicle -> ride -> station with a free
  dock near Q -> walk Q;
* station pick-up of a vehicle type whose ``return_constraint`` is ``hybrid`` or
  ``free_floating`` (Call a Bike) may also end the ride at X / Q itself;
* free-floating: walk Q -> vehicle -> ride -> park at X (access), or walk X -> vehicle
  parked near X at query time -> ride -> park at Q (egress). Geofencing: no vehicle that
  stands where a ride may not start (``GbfsSnapshot.usable_vehicles``), no end where
  ``ride_end_allowed`` is false or ``station_parking`` is required; a vehicle whose
  ``current_range_meters`` is below the ride distance (crow-flies x the street model's
  detour factor) is skipped.

Availability is the state at query time (``now``, the GBFS clock in unix seconds, not the
timetable's): for egress the vehicles are assumed to still be there when the train
arrives, as in MOTIS and OTP. Feeds whose live files are older than ``max_age`` give
nothing and add a line to ``warnings``.

Search bounds: every option takes at most ``max_access_seconds``, each walking part at most
``max_walk_seconds``; candidates are found with KD-trees (stops, stations, vehicles) and
timed with batched :meth:`planner.multimodal.streets.Streets.many_to_many` calls (one per feed, form
factor and leg kind). Only the ``max_pickup_candidates`` nearest pick-up points per query
point are ridden from.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Literal, Protocol

import numpy as np

from feeds.gbfs import GbfsSnapshot, Station, Vehicle
from planner.multimodal.geometry import PointIndex, haversine_m_array
from planner.multimodal.streets import FORM_FACTOR_MODE, Point, Streets

Direction = Literal["access", "egress"]


class Mode(StrEnum):
    WALK = "WALK"
    BIKE_RENTAL = "BIKE_RENTAL"
    SCOOTER_RENTAL = "SCOOTER_RENTAL"
    CAR_RENTAL = "CAR_RENTAL"


#: GBFS form factors per rental mode. Mopeds (seated motor scooters, e.g. Check) count as
#: scooters, as riders and operators call them; they still travel on the car graph.
RENTAL_FORM_FACTORS: dict[Mode, tuple[str, ...]] = {
    Mode.BIKE_RENTAL: ("bicycle", "cargo_bicycle"),
    Mode.SCOOTER_RENTAL: ("scooter", "scooter_standing", "scooter_seated", "moped"),
    Mode.CAR_RENTAL: ("car",),
}
FREE_RETURN = frozenset({"free_floating", "hybrid"})
STATION_ONLY_RETURN = frozenset({"any_station", "roundtrip_station"})


def parse_modes(modes: Iterable[str | Mode]) -> set[Mode]:
    """API spellings (``"SCOOTER_RENTAL"``) to :class:`Mode`; unknown names raise."""
    out = set()
    for m in modes:
        try:
            out.add(Mode(str(m)))
        except ValueError:
            raise ValueError(f"unknown mode {m!r}; expected one of "
                             f"{[x.value for x in Mode]}") from None
    return out


@dataclass(frozen=True)
class RentalOptions:
    max_access_seconds: int = 2700  # whole access/egress option, walking-only included
    max_walk_seconds: int = 900  # each walking part of a rental option
    pickup_seconds: int = 60  # unlocking, app, helmet
    dropoff_seconds: int = 60  # parking, locking, ending the rental
    max_pickup_candidates: int = 8  # nearest pick-up stations / vehicles ridden from
    max_age: float | None = None  # GBFS staleness bound; None: each feed's own max_age


class StopTable(Protocol):
    """What we read from a :class:`~planner.timetable.model.Timetable`."""

    stop_lat: np.ndarray
    stop_lon: np.ndarray
    stop_names: np.ndarray


# --- legs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    name: str
    lat: float
    lon: float
    stop: int = -1  # stop index when the place is a stop
    kind: str = "point"  # origin, destination, stop, station, vehicle


@dataclass(frozen=True)
class StreetLeg:
    """A walk between places that are not both stops (``journeys.WalkLeg`` is stop to
    stop); same time fields, so API code can treat both alike."""

    from_place: Place
    to_place: Place
    start: int
    end: int
    duration: int
    mode: str = "walk"

    kind = "walk"


@dataclass(frozen=True)
class RentalLeg:
    """Pick-up, ride and drop-off with one vehicle; ``duration`` includes both penalties."""

    system_id: str
    system_name: str
    form_factor: str
    propulsion_type: str
    from_place: Place
    to_place: Place
    start: int
    end: int
    duration: int
    ride_seconds: int
    pickup_seconds: int
    dropoff_seconds: int
    distance_m: float  # crow-flies x detour estimate (the range check uses it)
    vehicle_type_id: str = ""
    vehicle_id: str | None = None  # free-floating vehicles
    pickup_station_id: str | None = None
    pickup_station_name: str | None = None
    dropoff_station_id: str | None = None  # None: parked free-floating at ``to_place``
    dropoff_station_name: str | None = None
    vehicles_available: int | None = None  # of the form factor at the pick-up station
    docks_available: int | None = None  # at the drop-off station (None: not limited)
    rental_uris: dict[str, str] = field(default_factory=dict)

    kind = "rental"


OptionLeg = StreetLeg | RentalLeg


@dataclass(frozen=True)
class AccessOption:
    """One way between the query point and ``stop`` (-1: the other query point).

    Leg times are relative: access legs start at 0 (leaving the origin), egress legs at 0
    (leaving the stop); :meth:`legs_from` puts them on the timetable axis.
    """

    stop: int
    duration: int
    extra: int  # criterion: rental seconds, 0 for walking only
    kind: Mode
    legs: tuple[OptionLeg, ...]

    @property
    def is_rental(self) -> bool:
        return self.kind is not Mode.WALK

    def legs_from(self, start: int) -> tuple[OptionLeg, ...]:
        return tuple(replace(leg, start=leg.start + start, end=leg.end + start)
                     for leg in self.legs)


@dataclass
class AccessResult:
    options: list[AccessOption]
    warnings: list[str] = field(default_factory=list)

    def for_stop(self, stop: int) -> list[AccessOption]:
        return [o for o in self.options if o.stop == stop]

    def rows(self) -> np.ndarray:
        """``int32[n, 2]`` (stop, seconds) rows for the router, one per option."""
        return np.array([(o.stop, o.duration) for o in self.options],
                        dtype=np.int32).reshape(-1, 2)

    def extras(self) -> np.ndarray:
        return np.array([o.extra for o in self.options], dtype=np.int32)


# --- per-feed snapshot ------------------------------------------------------------------


@dataclass(eq=False)
class _Points:
    """Stations or vehicles of one feed and form factor, with a KD-tree."""

    items: list[Any]
    lat: np.ndarray
    lon: np.ndarray
    index: PointIndex

    @classmethod
    def of(cls, items: list[Any]) -> _Points:
        lat = np.array([i.lat for i in items], dtype=float)
        lon = np.array([i.lon for i in items], dtype=float)
        return cls(items, lat, lon, PointIndex(lat, lon))


@dataclass(eq=False)
class _SystemIndex:
    system_id: str
    system_name: str
    pickup: dict[str, _Points]  # form factor -> stations with such a vehicle
    returns: _Points
    vehicles: dict[str, _Points]  # form factor -> free-floating vehicles
    type_ids: dict[str, list[str]]  # form factor -> vehicle type ids
    propulsion: dict[str, str]  # form factor -> propulsion of its first type
    return_constraint: dict[str, str]  # vehicle type id -> GBFS return_constraint


def _index(feed: GbfsSnapshot, now: float, max_age: float | None,
              form_factors: set[str]) -> _SystemIndex:
    system = feed.system
    assert system is not None
    stations = feed.usable_stations(now, max_age)
    pickup = {ff: _Points.of([s for s in stations if s.can_pick_up(ff)]) for ff in form_factors}
    vehicles = feed.usable_vehicles(now, max_age, form_factors=form_factors)
    by_ff = {ff: _Points.of([v for v in vehicles if v.form_factor == ff])
             for ff in form_factors}
    type_ids: dict[str, list[str]] = {}
    propulsion: dict[str, str] = {}
    for t in feed.vehicle_types.values():
        type_ids.setdefault(t.form_factor, []).append(t.id)
        propulsion.setdefault(t.form_factor, t.propulsion_type)
    return _SystemIndex(
        system_id=system.system_id, system_name=system.name or system.system_id,
        pickup=pickup, returns=_Points.of([s for s in stations if s.can_return()]),
        vehicles=by_ff, type_ids=type_ids, propulsion=propulsion,
        return_constraint={t.id: t.return_constraint for t in feed.vehicle_types.values()},
    )


# --- the planner ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    """The far ends of options: stops near the query point, or the other query point."""

    lat: np.ndarray
    lon: np.ndarray
    stop: np.ndarray  # int, -1 for a query point
    names: list[str]
    index: PointIndex

    def place(self, i: int, kind: str) -> Place:
        s = int(self.stop[i])
        return Place(self.names[i], float(self.lat[i]), float(self.lon[i]), s,
                     "stop" if s >= 0 else kind)


Candidate = tuple[float, int, Mode, int, Callable[[], tuple[OptionLeg, ...]]]


def _built(*legs: OptionLeg) -> Callable[[], tuple[OptionLeg, ...]]:
    """A Candidate's leg builder for legs that already exist (a walk needs no routing)."""
    return lambda: legs


class RentalPlanner:
    """Builds access/egress/direct options for one timetable's stops (thread-safe)."""

    def __init__(self, stops: StopTable, streets: Streets | None = None,
                 options: RentalOptions | None = None) -> None:
        self.stops = stops
        self.streets = streets or Streets()
        self.options = options or RentalOptions()
        self.stop_index = PointIndex(np.asarray(stops.stop_lat), np.asarray(stops.stop_lon))
        # Snapshots (filtered stations/vehicles + KD-trees) per feed state: rebuilding them
        # for 840 scooters took most of a query's time. Keyed by every file's last fetch.
        self._indexes: dict[tuple[Any, ...], _SystemIndex] = {}
        self._lock = threading.Lock()

    def _index(self, feed: GbfsSnapshot, now: float, max_age: float,
                  form_factors: set[str]) -> _SystemIndex:
        key = (feed.system_key, max_age, frozenset(form_factors), feed.state_version)
        with self._lock:
            snap = self._indexes.get(key)
        if snap is None:
            snap = _index(feed, now, max_age, form_factors)
            with self._lock:
                if len(self._indexes) > 64:
                    self._indexes.clear()
                self._indexes[key] = snap
        return snap

    # -- public ---------------------------------------------------------------------------
    def access(self, lat: float, lon: float, modes: Iterable[str | Mode],
               feeds: Sequence[GbfsSnapshot] = (), *, now: float,
               providers: Iterable[str] | None = None,
               options: RentalOptions | None = None) -> AccessResult:
        """Options from the origin to stops."""
        return self._options(lat, lon, "access", modes, feeds, now, providers, options, None)

    def egress(self, lat: float, lon: float, modes: Iterable[str | Mode],
               feeds: Sequence[GbfsSnapshot] = (), *, now: float,
               providers: Iterable[str] | None = None,
               options: RentalOptions | None = None) -> AccessResult:
        """Options from stops to the destination."""
        return self._options(lat, lon, "egress", modes, feeds, now, providers, options, None)

    def direct(self, origin: tuple[float, float], destination: tuple[float, float],
               modes: Iterable[str | Mode], feeds: Sequence[GbfsSnapshot] = (), *, now: float,
               providers: Iterable[str] | None = None,
               options: RentalOptions | None = None) -> AccessResult:
        """Origin -> destination by rental alone (walking to and from the vehicle);
        options have ``stop == -1``. Walking-only direct trips are the router's."""
        lat, lon = destination
        far = _Target(np.array([lat]), np.array([lon]), np.array([-1]), ["Destination"],
                      PointIndex(np.array([lat]), np.array([lon])))
        rental = parse_modes(modes) - {Mode.WALK}
        return self._options(origin[0], origin[1], "access", rental, feeds, now, providers,
                             options, far)

    # -- machinery ------------------------------------------------------------------------
    def _options(self, lat: float, lon: float, direction: Direction,
                 modes: Iterable[str | Mode], feeds: Sequence[GbfsSnapshot], now: float,
                 providers: Iterable[str] | None, options: RentalOptions | None,
                 far: _Target | None) -> AccessResult:
        opt = options or self.options
        wanted = parse_modes(modes)
        q_kind = "origin" if direction == "access" else "destination"
        q = Place("Origin" if direction == "access" else "Destination", lat, lon, -1, q_kind)
        warnings: list[str] = []
        rental: list[Mode] = [m for m in wanted if m is not Mode.WALK]
        reach = opt.max_access_seconds * max(
            [self._top_speed("walk")] + [self._top_speed(FORM_FACTOR_MODE[ff])
                                         for m in rental for ff in RENTAL_FORM_FACTORS[m]])
        target = far if far is not None else self._stops_near(lat, lon, reach)
        candidates: list[Candidate] = []
        if Mode.WALK in wanted and far is None:
            candidates += self._walk(q, target, direction, opt)
        if rental:
            for feed, snap in self._feeds(feeds, now, providers, opt, rental, warnings):
                for mode in rental:
                    for ff in RENTAL_FORM_FACTORS[mode]:
                        if ff not in snap.pickup:
                            continue
                        candidates += self._stations(feed, snap, ff, mode, q, target,
                                                     direction, opt)
                        candidates += self._vehicles(feed, snap, ff, mode, q, target,
                                                     direction, opt)
        best: dict[tuple[int, Mode], Candidate] = {}
        for c in candidates:
            key = (c[1], c[2])
            if key not in best or c[0] < best[key][0]:
                best[key] = c
        # A rental option no faster than walking to the same stop is dominated in every
        # criterion (time, and rental seconds > 0); dropping it keeps the router's input small.
        for (i, mode), c in list(best.items()):
            walked = best.get((i, Mode.WALK))
            if mode is not Mode.WALK and walked is not None and walked[0] <= c[0]:
                del best[(i, mode)]
        out = []
        for (i, mode), (_, _, _, extra, build) in sorted(best.items(), key=lambda kv: kv[1][0]):
            legs = build()  # whole seconds per leg; the option lasts as long as its legs
            out.append(AccessOption(int(target.stop[i]), legs[-1].end, extra, mode, legs))
        return AccessResult(out, warnings)

    def _top_speed(self, mode: str) -> float:
        """Fastest speed the street model can produce for ``mode`` (bounds crow radii)."""
        v = self.streets.model.speed_mps(mode)
        if mode == "car" and "car" in self.streets.graphs:
            v = max(v, 130 / 3.6)
        return v

    def _stops_near(self, lat: float, lon: float, radius: float) -> _Target:
        idx = self.stop_index.within_any(lat, lon, radius)
        slat = np.asarray(self.stops.stop_lat)[idx]
        slon = np.asarray(self.stops.stop_lon)[idx]
        names = [str(self.stops.stop_names[i]) for i in idx]
        return _Target(slat, slon, idx, names, PointIndex(slat, slon))

    def _feeds(self, feeds: Sequence[GbfsSnapshot], now: float, providers: Iterable[str] | None,
               opt: RentalOptions, modes: list[Mode], warnings: list[str]
               ) -> list[tuple[GbfsSnapshot, _SystemIndex]]:
        wanted = set(providers) if providers is not None else None
        ffs = {ff for m in modes for ff in RENTAL_FORM_FACTORS[m]}
        seen: set[str] = set()
        out = []
        for feed in feeds:
            system = feed.system
            if system is None:
                warnings.append(f"GBFS feed {feed.manifest_url}: no system information yet "
                                f"({feed.last_error or 'never fetched'}); not used")
                continue
            seen.add(system.system_id)
            if wanted is not None and system.system_id not in wanted:
                continue
            max_age = feed.max_age if opt.max_age is None else opt.max_age
            if feed.is_stale(max_age, now):
                last = feed.last_success
                age = "never fetched" if last is None else f"{now - last:.0f} s old"
                warnings.append(f"GBFS system {system.system_id} ({system.name}): live data "
                                f"{age}, older than {max_age:.0f} s; its vehicles are not "
                                f"offered")
                continue
            out.append((feed, self._index(feed, now, max_age, ffs)))
        for missing in sorted((wanted or set()) - seen):
            warnings.append(f"rental provider {missing!r} is not known; ignored")
        return out

    # -- walking only ---------------------------------------------------------------------
    def _walk(self, q: Place, target: _Target, direction: Direction,
              opt: RentalOptions) -> list[Candidate]:
        if len(target.stop) == 0:
            return []
        qp = np.array([[q.lat, q.lon]])
        tp = np.column_stack([target.lat, target.lon])
        if direction == "access":
            t = self.streets.many_to_many("walk", qp, tp, opt.max_access_seconds)[0]
        else:
            t = self.streets.many_to_many("walk", tp, qp, opt.max_access_seconds)[:, 0]
        out: list[Candidate] = []
        for i in np.flatnonzero(np.isfinite(t)):
            d = int(round(t[i]))
            stop_place = target.place(int(i), "point")
            a, b = (q, stop_place) if direction == "access" else (stop_place, q)
            leg = StreetLeg(a, b, 0, d, d)
            out.append((float(t[i]), int(i), Mode.WALK, 0, _built(leg)))
        return out

    # -- geofencing and range -------------------------------------------------------------
    def _end_allowed(self, feed: GbfsSnapshot, type_ids: list[str], lat: np.ndarray,
                     lon: np.ndarray) -> np.ndarray:
        """May a ride of (all of) these vehicle types end at each point?"""
        ok = np.ones(len(lat), dtype=bool)
        if not feed.geofencing_zones and not feed.global_rules:
            return ok
        for k in range(len(lat)):
            for tid in type_ids or [""]:
                rule = feed.rule_at(float(lat[k]), float(lon[k]), tid or None)
                if rule is not None and (not rule.ride_end_allowed or rule.station_parking):
                    ok[k] = False
                    break
        return ok

    def _ride(self, mode: str, a: Iterable[Point] | np.ndarray,
              b: Iterable[Point] | np.ndarray, budget: float) -> np.ndarray:
        return self.streets.many_to_many(mode, a, b, budget)

    # -- station-based ----------------------------------------------------------------------
    def _stations(self, feed: GbfsSnapshot, snap: _SystemIndex, ff: str, mode: Mode, q: Place,
                  target: _Target, direction: Direction, opt: RentalOptions
                  ) -> list[Candidate]:
        pick = snap.pickup[ff]
        if not pick.items or len(target.stop) == 0:
            return []
        smode = FORM_FACTOR_MODE[ff]
        types = snap.type_ids.get(ff, [""])
        constraints = {snap.return_constraint.get(t, "") for t in types}
        free_return = bool(constraints) and constraints <= FREE_RETURN
        fixed = opt.pickup_seconds + opt.dropoff_seconds
        budget = opt.max_access_seconds - fixed
        r_walk = opt.max_walk_seconds * self._top_speed("walk")
        r_ride = budget * self._top_speed(smode)
        ctx = _Ctx(feed, snap, ff, mode, smode, types, opt, self.streets.model.detour)
        if direction == "access":
            return self._stations_access(ctx, pick, q, target, free_return, budget,
                                         r_walk, r_ride)
        return self._stations_egress(ctx, pick, q, target, free_return, budget, r_walk,
                                     r_ride)

    def _stations_access(self, ctx: _Ctx, pick: _Points, q: Place, target: _Target,
                         free_return: bool, budget: float, r_walk: float, r_ride: float
                         ) -> list[Candidate]:
        opt, walk = ctx.opt, self.streets
        near = pick.index.within_any(q.lat, q.lon, r_walk)
        if len(near) == 0:
            return []
        w1 = walk.many_to_many("walk", [(q.lat, q.lon)], _xy(pick, near),
                               opt.max_walk_seconds)[0]
        near, w1 = _nearest(near, w1, opt.max_pickup_candidates)
        if len(near) == 0:
            return []
        out: list[Candidate] = []
        # ends at return stations, then a walk to the target
        rets = ctx.snap.returns
        r_idx = rets.index.within_any(q.lat, q.lon, r_ride + r_walk)
        if len(r_idx):
            ride = self._ride(ctx.smode, _xy(pick, near), _xy(rets, r_idx), budget)
            same = np.array([[pick.items[p].id == rets.items[r].id for r in r_idx]
                             for p in near])
            ride[same] = np.inf
            tot = w1[:, None] + ride
            arg_p = np.argmin(tot, axis=0)
            at_r = tot[arg_p, np.arange(len(r_idx))]
            ok = np.flatnonzero(at_r <= budget)
            if len(ok):
                r_ok, arg_p, at_r = r_idx[ok], arg_p[ok], at_r[ok]
                t_idx = target.index.within_any(rets.lat[r_ok], rets.lon[r_ok], r_walk)
                if len(t_idx):
                    w2 = walk.many_to_many("walk", _xy(rets, r_ok), _txy(target, t_idx),
                                           opt.max_walk_seconds)
                    tot2 = at_r[:, None] + w2
                    arg_r = np.argmin(tot2, axis=0)
                    for j, ti in enumerate(t_idx):
                        r = int(arg_r[j])
                        t = float(tot2[r, j])
                        if t > budget:
                            continue
                        p = int(near[arg_p[r]])
                        legs = _Legs(ctx, q, target.place(int(ti), "point"), direction="access",
                                     walk1=float(w1[arg_p[r]]),
                                     ride=float(t - w1[arg_p[r]] - w2[r, j]),
                                     walk2=float(w2[r, j]), station=pick.items[p],
                                     drop_station=rets.items[int(r_ok[r])])
                        out.append((t + ctx.fixed, int(ti), ctx.mode, legs.extra, legs.build))
        if free_return:
            out += self._free_end_from(ctx, pick, near, w1, q, target, budget, r_ride,
                                       stations=True)
        return out

    def _free_end_from(self, ctx: _Ctx, pts: _Points, near: np.ndarray, w1: np.ndarray,
                       q: Place, target: _Target, budget: float, r_ride: float,
                       stations: bool) -> list[Candidate]:
        """Access: from pick-up points ``near`` (walked to in ``w1``) ride to and park at
        the targets themselves."""
        t_idx = target.index.within_any(q.lat, q.lon, r_ride)
        if len(t_idx) == 0:
            return []
        ride = self._ride(ctx.smode, _xy(pts, near), _txy(target, t_idx), budget)
        ride = self._mask_ride(ctx, pts, near, ride, target.lat[t_idx], target.lon[t_idx],
                               stations)
        tot = w1[:, None] + ride
        arg = np.argmin(tot, axis=0)
        out: list[Candidate] = []
        for j, ti in enumerate(t_idx):
            k = int(arg[j])
            t = float(tot[k, j])
            if t > budget:
                continue
            item = pts.items[int(near[k])]
            legs = _Legs(ctx, q, target.place(int(ti), "point"), direction="access",
                         walk1=float(w1[k]), ride=float(ride[k, j]), walk2=0.0,
                         station=item if stations else None,
                         vehicle=None if stations else item)
            out.append((t + ctx.fixed, int(ti), ctx.mode, legs.extra, legs.build))
        return out

    def _mask_ride(self, ctx: _Ctx, pts: _Points, rows: np.ndarray, ride: np.ndarray,
                   end_lat: np.ndarray, end_lon: np.ndarray, stations: bool) -> np.ndarray:
        """Forbid ends that geofencing forbids and rides longer than a vehicle's range."""
        ride = ride.copy()
        if stations:
            allowed = self._end_allowed(ctx.feed, ctx.types, end_lat, end_lon)
            ride[:, ~allowed] = np.inf
            return ride
        detour = self.streets.model.detour
        for k, row in enumerate(rows):
            v: Vehicle = pts.items[int(row)]
            if ctx.snap.return_constraint.get(v.vehicle_type_id, "") in STATION_ONLY_RETURN:
                ride[k] = np.inf
                continue
            allowed = self._end_allowed(ctx.feed, [v.vehicle_type_id], end_lat, end_lon)
            ride[k, ~allowed] = np.inf
            if v.current_range_meters is not None:
                dist = haversine_m_array(v.lat, v.lon, end_lat, end_lon) * detour
                ride[k, dist > v.current_range_meters] = np.inf
        return ride

    def _stations_egress(self, ctx: _Ctx, pick: _Points, q: Place, target: _Target,
                         free_return: bool, budget: float, r_walk: float, r_ride: float
                         ) -> list[Candidate]:
        opt, walk = ctx.opt, self.streets
        qp = [(q.lat, q.lon)]
        # ends: return stations near Q (then walk), or Q itself when returns are free
        rets = ctx.snap.returns
        r_idx = rets.index.within_any(q.lat, q.lon, r_walk)
        end_lat = list(rets.lat[r_idx])
        end_lon = list(rets.lon[r_idx])
        end_cost = []
        if len(r_idx):
            end_cost = list(walk.many_to_many("walk", _xy(rets, r_idx), qp,
                                              opt.max_walk_seconds)[:, 0])
        free_end = free_return and bool(self._end_allowed(ctx.feed, ctx.types,
                                                          np.array([q.lat]),
                                                          np.array([q.lon]))[0])
        if free_end:
            end_lat.append(q.lat)
            end_lon.append(q.lon)
            end_cost.append(0.0)
        cost = np.asarray(end_cost, dtype=float)
        if not np.isfinite(cost).any():
            return []
        p_idx = pick.index.within_any(q.lat, q.lon, r_ride + r_walk)
        p_idx = np.intersect1d(p_idx, pick.index.within_any(target.lat, target.lon, r_walk))
        if len(p_idx) == 0:
            return []
        ride = self._ride(ctx.smode, _xy(pick, p_idx), np.column_stack([end_lat, end_lon]),
                          budget)
        for e, r in enumerate(r_idx):
            rid = rets.items[int(r)].id
            for k, p in enumerate(p_idx):
                if pick.items[int(p)].id == rid:
                    ride[k, e] = np.inf
        tot = ride + cost[None, :]
        arg_e = np.argmin(tot, axis=1)
        from_p = tot[np.arange(len(p_idx)), arg_e]
        ok = np.flatnonzero(from_p <= budget)
        if len(ok) == 0:
            return []
        p_ok, arg_e, from_p = p_idx[ok], arg_e[ok], from_p[ok]
        t_idx = target.index.within_any(pick.lat[p_ok], pick.lon[p_ok], r_walk)
        if len(t_idx) == 0:
            return []
        w1 = walk.many_to_many("walk", _txy(target, t_idx), _xy(pick, p_ok),
                               opt.max_walk_seconds)
        tot2 = w1 + from_p[None, :]
        arg_p = np.argmin(tot2, axis=1)
        out: list[Candidate] = []
        for j, ti in enumerate(t_idx):
            k = int(arg_p[j])
            t = float(tot2[j, k])
            if t > budget:
                continue
            e = int(arg_e[k])
            drop = rets.items[int(r_idx[e])] if e < len(r_idx) else None
            legs = _Legs(ctx, target.place(int(ti), "point"), q, direction="egress",
                         walk1=float(w1[j, k]), ride=float(from_p[k] - cost[e]),
                         walk2=float(cost[e]), station=pick.items[int(p_ok[k])],
                         drop_station=drop)
            out.append((t + ctx.fixed, int(ti), ctx.mode, legs.extra, legs.build))
        return out

    # -- free-floating ------------------------------------------------------------------------
    def _vehicles(self, feed: GbfsSnapshot, snap: _SystemIndex, ff: str, mode: Mode, q: Place,
                  target: _Target, direction: Direction, opt: RentalOptions
                  ) -> list[Candidate]:
        pts = snap.vehicles.get(ff)
        if pts is None or not pts.items or len(target.stop) == 0:
            return []
        smode = FORM_FACTOR_MODE[ff]
        ctx = _Ctx(feed, snap, ff, mode, smode, snap.type_ids.get(ff, [""]), opt,
                   self.streets.model.detour)
        budget = opt.max_access_seconds - ctx.fixed
        r_walk = opt.max_walk_seconds * self._top_speed("walk")
        r_ride = budget * self._top_speed(smode)
        if direction == "access":
            near = pts.index.within_any(q.lat, q.lon, r_walk)
            if len(near) == 0:
                return []
            w1 = self.streets.many_to_many("walk", [(q.lat, q.lon)], _xy(pts, near),
                                           opt.max_walk_seconds)[0]
            near, w1 = _nearest(near, w1, opt.max_pickup_candidates)
            if len(near) == 0:
                return []
            return self._free_end_from(ctx, pts, near, w1, q, target, budget, r_ride,
                                       stations=False)
        # egress: vehicles parked near the stop, ridden to Q and parked there
        v_idx = pts.index.within_any(q.lat, q.lon, r_ride)
        v_idx = np.intersect1d(v_idx, pts.index.within_any(target.lat, target.lon, r_walk))
        if len(v_idx) == 0:
            return []
        ride = self._ride(smode, _xy(pts, v_idx), [(q.lat, q.lon)], budget)
        ride = self._mask_ride(ctx, pts, v_idx, ride, np.array([q.lat]), np.array([q.lon]),
                               stations=False)[:, 0]
        ok = np.isfinite(ride)
        v_idx, ride = v_idx[ok], ride[ok]
        if len(v_idx) == 0:
            return []
        t_idx = target.index.within_any(pts.lat[v_idx], pts.lon[v_idx], r_walk)
        if len(t_idx) == 0:
            return []
        w1 = self.streets.many_to_many("walk", _txy(target, t_idx), _xy(pts, v_idx),
                                       opt.max_walk_seconds)
        tot = w1 + ride[None, :]
        arg = np.argmin(tot, axis=1)
        out: list[Candidate] = []
        for j, ti in enumerate(t_idx):
            k = int(arg[j])
            t = float(tot[j, k])
            if t > budget:
                continue
            legs = _Legs(ctx, target.place(int(ti), "point"), q, direction="egress",
                         walk1=float(w1[j, k]), ride=float(ride[k]), walk2=0.0,
                         vehicle=pts.items[int(v_idx[k])])
            out.append((t + ctx.fixed, int(ti), mode, legs.extra, legs.build))
        return out


# --- helpers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ctx:
    feed: GbfsSnapshot
    snap: _SystemIndex
    ff: str
    mode: Mode
    smode: str  # street mode of the ride
    types: list[str]
    opt: RentalOptions
    detour: float = 1.3  # the street model's, for the reported ride distance

    @property
    def fixed(self) -> int:
        return self.opt.pickup_seconds + self.opt.dropoff_seconds


def _xy(pts: _Points, idx: np.ndarray) -> np.ndarray:
    return np.column_stack([pts.lat[idx], pts.lon[idx]])


def _txy(target: _Target, idx: np.ndarray) -> np.ndarray:
    return np.column_stack([target.lat[idx], target.lon[idx]])


def _nearest(idx: np.ndarray, t: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` reachable candidates with the shortest times."""
    ok = np.flatnonzero(np.isfinite(t))
    ok = ok[np.argsort(t[ok], kind="stable")[:k]]
    return idx[ok], t[ok]


@dataclass(frozen=True)
class _Legs:
    """walk1 -> rental -> walk2 between ``a`` and ``b`` (times relative to leaving ``a``)."""

    ctx: _Ctx
    a: Place
    b: Place
    direction: Direction
    walk1: float
    ride: float
    walk2: float
    station: Station | None = None
    drop_station: Station | None = None
    vehicle: Vehicle | None = None

    @property
    def extra(self) -> int:
        """The criterion: seconds spent on the rental (pick-up + ride + drop-off)."""
        return self.ctx.fixed + int(round(self.ride))

    def build(self) -> tuple[OptionLeg, ...]:
        ctx, opt = self.ctx, self.ctx.opt
        if self.vehicle is not None:
            v = self.vehicle
            pick = Place(v.id, v.lat, v.lon, -1, "vehicle")
            type_id, uris, propulsion = v.vehicle_type_id, v.rental_uris, v.propulsion_type
        else:
            s = self.station
            assert s is not None
            pick = Place(s.name, s.lat, s.lon, -1, "station")
            type_id = ctx.types[0] if len(ctx.types) == 1 else ""
            uris, propulsion = s.rental_uris, ctx.snap.propulsion.get(ctx.ff, "human")
        drop = self.b if self.drop_station is None else Place(
            self.drop_station.name, self.drop_station.lat, self.drop_station.lon, -1,
            "station")
        w1 = int(round(self.walk1))
        ride = int(round(self.ride))
        w2 = int(round(self.walk2))
        legs: list[OptionLeg] = []
        t = 0
        if w1 > 0:
            legs.append(StreetLeg(self.a, pick, t, t + w1, w1))
            t += w1
        dur = opt.pickup_seconds + ride + opt.dropoff_seconds
        ds = self.drop_station
        legs.append(RentalLeg(
            system_id=ctx.snap.system_id, system_name=ctx.snap.system_name,
            form_factor=ctx.ff, propulsion_type=propulsion, from_place=pick, to_place=drop,
            start=t, end=t + dur, duration=dur, ride_seconds=ride,
            pickup_seconds=opt.pickup_seconds, dropoff_seconds=opt.dropoff_seconds,
            distance_m=float(haversine_m_array(pick.lat, pick.lon, drop.lat, drop.lon))
            * ctx.detour,
            vehicle_type_id=type_id,
            vehicle_id=self.vehicle.id if self.vehicle is not None else None,
            pickup_station_id=self.station.id if self.station is not None else None,
            pickup_station_name=self.station.name if self.station is not None else None,
            dropoff_station_id=ds.id if ds is not None else None,
            dropoff_station_name=ds.name if ds is not None else None,
            vehicles_available=(self.station.available.get(ctx.ff, 0)
                                if self.station is not None else None),
            docks_available=ds.num_docks_available if ds is not None else None,
            rental_uris=dict(uris),
        ))
        t += dur
        if w2 > 0:
            legs.append(StreetLeg(drop, self.b, t, t + w2, w2))
        return tuple(legs)
