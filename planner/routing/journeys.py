"""Journeys as legs, built in plain Python after a search.

The Cython cores only keep parent pointers; they hand back a list of *steps* and
:func:`build_journey` turns those into legs with times read from the timetable.
Every search (earliest arrival, McRAPTOR, range, arrive-by) can reuse it:

* ``("origin", stop, time)``: the journey starts at ``stop`` (a query source) at ``time``;
* ``("walk", from_stop, to_stop, start, duration)``: a footpath;
* ``("trip", trip, board_pos, alight_pos)``: ride trip ``trip`` between two route positions.

Times are on the timetable axis (seconds since ``Timetable.t0``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple, overload

from planner.timetable.model import Timetable

Step = tuple


class StopVisit(NamedTuple):
    """A stop served by a transit leg, with its scheduled times (a named tuple: a plan
    builds thousands, and a frozen dataclass's construction was most of a leg's)."""

    stop: int
    arrival: int
    departure: int


class StopVisits(Sequence[StopVisit]):
    """A leg's stop visits, read from the timetable when first used: a plan's searches
    build many more legs (every range journey, every alternative) than it renders, and
    the visits were most of a leg's cost. Equal (and hashed) as the tuple of visits."""

    __slots__ = ("_tt", "_stop_lo", "_st_lo", "_n", "_visits", "_columns")

    def __init__(self, tt: Timetable, stop_lo: int, st_lo: int, n: int) -> None:
        """``n`` visits from ``tt.route_stops[stop_lo]`` and ``tt.st_arr/st_dep[st_lo]``
        (the offsets :func:`transit_leg` has already worked out)."""
        self._tt = tt
        self._stop_lo = stop_lo
        self._st_lo = st_lo
        self._n = n
        self._visits: tuple[StopVisit, ...] | None = None
        self._columns: tuple[list[int], list[int], list[int]] | None = None

    def columns(self) -> tuple[list[int], list[int], list[int]]:
        """(stops, arrivals, departures) of the visits (a renderer's view: no tuple per
        visit; do not change the lists)."""
        cols = self._columns
        if cols is None:  # two threads may both read them: the same lists either way
            tt, a, b, n = self._tt, self._stop_lo, self._st_lo, self._n
            cols = self._columns = (tt.route_stops[a:a + n].tolist(),
                                    tt.st_arr[b:b + n].tolist(), tt.st_dep[b:b + n].tolist())
        return cols

    def _all(self) -> tuple[StopVisit, ...]:
        visits = self._visits
        if visits is None:
            visits = self._visits = tuple(map(StopVisit, *self.columns()))
        return visits

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> StopVisit: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[StopVisit, ...]: ...

    def __getitem__(self, i: int | slice) -> StopVisit | tuple[StopVisit, ...]:
        return self._all()[i]

    def __iter__(self) -> Iterator[StopVisit]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StopVisits):
            return self._all() == other._all()
        return self._all() == other if isinstance(other, tuple) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._all())

    def __repr__(self) -> str:
        return repr(self._all())


@dataclass(frozen=True)
class WalkLeg:
    from_stop: int
    to_stop: int
    start: int
    end: int
    duration: int

    kind = "walk"


@dataclass(frozen=True)
class TransitLeg:
    line: int  # index into Timetable.line_*
    route: int  # RAPTOR route index
    trip: int  # trip index (one per GTFS trip and service day)
    gtfs_trip_id: str
    headsign: str
    board_stop: int
    alight_stop: int
    board_pos: int
    alight_pos: int
    departure: int
    arrival: int
    stops: Sequence[StopVisit]  # board stop, intermediate stops, alight stop

    kind = "transit"


Leg = WalkLeg | TransitLeg


@dataclass(frozen=True)
class Journey:
    departure: int  # query departure at the origin (before the access walk)
    arrival: int  # at the destination (after the egress walk)
    transfers: int  # transit legs minus one (0 for walking only)
    legs: tuple[Leg, ...]
    source: int = -1  # source stop the journey starts from
    target: int = -1  # target stop it ends at
    access: int = 0  # seconds from the origin to ``source``
    egress: int = 0  # seconds from ``target`` to the destination
    extra: dict[str, object] = field(default_factory=dict, compare=False)

    @property
    def transit_legs(self) -> list[TransitLeg]:
        return [leg for leg in self.legs if isinstance(leg, TransitLeg)]

    @cached_property
    def leave(self) -> int:
        """:func:`leave_time`, computed once (the search policy sorts, compares and pages
        by it many times per journey; a frozen dataclass's cache is its ``__dict__``)."""
        return _leave_time(self)


def transit_leg(tt: Timetable, trip: int, board_pos: int, alight_pos: int) -> TransitLeg:
    """The leg riding ``trip`` from route position ``board_pos`` to ``alight_pos`` (its
    stop visits are read when first used, :class:`StopVisits`)."""
    route = int(tt.trip_route[trip])
    stop_base = int(tt.route_stop_offset[route])
    st_base = int(tt.trip_st_offset[trip])
    g = int(tt.trip_gtfs[trip])
    return TransitLeg(
        line=int(tt.route_line[route]),
        route=route,
        trip=trip,
        gtfs_trip_id=str(tt.gtfs_trip_ids[g]),
        headsign=str(tt.gtfs_trip_headsign[g]),
        board_stop=int(tt.route_stops[stop_base + board_pos]),
        alight_stop=int(tt.route_stops[stop_base + alight_pos]),
        board_pos=board_pos,
        alight_pos=alight_pos,
        departure=int(tt.st_dep[st_base + board_pos]),
        arrival=int(tt.st_arr[st_base + alight_pos]),
        stops=StopVisits(tt, stop_base + board_pos, st_base + board_pos,
                         alight_pos - board_pos + 1),
    )


def build_journey(
    tt: Timetable,
    steps: Sequence[Step],
    *,
    departure: int,
    arrival: int,
    target: int,
    egress: int = 0,
    leg_of: Callable[[Timetable, int, int, int], TransitLeg] | None = None,
) -> Journey:
    """A :class:`Journey` from core steps (origin first); see the module docstring.
    ``leg_of`` builds (or looks up) a ride's leg; default :func:`transit_leg`."""
    ride = transit_leg if leg_of is None else leg_of
    legs: list[Leg] = []
    source = target
    access = 0
    for step in steps:
        kind = step[0]
        if kind == "origin":
            source = int(step[1])
            access = int(step[2]) - departure
        elif kind == "walk":
            _, a, b, start, dur = step
            legs.append(WalkLeg(int(a), int(b), int(start), int(start) + int(dur), int(dur)))
        elif kind == "trip":
            legs.append(ride(tt, int(step[1]), int(step[2]), int(step[3])))
        else:
            raise ValueError(f"unknown journey step {kind!r}")
    n_transit = sum(isinstance(leg, TransitLeg) for leg in legs)
    return Journey(
        departure=departure,
        arrival=arrival,
        transfers=max(n_transit - 1, 0),
        legs=tuple(legs),
        source=source,
        target=target,
        access=access,
        egress=egress,
    )


def leave_time(j: Journey) -> int:
    """When the traveller really leaves the origin: the access and the walks before the
    first trip end at boarding (an engine's departure may be earlier, e.g. the query
    time of an earliest-arrival search)."""
    return j.leave


def _leave_time(j: Journey) -> int:
    first = next((leg for leg in j.legs if isinstance(leg, TransitLeg)), None)
    if first is None:
        walks = sum(leg.duration for leg in j.legs if isinstance(leg, WalkLeg))
        return j.arrival - walks - j.access - j.egress
    lead = 0
    for leg in j.legs:
        if isinstance(leg, TransitLeg):
            break
        lead += leg.duration
    return first.departure - lead - j.access
